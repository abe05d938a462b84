//! What employers, vacancies and workers have in common: create (or update by
//! `external_id`), read, merge-patch with optimistic concurrency, list.
//!
//! The stored body is always a document that passed validation as a whole; the
//! server-owned fields (`id`, `version`, timestamps) live beside it, never in it.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use jobmatch_domain::{FieldError, Reference, Validate};
use jobmatch_store::{
    AuditAction, AuditEvent, BatchOutcome, BatchRecord, Columns, Entity, ListFilter, NewRecord,
    Record, Store, StoreError,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::body::{MAX_BODY_BYTES, parse_object, require_json_content_type, validated};
use crate::error::ApiError;
use crate::params::{Page, page_bounds, page_from};
use crate::state::AppState;

/// A resource type as the HTTP layer sees it.
pub trait ResourceKind:
    Validate + Serialize + DeserializeOwned + ToSchema + Sized + 'static
{
    const ENTITY: Entity;
    /// For messages: "employer", "vacancy", "worker".
    const NAME: &'static str;
    /// The columns the store can filter on, derived from the document.
    fn columns(&self) -> Columns;
    fn external_id(&self) -> Option<&str>;

    /// Before a re-sent document (one whose `external_id` is stored) is validated:
    /// copies into `sent` what the server filled in when `stored` was saved and the
    /// sender left out, as long as it still holds, so that re-sending an unchanged
    /// record is recognised as unchanged. Nothing by default.
    fn keep_server_filled_fields(_sent: &mut Map<String, Value>, _stored: &Value) {}
}

/// The JSON a client sees: the server-owned fields, then the document's.
pub fn representation(record: &Record) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), Value::String(record.id.clone()));
    object.insert("version".into(), Value::from(record.version));
    object.insert(
        "created_at".into(),
        Value::String(timestamp(record.created_at)),
    );
    object.insert(
        "updated_at".into(),
        Value::String(timestamp(record.updated_at)),
    );
    if let Value::Object(fields) = &record.body {
        for (name, value) in fields {
            object.insert(name.clone(), value.clone());
        }
    }
    Value::Object(object)
}

pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A response carrying a record, its version as a strong ETag.
pub fn record_response(status: StatusCode, record: &Record) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", record.version)) {
        response.insert_header((header::ETAG, etag));
    }
    response.json(representation(record))
}

