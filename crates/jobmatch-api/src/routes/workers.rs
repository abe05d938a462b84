//! `/v1/workers`: returnee profiles, registered and read by resource-centre staff.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use jobmatch_domain::resources::{ProvinceCode, WorkerInput, WorkerStatus};
use jobmatch_store::{Columns, Entity};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::resource::{self, ResourceKind, record_response};
use crate::auth::{Principal, Role};
use crate::error::{ApiError, Problem};
use crate::params::{Page, Params, province_filter};
use crate::state::AppState;

impl ResourceKind for WorkerInput {
    const ENTITY: Entity = Entity::Worker;
    const NAME: &'static str = "worker";

    fn columns(&self) -> Columns {
        Columns {
            employer_id: None,
            sector: None,
            province_code: Some(self.province_code.clone()),
            status: Some(self.status.code().to_string()),
        }
    }

    fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref()
    }
}

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

/// Personal data: only resource-centre staff and admins.
const ROLES: [Role; 2] = [Role::Admin, Role::Staff];

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
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(&ROLES)?;
    let object = resource::read_object(&request, payload).await?;
    let worker: WorkerInput = crate::body::validated(object, state.reference)?;
    let (status, record) = resource::store_new(&state, &principal, &worker).await?;
    resource::wait_if_asked(&state, &request).await?;
    Ok(record_response(status, &record))
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
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require(&ROLES)?;
    let record = resource::fetch::<WorkerInput>(&state, &id).await?;
    Ok(record_response(StatusCode::OK, &record))
}

/// Change a returnee profile
///
/// A JSON merge patch (RFC 7396), validated as a whole. Send `If-Match` with the
/// ETag you read to refuse the change if someone else changed it first.
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
    request: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(&ROLES)?;
    let existing = resource::fetch::<WorkerInput>(&state, &id).await?;
    let mut patch = resource::read_object(&request, payload).await?;
    // Consent given or withdrawn now is recorded now: without this the merge would
    // keep the time of the earlier decision.
    if let Some(Value::Object(consent)) = patch.get_mut("consent")
        && !consent.contains_key("recorded_at")
    {
        consent.insert("recorded_at".to_string(), Value::Null);
    }
    let (worker, expected) =
        resource::merge_patch::<WorkerInput>(&state, &request, &existing, patch).await?;
    let record = resource::save_patch(&state, &id, expected, &worker).await?;
    resource::wait_if_asked(&state, &request).await?;
    Ok(record_response(StatusCode::OK, &record))
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
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require(&ROLES)?;
    resource::check_id(&id)?;
    if state.store.delete(Entity::Worker, &id).await? {
        resource::wait_if_asked(&state, &request).await?;
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
    query: Params<WorkerListQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require(&ROLES)?;
    let query = query.0;
    let columns = Columns {
        province_code: province_filter(state.reference, query.province_code)?,
        status: query.status.map(|status| status.code().to_string()),
        ..Columns::default()
    };
    let page = resource::list::<WorkerInput>(&state, columns, query.limit, query.cursor.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
