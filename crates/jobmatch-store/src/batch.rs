//! Batched writes for bulk loads: many documents in one transaction.
//!
//! One document per transaction costs one disk flush each (SQLite runs with
//! `synchronous=FULL`), which caps a bulk import at a few hundred rows a
//! second. [`Store::upsert_many`] writes a whole batch in one transaction with
//! multi-row statements, and still appends one change-feed row per document it
//! creates or changes in that same transaction: followers see a batch whole or
//! not at all, exactly as they see a single write.
//!
//! Batches are keyed like single imports: a document whose `(source,
//! external_id)` is already stored updates that record, or leaves it untouched
//! (no new version, no change-feed row) when the stored document and filter
//! columns are byte for byte the same.
//!
//! Worker batches also keep what staff decided, inside the same transaction:
//! a profile erased under that `(source, external_id)` is not created again
//! ([`BatchOutcome::Erased`]), and a profile whose consent staff decided
//! (`consent_decisions`) keeps the stored `consent` ([`BatchWrite::consent_kept`]).

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use sqlx::{AssertSqlSafe, Row};

use crate::privacy::{tombstone_hash, tombstone_key};
use crate::rows::columns_from_row;
use crate::sql::{self, TableSql};
use crate::{
    ChangeOp, Columns, Entity, Pool, Record, Store, StoreError, WriteKind, constraint_error,
    finish, format_time, now, record_from_row,
};

/// Rows per multi-row statement. At 10 bind parameters a row this stays far
/// below SQLite's (32,766) and PostgreSQL's (65,535) parameter limits, and
/// every full chunk reuses one prepared statement.
const ROWS_PER_STATEMENT: usize = 100;

const SQLITE_BATCH_CACHE: &str = "PRAGMA cache_size = -65536";

/// One document of a batch for [`Store::upsert_many`].
#[derive(Debug, Clone, Copy)]
pub struct BatchRecord<'a> {
    /// The id to give the record if it is created (unused in this entity's
    /// table); ignored when `external_id` finds an existing record.
    pub id: &'a str,
    pub external_id: Option<&'a str>,
    pub columns: &'a Columns,
    /// The document as JSON text, stored byte for byte. A re-sent document is
    /// unchanged when its text equals the stored one or, written differently
    /// (key order, as [`Store::insert`] sorts keys), means the same JSON.
    pub body: &'a str,
}

/// What [`Store::upsert_many`] did with one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOutcome {
    /// A new record (version 1, a `create` change).
    Created,
    /// The external id named a record whose document differed: replaced, its
    /// version bumped, an `update` change appended.
    Updated,
    /// The external id named a record holding exactly this document and these
    /// columns: nothing written.
    Unchanged,
    /// A worker profile sent by this source under this external id was erased
    /// (a tombstone, see `Store::erase_worker`): nothing written, until an admin
    /// lifts the erasure (`Store::lift_erasure`).
    Erased,
}

/// The record a batch document ended up as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchWrite {
    /// Empty for [`BatchOutcome::Erased`].
    pub id: String,
    /// The record's version after the batch; 0 for [`BatchOutcome::Erased`].
    pub version: i64,
    pub outcome: BatchOutcome,
    /// The document would have changed `consent.share_with_employers` of a
    /// profile whose consent staff decided: the stored `consent` was kept.
    pub consent_kept: bool,
}

/// What the batch needs to know of a stored record to compare it.
struct StoredRow {
    id: String,
    version: i64,
    columns: Columns,
    body: String,
}

