//! The vacancy search index as a structure derived from the database.

use jobmatch_domain::resources::VacancyInput;
use jobmatch_search::{OpenOptions, OpenOutcome, SearchError, SearchIndex};
use jobmatch_store::Entity;
use serde::Deserialize;

use crate::follower::{Applied, Derived, DerivedError};

/// The tantivy vacancy index, kept current by a change-feed follower.
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
        // Two indexing threads: catching up on an import keeps one busy with
        // building documents, and tantivy's indexing is the other half of the work.
        let options = OpenOptions {
            writer_threads: 2,
            ..OpenOptions::default()
        };
        let (index, outcome) = SearchIndex::open_or_create_with(directory, options)?;
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

fn not_updated(error: SearchError) -> DerivedError {
    DerivedError {
        index: "search",
        source: Box::new(error),
    }
}

impl Derived for Search {
    fn apply(&self, change: &Applied<'_>) -> Result<(), DerivedError> {
        if change.entity != Entity::Vacancy {
            return Ok(());
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
                    // Trying again cannot help; an older version must not stay
                    // searchable meanwhile.
                    tracing::error!(id = change.id, %error, "stored vacancy does not read as a vacancy; left out of search");
                    self.index.delete(change.id)
                }
            },
            None => self.index.delete(change.id),
        };
        outcome.map_err(not_updated)
    }

    fn applied_through(&self, seq: i64) -> Result<(), DerivedError> {
        self.index.commit(seq).map_err(not_updated)
    }

    fn discard_uncommitted(&self) {
        if let Err(error) = self.index.rollback() {
            tracing::error!(error = %crate::error::error_chain(&error), "search index rollback failed");
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