/// Reads a JSON object body of at most [`MAX_BODY_BYTES`].
pub async fn read_object(
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<Map<String, Value>, ApiError> {
    require_json_content_type(request)?;
    let bytes = payload
        .to_bytes_limited(MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge {
            limit_bytes: MAX_BODY_BYTES,
        })?
        .map_err(|error| ApiError::bad_request("body", format!("could not be read: {error}")))?;
    parse_object(&bytes)
}

/// A new record's id: a UUID v7. Its leading millisecond timestamp makes records
/// created one after the other sort together, so inserts, a bulk load above all,
/// append to the id indexes instead of rewriting pages all over them; the rest is
/// random, so ids stay unguessable.
pub fn new_id() -> String {
    let millis = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let mut random = [0u8; 10];
    rand::fill(&mut random);
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .to_string()
}

/// Ids are UUIDs; anything else cannot name a record.
pub fn check_id(id: &str) -> Result<(), ApiError> {
    match uuid::Uuid::parse_str(id) {
        Ok(parsed) if parsed.to_string() == id => Ok(()),
        // Quote at most the length of a real id: never echo a huge input back.
        _ => Err(ApiError::NotFound(format!(
            "no record has the id {:?}",
            id.chars().take(36).collect::<String>()
        ))),
    }
}

pub async fn fetch<R: ResourceKind>(state: &AppState, id: &str) -> Result<Record, ApiError> {
    check_id(id)?;
    state
        .store
        .get(R::ENTITY, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no {} has the id {id}", R::NAME)))
}

/// Stores a validated document. A document whose `external_id` this key has sent
/// before replaces that record instead of duplicating it (200 rather than 201).
pub async fn store_new<R: ResourceKind>(
    state: &AppState,
    principal: &Principal,
    document: &R,
) -> Result<(StatusCode, Record), ApiError> {
    store_document(&state.store, principal.source(), document).await
}

/// Who receives an answer that carries a returnee's profile back: its audit
/// row (a `profile_read`) commits with the write.
#[derive(Clone, Copy)]
pub struct ProfileReader<'a> {
    pub principal: &'a Principal,
    /// The `x-request-id` the client sees.
    pub request_id: &'a str,
}

impl<'a> ProfileReader<'a> {
    pub(crate) fn reads(self, worker_id: &'a str) -> AuditEvent<'a> {
        AuditEvent {
            key_id: &self.principal.key_id,
            role: self.principal.role.code(),
            action: AuditAction::ProfileRead,
            worker_id,
            vacancy_id: None,
            request_id: Some(self.request_id),
        }
    }
}

/// [`store_new`] for a document whose answer carries personal data: the write
/// and the audit row of `reader` are one transaction.
pub async fn store_new_audited<R: ResourceKind>(
    state: &AppState,
    reader: ProfileReader<'_>,
    document: &R,
) -> Result<(StatusCode, Record), ApiError> {
    store_document_for(
        &state.store,
        reader.principal.source(),
        document,
        Some(reader),
    )
    .await
}

/// Stores a validated document on behalf of `source` (the key that sent it); the
/// demo loader and bulk importers use it too, so every way in behaves alike.
pub async fn store_document<R: ResourceKind>(
    store: &Store,
    source: &str,
    document: &R,
) -> Result<(StatusCode, Record), ApiError> {
    store_document_for(store, source, document, None).await
}

/// [`store_document`], logging a read of the stored record by `reader`, if
/// given, in the write's transaction.
async fn store_document_for<R: ResourceKind>(
    store: &Store,
    source: &str,
    document: &R,
    reader: Option<ProfileReader<'_>>,
) -> Result<(StatusCode, Record), ApiError> {
    let body = serde_json::to_value(document).map_err(ApiError::internal)?;
    let columns = document.columns();
    if let Some(external_id) = document.external_id()
        && let Some(existing) = store
            .get_by_external_id(R::ENTITY, source, external_id)
            .await?
    {
        let audit = reader.map(|reader| reader.reads(&existing.id));
        let record = store
            .update_audited(
                R::ENTITY,
                &existing.id,
                None,
                &columns,
                &body,
                audit.as_ref(),
            )
            .await?;
        return Ok((StatusCode::OK, record));
    }
    let id = new_id();
    let audit = reader.map(|reader| reader.reads(&id));
    let inserted = store
        .insert_audited(
            R::ENTITY,
            NewRecord {
                id: &id,
                source: Some(source),
                external_id: document.external_id(),
                columns: &columns,
                body: &body,
            },
            audit.as_ref(),
        )
        .await;
    match inserted {
        Ok(record) => Ok((StatusCode::CREATED, record)),
        // A concurrent re-send of the same record won the race: this one updates it,
        // as it would have had it arrived a moment later.
        Err(StoreError::ExternalIdTaken { existing_id }) => {
            let audit = reader.map(|reader| reader.reads(&existing_id));
            let record = store
                .update_audited(
                    R::ENTITY,
                    &existing_id,
                    None,
                    &columns,
                    &body,
                    audit.as_ref(),
                )
                .await?;
            Ok((StatusCode::OK, record))
        }
        Err(other) => Err(other.into()),
    }
}

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
) -> Result<Vec<BatchItemOutcome>, ApiError> {
    let items = prepare_batch::<R>(store, source, items).await?;
    let flag = abandoned.flag();
    let validated = web::block(move || validate_items::<R>(items, reference, &flag))
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::Unavailable("the batch was abandoned".to_string()))?;
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
) -> Result<Vec<BatchItem>, ApiError> {
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
) -> Result<HashMap<String, Record>, ApiError> {
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
    fn of<R: ResourceKind>(document: &R) -> Result<Self, serde_json::Error> {
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
    let document = match validated::<R>(object, reference) {
        Ok(document) => document,
        Err(ApiError::Validation(errors)) => return Err(errors),
        // `validated` reports nothing else; should it ever, the item still fails alone.
        Err(other) => return Err(vec![FieldError::new("body", other.to_string())]),
    };
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
) -> Result<Vec<BatchItemOutcome>, ApiError> {
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
                None => Err(ApiError::internal(std::io::Error::other(
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
) -> Result<(), ApiError> {
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

/// The version a client expects, from `If-Match`: `*` (any), or the ETag `"3"`
/// (also written weak, `W/"3"`, or bare, `3`), as the OpenAPI document's pattern
/// says; anything else is a 400.
pub fn expected_version(request: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(value) = request.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    let quoted = text.strip_prefix("W/").unwrap_or(text);
    let digits = match quoted.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"'),
        None if quoted.len() == text.len() => Some(text),
        None => None,
    }
    .filter(|digits| {
        (1..=18).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    });
    match digits.map(str::parse::<i64>) {
        Some(Ok(version)) => Ok(Some(version)),
        _ => Err(ApiError::bad_request(
            "If-Match",
            "must be the ETag of the resource, such as \"3\"",
        )),
    }
}

/// Applies a JSON merge patch (RFC 7396) to the stored document and validates the
/// result as a whole.
pub async fn merge_patch<R: ResourceKind>(
    state: &AppState,
    request: &HttpRequest,
    existing: &Record,
    patch: Map<String, Value>,
) -> Result<(R, Option<i64>), ApiError> {
    merge::<R>(request, existing, patch)?.validated(state, existing, Vec::new())
}

/// A merge patch applied to the stored document, not yet validated: for a
/// handler whose own rules read the merged document ([`MergedPatch::object`])
/// and whose errors go into the same 422 as validation's.
pub struct MergedPatch {
    object: Map<String, Value>,
    /// Fields of the patch that are no field of the resource, set to `null`.
    unknown: Vec<FieldError>,
    expected: Option<i64>,
}

/// The first half of [`merge_patch`]: checks `If-Match` and merges `patch`
/// into the stored document.
pub fn merge<R: ResourceKind>(
    request: &HttpRequest,
    existing: &Record,
    patch: Map<String, Value>,
) -> Result<MergedPatch, ApiError> {
    let expected = expected_version(request)?;
    if let Some(version) = expected
        && version != existing.version
    {
        return Err(ApiError::PreconditionFailed {
            current: existing.version,
        });
    }
    let unknown = crate::body::unknown_fields_set_to_null::<R>(&patch);
    let mut merged = existing.body.clone();
    json_patch::merge(&mut merged, &Value::Object(patch));
    let Value::Object(object) = merged else {
        return Err(ApiError::bad_request("body", "must be a JSON object"));
    };
    Ok(MergedPatch {
        object,
        unknown,
        expected,
    })
}

impl MergedPatch {
    /// The stored document with the patch applied, as it will be validated.
    pub fn object(&self) -> &Map<String, Value> {
        &self.object
    }

    /// The second half of [`merge_patch`]: validates the merged document as a
    /// whole; `rule_errors` (the handler's own rules) are answered in the same
    /// 422 as validation's errors.
    pub fn validated<R: ResourceKind>(
        self,
        state: &AppState,
        existing: &Record,
        rule_errors: Vec<FieldError>,
    ) -> Result<(R, Option<i64>), ApiError> {
        let MergedPatch {
            object,
            unknown,
            expected,
        } = self;
        let rule_errors: Vec<FieldError> = unknown.into_iter().chain(rule_errors).collect();
        let document: R = with_rule_errors(validated(object, state.reference), rule_errors)?;
        // The sending system finds its record again by external_id; changing it would
        // make a later re-send duplicate the record instead of updating it.
        if document.external_id() != existing.external_id.as_deref() {
            return Err(ApiError::Validation(vec![
                jobmatch_domain::FieldError::new(
                    "external_id",
                    "cannot be changed once set; it identifies the record in the sending system",
                ),
            ]));
        }
        Ok((document, Some(expected.unwrap_or(existing.version))))
    }
}

/// A validation's outcome with the errors of rules checked beside it (ones
/// that need the key or the database), all in one 422. A rule error on a field
/// validation already named is left out: that field is to be fixed first.
pub fn with_rule_errors<T>(
    validation: Result<T, ApiError>,
    rule_errors: Vec<FieldError>,
) -> Result<T, ApiError> {
    match validation {
        Ok(document) if rule_errors.is_empty() => Ok(document),
        Ok(_) => Err(ApiError::Validation(rule_errors)),
        Err(ApiError::Validation(mut errors)) => {
            let named: std::collections::HashSet<String> =
                errors.iter().map(|error| error.field.clone()).collect();
            errors.extend(
                rule_errors
                    .into_iter()
                    .filter(|error| !named.contains(&error.field)),
            );
            Err(ApiError::Validation(errors))
        }
        Err(other) => Err(other),
    }
}

pub async fn save_patch<R: ResourceKind>(
    state: &AppState,
    id: &str,
    expected_version: Option<i64>,
    document: &R,
) -> Result<Record, ApiError> {
    let body = serde_json::to_value(document).map_err(ApiError::internal)?;
    Ok(state
        .store
        .update(R::ENTITY, id, expected_version, &document.columns(), &body)
        .await?)
}

pub async fn list<R: ResourceKind>(
    state: &AppState,
    columns: Columns,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<Page<Value>, ApiError> {
    let (limit, after_id) = page_bounds(limit, cursor)?;
    let filter = ListFilter {
        columns,
        after_id,
        limit: limit + 1,
    };
    let records = state.store.list(R::ENTITY, &filter).await?;
    let items = records.iter().map(representation).collect();
    Ok(page_from(items, limit, |item: &Value| {
        item["id"].as_str().unwrap_or_default().to_string()
    }))
}

/// Like [`list`], but only the records of the given ids that match the
/// `columns` filter: what an employer or partner key may see of a list whose
/// records are themselves employers. One query, however many ids.
pub async fn list_among<R: ResourceKind>(
    state: &AppState,
    ids: &[String],
    columns: &Columns,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<Page<Value>, ApiError> {
    let (limit, after_id) = page_bounds(limit, cursor)?;
    let filter = ListFilter {
        columns: columns.clone(),
        after_id,
        limit: limit + 1,
    };
    let records = state.store.list_among(R::ENTITY, ids, &filter).await?;
    let items = records.iter().map(representation).collect();
    Ok(page_from(items, limit, |item: &Value| {
        item["id"].as_str().unwrap_or_default().to_string()
    }))
}

/// What a write's `?wait_for=` asks for. Read by [`index_wait_asked`] before
/// the write, so that a bad value is refused with nothing written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexWait {
    /// Answer as soon as the write committed.
    No,
    /// `?wait_for=indexed`: answer once matching and search reflect the write.
    Indexed,
}

/// The `?wait_for=` of a write request: absent, or `indexed`; anything else
/// is a 400 naming `wait_for`. Every write handler calls this before it
/// writes: once the write committed, the answer must acknowledge it.
pub fn index_wait_asked(request: &HttpRequest) -> Result<IndexWait, ApiError> {
    let mut asked = form_urlencoded::parse(request.query_string().as_bytes())
        .filter(|(name, _)| name == "wait_for")
        .map(|(_, value)| value.into_owned());
    match (asked.next().as_deref(), asked.next()) {
        (None, _) => Ok(IndexWait::No),
        (Some("indexed"), None) => Ok(IndexWait::Indexed),
        (Some(_), None) => Err(ApiError::bad_request("wait_for", "must be `indexed`")),
        (Some(_), Some(_)) => Err(ApiError::bad_request("wait_for", "must be given once")),
    }
}

/// Called by every write handler once its write committed, with what
/// [`index_wait_asked`] read before the write. Notes the write as the key's
/// own (its next search waits for it) and, for [`IndexWait::Indexed`],
/// returns once matching (and search) reflect every write acknowledged so
/// far, or after [`INDEX_WAIT`] at most.
///
/// Infallible on purpose: the write is committed and the answer acknowledges
/// it. Were this to fail the request, the client would think nothing was
/// written and send it again. A failure here is logged, and only costs the
/// key's next search its wait for this write.
pub async fn after_write(state: &AppState, request: &HttpRequest, wait: IndexWait) {
    // At or after the write's own change: a search by the same key then waits
    // at most for the few changes others committed in between.
    let written = match state.store.latest_change_seq().await {
        Ok(written) => written,
        Err(error) => {
            tracing::warn!(
                error = %error,
                "could not read the change feed position after a committed write; \
                 answering without waiting for the indexes"
            );
            return;
        }
    };
    state.own_writes.note(request, written);
    if wait == IndexWait::Indexed && !state.feed.wait_for(written, INDEX_WAIT).await {
        tracing::warn!(seq = written, "write not indexed within the wait bound");
    }
}

/// The longest a write waits for the indexes; visibility normally takes well
/// under a second.
pub const INDEX_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn version(if_match: &str) -> Result<Option<i64>, ApiError> {
        expected_version(
            &TestRequest::default()
                .insert_header(("If-Match", if_match))
                .to_http_request(),
        )
    }

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

    #[test]
    fn if_match_is_an_etag_a_weak_etag_a_bare_version_or_a_star() {
        assert_eq!(version("\"3\"").ok(), Some(Some(3)));
        assert_eq!(version("W/\"3\"").ok(), Some(Some(3)));
        assert_eq!(version("3").ok(), Some(Some(3)));
        assert_eq!(version("*").ok(), Some(None));
        for refused in [
            "yesterday",
            "\"3",
            "W/3",
            "\"\"",
            "-3",
            "+3",
            "\"1234567890123456789\"",
            "\"\"3\"\"",
        ] {
            assert!(version(refused).is_err(), "{refused}");
        }
    }
}
