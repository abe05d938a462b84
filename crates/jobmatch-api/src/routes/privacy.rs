//! Personal data under control: the audit log, contact release for one person
//! and one vacancy, and counts that identify no one.

use actix_web::{HttpResponse, get, post, web};
use jobmatch_domain::resources::{VacancyInput, WorkerInput};
use jobmatch_store::{AuditAction, AuditEvent, AuditFilter, AuditRecord};
use serde::{Deserialize, Serialize};
use tracing_actix_web::RequestId;
use utoipa::{IntoParams, ToSchema};

use super::resource;
use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::params::{Params, uuid_filter};
use crate::policy::{Operation, authorize};
use crate::state::AppState;

/// One entry of the audit log.
#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    /// Strictly increasing; pass the last one as `after` for the next page.
    pub seq: i64,
    pub at: String,
    /// The key that acted (its id, never its secret).
    pub key_id: String,
    pub role: String,
    #[schema(example = "profile_read")]
    pub action: String,
    pub worker_id: Option<String>,
    pub vacancy_id: Option<String>,
    /// The `x-request-id` the client was given.
    pub request_id: Option<String>,
}

impl From<AuditRecord> for AuditEntry {
    fn from(record: AuditRecord) -> AuditEntry {
        AuditEntry {
            seq: record.seq,
            at: resource::timestamp(record.at),
            key_id: record.key_id,
            role: record.role,
            action: record.action,
            worker_id: record.worker_id,
            vacancy_id: record.vacancy_id,
            request_id: record.request_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// The `after` value for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// What an audit entry records.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditActionCode {
    ProfileRead,
    ContactReleased,
    ProfileErased,
}

impl From<AuditActionCode> for AuditAction {
    fn from(code: AuditActionCode) -> AuditAction {
        match code {
            AuditActionCode::ProfileRead => AuditAction::ProfileRead,
            AuditActionCode::ContactReleased => AuditAction::ContactReleased,
            AuditActionCode::ProfileErased => AuditAction::ProfileErased,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only entries after this `seq` (the `next_cursor` of the previous page).
    #[param(minimum = 0)]
    pub cursor: Option<i64>,
    /// Only entries about this returnee.
    #[param(format = "uuid")]
    pub worker_id: Option<String>,
    /// Only entries of this key.
    #[param(format = "uuid")]
    pub key_id: Option<String>,
    #[param(inline)]
    pub action: Option<AuditActionCode>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
}

/// Read the audit log
///
/// Who read or released whose personal data, and when: every read of a returnee
/// profile, every contact release and every erasure, oldest first. Admins only.
/// The log cannot be changed, by the API or in the database.
#[utoipa::path(
    tag = "privacy",
    operation_id = "read_audit_log",
    params(AuditQuery),
    responses((status = 200, description = "A page of the audit log", body = AuditPage))
)]
#[get("/v1/audit")]
pub async fn read_audit_log(
    state: web::Data<AppState>,
    principal: Principal,
    query: Params<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::ReadAuditLog)?;
    let query = query.0;
    let limit = match query.limit.unwrap_or(20) {
        limit @ 1..=100 => limit,
        _ => return Err(ApiError::bad_request("limit", "must be between 1 and 100")),
    };
    if query.cursor.is_some_and(|cursor| cursor < 0) {
        return Err(ApiError::bad_request("cursor", "must not be negative"));
    }
    let rows = state
        .store
        .audit_log(&AuditFilter {
            after_seq: query.cursor,
            worker_id: uuid_filter("worker_id", query.worker_id)?,
            key_id: uuid_filter("key_id", query.key_id)?,
            action: query.action.map(AuditAction::from),
            limit,
        })
        .await?;
    let next_cursor = (rows.len() == limit as usize)
        .then(|| rows.last().map(|row| row.seq.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(AuditPage {
        items: rows.into_iter().map(AuditEntry::from).collect(),
        next_cursor,
    }))
}

/// A returnee's contact details, released for one vacancy.
#[derive(Serialize, ToSchema)]
pub struct ContactRelease {
    pub worker_id: String,
    pub vacancy_id: String,
    pub full_name: String,
    /// E.164, if the profile has one.
    pub phone: Option<String>,
}

/// Release a candidate's contact for one vacancy
///
/// Staff only, with the person's consent to share with employers. Returns the
/// name and phone, records the release in the audit log in the same transaction,
/// and from then on shows the phone to the vacancy's employer in that vacancy's
/// candidate list, for as long as the consent stands.
#[utoipa::path(
    tag = "privacy",
    operation_id = "release_contact",
    params(
        ("id" = String, Path, description = "Vacancy id", format = "uuid"),
        ("worker_id" = String, Path, description = "Worker id", format = "uuid"),
    ),
    responses(
        (status = 200, description = "Released", body = ContactRelease),
        (status = 404, description = "No such vacancy or worker", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The person has not consented to share with employers", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/vacancies/{id}/candidates/{worker_id}/contact")]
pub async fn release_contact(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::ReleaseContact)?;
    let (vacancy_id, worker_id) = path.into_inner();
    resource::fetch::<VacancyInput>(&state, &vacancy_id).await?;
    resource::check_id(&worker_id)?;
    // Check consent before the audited read, so that a refusal leaves no trace
    // of a release that did not happen.
    let stored = resource::fetch::<WorkerInput>(&state, &worker_id).await?;
    let consented = |body: &serde_json::Value| {
        body.pointer("/consent/share_with_employers") == Some(&serde_json::Value::Bool(true))
    };
    if !consented(&stored.body) {
        return Err(ApiError::Conflict(
            "the person has not consented to share their profile with employers".to_string(),
        ));
    }
    let request_id = request_id.to_string();
    let record = state
        .store
        .get_worker_audited(&AuditEvent {
            key_id: &principal.key_id,
            role: principal.role.code(),
            action: AuditAction::ContactReleased,
            worker_id: &worker_id,
            vacancy_id: Some(&vacancy_id),
            request_id: Some(&request_id),
        })
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no worker has the id {worker_id}")))?;
    let worker: WorkerInput = serde_json::from_value(record.body).map_err(ApiError::internal)?;
    // Released afresh on every request, consent checked and audited: never
    // replayed from an `Idempotency-Key`, whatever the path's spelling.
    Ok(crate::idempotency::never_replayed(HttpResponse::Ok().json(
        ContactRelease {
            worker_id,
            vacancy_id,
            full_name: worker.full_name,
            phone: worker.phone,
        },
    )))
}

/// A count of profiles.
#[derive(Serialize, ToSchema)]
pub struct WorkerCount {
    pub province_code: Option<String>,
    pub status: Option<String>,
    pub count: i64,
}

/// A count of vacancies.
#[derive(Serialize, ToSchema)]
pub struct VacancyCount {
    pub sector: Option<String>,
    pub status: Option<String>,
    pub count: i64,
}

/// Profiles erased in one month from one home province.
#[derive(Serialize, ToSchema)]
pub struct ErasureCount {
    pub province_code: String,
    /// `YYYY-MM`.
    pub month: String,
    pub erased: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Statistics {
    /// Registered returnees by home province and status.
    pub workers: Vec<WorkerCount>,
    /// Vacancies by sector and status.
    pub vacancies: Vec<VacancyCount>,
    /// What remains of erased profiles.
    pub erased_workers: Vec<ErasureCount>,
}

/// Aggregated statistics
///
/// Counts only, for partners' reports: returnees by home province and status,
/// vacancies by sector and status, erasures by province and month.
#[utoipa::path(
    tag = "privacy",
    operation_id = "read_statistics",
    responses((status = 200, description = "The counts", body = Statistics))
)]
#[get("/v1/statistics")]
pub async fn read_statistics(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::ReadStatistics)?;
    let workers = state.store.workers_by_province_and_status().await?;
    let vacancies = state.store.vacancies_by_sector_and_status().await?;
    let erased = state.store.erased_worker_counts().await?;
    Ok(HttpResponse::Ok().json(Statistics {
        workers: workers
            .into_iter()
            .map(|group| WorkerCount {
                province_code: group.first,
                status: group.second,
                count: group.count,
            })
            .collect(),
        vacancies: vacancies
            .into_iter()
            .map(|group| VacancyCount {
                sector: group.first,
                status: group.second,
                count: group.count,
            })
            .collect(),
        erased_workers: erased
            .into_iter()
            .map(|count| ErasureCount {
                province_code: count.province_code,
                month: count.month,
                erased: count.erased,
            })
            .collect(),
    }))
}
