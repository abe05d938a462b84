//! `/v1/workers`: returnee profiles, registered and read by resource-centre staff.

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use jobmatch_domain::resources::{ProvinceCode, WorkerInput, WorkerStatus};
use jobmatch_domain::{FieldError, Valid};
use jobmatch_store::{AuditAction, AuditEvent, Columns};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing_actix_web::RequestId;
use utoipa::{IntoParams, ToSchema};

use jobmatch_service::batch::{AbandonOnDrop, BatchItem, BatchItemOutcome, store_batch};
use jobmatch_service::validation::validated;

use super::resource::{self, record_response};
use crate::auth::Principal;
use crate::body::{BatchItems, MAX_BATCH_BODY_BYTES, MAX_BATCH_ITEMS};
use crate::error::{ApiError, Problem};
use crate::limits::BatchSlot;
use crate::params::{Page, Params, province_filter};
use crate::policy::{Operation, authorize};
use crate::state::AppState;

/// A returnee profile as stored: the server-owned fields and the submitted document.
#[derive(Serialize, ToSchema)]
pub struct Worker {
    #[schema(example = "3e7a1b5c-8d2f-4a6e-b9c1-2f4d6a8b0c13")]
    pub id: String,
    /// Increases by one with every change; send it back in `If-Match`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub fields: WorkerInput,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkerListQuery {
    /// NCDD province code of the person's home.
    #[param(value_type = Option<ProvinceCode>)]
    pub province_code: Option<String>,
    pub status: Option<WorkerStatus>,
    /// Page size, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(format = "uuid")]
    pub cursor: Option<String>,
}

/// Register a returnee
///
/// Creates a returnee profile. Phone numbers are stored in E.164. Sent again with
/// the same `external_id` by the same key, it updates that profile instead (200).
#[utoipa::path(
    tag = "workers",
    operation_id = "create_worker",
    request_body(content = WorkerInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Worker),
        (status = 200, description = "Updated the profile this key registered with the same `external_id`", body = Worker),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/workers")]
pub async fn create_worker(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::CreateWorker)?;
    let wait = resource::index_wait_asked(&request)?;
    let object = resource::read_object(&request, payload).await?;
    let worker: Valid<WorkerInput> =
        validated(object, state.reference).map_err(ApiError::Validation)?;
    // The answer carries the profile back: audited like a read.
    let request_id = request_id.to_string();
    let (status, record) =
        resource::store_new_audited(&state, &principal, &request_id, &worker).await?;
    resource::after_write(&state, &request, wait).await;
    Ok(profile_response(status, &record))
}

/// A response carrying a profile, marked so for the `Idempotency-Key` layer.
fn profile_response(status: StatusCode, record: &jobmatch_store::Record) -> HttpResponse {
    crate::idempotency::carries_profile(record_response(status, record), &record.id)
}

/// Up to 1,000 returnee profiles, each exactly the body of `POST /v1/workers`.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"items": [
    {"full_name": "សុខ ចាន់ធី", "sex": "female", "province_code": "01", "phone": "012 345 678",
     "skills": [{"skill": "c8d75bf4-ad0d-4f36-8cdc-265a7b044881", "level": 3}],
     "consent": {"share_with_employers": true}, "external_id": "KOBO-000123"},
    {"full_name": "ចាន់ ដារា", "province_code": "01", "district_code": "2201", "external_id": "KOBO-000124"}
]}))]
#[serde(deny_unknown_fields)]
pub struct WorkerBatch {
    #[schema(max_items = 1000)]
    pub items: Vec<WorkerInput>,
}

/// What became of one item of a batch.
#[derive(Serialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BatchItemStatus {
    /// A new profile was registered.
    Created,
    /// This key sent a profile with this `external_id` before; it now holds this item.
    Existing,
    /// Invalid; nothing was stored. `errors` names every bad field.
    Rejected,
}

