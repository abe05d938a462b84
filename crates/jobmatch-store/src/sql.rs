//! Every SQL statement the store runs.
//!
//! The statements are written once for both backends: PostgreSQL numbers its
//! bind parameters `$1, $2, ...`, and the SQLite driver of sqlx accepts the same
//! `$N` form (it binds `$N` to the N-th argument), so no statement here needs a
//! per-backend copy. The two backend-specific statements (how a writing
//! transaction starts) are at the end and named after their backend.
//!
//! Table names cannot be bind parameters, so the per-table statements are
//! expanded at compile time with `concat!` for each of the three tables; they
//! are all `&'static str`, as sqlx requires for SQL that is not audited by hand.

/// Columns of a document table, in the order [`crate::rows::record_from_row`] reads
/// them (by name) and the insert binds them.
macro_rules! record_columns {
    () => {
        "id, version, created_at, updated_at, source, external_id, \
         employer_id, sector, province_code, status, body"
    };
}

/// Statements for one document table (`employers`, `vacancies`, `workers`).
pub(crate) struct TableSql {
    /// The table's name.
    pub table: &'static str,
    /// `$1` id, `$2` created_at = updated_at, `$3` source, `$4` external_id,
    /// `$5` employer_id, `$6` sector, `$7` province_code, `$8` status, `$9` body.
    pub insert: &'static str,
    /// `$1` id.
    pub select_by_id: &'static str,
    /// `$1` source, `$2` external_id.
    pub select_by_external_id: &'static str,
    /// `$1` source, `$2` external_id; returns the id.
    pub id_by_external_id: &'static str,
    /// `$1` id; returns the version.
    pub version_by_id: &'static str,
    /// `$1` id, `$2` updated_at, `$3` employer_id, `$4` sector,
    /// `$5` province_code, `$6` status, `$7` body; returns the new row.
    pub update: &'static str,
    /// As `update`, plus `$8` the expected current version.
    pub update_if_version: &'static str,
    /// `$1` id.
    pub delete: &'static str,
    pub count: &'static str,
    /// `SELECT ... WHERE 1 = 1`; [`crate::Store::list`] appends ` AND ...`
    /// conditions, the order and the limit.
    pub list_head: &'static str,
}

macro_rules! table_sql {
    ($table:literal) => {
        TableSql {
            table: $table,
            insert: concat!(
                "INSERT INTO ",
                $table,
                " (",
                record_columns!(),
                ") VALUES ($1, 1, $2, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            select_by_id: concat!(
                "SELECT ",
                record_columns!(),
                " FROM ",
                $table,
                " WHERE id = $1"
            ),
            select_by_external_id: concat!(
                "SELECT ",
                record_columns!(),
                " FROM ",
                $table,
                " WHERE source = $1 AND external_id = $2"
            ),
            id_by_external_id: concat!(
                "SELECT id FROM ",
                $table,
                " WHERE source = $1 AND external_id = $2"
            ),
            version_by_id: concat!("SELECT version FROM ", $table, " WHERE id = $1"),
            update: concat!(
                "UPDATE ",
                $table,
                " SET version = version + 1, updated_at = $2, employer_id = $3, sector = $4, \
                 province_code = $5, status = $6, body = $7 WHERE id = $1 RETURNING ",
                record_columns!()
            ),
            update_if_version: concat!(
                "UPDATE ",
                $table,
                " SET version = version + 1, updated_at = $2, employer_id = $3, sector = $4, \
                 province_code = $5, status = $6, body = $7 WHERE id = $1 AND version = $8 \
                 RETURNING ",
                record_columns!()
            ),
            delete: concat!("DELETE FROM ", $table, " WHERE id = $1"),
            count: concat!("SELECT COUNT(*) FROM ", $table),
            list_head: concat!(
                "SELECT ",
                record_columns!(),
                " FROM ",
                $table,
                " WHERE 1 = 1"
            ),
        }
    };
}

pub(crate) const EMPLOYERS: TableSql = table_sql!("employers");
pub(crate) const VACANCIES: TableSql = table_sql!("vacancies");
pub(crate) const WORKERS: TableSql = table_sql!("workers");

