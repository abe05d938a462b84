//! API key records: stored by the SHA-256 hash of the secret, never the secret.

use crate::rows::{api_key_from_row, format_time, now};
use crate::{ApiKey, Pool, Store, StoreError, WriteKind, constraint_error, sql};

impl Store {
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
                .bind(key.source.as_str())
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
