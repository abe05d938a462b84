//! Keeping derived indexes in step with the database.
//!
//! The database is the truth; the matching index and the search index are derived
//! from it. Each [`Follower`] keeps a set of derived indexes current: an index that
//! cannot resume from a recorded position is first built from a full scan, taken
//! after noting the change feed's latest sequence; afterwards the follower applies
//! every change in order, so a write made through any `serve` process sharing the
//! database reaches every process. Applying a change re-reads the record's current
//! state, which makes replaying a change harmless.
//!
//! The server runs one follower for matching (built before it listens: it lives in
//! memory) and one for search (rebuilt in the background when its index on disk is
//! missing, corrupt or of an older schema, so the server answers meanwhile).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jobmatch_store::{Entity, ListFilter, RawRecord, Record, Store, StoreError};
use tokio::sync::{Notify, oneshot, watch};

/// How often the feed is polled when no local write wakes the follower: the bound
/// on how late a write through another process becomes visible here.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
const BATCH: u32 = 500;
/// Records read per page during a full scan.
const SCAN_PAGE: u32 = 2_000;

/// One change as a derived index sees it.
pub struct Applied<'a> {
    pub entity: Entity,
    pub id: &'a str,
    /// The record as it is now; `None` when it no longer exists.
    pub record: Option<&'a Record>,
    /// For a vacancy, its employer, when the index asks for it
    /// ([`Derived::needs_employer`]).
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
    /// Whether the index is made from records of this kind; the others are neither
    /// scanned nor applied for it.
    fn follows(&self, _entity: Entity) -> bool {
        true
    }
    /// Whether a vacancy's changes must come with its employer's record, and an
    /// employer's change must be applied again to each of its vacancies (search shows
    /// the employer's name).
    fn needs_employer(&self) -> bool {
        false
    }
    /// Whether a full scan may hand this index pages of stored JSON text
    /// ([`Derived::load_page`]) for records of this kind, instead of parsed
    /// records one by one.
    fn loads_raw(&self, _entity: Entity) -> bool {
        false
    }
    /// During a full scan: applies a page of records as stored (only called when
    /// [`Derived::loads_raw`] says so).
    fn load_page(&self, _entity: Entity, _page: &[RawRecord]) {}
}

/// Where one follower stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Its indexes are being built from a full scan of the database and must not be
    /// read yet.
    Rebuilding,
    /// Every change up to and including this sequence number is applied.
    Applied(i64),
}

/// Where the followers stand, shared with request handlers: one follower's position,
/// or several combined ([`FeedPosition::combined`]).
#[derive(Clone)]
pub struct FeedPosition {
    tracks: Vec<Track>,
}

#[derive(Clone)]
struct Track {
    progress: watch::Receiver<Progress>,
    wake: Arc<Notify>,
}

impl FeedPosition {
    /// The position of all the given followers together.
    pub fn combined(positions: impl IntoIterator<Item = FeedPosition>) -> FeedPosition {
        FeedPosition {
            tracks: positions
                .into_iter()
                .flat_map(|position| position.tracks)
                .collect(),
        }
    }

    /// The sequence number of the last change applied to every derived index that is
    /// not rebuilding (0 when all are).
    pub fn applied(&self) -> i64 {
        self.tracks
            .iter()
            .filter_map(|track| match *track.progress.borrow() {
                Progress::Applied(seq) => Some(seq),
                Progress::Rebuilding => None,
            })
            .min()
            .unwrap_or(0)
    }

    /// Whether any of the indexes is still being built from a full scan.
    pub fn is_rebuilding(&self) -> bool {
        self.tracks
            .iter()
            .any(|track| *track.progress.borrow() == Progress::Rebuilding)
    }

    /// Asks the followers to look at the feed now rather than at their next poll.
    pub fn nudge(&self) {
        for track in &self.tracks {
            track.wake.notify_one();
        }
    }

