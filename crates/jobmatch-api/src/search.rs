//! The vacancy search index as a structure derived from the database, and what a
//! search waits for.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::HttpRequest;
use actix_web::http::header;
use jobmatch_domain::resources::VacancyInput;
use jobmatch_search::{OpenOptions, OpenOutcome, SearchError, SearchIndex};
use jobmatch_store::Entity;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::follower::{Applied, Derived, DerivedError};

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

/// The change-feed position of the last write each API key made through this
/// server, so that a search waits for the index to reflect the searching key's
/// own writes and for nothing else (a bulk import, another client's writes).
///
/// Keys are told apart by a digest of the bearer token; only writes that were
/// authorized and committed are noted, so the map holds at most one entry per
/// valid key that wrote.
#[derive(Default)]
pub struct OwnWrites {
    positions: Mutex<HashMap<[u8; 32], i64>>,
}

/// Most keys remembered; beyond, the map starts over (those keys' next search
/// then does not wait for their last write).
const OWN_WRITES_CAPACITY: usize = 10_000;

impl OwnWrites {
    /// Notes that the key of `request` wrote, committing at or before `seq`.
    pub fn note(&self, request: &HttpRequest, seq: i64) {
        let Some(client) = client_of(request) else {
            return;
        };
        let mut positions = self
            .positions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if positions.len() >= OWN_WRITES_CAPACITY && !positions.contains_key(&client) {
            positions.clear();
        }
        let position = positions.entry(client).or_insert(seq);
        *position = (*position).max(seq);
    }

    /// Where the last write of the key of `request` stands in the feed, if it wrote
    /// through this server.
    pub fn last(&self, request: &HttpRequest) -> Option<i64> {
        let client = client_of(request)?;
        self.positions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&client)
            .copied()
    }
}

/// A digest of the request's bearer token (never kept in the clear).
fn client_of(request: &HttpRequest) -> Option<[u8; 32]> {
    let value = request.headers().get(header::AUTHORIZATION)?.as_bytes();
    let token = match value.iter().position(|byte| *byte == b' ') {
        Some(space) => &value[space + 1..],
        None => value,
    };
    Some(Sha256::digest(token.trim_ascii()).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn with_key(key: &str) -> HttpRequest {
        TestRequest::default()
            .insert_header((header::AUTHORIZATION, format!("Bearer {key}")))
            .to_http_request()
    }

    #[test]
    fn a_key_waits_only_for_its_own_last_write() {
        let own_writes = OwnWrites::default();
        own_writes.note(&with_key("jm_writer"), 40);
        own_writes.note(&with_key("jm_writer"), 7);
        assert_eq!(own_writes.last(&with_key("jm_writer")), Some(40));
        assert_eq!(own_writes.last(&with_key("jm_reader")), None);
        assert_eq!(
            own_writes.last(&TestRequest::default().to_http_request()),
            None
        );
    }
}
