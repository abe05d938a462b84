//! Answers to writes sent with an `Idempotency-Key` header, kept per API key so
//! that a client re-sending a request after a lost answer gets the first answer
//! instead of a second write.
//!
//! A key is first claimed (a row with status 0, "in progress") before the write
//! runs, then completed with the answer, or released if the write failed on the
//! server's side so that a retry may run it. The claim and the write are not one
//! transaction: a process that dies between them leaves a claim that another
//! request takes over once it is older than the stale age the caller gives.
//! Completing and releasing name the claim by its time, so a request whose
//! claim was taken over cannot complete or free its successor's.
//!
//! Answers may hold personal data (a created profile): they are forgotten after
//! the retention period whichever key sent them, and erasing a worker forgets
//! every answer that names its id.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{Pool, Store, StoreError, finish, format_time, parse_time, sql};

/// What [`Store::claim_idempotency_key`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key was free (or its claim stale): the caller runs the request and
    /// then completes or releases the claim made at `claimed_at`.
    Claimed { claimed_at: DateTime<Utc> },
    /// The same request was answered before: this is its answer.
    Answered { status: u16, response: String },
    /// The same request is being answered right now.
    InProgress,
    /// The key was used with a different request.
    OtherRequest,
}

/// Status stored while the request runs.
const IN_PROGRESS: i32 = 0;

const SELECT_CLAIM: &str = "SELECT request_hash, status, response, created_at \
     FROM idempotency_keys WHERE key_id = $1 AND idempotency_key = $2";
const INSERT_CLAIM: &str = "INSERT INTO idempotency_keys \
     (key_id, idempotency_key, request_hash, status, response, created_at) \
     VALUES ($1, $2, $3, 0, '', $4)";
const RETAKE_CLAIM: &str = "UPDATE idempotency_keys SET request_hash = $3, status = 0, \
     response = '', created_at = $4 WHERE key_id = $1 AND idempotency_key = $2";
const DELETE_EXPIRED: &str = "DELETE FROM idempotency_keys WHERE created_at < $1";
const COMPLETE: &str = "UPDATE idempotency_keys SET status = $3, response = $4 \
     WHERE key_id = $1 AND idempotency_key = $2 AND status = 0 AND created_at = $5";
const RELEASE: &str = "DELETE FROM idempotency_keys \
     WHERE key_id = $1 AND idempotency_key = $2 AND status = 0 AND created_at = $3";
/// Used by worker erasure: answers whose text holds the worker's id.
pub(crate) const FORGET_ANSWERS_NAMING: &str =
    "DELETE FROM idempotency_keys WHERE response LIKE '%' || $1 || '%'";

impl Store {
    /// Claims `idempotency_key` of API key `key_id` for a request whose hash is
    /// `request_hash`, or tells what became of it. Answers older than
    /// `forget_before` are forgotten first (the key may then be used anew), and
    /// an unfinished claim made before `stale_before` is taken over.
    pub async fn claim_idempotency_key(
        &self,
        key_id: &str,
        idempotency_key: &str,
        request_hash: &str,
        forget_before: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<IdempotencyClaim, StoreError> {
        let now = Utc::now();
        let now_text = format_time(now)?;
        let forget_text = format_time(forget_before)?;
        write_tx!(self, |conn| {
            sqlx::query(DELETE_EXPIRED)
                .bind(forget_text.as_str())
                .execute(&mut *conn)
                .await?;
            let existing = sqlx::query(SELECT_CLAIM)
                .bind(key_id)
                .bind(idempotency_key)
                .fetch_optional(&mut *conn)
                .await?;
            if let Some(row) = &existing {
                // INTEGER is 32 bits on PostgreSQL.
                let status: i32 = row.try_get("status")?;
                let created_at = parse_time(&row.try_get::<String, _>("created_at")?)?;
                let abandoned = status == IN_PROGRESS && created_at < stale_before;
                if !abandoned {
                    let stored_hash: String = row.try_get("request_hash")?;
                    if stored_hash != request_hash {
                        return Ok(IdempotencyClaim::OtherRequest);
                    }
                    if status == IN_PROGRESS {
                        return Ok(IdempotencyClaim::InProgress);
                    }
                    return Ok(IdempotencyClaim::Answered {
                        status: u16::try_from(status).map_err(|_| {
                            StoreError::Corrupt("an idempotency status out of range")
                        })?,
                        response: row.try_get("response")?,
                    });
                }
            }
            // A free key is inserted; an abandoned claim (its process died) retaken.
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

    /// Records the answer to the claim made at `claimed_at`.
    pub async fn complete_idempotency_key(
        &self,
        key_id: &str,
        idempotency_key: &str,
        claimed_at: DateTime<Utc>,
        status: u16,
        response: &str,
    ) -> Result<(), StoreError> {
        let claimed_text = format_time(claimed_at)?;
        write_tx!(self, |conn| {
            sqlx::query(COMPLETE)
                .bind(key_id)
                .bind(idempotency_key)
                .bind(i32::from(status))
                .bind(response)
                .bind(claimed_text.as_str())
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    }

    /// Frees the claim made at `claimed_at` when its request failed on the
    /// server's side, so that a retry runs it again.
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
}
