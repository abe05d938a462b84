//! The application layer's errors, and how their causes are written to logs.
//!
//! `jobmatch-api` turns each into an HTTP answer in its one mapping
//! (`jobmatch-api/src/error.rs`); the command line prints them.

use jobmatch_domain::FieldError;
use jobmatch_store::StoreError;

/// Why a use case did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The document is invalid: every bad field, with what is wrong with it.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The record has version `current`, not the one the caller expected.
    #[error("the record has version {current}, not the one expected")]
    VersionMismatch { current: i64 },
    /// The caller stopped waiting (its request was cut off) before anything was
    /// written.
    #[error("the batch was abandoned")]
    Abandoned,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ServiceError {
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> ServiceError {
        ServiceError::Internal(Box::new(error))
    }
}

/// `outer: inner: innermost`, for logs.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
