//! Writing a batch of documents from one source: each item validated as a
//! single create's body is, the valid ones written in one transaction.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use jobmatch_domain::{FieldError, Reference, Valid};
use jobmatch_store::{BatchOutcome, BatchRecord, Columns, Entity, Record, Store};
use serde_json::{Map, Value};

use crate::error::ServiceError;
use crate::resource::{ResourceKind, new_id};
use crate::validation::validated;

/// One item of a batch as received: the JSON object of a create body, or the
/// errors that kept it from being one.
pub type BatchItem = Result<Map<String, Value>, Vec<FieldError>>;

/// What became of one document of a batch ([`store_batch`]).
#[derive(Debug, Clone, PartialEq)]
pub enum BatchItemOutcome {
    Created {
        id: String,
    },
    /// Its `external_id` named a stored record, which now holds this document:
    /// `changed` says whether that took a new version. `consent_kept`: the
    /// document would have changed a consent staff decided, and the stored
    /// `consent` was kept instead.
    Existing {
        id: String,
        version: i64,
        changed: bool,
        consent_kept: bool,
    },
    /// Invalid: stored nothing. The errors are those a single create would answer
    /// with in its 422.
    Rejected {
        errors: Vec<FieldError>,
    },
}

/// Validates and stores a batch of documents sent by `source` (the API key, or an
/// import's source name), the way a create request stores one: each item is
/// validated exactly as a POST body is, a vacancy must name an existing employer,
/// and an `external_id` already stored for this source updates that record (or
/// leaves it untouched when nothing changed) instead of duplicating it. Invalid
/// items are reported and skipped; every valid one is written in one transaction.
///
/// `items` are the parsed bodies, or the errors that kept an item from becoming a
/// JSON object. The outcomes come back in the same order.
///
/// Validation runs on a blocking thread, so that a thousand documents do not
/// hold up the async worker; it stops at the next item once `abandoned` is
/// set (the request was cut off), and nothing is written then.
pub async fn store_batch<R: ResourceKind>(
    store: &Store,
    reference: &'static Reference,
    source: &str,
    items: Vec<BatchItem>,
    abandoned: &AbandonOnDrop,
) -> Result<Vec<BatchItemOutcome>, ServiceError> {
    let items = prepare_batch::<R>(store, source, items).await?;
    let flag = abandoned.flag();
    let validated =
        tokio::task::spawn_blocking(move || validate_items::<R>(items, reference, &flag))
            .await
            .map_err(ServiceError::internal)?
            .ok_or(ServiceError::Abandoned)?;
    write_batch::<R>(store, source, validated).await
}

/// Set when dropped: a request's future is dropped when the time limit cuts it
/// off or the client goes away, and work it handed to a blocking thread, which
/// cannot be dropped, checks [`AbandonOnDrop::flag`] to stop too.
#[derive(Default)]
pub struct AbandonOnDrop(Arc<AtomicBool>);

