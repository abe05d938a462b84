//! The store's one error type.

/// Everything that can go wrong in the store.
///
/// The `Display` texts are safe to show to clients; the underlying database
/// error, if any, is the `source()`.
#[derive(thiserror::Error, Debug)]
pub enum StoreError {
    #[error("record not found")]
    NotFound,
    #[error("version mismatch: current version is {current}")]
    VersionMismatch { current: i64 },
    #[error("a record with this id already exists")]
    AlreadyExists,
    #[error("external id already used by record {existing_id}")]
    ExternalIdTaken { existing_id: String },
    /// Insert or update of a vacancy whose `employer_id` names no employer.
    #[error("referenced record does not exist")]
    ReferenceMissing,
    /// Delete of an employer that vacancies still point at.
    #[error("record is still referenced by other records")]
    StillReferenced,
    /// A timestamp outside the years 0000–9999.
    #[error("timestamp out of range")]
    TimestampOutOfRange,
    /// The URL is neither PostgreSQL nor SQLite.
    #[error(
        "unsupported database URL (expected postgres://, postgresql://, sqlite: or a file path)"
    )]
    UnsupportedUrl,
    /// The directory for the SQLite file could not be created.
    #[error("could not create the database directory")]
    CreateDir(#[source] std::io::Error),
    /// A document could not be encoded, or a stored one decoded, as JSON.
    #[error("document is not valid JSON")]
    Json(#[source] serde_json::Error),
    /// A stored value the store cannot interpret (e.g. a bad timestamp).
    #[error("stored data is invalid: {0}")]
    Corrupt(&'static str),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A write run under an `Idempotency-Key` whose claim is no longer its
    /// own (a retry took it over): the write was rolled back.
    #[error("the Idempotency-Key of this request was taken over by a retry; nothing was written")]
    IdempotencyClaimLost,
    /// The erasure journal could not be written; the erasure was not made.
    #[error("could not write the erasure journal")]
    Journal(#[source] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_show_no_sql() {
        let error = StoreError::Database(sqlx::Error::RowNotFound);
        assert_eq!(error.to_string(), "database error");
    }
}