/// The report on one item, by its position in `items`.
#[derive(Serialize, ToSchema)]
pub struct BatchItemReport {
    /// Position of the item in the request's `items`, from 0.
    pub index: usize,
    pub status: BatchItemStatus,
    /// The profile's id (`created` and `existing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = "uuid")]
    pub id: Option<String>,
    /// The profile's version after the request (`created` and `existing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub version: Option<i64>,
    /// `existing` only: whether the item differed from the stored profile and
    /// replaced it (a new version); identical items change nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub changed: Option<bool>,
    /// `existing` only, and only when true: the item's
    /// `consent.share_with_employers` differed from a decision staff made later
    /// (`PATCH /v1/workers/{id}`); the stored `consent` was kept, the rest of the
    /// item applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub consent_kept: Option<bool>,
    /// `rejected` only: every bad field, as in the 422 of `POST /v1/workers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errors: Option<Vec<FieldError>>,
}

/// The per-item report of a batch, with counts.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "created": 1, "existing": 0, "rejected": 1,
    "items": [
        {"index": 0, "status": "created", "id": "0199a3c2-7b1e-7d3a-9c41-5e2f8a6b0d17", "version": 1},
        {"index": 1, "status": "rejected", "errors": [
            {"field": "district_code", "message": "is not in province 01"}]}
    ]
}))]
pub struct BatchReport {
    pub created: usize,
    pub existing: usize,
    pub rejected: usize,
    /// One report per item, in the order sent.
    pub items: Vec<BatchItemReport>,
}

