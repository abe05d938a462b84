//! Matching: the best candidates for a vacancy, the best vacancies for a person,
//! and a preview for a profile not yet registered. Every item carries its
//! explanation, component by component.

use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::Utc;
use jobmatch_domain::resources::{ProvinceCode, WorkerInput};
use jobmatch_domain::{FieldError, Sector, Valid};
use jobmatch_matching::{
    CandidateQuery, EMPLOYER_SCORE_STEP, MatchError, ScoredMatch, VacancyQuery, Weights,
    WorkerProfile,
};
use jobmatch_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::resource;
use crate::auth::{Principal, Role};
use crate::error::{ApiError, Problem};
use crate::params::Params;
use crate::policy::{Operation, Owner, Reach, authorize, authorize_record, reach_of};
use crate::privacy::{EmployerCandidate, employer_score, employer_view};
use crate::state::AppState;

/// Candidates as the vacancy's employer sees them (see `SECURITY.md`).
#[derive(Serialize, ToSchema)]
pub struct PseudonymisedCandidateList {
    pub items: Vec<EmployerCandidate>,
    /// Complete in one page.
    pub next_cursor: Option<String>,
    pub weights: Weights,
}

/// A candidate list: [`MatchList`] for staff and admins, pseudonymised for
/// employers. (Documented as `anyOf`: an empty list fits both.)
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum CandidateList {
    Staff(MatchList),
    Employer(PseudonymisedCandidateList),
}

/// Ranked matches and the weights they were scored with.
#[derive(Serialize, ToSchema)]
pub struct MatchList {
    pub items: Vec<ScoredMatch>,
    /// Matching lists are complete in one page (`limit` at most 100).
    pub next_cursor: Option<String>,
    pub weights: Weights,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CandidatesQuery {
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
    /// Leave out candidates scoring less (0 to 1). For an employer key, compared with the
    /// score it sees (in steps of 0.05).
    #[param(minimum = 0, maximum = 1)]
    pub min_score: Option<f64>,
    /// Only people whose home is in this province.
    #[param(value_type = Option<ProvinceCode>)]
    pub province_code: Option<String>,
    /// Also list ineligible people, flagged, with the reason. Staff and admins only:
    /// ignored for employer keys.
    pub include_ineligible: Option<bool>,
    /// Weights for this request, e.g. `skills:0.6,distance:0.2`; the others keep their
    /// defaults. Not for employer keys (400 naming `weights`).
    #[param(
        pattern = "^(skills|occupation|experience|distance|wage|preferences|related_skill_credit|wage_penalty):[0-9]+(\\.[0-9]+)?(,(skills|occupation|experience|distance|wage|preferences|related_skill_credit|wage_penalty):[0-9]+(\\.[0-9]+)?)*$",
        example = "skills:0.6,distance:0.2"
    )]
    pub weights: Option<String>,
    /// How strongly people who fully qualify for many other open vacancies within their
    /// reach are moved down this list, so that one strong returnee does not crowd every
    /// list: the score is multiplied by `1 / (1 + congestion_damping × ln(1 + n))` for
    /// `n` such vacancies, and the explanation says so. It re-ranks the best `2 × limit`
    /// candidates by undamped score. 0 switches it off. Not for employer keys (400 naming
    /// `congestion_damping`).
    #[param(minimum = 0, maximum = 1, default = json!(jobmatch_matching::DEFAULT_CONGESTION_DAMPING))]
    pub congestion_damping: Option<f64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkerVacanciesQuery {
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
    #[param(minimum = 0, maximum = 1)]
    pub min_score: Option<f64>,
    pub sector: Option<Sector>,
    /// Only vacancies in this province.
    #[param(value_type = Option<ProvinceCode>)]
    pub province_code: Option<String>,
    /// At most this many vacancies of one employer (0 for no cap).
    #[param(minimum = 0, maximum = 100, default = 3)]
    pub max_per_employer: Option<u32>,
    pub include_ineligible: Option<bool>,
    /// Weights for this request, e.g. `skills:0.6,distance:0.2`.
    #[param(
        pattern = "^(skills|occupation|experience|distance|wage|preferences|related_skill_credit|wage_penalty):[0-9]+(\\.[0-9]+)?(,(skills|occupation|experience|distance|wage|preferences|related_skill_credit|wage_penalty):[0-9]+(\\.[0-9]+)?)*$",
        example = "skills:0.6,distance:0.2"
    )]
    pub weights: Option<String>,
}

