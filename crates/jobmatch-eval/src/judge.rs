//! The judge: graded relevance of a worker for a vacancy, written from the principles
//! of issue 3 as a resource-centre counsellor would apply them, and deliberately
//! independent of the engine. It reads the API documents (`WorkerInput`,
//! `VacancyInput`) and the reference data only; it never calls `jobmatch-matching`, and
//! its rules are thresholds on counts, not a weighted score, so that agreeing with it
//! is evidence rather than an echo.
//!
//! **Feasibility first.** A pair is infeasible, whatever the skills, when
//! - the vacancy is not open (status other than `open`, or `closes_on` has passed);
//! - the person is not seeking work;
//! - the workplace is farther from home than `max_travel_km` (30 km when not given),
//!   great-circle between the gazetteer's coordinates of the two places, and the person
//!   is not willing to relocate;
//! - the person is younger than the vacancy's `min_age`, or than 18 for hazardous work
//!   (construction) and 15 otherwise, on the judging date;
//! - the person becomes available more than a month after the vacancy starts (or after
//!   the judging date, when it has started already).
//!
//! An infeasible pair is graded 0.
//!
//! **Then fit** (for a feasible pair):
//! - *coverage*: each required skill held at or above its level counts 1, held below
//!   it counts ½; coverage is the sum over the number of required skills;
//! - *occupation*: the closest of the person's past occupations to the vacancy's, by
//!   ESCO occupation, then ISCO-08 unit (4 digits), minor (3) and sub-major (2) group;
//!   work abroad counts like work at home;
//! - *experience*: years in the same occupation or ISCO unit group against
//!   `min_experience_years`.
//!
//! | grade | when |
//! |---|---|
//! | 3 excellent | coverage ≥ ¾ and same occupation or ISCO unit group |
//! | 2 good | coverage ≥ ¾; or coverage ≥ ½ and at least the same ISCO minor group |
//! | 1 partial | coverage ≥ ¼; or at least the same ISCO minor group |
//! | 0 unrelated | otherwise |
//!
//! A vacancy listing no required skill is graded on the occupation alone (same
//! occupation 3, same unit 2, same minor group 1). The grade is then capped:
//! experience short of the minimum caps it at 2 (at least half the years) or 1 (less);
//! an expected wage above the top of the offer caps it at 2 (up to 10 % above), 1 (up to
//! 25 %) or 0 (more); a person who has to relocate to a vacancy without accommodation
//! caps it at 2.

use chrono::{Months, NaiveDate};
use jobmatch_domain::reference::haversine_km;
use jobmatch_domain::resources::{
    Benefit, MIN_HAZARDOUS_WORK_AGE, MIN_WORKING_AGE, VacancyInput, VacancyStatus, WorkerInput,
    WorkerStatus,
};
use jobmatch_domain::{Reference, Valid, Validate};
use serde::{Deserialize, Serialize};

/// Travel range the judge assumes for a person who did not give one (a commute within
/// the home province's reach).
pub const ASSUMED_TRAVEL_KM: f64 = 30.0;

/// Why a pair cannot be offered, as written in `judgements.tsv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Infeasibility {
    VacancyNotOpen,
    NotSeeking,
    TooFar,
    UnderAge,
    NotAvailableInTime,
}

impl Infeasibility {
    pub fn code(self) -> &'static str {
        match self {
            Infeasibility::VacancyNotOpen => "vacancy_not_open",
            Infeasibility::NotSeeking => "not_seeking",
            Infeasibility::TooFar => "too_far",
            Infeasibility::UnderAge => "under_age",
            Infeasibility::NotAvailableInTime => "not_available_in_time",
        }
    }

    pub fn parse(code: &str) -> Option<Infeasibility> {
        [
            Infeasibility::VacancyNotOpen,
            Infeasibility::NotSeeking,
            Infeasibility::TooFar,
            Infeasibility::UnderAge,
            Infeasibility::NotAvailableInTime,
        ]
        .into_iter()
        .find(|reason| reason.code() == code)
    }
}

/// The judge's verdict on one pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// 0 unrelated or infeasible, 1 partial, 2 good, 3 excellent.
    pub grade: u8,
    /// Empty when the pair is feasible.
    pub infeasible: Vec<Infeasibility>,
}

impl Judgement {
    pub fn feasible(&self) -> bool {
        self.infeasible.is_empty()
    }
}

/// How close a past occupation is to the vacancy's, from the ISCO-08 codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Closeness {
    None,
    SubMajor,
    Minor,
    Unit,
    Same,
}

