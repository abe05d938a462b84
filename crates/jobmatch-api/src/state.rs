//! What every request handler shares.

use std::sync::Arc;

use jobmatch_domain::Reference;
use jobmatch_service::follower::FeedPosition;
use jobmatch_service::match_index::Matching;
use jobmatch_service::search_index::Search;
use jobmatch_store::Store;

use crate::metrics::Metrics;

pub struct AppState {
    pub store: Store,
    pub reference: &'static Reference,
    pub metrics: Metrics,
    pub matching: Arc<Matching>,
    pub search: Arc<Search>,
    /// How far the derived indexes (matching and search) have followed the change feed.
    pub feed: FeedPosition,
    /// How far the search index alone has; it reads [`Progress::Rebuilding`] while
    /// the index is rebuilt from the database.
    ///
    /// [`Progress::Rebuilding`]: jobmatch_service::follower::Progress::Rebuilding
    pub search_feed: FeedPosition,
    /// Where each API key's last write through this server stands in the feed: a
    /// search waits for that write only.
    pub own_writes: crate::own_writes::OwnWrites,
    /// API keys read from the database in the last second; shared with the
    /// [`Authenticator`](crate::auth::Authenticator).
    pub key_cache: Arc<crate::auth::KeyCache>,
    /// Requests per API key.
    pub rate_limits: Arc<crate::limits::RateLimits>,
    /// Per-employer pseudonyms of candidates.
    pub pseudonyms: crate::privacy::Pseudonyms,
    /// The last good scheduled backup, when backups are scheduled.
    pub backups: Option<Arc<crate::backups::BackupStatus>>,
}
