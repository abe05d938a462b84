//! `/v1/vacancies`: jobs that employers offer.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use jobmatch_domain::resources::{ProvinceCode, VacancyInput, VacancyStatus};
use jobmatch_domain::{FieldError, Sector};
use jobmatch_store::{Columns, Entity, Record};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::resource::{self, ResourceKind, record_response};
use crate::auth::{Principal, Role};
use crate::error::{ApiError, Problem};
use crate::params::{Page, Params, province_filter, uuid_filter};
use crate::state::AppState;

impl ResourceKind for VacancyInput {
    const ENTITY: Entity = Entity::Vacancy;
    const NAME: &'static str = "vacancy";

    fn columns(&self) -> Columns {
        Columns {
            employer_id: Some(self.employer_id.clone()),
            sector: Some(self.sector.code().to_string()),
            province_code: Some(self.province_code.clone()),
            status: Some(self.status.code().to_string()),
        }
    }

    fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref()
    }
}

/// A vacancy as stored: the server-owned fields and the submitted document.
#[derive(Serialize, ToSchema)]
pub struct Vacancy {
    #[schema(example = "6a1c9e4b-2d7f-4b8a-a1e3-9c5d7f2b4e60")]
    pub id: String,
    /// Increases by one with every change; send it back in `If-Match`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub fields: VacancyInput,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VacancyListQuery {
    #[param(format = "uuid")]
    pub employer_id: Option<String>,
    pub sector: Option<Sector>,
    /// NCDD province code of the workplace.
    #[param(value_type = Option<ProvinceCode>)]
    pub province_code: Option<String>,
    /// `open` unless given.
    pub status: Option<VacancyStatus>,
    /// Page size, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(format = "uuid")]
    pub cursor: Option<String>,
}

const WRITE_ROLES: [Role; 4] = [Role::Admin, Role::Staff, Role::Employer, Role::Partner];

/// Employer keys act for their own employer; partner keys for the vacancies they
/// sent themselves; admin and staff for any.
fn require_write_access(principal: &Principal, record: &Record) -> Result<(), ApiError> {
    principal.require(&WRITE_ROLES)?;
    match principal.role {
        Role::Employer => principal
            .require_employer_scope(record.columns.employer_id.as_deref().unwrap_or_default()),
        Role::Partner if record.source.as_deref() != Some(principal.source()) => Err(
            ApiError::Forbidden("a partner key changes only the vacancies it sent".to_string()),
        ),
        _ => Ok(()),
    }
}

async fn require_employer_exists(state: &AppState, employer_id: &str) -> Result<(), ApiError> {
    let exists = resource::check_id(employer_id).is_ok()
        && state
            .store
            .get(Entity::Employer, employer_id)
            .await?
            .is_some();
    if exists {
        Ok(())
    } else {
        Err(ApiError::Validation(vec![FieldError::new(
            "employer_id",
            "no employer has this id",
        )]))
    }
}

/// Post a vacancy
///
/// Creates a vacancy for an existing employer. An employer key posts only for its
/// own employer. Sent again with the same `external_id` by the same key, it updates
/// that vacancy instead (200).
#[utoipa::path(
    tag = "vacancies",
    operation_id = "create_vacancy",
    request_body(content = VacancyInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Vacancy),
        (status = 200, description = "Updated the vacancy this key sent with the same `external_id`", body = Vacancy),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/vacancies")]
pub async fn create_vacancy(
    state: web::Data<AppState>,
    principal: Principal,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(&WRITE_ROLES)?;
    let object = resource::read_object(&request, payload).await?;
    let vacancy: VacancyInput = crate::body::validated(object, state.reference)?;
    principal.require_employer_scope(&vacancy.employer_id)?;
    require_employer_exists(&state, &vacancy.employer_id).await?;
    let (status, record) = resource::store_new(&state, &principal, &vacancy).await?;
    resource::wait_if_asked(&state, &request).await?;
    Ok(record_response(status, &record))
}

