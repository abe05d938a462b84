//! `/v1/vacancies`: jobs that employers offer.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use jobmatch_domain::resources::{ProvinceCode, VacancyInput, VacancyStatus};
use jobmatch_domain::{FieldError, Sector, Valid};
use jobmatch_search::{SearchError, SearchRequest, SortOrder};
use jobmatch_store::{Entity, Record};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use jobmatch_service::validation::{validated, with_rule_errors};

use super::resource::{self, record_response};
use crate::auth::{Principal, Role};
use crate::error::{ApiError, Problem};
use crate::params::{Params, province_filter, uuid_filter};
use crate::policy::{
    Operation, Owner, Visibility, authorize, authorize_record, authorize_with_current_links,
    visibility,
};
use crate::privacy::EMPLOYER_MIN_AGES;
use crate::routes::ops::SEARCH_RETRY_AFTER_SECONDS;
use crate::state::AppState;

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
    /// What the person typed, in Khmer, English or both. Typos are tolerated (one
    /// edit in words of 5 to 8 letters, two from 9) and the last word matches as a
    /// prefix. Matches titles, descriptions, the employer's name and the labels of
    /// the vacancy's occupation and skills.
    #[param(max_length = 200)]
    pub q: Option<String>,
    #[param(format = "uuid")]
    pub employer_id: Option<String>,
    pub sector: Option<Sector>,
    /// NCDD province code of the workplace.
    #[param(value_type = Option<ProvinceCode>)]
    pub province_code: Option<String>,
    #[param(pattern = "^[0-9]{4}$")]
    pub district_code: Option<String>,
    /// ESCO occupation id.
    pub occupation: Option<String>,
    /// ESCO skill id, required or preferred by the vacancy.
    pub skill: Option<String>,
    /// Vacancies whose wage range reaches at least this (monthly USD).
    #[param(minimum = 0, maximum = 100000)]
    pub wage_min_usd: Option<f64>,
    /// `open` unless given.
    pub status: Option<VacancyStatus>,
    /// Posted at or after this time (RFC 3339, years 1900 to 2100).
    pub posted_since: Option<DateTime<Utc>>,
    /// With `radius_km`: vacancies within that distance of this province's capital.
    #[param(value_type = Option<ProvinceCode>)]
    pub near_province_code: Option<String>,
    #[param(minimum = 0, maximum = 2000)]
    pub radius_km: Option<f64>,
    /// `relevance` (the default), `newest` or `wage`.
    #[param(inline)]
    pub sort: Option<SearchSort>,
    /// Page size, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page of the same search.
    #[param(max_length = 200)]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    Relevance,
    Newest,
    Wage,
}

#[derive(Serialize, ToSchema)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
}

#[derive(Serialize, ToSchema)]
pub struct VacancyFacets {
    pub sector: Vec<FacetValue>,
    pub province_code: Vec<FacetValue>,
}

/// One page of a vacancy search.
#[derive(Serialize, ToSchema)]
pub struct VacancySearchPage {
    pub items: Vec<Vacancy>,
    pub next_cursor: Option<String>,
    /// How many vacancies match in all.
    pub total: u64,
    pub facets: VacancyFacets,
}

/// A vacancy belongs to its employer, and to the key that sent it.
fn owner(record: &Record) -> Owner<'_> {
    Owner {
        employer_id: record.columns.employer_id.as_deref(),
        source: record.source.as_deref(),
    }
}

/// Posting for `employer_id`: the key must reach that employer.
async fn require_posting_for(
    state: &AppState,
    principal: &Principal,
    employer_id: &str,
) -> Result<(), ApiError> {
    authorize_with_current_links(
        &state.store,
        &state.key_cache,
        principal,
        Operation::CreateVacancy,
        Owner {
            employer_id: Some(employer_id),
            source: None,
        },
    )
    .await
}

/// An employer key may set `min_age` only to the lower bound of an age band
/// ([`EMPLOYER_MIN_AGES`]): any other minimum would let it tell, from who is
/// listed for its vacancy, ages the age band hides. `before` is the stored value
/// (a change keeps any value staff set).
fn employer_min_age_error(
    principal: &Principal,
    min_age: Option<u8>,
    before: Option<u8>,
) -> Option<FieldError> {
    match min_age {
        Some(age)
            if principal.role == Role::Employer
                && Some(age) != before
                && !EMPLOYER_MIN_AGES.contains(&age) =>
        {
            let allowed: Vec<String> = EMPLOYER_MIN_AGES.iter().map(u8::to_string).collect();
            Some(FieldError::new(
                "min_age",
                format!(
                    "with an employer key, must be the lower bound of an age band: {}",
                    allowed.join(", ")
                ),
            ))
        }
        _ => None,
    }
}

