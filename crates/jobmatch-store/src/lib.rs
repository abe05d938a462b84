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

// First, with their macros (`with_pool!`, `write_tx!`, `update_in_tx!`), which
// the modules declared after them use.
#[macro_use]
mod backend;
#[macro_use]
mod documents;
mod error;
mod feed;
mod keys;
mod migrations;
mod rows;
mod sql;
pub mod testing;
mod types;

pub use backend::Store;
pub use error::StoreError;
pub use types::{
    ApiKey, Change, ChangeOp, Columns, Entity, ListFilter, NewRecord, RawRecord, Record,
    UnknownName,
};

// What the modules share, reached through the crate root.
use backend::{Pool, WriteKind, constraint_error, finish};
use rows::{format_time, now, parse_time, record_from_row};

mod privacy;
pub use privacy::{
    AuditAction, AuditEvent, AuditFilter, AuditRecord, ConsentDecision, ErasedCount, GroupCount,
};

mod batch;
pub use batch::{BatchOutcome, BatchRecord, BatchWrite};

mod backup;
pub use backup::{ErasureJournal, JournalEntry, SCHEMA_VERSION, SnapshotInfo, inspect_sqlite_file};

mod idempotency;
pub use idempotency::{
    ClaimedKey, IdempotencyClaim, IdempotencyRequester, WrittenRecord, claimed_while,
};

#[cfg(test)]
mod tests {
    use super::*;

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
}
