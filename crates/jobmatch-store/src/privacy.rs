//! What the store keeps about personal data beyond the documents themselves:
//! the append-only audit log, erasure with its anonymised tally, and the
//! employers each partner key is linked to.
//!
//! Every audited operation writes its audit row in the same transaction as
//! the read or write it records, so there is never a release without its
//! trace, nor a trace of something that did not happen.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::rows::StoredRow;
use crate::{
    ChangeOp, Columns, Entity, Pool, Record, Store, StoreError, WriteKind, constraint_error,
    finish, format_time, now, parse_time, record_from_row, sql,
};

/// Why personal data was touched; stored as its snake_case code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// A full profile (name, phone, date of birth, commune) was read.
    ProfileRead,
    /// Contact details were released for one vacancy.
    ContactReleased,
    /// The profile was erased.
    ProfileErased,
}

impl AuditAction {
    pub const ALL: [AuditAction; 3] = [
        AuditAction::ProfileRead,
        AuditAction::ContactReleased,
        AuditAction::ProfileErased,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AuditAction::ProfileRead => "profile_read",
            AuditAction::ContactReleased => "contact_released",
            AuditAction::ProfileErased => "profile_erased",
        }
    }

    pub fn from_code(code: &str) -> Option<AuditAction> {
        AuditAction::ALL
            .into_iter()
            .find(|action| action.code() == code)
    }
}

/// Who did what to whose data, to append to the audit log.
#[derive(Debug, Clone, Copy)]
pub struct AuditEvent<'a> {
    pub key_id: &'a str,
    pub role: &'a str,
    pub action: AuditAction,
    pub worker_id: &'a str,
    pub vacancy_id: Option<&'a str>,
    /// The request id the client saw in `x-request-id`, to tie a complaint to
    /// the log.
    pub request_id: Option<&'a str>,
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Strictly increasing; the order of the log.
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub key_id: String,
    pub role: String,
    pub action: String,
    pub worker_id: Option<String>,
    pub vacancy_id: Option<String>,
    pub request_id: Option<String>,
}

/// Which audit rows [`Store::audit_log`] returns, oldest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub after_seq: Option<i64>,
    pub worker_id: Option<String>,
    pub key_id: Option<String>,
    pub action: Option<AuditAction>,
    pub limit: u32,
}

/// Profiles erased in one month from one home province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasedCount {
    pub province_code: String,
    /// `YYYY-MM`, UTC.
    pub month: String,
    pub erased: i64,
}

pub(crate) const INSERT_AUDIT: &str = "INSERT INTO audit_log \
     (at, key_id, role, action, worker_id, vacancy_id, request_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

const WORKER_PROVINCE: &str =
    "SELECT province_code, source, external_id FROM workers WHERE id = $1";

/// Name of the deployment secret that keys [`tombstone_hash`].
pub(crate) const TOMBSTONE_SECRET: &str = "erasure_tombstone_key";

const INSERT_TOMBSTONE: &str = "INSERT INTO erasure_tombstones (key_hash, erased_on) \
     VALUES ($1, $2) ON CONFLICT (key_hash) DO NOTHING";

const DELETE_TOMBSTONE: &str = "DELETE FROM erasure_tombstones WHERE key_hash = $1";

const RECORD_CONSENT_DECISION: &str = "INSERT INTO consent_decisions \
     (worker_id, key_id, role, decided_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (worker_id) DO UPDATE SET key_id = excluded.key_id, role = excluded.role, \
     decided_at = excluded.decided_at";

const CONSENT_DECISION: &str =
    "SELECT key_id, role, decided_at FROM consent_decisions WHERE worker_id = $1";