/// Register returnees in bulk
///
/// Up to 1,000 profiles in one request, each validated exactly as `POST
/// /v1/workers` validates one. The answer is 200 with a report per item:
/// `created` (with its id), `existing` (this key sent a profile with the same
/// `external_id` before: it is updated when the item differs, `changed: true`,
/// and left as it is otherwise) or `rejected` (with the same `errors` as the 422
/// of a single create). Valid items are stored even when others are rejected,
/// all in one transaction. More than 1,000 items is a 422 naming `items`. An
/// item that gives a key twice is `rejected`, naming its path within the item;
/// a key given twice in the body itself is a 400. A key may have two batches in
/// flight: a third is answered 429 with `Retry-After`.
///
/// A re-send never undoes what staff did: an item whose `external_id` names a
/// profile this key sent and staff erased is `rejected` naming `external_id`
/// (until an admin runs `jobmatch erasures lift`), and an item that would change
/// `consent.share_with_employers` after staff decided it keeps the stored consent
/// (`consent_kept: true`).
#[utoipa::path(
    tag = "workers",
    operation_id = "create_workers_batch",
    request_body(content = WorkerBatch, content_type = "application/json"),
    responses(
        (status = 200, description = "What became of each item", body = BatchReport),
        (status = 413, description = "The body is larger than 16 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is not a batch: `items` missing, not a list, or longer than 1,000", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests for this API key: over its request rate, or two of its batches are still in progress; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/workers/batch")]
pub async fn create_workers_batch(
    state: web::Data<AppState>,
    principal: Principal,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::CreateWorkerBatch)?;
    let wait = resource::index_wait_asked(&request)?;
    crate::body::require_json_content_type(&request)?;
    // Held until the answer is built, from before the body is read: a key's
    // uploads count too, so one key holds at most this many 16 MiB bodies.
    // With an Idempotency-Key the middleware took it before reading the body.
    let held = request.extensions_mut().remove::<BatchSlot>();
    let _slot = match held {
        Some(slot) => slot,
        None => state.rate_limits.claim_batch(&principal.key_id)?,
    };
    let bytes = payload
        .to_bytes_limited(MAX_BATCH_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge {
            limit_bytes: MAX_BATCH_BODY_BYTES,
        })?
        .map_err(|error| ApiError::bad_request("body", format!("could not be read: {error}")))?;
    // Parsing and validating up to 16 MiB takes a blocking thread, not this
    // worker: other requests go on, and the time limit can cut the batch off
    // (dropping this future stops the validation at the next item).
    let abandoned = AbandonOnDrop::default();
    let items = web::block(move || batch_items(&bytes))
        .await
        .map_err(ApiError::internal)??;
    let outcomes = store_batch::<WorkerInput>(
        &state.store,
        state.reference,
        principal.source(),
        items,
        &abandoned,
    )
    .await?;
    resource::after_write(&state, &request, wait).await;
    Ok(HttpResponse::Ok().json(batch_report(outcomes)))
}

/// The items of a batch body: each a JSON object, or the errors that keep it
/// from being one (not an object; a key given twice, named by its path within
/// the item, as a single create's 400 names it).
fn batch_items(bytes: &[u8]) -> Result<Vec<BatchItem>, ApiError> {
    let body = crate::body::parse_batch(bytes, MAX_BATCH_ITEMS)?;
    let mut errors: Vec<FieldError> = body
        .other_fields
        .into_iter()
        .map(|key| FieldError::new(key, "is not a field of this resource"))
        .collect();
    let items = match body.items {
        None => {
            errors.push(FieldError::new("items", "is required"));
            None
        }
        Some(BatchItems::TooMany(count)) => {
            errors.push(FieldError::new(
                "items",
                format!(
                    "must hold at most {MAX_BATCH_ITEMS} items, not {count}; send the rest in further requests"
                ),
            ));
            None
        }
        Some(BatchItems::List(items)) => Some(items),
        Some(BatchItems::NotAList) => {
            errors.push(FieldError::new("items", "must be a list of profiles"));
            None
        }
    };
    match items {
        Some(items) if errors.is_empty() => Ok(items
            .into_iter()
            .map(|item| match item {
                Ok(Value::Object(object)) => Ok(object),
                Ok(_) => Err(vec![FieldError::new("body", "must be a JSON object")]),
                Err(path) => Err(vec![FieldError::new(path, "is given more than once")]),
            })
            .collect()),
        _ => Err(ApiError::Validation(errors)),
    }
}

fn batch_report(outcomes: Vec<BatchItemOutcome>) -> BatchReport {
    let mut report = BatchReport {
        created: 0,
        existing: 0,
        rejected: 0,
        items: Vec::with_capacity(outcomes.len()),
    };
    for (index, outcome) in outcomes.into_iter().enumerate() {
        let item = match outcome {
            BatchItemOutcome::Created { id } => {
                report.created += 1;
                BatchItemReport {
                    index,
                    status: BatchItemStatus::Created,
                    id: Some(id),
                    version: Some(1),
                    changed: None,
                    consent_kept: None,
                    errors: None,
                }
            }
            BatchItemOutcome::Existing {
                id,
                version,
                changed,
                consent_kept,
            } => {
                report.existing += 1;
                BatchItemReport {
                    index,
                    status: BatchItemStatus::Existing,
                    id: Some(id),
                    version: Some(version),
                    changed: Some(changed),
                    consent_kept: consent_kept.then_some(true),
                    errors: None,
                }
            }
            BatchItemOutcome::Rejected { errors } => {
                report.rejected += 1;
                BatchItemReport {
                    index,
                    status: BatchItemStatus::Rejected,
                    id: None,
                    version: None,
                    changed: None,
                    consent_kept: None,
                    errors: Some(errors),
                }
            }
        };
        report.items.push(item);
    }
    report
}

/// Read a returnee profile
///
/// Staff and admins only: the profile holds personal data. The ETag carries its
/// version for a later `PATCH`.
#[utoipa::path(
    tag = "workers",
    operation_id = "get_worker",
    params(("id" = String, Path, description = "Worker id", format = "uuid")),
    responses(
        (status = 200, description = "The profile", body = Worker),
        (status = 404, description = "No such worker", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/workers/{id}")]
pub async fn get_worker(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::ReadWorker)?;
    resource::check_id(&id)?;
    let request_id = request_id.to_string();
    let record = state
        .store
        .get_worker_audited(&AuditEvent {
            key_id: &principal.key_id,
            role: principal.role.code(),
            action: AuditAction::ProfileRead,
            worker_id: &id,
            vacancy_id: None,
            request_id: Some(&request_id),
        })
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no worker has the id {id}")))?;
    Ok(profile_response(StatusCode::OK, &record))
}

/// Change a returnee profile
///
/// A JSON merge patch (RFC 7396), validated as a whole. Send `If-Match` with the
/// ETag you read to refuse the change if someone else changed it first. A patch that
/// sets `consent` records the decision: a partner's batch or an import never changes
/// `consent.share_with_employers` afterwards.
#[utoipa::path(
    tag = "workers",
    operation_id = "update_worker",
    params(
        ("id" = String, Path, description = "Worker id", format = "uuid"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version the change is based on (`\"3\"`; the bare version `3` is accepted too)", nullable = false, pattern = r#"^(\*|(W/)?"[0-9]{1,18}"|[0-9]{1,18})$"#),
    ),
    request_body(content = WorkerInput, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed profile", body = Worker),
        (status = 404, description = "No such worker", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The profile changed since the version in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/workers/{id}")]
pub async fn update_worker(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    request: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::UpdateWorker)?;
    let wait = resource::index_wait_asked(&request)?;
    let existing = resource::fetch::<WorkerInput>(&state, &id).await?;
    let mut patch = resource::read_object(&request, payload).await?;
    jobmatch_service::patch::record_consent_now(&mut patch);
    // A consent set here is staff's decision: no partner re-send may undo it.
    let consent_decided = patch
        .contains_key("consent")
        .then_some((principal.key_id.as_str(), principal.role.code()));
    let (worker, expected) =
        resource::merge_patch::<WorkerInput>(&state, &request, &existing, patch).await?;
    // The answer carries the whole profile back: audited like a read.
    let request_id = request_id.to_string();
    let reader = resource::profile_reader(&principal, &request_id);
    let record = jobmatch_service::records::update_worker(
        &state.store,
        &id,
        expected,
        &worker,
        consent_decided,
        reader,
    )
    .await?;
    resource::after_write(&state, &request, wait).await;
    Ok(profile_response(StatusCode::OK, &record))
}

/// Erase a returnee profile
///
/// Deletes the profile and its personal data. The deletion reaches matching and
/// search through the change feed.
#[utoipa::path(
    tag = "workers",
    operation_id = "delete_worker",
    params(("id" = String, Path, description = "Worker id", format = "uuid")),
    responses(
        (status = 204, description = "Erased"),
        (status = 404, description = "No such worker", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/workers/{id}")]
pub async fn delete_worker(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::EraseWorker)?;
    let wait = resource::index_wait_asked(&request)?;
    resource::check_id(&id)?;
    let request_id = request_id.to_string();
    let erased = state
        .store
        .erase_worker(&AuditEvent {
            key_id: &principal.key_id,
            role: principal.role.code(),
            action: AuditAction::ProfileErased,
            worker_id: &id,
            vacancy_id: None,
            request_id: Some(&request_id),
        })
        .await?;
    if erased {
        resource::after_write(&state, &request, wait).await;
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound(format!("no worker has the id {id}")))
    }
}

/// List returnee profiles
///
/// Ordered by id; filter by home province and status.
#[utoipa::path(
    tag = "workers",
    operation_id = "list_workers",
    params(WorkerListQuery),
    responses((status = 200, description = "A page of profiles", body = Page<Worker>))
)]
#[get("/v1/workers")]
pub async fn list_workers(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    query: Params<WorkerListQuery>,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::ListWorkers)?;
    let query = query.0;
    let columns = Columns {
        province_code: province_filter(state.reference, query.province_code)?,
        status: query.status.map(|status| status.code().to_string()),
        ..Columns::default()
    };
    let page = resource::list::<WorkerInput>(&state, columns, query.limit, query.cursor.as_deref())
        .await?;
    // Every profile on the page is a profile read: logged before the page leaves.
    let request_id = request_id.to_string();
    let ids: Vec<&str> = page
        .items
        .iter()
        .filter_map(|item| item["id"].as_str())
        .collect();
    let events: Vec<AuditEvent<'_>> = ids
        .iter()
        .map(|id| AuditEvent {
            key_id: &principal.key_id,
            role: principal.role.code(),
            action: AuditAction::ProfileRead,
            worker_id: id,
            vacancy_id: None,
            request_id: Some(&request_id),
        })
        .collect();
    state.store.append_audit_many(&events).await?;
    Ok(HttpResponse::Ok().json(page))
}