/// A profile to try before registering it, and what to rank it against.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    pub worker: WorkerInput,
    #[schema(minimum = 1, maximum = 100, default = 20)]
    #[serde(default)]
    pub limit: Option<u32>,
    #[schema(minimum = 0, maximum = 1)]
    #[serde(default)]
    pub min_score: Option<f64>,
    #[serde(default)]
    pub sector: Option<Sector>,
    #[serde(default)]
    #[schema(value_type = Option<ProvinceCode>)]
    pub province_code: Option<String>,
    #[serde(default)]
    pub weights: Option<Weights>,
}

fn limit_of(limit: Option<u32>) -> Result<usize, ApiError> {
    match limit.unwrap_or(20) {
        limit @ 1..=100 => Ok(limit as usize),
        _ => Err(ApiError::bad_request("limit", "must be between 1 and 100")),
    }
}

fn max_per_employer_of(cap: Option<u32>) -> Result<usize, ApiError> {
    match cap.unwrap_or(3) {
        cap @ 0..=100 => Ok(cap as usize),
        _ => Err(ApiError::bad_request(
            "max_per_employer",
            "must be between 0 and 100",
        )),
    }
}

fn congestion_damping_of(damping: Option<f64>) -> Result<f64, ApiError> {
    match damping.unwrap_or(jobmatch_matching::DEFAULT_CONGESTION_DAMPING) {
        damping if (0.0..=1.0).contains(&damping) => Ok(damping),
        _ => Err(ApiError::bad_request(
            "congestion_damping",
            "must be between 0 and 1",
        )),
    }
}

fn min_score_of(min_score: Option<f64>) -> Result<f64, ApiError> {
    match min_score.unwrap_or(0.0) {
        score if (0.0..=1.0).contains(&score) => Ok(score),
        _ => Err(ApiError::bad_request(
            "min_score",
            "must be between 0 and 1",
        )),
    }
}

/// Parses `skills:0.6,distance:0.2` over the configured weights.
fn weights_of(text: Option<&str>, base: &Weights) -> Result<Option<Weights>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    if text.is_empty() {
        return Err(ApiError::bad_request(
            "weights",
            "must name at least one weight, e.g. skills:0.6",
        ));
    }
    let mut object = serde_json::to_value(base).map_err(ApiError::internal)?;
    for pair in text.split(',') {
        let (name, value) = pair.split_once(':').ok_or_else(|| {
            ApiError::bad_request("weights", format!("{pair:?} is not name:number"))
        })?;
        let field = format!("weights.{name}");
        if object.get(name).is_none() {
            return Err(ApiError::bad_request(&field, "is not a weight"));
        }
        let number: f64 = value
            .parse()
            .map_err(|_| ApiError::bad_request(&field, "must be a number"))?;
        object[name] = Value::from(number);
    }
    let weights: Weights = serde_json::from_value(object)
        .map_err(|error| ApiError::bad_request("weights", error.to_string()))?;
    weights.validate().map_err(match_error)?;
    Ok(Some(weights))
}

/// Refuses, for an employer key, the parameters that move scores: with them an
/// employer could turn a score into a person's exact distance, wage or years
/// (`distance:1` makes the score a function of the distance alone). Refused
/// rather than ignored, so that no client takes the default scores for its own.
fn refuse_scoring_knobs(query: &CandidatesQuery) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if query.weights.is_some() {
        errors.push(FieldError::new(
            "weights",
            "employer keys rank with the deployment's weights",
        ));
    }
    if query.congestion_damping.is_some() {
        errors.push(FieldError::new(
            "congestion_damping",
            "employer keys rank with the deployment's congestion damping",
        ));
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(ApiError::BadRequest {
        detail: format!(
            "{} may not be set with an employer key",
            errors
                .iter()
                .map(|error| error.field.as_str())
                .collect::<Vec<_>>()
                .join(" and ")
        ),
        errors,
    })
}

fn match_error(error: MatchError) -> ApiError {
    match error {
        MatchError::UnknownWorker(id) => ApiError::NotFound(format!("no worker has the id {id}")),
        MatchError::UnknownVacancy(id) => ApiError::NotFound(format!("no vacancy has the id {id}")),
        MatchError::InvalidWeight { name, reason } => {
            ApiError::bad_request(&format!("weights.{name}"), reason)
        }
        MatchError::InvalidLimit { .. } => {
            ApiError::bad_request("limit", "must be between 1 and 100")
        }
        MatchError::InvalidMinScore => {
            ApiError::bad_request("min_score", "must be between 0 and 1")
        }
        MatchError::InvalidCongestionDamping => {
            ApiError::bad_request("congestion_damping", "must be between 0 and 1")
        }
        MatchError::InvalidProvinceCode(_) => {
            ApiError::bad_request("province_code", "is not a province code")
        }
        full @ MatchError::Full { .. } => ApiError::internal(full),
    }
}

