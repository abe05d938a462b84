//! The change feed: what followers read to keep derived indexes current.
//! Documents, batches and erasure append to it inside their own transactions.

use crate::rows::change_from_row;
use crate::{Change, Pool, Store, StoreError, sql};

impl Store {
    /// Changes with `seq > after_seq`, oldest first, at most `limit`.
    /// Start with `after_seq = 0`.
    pub async fn changes_since(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::from(limit);
        with_pool!(self, |pool| {
            sqlx::query(sql::CHANGES_SINCE)
                .bind(after_seq)
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(change_from_row)
                .collect()
        })
    }

    /// The highest `seq` in the change feed; 0 when it is empty.
    pub async fn latest_change_seq(&self) -> Result<i64, StoreError> {
        with_pool!(self, |pool| Ok(sqlx::query_scalar(sql::LATEST_CHANGE_SEQ)
            .fetch_one(pool)
            .await?))
    }
}