impl Store {
    /// Creates or updates many documents of one entity, all imported from
    /// `source`, in one transaction; the result lists, in input order, the
    /// record each document became.
    ///
    /// A document without `external_id` is always created. One whose
    /// `(source, external_id)` is stored updates that record when its body or
    /// columns differ and is [`BatchOutcome::Unchanged`] otherwise; an
    /// external id repeated within the batch behaves as if the documents had
    /// been sent one after the other.
    ///
    /// All or nothing: any error rolls the whole batch back, e.g.
    /// [`StoreError::ReferenceMissing`] for a vacancy whose employer does not
    /// exist or [`StoreError::AlreadyExists`] for a taken id. Callers check
    /// references beforehand so that one bad row does not sink its batch.
    pub async fn upsert_many(
        &self,
        entity: Entity,
        source: &str,
        records: &[BatchRecord<'_>],
    ) -> Result<Vec<BatchWrite>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let table = entity.sql();
        let now_text = format_time(now())?;
        let segments = segments_without_repeated_keys(records);
        let sqlite = matches!(self.pool, crate::Pool::Sqlite(_));
        write_tx!(self, |conn| {
            if sqlite {
                // SQLite's default page cache is 2 MiB: at a million profiles the
                // indexes a batch inserts into no longer fit, and each insert
                // goes back to the file. The connection that writes batches
                // keeps up to 64 MiB (negative: KiB); the others, which mostly
                // scan or read single rows, keep the default.
                sqlx::query(SQLITE_BATCH_CACHE).execute(&mut *conn).await?;
            }
            let mut writes: Vec<Option<BatchWrite>> = vec![None; records.len()];
            for segment in &segments {
                // What the segment's external ids already name.
                let keys: Vec<&str> = records[segment.clone()]
                    .iter()
                    .filter_map(|record| record.external_id)
                    .collect();
                let stored = conn.stored_by_external_id(table, source, &keys).await?;

                // Workers whose consent staff decided, and tombstones.
                let mut decided: HashSet<String> = HashSet::new();
                let mut erased: HashSet<String> = HashSet::new();
                let mut tombstone_key = None;
                if entity == Entity::Worker {
                    let ids: Vec<&str> = stored.values().map(|row| row.id.as_str()).collect();
                    decided.extend(conn.present_among(CONSENT_DECIDED, &ids).await?);
                    let key = tombstone_key!(conn).await?;
                    let hashes: Vec<String> = records[segment.clone()]
                        .iter()
                        .filter_map(|record| record.external_id)
                        .filter(|external_id| !stored.contains_key(*external_id))
                        .map(|external_id| tombstone_hash(&key, source, external_id))
                        .collect();
                    let hashes: Vec<&str> = hashes.iter().map(String::as_str).collect();
                    erased.extend(conn.present_among(TOMBSTONES, &hashes).await?);
                    tombstone_key = Some(key);
                }

                let mut to_insert: Vec<usize> = Vec::new();
                let mut changes: Vec<(&str, ChangeOp)> = Vec::new();
                for index in segment.clone() {
                    let record = &records[index];
                    let existing = record.external_id.and_then(|key| stored.get(key));
                    let Some(existing) = existing else {
                        let tombstoned = match (&tombstone_key, record.external_id) {
                            (Some(key), Some(external_id)) => {
                                erased.contains(&tombstone_hash(key, source, external_id))
                            }
                            _ => false,
                        };
                        if tombstoned {
                            writes[index] = Some(BatchWrite {
                                id: String::new(),
                                version: 0,
                                outcome: BatchOutcome::Erased,
                                consent_kept: false,
                            });
                        } else {
                            to_insert.push(index);
                        }
                        continue;
                    };
                    let kept_consent = if decided.contains(&existing.id) {
                        with_stored_consent(&existing.body, record.body)
                    } else {
                        None
                    };
                    let consent_kept = kept_consent.is_some();
                    let body = kept_consent.as_deref().unwrap_or(record.body);
                    if same_json(&existing.body, body) && existing.columns == *record.columns {
                        writes[index] = Some(BatchWrite {
                            id: existing.id.clone(),
                            version: existing.version,
                            outcome: BatchOutcome::Unchanged,
                            consent_kept,
                        });
                        continue;
                    }
                    let row = sqlx::query(table.update)
                        .bind(existing.id.as_str())
                        .bind(now_text.as_str())
                        .bind(record.columns.employer_id.as_deref())
                        .bind(record.columns.sector.as_deref())
                        .bind(record.columns.province_code.as_deref())
                        .bind(record.columns.status.as_deref())
                        .bind(body)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(|e| constraint_error(e, WriteKind::Upsert))?;
                    writes[index] = Some(BatchWrite {
                        id: existing.id.clone(),
                        version: row.try_get("version")?,
                        outcome: BatchOutcome::Updated,
                        consent_kept,
                    });
                    changes.push((existing.id.as_str(), ChangeOp::Update));
                }

                let inserted: Vec<&BatchRecord<'_>> =
                    to_insert.iter().map(|&index| &records[index]).collect();
                conn.insert_records(table, source, &now_text, &inserted)
                    .await?;
                for &index in &to_insert {
                    writes[index] = Some(BatchWrite {
                        id: records[index].id.to_owned(),
                        version: 1,
                        outcome: BatchOutcome::Created,
                        consent_kept: false,
                    });
                    changes.push((records[index].id, ChangeOp::Create));
                }

                conn.append_changes(entity, &changes, &now_text).await?;
            }
            writes
                .into_iter()
                .map(|write| write.ok_or(StoreError::Corrupt("a batch row was not written")))
                .collect()
        })
    }

