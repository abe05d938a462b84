//! Consistent copies of an SQLite database, and the erasure journal.
//!
//! [`Store::snapshot_sqlite`] copies the live database with `VACUUM INTO` on a
//! connection of its own: a read transaction in write-ahead-log mode, so it
//! sees one committed state and never blocks writers. What the copy holds is
//! read back from the copy itself ([`SnapshotInfo`]), so the numbers describe
//! exactly the file that was written.
//!
//! The erasure journal ([`ErasureJournal`]) is a file, normally beside the
//! backups, to which every erasure appends the worker's id and the time before
//! it commits. `jobmatch restore` replays it, so that a person erased after a
//! backup was taken is erased again in the restored database. It holds no
//! personal data: record ids are random (UUID v7: random bits and the time the
//! record was created) and say nothing about the person.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::{Pool, Store, StoreError};

/// The schema version this build writes: the number of its migrations. A
/// database (or backup) whose schema is newer was written by a newer build.
pub const SCHEMA_VERSION: i64 = crate::migrations::SQLITE.len() as i64;

/// The tables whose rows a snapshot counts (documents and what surrounds them).
const COUNTED_TABLES: [&str; 8] = [
    "employers",
    "vacancies",
    "workers",
    "api_keys",
    "audit_log",
    "change_feed",
    "erasure_tombstones",
    "idempotency_keys",
];

/// What an SQLite database file holds, read from the file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The highest migration applied (see [`SCHEMA_VERSION`]).
    pub schema_version: i64,
    /// The last change-feed `seq` in the file; 0 when the feed is empty.
    pub change_feed_seq: i64,
    /// Rows per table, for the tables in `COUNTED_TABLES`.
    pub rows: BTreeMap<String, i64>,
}

/// Backups this process is taking. A checkpoint after an erasure waits for
/// every reader (up to the busy timeout, 5 s) and holds writers back
/// meanwhile; a backup is a reader for its whole length. So while one runs, an
/// erasure's checkpoint is owed instead, and made when the last backup ends.
#[derive(Debug, Default)]
pub(crate) struct BackupActivity {
    running: AtomicUsize,
    checkpoint_owed: AtomicBool,
}

impl Store {
    /// Moves the pages an erasure freed out of the write-ahead log (SQLite;
    /// `secure_delete` has zeroed them in the database file), or, while this
    /// process takes a backup, notes that this is owed when it ends.
    pub(crate) async fn checkpoint_after_erasure(&self) {
        let activity = &self.backup_activity;
        if activity.running.load(Ordering::SeqCst) > 0 {
            activity.checkpoint_owed.store(true, Ordering::SeqCst);
            // The last backup may have ended in between and missed the note.
            if activity.running.load(Ordering::SeqCst) > 0
                || !activity.checkpoint_owed.swap(false, Ordering::SeqCst)
            {
                return;
            }
        }
        if let Pool::Sqlite(pool) = &self.pool {
            // Best effort: a reader holding an old snapshot can keep frames in
            // the log until it finishes; the next checkpoint then clears them.
            if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await
            {
                tracing::warn!(%error, "checkpoint after erasure failed");
            }
        }
    }

    fn begin_backup(&self) {
        self.backup_activity.running.fetch_add(1, Ordering::SeqCst);
    }

    async fn end_backup(&self) {
        let activity = &self.backup_activity;
        if activity.running.fetch_sub(1, Ordering::SeqCst) == 1
            && activity.checkpoint_owed.swap(false, Ordering::SeqCst)
        {
            self.checkpoint_after_erasure().await;
        }
    }

    /// The SQLite database file, or `None` on PostgreSQL and for an in-memory
    /// database.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let path = pool.connect_options().get_filename().to_path_buf();
                let name = path.to_string_lossy();
                (!name.is_empty() && name != ":memory:").then_some(path)
            }
            Pool::Postgres(_) => None,
        }
    }

    /// Writes a consistent copy of the SQLite database to `destination`
    /// (which must not exist) and describes it. The copy is taken with
    /// `VACUUM INTO` on a connection outside the pool, so requests keep every
    /// pooled connection, and writers go on while it runs.
    ///
    /// [`StoreError::UnsupportedUrl`] on PostgreSQL: its own tools
    /// (`pg_dump`) own its backups.
    pub async fn snapshot_sqlite(&self, destination: &Path) -> Result<SnapshotInfo, StoreError> {
        let Pool::Sqlite(pool) = &self.pool else {
            return Err(StoreError::UnsupportedUrl);
        };
        let options = (*pool.connect_options()).clone();
        self.begin_backup();
        let copied = async {
            let mut connection = options.connect().await?;
            let destination_text = destination.to_string_lossy().into_owned();
            let result = sqlx::query("VACUUM INTO $1")
                .bind(destination_text)
                .execute(&mut connection)
                .await;
            connection.close().await?;
            result.map(|_| ())
        }
        .await;
        self.end_backup().await;
        copied?;
        inspect_sqlite_file(destination).await
    }

    /// Appends every erasure ([`Store::erase_worker`]) to `journal` before it
    /// commits. Clones made after this call share the journal.
    pub fn with_erasure_journal(mut self, journal: ErasureJournal) -> Store {
        self.erasure_journal = Some(Arc::new(journal));
        self
    }
}

