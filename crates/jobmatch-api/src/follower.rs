//! Keeping derived indexes in step with the database.
//!
//! The database is the truth; the matching index and the search index are derived
//! from it. At start-up each is built from a full scan, taken after noting the
//! change feed's latest sequence; afterwards one task per process follows the feed
//! and applies every change in order, so a write made through any `serve` process
//! sharing the database reaches every process. Applying a change re-reads the
//! record's current state, which makes replaying a change harmless.

use std::sync::Arc;
use std::time::Duration;

use jobmatch_store::{Entity, ListFilter, Record, Store, StoreError};
use tokio::sync::{Notify, watch};

/// How often the feed is polled when no local write wakes the follower: the bound
/// on how late a write through another process becomes visible here.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
const BATCH: u32 = 500;

/// One change as a derived index sees it.
pub struct Applied<'a> {
    pub entity: Entity,
    pub id: &'a str,
    /// The record as it is now; `None` when it no longer exists.
    pub record: Option<&'a Record>,
    /// For a vacancy, its employer (search shows the employer's name).
    pub employer: Option<&'a Record>,
}

/// A structure derived from the database and kept current by the follower.
pub trait Derived: Send + Sync + 'static {
    fn apply(&self, change: &Applied<'_>);
    /// Every change up to `seq` has been applied; a durable index commits here.
    fn applied_through(&self, _seq: i64) {}
    /// Where a durable index stands: it catches up from there. `None` (the default,
    /// right for in-memory indexes) asks for a full scan at start-up.
    fn resume_from(&self) -> Option<i64> {
        None
    }
}

/// Where the follower stands, shared with request handlers.
#[derive(Clone)]
pub struct FeedPosition {
    applied: watch::Receiver<i64>,
    wake: Arc<Notify>,
}

impl FeedPosition {
    /// The sequence number of the last change applied to every derived index.
    pub fn applied(&self) -> i64 {
        *self.applied.borrow()
    }

    /// Asks the follower to look at the feed now rather than at its next poll.
    pub fn nudge(&self) {
        self.wake.notify_one();
    }

    /// Waits until changes up to `seq` are applied, at most `timeout`; true when they are.
    pub async fn wait_for(&self, seq: i64, timeout: Duration) -> bool {
        self.nudge();
        let mut applied = self.applied.clone();
        tokio::time::timeout(timeout, applied.wait_for(|current| *current >= seq))
            .await
            .is_ok_and(|result| result.is_ok())
    }
}

pub struct Follower {
    store: Store,
    derived: Vec<Arc<dyn Derived>>,
    applied: watch::Sender<i64>,
    wake: Arc<Notify>,
}

impl Follower {
    /// Builds every derived index from the database as it is now.
    pub async fn bootstrap(
        store: Store,
        derived: Vec<Arc<dyn Derived>>,
    ) -> Result<(Follower, FeedPosition), StoreError> {
        // Noted before the scan: a change that lands during the scan is applied
        // again afterwards, which is harmless; one noted after could be missed.
        let latest = store.latest_change_seq().await?;
        let (resuming, scanning): (Vec<_>, Vec<_>) = derived
            .iter()
            .cloned()
            .partition(|index| index.resume_from().is_some_and(|seq| seq <= latest));
        // Replaying changes an index already has is harmless, so following starts
        // at the oldest position any durable index reports.
        let start = resuming
            .iter()
            .filter_map(|index| index.resume_from())
            .min()
            .unwrap_or(latest)
            .min(latest);
        let follower = Follower {
            store,
            derived,
            applied: watch::Sender::new(start),
            wake: Arc::new(Notify::new()),
        };
        if !scanning.is_empty() {
            for entity in [Entity::Employer, Entity::Vacancy, Entity::Worker] {
                follower.scan(entity, &scanning).await?;
            }
            for index in &scanning {
                index.applied_through(latest);
            }
        }
        let position = FeedPosition {
            applied: follower.applied.subscribe(),
            wake: follower.wake.clone(),
        };
        Ok((follower, position))
    }

    async fn scan(&self, entity: Entity, targets: &[Arc<dyn Derived>]) -> Result<(), StoreError> {
        let mut after_id = None;
        loop {
            let filter = ListFilter {
                after_id: after_id.clone(),
                limit: 2_000,
                ..ListFilter::default()
            };
            let page = self.store.list(entity, &filter).await?;
            for record in &page {
                self.apply_to(targets, entity, &record.id, Some(record))
                    .await?;
            }
            match page.last() {
                Some(last) => after_id = Some(last.id.clone()),
                None => return Ok(()),
            }
        }
    }

    async fn apply(
        &self,
        entity: Entity,
        id: &str,
        record: Option<&Record>,
    ) -> Result<(), StoreError> {
        self.apply_to(&self.derived, entity, id, record).await
    }

    async fn apply_to(
        &self,
        targets: &[Arc<dyn Derived>],
        entity: Entity,
        id: &str,
        record: Option<&Record>,
    ) -> Result<(), StoreError> {
        let employer = match (
            entity,
            record.and_then(|record| record.columns.employer_id.as_deref()),
        ) {
            (Entity::Vacancy, Some(employer_id)) => {
                self.store.get(Entity::Employer, employer_id).await?
            }
            _ => None,
        };
        let change = Applied {
            entity,
            id,
            record,
            employer: employer.as_ref(),
        };
        for index in targets {
            index.apply(&change);
        }
        Ok(())
    }

    /// Follows the feed until the process ends.
    pub async fn run(self) {
        let mut last = *self.applied.borrow();
        loop {
            match self.follow_once(last).await {
                Ok(Some(seq)) => {
                    last = seq;
                    for index in &self.derived {
                        index.applied_through(seq);
                    }
                    self.applied.send_replace(seq);
                }
                Ok(None) => {
                    tokio::select! {
                        _ = tokio::time::sleep(POLL_INTERVAL) => {}
                        _ = self.wake.notified() => {}
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %crate::error::error_chain(&error), "change feed not readable; retrying");
                    tokio::time::sleep(POLL_INTERVAL * 10).await;
                }
            }
        }
    }

    /// Applies the next batch of changes after `last`; the new position, if any.
    async fn follow_once(&self, last: i64) -> Result<Option<i64>, StoreError> {
        let changes = self.store.changes_since(last, BATCH).await?;
        let Some(newest) = changes.last().map(|change| change.seq) else {
            return Ok(None);
        };
        for change in &changes {
            let record = self.store.get(change.entity, &change.entity_id).await?;
            self.apply(change.entity, &change.entity_id, record.as_ref())
                .await?;
            if change.entity == Entity::Employer {
                self.reapply_vacancies_of(&change.entity_id).await?;
            }
        }
        Ok(Some(newest))
    }

    /// An employer's name is part of its vacancies' search documents.
    async fn reapply_vacancies_of(&self, employer_id: &str) -> Result<(), StoreError> {
        let mut after_id = None;
        loop {
            let mut filter = ListFilter {
                after_id: after_id.clone(),
                limit: 2_000,
                ..ListFilter::default()
            };
            filter.columns.employer_id = Some(employer_id.to_string());
            let page = self.store.list(Entity::Vacancy, &filter).await?;
            for record in &page {
                self.apply(Entity::Vacancy, &record.id, Some(record))
                    .await?;
            }
            match page.last() {
                Some(last) => after_id = Some(last.id.clone()),
                None => return Ok(()),
            }
        }
    }
}