    /// Waits until changes up to `seq` are applied, at most `timeout`; true when they
    /// are. An index being rebuilt is not waited for: it cannot be read until its
    /// rebuild ends, and by then it includes every change acknowledged before.
    pub async fn wait_for(&self, seq: i64, timeout: Duration) -> bool {
        self.nudge();
        let all_reached = async {
            for track in &self.tracks {
                let mut progress = track.progress.clone();
                let reached = progress
                    .wait_for(|progress| match progress {
                        Progress::Rebuilding => true,
                        Progress::Applied(applied) => *applied >= seq,
                    })
                    .await;
                if reached.is_err() {
                    return false;
                }
            }
            true
        };
        tokio::time::timeout(timeout, all_reached)
            .await
            .unwrap_or(false)
    }
}

pub struct Follower {
    store: Store,
    derived: Vec<Arc<dyn Derived>>,
    /// The indexes that must be built from a full scan before following, and the feed
    /// position noted before that scan; `None` once there is nothing to build.
    pending_scan: Option<(Vec<Arc<dyn Derived>>, i64)>,
    progress: watch::Sender<Progress>,
    wake: Arc<Notify>,
}

impl Follower {
    /// A follower for `derived`, not yet running. Indexes that cannot resume from a
    /// recorded position need a full scan: the position reads
    /// [`Progress::Rebuilding`] until [`Follower::rebuild`] (or [`Follower::run`])
    /// has done it.
    pub async fn new(
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
        let (pending_scan, progress) = if scanning.is_empty() {
            (None, Progress::Applied(start))
        } else {
            (Some((scanning, latest)), Progress::Rebuilding)
        };
        let wake = Arc::new(Notify::new());
        let (progress, receiver) = watch::channel(progress);
        let position = FeedPosition {
            tracks: vec![Track {
                progress: receiver,
                wake: wake.clone(),
            }],
        };
        let follower = Follower {
            store,
            derived,
            pending_scan,
            progress,
            wake,
        };
        Ok((follower, position))
    }