fn list(items: Vec<ScoredMatch>, weights: Weights) -> Result<HttpResponse, ApiError> {
    // An explained item takes 1 to 2 KB: one allocation instead of a series of
    // doublings, each copying what was written so far.
    let capacity = 512 + items.len() * 2048;
    let body = crate::numbers::to_json(
        &MatchList {
            items,
            next_cursor: None,
            weights,
        },
        capacity,
    )
    .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body))
}

/// Best candidates for a vacancy
///
/// Returnees ranked for the vacancy, best first, each with a score from 0 to 1 and
/// its explanation: the contribution of each component, the matched and missing
/// required skills, and a sentence to read out. People who cannot take the job (too
/// far and not willing to move, under age, not available in time, not seeking) are
/// left out unless `include_ineligible` is set. Ties are broken by worker id.
/// Employer keys may ask only for their own vacancies, and see candidates only in the
/// coarse values described in `SECURITY.md` ("What employers see"): the score to 0.05,
/// distance, wage and years in bands; availability counts to the week, the wage from
/// its band and experience in whole years; they may not set `weights` or
/// `congestion_damping`.
#[utoipa::path(
    tag = "matching",
    operation_id = "vacancy_candidates",
    params(("id" = String, Path, description = "Vacancy id", format = "uuid"), CandidatesQuery),
    responses(
        (status = 200, description = "Candidates, best first: with worker ids for staff and admins, pseudonymised for the vacancy's employer", body = CandidateList),
        (status = 404, description = "No such vacancy", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/vacancies/{id}/candidates")]
pub async fn vacancy_candidates(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    query: Params<CandidatesQuery>,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::ListCandidates)?;
    let query = query.0;
    // Keys that may list any vacancy's candidates (staff, admins) skip the database:
    // the index answers 404 for a vacancy it does not hold. Others are checked
    // against the stored vacancy's owner.
    let employer_id = if reach_of(&principal, Operation::ListCandidates) == Reach::All {
        None
    } else {
        let vacancy =
            resource::fetch::<jobmatch_domain::resources::VacancyInput>(&state, &id).await?;
        let employer_id = vacancy.columns.employer_id.clone().unwrap_or_default();
        authorize_record(
            &principal,
            Operation::ListCandidates,
            Owner {
                employer_id: Some(&employer_id),
                source: vacancy.source.as_deref(),
            },
        )?;
        Some(employer_id)
    };
    let pseudonymised = principal.role == Role::Employer;
    if pseudonymised {
        refuse_scoring_knobs(&query)?;
    }
    let min_score = min_score_of(query.min_score)?;
    // The index is read-locked only while it ranks, never across a database call.
    let (mut items, applied) = {
        let index = state.matching.read();
        let weights = weights_of(query.weights.as_deref(), index.weights())?;
        let applied = weights.unwrap_or(*index.weights());
        let request = CandidateQuery {
            today: Utc::now().date_naive(),
            limit: limit_of(query.limit)?,
            // An employer's `min_score` applies to the score it sees (in steps of
            // 0.05), so that it cannot find an exact score by moving it: the
            // index keeps every score that may round up to it.
            min_score: if pseudonymised {
                (min_score - EMPLOYER_SCORE_STEP / 2.0).max(0.0)
            } else {
                min_score
            },
            province_code: query.province_code,
            weights,
            // The reasons of ineligible pairs can tell an exact age: staff only.
            include_ineligible: query.include_ineligible.unwrap_or(false) && !pseudonymised,
            congestion_damping: congestion_damping_of(query.congestion_damping)?,
            employer_view: pseudonymised,
        };
        let items = index
            .candidates_for_vacancy(&id, &request)
            .map_err(match_error)?;
        (items, applied)
    };
    if pseudonymised {
        // Ranked by full score, so the kept ones are still the best `limit`.
        items.retain(|scored| employer_score(scored.score) >= min_score);
    }
    let Some(employer_id) = employer_id.filter(|_| pseudonymised) else {
        return list(items, applied);
    };
    // Consent and releases are read now, from the database: a withdrawal
    // counts from the next request on.
    let released = state.store.contacts_released_for(&id).await?;
    let worker_ids: Vec<&str> = items
        .iter()
        .map(|scored| scored.worker_id.as_str())
        .collect();
    let mut profiles = state.store.get_many(Entity::Worker, &worker_ids).await?;
    let today = Utc::now().date_naive();
    let mut shown = Vec::with_capacity(items.len());
    for scored in items {
        let Some(record) = profiles.remove(&scored.worker_id) else {
            continue; // erased since matching saw it
        };
        let profile: WorkerInput =
            serde_json::from_value(record.body).map_err(ApiError::internal)?;
        let contact_released = released.contains(&scored.worker_id);
        shown.push(employer_view(
            &state.pseudonyms,
            &employer_id,
            scored,
            &profile,
            contact_released,
            today,
        ));
    }
    Ok(HttpResponse::Ok().json(PseudonymisedCandidateList {
        items: shown,
        next_cursor: None,
        weights: applied,
    }))
}

/// Best vacancies for a returnee
///
/// Open vacancies ranked for the person, best first, at most three per employer by
/// default (`max_per_employer`), each with its explanation. Staff and admins only.
#[utoipa::path(
    tag = "matching",
    operation_id = "worker_vacancies",
    params(("id" = String, Path, description = "Worker id", format = "uuid"), WorkerVacanciesQuery),
    responses(
        (status = 200, description = "Vacancies, best first", body = MatchList),
        (status = 404, description = "No such worker", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/workers/{id}/vacancies")]
pub async fn worker_vacancies(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    query: Params<WorkerVacanciesQuery>,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::ListWorkerVacancies)?;
    let query = query.0;
    resource::fetch::<WorkerInput>(&state, &id).await?;
    let index = state.matching.read();
    let weights = weights_of(query.weights.as_deref(), index.weights())?;
    let applied = weights.unwrap_or(*index.weights());
    let request = VacancyQuery {
        today: Utc::now().date_naive(),
        limit: limit_of(query.limit)?,
        min_score: min_score_of(query.min_score)?,
        sector: query.sector,
        province_code: query.province_code,
        max_per_employer: max_per_employer_of(query.max_per_employer)?,
        weights,
        include_ineligible: query.include_ineligible.unwrap_or(false),
    };
    let items = index
        .vacancies_for_worker(&id, &request)
        .map_err(match_error)?;
    list(items, applied)
}

/// Preview matches for an unsaved profile
///
/// Scores a profile that is not registered (a counsellor trying options with a
/// person before registering them) against the open vacancies. Nothing is stored.
#[utoipa::path(
    tag = "matching",
    operation_id = "match_preview",
    request_body(content = PreviewRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Vacancies, best first", body = MatchList),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/match/preview")]
pub async fn match_preview(
    state: web::Data<AppState>,
    principal: Principal,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Operation::PreviewMatches)?;
    let mut object = resource::read_object(&request, payload).await?;
    let worker_object = match object.remove("worker") {
        Some(Value::Object(worker)) => worker,
        Some(_) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "worker",
                "must be an object",
            )]));
        }
        None => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "worker",
                "is required",
            )]));
        }
    };
    let worker: Valid<WorkerInput> = jobmatch_service::validation::validated(
        worker_object,
        state.reference,
    )
    .map_err(|errors| {
        ApiError::Validation(
            errors
                .into_iter()
                .map(|error| FieldError::new(format!("worker.{}", error.field), error.message))
                .collect(),
        )
    })?;
    object.insert(
        "worker".to_string(),
        serde_json::to_value(&worker).map_err(ApiError::internal)?,
    );
    let preview: PreviewRequest = serde_json::from_value(Value::Object(object))
        .map_err(|error| ApiError::Validation(vec![FieldError::new("body", error.to_string())]))?;
    let index = state.matching.read();
    if let Some(weights) = &preview.weights {
        weights.validate().map_err(match_error)?;
    }
    let applied = preview.weights.unwrap_or(*index.weights());
    let profile = WorkerProfile::from_input("preview", &worker, state.reference);
    let query = VacancyQuery {
        today: Utc::now().date_naive(),
        limit: limit_of(preview.limit)?,
        min_score: min_score_of(preview.min_score)?,
        sector: preview.sector,
        province_code: preview.province_code,
        weights: preview.weights,
        ..VacancyQuery::new(Utc::now().date_naive())
    };
    let items = index.preview(&profile, &query).map_err(match_error)?;
    list(items, applied)
}