    /// The records imported from `source` under any of `external_ids`, keyed
    /// by external id; ids that name nothing are simply absent.
    pub async fn get_many_by_external_id(
        &self,
        entity: Entity,
        source: &str,
        external_ids: &[&str],
    ) -> Result<HashMap<String, Record>, StoreError> {
        let table = entity.sql();
        let params = self.batch_params();
        let mut found = HashMap::new();
        for chunk in external_ids.chunks(ROWS_PER_STATEMENT) {
            let statement = lookup_by_external_ids(params, table, chunk.len());
            let rows = self.fetch_records(statement, Some(source), chunk).await?;
            for record in rows {
                if let Some(external_id) = record.external_id.clone() {
                    found.insert(external_id, record);
                }
            }
        }
        Ok(found)
    }

    /// The records a lookup statement finds, its parameters being `first` (if
    /// any) and then `keys`.
    async fn fetch_records(
        &self,
        statement: String,
        first: Option<&str>,
        keys: &[&str],
    ) -> Result<Vec<Record>, StoreError> {
        with_pool!(self, |pool| {
            let mut query = sqlx::query(AssertSqlSafe(statement));
            for value in first.iter().chain(keys) {
                query = query.bind(*value);
            }
            query
                .fetch_all(pool)
                .await?
                .iter()
                .map(record_from_row)
                .collect()
        })
    }

    /// The records of `ids` that exist, keyed by id: one query per
    /// [`ROWS_PER_STATEMENT`] ids instead of one per record (a page of search
    /// results, a candidate list).
    pub async fn get_many(
        &self,
        entity: Entity,
        ids: &[&str],
    ) -> Result<HashMap<String, Record>, StoreError> {
        let table = entity.sql();
        let params = self.batch_params();
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let statement = lookup_by_ids(params, table, chunk.len());
            let rows = self.fetch_records(statement, None, chunk).await?;
            found.extend(rows.into_iter().map(|record| (record.id.clone(), record)));
        }
        Ok(found)
    }

    /// Which of `ids` name a record of this entity.
    pub async fn existing_ids(
        &self,
        entity: Entity,
        ids: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        let table = entity.sql();
        let params = self.batch_params();
        let mut found = HashSet::new();
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let statement = existing_among(params, table, chunk.len());
            let ids: Vec<String> = with_pool!(self, |pool| {
                let mut query = sqlx::query_scalar(AssertSqlSafe(statement));
                for id in chunk {
                    query = query.bind(*id);
                }
                query.fetch_all(pool).await?
            });
            found.extend(ids);
        }
        Ok(found)
    }
}

/// The statements of one segment of [`Store::upsert_many`], one
/// implementation per backend.
///
/// SQLite binds every key and every column of every row as a parameter of its
/// own, [`ROWS_PER_STATEMENT`] rows a statement. PostgreSQL binds one array
/// per column: a segment's rows are inserted, and its change-feed rows
/// appended, by one statement each, instead of one per hundred rows of a
/// thousand scalar parameters each. Its lookups still take
/// [`ROWS_PER_STATEMENT`] keys a statement: without statistics (a table not
/// analysed since it was empty) the planner priced 2,000 index probes above
/// reading every index entry of the source (`Index Cond: source = ...`,
/// 200 ms a lookup at 100,000 profiles), and 100 probes below it.
trait SegmentStatements {
    /// The stored records of `table` that `source` sent under these external
    /// ids, keyed by external id.
    async fn stored_by_external_id(
        &mut self,
        table: &TableSql,
        source: &str,
        keys: &[&str],
    ) -> Result<HashMap<String, StoredRow>, StoreError>;

