//! The engine's tests and the fixtures they share: behaviour as a counsellor would
//! describe it (`behaviour`), the fast queries against brute force (`exactness`),
//! property tests of the scoring math (`properties`) and the standing lists
//! (`standing`).

use std::sync::OnceLock;

use chrono::{Months, NaiveDate};
use jobmatch_domain::reference::{Occupation, SkillId};
use jobmatch_domain::resources::{VacancyInput, VacancyStatus, WorkerInput, WorkerStatus};
use jobmatch_domain::{Reference, Sector};
use proptest::prelude::*;
use serde_json::json;

use crate::{
    CandidateQuery, Component, INCREMENTAL_LIMIT, MatchError, MatchIndex, ReasonCode, ReasonKind,
    VacancyProfile, VacancyQuery, Weights, WorkerProfile,
};
use jobmatch_synthetic::benches as synthetic;

fn reference() -> &'static Reference {
    Reference::embedded()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

/// A sewing machine operator occupation with at least five essential skills.
fn sewing() -> &'static Occupation {
    reference()
        .taxonomy
        .occupations()
        .iter()
        .find(|o| o.isco_code == "8153" && o.essential_skills.len() >= 5)
        .expect("a sewing occupation")
}

fn skill(n: usize) -> SkillId {
    sewing().essential_skills[n]
}

fn uuid(skill: SkillId) -> String {
    reference().taxonomy.skill(skill).id.clone()
}

fn label(skill: SkillId) -> String {
    reference().taxonomy.skill(skill).label.clone()
}

fn worker(skills: &[(SkillId, u8)]) -> WorkerInput {
    let skills: Vec<_> = skills
        .iter()
        .map(|(skill, level)| json!({"skill": uuid(*skill), "level": level}))
        .collect();
    serde_json::from_value(json!({
        "full_name": "Sok",
        "date_of_birth": "1995-06-01",
        "province_code": "12",
        "skills": skills,
        "experience": [{"occupation": sewing().id, "years": 3, "country": "TH"}],
        "max_travel_km": 30,
        "expected_wage_usd": 230
    }))
    .unwrap()
}

fn vacancy(required: &[(SkillId, u8)]) -> VacancyInput {
    let required: Vec<_> = required
        .iter()
        .map(|(skill, level)| json!({"skill": uuid(*skill), "min_level": level}))
        .collect();
    serde_json::from_value(json!({
        "employer_id": "employer-1",
        "title": "Sewing machine operators",
        "sector": "garment",
        "occupation": sewing().id,
        "province_code": "12",
        "wage_min_usd": 210,
        "wage_max_usd": 260,
        "required_skills": required
    }))
    .unwrap()
}

fn four_skills() -> Vec<(SkillId, u8)> {
    (0..4).map(|n| (skill(n), 2)).collect()
}

fn index() -> MatchIndex<'static> {
    MatchIndex::new(reference(), Weights::default()).unwrap()
}

fn flagged(today: NaiveDate) -> CandidateQuery {
    CandidateQuery {
        include_ineligible: true,
        ..CandidateQuery::new(today)
    }
}

mod behaviour;
mod exactness;
mod properties;
mod standing;
