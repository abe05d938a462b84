//! Match quality of jobmatch, measured: a labelled evaluation set made from the ESCO
//! occupation–skill relations and the NCDD gazetteer ([`generate`]), graded relevance
//! judgements written from the principles of issue 3 by a judge that never calls the
//! engine ([`judge`]), the set on disk ([`dataset`], committed under `fixtures/eval/`),
//! and nDCG@10, P@10 and the share of infeasible pairs in the top 10 for the engine and
//! a Jaccard skill-overlap baseline, in both directions ([`evaluate`]).
//!
//! `cargo run -p jobmatch-eval --release` prints the table for the committed set;
//! `tests/eval.rs` holds the engine to the targets on it.

pub mod dataset;
pub mod evaluate;
pub mod generate;
pub mod judge;

pub use dataset::{Dataset, Direction};
pub use evaluate::{Metrics, Report, Settings, evaluate, table};

/// Where the committed set lives, from this crate's directory.
pub fn committed_set_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/eval")
}
