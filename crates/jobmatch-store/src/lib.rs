//! Storage for jobmatch: one interface, SQLite and PostgreSQL behind it.
//!
//! The store keeps three kinds of JSON documents — employers, vacancies and
//! workers ([`Entity`]) — plus API keys. It knows no domain rules: a document
//! is stored as given, next to a few copies of its fields that can be filtered
//! on ([`Columns`]), an optimistic-concurrency `version`, timestamps, and an
//! optional `(source, external_id)` pair that is unique per source (for
//! imports that must not create duplicates). The one relational rule is that
//! a vacancy's `employer_id`, when set, names an employer that exists.
//!
//! # Backends
//! [`Store::connect`] picks the backend from the URL: `postgres://` or
//! `postgresql://` is PostgreSQL; `sqlite:...` or a plain file path is SQLite
//! (the file and its directory are created if missing; WAL journal,
//! `synchronous=FULL` so an acknowledged write survives power loss,
//! `busy_timeout` 5 s, foreign keys on, `secure_delete` so erased rows do not
//! linger in free pages). Schema migrations, one set per
//! backend under `migrations/`, run at connect, safely when several processes
//! start at once.
//!
//! # Change feed
//! Every insert, update and delete of a document appends one [`Change`] to
//! the `change_feed` table in the same transaction. Followers (search and
//! matching indexes, other server processes sharing one PostgreSQL) poll
//! [`Store::changes_since`] with the last `seq` they processed. `seq` is
//! strictly increasing in commit order (not necessarily dense: a rolled-back
//! write on PostgreSQL can leave a gap), so a follower never skips a change.
//! A change carries no document data, only which record changed; erasing a
//! worker with [`Store::delete`] leaves only the id behind.
//!
//! # Errors
//! Every operation returns [`StoreError`]. Database failures keep the sqlx
//! error as their `source()`; their `Display` text never contains SQL or data,
//! so an API can show it, but should log the source chain instead.
//!
//! # Timestamps
//! Timestamps are kept with microsecond precision, as fixed-width RFC 3339 UTC
//! text (`2024-05-01T08:30:00.123456Z`), so text order is time order. Values
//! handed to the store are truncated to microseconds; years must be 0–9999.

mod migrations;
mod sql;
pub mod testing;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ColumnIndex, Connection, Database, Decode, Row, Transaction, Type};

use crate::sql::TableSql;

/// Connections in the SQLite pool. Writers are serialised anyway; a few
/// connections let reads run alongside a write (WAL).
const SQLITE_MAX_CONNECTIONS: u32 = 4;
/// Connections in the PostgreSQL pool of one process.
const POSTGRES_MAX_CONNECTIONS: u32 = 10;
/// How every PostgreSQL connection plans prepared statements (see
/// `connect_postgres`).
const PLAN_CACHE_MODE: &str = "force_custom_plan";
/// How long SQLite waits for another connection's write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an operation waits for a free pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// The kinds of document the store keeps, one table each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    Employer,
    Vacancy,
    Worker,
}

impl Entity {
    /// All entities, in a fixed order.
    pub const ALL: [Entity; 3] = [Entity::Employer, Entity::Vacancy, Entity::Worker];

    /// `"employer"`, `"vacancy"` or `"worker"`, as stored in the change feed.
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Employer => "employer",
            Entity::Vacancy => "vacancy",
            Entity::Worker => "worker",
        }
    }

    fn sql(self) -> &'static TableSql {
        match self {
            Entity::Employer => &sql::EMPLOYERS,
            Entity::Vacancy => &sql::VACANCIES,
            Entity::Worker => &sql::WORKERS,
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Entity {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Entity::ALL
            .into_iter()
            .find(|entity| entity.as_str() == s)
            .ok_or(UnknownName)
    }
}

/// Returned when parsing an [`Entity`] or [`ChangeOp`] from an unknown name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown name")]
pub struct UnknownName;

/// Copies of document fields kept in their own columns so that
/// [`Store::list`] can filter on them. The store does not derive them from
/// the body; the caller passes them with every insert and update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    pub employer_id: Option<String>,
    pub sector: Option<String>,
    pub province_code: Option<String>,
    pub status: Option<String>,
}

