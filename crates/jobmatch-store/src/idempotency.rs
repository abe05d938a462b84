//! Answers to writes sent with an `Idempotency-Key` header, kept per API key so
//! that a client re-sending a request after a lost answer gets the first answer
//! instead of a second write.
//!
//! A key is first claimed (a row with status 0, "in progress") before the write
//! runs, then completed with the answer, or released if the request wrote
//! nothing and its answer is not to be kept, so that a retry may run it. The
//! claim is handed to the write's own transactions: the caller runs the
//! request under it ([`claimed_while`]), and every writing transaction of that
//! request that changes records marks the claim **written** (status 1) before
//! it commits, with the records it changed (from the change feed). A written
//! claim is never released nor taken over as abandoned: should the answer be
//! lost after the commit (the request time limit, a failure to keep it, a
//! process that dies), a retry is told what the first request wrote
//! ([`IdempotencyClaim::Written`]) and never writes again. A process that dies
//! before its write commits leaves a claim that another request takes over
//! once it is older than the stale age the caller gives; a write whose claim
//! was taken over meanwhile is rolled back ([`StoreError::IdempotencyClaimLost`]).
//! Completing and releasing name the claim by its time, so a request whose
//! claim was taken over cannot complete or free its successor's.
//!
//! Answers may hold personal data (a created profile). An answer is kept for
//! the retention period: an older one counts as absent when its key is
//! claimed again, and a periodic task deletes expired rows through the index
//! on `created_at` ([`Store::forget_idempotency_answers_before`]). Erasing a
//! worker redacts every kept answer that carries its profile (found through
//! the `worker_id` kept with it, never by matching text): the answer is
//! replaced by [`IdempotencyClaim::Erased`], and the key stays taken, so that
//! a retry is answered, not run again (which would write anew, or bring the
//! erased person back). An answer whose profile was erased while it was being
//! produced is kept redacted in the same way. Answers that only name ids (a
//! batch report, the records a written claim lists) are kept as they are. The
//! replay of an answer carrying a profile is logged as a read of it.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{
    AuditAction, AuditEvent, ChangeOp, Entity, Pool, Store, StoreError, finish, format_time,
    parse_time, sql,
};

/// What [`Store::claim_idempotency_key`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key was free (or its claim stale, or its answer expired): the
    /// caller runs the request and then completes or releases the claim made
    /// at `claimed_at`.
    Claimed { claimed_at: DateTime<Utc> },
    /// The same request was answered before: this is its answer.
    Answered { status: u16, response: String },
    /// The same request was answered before with a profile since erased: the
    /// answer is gone, and the request is not run again.
    Erased,
    /// The same request wrote these records, but its answer was never kept
    /// (it ran past the request time limit, or keeping it failed): the
    /// request is not run again, which would write a second time.
    Written { records: Vec<WrittenRecord> },
    /// The same request is being answered right now.
    InProgress,
    /// The key was used with a different request.
    OtherRequest,
}

/// Who claims a key: the API key it belongs to, and, for the audit row of a
/// replayed answer that carries a profile, the key's role and the request id
/// the client sees.
#[derive(Debug, Clone, Copy)]
pub struct IdempotencyRequester<'a> {
    pub key_id: &'a str,
    pub role: &'a str,
    pub request_id: Option<&'a str>,
}

/// A record that a request run under an `Idempotency-Key` created, changed or
/// deleted, as its change-feed entry names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WrittenRecord {
    pub entity: Entity,
    pub id: String,
    pub op: ChangeOp,
}

/// The `Idempotency-Key` claim a request runs under ([`claimed_while`]).
#[derive(Debug, Clone)]
pub struct ClaimedKey {
    /// The API key the claim belongs to.
    pub key_id: String,
    pub idempotency_key: String,
    /// When the claim was made ([`IdempotencyClaim::Claimed`]).
    pub claimed_at: DateTime<Utc>,
}