/// The error naming `employer_id` when no employer has that id.
async fn missing_employer_error(
    state: &AppState,
    employer_id: &str,
) -> Result<Option<FieldError>, ApiError> {
    let exists = resource::check_id(employer_id).is_ok()
        && state
            .store
            .get(Entity::Employer, employer_id)
            .await?
            .is_some();
    Ok((!exists).then(|| FieldError::new("employer_id", "no employer has this id")))
}

/// `min_age` as a JSON document holds it, if it is an age at all (validation
/// names it otherwise).
fn min_age_in(document: &Map<String, Value>) -> Option<u8> {
    let age = document.get("min_age")?.as_f64()?;
    (age.fract() == 0.0 && (0.0..=f64::from(u8::MAX)).contains(&age)).then_some(age as u8)
}

/// The vacancy's rules that need the key or the database, checked on the
/// document as it will be validated (`document`: a create's body, or the
/// stored vacancy with the patch merged in), so that their errors go into the
/// same 422 as validation's. `stored` is the vacancy a patch changes.
///
/// Posting for an employer the key may not reach stays a 403 (or 404), not a
/// field error, and is checked before anything is told about that employer.
async fn vacancy_rule_errors(
    state: &AppState,
    principal: &Principal,
    document: &Map<String, Value>,
    stored: Option<&Record>,
) -> Result<Vec<FieldError>, ApiError> {
    let mut errors = Vec::new();
    // As validation reads it (trimmed); one it would refuse is named by it.
    let employer_id = document
        .get("employer_id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|id| (1..=64).contains(&id.chars().count()));
    let stored_employer = stored.and_then(|record| record.columns.employer_id.as_deref());
    if let Some(employer_id) = employer_id
        && Some(employer_id) != stored_employer
    {
        require_posting_for(state, principal, employer_id).await?;
        errors.extend(missing_employer_error(state, employer_id).await?);
    }
    let stored_min_age = stored.and_then(|record| match &record.body {
        Value::Object(body) => min_age_in(body),
        _ => None,
    });
    errors.extend(employer_min_age_error(
        principal,
        min_age_in(document),
        stored_min_age,
    ));
    Ok(errors)
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
    authorize(&principal, Operation::CreateVacancy)?;
    let wait = resource::index_wait_asked(&request)?;
    let object = resource::read_object(&request, payload).await?;
    let rule_errors = vacancy_rule_errors(&state, &principal, &object, None).await?;
    let vacancy: Valid<VacancyInput> =
        with_rule_errors(validated(object, state.reference), rule_errors)
            .map_err(ApiError::Validation)?;
    let (status, record) = resource::store_new(&state, &principal, &vacancy).await?;
    resource::after_write(&state, &request, wait).await;
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
    authorize(&principal, Operation::ReadVacancy)?;
    let record = resource::fetch::<VacancyInput>(&state, &id).await?;
    authorize_with_current_links(
        &state.store,
        &state.key_cache,
        &principal,
        Operation::ReadVacancy,
        owner(&record),
    )
    .await?;
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
    authorize(&principal, Operation::UpdateVacancy)?;
    let wait = resource::index_wait_asked(&request)?;
    let existing = resource::fetch::<VacancyInput>(&state, &id).await?;
    authorize_record(&principal, Operation::UpdateVacancy, owner(&existing))?;
    let patch = resource::read_object(&request, payload).await?;
    let expected = resource::expected_version(&request)?;
    let merged = jobmatch_service::patch::merge::<VacancyInput>(&existing, expected, patch)?;
    let rule_errors =
        vacancy_rule_errors(&state, &principal, merged.object(), Some(&existing)).await?;
    let (vacancy, expected) =
        merged.validated::<VacancyInput>(state.reference, &existing, rule_errors)?;
    let record = resource::save_patch(&state, &id, expected, &vacancy).await?;
    resource::after_write(&state, &request, wait).await;
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
    authorize(&principal, Operation::CloseVacancy)?;
    let wait = resource::index_wait_asked(&request)?;
    let existing = resource::fetch::<VacancyInput>(&state, &id).await?;
    authorize_record(&principal, Operation::CloseVacancy, owner(&existing))?;
    let mut vacancy: VacancyInput =
        serde_json::from_value(existing.body.clone()).map_err(ApiError::internal)?;
    if vacancy.status == VacancyStatus::Closed {
        resource::after_write(&state, &request, wait).await;
        return Ok(record_response(StatusCode::OK, &existing));
    }
    vacancy.status = VacancyStatus::Closed;
    // The stored vacancy passed every rule when it was written, and no rule
    // reads the status: closing it is not checked again, so that a vacancy can
    // always be closed, even one a rule made since would refuse.
    let closed = Valid::was_valid_when_stored(vacancy);
    let record = resource::save_patch(&state, &id, Some(existing.version), &closed).await?;
    resource::after_write(&state, &request, wait).await;
    Ok(record_response(StatusCode::OK, &record))
}

/// Search vacancies
///
/// Full-text search with filters, facet counts for sector and province, and the
/// total. Without `q`, lists the matching vacancies newest first. Only open
/// vacancies unless `status` is given. The answer reflects every write the same
/// API key made through this server before the request; every vacancy listed is
/// as stored now, and only one the key may see with the status asked for. While
/// the search index is being rebuilt
/// from the database (after it was found missing, damaged or of an older version),
/// searches answer 503 with `Retry-After`; everything else keeps working.
#[utoipa::path(
    tag = "vacancies",
    operation_id = "list_vacancies",
    params(VacancyListQuery),
    responses(
        (status = 200, description = "A page of vacancies", body = VacancySearchPage),
        (status = 503, description = "The search index is being rebuilt from the database; ask again after `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before searching again"))),
    )
)]
#[get("/v1/vacancies")]
pub async fn list_vacancies(
    state: web::Data<AppState>,
    principal: Principal,
    request: HttpRequest,
    query: Params<VacancyListQuery>,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::SearchVacancies)?;
    let query = query.0;
    let limit = match query.limit.unwrap_or(20) {
        limit @ 1..=100 => limit as usize,
        _ => return Err(ApiError::bad_request("limit", "must be between 1 and 100")),
    };
    if let Some(since) = query.posted_since
        && !(1900..=2100).contains(&chrono::Datelike::year(&since))
    {
        return Err(ApiError::bad_request(
            "posted_since",
            "must be a time between the years 1900 and 2100",
        ));
    }
    if let Some(wage) = query.wage_min_usd
        && !(0.0..=100_000.0).contains(&wage)
    {
        return Err(ApiError::bad_request(
            "wage_min_usd",
            "must be between 0 and 100000",
        ));
    }
    if let Some(radius) = query.radius_km
        && !(0.0..=2_000.0).contains(&radius)
    {
        return Err(ApiError::bad_request(
            "radius_km",
            "must be between 0 and 2000",
        ));
    }
    if let Some(code) = &query.district_code
        && (code.len() != 4 || !code.bytes().all(|byte| byte.is_ascii_digit()))
    {
        return Err(ApiError::bad_request(
            "district_code",
            "must be a 4-digit NCDD district code",
        ));
    }
    for (field, text) in [("q", &query.q), ("cursor", &query.cursor)] {
        if text.as_ref().is_some_and(|text| text.chars().count() > 200) {
            return Err(ApiError::bad_request(
                field,
                "must be at most 200 characters",
            ));
        }
    }
    let requested_employer = uuid_filter("employer_id", query.employer_id)?;
    // Beyond the request's own filter: what this key may see at all.
    let visible_employers = match visibility(&principal, Operation::SearchVacancies) {
        Visibility::All => None,
        Visibility::Employers(allowed) => Some(allowed),
    };
    let search = SearchRequest {
        q: query.q.unwrap_or_default(),
        sector: query.sector.into_iter().collect(),
        province_code: province_filter(state.reference, query.province_code)?
            .into_iter()
            .collect(),
        district_code: query.district_code.into_iter().collect(),
        occupation: query.occupation.into_iter().collect(),
        skill: query.skill.into_iter().collect(),
        employer_id: match &visible_employers {
            None => requested_employer.into_iter().collect(),
            // Only what the key may see; possibly nothing at all.
            Some(allowed) => {
                let allowed: Vec<String> = allowed
                    .iter()
                    .filter(|id| requested_employer.as_ref().is_none_or(|asked| asked == *id))
                    .cloned()
                    .collect();
                if allowed.is_empty() {
                    return Ok(HttpResponse::Ok().json(serde_json::json!({
                        "items": [],
                        "next_cursor": null,
                        "total": 0,
                        "facets": {"sector": [], "province_code": []}
                    })));
                }
                allowed
            }
        },
        wage_min_usd: query.wage_min_usd,
        status: query.status.into_iter().collect(),
        posted_since: query.posted_since,
        near_province_code: province_filter(state.reference, query.near_province_code)?,
        radius_km: query.radius_km,
        sort: match query.sort {
            None | Some(SearchSort::Relevance) => SortOrder::Relevance,
            Some(SearchSort::Newest) => SortOrder::Newest,
            Some(SearchSort::Wage) => SortOrder::Wage,
        },
        limit: Some(limit),
        cursor: query.cursor,
    };
    if state.search_feed.is_rebuilding() {
        return Ok(search_unavailable());
    }
    // Read your writes: the index first applies this key's last write, and waits
    // for nobody else's (an import's backlog is no reason to stall a search).
    if let Some(written) = state.own_writes.last(&request) {
        state.search_feed.wait_for(written, OWN_WRITE_WAIT).await;
    }
    let found = state.search.index.search(&search).map_err(search_error)?;
    let ids: Vec<&str> = found
        .items
        .iter()
        .map(|hit| hit.vacancy_id.as_str())
        .collect();
    let records = state.store.get_many(Entity::Vacancy, &ids).await?;
    // The database is the truth: the index may lag behind it, so a vacancy gone,
    // moved to an employer the key may not see, or no longer of a status asked
    // for since it was indexed is left out.
    let statuses: Vec<&str> = if search.status.is_empty() {
        vec![VacancyStatus::Open.code()]
    } else {
        search.status.iter().map(|status| status.code()).collect()
    };
    let still_matches = |record: &&Record| {
        let employer = record.columns.employer_id.as_deref();
        let visible = match &visible_employers {
            None => true,
            Some(allowed) => employer.is_some_and(|id| allowed.iter().any(|allowed| allowed == id)),
        };
        let asked_employer = search.employer_id.is_empty()
            || employer.is_some_and(|id| search.employer_id.iter().any(|asked| asked == id));
        let asked_status = record
            .columns
            .status
            .as_deref()
            .is_some_and(|status| statuses.contains(&status));
        visible && asked_employer && asked_status
    };
    let items: Vec<serde_json::Value> = ids
        .iter()
        .filter_map(|id| records.get(*id))
        .filter(still_matches)
        .map(resource::representation)
        .collect();
    let facet_values = |counts: Vec<jobmatch_search::FacetCount>| -> Vec<serde_json::Value> {
        counts
            .into_iter()
            .map(|facet| serde_json::json!({"value": facet.value, "count": facet.count}))
            .collect()
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": items,
        "next_cursor": found.next_cursor,
        "total": found.total,
        "facets": {
            "sector": facet_values(found.facets.sector),
            "province_code": facet_values(found.facets.province_code),
        }
    })))
}

/// The longest a search waits for the index to reflect its key's last write;
/// normally well under 100 ms.
const OWN_WRITE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// 503 problem+json with `Retry-After`, while the index rebuilds.
fn search_unavailable() -> HttpResponse {
    let mut response = ApiError::Unavailable(
        "the search index is being rebuilt from the database; try again shortly".to_string(),
    )
    .error_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(SEARCH_RETRY_AFTER_SECONDS),
    );
    response
}

fn search_error(error: SearchError) -> ApiError {
    match error {
        SearchError::InvalidCursor => {
            ApiError::bad_request("cursor", "is not a cursor returned by this search")
        }
        SearchError::UnknownProvince(_) => {
            ApiError::bad_request("near_province_code", "is not a province code")
        }
        SearchError::InvalidFilter { field, message } => ApiError::bad_request(field, message),
        other => ApiError::internal(other),
    }
}
