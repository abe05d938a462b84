//! Schema migrations, embedded in the binary, one list per backend.
//!
//! The SQL files live in `migrations/sqlite/` and `migrations/postgres/`
//! (`NNNN_name.sql`) and are registered below; a unit test checks that the
//! lists and the directories agree. They are applied through sqlx's public
//! [`Migrate`] trait and recorded in sqlx's usual `_sqlx_migrations` table
//! with a checksum (so `sqlx migrate info` understands the database): never
//! edit a migration that has been applied anywhere, add a new one.
//!
//! The loop below is the same as `Migrator::run`; it exists because
//! `Migrator::run` is generic over `Acquire<'a>`, which makes the future of
//! [`crate::Store::connect`] fail the `Send` check ("implementation of
//! `Acquire` is not general enough") when it is given a transaction.
//!
//! Concurrency:
//! * PostgreSQL: [`Migrate::lock`] takes a session advisory lock (keyed on
//!   the database name) for the whole run, so several processes starting at
//!   once apply each migration exactly once; each migration runs in its own
//!   transaction together with its bookkeeping row.
//! * SQLite: [`Migrate::lock`] is a no-op there, so the store runs the whole
//!   migration inside one `BEGIN IMMEDIATE` transaction (see
//!   `Store::migrate`), which holds the database write lock from the first
//!   look at `_sqlx_migrations` to the commit; each migration then runs in a
//!   savepoint.

use std::borrow::Cow;
use std::collections::HashMap;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migrate, MigrateError, Migration, MigrationType};

/// sqlx's default bookkeeping table.
const TABLE: &str = "_sqlx_migrations";

/// `(version, description, file name, SQL)`.
type Embedded = (i64, &'static str, &'static str, &'static str);

pub(crate) const SQLITE: &[Embedded] = &[
    (
        1,
        "initial",
        "0001_initial.sql",
        include_str!("../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "privacy",
        "0002_privacy.sql",
        include_str!("../migrations/sqlite/0002_privacy.sql"),
    ),
    (
        3,
        "partial_worker_indexes",
        "0003_partial_worker_indexes.sql",
        include_str!("../migrations/sqlite/0003_partial_worker_indexes.sql"),
    ),
    (
        4,
        "idempotency_expiry",
        "0004_idempotency_expiry.sql",
        include_str!("../migrations/sqlite/0004_idempotency_expiry.sql"),
    ),
    (
        5,
        "erasure_tombstones",
        "0005_erasure_tombstones.sql",
        include_str!("../migrations/sqlite/0005_erasure_tombstones.sql"),
    ),
    (
        6,
        "idempotency_worker_index",
        "0006_idempotency_worker_index.sql",
        include_str!("../migrations/sqlite/0006_idempotency_worker_index.sql"),
    ),
    (
        7,
        "key_source",
        "0007_key_source.sql",
        include_str!("../migrations/sqlite/0007_key_source.sql"),
    ),
];

pub(crate) const POSTGRES: &[Embedded] = &[
    (
        1,
        "initial",
        "0001_initial.sql",
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "privacy",
        "0002_privacy.sql",
        include_str!("../migrations/postgres/0002_privacy.sql"),
    ),
    (
        3,
        "partial_worker_indexes",
        "0003_partial_worker_indexes.sql",
        include_str!("../migrations/postgres/0003_partial_worker_indexes.sql"),
    ),
    (
        4,
        "idempotency_expiry",
        "0004_idempotency_expiry.sql",
        include_str!("../migrations/postgres/0004_idempotency_expiry.sql"),
    ),
    (
        5,
        "erasure_tombstones",
        "0005_erasure_tombstones.sql",
        include_str!("../migrations/postgres/0005_erasure_tombstones.sql"),
    ),
    (
        6,
        "idempotency_worker_index",
        "0006_idempotency_worker_index.sql",
        include_str!("../migrations/postgres/0006_idempotency_worker_index.sql"),
    ),
    (
        7,
        "key_source",
        "0007_key_source.sql",
        include_str!("../migrations/postgres/0007_key_source.sql"),
    ),
];

fn migrations(embedded: &'static [Embedded]) -> Vec<Migration> {
    embedded
        .iter()
        .map(|&(version, description, _file, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect()
}

/// Applies the pending migrations of `embedded` on `conn`, after checking
/// that the applied ones are known and unchanged.
pub(crate) async fn run<C: Migrate>(
    conn: &mut C,
    embedded: &'static [Embedded],
) -> Result<(), MigrateError> {
    conn.lock().await?;
    let result = run_locked(conn, embedded).await;
    let unlocked = conn.unlock().await;
    result?;
    unlocked
}

async fn run_locked<C: Migrate>(
    conn: &mut C,
    embedded: &'static [Embedded],
) -> Result<(), MigrateError> {
    let migrations = migrations(embedded);
    conn.ensure_migrations_table(TABLE).await?;
    if let Some(version) = conn.dirty_version(TABLE).await? {
        return Err(MigrateError::Dirty(version));
    }
    let applied: HashMap<i64, _> = conn
        .list_applied_migrations(TABLE)
        .await?
        .into_iter()
        .map(|applied| (applied.version, applied))
        .collect();
    if let Some(&unknown) = applied
        .keys()
        .find(|&&version| !migrations.iter().any(|m| m.version == version))
    {
        // The database is newer than this binary.
        return Err(MigrateError::VersionMissing(unknown));
    }
    for migration in &migrations {
        match applied.get(&migration.version) {
            Some(done) if done.checksum != migration.checksum => {
                return Err(MigrateError::VersionMismatch(migration.version));
            }
            Some(_) => {}
            None => {
                let took = conn.apply(TABLE, migration).await?;
                tracing::info!(
                    version = migration.version,
                    description = %migration.description,
                    ?took,
                    "applied migration"
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(dir: &str, embedded: &[Embedded]) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir);
        let mut files: Vec<String> = std::fs::read_dir(&path)
            .expect("migrations directory is readable")
            .map(|entry| {
                entry
                    .expect("directory entry is readable")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let registered: Vec<String> = embedded.iter().map(|m| m.2.to_owned()).collect();
        assert_eq!(
            files, registered,
            "every file in migrations/{dir} must be registered"
        );
        for (index, &(version, description, file, _)) in embedded.iter().enumerate() {
            assert_eq!(version, index as i64 + 1, "versions are 1, 2, 3, ...");
            assert_eq!(file, format!("{version:04}_{description}.sql"));
        }
    }

    #[test]
    fn every_migration_file_is_registered_in_order() {
        check("sqlite", SQLITE);
        check("postgres", POSTGRES);
    }

    #[test]
    fn both_backends_have_the_same_migration_versions() {
        let versions = |list: &[Embedded]| list.iter().map(|m| (m.0, m.1)).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE), versions(POSTGRES));
    }
}