tokio::task_local! {
    /// The claim of the request this task is running, if any. A task-local
    /// rather than a parameter: every write of a request, through whichever
    /// use case, reaches the store through `write_tx!`, which reads it.
    static CLAIM_IN_SCOPE: ClaimedKey;
}

/// Runs `request` under `claim`: every writing transaction it commits that
/// changes records marks the claim written, in that same transaction, so that
/// a retry of a request whose answer was lost never writes again.
pub async fn claimed_while<F: std::future::Future>(claim: ClaimedKey, request: F) -> F::Output {
    CLAIM_IN_SCOPE.scope(claim, request).await
}

/// The claim the current task's request runs under, if any.
pub(crate) fn claim_in_scope() -> Option<ClaimedKey> {
    CLAIM_IN_SCOPE.try_with(Clone::clone).ok()
}

/// In `write_tx!`, before the body runs: the change-feed position, when the
/// transaction runs under a claim (`None` otherwise). Writers are serialised,
/// so the entries after it at commit are this transaction's.
macro_rules! feed_position_for {
    ($claim:expr, $conn:expr) => {
        match &$claim {
            Some(_) => Some(
                sqlx::query_scalar::<_, i64>(crate::sql::LATEST_CHANGE_SEQ)
                    .fetch_one($conn)
                    .await?,
            ),
            None => None,
        }
    };
}
pub(crate) use feed_position_for;

/// In `write_tx!`, after the body succeeded and before the commit: marks the
/// claim in scope written with the records this transaction changed (none
/// changed: nothing to mark), or fails with
/// [`StoreError::IdempotencyClaimLost`] if the claim is no longer this
/// request's, so that the write is rolled back.
macro_rules! note_written {
    ($result:expr, $claim:expr, $feed_before:expr, $conn:expr) => {
        match ($result, &$claim, $feed_before) {
            (Ok(value), Some(claim), Some(feed_before)) => {
                let conn = $conn;
                let marked: Result<(), StoreError> = async {
                    let changes: Vec<(String, String, String)> =
                        sqlx::query_as(crate::idempotency::CHANGES_AFTER)
                            .bind(feed_before)
                            .fetch_all(&mut *conn)
                            .await?;
                    if changes.is_empty() {
                        return Ok(());
                    }
                    let claimed_text = crate::format_time(claim.claimed_at)?;
                    let own: Option<(i32, String)> =
                        sqlx::query_as(crate::idempotency::SELECT_OWN_CLAIM)
                            .bind(claim.key_id.as_str())
                            .bind(claim.idempotency_key.as_str())
                            .bind(claimed_text.as_str())
                            .fetch_optional(&mut *conn)
                            .await?;
                    let written = crate::idempotency::written_after(own, changes)?;
                    sqlx::query(crate::idempotency::MARK_WRITTEN)
                        .bind(claim.key_id.as_str())
                        .bind(claim.idempotency_key.as_str())
                        .bind(claimed_text.as_str())
                        .bind(written.as_str())
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                }
                .await;
                marked.map(|()| value)
            }
            (result, _, _) => result,
        }
    };
}
pub(crate) use note_written;

/// The change-feed entries after `$1`, in order.
pub(crate) const CHANGES_AFTER: &str =
    "SELECT entity, entity_id, op FROM change_feed WHERE seq > $1 ORDER BY seq";
/// The status and response of the claim made at `$3`, if it is still there.
pub(crate) const SELECT_OWN_CLAIM: &str = "SELECT status, response FROM idempotency_keys \
     WHERE key_id = $1 AND idempotency_key = $2 AND created_at = $3";
/// `$4`: the records written so far, as JSON.
pub(crate) const MARK_WRITTEN: &str = "UPDATE idempotency_keys SET status = 1, response = $4 \
     WHERE key_id = $1 AND idempotency_key = $2 AND created_at = $3";

