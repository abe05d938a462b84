//! What every request handler shares.

use std::sync::Arc;

use jobmatch_domain::Reference;
use jobmatch_store::Store;

use crate::follower::FeedPosition;
use crate::matching::Matching;
use crate::metrics::Metrics;
use crate::search::Search;

pub struct AppState {
    pub store: Store,
    pub reference: &'static Reference,
    pub metrics: Metrics,
    pub matching: Arc<Matching>,
    pub search: Arc<Search>,
    /// How far the derived indexes have followed the change feed.
    pub feed: FeedPosition,
}