/// Columns of a document table in the order [`crate::rows::record_from_row`] reads
/// them; for statements built at run time ([`crate::batch`]).
pub(crate) const RECORD_COLUMNS: &str = record_columns!();

/// Filter columns that [`crate::Store::list`] may compare for equality. Only
/// these fixed names are ever spliced into SQL.
pub(crate) const FILTER_EMPLOYER_ID: &str = " AND employer_id = $";
pub(crate) const FILTER_SECTOR: &str = " AND sector = $";
pub(crate) const FILTER_PROVINCE_CODE: &str = " AND province_code = $";
pub(crate) const FILTER_STATUS: &str = " AND status = $";
pub(crate) const FILTER_AFTER_ID: &str = " AND id > $";
pub(crate) const ORDER_BY_ID_LIMIT: &str = " ORDER BY id LIMIT $";
/// The id is one of a list given as one parameter: a JSON array on SQLite, a
/// text array on PostgreSQL. The parameter's number goes between each head and
/// its tail.
pub(crate) const SQLITE_FILTER_ID_IN_JSON: (&str, &str) =
    (" AND id IN (SELECT value FROM json_each($", "))");
pub(crate) const PG_FILTER_ID_IN_ARRAY: (&str, &str) = (" AND id = ANY($", ")");

/// `$1` entity, `$2` entity_id, `$3` op, `$4` at.
pub(crate) const INSERT_CHANGE: &str =
    "INSERT INTO change_feed (entity, entity_id, op, at) VALUES ($1, $2, $3, $4)";
/// `$1` after_seq, `$2` limit.
pub(crate) const CHANGES_SINCE: &str = "SELECT seq, entity, entity_id, op, at FROM change_feed \
     WHERE seq > $1 ORDER BY seq LIMIT $2";
pub(crate) const LATEST_CHANGE_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) FROM change_feed";

/// `$1` id, `$2` name, `$3` role, `$4` employer_id, `$5` hash, `$6` created_at,
/// `$7` expires_at, `$8` revoked_at.
pub(crate) const INSERT_API_KEY: &str = "INSERT INTO api_keys \
     (id, name, role, employer_id, source, hash, created_at, expires_at, revoked_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
/// `$1` hash.
pub(crate) const API_KEY_BY_HASH: &str = "SELECT id, name, role, employer_id, source, hash, \
     created_at, expires_at, revoked_at FROM api_keys WHERE hash = $1";
pub(crate) const LIST_API_KEYS: &str = "SELECT id, name, role, employer_id, source, hash, \
     created_at, expires_at, revoked_at FROM api_keys ORDER BY created_at, id";
/// `$1` id, `$2` revoked_at. Revoking twice keeps the first revocation time.
pub(crate) const REVOKE_API_KEY: &str =
    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1";

pub(crate) const PING: &str = "SELECT 1";

/// SQLite: take the database write lock when the transaction starts rather
/// than on its first write, so a writer waits (up to `busy_timeout`) instead
/// of failing with `SQLITE_BUSY` when it would have to upgrade a read lock.
pub(crate) const SQLITE_BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// PostgreSQL: every transaction that writes employers, vacancies or workers
/// takes this transaction-scoped advisory lock first, before any other write.
///
/// Why: followers read the change feed with `changes_since(last_seq)` and
/// then remember the highest `seq` they saw. Without the lock, transaction A
/// could draw seq 10 from the identity sequence, transaction B seq 11, and B
/// commit first; a follower reading between the two commits would see 11,
/// move its cursor past 10, and never see A's change. Holding one lock from
/// before the feed insert until commit makes writers draw `seq` and commit in
/// the same order, so a visible `seq` implies every smaller `seq` is either
/// visible too or was rolled back. The lock is released automatically at
/// commit or rollback (it is released only after the commit is visible).
/// Writers are serialised by this, which is fine at this scale; readers never
/// take it. Taking it first in every writing transaction also means two
/// writers can never deadlock on it against row locks.
///
/// The key is the ASCII bytes of "jobmatch" read as a big-endian i64.
pub(crate) const PG_WRITE_LOCK: &str = "SELECT pg_advisory_xact_lock(7669456912361218920)";
