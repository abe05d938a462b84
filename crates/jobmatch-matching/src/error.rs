//! The one error type of the crate.

/// Why a matching request could not be answered. Messages are lowercase, without
/// trailing punctuation; the API maps each variant to a problem+json `type`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MatchError {
    #[error("no worker with id {0}")]
    UnknownWorker(String),
    #[error("no vacancy with id {0}")]
    UnknownVacancy(String),
    /// `name` is the field of [`crate::Weights`] at fault, e.g. `distance`.
    #[error("weight {name} {reason}")]
    InvalidWeight {
        name: &'static str,
        reason: &'static str,
    },
    #[error("limit must be between 1 and {max}, got {got}")]
    InvalidLimit { got: usize, max: usize },
    #[error("min_score must be a number between 0 and 1")]
    InvalidMinScore,
    #[error("congestion_damping must be a number between 0 and 1")]
    InvalidCongestionDamping,
    #[error("{0:?} is not a province code")]
    InvalidProvinceCode(String),
    /// Slots are packed into 24 bits inside posting entries.
    #[error("the index is full: it holds at most {max} {what}")]
    Full { what: &'static str, max: usize },
}
