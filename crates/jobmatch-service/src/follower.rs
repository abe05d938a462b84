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
//!
//! Changes are read a page at a time and each page's records with one query per
//! kind, so that a backlog (an import, or a restart after one) is caught up in
//! bulk; while it lasts, durable indexes commit every few seconds rather than
//! after every page. An index that fails to take a change or to commit is rolled
//! back to its last commit and the changes since are applied again: nothing is
//! skipped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jobmatch_store::{Entity, ListFilter, RawRecord, Record, Store, StoreError};
use tokio::sync::{Mutex, Notify, oneshot, watch};

/// How often the feed is polled when no local write wakes the follower: the bound
/// on how late a write through another process becomes visible here.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Changes read per page of the feed; a full page means a backlog remains.
const FEED_PAGE: u32 = 2_000;
/// Records read per page during a full scan.
const SCAN_PAGE: u32 = 2_000;
/// While a backlog remains, the indexes commit at most this often: each commit
/// of the search index writes and syncs a segment (and more segments mean more
/// merging), so committing every page made catching up on 100,000 changes
/// several times slower.
const BACKLOG_COMMIT_INTERVAL: Duration = Duration::from_secs(3);
/// How long the follower waits before trying again after a failure.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Why a derived index could not take a change or commit. The follower rolls the
/// index back ([`Derived::discard_uncommitted`]) and applies the changes again.
#[derive(Debug, thiserror::Error)]
#[error("the {index} index could not be updated")]
pub struct DerivedError {
    pub index: &'static str,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Why following the feed (or a full scan) stopped; the follower tries again.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("the database could not be read")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Derived(#[from] DerivedError),
    #[error("applying a page of changes panicked")]
    Panicked,
}

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
    /// Applies one change. An error is taken as passing (a full disk, say): the
    /// follower discards what is uncommitted and applies the changes again. A
    /// change that can never apply (a stored document that does not parse) is the
    /// index's to log and leave out.
    fn apply(&self, change: &Applied<'_>) -> Result<(), DerivedError>;
    /// Every change up to `seq` has been applied; a durable index commits here.
    fn applied_through(&self, _seq: i64) -> Result<(), DerivedError> {
        Ok(())
    }
    /// Forgets every change applied since the last successful
    /// [`Derived::applied_through`]: the follower applies them again next.
    fn discard_uncommitted(&self) {}
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
    /// Every change up to and including this sequence number is applied, and the
    /// follower has reached the end of the feed since it started.
    Applied(i64),
    /// Every change up to and including this sequence number is applied; the
    /// follower is still working through the backlog it found at start-up.
    CatchingUp(i64),
}

