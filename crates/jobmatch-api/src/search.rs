//! The vacancy search index as a structure derived from the database.

use jobmatch_domain::resources::VacancyInput;
use jobmatch_search::{OpenOutcome, SearchError, SearchIndex};
use jobmatch_store::Entity;
use serde::Deserialize;

use crate::follower::{Applied, Derived};

pub struct Search {
    pub index: SearchIndex,
    /// The change-feed position the index on disk was committed at, when it could
    /// be reopened; `None` when it was (re)built empty and needs a full scan.
    resume_from: Option<i64>,
}

impl Search {
    /// Opens the index under `directory` (in memory when `None`), or starts an empty
    /// one when it is missing, corrupt or of an older schema.
    pub fn open(directory: Option<&std::path::Path>) -> Result<Search, SearchError> {
        let (index, outcome) = SearchIndex::open_or_create(directory)?;
        let resume_from = match outcome {
            OpenOutcome::Opened { seq } => Some(seq),
            OpenOutcome::Rebuilt { reason } => {
                tracing::info!(?reason, "search index will be rebuilt from the database");
                None
            }
        };
        Ok(Search { index, resume_from })
    }
}

impl Derived for Search {
    fn apply(&self, change: &Applied<'_>) {
        if change.entity != Entity::Vacancy {
            return;
        }
        let outcome = match change.record {
            Some(record) => match VacancyInput::deserialize(&record.body) {
                Ok(vacancy) => {
                    let employer_name = change
                        .employer
                        .and_then(|employer| employer.body.get("name"))
                        .and_then(|name| name.as_str())
                        .unwrap_or_default();
                    self.index
                        .upsert(change.id, &vacancy, employer_name, record.created_at)
                }
                Err(error) => {
                    tracing::error!(id = change.id, %error, "stored vacancy does not read as a vacancy");
                    Ok(())
                }
            },
            None => self.index.delete(change.id),
        };
        if let Err(error) = outcome {
            tracing::error!(id = change.id, error = %crate::error::error_chain(&error), "search index not updated");
        }
    }

    fn applied_through(&self, seq: i64) {
        if let Err(error) = self.index.commit(seq) {
            tracing::error!(seq, error = %crate::error::error_chain(&error), "search index commit failed");
        }
    }

    fn resume_from(&self) -> Option<i64> {
        self.resume_from
    }

    fn follows(&self, entity: Entity) -> bool {
        matches!(entity, Entity::Vacancy | Entity::Employer)
    }

    fn needs_employer(&self) -> bool {
        true
    }
}
