//! Reference data: sectors, the gazetteer, and the ESCO taxonomy. Read-only and
//! the same for every authenticated role.

use actix_web::{HttpResponse, get, web};
use jobmatch_domain::Sector;
use jobmatch_domain::resources::ProvinceCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::params::Params;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct SectorItem {
    #[schema(example = "garment")]
    pub code: Sector,
    #[schema(example = "Garment, footwear and travel goods")]
    pub name_en: &'static str,
    pub name_km: &'static str,
    /// Hazardous work: 18 is the minimum age.
    pub hazardous: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ProvinceItem {
    #[schema(example = "22")]
    pub code: String,
    #[schema(example = "Oddar Meanchey")]
    pub name_en: String,
    #[schema(example = "ឧត្តរមានជ័យ")]
    pub name_km: String,
    /// Latitude of the provincial capital, WGS 84 degrees.
    pub lat: f64,
    pub lon: f64,
}

#[derive(Serialize, ToSchema)]
pub struct PlaceItem {
    #[schema(example = "2201")]
    pub code: String,
    pub name_en: String,
    pub name_km: String,
    /// `srok`, `krong` or `khan` for districts; `khum` or `sangkat` for communes.
    pub kind: String,
}

#[derive(Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[derive(Serialize, ToSchema)]
pub struct SkillItem {
    /// ESCO skill id (the last segment of its concept URI).
    pub id: String,
    #[schema(example = "operate sewing machines")]
    pub label: String,
    /// How closely the label matches the query, 0 to 1.
    pub score: f64,
    /// The label or alternative label that matched.
    pub matched_label: String,
    /// `skill` or `knowledge`.
    pub skill_type: String,
}

#[derive(Serialize, ToSchema)]
pub struct OccupationItem {
    pub id: String,
    #[schema(example = "sewing machine operator")]
    pub label: String,
    /// ISCO-08 unit group.
    #[schema(example = "8153")]
    pub isco_code: String,
    pub score: f64,
    pub matched_label: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// What the user typed; typos are tolerated. Empty: the most common entries.
    #[param(max_length = 200)]
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
}

fn lookup_bounds(query: &LookupQuery) -> Result<(String, usize), ApiError> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request("limit", "must be between 1 and 100"));
    }
    let text = query.q.clone().unwrap_or_default();
    if text.chars().count() > 200 {
        return Err(ApiError::bad_request("q", "must be at most 200 characters"));
    }
    Ok((text, limit as usize))
}

/// List sectors
///
/// The sector codes that employers and vacancies use, with English and Khmer names.
#[utoipa::path(tag = "reference", operation_id = "list_sectors",
    responses((status = 200, description = "Every sector code", body = Items<SectorItem>)))]
#[get("/v1/sectors")]
pub async fn list_sectors(_principal: Principal) -> HttpResponse {
    let items: Vec<SectorItem> = Sector::ALL
        .into_iter()
        .map(|sector| SectorItem {
            code: sector,
            name_en: sector.name_en(),
            name_km: sector.name_km(),
            hazardous: sector.is_hazardous(),
        })
        .collect();
    HttpResponse::Ok().json(Items { items })
}

/// List provinces
///
/// The 25 provinces of the NCDD gazetteer with Khmer and English names and the
/// coordinates of their capitals.
#[utoipa::path(tag = "reference", operation_id = "list_provinces",
    responses((status = 200, description = "Every province", body = Items<ProvinceItem>)))]
#[get("/v1/provinces")]
pub async fn list_provinces(state: web::Data<AppState>, _principal: Principal) -> HttpResponse {
    let items: Vec<ProvinceItem> = state
        .reference
        .gazetteer
        .provinces()
        .iter()
        .map(|province| ProvinceItem {
            code: province.code.clone(),
            name_en: province.name_en.clone(),
            name_km: province.name_km.clone(),
            lat: province.lat,
            lon: province.lon,
        })
        .collect();
    HttpResponse::Ok().json(Items { items })
}