/// The tombstone of an erased profile sent as `external_id` by `source`: hex
/// HMAC-SHA-256 keyed by the deployment secret [`TOMBSTONE_SECRET`], over the
/// source (length-prefixed, so that ("ab", "c") and ("a", "bc") differ) and
/// the external id. Without the key no guess of an id can be checked.
pub(crate) fn tombstone_hash(key: &str, source: &str, external_id: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(&(source.len() as u64).to_be_bytes());
    mac.update(source.as_bytes());
    mac.update(external_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A fresh secret for [`TOMBSTONE_SECRET`]: 244 random bits.
pub(crate) fn new_tombstone_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The deployment's tombstone key, created on first use, read inside the
/// caller's transaction `$conn`.
macro_rules! tombstone_key {
    ($conn:expr) => {
        async {
            sqlx::query(crate::privacy::INSERT_SECRET)
                .bind(crate::privacy::TOMBSTONE_SECRET)
                .bind(crate::privacy::new_tombstone_secret())
                .execute(&mut *$conn)
                .await?;
            let key: String = sqlx::query_scalar(crate::privacy::SELECT_SECRET)
                .bind(crate::privacy::TOMBSTONE_SECRET)
                .fetch_one(&mut *$conn)
                .await?;
            Ok::<String, crate::StoreError>(key)
        }
    };
}
pub(crate) use tombstone_key;

/// Who last decided a profile's consent to share with employers, when staff or
/// an admin changed it (`PATCH /v1/workers/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentDecision {
    pub key_id: String,
    pub role: String,
    /// RFC 3339.
    pub decided_at: String,
}

const COUNT_ERASURE: &str = "INSERT INTO erased_workers (province_code, month, erased) \
     VALUES ($1, $2, 1) \
     ON CONFLICT (province_code, month) DO UPDATE SET erased = erased_workers.erased + 1";

const ERASED_COUNTS: &str =
    "SELECT province_code, month, erased FROM erased_workers ORDER BY month, province_code";

const LINK_PARTNER: &str = "INSERT INTO partner_links (key_id, employer_id) VALUES ($1, $2) \
     ON CONFLICT (key_id, employer_id) DO NOTHING";

const UNLINK_PARTNER: &str = "DELETE FROM partner_links WHERE key_id = $1 AND employer_id = $2";

/// The employers a partner sent itself, and those an admin linked to it
/// (`partner_links.key_id` holds the partner's source: the id of its first key).
const PARTNER_EMPLOYERS: &str = "SELECT id FROM employers WHERE source = $1 \
     UNION SELECT employer_id FROM partner_links WHERE key_id = $1 \
     ORDER BY 1";

pub(crate) const INSERT_SECRET: &str =
    "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";

pub(crate) const SELECT_SECRET: &str = "SELECT value FROM server_secrets WHERE name = $1";

const WORKERS_BY_PROVINCE_AND_STATUS: &str = "SELECT province_code AS a, status AS b, COUNT(*) AS n \
     FROM workers GROUP BY province_code, status ORDER BY 1, 2";

const VACANCIES_BY_SECTOR_AND_STATUS: &str = "SELECT sector AS a, status AS b, COUNT(*) AS n \
     FROM vacancies GROUP BY sector, status ORDER BY 1, 2";

const RELEASED_FOR_VACANCY: &str = "SELECT DISTINCT worker_id FROM audit_log \
     WHERE vacancy_id = $1 AND action = 'contact_released' AND worker_id IS NOT NULL";

/// A number of records sharing two column values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCount {
    pub first: Option<String>,
    pub second: Option<String>,
    pub count: i64,
}

/// Appends `event` on `conn` (inside the caller's transaction).
macro_rules! append_audit {
    ($conn:expr, $at:expr, $event:expr) => {
        sqlx::query($crate::privacy::INSERT_AUDIT)
            .bind($at)
            .bind($event.key_id)
            .bind($event.role)
            .bind($event.action.code())
            .bind($event.worker_id)
            .bind($event.vacancy_id)
            .bind($event.request_id)
            .execute(&mut *$conn)
            .await
    };
}
// For the other writes that log what they answer (an inserted or updated
// profile, a replayed answer holding one).
pub(crate) use append_audit;

impl Store {
    /// Reads a worker's profile and logs the read, in one transaction: the
    /// row is logged only if the profile exists, and the profile is returned
    /// only once the log row is committed.
    pub async fn get_worker_audited(
        &self,
        event: &AuditEvent<'_>,
    ) -> Result<Option<Record>, StoreError> {
        let table = Entity::Worker.sql();
        let at = format_time(now())?;
        write_tx!(self, |conn| {
            let row = sqlx::query(table.select_by_id)
                .bind(event.worker_id)
                .fetch_optional(&mut *conn)
                .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let record = record_from_row(&row)?;
            append_audit!(conn, at.as_str(), event)?;
            Ok(Some(record))
        })
    }