    /// Which of `keys` the single-column lookup `select` (see [`KeyLookup`])
    /// finds.
    async fn present_among(
        &mut self,
        select: KeyLookup,
        keys: &[&str],
    ) -> Result<Vec<String>, StoreError>;

    /// Inserts `records` as version 1 of new records, created and updated at
    /// `now_text`.
    async fn insert_records(
        &mut self,
        table: &TableSql,
        source: &str,
        now_text: &str,
        records: &[&BatchRecord<'_>],
    ) -> Result<(), StoreError>;

    /// Appends one change-feed row per change, in the order given, so that
    /// the feed's sequence numbers follow the order of the writes.
    async fn append_changes(
        &mut self,
        entity: Entity,
        changes: &[(&str, ChangeOp)],
        now_text: &str,
    ) -> Result<(), StoreError>;
}

/// A stored record's comparable parts from a row of [`sql::RECORD_COLUMNS`],
/// with its external id.
fn stored_row(row: &impl crate::rows::StoredRow) -> Result<(String, StoredRow), StoreError> {
    let external_id = row.text("external_id")?;
    let stored = StoredRow {
        id: row.text("id")?,
        version: row.integer("version")?,
        columns: columns_from_row(row)?,
        body: row.text("body")?,
    };
    Ok((external_id, stored))
}

impl SegmentStatements for sqlx::SqliteConnection {
    async fn stored_by_external_id(
        &mut self,
        table: &TableSql,
        source: &str,
        keys: &[&str],
    ) -> Result<HashMap<String, StoredRow>, StoreError> {
        let mut stored = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let statement = lookup_by_external_ids(Params::Anonymous, table, chunk.len());
            let mut query = sqlx::query(AssertSqlSafe(statement)).bind(source);
            for key in chunk {
                query = query.bind(*key);
            }
            for row in query.fetch_all(&mut *self).await? {
                let (external_id, row) = stored_row(&row)?;
                stored.insert(external_id, row);
            }
        }
        Ok(stored)
    }

    async fn present_among(
        &mut self,
        select: KeyLookup,
        keys: &[&str],
    ) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let statement = lookup_in(Params::Anonymous, select, chunk.len());
            let mut query = sqlx::query_scalar(AssertSqlSafe(statement));
            for key in chunk {
                query = query.bind(*key);
            }
            found.extend(query.fetch_all(&mut *self).await?);
        }
        Ok(found)
    }

    async fn insert_records(
        &mut self,
        table: &TableSql,
        source: &str,
        now_text: &str,
        records: &[&BatchRecord<'_>],
    ) -> Result<(), StoreError> {
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let statement = insert_rows(Params::Anonymous, table, chunk.len());
            let mut query = sqlx::query(AssertSqlSafe(statement));
            for record in chunk {
                query = query
                    .bind(record.id)
                    .bind(now_text)
                    .bind(now_text)
                    .bind(source)
                    .bind(record.external_id)
                    .bind(record.columns.employer_id.as_deref())
                    .bind(record.columns.sector.as_deref())
                    .bind(record.columns.province_code.as_deref())
                    .bind(record.columns.status.as_deref())
                    .bind(record.body);
            }
            query
                .execute(&mut *self)
                .await
                .map_err(|e| constraint_error(e, WriteKind::Upsert))?;
        }
        Ok(())
    }

    async fn append_changes(
        &mut self,
        entity: Entity,
        changes: &[(&str, ChangeOp)],
        now_text: &str,
    ) -> Result<(), StoreError> {
        for chunk in changes.chunks(ROWS_PER_STATEMENT) {
            let statement = insert_changes(Params::Anonymous, chunk.len());
            let mut query = sqlx::query(AssertSqlSafe(statement));
            for (id, op) in chunk {
                query = query
                    .bind(entity.as_str())
                    .bind(*id)
                    .bind(op.as_str())
                    .bind(now_text);
            }
            query.execute(&mut *self).await?;
        }
        Ok(())
    }
}

