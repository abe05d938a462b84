//! The matching engine of jobmatch: who are the best candidates for this vacancy, and
//! what are the best jobs for this person, with answers a counsellor can trust and
//! read out.
//!
//! The crate is pure: no HTTP, no SQL, no async runtime. It owns
//! - **compact profiles** ([`WorkerProfile`], [`VacancyProfile`]) resolved from the
//!   domain's documents against the ESCO taxonomy and the gazetteer;
//! - **the scoring model** ([`Weights`], module `score`): six components in `[0, 1]`
//!   (skills, occupation, experience, distance, wage, preferences), their weighted
//!   mean times a wage penalty factor, and the feasibility rules that make a pair
//!   ineligible (too far, under age, not available in time, vacancy not open, worker
//!   not seeking);
//! - **explanations** ([`Explanation`]): each component's contribution, matched and
//!   missing required skills with their labels, reasons with stable codes, and one
//!   sentence to read out;
//! - **the index** ([`MatchIndex`]): a slab of compact workers and vacancies with
//!   posting lists from skills and ISCO minor groups, kept current by upserts and
//!   removals, and top-k queries that score exactly but only the pairs that can make
//!   the list, with an optional congestion damping of candidate lists.
//!
//! Synthetic data at national scale for its benchmarks and tests comes from
//! `jobmatch-synthetic` (the benches profile).
//!
//! The store's change feed drives the index (the API crate owns that loop); every
//! query takes its `today` explicitly, so results are reproducible.

mod error;
mod explain;
mod ids;
mod index;
mod profile;
mod round;
mod score;
mod tables;
mod weights;

pub use error::MatchError;
pub use explain::{
    CoarseComponentScore, CoarseExplanation, CoarseMatchedSkill, CoarseMissingSkill, Component,
    ComponentScore, EMPLOYER_SCORE_STEP, Explanation, MatchedSkill, MissingSkill, OccupationLevel,
    Reason, ReasonCode, ReasonKind, RelatedSkill, SkillRef, distance_band_km, to_step,
    wage_band_usd, years_band,
};
pub use index::{
    CONGESTION_WINDOW, CandidateQuery, DEFAULT_CONGESTION_DAMPING, DEFAULT_MAX_PER_EMPLOYER,
    INCREMENTAL_LIMIT, MAX_LIMIT, MatchIndex, MemoryUsage, ScoredMatch, VacancyQuery,
};
pub use profile::{PackedExperience, PackedSkill, Requirement, VacancyProfile, WorkerProfile};
pub use score::{
    AGE_BAND_LOWER_BOUNDS, AVAILABILITY_GRACE_DAYS, DEFAULT_MAX_TRAVEL_KM, WAGE_BAND_USD,
};
pub use tables::{IscoUnit, RELATED_MIN_SIMILARITY, RELATED_PER_SKILL};
pub use weights::Weights;

#[cfg(test)]
mod tests;