fn closeness(held_id: &str, held_isco: &str, wanted_id: &str, wanted_isco: &str) -> Closeness {
    let shared_digits = held_isco
        .bytes()
        .zip(wanted_isco.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    if held_id == wanted_id {
        Closeness::Same
    } else if shared_digits >= 4 {
        Closeness::Unit
    } else if shared_digits == 3 {
        Closeness::Minor
    } else if shared_digits == 2 {
        Closeness::SubMajor
    } else {
        Closeness::None
    }
}

/// Whole years of age on `today`.
fn age_on(birth: NaiveDate, today: NaiveDate) -> u32 {
    today.years_since(birth).unwrap_or(0)
}

/// Judges one pair on `today`.
pub fn judge(
    worker: &WorkerInput,
    vacancy: &VacancyInput,
    reference: &Reference,
    today: NaiveDate,
) -> Judgement {
    let taxonomy = &reference.taxonomy;
    let gazetteer = &reference.gazetteer;
    let mut infeasible = Vec::new();

    // Feasibility.
    let open = vacancy.status == VacancyStatus::Open
        && vacancy.closes_on.is_none_or(|closes| closes >= today);
    if !open {
        infeasible.push(Infeasibility::VacancyNotOpen);
    }
    if worker.status != WorkerStatus::Seeking {
        infeasible.push(Infeasibility::NotSeeking);
    }
    let home = gazetteer.coordinates(
        &worker.province_code,
        worker.district_code.as_deref(),
        worker.commune_code.as_deref(),
    );
    let workplace = gazetteer.coordinates(
        &vacancy.province_code,
        vacancy.district_code.as_deref(),
        vacancy.commune_code.as_deref(),
    );
    let range_km = worker.max_travel_km.unwrap_or(ASSUMED_TRAVEL_KM);
    let beyond_range = match (home, workplace) {
        (Some(home), Some(workplace)) => haversine_km(home, workplace) > range_km,
        _ => false,
    };
    if beyond_range && !worker.willing_to_relocate {
        infeasible.push(Infeasibility::TooFar);
    }
    let legal_floor = if vacancy.sector.is_hazardous() {
        MIN_HAZARDOUS_WORK_AGE
    } else {
        MIN_WORKING_AGE
    };
    let minimum_age = vacancy.min_age.unwrap_or(0).max(legal_floor);
    if worker
        .date_of_birth
        .is_some_and(|birth| age_on(birth, today) < u32::from(minimum_age))
    {
        infeasible.push(Infeasibility::UnderAge);
    }
    let start = vacancy.starts_on.map_or(today, |starts| starts.max(today));
    let latest_start = start.checked_add_months(Months::new(1)).unwrap_or(start);
    if worker
        .available_from
        .is_some_and(|available| available > latest_start)
    {
        infeasible.push(Infeasibility::NotAvailableInTime);
    }
    if !infeasible.is_empty() {
        return Judgement {
            grade: 0,
            infeasible,
        };
    }

    // Coverage of the required skills at their levels.
    let held_level = |skill: &str| {
        let wanted = taxonomy.skill_id(skill)?;
        worker
            .skills
            .iter()
            .filter(|held| taxonomy.skill_id(&held.skill) == Some(wanted))
            .map(|held| held.level)
            .max()
    };
    let required = &vacancy.required_skills;
    let covered: f64 = required
        .iter()
        .map(|requirement| match held_level(&requirement.skill) {
            Some(level) if level >= requirement.min_level => 1.0,
            Some(_) => 0.5,
            None => 0.0,
        })
        .sum();
    let coverage = if required.is_empty() {
        None
    } else {
        Some(covered / required.len() as f64)
    };

    // Occupation and experience in the trade.
    let wanted = vacancy
        .occupation
        .as_deref()
        .and_then(|occupation| taxonomy.occupation_id(occupation))
        .map(|id| taxonomy.occupation(id));
    let mut best = Closeness::None;
    let mut years_in_trade = 0.0;
    for entry in &worker.experience {
        let Some(held) = taxonomy
            .occupation_id(&entry.occupation)
            .map(|id| taxonomy.occupation(id))
        else {
            continue;
        };
        let Some(wanted) = wanted else {
            years_in_trade += entry.years;
            continue;
        };
        let close = closeness(&held.id, &held.isco_code, &wanted.id, &wanted.isco_code);
        best = best.max(close);
        if close >= Closeness::Unit {
            years_in_trade += entry.years;
        }
    }

    let mut grade = match coverage {
        Some(coverage) if coverage >= 0.75 && best >= Closeness::Unit => 3,
        Some(coverage) if coverage >= 0.75 => 2,
        Some(coverage) if coverage >= 0.5 && best >= Closeness::Minor => 2,
        Some(coverage) if coverage >= 0.25 || best >= Closeness::Minor => 1,
        Some(_) => 0,
        None => match best {
            Closeness::Same => 3,
            Closeness::Unit => 2,
            Closeness::Minor => 1,
            _ => 0,
        },
    };

    // Caps.
    if let Some(minimum) = vacancy.min_experience_years.filter(|years| *years > 0.0) {
        if years_in_trade < minimum / 2.0 {
            grade = grade.min(1);
        } else if years_in_trade < minimum {
            grade = grade.min(2);
        }
    }
    if let (Some(expected), Some(top)) = (
        worker.expected_wage_usd,
        vacancy.wage_max_usd.or(vacancy.wage_min_usd),
    ) && expected > top
    {
        let excess = if top > 0.0 {
            (expected - top) / top
        } else {
            1.0
        };
        grade = grade.min(if excess <= 0.10 {
            2
        } else if excess <= 0.25 {
            1
        } else {
            0
        });
    }
    if beyond_range && !vacancy.benefits.contains(&Benefit::Accommodation) {
        grade = grade.min(2);
    }
    Judgement { grade, infeasible }
}

/// Validates and normalises a generated document the way the API would on the way in;
/// panics naming the fields if the generator ever produces an invalid one.
pub(crate) fn validated<T: Validate>(document: T, reference: &Reference, what: &str) -> Valid<T> {
    Valid::check(document, reference)
        .unwrap_or_else(|errors| panic!("generated {what} is invalid: {errors:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reference() -> &'static Reference {
        Reference::embedded()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
    }

    fn bricklayer() -> &'static jobmatch_domain::reference::Occupation {
        reference()
            .taxonomy
            .occupations()
            .iter()
            .find(|o| o.isco_code == "7112" && o.essential_skills.len() >= 4)
            .expect("a bricklayer occupation")
    }

    fn skill_ids(n: usize) -> Vec<String> {
        bricklayer().essential_skills[..n]
            .iter()
            .map(|skill| reference().taxonomy.skill(*skill).id.clone())
            .collect()
    }

    fn worker() -> WorkerInput {
        let skills: Vec<_> = skill_ids(4)
            .into_iter()
            .map(|skill| json!({"skill": skill, "level": 3}))
            .collect();
        serde_json::from_value(json!({
            "full_name": "Dara",
            "date_of_birth": "1990-01-01",
            "province_code": "12",
            "skills": skills,
            "experience": [{"occupation": bricklayer().id, "years": 4, "country": "TH"}],
            "max_travel_km": 20,
            "expected_wage_usd": 250
        }))
        .unwrap()
    }

    fn vacancy() -> VacancyInput {
        let required: Vec<_> = skill_ids(4)
            .into_iter()
            .map(|skill| json!({"skill": skill, "min_level": 2}))
            .collect();
        serde_json::from_value(json!({
            "employer_id": "e1",
            "title": "Bricklayer",
            "sector": "construction",
            "occupation": bricklayer().id,
            "province_code": "12",
            "wage_min_usd": 240,
            "wage_max_usd": 280,
            "required_skills": required
        }))
        .unwrap()
    }

    #[test]
    fn skilled_bricklayer_nearby_is_excellent() {
        let verdict = judge(&worker(), &vacancy(), reference(), today());
        assert_eq!(verdict.grade, 3);
        assert!(verdict.feasible());
    }

    #[test]
    fn seventeen_year_old_is_infeasible_on_a_building_site() {
        let mut young = worker();
        young.date_of_birth = NaiveDate::from_ymd_opt(2008, 9, 1);
        let verdict = judge(&young, &vacancy(), reference(), today());
        assert_eq!(verdict.grade, 0);
        assert_eq!(verdict.infeasible, [Infeasibility::UnderAge]);
    }

    #[test]
    fn far_workplace_is_infeasible_unless_willing_to_relocate() {
        let mut far = vacancy();
        far.province_code = "17".to_string();
        let verdict = judge(&worker(), &far, reference(), today());
        assert_eq!(verdict.infeasible, [Infeasibility::TooFar]);
        let mut mover = worker();
        mover.willing_to_relocate = true;
        // Feasible, but without accommodation at most good.
        assert_eq!(judge(&mover, &far, reference(), today()).grade, 2);
    }

    #[test]
    fn wage_far_above_the_offer_makes_a_skilled_pair_unrelated() {
        let mut dear = worker();
        dear.expected_wage_usd = Some(400.0);
        assert_eq!(judge(&dear, &vacancy(), reference(), today()).grade, 0);
        dear.expected_wage_usd = Some(300.0); // 7 % above 280
        assert_eq!(judge(&dear, &vacancy(), reference(), today()).grade, 2);
    }

    #[test]
    fn half_the_skills_without_the_trade_is_partial() {
        let mut newcomer = worker();
        newcomer.skills.truncate(2);
        newcomer.experience.clear();
        assert_eq!(judge(&newcomer, &vacancy(), reference(), today()).grade, 1);
    }
}