    /// Erases a worker's profile: deletes the row, appends a `delete` change
    /// (so matching and every derived index drop it), adds one to the
    /// anonymised tally of its home province and month, and logs the
    /// erasure, all in one transaction. `Ok(false)` if there was no such
    /// profile.
    ///
    /// On SQLite `secure_delete` overwrites the freed pages; a checkpoint then
    /// moves them out of the write-ahead log as well.
    pub async fn erase_worker(&self, event: &AuditEvent<'_>) -> Result<bool, StoreError> {
        let table = Entity::Worker.sql();
        let now = now();
        let at = format_time(now)?;
        let month = now.format("%Y-%m").to_string();
        let erased = write_tx!(self, |conn| {
            let row: Option<(Option<String>, Option<String>, Option<String>)> =
                sqlx::query_as(WORKER_PROVINCE)
                    .bind(event.worker_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            let Some((province, source, external_id)) = row else {
                return Ok(false);
            };
            if let Some(journal) = &self.erasure_journal {
                // On the disk before the erasure commits, so that a restore of
                // an older backup can erase the person again.
                let journal = journal.clone();
                let entry = crate::JournalEntry {
                    worker_id: event.worker_id.to_string(),
                    erased_at: at.clone(),
                };
                tokio::task::spawn_blocking(move || journal.append(&entry))
                    .await
                    .map_err(|error| StoreError::Journal(std::io::Error::other(error)))?
                    .map_err(StoreError::Journal)?;
            }
            if let (Some(source), Some(external_id)) = (source, external_id) {
                // So that a re-send of the same item cannot bring the person back.
                let key = tombstone_key!(conn).await?;
                sqlx::query(INSERT_TOMBSTONE)
                    .bind(tombstone_hash(&key, &source, &external_id))
                    .bind(now.format("%Y-%m-%d").to_string())
                    .execute(&mut *conn)
                    .await?;
            }
            sqlx::query(table.delete)
                .bind(event.worker_id)
                .execute(&mut *conn)
                .await
                .map_err(|e| constraint_error(e, WriteKind::Delete))?;
            sqlx::query(sql::INSERT_CHANGE)
                .bind(Entity::Worker.as_str())
                .bind(event.worker_id)
                .bind(ChangeOp::Delete.as_str())
                .bind(at.as_str())
                .execute(&mut *conn)
                .await?;
            sqlx::query(COUNT_ERASURE)
                .bind(province.unwrap_or_default())
                .bind(month.as_str())
                .execute(&mut *conn)
                .await?;
            // Kept answers to writes sent with an Idempotency-Key may carry the
            // profile: they are redacted, their keys kept so that a retry is
            // answered and does not write the person back.
            sqlx::query(crate::idempotency::REDACT_ANSWERS_CARRYING)
                .bind(event.worker_id)
                .execute(&mut *conn)
                .await?;
            append_audit!(conn, at.as_str(), event)?;
            Ok(true)
        })?;
        if erased {
            self.checkpoint_after_erasure().await;
        }
        Ok(erased)
    }

    /// Lets `source` register a profile under `external_id` again after its
    /// erasure: removes the tombstone. `Ok(false)` if there was none.
    pub async fn lift_erasure(&self, source: &str, external_id: &str) -> Result<bool, StoreError> {
        write_tx!(self, |conn| {
            let key = tombstone_key!(conn).await?;
            let lifted = sqlx::query(DELETE_TOMBSTONE)
                .bind(tombstone_hash(&key, source, external_id))
                .execute(&mut *conn)
                .await?
                .rows_affected();
            Ok(lifted > 0)
        })
    }

    /// Whether a profile sent as `external_id` by `source` was erased and not
    /// lifted since.
    pub async fn is_erased(&self, source: &str, external_id: &str) -> Result<bool, StoreError> {
        write_tx!(self, |conn| {
            let key = tombstone_key!(conn).await?;
            let found: Option<String> =
                sqlx::query_scalar("SELECT key_hash FROM erasure_tombstones WHERE key_hash = $1")
                    .bind(tombstone_hash(&key, source, external_id))
                    .fetch_optional(&mut *conn)
                    .await?;
            Ok(found.is_some())
        })
    }

    /// Updates a worker's profile as [`Store::update`] does and, in the same
    /// transaction, records that `key_id` (of `role`) decided its consent now,
    /// when `consent_decided` says the change set or changed
    /// `consent.share_with_employers`: a batch item or import never overrides
    /// that decision.
    pub async fn update_worker(
        &self,
        id: &str,
        expected_version: Option<i64>,
        columns: &Columns,
        body: &serde_json::Value,
        consent_decided: Option<(&str, &str)>,
        audit: Option<&AuditEvent<'_>>,
    ) -> Result<Record, StoreError> {
        let Some((key_id, role)) = consent_decided else {
            return self
                .update_audited(Entity::Worker, id, expected_version, columns, body, audit)
                .await;
        };
        let now_text = format_time(now())?;
        let body_text = serde_json::to_string(body).map_err(StoreError::Json)?;
        write_tx!(self, |conn| {
            let record = update_in_tx!(
                conn,
                Entity::Worker,
                id,
                expected_version,
                columns,
                body_text.as_str(),
                now_text.as_str()
            )?;
            sqlx::query(RECORD_CONSENT_DECISION)
                .bind(id)
                .bind(key_id)
                .bind(role)
                .bind(now_text.as_str())
                .execute(&mut *conn)
                .await?;
            if let Some(event) = audit {
                append_audit!(conn, now_text.as_str(), event)?;
            }
            Ok(record)
        })
    }

    /// The last consent decision staff or an admin made for a worker, if any.
    pub async fn consent_decision(
        &self,
        worker_id: &str,
    ) -> Result<Option<ConsentDecision>, StoreError> {
        with_pool!(self, |pool| {
            let row: Option<(String, String, String)> = sqlx::query_as(CONSENT_DECISION)
                .bind(worker_id)
                .fetch_optional(pool)
                .await?;
            Ok(row.map(|(key_id, role, decided_at)| ConsentDecision {
                key_id,
                role,
                decided_at,
            }))
        })
    }

    /// Appends one event to the audit log on its own.
    pub async fn append_audit(&self, event: &AuditEvent<'_>) -> Result<(), StoreError> {
        let at = format_time(now())?;
        write_tx!(self, |conn| {
            append_audit!(conn, at.as_str(), event)?;
            Ok(())
        })
    }

    /// Appends several events in one transaction: all or none.
    pub async fn append_audit_many(&self, events: &[AuditEvent<'_>]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let at = format_time(now())?;
        write_tx!(self, |conn| {
            for event in events {
                append_audit!(conn, at.as_str(), event)?;
            }
            Ok(())
        })
    }

    /// Audit rows matching every `Some` of `filter`, oldest first.
    pub async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        let mut statement = String::from(
            "SELECT seq, at, key_id, role, action, worker_id, vacancy_id, request_id \
             FROM audit_log WHERE seq > $1",
        );
        let mut binds: Vec<&str> = Vec::new();
        for (column, value) in [
            ("worker_id", filter.worker_id.as_deref()),
            ("key_id", filter.key_id.as_deref()),
            ("action", filter.action.map(AuditAction::code)),
        ] {
            if let Some(value) = value {
                binds.push(value);
                statement.push_str(&format!(" AND {column} = ${}", binds.len() + 1));
            }
        }
        statement.push_str(&format!(" ORDER BY seq LIMIT ${}", binds.len() + 2));
        // Only fixed column names and parameter numbers go into the statement;
        // every value is a bind parameter.
        with_pool!(self, |pool| {
            let mut query =
                sqlx::query(sqlx::AssertSqlSafe(statement)).bind(filter.after_seq.unwrap_or(0));
            for value in &binds {
                query = query.bind(*value);
            }
            query
                .bind(i64::from(filter.limit))
                .fetch_all(pool)
                .await?
                .iter()
                .map(audit_from_row)
                .collect()
        })
    }

    /// Profiles counted by home province and status.
    pub async fn workers_by_province_and_status(&self) -> Result<Vec<GroupCount>, StoreError> {
        self.group_counts(WORKERS_BY_PROVINCE_AND_STATUS).await
    }

    /// Vacancies counted by sector and status.
    pub async fn vacancies_by_sector_and_status(&self) -> Result<Vec<GroupCount>, StoreError> {
        self.group_counts(VACANCIES_BY_SECTOR_AND_STATUS).await
    }

    async fn group_counts(&self, statement: &'static str) -> Result<Vec<GroupCount>, StoreError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(statement).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(GroupCount {
                        first: row.try_get("a")?,
                        second: row.try_get("b")?,
                        count: row.try_get("n")?,
                    })
                })
                .collect()
        })
    }

    /// The workers whose contact staff released for this vacancy (the audit
    /// log is the record of releases).
    pub async fn contacts_released_for(&self, vacancy_id: &str) -> Result<Vec<String>, StoreError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar(RELEASED_FOR_VACANCY)
                .bind(vacancy_id)
                .fetch_all(pool)
                .await?)
        })
    }

    /// The anonymised tally of erased profiles.
    pub async fn erased_worker_counts(&self) -> Result<Vec<ErasedCount>, StoreError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(ERASED_COUNTS).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(ErasedCount {
                        province_code: row.try_get("province_code")?,
                        month: row.try_get("month")?,
                        erased: row.try_get("erased")?,
                    })
                })
                .collect()
        })
    }

    /// The deployment's secret called `name`: the stored one, or `candidate`
    /// if none was stored yet (then stored). Every replica that asks gets the
    /// same value, whichever asked first.
    pub async fn server_secret(&self, name: &str, candidate: &str) -> Result<String, StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(INSERT_SECRET)
                .bind(name)
                .bind(candidate)
                .execute(pool)
                .await?;
            Ok(sqlx::query_scalar(SELECT_SECRET)
                .bind(name)
                .fetch_one(pool)
                .await?)
        })
    }

    /// Lets the partner whose keys act under `source` ([`crate::ApiKey::source`])
    /// read the vacancies of `employer_id`, whichever of its keys it uses.
    /// [`StoreError::ReferenceMissing`] if no key has `source` as its id or the
    /// employer does not exist; linking twice is harmless.
    pub async fn link_partner(&self, source: &str, employer_id: &str) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(LINK_PARTNER)
                .bind(source)
                .bind(employer_id)
                .execute(pool)
                .await
                .map_err(|e| constraint_error(e, WriteKind::Upsert))?;
        });
        Ok(())
    }

    /// Removes a link of the partner acting under `source`; `Ok(false)` if
    /// there was none.
    pub async fn unlink_partner(
        &self,
        source: &str,
        employer_id: &str,
    ) -> Result<bool, StoreError> {
        let removed = with_pool!(self, |pool| sqlx::query(UNLINK_PARTNER)
            .bind(source)
            .bind(employer_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(removed > 0)
    }

    /// The employers whose vacancies the partner acting under `source` may
    /// read: those it created (with any of its keys) and those linked to it,
    /// ordered by id.
    pub async fn partner_employer_ids(&self, source: &str) -> Result<Vec<String>, StoreError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar(PARTNER_EMPLOYERS)
                .bind(source)
                .fetch_all(pool)
                .await?)
        })
    }
}

fn audit_from_row(row: &impl StoredRow) -> Result<AuditRecord, StoreError> {
    let at: String = row.text("at")?;
    Ok(AuditRecord {
        seq: row.integer("seq")?,
        at: parse_time(&at)?,
        key_id: row.text("key_id")?,
        role: row.text("role")?,
        action: row.text("action")?,
        worker_id: row.optional_text("worker_id")?,
        vacancy_id: row.optional_text("vacancy_id")?,
        request_id: row.optional_text("request_id")?,
    })
}