/// A stored document.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    /// 1 after insert, +1 on every update.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub columns: Columns,
    pub body: serde_json::Value,
}

/// A stored document as [`Store::list_raw`] reads it: the JSON text unparsed.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    pub id: String,
    pub columns: Columns,
    /// The document, as stored (valid JSON).
    pub body: String,
}

/// A document to insert with [`Store::insert`].
#[derive(Debug, Clone, Copy)]
pub struct NewRecord<'a> {
    /// Chosen by the caller (e.g. a UUID); must be unused in this entity's table.
    pub id: &'a str,
    /// Where an imported record came from; with `external_id`, unique per source.
    pub source: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub columns: &'a Columns,
    pub body: &'a serde_json::Value,
}

/// Which records [`Store::list`] returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Each `Some` is an equality filter on that column; `None` does not filter.
    pub columns: Columns,
    /// Keyset cursor: only records with `id > after_id` (ids compare as bytes).
    pub after_id: Option<String>,
    /// At most this many records; 0 returns none.
    pub limit: u32,
}

/// The kind of write a [`Change`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    Create,
    Update,
    Delete,
}

impl ChangeOp {
    /// `"create"`, `"update"` or `"delete"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Create => "create",
            ChangeOp::Update => "update",
            ChangeOp::Delete => "delete",
        }
    }
}

impl fmt::Display for ChangeOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChangeOp {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [ChangeOp::Create, ChangeOp::Update, ChangeOp::Delete]
            .into_iter()
            .find(|op| op.as_str() == s)
            .ok_or(UnknownName)
    }
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Strictly increasing in commit order; may have gaps.
    pub seq: i64,
    pub entity: Entity,
    pub entity_id: String,
    pub op: ChangeOp,
    pub at: DateTime<Utc>,
}

/// An API key. The secret itself is never stored, only `hash`, the SHA-256
/// hex digest computed by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub role: String,
    pub employer_id: Option<String>,
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

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
    /// The erasure journal could not be written; the erasure was not made.
    #[error("could not write the erasure journal")]
    Journal(#[source] std::io::Error),
}

// ---------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------

/// A handle on the database: a connection pool for one backend. Cheap to
/// clone; clones share the pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// SQLite allows one writer at a time. Writers of this process queue here
    /// (fairly, without polling) instead of spinning in SQLite's busy handler;
    /// other processes are still kept out by SQLite's own lock.
    sqlite_writer: Arc<tokio::sync::Mutex<()>>,
    /// Where erasures are journalled before they commit, when configured
    /// ([`Store::with_erasure_journal`]).
    erasure_journal: Option<Arc<ErasureJournal>>,
    /// Backups this process is taking, and whether an erasure's checkpoint
    /// waits for them to end.
    backup_activity: Arc<backup::BackupActivity>,
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .finish_non_exhaustive()
    }
}