/// The records a claim has written once this transaction's `changes` are
/// added to what its earlier transactions wrote (`own`: the claim's status
/// and response), as JSON; or [`StoreError::IdempotencyClaimLost`] when the
/// claim is gone or was answered.
pub(crate) fn written_after(
    own: Option<(i32, String)>,
    changes: Vec<(String, String, String)>,
) -> Result<String, StoreError> {
    let mut written: Vec<WrittenRecord> = match own {
        Some((IN_PROGRESS, _)) => Vec::new(),
        Some((WRITTEN, earlier)) => serde_json::from_str(&earlier).map_err(StoreError::Json)?,
        _ => return Err(StoreError::IdempotencyClaimLost),
    };
    for (entity, id, op) in changes {
        written.push(WrittenRecord {
            entity: entity
                .parse()
                .map_err(|_| StoreError::Corrupt("an unknown entity in the change feed"))?,
            id,
            op: op
                .parse()
                .map_err(|_| StoreError::Corrupt("an unknown operation in the change feed"))?,
        });
    }
    serde_json::to_string(&written).map_err(StoreError::Json)
}

/// Status stored while the request runs.
const IN_PROGRESS: i32 = 0;
/// Status stored once the request's write committed and until its answer is
/// kept; the response holds the records written ([`WrittenRecord`], as JSON).
/// Never an HTTP status.
const WRITTEN: i32 = 1;
/// Status stored, with an empty response, in place of an answer whose profile
/// was erased ([`IdempotencyClaim::Erased`]). 410 Gone is never kept as an
/// answer otherwise.
const ERASED: i32 = 410;

/// Rows deleted per transaction by [`Store::forget_idempotency_answers_before`]:
/// each batch holds the write lock for a few milliseconds at most.
const EXPIRY_BATCH: u64 = 1_000;

const SELECT_CLAIM: &str = "SELECT request_hash, status, response, created_at, worker_id \
     FROM idempotency_keys WHERE key_id = $1 AND idempotency_key = $2";
const INSERT_CLAIM: &str = "INSERT INTO idempotency_keys \
     (key_id, idempotency_key, request_hash, status, response, created_at) \
     VALUES ($1, $2, $3, 0, '', $4)";
const RETAKE_CLAIM: &str = "UPDATE idempotency_keys SET request_hash = $3, status = 0, \
     response = '', created_at = $4, worker_id = NULL \
     WHERE key_id = $1 AND idempotency_key = $2";
/// One batch of expired rows, found through `idempotency_keys_created_at_idx`.
const DELETE_EXPIRED: &str = "DELETE FROM idempotency_keys \
     WHERE (key_id, idempotency_key) IN (SELECT key_id, idempotency_key \
     FROM idempotency_keys WHERE created_at < $1 LIMIT $2)";
/// Completes a claim in progress or written.
const COMPLETE: &str = "UPDATE idempotency_keys SET status = $3, response = $4, worker_id = $6 \
     WHERE key_id = $1 AND idempotency_key = $2 AND status IN (0, 1) AND created_at = $5";
/// Frees a claim only while nothing was written under it.
const RELEASE: &str = "DELETE FROM idempotency_keys \
     WHERE key_id = $1 AND idempotency_key = $2 AND status = 0 AND created_at = $3";
/// The claim, kept redacted: its profile was erased before the answer was kept.
const COMPLETE_ERASED: &str = "UPDATE idempotency_keys SET status = 410, response = '', \
     worker_id = NULL \
     WHERE key_id = $1 AND idempotency_key = $2 AND status IN (0, 1) AND created_at = $3";
const WORKER_EXISTS: &str = "SELECT id FROM workers WHERE id = $1";
/// Used by worker erasure: the kept answers carrying the worker's profile,
/// found through `idempotency_keys_worker_id_idx`, are redacted; the keys stay
/// taken (with their request hash and time) so that a retry is not run again.
pub(crate) const REDACT_ANSWERS_CARRYING: &str = "UPDATE idempotency_keys \
     SET status = 410, response = '', worker_id = NULL WHERE worker_id = $1";