    /// Builds the indexes that need it from a full scan of the database (nothing when
    /// none does). Returns the feed position to follow from, which the shared
    /// position then reads.
    pub async fn rebuild(&mut self) -> Result<i64, StoreError> {
        let Some((scanning, latest)) = &self.pending_scan else {
            return Ok(match *self.progress.borrow() {
                Progress::Applied(seq) => seq,
                // Rebuilding is only ever set together with a pending scan.
                Progress::Rebuilding => 0,
            });
        };
        let started = std::time::Instant::now();
        // Employers first: vacancies are applied with their employer's record.
        let mut employers: HashMap<String, Record> = HashMap::new();
        let wants_employers = scanning.iter().any(|index| index.needs_employer());
        for entity in [Entity::Employer, Entity::Vacancy, Entity::Worker] {
            let targets: Vec<Arc<dyn Derived>> = scanning
                .iter()
                .filter(|index| index.follows(entity))
                .cloned()
                .collect();
            let keep_employers = entity == Entity::Employer && wants_employers;
            if targets.is_empty() && !keep_employers {
                continue;
            }
            self.scan(entity, &targets, &mut employers, keep_employers)
                .await?;
        }
        let latest = *latest;
        for index in scanning {
            index.applied_through(latest);
        }
        let first_resumed = self
            .derived
            .iter()
            .filter_map(|index| index.resume_from())
            .filter(|seq| *seq <= latest)
            .min();
        let start = first_resumed.unwrap_or(latest).min(latest);
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            feed_seq = latest,
            "derived indexes built from the database"
        );
        self.pending_scan = None;
        self.progress.send_replace(Progress::Applied(start));
        Ok(start)
    }

    /// Applies every record of `entity` to `targets`; with `keep_employers`, keeps
    /// the employers read for the vacancies that follow.
    async fn scan(
        &self,
        entity: Entity,
        targets: &[Arc<dyn Derived>],
        employers: &mut HashMap<String, Record>,
        keep_employers: bool,
    ) -> Result<(), StoreError> {
        if !keep_employers && targets.iter().all(|index| index.loads_raw(entity)) {
            return self.scan_raw(entity, targets).await;
        }
        let mut after_id = None;
        loop {
            let filter = ListFilter {
                after_id: after_id.clone(),
                limit: SCAN_PAGE,
                ..ListFilter::default()
            };
            let page = self.store.list(entity, &filter).await?;
            for record in &page {
                let employer = record
                    .columns
                    .employer_id
                    .as_deref()
                    .filter(|_| entity == Entity::Vacancy)
                    .and_then(|id| employers.get(id));
                let change = Applied {
                    entity,
                    id: &record.id,
                    record: Some(record),
                    employer,
                };
                for index in targets {
                    index.apply(&change);
                }
            }
            match page.last() {
                Some(last) => after_id = Some(last.id.clone()),
                None => return Ok(()),
            }
            if keep_employers {
                employers.extend(page.into_iter().map(|record| (record.id.clone(), record)));
            }
        }
    }

    /// [`Follower::scan`] for indexes that parse stored documents themselves.
    ///
    /// The next page is read from the database while the indexes digest this one,
    /// so that reading and parsing overlap.
    async fn scan_raw(
        &self,
        entity: Entity,
        targets: &[Arc<dyn Derived>],
    ) -> Result<(), StoreError> {
        let read_page = |after_id: Option<String>| {
            let store = self.store.clone();
            tokio::spawn(
                async move { store.list_raw(entity, after_id.as_deref(), SCAN_PAGE).await },
            )
        };
        let mut next = read_page(None);
        loop {
            let page = next
                .await
                .map_err(|_| StoreError::Corrupt("reading a scan page failed"))??;
            let Some(last) = page.last() else {
                return Ok(());
            };
            next = read_page(Some(last.id.clone()));
            let targets = targets.to_vec();
            // Parsing is CPU-bound: off the async threads, which keep reading.
            tokio::task::spawn_blocking(move || {
                for index in &targets {
                    index.load_page(entity, &page);
                }
            })
            .await
            .map_err(|_| StoreError::Corrupt("loading a scan page failed"))?;
        }
    }

    async fn apply(
        &self,
        entity: Entity,
        id: &str,
        record: Option<&Record>,
    ) -> Result<(), StoreError> {
        let targets: Vec<&Arc<dyn Derived>> = self
            .derived
            .iter()
            .filter(|index| index.follows(entity))
            .collect();
        if targets.is_empty() {
            return Ok(());
        }
        let employer_id = record
            .and_then(|record| record.columns.employer_id.as_deref())
            .filter(|_| entity == Entity::Vacancy);
        let employer = match employer_id {
            Some(employer_id) if targets.iter().any(|index| index.needs_employer()) => {
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

    /// Builds what must be built (when `hold` is given, once it is released or
    /// dropped; tests use it to observe a server whose search index is rebuilding),
    /// retrying while the database does not answer, then follows the feed until the
    /// process ends.
    pub async fn run(mut self, hold: Option<oneshot::Receiver<()>>) {
        if let Some(hold) = hold {
            // Released or dropped: either way, go on.
            let _ = hold.await;
        }
        let mut last = loop {
            match self.rebuild().await {
                Ok(start) => break start,
                Err(error) => {
                    tracing::warn!(error = %crate::error::error_chain(&error), "index rebuild failed; retrying");
                    tokio::time::sleep(POLL_INTERVAL * 10).await;
                }
            }
        };
        loop {
            match self.follow_once(last).await {
                Ok(Some(seq)) => {
                    last = seq;
                    for index in &self.derived {
                        index.applied_through(seq);
                    }
                    self.progress.send_replace(Progress::Applied(seq));
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
        let reapplies_vacancies = self.derived.iter().any(|index| index.needs_employer());
        for change in &changes {
            if !self
                .derived
                .iter()
                .any(|index| index.follows(change.entity))
            {
                continue;
            }
            let record = self.store.get(change.entity, &change.entity_id).await?;
            self.apply(change.entity, &change.entity_id, record.as_ref())
                .await?;
            if change.entity == Entity::Employer && reapplies_vacancies {
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
                limit: SCAN_PAGE,
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