/// Runs `$body` once per backend with `$pool` bound to that backend's pool.
/// For statements whose SQL is the same on both backends.
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` (an expression of type `Result<T, StoreError>` that may use
/// `?` and `return`) inside a writing transaction, with `$conn` bound to the
/// transaction's connection. Commits if the body returns `Ok`, rolls back if
/// it returns `Err` or fails. On SQLite the transaction holds the write lock
/// from its start; on PostgreSQL it first takes the change-feed lock (see
/// [`sql::PG_WRITE_LOCK`] for why).
macro_rules! write_tx {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.pool {
            Pool::Sqlite(pool) => {
                let _writer = $store.sqlite_writer.lock().await;
                let mut tx = pool.begin_with(sql::SQLITE_BEGIN_WRITE).await?;
                let result: Result<_, StoreError> = async {
                    let $conn: &mut sqlx::SqliteConnection = &mut *tx;
                    $body
                }
                .await;
                finish(tx, result).await
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let result: Result<_, StoreError> = async {
                    let $conn: &mut sqlx::PgConnection = &mut *tx;
                    sqlx::query(sql::PG_WRITE_LOCK).execute(&mut *$conn).await?;
                    $body
                }
                .await;
                finish(tx, result).await
            }
        }
    };
}

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

// Declared after the macros above, which it uses.
mod privacy;
pub use privacy::{
    AuditAction, AuditEvent, AuditFilter, AuditRecord, ConsentDecision, ErasedCount, GroupCount,
};
// Declared after the macros above, which it uses.
mod batch;
pub use batch::{BatchOutcome, BatchRecord, BatchWrite};

mod backup;
pub use backup::{ErasureJournal, JournalEntry, SCHEMA_VERSION, SnapshotInfo, inspect_sqlite_file};

mod idempotency;
pub use idempotency::{IdempotencyClaim, IdempotencyRequester};

/// Commits on `Ok`, rolls back on `Err`.
async fn finish<DB: Database, T>(
    tx: Transaction<'_, DB>,
    result: Result<T, StoreError>,
) -> Result<T, StoreError> {
    match result {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback_error) = tx.rollback().await {
                // The connection is discarded or reset by the pool; the
                // transaction is not committed either way.
                tracing::warn!(error = %rollback_error, "rollback failed");
            }
            Err(error)
        }
    }
}

/// SQLITE_BUSY and its extended codes (BUSY_RECOVERY, BUSY_SNAPSHOT,
/// BUSY_TIMEOUT), however the error reached us.
fn is_sqlite_busy(error: &StoreError) -> bool {
    let database_error = match error {
        StoreError::Database(error) => error.as_database_error(),
        StoreError::Migration(sqlx::migrate::MigrateError::Execute(error)) => {
            error.as_database_error()
        }
        _ => None,
    };
    database_error
        .and_then(|error| error.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == 5)
}

/// What a write was doing when a constraint failed, to name the failure.
#[derive(Clone, Copy)]
enum WriteKind {
    /// Insert or update: a foreign key failure means the target is missing.
    Upsert,
    /// Delete: a foreign key failure means the row is still referenced.
    Delete,
}

fn constraint_error(error: sqlx::Error, kind: WriteKind) -> StoreError {
    if let Some(db_error) = error.as_database_error() {
        if db_error.is_foreign_key_violation() {
            return match kind {
                WriteKind::Upsert => StoreError::ReferenceMissing,
                WriteKind::Delete => StoreError::StillReferenced,
            };
        }
        if db_error.is_unique_violation() {
            return StoreError::AlreadyExists;
        }
    }
    StoreError::Database(error)
}

impl Store {
    /// Connects, creating the SQLite file if needed, and runs the migrations.
    ///
    /// * `postgres://...` or `postgresql://...`: PostgreSQL (any sqlx
    ///   connection parameter works, e.g. `?options[search_path]=tenant`).
    /// * `sqlite:path`, `sqlite://path`, `sqlite::memory:`, or a plain file
    ///   path: SQLite. An in-memory database lives as long as the store.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let is_sqlite = url.starts_with("sqlite:") || !url.contains("://");
        if !is_sqlite && !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(StoreError::UnsupportedUrl);
        }
        // Several processes opening one new SQLite file at once (a server and
        // `jobmatch keys create`, or replicas) can meet SQLITE_BUSY where SQLite
        // does not wait in its busy handler: while one of them switches the file
        // to write-ahead logging. Such a collision clears within milliseconds.
        let deadline = std::time::Instant::now() + SQLITE_BUSY_TIMEOUT;
        let store = loop {
            match Self::connect_and_migrate(url, is_sqlite).await {
                Err(error)
                    if is_sqlite
                        && is_sqlite_busy(&error)
                        && std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                other => break other?,
            }
        };
        tracing::info!(
            backend = store.backend_name(),
            "store connected and migrated"
        );
        Ok(store)
    }

    async fn connect_and_migrate(url: &str, is_sqlite: bool) -> Result<Store, StoreError> {
        let store = if is_sqlite {
            Self::connect_sqlite(url).await?
        } else {
            Self::connect_postgres(url).await?
        };
        if let Err(error) = store.migrate().await {
            store.close().await;
            return Err(error);
        }
        Ok(store)
    }

    async fn connect_sqlite(url: &str) -> Result<Store, StoreError> {
        let (options, in_memory) = match url.strip_prefix("sqlite:") {
            Some(rest) => {
                let options = SqliteConnectOptions::from_str(url)?;
                let rest = rest.trim_start_matches("//");
                let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
                let in_memory = database == ":memory:" || params.contains("mode=memory");
                (options, in_memory)
            }
            None => (SqliteConnectOptions::new().filename(url), false),
        };
        let options = options
            .create_if_missing(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Full)
            // Deleted rows (an erased worker) are overwritten with zeros in
            // the file instead of lingering in free pages.
            .pragma("secure_delete", "ON");
        let pool = if in_memory {
            // One connection that is never closed: the database disappears
            // with its last connection.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await?
        } else {
            if let Some(parent) = options.get_filename().parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(StoreError::CreateDir)?;
            }
            SqlitePoolOptions::new()
                .max_connections(SQLITE_MAX_CONNECTIONS)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options.journal_mode(SqliteJournalMode::Wal))
                .await?
        };
        Ok(Store {
            pool: Pool::Sqlite(pool),
            sqlite_writer: Arc::new(tokio::sync::Mutex::new(())),
            erasure_journal: None,
            backup_activity: Arc::default(),
        })
    }

    async fn connect_postgres(url: &str) -> Result<Store, StoreError> {
        let mut options = PgConnectOptions::from_str(url)?;
        if options.get_application_name().is_none() {
            options = options.application_name("jobmatch");
        }
        // sqlx prepares every statement once per connection. After five runs
        // PostgreSQL may switch a prepared statement to a generic plan and keep
        // it while its estimated cost is no worse than the custom plans it
        // made, which were made when the tables were small: an import into an
        // empty database then looks up each batch's external ids by reading
        // every index entry of its source (`Index Cond: source = $1`, `Filter:
        // external_id = ANY (...)`), and slows as the table grows (1,100 rows/s
        // at 30,000 profiles; 8,600 rows/s with this setting, measured side by
        // side). Planning with the values at hand costs well under a
        // millisecond for these statements, which each touch up to a hundred
        // rows.
        options = options.options([("plan_cache_mode", PLAN_CACHE_MODE)]);
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        Ok(Store {
            pool: Pool::Postgres(pool),
            sqlite_writer: Arc::new(tokio::sync::Mutex::new(())),
            erasure_journal: None,
            backup_activity: Arc::default(),
        })
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                // sqlx does not lock SQLite for migrations; one IMMEDIATE
                // transaction around the whole run does (each migration then
                // runs in a savepoint).
                let mut conn = pool.acquire().await?;
                let mut tx = conn.begin_with(sql::SQLITE_BEGIN_WRITE).await?;
                migrations::run(&mut *tx, migrations::SQLITE).await?;
                tx.commit().await?;
            }
            Pool::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                migrations::run(&mut *conn, migrations::POSTGRES).await?;
            }
        }
        Ok(())
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(sql::PING).execute(pool).await?;
        });
        Ok(())
    }

    /// Closes the pool, waiting for connections in use to be returned. Other
    /// clones of this store are closed too.
    pub async fn close(&self) {
        with_pool!(self, |pool| pool.close().await)
    }

    // -----------------------------------------------------------------------
    // Documents
    // -----------------------------------------------------------------------

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
        with_pool!(self, |pool| {
            let mut query = sqlx::query(AssertSqlSafe(statement));
            for value in binds {
                query = query.bind(value);
            }
            query
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(record_from_row)
                .collect()
        })
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
        let ids_parameter = binds.len() + 1;
        let limit_parameter = binds.len() + 2;
        let limit = i64::from(filter.limit);
        match &self.pool {
            Pool::Sqlite(pool) => {
                statement.push_str(sql::SQLITE_FILTER_ID_IN_JSON.0);
                statement.push_str(&ids_parameter.to_string());
                statement.push_str(sql::SQLITE_FILTER_ID_IN_JSON.1);
                statement.push_str(sql::ORDER_BY_ID_LIMIT);
                statement.push_str(&limit_parameter.to_string());
                let ids_json = serde_json::to_string(ids).map_err(StoreError::Json)?;
                let mut query = sqlx::query(AssertSqlSafe(statement));
                for value in binds {
                    query = query.bind(value);
                }
                query
                    .bind(ids_json)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(record_from_row)
                    .collect()
            }
            Pool::Postgres(pool) => {
                statement.push_str(sql::PG_FILTER_ID_IN_ARRAY.0);
                statement.push_str(&ids_parameter.to_string());
                statement.push_str(sql::PG_FILTER_ID_IN_ARRAY.1);
                statement.push_str(sql::ORDER_BY_ID_LIMIT);
                statement.push_str(&limit_parameter.to_string());
                let mut query = sqlx::query(AssertSqlSafe(statement));
                for value in binds {
                    query = query.bind(value);
                }
                query
                    .bind(ids)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(record_from_row)
                    .collect()
            }
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
            rows.iter()
                .map(|row| {
                    Ok(RawRecord {
                        id: row.try_get("id")?,
                        columns: Columns {
                            employer_id: row.try_get("employer_id")?,
                            sector: row.try_get("sector")?,
                            province_code: row.try_get("province_code")?,
                            status: row.try_get("status")?,
                        },
                        body: row.try_get("body")?,
                    })
                })
                .collect()
        })
    }

    /// Number of records of this entity.
    pub async fn count(&self, entity: Entity) -> Result<i64, StoreError> {
        let table = entity.sql();
        with_pool!(self, |pool| Ok(sqlx::query_scalar(table.count)
            .fetch_one(pool)
            .await?))
    }

    // -----------------------------------------------------------------------
    // Change feed
    // -----------------------------------------------------------------------

    /// Changes with `seq > after_seq`, oldest first, at most `limit`.
    /// Start with `after_seq = 0`.
    pub async fn changes_since(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::from(limit);
        with_pool!(self, |pool| {
            sqlx::query(sql::CHANGES_SINCE)
                .bind(after_seq)
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(change_from_row)
                .collect()
        })
    }

    /// The highest `seq` in the change feed; 0 when it is empty.
    pub async fn latest_change_seq(&self) -> Result<i64, StoreError> {
        with_pool!(self, |pool| Ok(sqlx::query_scalar(sql::LATEST_CHANGE_SEQ)
            .fetch_one(pool)
            .await?))
    }

    // -----------------------------------------------------------------------
    // API keys
    // -----------------------------------------------------------------------

    /// Stores a new API key. [`StoreError::AlreadyExists`] if the id or the
    /// hash is already stored.
    pub async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let created_at = format_time(key.created_at)?;
        let expires_at = key.expires_at.map(format_time).transpose()?;
        let revoked_at = key.revoked_at.map(format_time).transpose()?;
        with_pool!(self, |pool| {
            sqlx::query(sql::INSERT_API_KEY)
                .bind(key.id.as_str())
                .bind(key.name.as_str())
                .bind(key.role.as_str())
                .bind(key.employer_id.as_deref())
                .bind(key.hash.as_str())
                .bind(created_at.as_str())
                .bind(expires_at.as_deref())
                .bind(revoked_at.as_deref())
                .execute(pool)
                .await
                .map_err(|e| constraint_error(e, WriteKind::Upsert))?;
        });
        Ok(())
    }

    /// The key with this hash, revoked or expired or not: the caller decides.
    pub async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(sql::API_KEY_BY_HASH)
                .bind(hash)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(api_key_from_row)
                .transpose()
        })
    }

    /// All keys, oldest first.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(sql::LIST_API_KEYS)
                .fetch_all(pool)
                .await?
                .iter()
                .map(api_key_from_row)
                .collect()
        })
    }

    /// Sets `revoked_at` to now (an already revoked key keeps its first
    /// revocation time). `Ok(false)` if there is no key with this id.
    pub async fn revoke_api_key(&self, id: &str) -> Result<bool, StoreError> {
        let now_text = format_time(now())?;
        let updated = with_pool!(self, |pool| sqlx::query(sql::REVOKE_API_KEY)
            .bind(id)
            .bind(now_text.as_str())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(updated > 0)
    }
}