impl Store {
    /// Claims `idempotency_key` of the requester's API key for a request whose
    /// hash is `request_hash`, or tells what became of it. An answer older
    /// than `forget_before` counts as forgotten (the key may be used anew), and
    /// an unfinished claim made before `stale_before` is taken over. Replaying
    /// an answer that carries a profile appends a `profile_read` to the audit
    /// log in the same transaction.
    pub async fn claim_idempotency_key(
        &self,
        requester: &IdempotencyRequester<'_>,
        idempotency_key: &str,
        request_hash: &str,
        forget_before: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<IdempotencyClaim, StoreError> {
        let now = Utc::now();
        let now_text = format_time(now)?;
        let forget_text = format_time(forget_before)?;
        let key_id = requester.key_id;
        write_tx!(self, |conn| {
            let existing = sqlx::query(SELECT_CLAIM)
                .bind(key_id)
                .bind(idempotency_key)
                .fetch_optional(&mut *conn)
                .await?;
            if let Some(row) = &existing {
                // INTEGER is 32 bits on PostgreSQL.
                let status: i32 = row.try_get("status")?;
                let created_text: String = row.try_get("created_at")?;
                let created_at = parse_time(&created_text)?;
                // Text comparison, as the periodic deletion makes it.
                let expired = created_text < forget_text;
                let abandoned = status == IN_PROGRESS && created_at < stale_before;
                if !expired && !abandoned {
                    let stored_hash: String = row.try_get("request_hash")?;
                    if stored_hash != request_hash {
                        return Ok(IdempotencyClaim::OtherRequest);
                    }
                    if status == IN_PROGRESS {
                        return Ok(IdempotencyClaim::InProgress);
                    }
                    if status == ERASED {
                        return Ok(IdempotencyClaim::Erased);
                    }
                    if status == WRITTEN {
                        let written: String = row.try_get("response")?;
                        return Ok(IdempotencyClaim::Written {
                            records: serde_json::from_str(&written).map_err(StoreError::Json)?,
                        });
                    }
                    let status = u16::try_from(status)
                        .map_err(|_| StoreError::Corrupt("an idempotency status out of range"))?;
                    let worker_id: Option<String> = row.try_get("worker_id")?;
                    if let Some(worker_id) = &worker_id {
                        let event = AuditEvent {
                            key_id,
                            role: requester.role,
                            action: AuditAction::ProfileRead,
                            worker_id,
                            vacancy_id: None,
                            request_id: requester.request_id,
                        };
                        crate::privacy::append_audit!(conn, now_text.as_str(), event)?;
                    }
                    return Ok(IdempotencyClaim::Answered {
                        status,
                        response: row.try_get("response")?,
                    });
                }
            }
            // A free key is inserted; an abandoned claim (its process died) or
            // an expired answer retaken.
            let statement = if existing.is_some() {
                RETAKE_CLAIM
            } else {
                INSERT_CLAIM
            };
            sqlx::query(statement)
                .bind(key_id)
                .bind(idempotency_key)
                .bind(request_hash)
                .bind(now_text.as_str())
                .execute(&mut *conn)
                .await?;
            Ok(IdempotencyClaim::Claimed { claimed_at: now })
        })
    }

    /// Records the answer to the claim made at `claimed_at`; `worker_id`
    /// names the returnee whose profile the answer carries, if any. Returns
    /// whether the answer was kept as given: not when the claim was taken
    /// over, nor when that profile was erased while the answer was being
    /// produced (the key then keeps the redacted answer, as the erasure would
    /// have left it, so that a retry does not write again). Writers are
    /// serialised, so an erasure commits either before this looks (and the
    /// answer is kept redacted) or after this commits (and the erasure
    /// redacts it).
    pub async fn complete_idempotency_key(
        &self,
        key_id: &str,
        idempotency_key: &str,
        claimed_at: DateTime<Utc>,
        status: u16,
        response: &str,
        worker_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let claimed_text = format_time(claimed_at)?;
        write_tx!(self, |conn| {
            if let Some(worker_id) = worker_id {
                let exists: Option<String> = sqlx::query_scalar(WORKER_EXISTS)
                    .bind(worker_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                if exists.is_none() {
                    sqlx::query(COMPLETE_ERASED)
                        .bind(key_id)
                        .bind(idempotency_key)
                        .bind(claimed_text.as_str())
                        .execute(&mut *conn)
                        .await?;
                    return Ok(false);
                }
            }
            let kept = sqlx::query(COMPLETE)
                .bind(key_id)
                .bind(idempotency_key)
                .bind(i32::from(status))
                .bind(response)
                .bind(claimed_text.as_str())
                .bind(worker_id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            Ok(kept > 0)
        })
    }

    /// Frees the claim made at `claimed_at` when its answer is not kept, so
    /// that a retry runs the request again; unless the request wrote (the
    /// claim is written), in which case it stays, and a retry is told what
    /// was written instead of writing again.
    pub async fn release_idempotency_key(
        &self,
        key_id: &str,
        idempotency_key: &str,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let claimed_text = format_time(claimed_at)?;
        write_tx!(self, |conn| {
            sqlx::query(RELEASE)
                .bind(key_id)
                .bind(idempotency_key)
                .bind(claimed_text.as_str())
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    }

    /// Deletes the answers and claims made before `before` (the end of the
    /// retention period), a batch at a time; returns how many. Run
    /// periodically: a claim already treats an expired answer as absent, so
    /// this only bounds the table's size.
    pub async fn forget_idempotency_answers_before(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let before_text = format_time(before)?;
        let mut forgotten = 0;
        loop {
            let deleted = write_tx!(self, |conn| {
                Ok(sqlx::query(DELETE_EXPIRED)
                    .bind(before_text.as_str())
                    .bind(EXPIRY_BATCH as i64)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected())
            })?;
            forgotten += deleted;
            if deleted < EXPIRY_BATCH {
                return Ok(forgotten);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's query plan for `statement` with `binds`, one step a line, on
    /// a fresh database.
    async fn sqlite_plan(statement: &str, binds: &[&str]) -> Vec<String> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("plan.db");
        let store = Store::connect(path.to_str().expect("UTF-8 path"))
            .await
            .expect("connect");
        let Pool::Sqlite(pool) = &store.pool else {
            panic!("expected SQLite");
        };
        let explain = format!("EXPLAIN QUERY PLAN {statement}");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(explain));
        for value in binds {
            query = query.bind(*value);
        }
        query
            .fetch_all(pool)
            .await
            .expect("plan")
            .iter()
            .map(|row| row.try_get::<String, _>("detail").expect("detail"))
            .collect()
    }

    /// The periodic deletion finds expired rows through the index on
    /// `created_at`, never by reading the whole table.
    #[tokio::test]
    async fn expired_answers_are_found_through_the_index_on_their_time() {
        let plan = sqlite_plan(DELETE_EXPIRED, &["2000-01-01T00:00:00.000000Z", "10"]).await;
        assert!(
            plan.iter()
                .any(|step| step.contains("idempotency_keys_created_at_idx")),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|step| step == "SCAN idempotency_keys"),
            "{plan:?}"
        );
    }

    /// Erasure finds the answers carrying the profile through the index on
    /// `worker_id`, never by reading the whole table under the write lock.
    #[tokio::test]
    async fn erasure_finds_the_answers_to_redact_through_the_index_on_their_worker() {
        let plan = sqlite_plan(REDACT_ANSWERS_CARRYING, &["w-1"]).await;
        assert!(
            plan.iter()
                .any(|step| step.contains("idempotency_keys_worker_id_idx")),
            "{plan:?}"
        );
    }
}
