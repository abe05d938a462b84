//! The documents clients send: employers, vacancies and returnee profiles.
//!
//! Each input type is exactly the JSON body of a create request (unknown fields are
//! refused). Once [`Valid::check`](crate::Valid::check) passes it is the canonical
//! stored document: a `PATCH` is merged into it and the result is validated again as a
//! whole, so a record can never drift into a state that a create would refuse.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{Checker, FieldError, Validate};
use crate::{Reference, Sector};

mod free_text;

/// Upper bounds on what one document may carry; they keep a single request from
/// costing more than any honest client needs.
pub mod limits {
    pub const NAME_CHARS: usize = 200;
    pub const TITLE_CHARS: usize = 200;
    pub const DESCRIPTION_CHARS: usize = 10_000;
    pub const EXTERNAL_ID_CHARS: usize = 100;
    pub const SKILLS: usize = 100;
    pub const EXPERIENCE_ENTRIES: usize = 30;
    pub const BENEFITS: usize = 16;
    pub const MAX_POSITIONS: u32 = 100_000;
    pub const MAX_TRAVEL_KM: f64 = 2_000.0;
    pub const MAX_YEARS: f64 = 60.0;
}

/// The schema of a Cambodian province code (never a Rust value: the fields stay
/// `String`, checked by [`Validate`]). Its `enum` is the 25 codes of the embedded
/// NCDD gazetteer, so clients can check a province before sending it.
///
/// District (210) and commune (1,652) codes get only a digit pattern: an enum could
/// not say that the district must lie in the given province, which the server
/// checks (422), and thousands of codes would swamp the document for no gain.
pub struct ProvinceCode;

impl utoipa::PartialSchema for ProvinceCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let codes = Reference::embedded()
            .gazetteer
            .provinces()
            .iter()
            .map(|province| province.code.clone());
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "NCDD province code, \"01\" to \"25\"; names in GET /v1/provinces.",
            ))
            .enum_values(Some(codes))
            .examples(["12"])
            .into()
    }
}

impl ToSchema for ProvinceCode {}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Angkor Garment Co., Ltd.",
    "sector": "garment",
    "province_code": "12",
    "district_code": "1204",
    "contact_name": "Sok Dara",
    "contact_phone": "012 345 678",
    "external_id": "NEA-EMP-00042"
}))]
pub struct EmployerInput {
    /// Registered business name, in Khmer or Latin script (the description is
    /// its schema's, [`free_text::employer_name`]).
    #[schema(schema_with = free_text::employer_name)]
    pub name: String,
    pub sector: Sector,
    /// NCDD province code where the employer is based.
    #[schema(value_type = ProvinceCode)]
    pub province_code: String,
    #[serde(default)]
    #[schema(pattern = "^[0-9]{4}$", example = "1204")]
    pub district_code: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^[0-9]{6}$", example = "120401")]
    pub commune_code: Option<String>,
    #[serde(default)]
    #[schema(schema_with = free_text::contact_name)]
    pub contact_name: Option<String>,
    /// Stored in E.164; numbers without a country code are read as Cambodian.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 40, example = "+85512345678")]
    pub contact_phone: Option<String>,
    /// The employer's id in the sending system; unique per API key (the
    /// description is its schema's, [`free_text::employer_external_id`]).
    #[serde(default)]
    #[schema(schema_with = free_text::employer_external_id)]
    pub external_id: Option<String>,
}

impl Validate for EmployerInput {
    fn stand_in(field: &str) -> Option<serde_json::Value> {
        stand_in(field)
    }

    fn rules_read(field: &str) -> &'static [&'static str] {
        place_rules_read(field)
    }

    fn validate(&mut self, reference: &Reference, errors: &mut Vec<FieldError>) {
        let mut check = Checker::new(errors);
        check.text("name", &mut self.name, 1, limits::NAME_CHARS);
        check.place(
            reference,
            "",
            &self.province_code,
            self.district_code.as_deref(),
            self.commune_code.as_deref(),
        );
        check.optional_text("contact_name", &mut self.contact_name, limits::NAME_CHARS);
        check.phone("contact_phone", &mut self.contact_phone);
        check.optional_text(
            "external_id",
            &mut self.external_id,
            limits::EXTERNAL_ID_CHARS,
        );
    }
}