/// List the districts of a province
///
/// Districts (srok), municipalities (krong) and sections (khan) of the NCDD gazetteer.
#[utoipa::path(tag = "reference", operation_id = "list_districts",
    params(("code" = ProvinceCode, Path, description = "NCDD province code", example = "22")),
    responses(
        (status = 200, description = "The province's districts", body = Items<PlaceItem>),
        (status = 404, description = "No such province", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/v1/provinces/{code}/districts")]
pub async fn list_districts(
    state: web::Data<AppState>,
    _principal: Principal,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let gazetteer = &state.reference.gazetteer;
    if gazetteer.province(&code).is_none() {
        return Err(ApiError::NotFound(format!(
            "no province has the code {:?}",
            code.as_str()
        )));
    }
    let items: Vec<PlaceItem> = gazetteer
        .districts_of(&code)
        .into_iter()
        .map(|district| PlaceItem {
            code: district.code.clone(),
            name_en: district.name_en.clone(),
            name_km: district.name_km.clone(),
            kind: district.kind.clone(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// List the communes of a district
///
/// Communes (khum) and quarters (sangkat) of the NCDD gazetteer.
#[utoipa::path(tag = "reference", operation_id = "list_communes",
    params(("code" = String, Path, description = "NCDD district code", example = "2201", pattern = "^[0-9]{4}$")),
    responses(
        (status = 200, description = "The district's communes and sangkats", body = Items<PlaceItem>),
        (status = 404, description = "No such district", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/v1/districts/{code}/communes")]
pub async fn list_communes(
    state: web::Data<AppState>,
    _principal: Principal,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let gazetteer = &state.reference.gazetteer;
    if gazetteer.district(&code).is_none() {
        return Err(ApiError::NotFound(format!(
            "no district has the code {:?}",
            code.as_str()
        )));
    }
    let items: Vec<PlaceItem> = gazetteer
        .communes_of(&code)
        .into_iter()
        .map(|commune| PlaceItem {
            code: commune.code.clone(),
            name_en: commune.name_en.clone(),
            name_km: commune.name_km.clone(),
            kind: commune.kind.clone(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// Look up skills
///
/// Typo-tolerant lookup over ESCO skill labels and alternative labels, closest
/// first. "sewing machne" finds "operate sewing machines".
#[utoipa::path(tag = "reference", operation_id = "lookup_skills", params(LookupQuery),
    responses((status = 200, description = "Matching skills, closest first", body = Items<SkillItem>)))]
#[get("/v1/skills")]
pub async fn lookup_skills(
    state: web::Data<AppState>,
    _principal: Principal,
    query: Params<LookupQuery>,
) -> Result<HttpResponse, ApiError> {
    let (text, limit) = lookup_bounds(&query.0)?;
    let items: Vec<SkillItem> = state
        .reference
        .taxonomy
        .lookup_skills(&text, limit)
        .into_iter()
        .map(|found| SkillItem {
            id: found.item.id.clone(),
            label: found.item.label.clone(),
            score: found.score,
            matched_label: found.matched_label.to_string(),
            skill_type: match found.item.skill_type {
                jobmatch_domain::reference::SkillType::Skill => "skill".to_string(),
                jobmatch_domain::reference::SkillType::Knowledge => "knowledge".to_string(),
            },
        })
        .collect();
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// Look up occupations
///
/// Typo-tolerant lookup over ESCO occupation labels, with their ISCO-08 unit group.
#[utoipa::path(tag = "reference", operation_id = "lookup_occupations", params(LookupQuery),
    responses((status = 200, description = "Matching occupations, closest first", body = Items<OccupationItem>)))]
#[get("/v1/occupations")]
pub async fn lookup_occupations(
    state: web::Data<AppState>,
    _principal: Principal,
    query: Params<LookupQuery>,
) -> Result<HttpResponse, ApiError> {
    let (text, limit) = lookup_bounds(&query.0)?;
    let items: Vec<OccupationItem> = state
        .reference
        .taxonomy
        .lookup_occupations(&text, limit)
        .into_iter()
        .map(|found| OccupationItem {
            id: found.item.id.clone(),
            label: found.item.label.clone(),
            isco_code: found.item.isco_code.clone(),
            score: found.score,
            matched_label: found.matched_label.to_string(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Items { items }))
}
