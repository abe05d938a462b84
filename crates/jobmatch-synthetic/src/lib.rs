//! Synthetic returnees, vacancies and employers: the one generator behind the demo,
//! `jobmatch gen`, the evaluation set and the benches.
//!
//! Every profile draws from one random generator ([`Rng`], SplitMix64 written out
//! here, so a seed gives the same data with every version of every dependency) and
//! from one set of tables ([`tables`], the CSV files of `fixtures/demo/`, embedded
//! and parsed once), with skill mixes taken from the ESCO occupations and places
//! from the NCDD gazetteer of the embedded reference data. The profiles:
//!
//! - **demo** and **national scale** ([`demo`]): the documents of `serve --demo`
//!   and of `jobmatch gen`, as the JSON a client would POST, with external ids;
//! - **evaluation** ([`evaluation`]): the people and vacancies of the committed,
//!   labelled evaluation set (`fixtures/eval/`, judged by `jobmatch-eval`);
//! - **benches** ([`benches`]): national-scale domain documents with UUID-shaped
//!   ids for the matching benchmarks and tests;
//! - **search** ([`search`]): vacancies as a job board holds them (Khmer and
//!   English titles and descriptions, posting times) for the search benchmarks.
//!
//! The crate depends on the domain only: no I/O framework, no HTTP, no SQL.

pub mod benches;
pub mod demo;
pub mod evaluation;
mod places;
mod rng;
pub mod search;
pub mod tables;

pub use rng::{Rng, Weighted};

/// Why a generator could not be built or asked for more.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A table names something the reference data does not hold.
    #[error("{0}")]
    Tables(String),
    #[error("vacancies need at least one employer")]
    NoEmployer,
    #[error("all {count} {kind} were made")]
    Exhausted { kind: &'static str, count: usize },
}
