//! `/v1/employers`: the businesses that post vacancies.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use jobmatch_domain::resources::{EmployerInput, ProvinceCode};
use jobmatch_domain::{Sector, Valid};
use jobmatch_store::Columns;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use jobmatch_service::validation::validated;

use super::resource::{self, record_response};
use crate::auth::{Principal, Role};
use crate::error::{ApiError, Problem};
use crate::params::{Page, Params, province_filter};
use crate::policy::{
    Operation, Owner, Visibility, authorize, authorize_record, authorize_with_current_links,
    visibility,
};
use crate::state::AppState;

/// An employer as stored: the server-owned fields and the submitted document.
#[derive(Serialize, ToSchema)]
pub struct Employer {
    #[schema(example = "0b8f2c7e-3f5a-4c1d-9e2b-7a6d5c4b3a21")]
    pub id: String,
    /// Increases by one with every change; send it back in `If-Match`.
    #[schema(example = 1)]
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub fields: EmployerInput,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmployerListQuery {
    pub sector: Option<Sector>,
    /// NCDD province code.
    #[param(value_type = Option<ProvinceCode>)]
    pub province_code: Option<String>,
    /// Page size, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(format = "uuid")]
    pub cursor: Option<String>,
}

/// Register an employer
///
/// Creates an employer. Sent again with the same `external_id` by the same key, it
/// updates that employer instead (200). Employer keys cannot create employers.
#[utoipa::path(
    tag = "employers",
    operation_id = "create_employer",
    request_body(content = EmployerInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Employer),
        (status = 200, description = "Updated the employer this key registered with the same `external_id`", body = Employer),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/employers")]
pub async fn create_employer(
    state: web::Data<AppState>,
    principal: Principal,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::CreateEmployer)?;
    let wait = resource::index_wait_asked(&request)?;
    let object = resource::read_object(&request, payload).await?;
    let employer: Valid<EmployerInput> =
        validated(object, state.reference).map_err(ApiError::Validation)?;
    let (status, record) = resource::store_new(&state, &principal, &employer).await?;
    if principal.role == Role::Partner {
        // A partner reaches the employers it registers: at once, in lists too.
        state.key_cache.add_link(principal.source(), &record.id);
    }
    resource::after_write(&state, &request, wait).await;
    Ok(record_response(status, &record))
}

/// Read an employer
///
/// Employer keys may read only their own employer.
#[utoipa::path(
    tag = "employers",
    operation_id = "get_employer",
    params(("id" = String, Path, description = "Employer id", format = "uuid")),
    responses(
        (status = 200, description = "The employer", body = Employer),
        (status = 404, description = "No such employer", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/employers/{id}")]
pub async fn get_employer(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::ReadEmployer)?;
    let record = resource::fetch::<EmployerInput>(&state, &id).await?;
    authorize_with_current_links(
        &state.store,
        &state.key_cache,
        &principal,
        Operation::ReadEmployer,
        owner(&record),
    )
    .await?;
    Ok(record_response(StatusCode::OK, &record))
}

/// Change an employer
///
/// A JSON merge patch (RFC 7396): fields present replace the stored ones, `null`
/// removes an optional field. The result is validated as a whole. Send `If-Match`
/// with the ETag you read to refuse the change if someone else changed it first.
#[utoipa::path(
    tag = "employers",
    operation_id = "update_employer",
    params(
        ("id" = String, Path, description = "Employer id", format = "uuid"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version the change is based on (`\"3\"`; the bare version `3` is accepted too)", nullable = false, pattern = r#"^(\*|(W/)?"[0-9]{1,18}"|[0-9]{1,18})$"#),
    ),
    request_body(content = EmployerInput, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed employer", body = Employer),
        (status = 404, description = "No such employer", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The employer changed since the version in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/employers/{id}")]
pub async fn update_employer(
    state: web::Data<AppState>,
    principal: Principal,
    request: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::UpdateEmployer)?;
    let wait = resource::index_wait_asked(&request)?;
    let existing = resource::fetch::<EmployerInput>(&state, &id).await?;
    authorize_record(&principal, Operation::UpdateEmployer, owner(&existing))?;
    let patch = resource::read_object(&request, payload).await?;
    let (employer, expected) =
        resource::merge_patch::<EmployerInput>(&state, &request, &existing, patch).await?;
    let record = resource::save_patch(&state, &id, expected, &employer).await?;
    resource::after_write(&state, &request, wait).await;
    Ok(record_response(StatusCode::OK, &record))
}

/// List employers
///
/// Ordered by id; filter by sector and province.
#[utoipa::path(
    tag = "employers",
    operation_id = "list_employers",
    params(EmployerListQuery),
    responses((status = 200, description = "A page of employers", body = Page<Employer>))
)]
#[get("/v1/employers")]
pub async fn list_employers(
    state: web::Data<AppState>,
    principal: Principal,
    query: Params<EmployerListQuery>,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::ListEmployers)?;
    let query = query.0;
    let columns = Columns {
        sector: query.sector.map(|sector| sector.code().to_string()),
        province_code: province_filter(state.reference, query.province_code)?,
        ..Columns::default()
    };
    let cursor = query.cursor.as_deref();
    let page = match visibility(&principal, Operation::ListEmployers) {
        Visibility::All => {
            resource::list::<EmployerInput>(&state, columns, query.limit, cursor).await?
        }
        Visibility::Employers(ids) => {
            resource::list_among::<EmployerInput>(&state, &ids, &columns, query.limit, cursor)
                .await?
        }
    };
    Ok(HttpResponse::Ok().json(page))
}

/// An employer record belongs to itself, and to the key that sent it.
fn owner(record: &jobmatch_store::Record) -> Owner<'_> {
    Owner {
        employer_id: Some(&record.id),
        source: record.source.as_deref(),
    }
}
