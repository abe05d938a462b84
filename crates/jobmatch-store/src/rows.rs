//! Rows and timestamps: decoding the rows of either backend into the store's
//! types (through [`StoredRow`]), and the fixed-width timestamp text every table
//! keeps.

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::{ApiKey, Change, Columns, RawRecord, Record, StoreError};

/// The current time, truncated to what the store keeps (microseconds).
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Fixed-width RFC 3339 UTC text with microseconds, e.g.
/// `2024-05-01T08:30:00.123456Z`. Fails outside the years 0000–9999, where the
/// width (and so the text order) would break.
pub(crate) fn format_time(time: DateTime<Utc>) -> Result<String, StoreError> {
    use chrono::Datelike;
    if !(0..=9999).contains(&time.year()) {
        return Err(StoreError::TimestampOutOfRange);
    }
    Ok(time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt("timestamp is not RFC 3339"))
}

/// A row of either backend, its columns read by name as text, optional text or
/// integers: the bounds every decoder needs, written once.
pub(crate) trait StoredRow {
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    fn optional_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    fn integer(&self, column: &str) -> Result<i64, sqlx::Error>;
}

impl<R> StoredRow for R
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        self.try_get(column)
    }

    fn optional_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(column)
    }

    fn integer(&self, column: &str) -> Result<i64, sqlx::Error> {
        self.try_get(column)
    }
}

/// A whole document row, its JSON parsed.
pub(crate) fn record_from_row(row: &impl StoredRow) -> Result<Record, StoreError> {
    let created_at: String = row.text("created_at")?;
    let updated_at: String = row.text("updated_at")?;
    let body: String = row.text("body")?;
    Ok(Record {
        id: row.text("id")?,
        version: row.integer("version")?,
        created_at: parse_time(&created_at)?,
        updated_at: parse_time(&updated_at)?,
        source: row.optional_text("source")?,
        external_id: row.optional_text("external_id")?,
        columns: columns_from_row(row)?,
        body: serde_json::from_str(&body).map_err(StoreError::Json)?,
    })
}

/// A document row's id, filter columns and JSON text, the text left unparsed.
pub(crate) fn raw_record_from_row(row: &impl StoredRow) -> Result<RawRecord, StoreError> {
    Ok(RawRecord {
        id: row.text("id")?,
        columns: columns_from_row(row)?,
        body: row.text("body")?,
    })
}

/// The filter columns of a document row (every statement that reads a document
/// selects them by these names).
pub(crate) fn columns_from_row(row: &impl StoredRow) -> Result<Columns, StoreError> {
    Ok(Columns {
        employer_id: row.optional_text("employer_id")?,
        sector: row.optional_text("sector")?,
        province_code: row.optional_text("province_code")?,
        status: row.optional_text("status")?,
    })
}

pub(crate) fn change_from_row(row: &impl StoredRow) -> Result<Change, StoreError> {
    let entity: String = row.text("entity")?;
    let op: String = row.text("op")?;
    let at: String = row.text("at")?;
    Ok(Change {
        seq: row.integer("seq")?,
        entity: entity
            .parse()
            .map_err(|_| StoreError::Corrupt("unknown entity in change feed"))?,
        entity_id: row.text("entity_id")?,
        op: op
            .parse()
            .map_err(|_| StoreError::Corrupt("unknown operation in change feed"))?,
        at: parse_time(&at)?,
    })
}

pub(crate) fn api_key_from_row(row: &impl StoredRow) -> Result<ApiKey, StoreError> {
    let created_at: String = row.text("created_at")?;
    let expires_at: Option<String> = row.optional_text("expires_at")?;
    let revoked_at: Option<String> = row.optional_text("revoked_at")?;
    Ok(ApiKey {
        id: row.text("id")?,
        name: row.text("name")?,
        role: row.text("role")?,
        employer_id: row.optional_text("employer_id")?,
        source: row.text("source")?,
        hash: row.text("hash")?,
        created_at: parse_time(&created_at)?,
        expires_at: expires_at.as_deref().map(parse_time).transpose()?,
        revoked_at: revoked_at.as_deref().map(parse_time).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_fixed_width_and_round_trip() {
        let time = DateTime::parse_from_rfc3339("2024-05-01T08:30:00.5+07:00")
            .map(|t| t.with_timezone(&Utc))
            .expect("valid timestamp");
        let text = format_time(time).expect("in range");
        assert_eq!(text, "2024-05-01T01:30:00.500000Z");
        assert_eq!(parse_time(&text).expect("parses"), time);
        let early = format_time(DateTime::UNIX_EPOCH).expect("in range");
        assert_eq!(early.len(), text.len());
        assert!(early < text);
    }

    #[test]
    fn timestamps_outside_four_digit_years_are_refused() {
        assert!(matches!(
            format_time(DateTime::<Utc>::MAX_UTC),
            Err(StoreError::TimestampOutOfRange)
        ));
    }
}
