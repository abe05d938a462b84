//! The matching index as a structure derived from the database.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use chrono::Utc;

use jobmatch_domain::Reference;
use jobmatch_domain::resources::{VacancyInput, WorkerInput};
use jobmatch_matching::{MatchError, MatchIndex, VacancyProfile, Weights, WorkerProfile};
use jobmatch_store::{Entity, RawRecord};
use serde::Deserialize;

use crate::follower::{Applied, Derived, DerivedError};

/// The in-memory matching index, shared by request handlers (readers) and the
/// change-feed follower (the only writer).
pub struct Matching {
    index: RwLock<MatchIndex<'static>>,
    reference: &'static Reference,
    /// Whether the `standing-lists` thread runs; without it the follower offers a
    /// large batch to the standing lists itself.
    standing_thread: AtomicBool,
}

/// A profile parsed from its stored document, ready to enter the index.
enum Parsed {
    Worker(WorkerProfile),
    Vacancy(VacancyProfile),
}

impl Matching {
    pub fn new(reference: &'static Reference, weights: Weights) -> Result<Matching, MatchError> {
        Ok(Matching {
            index: RwLock::new(MatchIndex::new(reference, weights)?),
            reference,
            standing_thread: AtomicBool::new(false),
        })
    }

    /// Read access for a query; queries take milliseconds, so the follower waits
    /// at most that long to apply a change.
    pub fn read(&self) -> RwLockReadGuard<'_, MatchIndex<'static>> {
        self.index
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, MatchIndex<'static>> {
        self.index
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts the thread that keeps the standing candidate lists of open vacancies
    /// (`crates/jobmatch-matching/src/index/standing.rs`) in the background. It
    /// first offers the workers of a large batch of changes to the lists, a few per
    /// read lock. It then builds the missing lists: after start-up, after an import
    /// dropped them, and each new day. It waits until the lists have not been
    /// dropped for [`STANDING_QUIET`], so that it does not rebuild during an
    /// import, builds a few lists per read lock so that the follower is never held
    /// up long, rests as long as it worked (half a core at most), and ends with
    /// the server.
    pub fn spawn_standing_builder(matching: &Arc<Matching>) {
        let weak = Arc::downgrade(matching);
        let spawned = std::thread::Builder::new()
            .name("standing-lists".to_string())
            .spawn(move || {
                let mut seen_epoch = None;
                let mut quiet_since = Instant::now();
                loop {
                    let Some(matching) = weak.upgrade() else {
                        return;
                    };
                    let began = Instant::now();
                    let step = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        let index = matching.read();
                        let today = Utc::now().date_naive();
                        let epoch = index.standing_epoch();
                        if seen_epoch != Some(epoch) {
                            seen_epoch = Some(epoch);
                            quiet_since = Instant::now();
                        }
                        let settled = index.settle_unsettled(SETTLE_CHUNK);
                        if settled > 0 || quiet_since.elapsed() < STANDING_QUIET {
                            settled
                        } else {
                            index.build_missing_standing(today, STANDING_CHUNK)
                        }
                    }));
                    let worked = step.unwrap_or_else(|_| {
                        // A bug, already reported by the panic hook. Lists cut
                        // short are dropped (settling sees them marked) and the
                        // thread goes on, so that lists keep being made.
                        tracing::error!(
                            "standing-list upkeep panicked; every list is dropped and built again"
                        );
                        matching.write().settle_standing(Utc::now().date_naive());
                        0
                    });
                    drop(matching);
                    if worked == 0 {
                        std::thread::sleep(STANDING_IDLE);
                    } else {
                        // Half of one core at most: requests keep the rest.
                        std::thread::sleep(began.elapsed());
                    }
                }
            });
        match spawned {
            Ok(_) => matching.standing_thread.store(true, Ordering::Release),
            Err(error) => {
                tracing::warn!(%error, "no background thread for standing candidate lists; default queries build them as they come, and the follower settles large batches itself")
            }
        }
    }
}

/// How long the standing lists must stay undropped before they are rebuilt.
const STANDING_QUIET: Duration = Duration::from_secs(1);
/// How long the builder rests when there is nothing to build.
const STANDING_IDLE: Duration = Duration::from_millis(500);
/// Lists built per read lock (a few milliseconds each at national scale).
const STANDING_CHUNK: usize = 4;
/// Changed workers offered to the lists per read lock (under a millisecond
/// each at national scale).
const SETTLE_CHUNK: usize = 16;

impl Matching {
    /// Parses one stored document into its profile.
    fn parse(&self, entity: Entity, raw: &RawRecord) -> Result<Option<Parsed>, String> {
        let error = |error: serde_json::Error| error.to_string();
        Ok(match entity {
            Entity::Worker => {
                let input: WorkerInput = serde_json::from_str(&raw.body).map_err(error)?;
                Some(Parsed::Worker(WorkerProfile::from_input(
                    &raw.id,
                    &input,
                    self.reference,
                )))
            }
            Entity::Vacancy => {
                let input: VacancyInput = serde_json::from_str(&raw.body).map_err(error)?;
                Some(Parsed::Vacancy(VacancyProfile::from_input(
                    &raw.id,
                    &input,
                    self.reference,
                )))
            }
            Entity::Employer => None,
        })
    }
}

impl Derived for Matching {
    fn loads_raw(&self, entity: Entity) -> bool {
        matches!(entity, Entity::Worker | Entity::Vacancy)
    }