/// Read a vacancy
///
/// Any role may read a vacancy; the ETag carries its version for a later `PATCH`.
#[utoipa::path(
    tag = "vacancies",
    operation_id = "get_vacancy",
    params(("id" = String, Path, description = "Vacancy id", format = "uuid")),
    responses(
        (status = 200, description = "The vacancy", body = Vacancy),
        (status = 404, description = "No such vacancy", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/vacancies/{id}")]
pub async fn get_vacancy(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require(&WRITE_ROLES)?;
    let record = resource::fetch::<VacancyInput>(&state, &id).await?;
    Ok(record_response(StatusCode::OK, &record))
}

/// Change a vacancy
///
/// A JSON merge patch (RFC 7396), validated as a whole. Send `If-Match` with the
/// ETag you read to refuse the change if someone else changed it first. Setting
/// `status` to `filled` or `closed` takes the vacancy out of matching and search.
#[utoipa::path(
    tag = "vacancies",
    operation_id = "update_vacancy",
    params(
        ("id" = String, Path, description = "Vacancy id", format = "uuid"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version the change is based on (`\"3\"`; the bare version `3` is accepted too)", nullable = false, pattern = r#"^(\*|(W/)?"[0-9]{1,18}"|[0-9]{1,18})$"#),
    ),
    request_body(content = VacancyInput, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed vacancy", body = Vacancy),
        (status = 404, description = "No such vacancy", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The vacancy changed since the version in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/vacancies/{id}")]
pub async fn update_vacancy(
    state: web::Data<AppState>,
    principal: Principal,
    request: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let existing = resource::fetch::<VacancyInput>(&state, &id).await?;
    require_write_access(&principal, &existing)?;
    let patch = resource::read_object(&request, payload).await?;
    let (vacancy, expected) =
        resource::merge_patch::<VacancyInput>(&state, &request, &existing, patch).await?;
    if Some(vacancy.employer_id.as_str()) != existing.columns.employer_id.as_deref() {
        principal.require_employer_scope(&vacancy.employer_id)?;
        require_employer_exists(&state, &vacancy.employer_id).await?;
    }
    let record = resource::save_patch(&state, &id, expected, &vacancy).await?;
    resource::wait_if_asked(&state, &request).await?;
    Ok(record_response(StatusCode::OK, &record))
}

/// Close a vacancy
///
/// Sets the status to `closed`; the vacancy stays readable for the record. Closing
/// a closed vacancy changes nothing.
#[utoipa::path(
    tag = "vacancies",
    operation_id = "close_vacancy",
    params(("id" = String, Path, description = "Vacancy id", format = "uuid")),
    responses(
        (status = 200, description = "The closed vacancy", body = Vacancy),
        (status = 404, description = "No such vacancy", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/vacancies/{id}")]
pub async fn close_vacancy(
    state: web::Data<AppState>,
    principal: Principal,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let existing = resource::fetch::<VacancyInput>(&state, &id).await?;
    require_write_access(&principal, &existing)?;
    let mut vacancy: VacancyInput =
        serde_json::from_value(existing.body.clone()).map_err(ApiError::internal)?;
    if vacancy.status == VacancyStatus::Closed {
        resource::wait_if_asked(&state, &request).await?;
        return Ok(record_response(StatusCode::OK, &existing));
    }
    vacancy.status = VacancyStatus::Closed;
    let record = resource::save_patch(&state, &id, Some(existing.version), &vacancy).await?;
    resource::wait_if_asked(&state, &request).await?;
    Ok(record_response(StatusCode::OK, &record))
}

/// List vacancies
///
/// Ordered by id; filter by employer, sector, province and status (`open` unless
/// given). Full-text search over titles and descriptions is described in the
/// search section once it lands.
#[utoipa::path(
    tag = "vacancies",
    operation_id = "list_vacancies",
    params(VacancyListQuery),
    responses((status = 200, description = "A page of vacancies", body = Page<Vacancy>))
)]
#[get("/v1/vacancies")]
pub async fn list_vacancies(
    state: web::Data<AppState>,
    principal: Principal,
    query: Params<VacancyListQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require(&WRITE_ROLES)?;
    let query = query.0;
    let columns = Columns {
        employer_id: uuid_filter("employer_id", query.employer_id)?,
        sector: query.sector.map(|sector| sector.code().to_string()),
        province_code: province_filter(state.reference, query.province_code)?,
        status: Some(query.status.unwrap_or_default().code().to_string()),
    };
    let page =
        resource::list::<VacancyInput>(&state, columns, query.limit, query.cursor.as_deref())
            .await?;
    Ok(HttpResponse::Ok().json(page))
}
