//! The crate's error type.

/// Why an index operation or a search failed.
///
/// Bad requests ([`SearchError::InvalidCursor`], [`SearchError::UnknownProvince`],
/// [`SearchError::InvalidFilter`]) are the caller's to report as 4xx; the rest are
/// internal failures.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The cursor was not produced by this crate, or for a different query.
    #[error("cursor is invalid or belongs to another search")]
    InvalidCursor,
    /// `near_province_code` names no Cambodian province.
    #[error("unknown province code {0:?}")]
    UnknownProvince(String),
    #[error("{field}: {message}")]
    InvalidFilter {
        field: &'static str,
        message: &'static str,
    },
    /// Another writer (in this process or another) holds the index directory.
    #[error(
        "the search index directory is held by another process (or another index writer in this one)"
    )]
    Locked,
    #[error("search index failure")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index i/o failure")]
    Io(#[from] std::io::Error),
}
