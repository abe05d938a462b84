//! What every request handler shares.

use jobmatch_domain::Reference;
use jobmatch_store::Store;

use crate::metrics::Metrics;

pub struct AppState {
    pub store: Store,
    pub reference: &'static Reference,
    pub metrics: Metrics,
}
