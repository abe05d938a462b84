//! The matching index as a structure derived from the database.

use std::sync::{RwLock, RwLockReadGuard};

use jobmatch_domain::Reference;
use jobmatch_domain::resources::{VacancyInput, WorkerInput};
use jobmatch_matching::{MatchError, MatchIndex, Weights};
use jobmatch_store::Entity;
use serde::Deserialize;

use crate::follower::{Applied, Derived};

/// The in-memory matching index, shared by request handlers (readers) and the
/// change-feed follower (the only writer).
pub struct Matching {
    index: RwLock<MatchIndex<'static>>,
}

impl Matching {
    pub fn new(reference: &'static Reference, weights: Weights) -> Result<Matching, MatchError> {
        Ok(Matching {
            index: RwLock::new(MatchIndex::new(reference, weights)?),
        })
    }

    /// Read access for a query; queries take milliseconds, so the follower waits
    /// at most that long to apply a change.
    pub fn read(&self) -> RwLockReadGuard<'_, MatchIndex<'static>> {
        self.index
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Derived for Matching {
    fn apply(&self, change: &Applied<'_>) {
        let mut index = self
            .index
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
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
    }
}
