//! The documents: insert, read, update and delete one record (each write with its
//! change-feed entry in the same transaction), list them by filter columns and
//! id cursor, count them.

use sqlx::AssertSqlSafe;

use crate::rows::{format_time, now, raw_record_from_row, record_from_row};
use crate::{
    AuditEvent, ChangeOp, Columns, Entity, ListFilter, NewRecord, Pool, RawRecord, Record, Store,
    StoreError, WriteKind, constraint_error, finish, privacy, sql,
};

/// The body of [`Store::update`] inside a writing transaction on `$conn`:
/// replaces the record (if at `$expected` version, when `Some`) and appends an
/// `update` change; evaluates to `Result<Record, StoreError>`.
macro_rules! update_in_tx {
    ($conn:ident, $entity:expr, $id:expr, $expected:expr, $columns:expr, $body_text:expr, $now_text:expr) => {
        async {
            let table = $entity.sql();
            let statement = match $expected {
                Some(_) => table.update_if_version,
                None => table.update,
            };
            let mut query = sqlx::query(statement)
                .bind($id)
                .bind($now_text)
                .bind($columns.employer_id.as_deref())
                .bind($columns.sector.as_deref())
                .bind($columns.province_code.as_deref())
                .bind($columns.status.as_deref())
                .bind($body_text);
            if let Some(version) = $expected {
                query = query.bind(version);
            }
            let row = query
                .fetch_optional(&mut *$conn)
                .await
                .map_err(|e| constraint_error(e, WriteKind::Upsert))?;
            let Some(row) = row else {
                // Nothing updated: tell a missing record from a stale version.
                let current: Option<i64> = sqlx::query_scalar(table.version_by_id)
                    .bind($id)
                    .fetch_optional(&mut *$conn)
                    .await?;
                return Err(match current {
                    Some(current) => StoreError::VersionMismatch { current },
                    None => StoreError::NotFound,
                });
            };
            let record = record_from_row(&row)?;
            sqlx::query(sql::INSERT_CHANGE)
                .bind($entity.as_str())
                .bind($id)
                .bind(ChangeOp::Update.as_str())
                .bind($now_text)
                .execute(&mut *$conn)
                .await?;
            Ok::<Record, StoreError>(record)
        }
        .await
    };
}

/// Runs a list statement on `$pool` (either backend's): binds the filter values
/// `$binds` in order, then each `$extra` (the parameters the statement numbers
/// after them), and decodes the records. Evaluates to `Result<Vec<Record>, _>`.
macro_rules! fetch_records {
    ($pool:expr, $statement:expr, $binds:expr, $($extra:expr),+) => {{
        let mut query = sqlx::query(AssertSqlSafe($statement));
        for value in $binds {
            query = query.bind(value);
        }
        query
            $(.bind($extra))+
            .fetch_all($pool)
            .await?
            .iter()
            .map(record_from_row)
            .collect()
    }};
}

impl Store {
    /// Inserts a new record with version 1 and appends a `create` change.
    ///
    /// Errors: [`StoreError::AlreadyExists`] if the id is taken,
    /// [`StoreError::ExternalIdTaken`] if `(source, external_id)` is,
    /// [`StoreError::ReferenceMissing`] for a vacancy whose employer does not
    /// exist.
    pub async fn insert(
        &self,
        entity: Entity,
        record: NewRecord<'_>,
    ) -> Result<Record, StoreError> {
        self.insert_audited(entity, record, None).await
    }

