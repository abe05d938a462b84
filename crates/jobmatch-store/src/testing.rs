//! Scratch PostgreSQL schemas for tests that need a real PostgreSQL server, in
//! this crate and in the crates above it (which must not speak SQL themselves).

use std::io::Write;

use sqlx::{AssertSqlSafe, Connection, Executor};

/// The variable naming the PostgreSQL server tests may use, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`.
pub const POSTGRES_URL_VAR: &str = "JOBMATCH_TEST_POSTGRES_URL";

/// A fresh, empty schema in the test database; its URL points `search_path` at it.
pub struct ScratchPostgres {
    admin_url: String,
    schema: String,
    url: String,
}

/// Tells the person running the tests that a PostgreSQL case did not run. Written
/// straight to stderr, past the test harness's output capture, so it is seen.
/// Said once per test binary and kind of test, not once per case.
pub fn report_skipped(what: &str) {
    static REPORTED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut reported = REPORTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if reported.iter().any(|done| done == what) {
        return;
    }
    reported.push(what.to_string());
    let _ = writeln!(
        std::io::stderr(),
        "PostgreSQL {what} skipped: {POSTGRES_URL_VAR} is not set"
    );
}

impl ScratchPostgres {
    /// `None` when `JOBMATCH_TEST_POSTGRES_URL` is unset; panics when it is set but
    /// the server cannot be reached, since a test run that asked for PostgreSQL
    /// must not pass without it.
    pub async fn from_env() -> Option<ScratchPostgres> {
        let admin_url = std::env::var(POSTGRES_URL_VAR)
            .ok()
            .filter(|url| !url.trim().is_empty())?;
        let scratch = ScratchPostgres::create(&admin_url)
            .await
            .unwrap_or_else(|error| {
                panic!("{POSTGRES_URL_VAR} is set but PostgreSQL is unreachable: {error}")
            });
        Some(scratch)
    }

    /// A fresh, empty schema in the database `admin_url` names (benches use
    /// this to run on PostgreSQL: `JOBMATCH_BENCH_DATABASE_URL`).
    pub async fn create(admin_url: &str) -> Result<ScratchPostgres, sqlx::Error> {
        let schema = format!("jobmatch_test_{}", uuid::Uuid::new_v4().simple());
        let mut connection = sqlx::PgConnection::connect(admin_url).await?;
        connection
            .execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .await?;
        let _ = connection.close().await;
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options[search_path]={schema}");
        Ok(ScratchPostgres {
            admin_url: admin_url.to_string(),
            schema,
            url,
        })
    }

    /// A database URL whose connections work inside the scratch schema.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn drop_schema(&self) {
        match sqlx::PgConnection::connect(&self.admin_url).await {
            Ok(mut connection) => {
                if let Err(error) = connection
                    .execute(AssertSqlSafe(format!(
                        "DROP SCHEMA {} CASCADE",
                        self.schema
                    )))
                    .await
                {
                    let _ = writeln!(
                        std::io::stderr(),
                        "could not drop scratch schema {}: {error}",
                        self.schema
                    );
                }
                let _ = connection.close().await;
            }
            Err(error) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "could not drop scratch schema {}: {error}",
                    self.schema
                );
            }
        }
    }
}

/// A read transaction held open on a SQLite database: a checkpoint that must
/// wait for every reader (the one after an erasure) waits for it, up to the
/// busy timeout, after the erasure has committed. Tests use it to reach a
/// request between its commit and its answer.
pub struct HeldSqliteSnapshot {
    connection: sqlx::SqliteConnection,
}

impl HeldSqliteSnapshot {
    /// Opens a connection to the SQLite database at `url` and starts reading.
    pub async fn hold(url: &str) -> HeldSqliteSnapshot {
        let mut connection = sqlx::SqliteConnection::connect(url)
            .await
            .expect("a connection to the SQLite database");
        connection.execute("BEGIN").await.expect("begin");
        // A transaction reads (and holds its snapshot) from its first read on.
        connection
            .execute("SELECT count(*) FROM workers")
            .await
            .expect("a read");
        HeldSqliteSnapshot { connection }
    }

    /// Ends the read transaction and closes the connection.
    pub async fn release(mut self) {
        let _ = self.connection.execute("ROLLBACK").await;
        let _ = self.connection.close().await;
    }
}

/// Runs `statement` on the SQLite database at `url`, outside the store: how a
/// test injects a fault (a trigger that refuses a write) or ages a row.
pub async fn execute_on_sqlite(url: &str, statement: &str) {
    let mut connection = sqlx::SqliteConnection::connect(url)
        .await
        .expect("a connection to the SQLite database");
    connection
        .execute(AssertSqlSafe(statement.to_string()))
        .await
        .expect("the statement runs");
    let _ = connection.close().await;
}