/// Stand-ins for the required fields of the three documents
/// ([`Validate::stand_in`]): each passes its own rules.
fn stand_in(field: &str) -> Option<serde_json::Value> {
    Some(serde_json::Value::from(match field {
        "name" | "title" | "full_name" | "employer_id" => "stand-in",
        "sector" => Sector::Other.code(),
        "province_code" => "12",
        _ => return None,
    }))
}

/// A district must lie in the province, a commune in both.
fn place_rules_read(field: &str) -> &'static [&'static str] {
    match field {
        "district_code" => &["province_code"],
        "commune_code" => &["province_code", "district_code"],
        _ => &[],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VacancyStatus {
    #[default]
    Open,
    Filled,
    Closed,
}

impl VacancyStatus {
    pub fn code(self) -> &'static str {
        match self {
            VacancyStatus::Open => "open",
            VacancyStatus::Filled => "filled",
            VacancyStatus::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Benefit {
    Accommodation,
    Transport,
    Meals,
    HealthInsurance,
    /// Registration with the National Social Security Fund.
    SocialSecurity,
    Childcare,
    Training,
    OvertimePay,
}

impl Benefit {
    pub const ALL: [Benefit; 8] = [
        Benefit::Accommodation,
        Benefit::Transport,
        Benefit::Meals,
        Benefit::HealthInsurance,
        Benefit::SocialSecurity,
        Benefit::Childcare,
        Benefit::Training,
        Benefit::OvertimePay,
    ];

    /// The JSON spelling.
    pub const fn code(self) -> &'static str {
        match self {
            Benefit::Accommodation => "accommodation",
            Benefit::Transport => "transport",
            Benefit::Meals => "meals",
            Benefit::HealthInsurance => "health_insurance",
            Benefit::SocialSecurity => "social_security",
            Benefit::Childcare => "childcare",
            Benefit::Training => "training",
            Benefit::OvertimePay => "overtime_pay",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RequiredSkill {
    /// ESCO skill id (the UUID, or the full concept URI).
    #[schema(
        example = "c8d75bf4-ad0d-4f36-8cdc-265a7b044881",
        pattern = r"^(http://data\.europa\.eu/esco/skill/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub skill: String,
    /// 1 basic, 2 competent, 3 experienced, 4 expert.
    #[schema(minimum = 1, maximum = 4)]
    pub min_level: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PreferredSkill {
    /// ESCO skill id (the UUID, or the full concept URI).
    #[schema(
        example = "c8d75bf4-ad0d-4f36-8cdc-265a7b044881",
        pattern = r"^(http://data\.europa\.eu/esco/skill/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub skill: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VacancyInput {
    /// Id of an existing employer.
    #[schema(format = "uuid")]
    pub employer_id: String,
    #[schema(schema_with = free_text::vacancy_title)]
    pub title: String,
    #[serde(default)]
    #[schema(schema_with = free_text::vacancy_description)]
    pub description: Option<String>,
    pub sector: Sector,
    /// ESCO occupation id (the UUID, or the full concept URI).
    #[serde(default)]
    #[schema(
        example = "7d4266b3-2108-4330-b27b-430a96012c21",
        pattern = r"^(http://data\.europa\.eu/esco/occupation/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub occupation: Option<String>,
    #[schema(value_type = ProvinceCode)]
    pub province_code: String,
    #[serde(default)]
    #[schema(pattern = "^[0-9]{4}$")]
    pub district_code: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^[0-9]{6}$")]
    pub commune_code: Option<String>,
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 100000, default = 1)]
    pub positions: u32,
    /// Monthly, in US dollars.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100000)]
    pub wage_min_usd: Option<f64>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100000)]
    pub wage_max_usd: Option<f64>,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub required_skills: Vec<RequiredSkill>,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub preferred_skills: Vec<PreferredSkill>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 60)]
    pub min_experience_years: Option<f64>,
    /// Minimum age in years; hazardous work (construction) needs at least 18. An employer
    /// key may set only 15, 18, 25, 35, 45 or 55, the lower bounds of the age bands it
    /// sees (422 naming `min_age` otherwise): any other minimum would tell it ages the
    /// bands hide.
    #[serde(default)]
    #[schema(minimum = 15, maximum = 70)]
    pub min_age: Option<u8>,
    #[serde(default)]
    #[schema(max_items = 16)]
    pub benefits: Vec<Benefit>,
    #[serde(default)]
    #[schema(pattern = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub starts_on: Option<NaiveDate>,
    #[serde(default)]
    #[schema(pattern = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub closes_on: Option<NaiveDate>,
    #[serde(default)]
    pub status: VacancyStatus,
    #[serde(default)]
    #[schema(schema_with = free_text::external_id)]
    pub external_id: Option<String>,
}

fn one() -> u32 {
    1
}

/// Cambodian labour law's general minimum working age.
pub const MIN_WORKING_AGE: u8 = 15;
/// Minimum age for hazardous work.
pub const MIN_HAZARDOUS_WORK_AGE: u8 = 18;

impl Validate for VacancyInput {
    fn stand_in(field: &str) -> Option<serde_json::Value> {
        stand_in(field)
    }

    fn rules_read(field: &str) -> &'static [&'static str] {
        match field {
            "min_age" => &["sector"],
            other => place_rules_read(other),
        }
    }

    fn validate(&mut self, reference: &Reference, errors: &mut Vec<FieldError>) {
        let mut check = Checker::new(errors);
        check.text("employer_id", &mut self.employer_id, 1, 64);
        check.text("title", &mut self.title, 1, limits::TITLE_CHARS);
        check.optional_text(
            "description",
            &mut self.description,
            limits::DESCRIPTION_CHARS,
        );
        if let Some(occupation) = &mut self.occupation {
            check.occupation(reference, "occupation", occupation);
        }
        check.place(
            reference,
            "",
            &self.province_code,
            self.district_code.as_deref(),
            self.commune_code.as_deref(),
        );
        if self.positions < 1 || self.positions > limits::MAX_POSITIONS {
            check.fail(
                "positions",
                format!("must be between 1 and {}", limits::MAX_POSITIONS),
            );
        }
        let wages_valid = check.wage("wage_min_usd", self.wage_min_usd)
            & check.wage("wage_max_usd", self.wage_max_usd);
        if let (true, Some(min), Some(max)) = (wages_valid, self.wage_min_usd, self.wage_max_usd)
            && min > max
        {
            check.fail("wage_min_usd", "must not be greater than wage_max_usd");
        }
        if check.max_items("required_skills", &self.required_skills, limits::SKILLS) {
            let mut seen = std::collections::HashSet::new();
            for (index, required) in self.required_skills.iter_mut().enumerate() {
                let field = format!("required_skills[{index}]");
                if check.skill(reference, &format!("{field}.skill"), &mut required.skill)
                    && !seen.insert(required.skill.clone())
                {
                    check.fail(format!("{field}.skill"), "is listed twice");
                }
                if !(1..=4).contains(&required.min_level) {
                    check.fail(format!("{field}.min_level"), "must be between 1 and 4");
                }
            }
        }
        if check.max_items("preferred_skills", &self.preferred_skills, limits::SKILLS) {
            for (index, preferred) in self.preferred_skills.iter_mut().enumerate() {
                check.skill(
                    reference,
                    &format!("preferred_skills[{index}].skill"),
                    &mut preferred.skill,
                );
            }
        }
        if let Some(years) = self.min_experience_years {
            check.number_in("min_experience_years", years, 0.0, limits::MAX_YEARS);
        }
        if let Some(age) = self.min_age {
            let floor = if self.sector.is_hazardous() {
                MIN_HAZARDOUS_WORK_AGE
            } else {
                MIN_WORKING_AGE
            };
            if age < floor || age > 70 {
                let reason = if self.sector.is_hazardous() {
                    " (hazardous work)"
                } else {
                    ""
                };
                check.fail("min_age", format!("must be between {floor}{reason} and 70"));
            }
        }
        check.max_items("benefits", &self.benefits, limits::BENEFITS);
        check.date("starts_on", self.starts_on, 5);
        check.date("closes_on", self.closes_on, 5);
        check.optional_text(
            "external_id",
            &mut self.external_id,
            limits::EXTERNAL_ID_CHARS,
        );
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkerStatus {
    #[default]
    Seeking,
    Placed,
    Inactive,
}

impl WorkerStatus {
    pub fn code(self) -> &'static str {
        match self {
            WorkerStatus::Seeking => "seeking",
            WorkerStatus::Placed => "placed",
            WorkerStatus::Inactive => "inactive",
        }
    }
}

/// Where and when a returnee worked abroad last.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReturnedFrom {
    /// ISO 3166-1 alpha-2 country code.
    #[schema(pattern = "^[A-Z]{2}$", example = "TH")]
    pub country: String,
    /// Province code of that country; for Thailand the 2-digit DOPA code.
    #[serde(default)]
    #[schema(example = "27")]
    pub province_code: Option<String>,
    #[serde(default)]
    #[schema(pattern = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub returned_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Experience {
    /// ESCO occupation id (the UUID, or the full concept URI).
    #[schema(
        example = "7d4266b3-2108-4330-b27b-430a96012c21",
        pattern = r"^(http://data\.europa\.eu/esco/occupation/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub occupation: String,
    #[schema(minimum = 0, maximum = 60)]
    pub years: f64,
    /// ISO 3166-1 alpha-2 code of the country where the work was done.
    #[serde(default)]
    #[schema(pattern = "^[A-Z]{2}$", example = "TH")]
    pub country: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WorkerSkill {
    /// ESCO skill id (the UUID, or the full concept URI).
    #[schema(
        example = "c8d75bf4-ad0d-4f36-8cdc-265a7b044881",
        pattern = r"^(http://data\.europa\.eu/esco/skill/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub skill: String,
    /// 1 basic, 2 competent, 3 experienced, 4 expert.
    #[schema(minimum = 1, maximum = 4)]
    pub level: u8,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 60)]
    pub years: Option<f64>,
    /// Recognised through recognition of prior learning (RPL) or a certificate.
    #[serde(default)]
    pub certified: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// Whether the person agreed that employers may see their name and contact details.
    pub share_with_employers: bool,
    /// When consent was recorded; the server fills in the time of the request when absent.
    #[serde(default)]
    pub recorded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WorkerInput {
    #[schema(schema_with = free_text::full_name)]
    pub full_name: String,
    #[serde(default)]
    pub sex: Option<Sex>,
    #[serde(default)]
    #[schema(pattern = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub date_of_birth: Option<NaiveDate>,
    /// Stored in E.164; numbers without a country code are read as Cambodian.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 40, example = "012 345 678")]
    pub phone: Option<String>,
    #[schema(value_type = ProvinceCode)]
    pub province_code: String,
    #[serde(default)]
    #[schema(pattern = "^[0-9]{4}$")]
    pub district_code: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^[0-9]{6}$")]
    pub commune_code: Option<String>,
    #[serde(default)]
    pub returned_from: Option<ReturnedFrom>,
    #[serde(default)]
    #[schema(max_items = 30)]
    pub experience: Vec<Experience>,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub skills: Vec<WorkerSkill>,
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeSet<Sector>, max_items = 9)]
    pub preferred_sectors: Vec<Sector>,
    /// How far from home, in kilometres, the person can travel to work without moving.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 2000)]
    pub max_travel_km: Option<f64>,
    #[serde(default)]
    pub willing_to_relocate: bool,
    /// Monthly, in US dollars.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100000)]
    pub expected_wage_usd: Option<f64>,
    #[serde(default)]
    #[schema(pattern = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub available_from: Option<NaiveDate>,
    #[serde(default)]
    pub consent: Option<Consent>,
    #[serde(default)]
    pub status: WorkerStatus,
    #[serde(default)]
    #[schema(schema_with = free_text::external_id)]
    pub external_id: Option<String>,
}