    /// Parses the page on every core (parsing JSON is most of the cost of a
    /// start-up scan), then takes the write lock once for the whole page.
    fn load_page(&self, entity: Entity, page: &[RawRecord]) {
        let threads = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1);
        let chunk = page.len().div_ceil(threads).max(1);
        let parsed: Vec<(&RawRecord, Result<Option<Parsed>, String>)> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = page
                    .chunks(chunk)
                    .map(|records| {
                        scope.spawn(move || {
                            records
                                .iter()
                                .map(|raw| (raw, self.parse(entity, raw)))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|handle| {
                        handle
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    })
                    .collect()
            });
        let mut index = self.write();
        for (raw, outcome) in parsed {
            let outcome = outcome.and_then(|profile| match profile {
                Some(Parsed::Worker(profile)) => index
                    .upsert_worker_profile(&profile)
                    .map_err(|error| error.to_string()),
                Some(Parsed::Vacancy(profile)) => index
                    .upsert_vacancy_profile(profile)
                    .map_err(|error| error.to_string()),
                None => Ok(()),
            });
            if let Err(error) = outcome {
                tracing::error!(entity = entity.as_str(), id = raw.id, %error, "record left out of matching");
            }
        }
    }

    /// Settles the standing candidate lists once per batch of changes; a large
    /// batch is offered to them by the `standing-lists` thread, or here when that
    /// thread could not start.
    fn applied_through(&self, _seq: i64) -> Result<(), DerivedError> {
        let mut index = self.write();
        index.settle_standing(Utc::now().date_naive());
        if !self.standing_thread.load(Ordering::Acquire) {
            while index.settle_unsettled(usize::MAX) > 0 {}
        }
        Ok(())
    }

    /// In memory, nothing fails for a passing reason: a record that cannot be
    /// applied never will be, and is logged and left out.
    fn apply(&self, change: &Applied<'_>) -> Result<(), DerivedError> {
        let mut index = self.write();
        let outcome = match (change.entity, change.record) {
            (Entity::Worker, Some(record)) => WorkerInput::deserialize(&record.body)
                .map_err(|error| error.to_string())
                .and_then(|worker| {
                    index
                        .upsert_worker(change.id, &worker)
                        .map_err(|error| error.to_string())
                }),
            (Entity::Worker, None) => {
                index.remove_worker(change.id);
                Ok(())
            }
            (Entity::Vacancy, Some(record)) => VacancyInput::deserialize(&record.body)
                .map_err(|error| error.to_string())
                .and_then(|vacancy| {
                    index
                        .upsert_vacancy(change.id, &vacancy)
                        .map_err(|error| error.to_string())
                }),
            (Entity::Vacancy, None) => {
                index.remove_vacancy(change.id);
                Ok(())
            }
            (Entity::Employer, _) => Ok(()),
        };
        if let Err(error) = outcome {
            // Stored documents passed validation, so this means a stored document no
            // longer reads as the current type: worth an operator's attention.
            tracing::error!(entity = change.entity.as_str(), id = change.id, %error, "record left out of matching");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jobmatch_store::Store;
    use serde_json::{Value, json};

    use super::*;
    use crate::follower::Follower;
    use crate::records::store_document;
    use crate::validation::validated;
    use jobmatch_domain::Valid;

    fn worker(phone: &str) -> Valid<WorkerInput> {
        let skill = Reference::embedded().taxonomy.skills()[0].id.clone();
        let Value::Object(object) = json!({
            "full_name": "សុខ ចាន់ធី",
            "sex": "female",
            "date_of_birth": "1995-04-12",
            "phone": phone,
            "province_code": "22",
            "returned_from": {"country": "TH", "province_code": "27", "returned_on": "2025-07-20"},
            "skills": [{"skill": skill, "level": 3, "years": 4, "certified": true}],
            "preferred_sectors": ["garment"],
            "max_travel_km": 40,
            "willing_to_relocate": true,
            "expected_wage_usd": 230,
            "consent": {"share_with_employers": false}
        }) else {
            unreachable!("a JSON object literal")
        };
        validated(object, Reference::embedded()).expect("a valid worker")
    }

    #[tokio::test]
    async fn a_follower_fills_the_matching_index_from_a_sqlite_store_without_a_server() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite:{}", directory.path().join("feed.db").display());
        let store = Store::connect(&url).await.expect("SQLite store");
        // Stored before the follower starts: reaches the index by the full scan.
        let (_, scanned) = store_document(&store, "test", &worker("012 345 678"))
            .await
            .expect("worker stored");
        let matching = Arc::new(
            Matching::new(Reference::embedded(), Weights::default()).expect("default weights"),
        );
        let (mut follower, position) = Follower::new(store.clone(), vec![matching.clone() as _])
            .await
            .expect("follower");
        // As the server does: matching lives in memory and is built before it
        // is read (a position does not wait for an index being rebuilt).
        follower
            .rebuild()
            .await
            .expect("matching built from the store");
        tokio::spawn(follower.run(None));
        // Stored once it follows: reaches the index through the change feed.
        let (_, followed) = store_document(&store, "test", &worker("012 345 679"))
            .await
            .expect("worker stored");
        let latest = store.latest_change_seq().await.expect("feed readable");
        assert!(
            position.wait_for(latest, Duration::from_secs(30)).await,
            "the follower reached the latest change"
        );
        let index = matching.read();
        assert!(index.contains_worker(&scanned.id), "scanned worker indexed");
        assert!(
            index.contains_worker(&followed.id),
            "followed worker indexed"
        );
        assert_eq!(index.worker_count(), 2);
    }
}