impl SegmentStatements for sqlx::PgConnection {
    async fn stored_by_external_id(
        &mut self,
        table: &TableSql,
        source: &str,
        keys: &[&str],
    ) -> Result<HashMap<String, StoredRow>, StoreError> {
        let mut stored = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let rows = sqlx::query(AssertSqlSafe(lookup_by_external_id_array(table)))
                .bind(source)
                .bind(chunk)
                .fetch_all(&mut *self)
                .await?;
            for row in rows {
                let (external_id, row) = stored_row(&row)?;
                stored.insert(external_id, row);
            }
        }
        Ok(stored)
    }

    async fn present_among(
        &mut self,
        select: KeyLookup,
        keys: &[&str],
    ) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let statement = AssertSqlSafe(lookup_in_array(select));
            found.extend(
                sqlx::query_scalar(statement)
                    .bind(chunk)
                    .fetch_all(&mut *self)
                    .await?,
            );
        }
        Ok(found)
    }

    async fn insert_records(
        &mut self,
        table: &TableSql,
        source: &str,
        now_text: &str,
        records: &[&BatchRecord<'_>],
    ) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = records.iter().map(|record| record.id).collect();
        let external_ids: Vec<Option<&str>> =
            records.iter().map(|record| record.external_id).collect();
        let column = |value: fn(&Columns) -> &Option<String>| -> Vec<Option<&str>> {
            records
                .iter()
                .map(|record| value(record.columns).as_deref())
                .collect()
        };
        let bodies: Vec<&str> = records.iter().map(|record| record.body).collect();
        sqlx::query(AssertSqlSafe(insert_row_arrays(table)))
            .bind(ids)
            .bind(now_text)
            .bind(source)
            .bind(external_ids)
            .bind(column(|columns| &columns.employer_id))
            .bind(column(|columns| &columns.sector))
            .bind(column(|columns| &columns.province_code))
            .bind(column(|columns| &columns.status))
            .bind(bodies)
            .execute(&mut *self)
            .await
            .map_err(|e| constraint_error(e, WriteKind::Upsert))?;
        Ok(())
    }

    async fn append_changes(
        &mut self,
        entity: Entity,
        changes: &[(&str, ChangeOp)],
        now_text: &str,
    ) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = changes.iter().map(|(id, _)| *id).collect();
        let ops: Vec<&str> = changes.iter().map(|(_, op)| op.as_str()).collect();
        sqlx::query(INSERT_CHANGE_ARRAYS)
            .bind(entity.as_str())
            .bind(ids)
            .bind(ops)
            .bind(now_text)
            .execute(&mut *self)
            .await?;
        Ok(())
    }
}