/// Reads what an SQLite database file holds, without changing it (opened
/// read-only and immutable).
pub async fn inspect_sqlite_file(path: &Path) -> Result<SnapshotInfo, StoreError> {
    let mut connection = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true)
        .connect()
        .await?;
    let result = async {
        let check: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&mut connection)
            .await?;
        if check != "ok" {
            return Err(StoreError::Corrupt("the database file fails its check"));
        }
        let schema_version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&mut connection)
                .await?;
        let change_feed_seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM change_feed")
            .fetch_one(&mut connection)
            .await?;
        let mut rows = BTreeMap::new();
        for table in COUNTED_TABLES {
            // The table names are the constants above, never input.
            let count: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(&mut connection)
                    .await?;
            rows.insert(table.to_string(), count);
        }
        Ok(SnapshotInfo {
            schema_version: schema_version.unwrap_or(0),
            change_feed_seq: change_feed_seq.unwrap_or(0),
            rows,
        })
    }
    .await;
    connection.close().await?;
    result
}

/// One line of the erasure journal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JournalEntry {
    pub worker_id: String,
    /// RFC 3339 UTC, when the erasure was made.
    pub erased_at: String,
}

/// An append-only file of erasures: one JSON object per line, each written and
/// flushed to the disk (`fsync`) before the erasure it records commits, so no
/// acknowledged erasure is missing from it. An erasure that then fails to
/// commit leaves a line too; replaying it erases a person whose erasure was
/// asked for, which is what they asked.
#[derive(Debug)]
pub struct ErasureJournal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl ErasureJournal {
    /// Opens `path` for appending, creating it (and its directory) if missing.
    pub fn open(path: &Path) -> std::io::Result<ErasureJournal> {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(ErasureJournal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry and waits until it is on the disk.
    pub(crate) fn append(&self, entry: &JournalEntry) -> std::io::Result<()> {
        let mut line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
        line.push('\n');
        let mut file = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("erasure journal lock poisoned"))?;
        file.write_all(line.as_bytes())?;
        file.sync_data()
    }

    /// Reads every entry of the journal at `path`; an empty list when the file
    /// does not exist. A last line cut short (a crash while appending) is
    /// skipped: its erasure never committed. Any other unreadable line is an
    /// error.
    pub fn read(path: &Path) -> std::io::Result<Vec<JournalEntry>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        let complete = text.ends_with('\n');
        let lines: Vec<&str> = text.lines().collect();
        let mut entries = Vec::with_capacity(lines.len());
        for (index, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<JournalEntry>(line) {
                Ok(entry) => entries.push(entry),
                Err(_) if index + 1 == lines.len() && !complete => {}
                Err(error) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("line {} of the erasure journal: {error}", index + 1),
                    ));
                }
            }
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuditAction, AuditEvent, Columns, Entity, NewRecord};

    fn wal_bytes(database: &Path) -> u64 {
        let mut name = database.as_os_str().to_os_string();
        name.push("-wal");
        std::fs::metadata(PathBuf::from(name)).map_or(0, |meta| meta.len())
    }

    async fn erase_one(store: &Store, id: &str) {
        store
            .insert(
                Entity::Worker,
                NewRecord {
                    id,
                    source: None,
                    external_id: None,
                    columns: &Columns::default(),
                    body: &serde_json::json!({"full_name": "Checkpoint Test"}),
                },
            )
            .await
            .expect("insert");
        let erased = store
            .erase_worker(&AuditEvent {
                key_id: "test",
                role: "admin",
                action: AuditAction::ProfileErased,
                worker_id: id,
                vacancy_id: None,
                request_id: None,
            })
            .await
            .expect("erase");
        assert!(erased);
    }

    /// An erasure during a backup does not wait for the backup's read (and hold
    /// writers back meanwhile): its checkpoint is made when the backup ends.
    #[tokio::test]
    async fn an_erasure_during_a_backup_checkpoints_when_the_backup_ends() {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = dir.path().join("jobmatch.db");
        let store = Store::connect(&database.to_string_lossy())
            .await
            .expect("connect");
        erase_one(&store, "before").await;
        assert_eq!(
            wal_bytes(&database),
            0,
            "checkpointed at once without a backup"
        );

        store.begin_backup();
        erase_one(&store, "during").await;
        assert!(
            wal_bytes(&database) > 0,
            "no checkpoint while the backup runs"
        );
        store.end_backup().await;
        assert_eq!(
            wal_bytes(&database),
            0,
            "checkpointed when the backup ended"
        );
        store.close().await;
    }

    #[test]
    fn a_journal_line_cut_short_at_the_end_is_skipped_and_others_are_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("journal");
        let journal = ErasureJournal::open(&path).expect("open");
        let entry = JournalEntry {
            worker_id: "w1".to_string(),
            erased_at: "2026-01-01T00:00:00.000000Z".to_string(),
        };
        journal.append(&entry).expect("append");
        let mut text = std::fs::read_to_string(&path).expect("read");
        text.push_str("{\"worker_id\":\"w2\",\"era");
        std::fs::write(&path, &text).expect("write");
        assert_eq!(ErasureJournal::read(&path).expect("read"), vec![entry]);
        text.push('\n');
        std::fs::write(&path, &text).expect("write");
        assert!(ErasureJournal::read(&path).is_err());
        assert!(
            ErasureJournal::read(&dir.path().join("missing"))
                .expect("read")
                .is_empty()
        );
    }
}