impl Progress {
    /// The last change applied; `None` while rebuilding.
    pub fn applied(self) -> Option<i64> {
        match self {
            Progress::Rebuilding => None,
            Progress::Applied(seq) | Progress::CatchingUp(seq) => Some(seq),
        }
    }
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
            .filter_map(|track| track.progress.borrow().applied())
            .min()
            .unwrap_or(0)
    }

    /// Whether any of the indexes is still working through the backlog it found at
    /// start-up (or left by its rebuild).
    pub fn is_catching_up(&self) -> bool {
        self.tracks
            .iter()
            .any(|track| matches!(*track.progress.borrow(), Progress::CatchingUp(_)))
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
                    .wait_for(|progress| progress.applied().is_none_or(|applied| applied >= seq))
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
    /// Held by the follower while it applies and commits a page; see
    /// [`Follower::paused_by`].
    pause: Option<Arc<Mutex<()>>>,
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
            (None, position_after(start, latest))
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
            pause: None,
        };
        Ok((follower, position))
    }

    /// While `pause` is held elsewhere the follower applies nothing (it finishes
    /// the page it is on first): lets a test watch a server whose index lags.
    pub fn paused_by(mut self, pause: Arc<Mutex<()>>) -> Follower {
        self.pause = Some(pause);
        self
    }

    /// Builds the indexes that need it from a full scan of the database (nothing when
    /// none does). Returns the feed position to follow from, which the shared
    /// position then reads.
    pub async fn rebuild(&mut self) -> Result<i64, FollowError> {
        let Some((scanning, latest)) = &self.pending_scan else {
            // Rebuilding is only ever set together with a pending scan.
            return Ok(self.progress.borrow().applied().unwrap_or(0));
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
            index.applied_through(latest)?;
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
        self.progress.send_replace(position_after(start, latest));
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
    ) -> Result<(), FollowError> {
        if !keep_employers && targets.iter().all(|index| index.loads_raw(entity)) {
            return Ok(self.scan_raw(entity, targets).await?);
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
                    index.apply(&change)?;
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

    /// Applies the records `ids` of `entity` as they are now, absent ones as
    /// deleted. The indexes' work runs off the async threads (a page of search
    /// documents is a few hundred milliseconds of analysis).
    async fn apply_records(
        &self,
        entity: Entity,
        ids: Vec<String>,
        records: HashMap<String, Record>,
    ) -> Result<(), FollowError> {
        let targets: Vec<Arc<dyn Derived>> = self
            .derived
            .iter()
            .filter(|index| index.follows(entity))
            .cloned()
            .collect();
        if targets.is_empty() || ids.is_empty() {
            return Ok(());
        }
        let employers =
            if entity == Entity::Vacancy && targets.iter().any(|index| index.needs_employer()) {
                let mut wanted: Vec<&str> = records
                    .values()
                    .filter_map(|record| record.columns.employer_id.as_deref())
                    .collect();
                wanted.sort_unstable();
                wanted.dedup();
                self.store.get_many(Entity::Employer, &wanted).await?
            } else {
                HashMap::new()
            };
        tokio::task::spawn_blocking(move || {
            for id in &ids {
                let record = records.get(id);
                let employer = record
                    .filter(|_| entity == Entity::Vacancy)
                    .and_then(|record| record.columns.employer_id.as_deref())
                    .and_then(|employer_id| employers.get(employer_id));
                let change = Applied {
                    entity,
                    id,
                    record,
                    employer,
                };
                for index in &targets {
                    index.apply(&change)?;
                }
            }
            Ok(())
        })
        .await
        .map_err(|_| FollowError::Panicked)?
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
        let start = loop {
            match self.rebuild().await {
                Ok(start) => break start,
                Err(error) => {
                    tracing::warn!(error = %crate::error::error_chain(&error), "index rebuild failed; retrying");
                    self.discard_uncommitted();
                    tokio::time::sleep(RETRY_AFTER_FAILURE).await;
                }
            }
        };
        // Every change through `committed` is applied and committed; through
        // `position`, applied.
        let mut committed = start;
        let mut position = start;
        let mut catching_up = matches!(*self.progress.borrow(), Progress::CatchingUp(_));
        let mut last_commit = Instant::now();
        // Where and when the backlog being worked through began, for the log.
        let mut backlog: Option<(i64, Instant)> = None;
        loop {
            let pause = self.pause.clone();
            let turn = match &pause {
                Some(pause) => Some(pause.lock().await),
                None => None,
            };
            let (reached_end, idle) = match self.follow_once(position).await {
                Ok(Some(page)) => {
                    if page.more && backlog.is_none() {
                        backlog = Some((position, Instant::now()));
                    }
                    position = page.newest;
                    (!page.more, false)
                }
                Ok(None) => (true, true),
                Err(error) => {
                    tracing::warn!(error = %crate::error::error_chain(&error), "changes not applied; applying them again from the last commit");
                    self.discard_uncommitted();
                    position = committed;
                    drop(turn);
                    tokio::time::sleep(RETRY_AFTER_FAILURE).await;
                    continue;
                }
            };
            let commit_now = position > committed
                && (reached_end || last_commit.elapsed() >= BACKLOG_COMMIT_INTERVAL);
            if commit_now {
                if let Err(error) = self.commit(position) {
                    tracing::warn!(error = %crate::error::error_chain(&error), "index commit failed; applying the changes again from the last commit");
                    self.discard_uncommitted();
                    position = committed;
                    drop(turn);
                    tokio::time::sleep(RETRY_AFTER_FAILURE).await;
                    continue;
                }
                committed = position;
                last_commit = Instant::now();
                if let Some((from, began)) = backlog.filter(|_| reached_end) {
                    tracing::info!(
                        from_seq = from,
                        to_seq = committed,
                        elapsed_ms = began.elapsed().as_millis() as u64,
                        "caught up with a backlog of changes"
                    );
                    backlog = None;
                }
            }
            catching_up &= !(reached_end && position == committed);
            let now = if catching_up {
                Progress::CatchingUp(committed)
            } else {
                Progress::Applied(committed)
            };
            self.progress.send_if_modified(|progress| {
                let changed = *progress != now;
                *progress = now;
                changed
            });
            drop(turn);
            if idle {
                tokio::select! {
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    _ = self.wake.notified() => {}
                }
            }
        }
    }

    fn commit(&self, seq: i64) -> Result<(), DerivedError> {
        for index in &self.derived {
            index.applied_through(seq)?;
        }
        Ok(())
    }

    fn discard_uncommitted(&self) {
        for index in &self.derived {
            index.discard_uncommitted();
        }
    }

    /// Applies the next page of changes after `last`: each record changed in it is
    /// read once, as it is now, with one query per kind.
    async fn follow_once(&self, last: i64) -> Result<Option<FeedPage>, FollowError> {
        let changes = self.store.changes_since(last, FEED_PAGE).await?;
        let Some(newest) = changes.last().map(|change| change.seq) else {
            return Ok(None);
        };
        let more = changes.len() >= FEED_PAGE as usize;
        let reapplies_vacancies = self.derived.iter().any(|index| index.needs_employer());
        for entity in [Entity::Employer, Entity::Vacancy, Entity::Worker] {
            if !self.derived.iter().any(|index| index.follows(entity)) {
                continue;
            }
            let mut seen = HashSet::new();
            let ids: Vec<&str> = changes
                .iter()
                .filter(|change| change.entity == entity)
                .map(|change| change.entity_id.as_str())
                .filter(|id| seen.insert(*id))
                .collect();
            if ids.is_empty() {
                continue;
            }
            let records = self.store.get_many(entity, &ids).await?;
            let owned = ids.iter().map(|id| id.to_string()).collect();
            self.apply_records(entity, owned, records).await?;
            if entity == Entity::Employer && reapplies_vacancies {
                for employer_id in ids {
                    self.reapply_vacancies_of(employer_id).await?;
                }
            }
        }
        Ok(Some(FeedPage { newest, more }))
    }

    /// An employer's name is part of its vacancies' search documents.
    async fn reapply_vacancies_of(&self, employer_id: &str) -> Result<(), FollowError> {
        let mut after_id = None;
        loop {
            let mut filter = ListFilter {
                after_id: after_id.clone(),
                limit: SCAN_PAGE,
                ..ListFilter::default()
            };
            filter.columns.employer_id = Some(employer_id.to_string());
            let page = self.store.list(Entity::Vacancy, &filter).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after_id = Some(last.id.clone());
            let ids = page.iter().map(|record| record.id.clone()).collect();
            let records = page
                .into_iter()
                .map(|record| (record.id.clone(), record))
                .collect();
            self.apply_records(Entity::Vacancy, ids, records).await?;
        }
    }
}

/// One page of the feed, applied.
struct FeedPage {
    /// The last sequence number in it.
    newest: i64,
    /// Whether the page was full, so more changes may wait.
    more: bool,
}

/// Where a follower stands once every change through `start` is applied and the
/// feed ended at `latest` when it looked.
fn position_after(start: i64, latest: i64) -> Progress {
    if start < latest {
        Progress::CatchingUp(start)
    } else {
        Progress::Applied(start)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use jobmatch_store::{Columns, NewRecord};

    use super::*;

    /// A durable index of employer ids whose first `failures` applies fail, as a
    /// full disk would make them.
    #[derive(Default)]
    struct Flaky {
        failures: AtomicUsize,
        uncommitted: std::sync::Mutex<BTreeSet<String>>,
        committed: std::sync::Mutex<BTreeSet<String>>,
    }

    impl Derived for Flaky {
        fn apply(&self, change: &Applied<'_>) -> Result<(), DerivedError> {
            let failing = self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok();
            if failing {
                return Err(DerivedError {
                    index: "flaky",
                    source: "no space left on device".into(),
                });
            }
            self.uncommitted
                .lock()
                .unwrap()
                .insert(change.id.to_string());
            Ok(())
        }

        fn applied_through(&self, _seq: i64) -> Result<(), DerivedError> {
            let applied = std::mem::take(&mut *self.uncommitted.lock().unwrap());
            self.committed.lock().unwrap().extend(applied);
            Ok(())
        }

        fn discard_uncommitted(&self) {
            self.uncommitted.lock().unwrap().clear();
        }

        fn resume_from(&self) -> Option<i64> {
            Some(0)
        }
    }

    #[tokio::test]
    async fn a_change_an_index_failed_to_take_is_applied_again_not_skipped() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite:{}", directory.path().join("feed.db").display());
        let store = Store::connect(&url).await.expect("SQLite store");
        let mut written = BTreeSet::new();
        for id in ["e1", "e2", "e3"] {
            store
                .insert(
                    Entity::Employer,
                    NewRecord {
                        id,
                        source: None,
                        external_id: None,
                        columns: &Columns::default(),
                        body: &serde_json::json!({"name": id}),
                    },
                )
                .await
                .expect("employer stored");
            written.insert(id.to_string());
        }
        let index = Arc::new(Flaky {
            failures: AtomicUsize::new(2),
            ..Flaky::default()
        });
        let (follower, position) =
            Follower::new(store.clone(), vec![index.clone() as Arc<dyn Derived>])
                .await
                .expect("follower");
        tokio::spawn(follower.run(None));
        let latest = store.latest_change_seq().await.expect("feed readable");
        assert!(
            position.wait_for(latest, Duration::from_secs(30)).await,
            "the follower went past its failures"
        );
        assert_eq!(*index.committed.lock().unwrap(), written);
        assert_eq!(index.failures.load(Ordering::SeqCst), 0);
    }
}
