//! The two backends behind one [`Store`]: the connection pools (one enum,
//! [`Pool`]), connecting and migrating, and what every operation shares: the
//! macros that run a statement on either pool ([`with_pool!`]) or a body in a
//! writing transaction ([`write_tx!`]), committing or rolling back, and the
//! mapping of constraint failures to [`StoreError`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Database, Transaction};

use crate::{ErasureJournal, StoreError, backup, migrations, sql};

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
/// [`sql::PG_WRITE_LOCK`] for why). When the task runs a request under an
/// `Idempotency-Key` claim ([`crate::idempotency::claimed_while`]) and the body
/// changed records, the claim is marked written in the same transaction.
macro_rules! write_tx {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.pool {
            Pool::Sqlite(pool) => {
                let _writer = $store.sqlite_writer.lock().await;
                let mut tx = pool.begin_with(sql::SQLITE_BEGIN_WRITE).await?;
                let claim = $crate::idempotency::claim_in_scope();
                let feed_before = $crate::idempotency::feed_position_for!(claim, &mut *tx);
                let result: Result<_, StoreError> = async {
                    let $conn: &mut sqlx::SqliteConnection = &mut *tx;
                    $body
                }
                .await;
                let result =
                    $crate::idempotency::note_written!(result, claim, feed_before, &mut *tx);
                finish(tx, result).await
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(sql::PG_WRITE_LOCK).execute(&mut *tx).await?;
                let claim = $crate::idempotency::claim_in_scope();
                let feed_before = $crate::idempotency::feed_position_for!(claim, &mut *tx);
                let result: Result<_, StoreError> = async {
                    let $conn: &mut sqlx::PgConnection = &mut *tx;
                    $body
                }
                .await;
                let result =
                    $crate::idempotency::note_written!(result, claim, feed_before, &mut *tx);
                finish(tx, result).await
            }
        }
    };
}

/// A handle on the database: a connection pool for one backend. Cheap to
/// clone; clones share the pool.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    /// SQLite allows one writer at a time. Writers of this process queue here
    /// (fairly, without polling) instead of spinning in SQLite's busy handler;
    /// other processes are still kept out by SQLite's own lock.
    pub(crate) sqlite_writer: Arc<tokio::sync::Mutex<()>>,
    /// Where erasures are journalled before they commit, when configured
    /// ([`Store::with_erasure_journal`]).
    pub(crate) erasure_journal: Option<Arc<ErasureJournal>>,
    /// Backups this process is taking, and whether an erasure's checkpoint
    /// waits for them to end.
    pub(crate) backup_activity: Arc<backup::BackupActivity>,
}

#[derive(Clone)]
pub(crate) enum Pool {
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

/// Commits on `Ok`, rolls back on `Err`.
pub(crate) async fn finish<DB: Database, T>(
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
pub(crate) fn is_sqlite_busy(error: &StoreError) -> bool {
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
pub(crate) enum WriteKind {
    /// Insert or update: a foreign key failure means the target is missing.
    Upsert,
    /// Delete: a foreign key failure means the row is still referenced.
    Delete,
}

pub(crate) fn constraint_error(error: sqlx::Error, kind: WriteKind) -> StoreError {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
