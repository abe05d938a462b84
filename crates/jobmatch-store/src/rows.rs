//! Rows and timestamps: decoding the rows of either backend into the store's
//! types, and the fixed-width timestamp text every table keeps.

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

/// A whole document row, its JSON parsed.
pub(crate) fn record_from_row<R>(row: &R) -> Result<Record, StoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let created_at: String = row.try_get("created_at")?;
    let updated_at: String = row.try_get("updated_at")?;
    let body: String = row.try_get("body")?;
    Ok(Record {
        id: row.try_get("id")?,
        version: row.try_get("version")?,
        created_at: parse_time(&created_at)?,
        updated_at: parse_time(&updated_at)?,
        source: row.try_get("source")?,
        external_id: row.try_get("external_id")?,
        columns: columns_from_row(row)?,
        body: serde_json::from_str(&body).map_err(StoreError::Json)?,
    })
}

/// A document row's id, filter columns and JSON text, the text left unparsed.
pub(crate) fn raw_record_from_row<R>(row: &R) -> Result<RawRecord, StoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(RawRecord {
        id: row.try_get("id")?,
        columns: columns_from_row(row)?,
        body: row.try_get("body")?,
    })
}

/// The filter columns of a document row (every statement that reads a document
/// selects them by these names).
pub(crate) fn columns_from_row<R>(row: &R) -> Result<Columns, StoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(Columns {
        employer_id: row.try_get("employer_id")?,
        sector: row.try_get("sector")?,
        province_code: row.try_get("province_code")?,
        status: row.try_get("status")?,
    })
}

pub(crate) fn change_from_row<R>(row: &R) -> Result<Change, StoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let entity: String = row.try_get("entity")?;
    let op: String = row.try_get("op")?;
    let at: String = row.try_get("at")?;
    Ok(Change {
        seq: row.try_get("seq")?,
        entity: entity
            .parse()
            .map_err(|_| StoreError::Corrupt("unknown entity in change feed"))?,
        entity_id: row.try_get("entity_id")?,
        op: op
            .parse()
            .map_err(|_| StoreError::Corrupt("unknown operation in change feed"))?,
        at: parse_time(&at)?,
    })
}

pub(crate) fn api_key_from_row<R>(row: &R) -> Result<ApiKey, StoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let created_at: String = row.try_get("created_at")?;
    let expires_at: Option<String> = row.try_get("expires_at")?;
    let revoked_at: Option<String> = row.try_get("revoked_at")?;
    Ok(ApiKey {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        employer_id: row.try_get("employer_id")?,
        hash: row.try_get("hash")?,
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