// ---------------------------------------------------------------------------
// Rows and timestamps
// ---------------------------------------------------------------------------

/// The current time, truncated to what the store keeps (microseconds).
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Fixed-width RFC 3339 UTC text with microseconds, e.g.
/// `2024-05-01T08:30:00.123456Z`. Fails outside the years 0000–9999, where the
/// width (and so the text order) would break.
fn format_time(time: DateTime<Utc>) -> Result<String, StoreError> {
    use chrono::Datelike;
    if !(0..=9999).contains(&time.year()) {
        return Err(StoreError::TimestampOutOfRange);
    }
    Ok(time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt("timestamp is not RFC 3339"))
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

fn record_from_row<R>(row: &R) -> Result<Record, StoreError>
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
        columns: Columns {
            employer_id: row.try_get("employer_id")?,
            sector: row.try_get("sector")?,
            province_code: row.try_get("province_code")?,
            status: row.try_get("status")?,
        },
        body: serde_json::from_str(&body).map_err(StoreError::Json)?,
    })
}

fn change_from_row<R>(row: &R) -> Result<Change, StoreError>
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

fn api_key_from_row<R>(row: &R) -> Result<ApiKey, StoreError>
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

    #[test]
    fn entity_and_op_names_round_trip() {
        for entity in Entity::ALL {
            assert_eq!(entity.as_str().parse::<Entity>(), Ok(entity));
        }
        for op in [ChangeOp::Create, ChangeOp::Update, ChangeOp::Delete] {
            assert_eq!(op.as_str().parse::<ChangeOp>(), Ok(op));
        }
        assert!("employers".parse::<Entity>().is_err());
    }

    /// Compile-time check: every operation's future is `Send`, so callers can
    /// `tokio::spawn` them (sqlx's generic `Acquire` APIs can silently break
    /// this; see `migrations`).
    #[allow(dead_code)]
    fn futures_are_send(
        store: Store,
        columns: Columns,
        body: serde_json::Value,
        filter: ListFilter,
        key: ApiKey,
    ) {
        fn is_send<T: Send>(_: T) {}
        is_send(Store::connect("sqlite::memory:"));
        is_send(store.ping());
        is_send(store.close());
        is_send(store.insert(
            Entity::Worker,
            NewRecord {
                id: "w",
                source: None,
                external_id: None,
                columns: &columns,
                body: &body,
            },
        ));
        is_send(store.get(Entity::Worker, "w"));
        is_send(store.get_by_external_id(Entity::Worker, "s", "e"));
        is_send(store.update(Entity::Worker, "w", Some(1), &columns, &body));
        is_send(store.delete(Entity::Worker, "w"));
        is_send(store.list(Entity::Worker, &filter));
        is_send(store.count(Entity::Worker));
        is_send(store.changes_since(0, 10));
        is_send(store.latest_change_seq());
        is_send(store.insert_api_key(&key));
        is_send(store.api_key_by_hash("h"));
        is_send(store.list_api_keys());
        is_send(store.revoke_api_key("k"));
    }

    #[tokio::test]
    async fn sqlite_connections_are_durable_and_strict() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("pragmas.db");
        let store = Store::connect(path.to_str().expect("UTF-8 path"))
            .await
            .expect("connect");
        let Pool::Sqlite(pool) = &store.pool else {
            panic!("expected SQLite");
        };
        let mut conn = pool.acquire().await.expect("connection");
        let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .expect("journal_mode");
        assert_eq!(journal_mode, "wal");
        for (pragma, expected) in [
            ("PRAGMA synchronous", 2), // FULL
            ("PRAGMA foreign_keys", 1),
            ("PRAGMA busy_timeout", 5000),
            ("PRAGMA secure_delete", 1),
        ] {
            let value: i64 = sqlx::query_scalar(pragma)
                .fetch_one(&mut *conn)
                .await
                .expect(pragma);
            assert_eq!(value, expected, "{pragma}");
        }
        drop(conn);
        store.close().await;
    }

    #[test]
    fn errors_show_no_sql() {
        let error = StoreError::Database(sqlx::Error::RowNotFound);
        assert_eq!(error.to_string(), "database error");
    }
}