impl AbandonOnDrop {
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// [`validate_item`] for each item, in order; None as soon as `abandoned` is set.
pub fn validate_items<R: ResourceKind>(
    items: Vec<BatchItem>,
    reference: &Reference,
    abandoned: &AtomicBool,
) -> Option<Vec<Result<ValidDocument, Vec<FieldError>>>> {
    items
        .into_iter()
        .map(|item| {
            if abandoned.load(Ordering::Relaxed) {
                return None;
            }
            Some(item.and_then(|object| validate_item::<R>(object, reference)))
        })
        .collect()
}

/// The first step of [`store_batch`], for callers that validate the items
/// themselves (a bulk import spreads validation over every core): gives each
/// re-sent item what the server filled in when its record was stored
/// ([`ResourceKind::keep_server_filled_fields`]). Then [`validate_item`] each
/// item and [`write_batch`] the results.
pub async fn prepare_batch<R: ResourceKind>(
    store: &Store,
    source: &str,
    items: Vec<BatchItem>,
) -> Result<Vec<BatchItem>, ServiceError> {
    let stored = stored_by_sent_external_id::<R>(store, source, &items).await?;
    if stored.is_empty() {
        return Ok(items);
    }
    Ok(items
        .into_iter()
        .map(|item| {
            let mut object = item?;
            if let Some(record) = sent_external_id(&object).and_then(|key| stored.get(key)) {
                R::keep_server_filled_fields(&mut object, &record.body);
            }
            Ok(object)
        })
        .collect())
}

/// The stored records that the items' `external_id`s (as sent, trimmed as
/// validation trims them) name.
async fn stored_by_sent_external_id<R: ResourceKind>(
    store: &Store,
    source: &str,
    items: &[BatchItem],
) -> Result<HashMap<String, Record>, ServiceError> {
    let keys: Vec<&str> = items
        .iter()
        .filter_map(|item| item.as_ref().ok().and_then(sent_external_id))
        .collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(store
        .get_many_by_external_id(R::ENTITY, source, &keys)
        .await?)
}

fn sent_external_id(object: &Map<String, Value>) -> Option<&str> {
    object
        .get("external_id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|key| !key.is_empty())
}

/// A batch item that passed validation, as the store will keep it: its filter
/// columns, its external id and its JSON text. Serialising here rather than
/// while writing lets a bulk import do it on every core, outside the
/// single-writer transaction.
#[derive(Debug, Clone)]
pub struct ValidDocument {
    external_id: Option<String>,
    columns: Columns,
    /// As [`jobmatch_store::BatchRecord::body`] wants it.
    body: String,
}

impl ValidDocument {
    fn of<R: ResourceKind>(document: &Valid<R>) -> Result<Self, serde_json::Error> {
        // Straight from the document, in its fields' order (a third of the cost
        // of going through `Value`); the store compares a re-sent record with
        // one a single create stored, keys sorted, by meaning.
        let body = serde_json::to_string(document)?;
        Ok(ValidDocument {
            external_id: document.external_id().map(str::to_string),
            columns: document.columns(),
            body,
        })
    }
}

/// One batch item through the same validation as a create request's body.
pub fn validate_item<R: ResourceKind>(
    object: Map<String, Value>,
    reference: &Reference,
) -> Result<ValidDocument, Vec<FieldError>> {
    let document = validated::<R>(object, reference)?;
    // A validated document always serialises (string keys, finite numbers);
    // should it not, the item fails alone rather than the batch.
    ValidDocument::of(&document).map_err(|error| {
        vec![FieldError::new(
            "body",
            format!("could not be stored: {error}"),
        )]
    })
}

/// Stores the valid documents of a batch in one transaction; see [`store_batch`].
/// Vacancies naming an employer that does not exist are rejected here, as the
/// create request rejects them.
pub async fn write_batch<R: ResourceKind>(
    store: &Store,
    source: &str,
    documents: Vec<Result<ValidDocument, Vec<FieldError>>>,
) -> Result<Vec<BatchItemOutcome>, ServiceError> {
    let mut documents = documents;
    if R::ENTITY == Entity::Vacancy {
        reject_missing_employers(store, &mut documents).await?;
    }
    let ids: Vec<Option<String>> = documents
        .iter()
        .map(|document| document.is_ok().then(new_id))
        .collect();
    let records: Vec<BatchRecord<'_>> = documents
        .iter()
        .zip(&ids)
        .filter_map(|(document, id)| {
            let (document, id) = (document.as_ref().ok()?, id.as_deref()?);
            Some(BatchRecord {
                id,
                external_id: document.external_id.as_deref(),
                columns: &document.columns,
                body: &document.body,
            })
        })
        .collect();
    let mut writes = store
        .upsert_many(R::ENTITY, source, &records)
        .await?
        .into_iter();
    documents
        .iter()
        .map(|document| match document {
            Err(errors) => Ok(BatchItemOutcome::Rejected {
                errors: errors.clone(),
            }),
            // The store answers one write per record it was given, in order.
            Ok(_) => match writes.next() {
                Some(write) => Ok(match write.outcome {
                    BatchOutcome::Created => BatchItemOutcome::Created { id: write.id },
                    BatchOutcome::Updated | BatchOutcome::Unchanged => BatchItemOutcome::Existing {
                        id: write.id,
                        version: write.version,
                        changed: write.outcome == BatchOutcome::Updated,
                        consent_kept: write.consent_kept,
                    },
                    BatchOutcome::Erased => BatchItemOutcome::Rejected {
                        errors: vec![FieldError::new("external_id", ERASED_MESSAGE)],
                    },
                }),
                None => Err(ServiceError::internal(std::io::Error::other(
                    "a batch item was not written",
                ))),
            },
        })
        .collect()
}

/// Why a batch item naming an erased profile is refused.
pub const ERASED_MESSAGE: &str = "names a profile this source sent before and that was erased; it is not registered again from this source until an admin lifts the erasure (jobmatch erasures lift)";

/// Turns each valid vacancy whose `employer_id` names no employer into a rejection,
/// with the create request's message, so that it cannot fail the whole batch.
async fn reject_missing_employers(
    store: &Store,
    documents: &mut [Result<ValidDocument, Vec<FieldError>>],
) -> Result<(), ServiceError> {
    let named: Vec<Option<String>> = documents
        .iter()
        .map(|document| {
            document
                .as_ref()
                .ok()
                .and_then(|document| document.columns.employer_id.clone())
        })
        .collect();
    let distinct: Vec<&str> = named
        .iter()
        .flatten()
        .map(String::as_str)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let existing = store.existing_ids(Entity::Employer, &distinct).await?;
    for (document, employer) in documents.iter_mut().zip(named) {
        if let Some(employer) = employer
            && !existing.contains(&employer)
        {
            *document = Err(vec![FieldError::new(
                "employer_id",
                "no employer has this id",
            )]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_validation_stops_once_the_request_is_abandoned() {
        use jobmatch_domain::resources::WorkerInput;
        let reference = Reference::embedded();
        let items = || -> Vec<BatchItem> { vec![Ok(Map::new()), Err(Vec::new())] };
        let request = AbandonOnDrop::default();
        let flag = request.flag();
        let validated = validate_items::<WorkerInput>(items(), reference, &flag);
        assert_eq!(validated.map(|items| items.len()), Some(2));
        drop(request);
        assert!(validate_items::<WorkerInput>(items(), reference, &flag).is_none());
    }
}