impl Validate for WorkerInput {
    fn stand_in(field: &str) -> Option<serde_json::Value> {
        stand_in(field)
    }

    fn rules_read(field: &str) -> &'static [&'static str] {
        place_rules_read(field)
    }

    fn validate(&mut self, reference: &Reference, errors: &mut Vec<FieldError>) {
        let mut check = Checker::new(errors);
        check.text("full_name", &mut self.full_name, 1, limits::NAME_CHARS);
        if let Some(birth) = self.date_of_birth {
            let today = Utc::now().date_naive();
            let age = today.years_since(birth).unwrap_or(0);
            if birth > today || !(14..=100).contains(&age) {
                check.fail("date_of_birth", "must give an age between 14 and 100 years");
            }
        }
        check.phone("phone", &mut self.phone);
        check.place(
            reference,
            "",
            &self.province_code,
            self.district_code.as_deref(),
            self.commune_code.as_deref(),
        );
        if let Some(returned) = &mut self.returned_from {
            check.text("returned_from.country", &mut returned.country, 2, 2);
            if !returned.country.chars().all(|c| c.is_ascii_uppercase()) {
                check.fail(
                    "returned_from.country",
                    "must be an ISO 3166-1 alpha-2 code such as TH",
                );
            }
            if let Some(province) = &returned.province_code
                && returned.country == "TH"
                && reference.gazetteer.thai_province(province).is_none()
            {
                check.fail("returned_from.province_code", "is not a Thai province code");
            }
            check.date("returned_from.returned_on", returned.returned_on, 0);
        }
        if check.max_items("experience", &self.experience, limits::EXPERIENCE_ENTRIES) {
            for (index, entry) in self.experience.iter_mut().enumerate() {
                check.occupation(
                    reference,
                    &format!("experience[{index}].occupation"),
                    &mut entry.occupation,
                );
                check.number_in(
                    &format!("experience[{index}].years"),
                    entry.years,
                    0.0,
                    limits::MAX_YEARS,
                );
                if let Some(country) = &entry.country
                    && (country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()))
                {
                    check.fail(
                        format!("experience[{index}].country"),
                        "must be an ISO 3166-1 alpha-2 code such as TH",
                    );
                }
            }
        }
        if check.max_items("skills", &self.skills, limits::SKILLS) {
            let mut seen = std::collections::HashSet::new();
            for (index, skill) in self.skills.iter_mut().enumerate() {
                let field = format!("skills[{index}]");
                if check.skill(reference, &format!("{field}.skill"), &mut skill.skill)
                    && !seen.insert(skill.skill.clone())
                {
                    check.fail(format!("{field}.skill"), "is listed twice");
                }
                if !(1..=4).contains(&skill.level) {
                    check.fail(format!("{field}.level"), "must be between 1 and 4");
                }
                if let Some(years) = skill.years {
                    check.number_in(&format!("{field}.years"), years, 0.0, limits::MAX_YEARS);
                }
            }
        }
        if check.max_items(
            "preferred_sectors",
            &self.preferred_sectors,
            Sector::ALL.len(),
        ) {
            let mut sectors_seen = std::collections::HashSet::new();
            for (index, sector) in self.preferred_sectors.iter().enumerate() {
                if !sectors_seen.insert(*sector) {
                    check.fail(format!("preferred_sectors[{index}]"), "is listed twice");
                }
            }
        }
        if let Some(km) = self.max_travel_km {
            check.number_in("max_travel_km", km, 0.0, limits::MAX_TRAVEL_KM);
        }
        check.wage("expected_wage_usd", self.expected_wage_usd);
        check.date("available_from", self.available_from, 5);
        if let Some(consent) = &mut self.consent
            && consent.recorded_at.is_none()
        {
            consent.recorded_at = Some(Utc::now());
        }
        check.optional_text(
            "external_id",
            &mut self.external_id,
            limits::EXTERNAL_ID_CHARS,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors_of<T: Validate + serde::de::DeserializeOwned>(
        value: serde_json::Value,
    ) -> (T, Vec<String>) {
        let mut document: T = serde_json::from_value(value).expect("well-typed test document");
        let mut errors = Vec::new();
        document.validate(Reference::embedded(), &mut errors);
        (
            document,
            errors.into_iter().map(|error| error.field).collect(),
        )
    }

    fn a_skill() -> String {
        Reference::embedded().taxonomy.skills()[0].id.clone()
    }

    #[test]
    fn minimum_wage_above_maximum_is_refused_on_the_minimum() {
        let (_, errors) = errors_of::<VacancyInput>(json!({
            "employer_id": "e", "title": "Helper", "sector": "garment", "province_code": "12",
            "wage_min_usd": 300, "wage_max_usd": 250
        }));
        assert_eq!(errors, vec!["wage_min_usd"]);
    }

    #[test]
    fn a_code_with_spaces_around_it_is_refused_not_stored() {
        let (_, errors) = errors_of::<EmployerInput>(json!({
            "name": "Angkor Garment", "sector": "garment", "province_code": " 12"
        }));
        assert_eq!(errors, vec!["province_code"]);
    }

    #[test]
    fn only_a_document_that_passes_every_rule_becomes_valid() {
        let employer = |phone: &str| -> EmployerInput {
            serde_json::from_value(json!({
                "name": "Angkor Garment", "sector": "garment", "province_code": "12",
                "contact_phone": phone
            }))
            .expect("deserialises")
        };
        let valid =
            crate::Valid::check(employer("012 345 678"), Reference::embedded()).expect("valid");
        assert_eq!(valid.contact_phone.as_deref(), Some("+85512345678"));
        let errors = crate::Valid::check(employer("12"), Reference::embedded())
            .expect_err("too short a phone");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "contact_phone");
    }

    #[test]
    fn construction_work_needs_a_minimum_age_of_eighteen() {
        let (_, errors) = errors_of::<VacancyInput>(json!({
            "employer_id": "e", "title": "Labourer", "sector": "construction", "province_code": "12", "min_age": 16
        }));
        assert_eq!(errors, vec!["min_age"]);
        let (_, garment_errors) = errors_of::<VacancyInput>(json!({
            "employer_id": "e", "title": "Helper", "sector": "garment", "province_code": "12", "min_age": 16
        }));
        assert!(garment_errors.is_empty());
    }

    #[test]
    fn skill_given_as_full_esco_uri_is_stored_as_its_bare_id() {
        let skill = a_skill();
        let (vacancy, errors) = errors_of::<VacancyInput>(json!({
            "employer_id": "e", "title": "Helper", "sector": "garment", "province_code": "12",
            "required_skills": [{"skill": format!("http://data.europa.eu/esco/skill/{skill}"), "min_level": 2}]
        }));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(vacancy.required_skills[0].skill, skill);
    }

    #[test]
    fn commune_outside_the_home_district_is_refused() {
        let gazetteer = &Reference::embedded().gazetteer;
        let district = &gazetteer.districts_of("22")[0];
        let foreign_commune = &gazetteer.communes_of(&gazetteer.districts_of("15")[0].code)[0];
        let (_, errors) = errors_of::<WorkerInput>(json!({
            "full_name": "សុខ ចាន់ធី", "province_code": "22",
            "district_code": district.code, "commune_code": foreign_commune.code
        }));
        assert_eq!(errors, vec!["commune_code"]);
    }

    #[test]
    fn worker_phone_is_stored_in_e164_and_consent_gets_a_time() {
        let (worker, errors) = errors_of::<WorkerInput>(json!({
            "full_name": "Sok Chanthy", "province_code": "22", "phone": "012 345 678",
            "consent": {"share_with_employers": true}
        }));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(worker.phone.as_deref(), Some("+85512345678"));
        assert!(
            worker
                .consent
                .and_then(|consent| consent.recorded_at)
                .is_some()
        );
    }

    #[test]
    fn the_same_skill_twice_and_a_level_of_five_are_both_reported() {
        let skill = a_skill();
        let (_, errors) = errors_of::<WorkerInput>(json!({
            "full_name": "Sok", "province_code": "22",
            "skills": [{"skill": skill, "level": 2}, {"skill": skill, "level": 5}]
        }));
        assert_eq!(errors, vec!["skills[1].skill", "skills[1].level"]);
    }
}