    /// [`Store::insert`], and when `audit` is given, appends it to the audit
    /// log in the same transaction: the answer that carries a new profile
    /// back is a read of it, logged only if the write commits.
    pub async fn insert_audited(
        &self,
        entity: Entity,
        record: NewRecord<'_>,
        audit: Option<&AuditEvent<'_>>,
    ) -> Result<Record, StoreError> {
        let table = entity.sql();
        let now = now();
        let now_text = format_time(now)?;
        let body_text = serde_json::to_string(record.body).map_err(StoreError::Json)?;
        let columns = record.columns;
        write_tx!(self, |conn| {
            // All writers are serialised (see `write_tx!`), so this check
            // cannot race with another insert.
            if let (Some(source), Some(external_id)) = (record.source, record.external_id) {
                let existing: Option<String> = sqlx::query_scalar(table.id_by_external_id)
                    .bind(source)
                    .bind(external_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                if let Some(existing_id) = existing {
                    return Err(StoreError::ExternalIdTaken { existing_id });
                }
            }
            sqlx::query(table.insert)
                .bind(record.id)
                .bind(now_text.as_str())
                .bind(record.source)
                .bind(record.external_id)
                .bind(columns.employer_id.as_deref())
                .bind(columns.sector.as_deref())
                .bind(columns.province_code.as_deref())
                .bind(columns.status.as_deref())
                .bind(body_text.as_str())
                .execute(&mut *conn)
                .await
                .map_err(|e| constraint_error(e, WriteKind::Upsert))?;
            sqlx::query(sql::INSERT_CHANGE)
                .bind(entity.as_str())
                .bind(record.id)
                .bind(ChangeOp::Create.as_str())
                .bind(now_text.as_str())
                .execute(&mut *conn)
                .await?;
            if let Some(event) = audit {
                privacy::append_audit!(conn, now_text.as_str(), event)?;
            }
            Ok(())
        })?;
        Ok(Record {
            id: record.id.to_owned(),
            version: 1,
            created_at: now,
            updated_at: now,
            source: record.source.map(str::to_owned),
            external_id: record.external_id.map(str::to_owned),
            columns: columns.clone(),
            body: record.body.clone(),
        })
    }

    /// The record with this id, if any.
    pub async fn get(&self, entity: Entity, id: &str) -> Result<Option<Record>, StoreError> {
        let table = entity.sql();
        with_pool!(self, |pool| {
            sqlx::query(table.select_by_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(record_from_row)
                .transpose()
        })
    }

    /// The record imported from `source` under `external_id`, if any.
    pub async fn get_by_external_id(
        &self,
        entity: Entity,
        source: &str,
        external_id: &str,
    ) -> Result<Option<Record>, StoreError> {
        let table = entity.sql();
        with_pool!(self, |pool| {
            sqlx::query(table.select_by_external_id)
                .bind(source)
                .bind(external_id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(record_from_row)
                .transpose()
        })
    }

    /// Replaces the document and its filter columns (source and external id
    /// are kept), bumps the version, sets `updated_at` to now and appends an
    /// `update` change, atomically.
    ///
    /// If `expected_version` is `Some` and differs from the stored version,
    /// nothing changes and the result is [`StoreError::VersionMismatch`] with
    /// the current version. A missing record is [`StoreError::NotFound`].
    pub async fn update(
        &self,
        entity: Entity,
        id: &str,
        expected_version: Option<i64>,
        columns: &Columns,
        body: &serde_json::Value,
    ) -> Result<Record, StoreError> {
        self.update_audited(entity, id, expected_version, columns, body, None)
            .await
    }

    /// [`Store::update`], and when `audit` is given, appends it to the audit
    /// log in the same transaction: the answer that carries the changed
    /// profile back is a read of it, logged only if the change commits.
    pub async fn update_audited(
        &self,
        entity: Entity,
        id: &str,
        expected_version: Option<i64>,
        columns: &Columns,
        body: &serde_json::Value,
        audit: Option<&AuditEvent<'_>>,
    ) -> Result<Record, StoreError> {
        let now_text = format_time(now())?;
        let body_text = serde_json::to_string(body).map_err(StoreError::Json)?;
        write_tx!(self, |conn| {
            let record = update_in_tx!(
                conn,
                entity,
                id,
                expected_version,
                columns,
                body_text.as_str(),
                now_text.as_str()
            )?;
            if let Some(event) = audit {
                privacy::append_audit!(conn, now_text.as_str(), event)?;
            }
            Ok(record)
        })
    }

    /// Removes the record (e.g. to erase a worker's personal data) and appends
    /// a `delete` change. `Ok(false)` if it did not exist.
    ///
    /// Deleting an employer that vacancies still reference is
    /// [`StoreError::StillReferenced`].
    pub async fn delete(&self, entity: Entity, id: &str) -> Result<bool, StoreError> {
        let table = entity.sql();
        let now_text = format_time(now())?;
        write_tx!(self, |conn| {
            let deleted = sqlx::query(table.delete)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(|e| constraint_error(e, WriteKind::Delete))?
                .rows_affected();
            if deleted == 0 {
                return Ok(false);
            }
            sqlx::query(sql::INSERT_CHANGE)
                .bind(entity.as_str())
                .bind(id)
                .bind(ChangeOp::Delete.as_str())
                .bind(now_text.as_str())
                .execute(&mut *conn)
                .await?;
            Ok(true)
        })
    }

    /// Records matching every `Some` column of the filter with
    /// `id > after_id`, ordered by id (byte order), at most `limit`.
    ///
    /// To page, pass the id of the last record of a page as the next
    /// `after_id`; pages never overlap or skip a record that existed
    /// throughout.
    pub async fn list(
        &self,
        entity: Entity,
        filter: &ListFilter,
    ) -> Result<Vec<Record>, StoreError> {
        if filter.limit == 0 {
            return Ok(Vec::new());
        }
        let (mut statement, binds) = filtered_list_statement(entity, filter);
        statement.push_str(sql::ORDER_BY_ID_LIMIT);
        statement.push_str(&(binds.len() + 1).to_string());
        let limit = i64::from(filter.limit);
        with_pool!(self, |pool| fetch_records!(pool, statement, binds, limit))
    }

    /// Like [`Store::list`], restricted to the records whose id is one of `ids`,
    /// in one query however many ids there are: what an employer or partner key
    /// may see of the employers list. The ids travel as one bind parameter (a
    /// PostgreSQL text array; on SQLite a JSON array read with `json_each`), so
    /// no statement grows with the list and none hits a bind-parameter limit.
    pub async fn list_among(
        &self,
        entity: Entity,
        ids: &[String],
        filter: &ListFilter,
    ) -> Result<Vec<Record>, StoreError> {
        if filter.limit == 0 || ids.is_empty() {
            return Ok(Vec::new());
        }
        let (mut statement, binds) = filtered_list_statement(entity, filter);
        let id_filter = match &self.pool {
            Pool::Sqlite(_) => sql::SQLITE_FILTER_ID_IN_JSON,
            Pool::Postgres(_) => sql::PG_FILTER_ID_IN_ARRAY,
        };
        statement.push_str(id_filter.0);
        statement.push_str(&(binds.len() + 1).to_string());
        statement.push_str(id_filter.1);
        statement.push_str(sql::ORDER_BY_ID_LIMIT);
        statement.push_str(&(binds.len() + 2).to_string());
        let limit = i64::from(filter.limit);
        match &self.pool {
            Pool::Sqlite(pool) => {
                let ids_json = serde_json::to_string(ids).map_err(StoreError::Json)?;
                fetch_records!(pool, statement, binds, ids_json, limit)
            }
            Pool::Postgres(pool) => fetch_records!(pool, statement, binds, ids, limit),
        }
    }

    /// A page of records with `id > after_id` in id order, their documents left as
    /// the stored JSON text: for full scans that parse each document straight into
    /// its own type (building the matching index from a million profiles), where
    /// [`Store::list`]'s generic JSON values would cost more than the scan itself.
    pub async fn list_raw(
        &self,
        entity: Entity,
        after_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RawRecord>, StoreError> {
        // Only fixed fragments from `sql` go into the statement.
        let statement = format!(
            "{}{}1{}2",
            entity.sql().list_head,
            sql::FILTER_AFTER_ID,
            sql::ORDER_BY_ID_LIMIT
        );
        with_pool!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(statement))
                .bind(after_id.unwrap_or(""))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter().map(raw_record_from_row).collect()
        })
    }

    /// Number of records of this entity.
    pub async fn count(&self, entity: Entity) -> Result<i64, StoreError> {
        let table = entity.sql();
        with_pool!(self, |pool| Ok(sqlx::query_scalar(table.count)
            .fetch_one(pool)
            .await?))
    }
}

/// The head of a list statement for `entity` with a condition for each filter
/// `filter` sets, and the values to bind to them, in order (parameters `$1` on).
/// Only fixed fragments from `sql` and parameter numbers go into the statement;
/// every value is a bind parameter.
fn filtered_list_statement(entity: Entity, filter: &ListFilter) -> (String, Vec<&str>) {
    let mut statement = String::from(entity.sql().list_head);
    let mut binds: Vec<&str> = Vec::with_capacity(5);
    let conditions = [
        (
            sql::FILTER_EMPLOYER_ID,
            filter.columns.employer_id.as_deref(),
        ),
        (sql::FILTER_SECTOR, filter.columns.sector.as_deref()),
        (
            sql::FILTER_PROVINCE_CODE,
            filter.columns.province_code.as_deref(),
        ),
        (sql::FILTER_STATUS, filter.columns.status.as_deref()),
        (sql::FILTER_AFTER_ID, filter.after_id.as_deref()),
    ];
    for (fragment, value) in conditions {
        if let Some(value) = value {
            binds.push(value);
            statement.push_str(fragment);
            statement.push_str(&binds.len().to_string());
        }
    }
    (statement, binds)
}