/// Splits a batch into runs in which no external id occurs twice, so that
/// each run can be looked up and inserted at once; a repeated id starts a new
/// run, which then sees the record the earlier one wrote.
fn segments_without_repeated_keys(records: &[BatchRecord<'_>]) -> Vec<Range<usize>> {
    let mut segments = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut start = 0;
    for (index, record) in records.iter().enumerate() {
        if let Some(key) = record.external_id
            && !seen.insert(key)
        {
            segments.push(start..index);
            seen.clear();
            seen.insert(key);
            start = index;
        }
    }
    segments.push(start..records.len());
    segments
}

/// How a backend's statements name their bind parameters.
///
/// SQLite gets anonymous `?`: for every numbered parameter sqlx asks SQLite for
/// its name, a linear search, which made binding a 900-parameter statement
/// quadratic and a third of a bulk import's database time.
#[derive(Clone, Copy)]
enum Params {
    /// `$1, $2, ...` (PostgreSQL).
    Numbered,
    /// `?, ?, ...`, bound in order (SQLite).
    Anonymous,
}

impl Store {
    fn batch_params(&self) -> Params {
        match self.pool {
            Pool::Sqlite(_) => Params::Anonymous,
            Pool::Postgres(_) => Params::Numbered,
        }
    }
}

/// Parameters `first, first+1, ...`, `count` of them.
fn placeholders(params: Params, first: usize, count: usize) -> String {
    (first..first + count)
        .map(|number| match params {
            Params::Numbered => format!("${number}"),
            Params::Anonymous => "?".to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Only fixed table and column names and parameter numbers go into these
/// statements; every value is a bind parameter.
///
/// Source, then the external ids.
fn lookup_by_external_ids(params: Params, table: &TableSql, count: usize) -> String {
    format!(
        "SELECT {} FROM {} WHERE source = {} AND external_id IN ({})",
        sql::RECORD_COLUMNS,
        table.table,
        placeholders(params, 1, 1),
        placeholders(params, 2, count)
    )
}

/// The records with these ids.
fn lookup_by_ids(params: Params, table: &TableSql, count: usize) -> String {
    format!(
        "SELECT {} FROM {} WHERE id IN ({})",
        sql::RECORD_COLUMNS,
        table.table,
        placeholders(params, 1, count)
    )
}

/// Which of these ids name a record.
fn existing_among(params: Params, table: &TableSql, count: usize) -> String {
    format!(
        "SELECT id FROM {} WHERE id IN ({})",
        table.table,
        placeholders(params, 1, count)
    )
}

/// The records `source` sent under these external ids, as PostgreSQL looks
/// them up: `$1` source, `$2` the external ids as one array.
fn lookup_by_external_id_array(table: &TableSql) -> String {
    format!(
        "SELECT {} FROM {} WHERE source = $1 AND external_id = ANY($2)",
        sql::RECORD_COLUMNS,
        table.table,
    )
}

/// A lookup of keys in one column: `SELECT column FROM table WHERE column`,
/// completed by [`lookup_in`] or [`lookup_in_array`].
type KeyLookup = &'static str;

/// Of the workers with these ids, those whose consent staff decided.
const CONSENT_DECIDED: KeyLookup = "SELECT worker_id FROM consent_decisions WHERE worker_id";
/// Of these tombstone hashes, those stored.
const TOMBSTONES: KeyLookup = "SELECT key_hash FROM erasure_tombstones WHERE key_hash";

/// `select` for `count` keys, each its own parameter.
fn lookup_in(params: Params, select: KeyLookup, count: usize) -> String {
    format!("{select} IN ({})", placeholders(params, 1, count))
}

/// `select` for the keys of one array parameter, `$1` (PostgreSQL).
fn lookup_in_array(select: KeyLookup) -> String {
    format!("{select} = ANY($1)")
}

/// `sent` with the `consent` of `stored`, when the two differ in
/// `consent.share_with_employers` (a missing consent counts as not sharing);
/// `None` when they agree, or either is not a JSON object.
fn with_stored_consent(stored: &str, sent: &str) -> Option<String> {
    let stored: serde_json::Value = serde_json::from_str(stored).ok()?;
    let mut sent: serde_json::Value = serde_json::from_str(sent).ok()?;
    let sharing = |document: &serde_json::Value| {
        document["consent"]["share_with_employers"]
            .as_bool()
            .unwrap_or(false)
    };
    if sharing(&stored) == sharing(&sent) {
        return None;
    }
    let consent = stored
        .get("consent")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    let object = sent.as_object_mut()?;
    if consent.is_null() {
        object.remove("consent");
    } else {
        object.insert("consent".to_string(), consent);
    }
    serde_json::to_string(&sent).ok()
}

/// Whether two JSON texts hold the same document: equal text, or equal once
/// parsed (only then are both parsed, so an unchanged re-import from the same
/// serialiser costs a string comparison).
fn same_json(stored: &str, sent: &str) -> bool {
    stored == sent
        || matches!(
            (
                serde_json::from_str::<serde_json::Value>(stored),
                serde_json::from_str::<serde_json::Value>(sent),
            ),
            (Ok(stored), Ok(sent)) if stored == sent
        )
}

/// Bind parameters per row of [`insert_rows`].
const INSERT_PARAMS_PER_ROW: usize = 10;

/// Per row: id, created_at, updated_at (the same time), source, external_id,
/// employer_id, sector, province_code, status, body; the version is 1.
fn insert_rows(params: Params, table: &TableSql, rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let first = row * INSERT_PARAMS_PER_ROW + 1;
            let (id, times) = (
                placeholders(params, first, 1),
                placeholders(params, first + 1, 2),
            );
            let rest = placeholders(params, first + 3, INSERT_PARAMS_PER_ROW - 3);
            format!("({id}, 1, {times}, {rest})")
        })
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES {}",
        table.table,
        sql::RECORD_COLUMNS,
        values.join(", ")
    )
}

/// [`insert_rows`] for PostgreSQL, one array per column that differs between
/// rows: `$1` ids, `$2` created_at = updated_at, `$3` source, `$4` external
/// ids, `$5` employer ids, `$6` sectors, `$7` province codes, `$8` statuses,
/// `$9` bodies; the version is 1.
fn insert_row_arrays(table: &TableSql) -> String {
    format!(
        "INSERT INTO {} ({}) \
         SELECT id, 1, $2, $2, $3, external_id, employer_id, sector, province_code, status, body \
         FROM UNNEST($1::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) \
         AS rows (id, external_id, employer_id, sector, province_code, status, body)",
        table.table,
        sql::RECORD_COLUMNS,
    )
}

/// Change-feed rows from arrays (PostgreSQL): `$1` entity, `$2` entity ids,
/// `$3` ops, `$4` at. The rows are inserted, and so numbered, in array order.
const INSERT_CHANGE_ARRAYS: &str = "INSERT INTO change_feed (entity, entity_id, op, at) \
     SELECT $1, entity_id, op, $4 FROM UNNEST($2::text[], $3::text[]) \
     WITH ORDINALITY AS changes (entity_id, op, position) ORDER BY position";

/// Per row: entity, entity_id, op, at (as [`sql::INSERT_CHANGE`]).
fn insert_changes(params: Params, rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| format!("({})", placeholders(params, row * 4 + 1, 4)))
        .collect();
    format!(
        "INSERT INTO change_feed (entity, entity_id, op, at) VALUES {}",
        values.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(external_id: Option<&'a str>, columns: &'a Columns) -> BatchRecord<'a> {
        BatchRecord {
            id: "x",
            external_id,
            columns,
            body: "null",
        }
    }

    #[test]
    fn the_same_document_written_in_another_key_order_is_the_same() {
        assert!(same_json(r#"{"a":1,"b":[2.5]}"#, r#"{"a":1,"b":[2.5]}"#));
        assert!(same_json(r#"{"a":1,"b":[2.5]}"#, r#"{"b":[2.5],"a":1}"#));
        assert!(!same_json(r#"{"a":1,"b":[2.5]}"#, r#"{"b":[2.5],"a":2}"#));
        assert!(!same_json(r#"{"a":1}"#, "not json"));
    }

    #[test]
    fn a_repeated_external_id_starts_a_new_segment() {
        let columns = Columns::default();
        let records = [
            record(Some("a"), &columns),
            record(None, &columns),
            record(Some("b"), &columns),
            record(Some("a"), &columns),
            record(None, &columns),
        ];
        assert_eq!(segments_without_repeated_keys(&records), vec![0..3, 3..5]);
    }

    #[test]
    fn multi_row_statements_number_their_parameters_in_order() {
        assert_eq!(
            insert_changes(Params::Numbered, 2),
            "INSERT INTO change_feed (entity, entity_id, op, at) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)"
        );
        let insert = insert_rows(Params::Numbered, &sql::WORKERS, 2);
        assert!(
            insert.ends_with("($11, 1, $12, $13, $14, $15, $16, $17, $18, $19, $20)"),
            "{insert}"
        );
        let insert = insert_rows(Params::Anonymous, &sql::WORKERS, 2);
        assert!(
            insert.ends_with(
                "VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            "{insert}"
        );
    }

    /// The lookups of a batch, planned as PostgreSQL plans them on the
    /// store's own connections, still read only the index entries of their
    /// keys after the table grew from empty: the regression was a generic plan,
    /// made while the table was empty and kept, that read every index entry of
    /// the source to find a hundred external ids. Autovacuum is off for the
    /// tables so that no fresh statistics replan the statements half-way.
    #[tokio::test]
    async fn batch_lookups_use_their_index_after_the_table_grew_from_empty() {
        use sqlx::Executor;
        let Some(scratch) = crate::testing::ScratchPostgres::from_env().await else {
            crate::testing::report_skipped("query plan tests");
            return;
        };
        let store = Store::connect(scratch.url()).await.expect("connect");
        let Pool::Postgres(pool) = &store.pool else {
            unreachable!("a postgres:// URL opens PostgreSQL")
        };
        let mut connection = pool.acquire().await.expect("a store connection");
        let three = |statement: String| (statement, "text, text, text", "'a', 'b', 'c'");
        let array = |statement: String| (statement, "text[]", "ARRAY['a', 'b', 'c']");
        // (statement, parameter types, sample values, index, indexed column):
        // the statements a batch runs on PostgreSQL (arrays), and the reads by
        // id (one parameter per id).
        let cases = [
            (
                (
                    lookup_by_external_id_array(&sql::WORKERS),
                    "text, text[]",
                    "'gen', ARRAY['a', 'b', 'c']",
                ),
                "workers_source_external_id_key",
                "external_id",
            ),
            (
                three(lookup_by_ids(Params::Numbered, &sql::WORKERS, 3)),
                "workers_pkey",
                "id",
            ),
            (
                three(existing_among(Params::Numbered, &sql::WORKERS, 3)),
                "workers_pkey",
                "id",
            ),
            (
                array(lookup_in_array(CONSENT_DECIDED)),
                "consent_decisions_pkey",
                "worker_id",
            ),
            (
                array(lookup_in_array(TOMBSTONES)),
                "erasure_tombstones_pkey",
                "key_hash",
            ),
        ];
        for table in ["workers", "consent_decisions", "erasure_tombstones"] {
            let settle =
                format!("ALTER TABLE {table} SET (autovacuum_enabled = false); ANALYZE {table}");
            connection
                .execute(AssertSqlSafe(settle))
                .await
                .expect("settle the statistics");
        }
        // Six runs: PostgreSQL weighs a generic plan from the sixth on.
        for (number, ((statement, types, values), _, _)) in cases.iter().enumerate() {
            let prepare = format!("PREPARE lookup_{number} ({types}) AS {statement}");
            connection
                .execute(AssertSqlSafe(prepare))
                .await
                .expect("prepare");
            for _ in 0..6 {
                let run = format!("EXECUTE lookup_{number} ({values})");
                connection
                    .execute(AssertSqlSafe(run))
                    .await
                    .expect("execute");
            }
        }
        // The tables grow as an import's do, the planner not told.
        let grow = "INSERT INTO workers (id, version, created_at, updated_at, source, external_id, body) \
            SELECT 'w' || g, 1, 't', 't', 'gen', 'e' || g, '{}' FROM generate_series(1, 20000) AS g; \
            INSERT INTO consent_decisions SELECT id, 'k', 'staff', 't' FROM workers; \
            INSERT INTO erasure_tombstones SELECT md5(g::text), 't' FROM generate_series(1, 20000) AS g";
        connection.execute(grow).await.expect("grow the tables");
        for (number, ((statement, _, values), index, column)) in cases.iter().enumerate() {
            let explain = format!("EXPLAIN EXECUTE lookup_{number} ({values})");
            let plan: Vec<String> = sqlx::query_scalar(AssertSqlSafe(explain))
                .fetch_all(&mut *connection)
                .await
                .expect("explain");
            let plan = plan.join("\n");
            let index_condition = plan
                .lines()
                .find(|line| line.trim_start().starts_with("Index Cond:"))
                .unwrap_or("");
            assert!(
                plan.contains(index) && index_condition.contains(&format!("{column} = ANY")),
                "{statement}\nis planned without looking its keys up in {index}:\n{plan}"
            );
        }
        drop(connection);
        store.close().await;
        scratch.drop_schema().await;
    }
}
