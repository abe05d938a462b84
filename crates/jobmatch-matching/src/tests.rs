//! Behaviour of the engine as a counsellor would describe it, and property tests of
//! the scoring math.

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

#[test]
fn worker_beyond_travel_range_is_ineligible() {
    let mut index = index();
    let mut far = vacancy(&four_skills());
    far.province_code = "17".to_string(); // Siem Reap, about 230 km from Phnom Penh
    index.upsert_vacancy("v", &far).unwrap();
    index.upsert_worker("w", &worker(&four_skills())).unwrap();

    let eligible = index
        .candidates_for_vacancy("v", &CandidateQuery::new(today()))
        .unwrap();
    assert!(eligible.is_empty());

    let all = index
        .candidates_for_vacancy("v", &flagged(today()))
        .unwrap();
    assert_eq!(all.len(), 1);
    assert!(!all[0].eligible);
    let reason = &all[0].explanation.reasons[0];
    assert_eq!(
        (reason.code, reason.kind),
        (ReasonCode::TooFar, ReasonKind::Ineligible)
    );
    assert!(reason.message.contains("km"), "{}", reason.message);
    let km = all[0].explanation.distance_km.unwrap();
    assert!((200.0..260.0).contains(&km), "{km}");
    assert!(all[0].explanation.summary.contains("Not eligible"));
}

#[test]
fn relocating_worker_is_eligible_anywhere() {
    let mut index = index();
    let mut far = vacancy(&four_skills());
    far.province_code = "17".to_string();
    far.benefits = vec![jobmatch_domain::resources::Benefit::Accommodation];
    index.upsert_vacancy("v", &far).unwrap();
    let mut mover = worker(&four_skills());
    mover.willing_to_relocate = true;
    index.upsert_worker("w", &mover).unwrap();

    let found = index
        .candidates_for_vacancy("v", &CandidateQuery::new(today()))
        .unwrap();
    assert_eq!(found.len(), 1);
    let explanation = &found[0].explanation;
    assert!(found[0].eligible && explanation.needs_to_relocate);
    assert!(explanation.summary.contains("willing to relocate"));
    assert!(explanation.summary.contains("accommodation is offered"));
    let distance = explanation
        .components
        .iter()
        .find(|c| c.component == Component::Distance)
        .unwrap();
    assert_eq!(distance.score, 0.3);
}

#[test]
fn construction_vacancy_excludes_seventeen_year_olds() {
    let mut index = index();
    let mut site = vacancy(&four_skills());
    site.sector = Sector::Construction;
    site.min_age = None;
    index.upsert_vacancy("v", &site).unwrap();
    let mut young = worker(&four_skills());
    young.date_of_birth = today().checked_sub_months(Months::new(17 * 12 + 6));
    index.upsert_worker("young", &young).unwrap();
    let mut adult = worker(&four_skills());
    adult.date_of_birth = today().checked_sub_months(Months::new(18 * 12));
    index.upsert_worker("adult", &adult).unwrap();

    let eligible = index
        .candidates_for_vacancy("v", &CandidateQuery::new(today()))
        .unwrap();
    let ids: Vec<&str> = eligible.iter().map(|m| m.worker_id.as_str()).collect();
    assert_eq!(ids, ["adult"]);

    let all = index
        .candidates_for_vacancy("v", &flagged(today()))
        .unwrap();
    let young_match = all.iter().find(|m| m.worker_id == "young").unwrap();
    assert_eq!(
        young_match.explanation.reasons[0].code,
        ReasonCode::UnderAge
    );
    assert!(young_match.explanation.reasons[0].message.contains("is 17"));
    assert!(
        young_match.explanation.reasons[0]
            .message
            .contains("minimum age of 18")
    );
}

#[test]
fn missing_required_skill_lowers_score_and_is_listed() {
    let mut index = index();
    index.upsert_vacancy("v", &vacancy(&four_skills())).unwrap();
    index.upsert_worker("all", &worker(&four_skills())).unwrap();
    index
        .upsert_worker("three", &worker(&four_skills()[..3]))
        .unwrap();
    let ranked = index
        .candidates_for_vacancy("v", &CandidateQuery::new(today()))
        .unwrap();
    assert_eq!(ranked[0].worker_id, "all");
    assert_eq!(ranked[1].worker_id, "three");
    assert!(ranked[0].score > ranked[1].score);
    let explanation = &ranked[1].explanation;
    assert_eq!(explanation.matched_skills.len(), 3);
    assert_eq!(explanation.missing_skills.len(), 1);
    assert_eq!(explanation.missing_skills[0].label, label(skill(3)));
    assert_eq!(explanation.missing_skills[0].min_level, 2);
    let sentence = explanation.summary_with_name(Some("Sok"));
    let expected = format!(
        "Sok has 3 of the 4 required skills (missing: {})",
        label(skill(3))
    );
    assert!(sentence.starts_with(&expected), "{sentence}");
    assert!(
        sentence.contains("expects 230 USD, within the 210–260 USD offered"),
        "{sentence}"
    );
}

#[test]
fn summary_names_the_person_only_when_asked() {
    let mut index = index();
    index.upsert_vacancy("v", &vacancy(&four_skills())).unwrap();
    index.upsert_worker("w", &worker(&four_skills())).unwrap();
    let found = index
        .candidates_for_vacancy("v", &CandidateQuery::new(today()))
        .unwrap();
    let explanation = &found[0].explanation;
    assert!(!explanation.summary.contains("Sok"));
    assert!(
        explanation
            .summary
            .starts_with("This person has all 4 required skills")
    );
    assert_eq!(explanation.summary, explanation.summary_with_name(None));
    assert!(
        explanation
            .summary_with_name(Some("Sok"))
            .starts_with("Sok has all 4")
    );
}

#[test]
fn expected_wage_above_offer_is_penalised_and_explained() {
    let mut index = index();
    index.upsert_vacancy("v", &vacancy(&four_skills())).unwrap();
    index
        .upsert_worker("modest", &worker(&four_skills()))
        .unwrap();
    let mut dear = worker(&four_skills());
    dear.expected_wage_usd = Some(300.0);
    index.upsert_worker("dear", &dear).unwrap();
    let ranked = index
        .candidates_for_vacancy("v", &CandidateQuery::new(today()))
        .unwrap();
    assert_eq!(
        ranked.len(),
        2,
        "a wage above the offer is not ineligibility"
    );
    assert_eq!(ranked[1].worker_id, "dear");
    assert!(ranked[1].eligible);
    let explanation = &ranked[1].explanation;
    assert!(explanation.wage_penalty_factor < 1.0);
    assert!(ranked[1].score < ranked[0].score * 0.8);
    let reason = &explanation.reasons[0];
    assert_eq!(
        (reason.code, reason.kind),
        (ReasonCode::WageAboveOffer, ReasonKind::Penalty)
    );
    assert!(reason.message.contains("15 % above"), "{}", reason.message);
    assert!(
        explanation
            .summary
            .contains("expects 300 USD, above the 210–260 USD offered")
    );
    let contributions: f64 = explanation.components.iter().map(|c| c.contribution).sum();
    assert!((contributions * explanation.wage_penalty_factor - ranked[1].score).abs() < 1e-12);
}

#[test]
fn ties_are_broken_by_id() {
    let mut index = index();
    index.upsert_vacancy("v", &vacancy(&four_skills())).unwrap();
    for id in ["c", "a", "b"] {
        index.upsert_worker(id, &worker(&four_skills())).unwrap();
    }
    let ranked = index
        .candidates_for_vacancy("v", &CandidateQuery::new(today()))
        .unwrap();
    let ids: Vec<&str> = ranked.iter().map(|m| m.worker_id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert!(ranked.windows(2).all(|w| w[0].score == w[1].score));

    for id in ["v2", "v0"] {
        index.upsert_vacancy(id, &vacancy(&four_skills())).unwrap();
    }
    let query = VacancyQuery {
        max_per_employer: 0,
        ..VacancyQuery::new(today())
    };
    let ranked = index.vacancies_for_worker("a", &query).unwrap();
    let ids: Vec<&str> = ranked.iter().map(|m| m.vacancy_id.as_str()).collect();
    assert_eq!(ids, ["v", "v0", "v2"]);
}

#[test]
fn at_most_three_vacancies_per_employer_by_default() {
    let mut index = index();
    for n in 0..5 {
        index
            .upsert_vacancy(&format!("big-{n}"), &vacancy(&four_skills()))
            .unwrap();
    }
    for n in 0..2 {
        let mut other = vacancy(&four_skills()[..2]);
        other.employer_id = "employer-2".to_string();
        index.upsert_vacancy(&format!("small-{n}"), &other).unwrap();
    }
    index
        .upsert_worker("w", &worker(&four_skills()[..3]))
        .unwrap();
    let ranked = index
        .vacancies_for_worker("w", &VacancyQuery::new(today()))
        .unwrap();
    let big = ranked
        .iter()
        .filter(|m| m.vacancy_id.starts_with("big"))
        .count();
    assert_eq!((ranked.len(), big), (5, 3));
    let uncapped = index
        .vacancies_for_worker(
            "w",
            &VacancyQuery {
                max_per_employer: 0,
                ..VacancyQuery::new(today())
            },
        )
        .unwrap();
    assert_eq!(uncapped.len(), 7);
}

#[test]
fn invalid_weight_in_a_query_is_rejected_naming_it() {
    let mut index = index();
    index.upsert_vacancy("v", &vacancy(&four_skills())).unwrap();
    let query = CandidateQuery {
        weights: Some(Weights {
            occupation: f64::INFINITY,
            ..Weights::default()
        }),
        ..CandidateQuery::new(today())
    };
    let error = index.candidates_for_vacancy("v", &query).unwrap_err();
    assert!(matches!(
        error,
        MatchError::InvalidWeight {
            name: "occupation",
            ..
        }
    ));
    assert!(
        MatchIndex::new(
            reference(),
            Weights {
                skills: -1.0,
                ..Weights::default()
            }
        )
        .is_err()
    );
}

#[test]
fn bad_queries_and_unknown_ids_are_errors() {
    let mut index = index();
    index.upsert_vacancy("v", &vacancy(&four_skills())).unwrap();
    let too_many = CandidateQuery {
        limit: 101,
        ..CandidateQuery::new(today())
    };
    assert!(matches!(
        index.candidates_for_vacancy("v", &too_many),
        Err(MatchError::InvalidLimit { got: 101, .. })
    ));
    assert_eq!(
        index.candidates_for_vacancy("nope", &CandidateQuery::new(today())),
        Err(MatchError::UnknownVacancy("nope".to_string()))
    );
    assert!(matches!(
        index.vacancies_for_worker("nope", &VacancyQuery::new(today())),
        Err(MatchError::UnknownWorker(_))
    ));
    let bad_province = CandidateQuery {
        province_code: Some("xx".to_string()),
        ..CandidateQuery::new(today())
    };
    assert!(matches!(
        index.candidates_for_vacancy("v", &bad_province),
        Err(MatchError::InvalidProvinceCode(_))
    ));
}

#[test]
fn closed_vacancy_late_availability_and_placed_worker_are_ineligible_with_codes() {
    let mut index = index();
    let mut filled = vacancy(&four_skills());
    filled.status = VacancyStatus::Filled;
    filled.starts_on = Some(today());
    index.upsert_vacancy("v", &filled).unwrap();
    let mut late = worker(&four_skills());
    late.available_from = today().checked_add_days(chrono::Days::new(45));
    late.status = WorkerStatus::Placed;
    index.upsert_worker("w", &late).unwrap();
    let all = index
        .candidates_for_vacancy("v", &flagged(today()))
        .unwrap();
    let codes: Vec<ReasonCode> = all[0].explanation.reasons.iter().map(|r| r.code).collect();
    assert_eq!(
        codes,
        [
            ReasonCode::NotAvailableInTime,
            ReasonCode::VacancyNotOpen,
            ReasonCode::WorkerNotSeeking
        ]
    );
    let json = serde_json::to_value(&all[0].explanation.reasons).unwrap();
    assert_eq!(json[0]["code"], "not_available_in_time");
    assert_eq!(json[0]["kind"], "ineligible");

    let mut soon = late.clone();
    soon.available_from = today().checked_add_days(chrono::Days::new(29));
    soon.status = WorkerStatus::Seeking;
    index.upsert_worker("w", &soon).unwrap();
    let all = index
        .candidates_for_vacancy("v", &flagged(today()))
        .unwrap();
    let codes: Vec<ReasonCode> = all[0].explanation.reasons.iter().map(|r| r.code).collect();
    assert_eq!(codes, [ReasonCode::VacancyNotOpen]);
}

#[test]
fn updated_and_removed_workers_leave_the_posting_lists() {
    let mut index = index();
    index
        .upsert_vacancy("v", &vacancy(&[(skill(4), 1)]))
        .unwrap();
    let mut other = vacancy(&[(skill(4), 1)]);
    other.occupation = None;
    index.upsert_vacancy("no-occupation", &other).unwrap();
    index.upsert_worker("w", &worker(&[(skill(4), 3)])).unwrap();
    let query = CandidateQuery::new(today());
    assert_eq!(
        index
            .candidates_for_vacancy("no-occupation", &query)
            .unwrap()
            .len(),
        1
    );

    // Same person, skill dropped and experience gone: no longer a candidate.
    let mut changed = worker(&[(skill(0), 3)]);
    changed.experience.clear();
    index.upsert_worker("w", &changed).unwrap();
    assert!(
        index
            .candidates_for_vacancy("no-occupation", &query)
            .unwrap()
            .is_empty()
    );
    assert!(
        index
            .candidates_for_vacancy("v", &query)
            .unwrap()
            .is_empty()
    );
    assert_eq!(index.worker_count(), 1);

    assert!(index.remove_worker("w"));
    assert!(!index.remove_worker("w"));
    assert_eq!(index.worker_count(), 0);
    index.upsert_worker("x", &worker(&[(skill(4), 3)])).unwrap();
    let found = index.candidates_for_vacancy("v", &query).unwrap();
    assert_eq!(found[0].worker_id, "x");

    assert!(index.remove_vacancy("v"));
    assert!(
        index
            .vacancies_for_worker("x", &VacancyQuery::new(today()))
            .unwrap()[0]
            .vacancy_id
            == "no-occupation"
    );
}

#[test]
fn related_skill_earns_partial_credit_and_can_be_switched_off() {
    let tables = crate::tables::Tables::build(reference());
    let (wanted, related) = (0..reference().taxonomy.skills().len() as u32)
        .find_map(|s| {
            tables
                .related(s)
                .first()
                .map(|&(r, _)| (SkillId(s), SkillId(r)))
        })
        .unwrap();
    let mut index = index();
    let mut input = vacancy(&[(wanted, 2)]);
    input.occupation = None;
    index.upsert_vacancy("v", &input).unwrap();
    let mut person = worker(&[(related, 2)]);
    person.experience.clear();
    index.upsert_worker("w", &person).unwrap();

    let found = index
        .candidates_for_vacancy("v", &CandidateQuery::new(today()))
        .unwrap();
    let missing = &found[0].explanation.missing_skills[0];
    assert!(missing.related.is_some() && missing.credit > 0.0 && missing.credit < 0.8);

    let off = CandidateQuery {
        weights: Some(Weights {
            related_skill_credit: 0.0,
            ..Weights::default()
        }),
        ..CandidateQuery::new(today())
    };
    assert!(index.candidates_for_vacancy("v", &off).unwrap().is_empty());
}

#[test]
fn vacancy_naming_no_skills_or_occupation_considers_everyone() {
    let mut index = index();
    let open: VacancyInput = serde_json::from_value(json!({
        "employer_id": "e", "title": "General worker", "sector": "other", "province_code": "12"
    }))
    .unwrap();
    index.upsert_vacancy("v", &open).unwrap();
    index.upsert_worker("w", &worker(&[])).unwrap();
    let found = index
        .candidates_for_vacancy("v", &CandidateQuery::new(today()))
        .unwrap();
    assert_eq!(found.len(), 1);
    let found = index
        .vacancies_for_worker("w", &VacancyQuery::new(today()))
        .unwrap();
    assert_eq!(found.len(), 1);
}

#[test]
fn preview_scores_an_unsaved_profile_like_a_stored_one() {
    let mut index = index();
    for (id, input) in synthetic::vacancies(300, 7, reference()) {
        index.upsert_vacancy(&id, &input).unwrap();
    }
    let (id, input) = synthetic::workers(1, 9, reference()).next().unwrap();
    let query = VacancyQuery::new(synthetic::today());
    let profile = WorkerProfile::from_input(&id, &input, reference());
    let previewed = index.preview(&profile, &query).unwrap();
    index.upsert_worker(&id, &input).unwrap();
    let stored = index.vacancies_for_worker(&id, &query).unwrap();
    assert_eq!(previewed, stored);
}

/// The fast path must return exactly what scoring every worker would.
#[test]
fn indexed_queries_agree_with_exhaustive_scoring() {
    let mut index = index();
    let today = synthetic::today();
    let workers: Vec<_> = synthetic::workers(4000, 11, reference()).collect();
    for (id, input) in &workers {
        index.upsert_worker(id, input).unwrap();
    }
    // Churn: replace and remove some, so slots are reused and the arena compacts.
    for (id, _) in workers.iter().step_by(7) {
        index.remove_worker(id);
    }
    for ((id, _), (_, input)) in
        workers
            .iter()
            .step_by(5)
            .zip(synthetic::workers(1000, 12, reference()))
    {
        index.upsert_worker(id, &input).unwrap();
    }
    let vacancies: Vec<_> = synthetic::vacancies(300, 13, reference()).collect();
    for (id, input) in &vacancies {
        index.upsert_vacancy(id, input).unwrap();
    }
    let variants = [
        CandidateQuery::new(today),
        CandidateQuery {
            limit: 5,
            include_ineligible: true,
            ..CandidateQuery::new(today)
        },
        CandidateQuery {
            weights: Some(Weights {
                related_skill_credit: 0.0,
                skills: 0.1,
                distance: 0.5,
                ..Weights::default()
            }),
            min_score: 0.5,
            ..CandidateQuery::new(today)
        },
        CandidateQuery {
            province_code: Some("01".to_string()),
            ..CandidateQuery::new(today)
        },
        // Strong damping reorders lists, so the damped top must reach past the
        // undamped one.
        CandidateQuery {
            congestion_damping: 1.0,
            limit: 10,
            ..CandidateQuery::new(today)
        },
        CandidateQuery {
            congestion_damping: 0.3,
            min_score: 0.35,
            include_ineligible: true,
            ..CandidateQuery::new(today)
        },
        CandidateQuery {
            congestion_damping: 0.0,
            ..CandidateQuery::new(today)
        },
    ];
    for (id, _) in vacancies.iter().take(40) {
        for query in &variants {
            let fast: Vec<(String, f64)> = index
                .candidates_for_vacancy(id, query)
                .unwrap()
                .into_iter()
                .map(|m| (m.worker_id, m.score))
                .collect();
            let slow = index.exhaustive_candidates(id, query).unwrap();
            assert_eq!(fast, slow, "vacancy {id}, {query:?}");
        }
    }
    let worker_variants = [
        VacancyQuery::new(today),
        VacancyQuery {
            max_per_employer: 1,
            include_ineligible: true,
            limit: 7,
            ..VacancyQuery::new(today)
        },
        VacancyQuery {
            max_per_employer: 0,
            sector: Some(Sector::Construction),
            ..VacancyQuery::new(today)
        },
    ];
    for (id, _) in workers.iter().skip(1).step_by(97) {
        if !index.contains_worker(id) {
            continue;
        }
        for query in &worker_variants {
            let fast: Vec<(String, f64)> = index
                .vacancies_for_worker(id, query)
                .unwrap()
                .into_iter()
                .map(|m| (m.vacancy_id, m.score))
                .collect();
            let slow = index.exhaustive_vacancies(id, query).unwrap();
            assert_eq!(fast, slow, "worker {id}, {query:?}");
        }
    }
}

#[test]
fn returnee_who_qualifies_everywhere_gives_way_when_congestion_is_damped() {
    let mut index = index();
    let required = four_skills();
    index.upsert_vacancy("v", &vacancy(&required)).unwrap();
    // Five more vacancies nearby asking for the same four skills and a fifth.
    let mut wider = required.clone();
    wider.push((skill(4), 2));
    for n in 1..=5 {
        index
            .upsert_vacancy(&format!("other-{n}"), &vacancy(&wider))
            .unwrap();
    }
    let mut star_skills: Vec<(SkillId, u8)> = required.iter().map(|(s, _)| (*s, 4)).collect();
    star_skills.push((skill(4), 4));
    index.upsert_worker("star", &worker(&star_skills)).unwrap();
    index.upsert_worker("steady", &worker(&required)).unwrap();

    let undamped = CandidateQuery {
        congestion_damping: 0.0,
        ..CandidateQuery::new(today())
    };
    let damped = CandidateQuery {
        congestion_damping: 1.0,
        ..CandidateQuery::new(today())
    };
    let order = |query: &CandidateQuery, index: &MatchIndex<'_>| -> Vec<String> {
        index
            .candidates_for_vacancy("v", query)
            .unwrap()
            .into_iter()
            .map(|m| m.worker_id)
            .collect()
    };
    assert_eq!(order(&undamped, &index), ["star", "steady"]);
    assert_eq!(order(&damped, &index), ["steady", "star"]);

    let found = index.candidates_for_vacancy("v", &damped).unwrap();
    let star = &found[1].explanation;
    assert_eq!(star.qualified_elsewhere, Some(5));
    let expected_factor = 1.0 / (1.0 + 6f64.ln());
    assert!((star.congestion_factor - expected_factor).abs() < 1e-12);
    let reason = star
        .reasons
        .iter()
        .find(|r| r.code == ReasonCode::InDemandElsewhere)
        .expect("the damping is explained");
    assert_eq!(reason.kind, ReasonKind::Penalty);
    assert!(
        reason.message.contains("5 other open vacancies"),
        "{}",
        reason.message
    );
    let contributions: f64 = star.components.iter().map(|c| c.contribution).sum();
    let rebuilt = contributions * star.wage_penalty_factor * star.congestion_factor;
    assert!((found[1].score - rebuilt).abs() < 1e-9);
    // Nobody else wants what "steady" has: no damping, no reason.
    let steady = &found[0].explanation;
    assert_eq!(
        (steady.qualified_elsewhere, steady.congestion_factor),
        (Some(0), 1.0)
    );
    assert!(steady.reasons.is_empty());

    // The count follows the index: once the other vacancies are filled, the star leads.
    for n in 1..=5 {
        let mut filled = vacancy(&wider);
        filled.status = VacancyStatus::Filled;
        index
            .upsert_vacancy(&format!("other-{n}"), &filled)
            .unwrap();
    }
    assert_eq!(order(&damped, &index), ["star", "steady"]);

    let too_strong = CandidateQuery {
        congestion_damping: 1.5,
        ..CandidateQuery::new(today())
    };
    assert_eq!(
        index.candidates_for_vacancy("v", &too_strong),
        Err(MatchError::InvalidCongestionDamping)
    );
}

#[test]
fn scores_and_contributions_are_rounded_to_three_decimals_in_output() {
    let mut index = index();
    index.upsert_vacancy("v", &vacancy(&four_skills())).unwrap();
    index
        .upsert_worker("w", &worker(&four_skills()[..3]))
        .unwrap();
    let found = index
        .candidates_for_vacancy("v", &CandidateQuery::new(today()))
        .unwrap();
    let json = serde_json::to_value(&found[0]).unwrap();
    let three_decimals = |value: &serde_json::Value| {
        let number = value.as_f64().unwrap();
        (number * 1000.0 - (number * 1000.0).round()).abs() < 1e-6
    };
    assert!(three_decimals(&json["score"]));
    assert!((json["score"].as_f64().unwrap() - found[0].score).abs() <= 0.0005);
    for component in json["explanation"]["components"].as_array().unwrap() {
        assert!(three_decimals(&component["contribution"]));
        assert!(three_decimals(&component["weight"]));
    }
}

#[test]
fn memory_per_worker_is_counted() {
    let mut index = index();
    for (id, input) in synthetic::workers(2000, 3, reference()) {
        index.upsert_worker(&id, &input).unwrap();
    }
    index.shrink_to_fit();
    let usage = index.memory_usage();
    assert_eq!(usage.workers, 2000);
    assert!(usage.bytes_per_worker() < 300.0, "{usage:?}");
}

// Property tests of the scoring math, on profiles built from a pool of real skills.

fn shared_index() -> &'static MatchIndex<'static> {
    static INDEX: OnceLock<MatchIndex<'static>> = OnceLock::new();
    INDEX.get_or_init(index)
}

/// Skills of one occupation plus some related ones, so related credit is exercised.
fn pool() -> &'static [SkillId] {
    static POOL: OnceLock<Vec<SkillId>> = OnceLock::new();
    POOL.get_or_init(|| {
        let tables = crate::tables::Tables::build(reference());
        let mut pool: Vec<SkillId> = sewing().essential_skills.iter().take(8).copied().collect();
        for s in pool.clone() {
            pool.extend(tables.related(s.0).iter().take(2).map(|&(r, _)| SkillId(r)));
        }
        pool.sort_unstable();
        pool.dedup();
        pool.truncate(12);
        pool
    })
}

#[derive(Debug, Clone)]
struct HeldSkill {
    index: usize,
    level: u8,
    certified: bool,
    years: Option<u8>,
}

fn held_skill() -> impl Strategy<Value = HeldSkill> {
    (
        0..12usize,
        1..=4u8,
        any::<bool>(),
        proptest::option::of(0..20u8),
    )
        .prop_map(|(index, level, certified, years)| HeldSkill {
            index,
            level,
            certified,
            years,
        })
}

#[derive(Debug, Clone)]
struct Case {
    held: Vec<HeldSkill>,
    required: Vec<(usize, u8)>,
    preferred: Vec<usize>,
    years: f64,
    min_years: Option<f64>,
    expected: Option<u16>,
    wage: (u16, u16),
    travel: Option<u16>,
    relocate: bool,
    worker_province: usize,
    vacancy_province: usize,
    age: u32,
    weights: [f64; 6],
    related: f64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            proptest::collection::vec(held_skill(), 0..8),
            proptest::collection::vec((0..12usize, 1..=4u8), 0..6),
            proptest::collection::vec(0..12usize, 0..3),
            0.0..20.0f64,
            proptest::option::of(0.5..5.0f64),
            proptest::option::of(100..500u16),
        ),
        (
            (150..300u16, 0..100u16),
            proptest::option::of(0..300u16),
            any::<bool>(),
            0..25usize,
            0..25usize,
            15..60u32,
            proptest::array::uniform6(0.0..1.0f64),
            0.0..=1.0f64,
        ),
    )
        .prop_map(
            |(
                (held, required, preferred, years, min_years, expected),
                (wage, travel, relocate, worker_province, vacancy_province, age, weights, related),
            )| Case {
                held,
                required,
                preferred,
                years,
                min_years,
                expected,
                wage: (wage.0, wage.0 + wage.1),
                travel,
                relocate,
                worker_province,
                vacancy_province,
                age,
                weights,
                related,
            },
        )
}

/// A pool skill by any index (strategies draw 0..12; the pool may be shorter).
fn pooled(index: usize) -> SkillId {
    pool()[index % pool().len()]
}

fn province(n: usize) -> String {
    format!("{:02}", n + 1)
}

fn worker_of(case: &Case, held: &[HeldSkill]) -> WorkerProfile {
    let mut skills: Vec<serde_json::Value> = Vec::new();
    let mut seen = Vec::new();
    for skill in held {
        let id = pooled(skill.index);
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        skills.push(json!({
            "skill": uuid(id),
            "level": skill.level,
            "certified": skill.certified,
            "years": skill.years,
        }));
    }
    let input: WorkerInput = serde_json::from_value(json!({
        "full_name": "P",
        "date_of_birth": today().checked_sub_months(Months::new(case.age * 12)).unwrap(),
        "province_code": province(case.worker_province),
        "skills": skills,
        "experience": [{"occupation": sewing().id, "years": case.years}],
        "max_travel_km": case.travel,
        "willing_to_relocate": case.relocate,
        "expected_wage_usd": case.expected,
    }))
    .unwrap();
    WorkerProfile::from_input("w", &input, reference())
}

fn vacancy_of(case: &Case) -> VacancyProfile {
    let required: Vec<_> = case
        .required
        .iter()
        .map(|(index, level)| json!({"skill": uuid(pooled(*index)), "min_level": level}))
        .collect();
    let preferred: Vec<_> = case
        .preferred
        .iter()
        .map(|index| json!({"skill": uuid(pooled(*index))}))
        .collect();
    let input: VacancyInput = serde_json::from_value(json!({
        "employer_id": "e", "title": "t", "sector": "garment", "occupation": sewing().id,
        "province_code": province(case.vacancy_province),
        "wage_min_usd": case.wage.0, "wage_max_usd": case.wage.1,
        "required_skills": required, "preferred_skills": preferred,
        "min_experience_years": case.min_years,
    }))
    .unwrap();
    VacancyProfile::from_input("v", &input, reference())
}

fn weights_of(case: &Case) -> Weights {
    let [skills, occupation, experience, distance, wage, preferences] = case.weights;
    Weights {
        skills: skills + 0.01,
        occupation,
        experience,
        distance,
        wage,
        preferences,
        related_skill_credit: case.related,
        ..Weights::default()
    }
}

fn score(case: &Case, held: &[HeldSkill]) -> (f64, f64) {
    let scored = shared_index()
        .score_profiles(
            &worker_of(case, held),
            &vacancy_of(case),
            today(),
            Some(weights_of(case)),
        )
        .unwrap();
    (scored.score, scored.explanation.components[0].score)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn score_and_every_component_stay_between_zero_and_one(case in case()) {
        let scored = shared_index()
            .score_profiles(&worker_of(&case, &case.held), &vacancy_of(&case), today(), Some(weights_of(&case)))
            .unwrap();
        prop_assert!((0.0..=1.0).contains(&scored.score));
        for component in &scored.explanation.components {
            prop_assert!((0.0..=1.0).contains(&component.score), "{component:?}");
        }
        let sum: f64 = scored.explanation.components.iter().map(|c| c.contribution).sum();
        prop_assert!((sum * scored.explanation.wage_penalty_factor - scored.score).abs() < 1e-9);
    }

    #[test]
    fn adding_a_required_skill_at_the_required_level_never_lowers_the_score(case in case(), pick in 0..6usize) {
        prop_assume!(!case.required.is_empty());
        let (index, _) = case.required[pick % case.required.len()];
        // A skill listed twice is required at the higher of its levels.
        let min_level = case
            .required
            .iter()
            .filter(|(other, _)| pooled(*other) == pooled(index))
            .map(|(_, level)| *level)
            .max()
            .unwrap_or(1);
        let without: Vec<HeldSkill> = case
            .held
            .iter()
            .filter(|h| pooled(h.index) != pooled(index))
            .cloned()
            .collect();
        let mut with = without.clone();
        with.insert(0, HeldSkill { index, level: min_level, certified: false, years: None });
        let (before, skills_before) = score(&case, &without);
        let (after, skills_after) = score(&case, &with);
        prop_assert!(after >= before - 1e-12, "{before} -> {after}");
        prop_assert!(skills_after >= skills_before - 1e-12);
    }

    #[test]
    fn higher_level_never_lowers_the_skill_score(case in case(), pick in 0..8usize) {
        prop_assume!(!case.held.is_empty());
        let position = pick % case.held.len();
        prop_assume!(case.held[position].level < 4);
        let mut raised = case.held.clone();
        raised[position].level += 1;
        let (before, skills_before) = score(&case, &case.held);
        let (after, skills_after) = score(&case, &raised);
        prop_assert!(skills_after >= skills_before - 1e-12, "{skills_before} -> {skills_after}");
        prop_assert!(after >= before - 1e-12);
    }
}

/// The default candidate queries a standing list answers, and the same queries
/// ranked from the posting lists (explicit weights, even the default ones, always
/// rank).
fn standing_and_ranked(today: NaiveDate) -> Vec<(CandidateQuery, CandidateQuery)> {
    let defaults = [
        CandidateQuery::new(today),
        CandidateQuery {
            limit: 5,
            min_score: 0.4,
            ..CandidateQuery::new(today)
        },
        CandidateQuery {
            congestion_damping: 0.5,
            ..CandidateQuery::new(today)
        },
    ];
    defaults
        .into_iter()
        .map(|query| {
            let ranked = CandidateQuery {
                weights: Some(Weights::default()),
                ..query.clone()
            };
            (query, ranked)
        })
        .collect()
}

fn assert_standing_agrees(index: &MatchIndex<'_>, vacancy_ids: &[String], today: NaiveDate) {
    for id in vacancy_ids {
        for (standing, ranked) in standing_and_ranked(today) {
            let fast = index.candidates_for_vacancy(id, &standing).unwrap();
            let slow = index.candidates_for_vacancy(id, &ranked).unwrap();
            assert_eq!(fast, slow, "vacancy {id}, {standing:?}");
        }
        let listed: Vec<(String, f64)> = index
            .candidates_for_vacancy(id, &CandidateQuery::new(today))
            .unwrap()
            .into_iter()
            .map(|m| (m.worker_id, m.score))
            .collect();
        let exhaustive = index
            .exhaustive_candidates(id, &CandidateQuery::new(today))
            .unwrap();
        assert_eq!(listed, exhaustive, "vacancy {id}");
    }
}

/// How many of the vacancies have a standing list for `today`.
fn lists_kept(index: &MatchIndex<'_>, vacancy_ids: &[String], today: NaiveDate) -> usize {
    vacancy_ids
        .iter()
        .filter(|id| index.has_standing_list(id, today))
        .count()
}

/// The best three candidates of each vacancy, in order (a person may appear more
/// than once).
fn top_three(index: &MatchIndex<'_>, vacancy_ids: &[String], today: NaiveDate) -> Vec<String> {
    vacancy_ids
        .iter()
        .flat_map(|id| {
            index
                .candidates_for_vacancy(id, &CandidateQuery::new(today))
                .unwrap()
                .into_iter()
                .take(3)
                .map(|m| m.worker_id)
        })
        .collect()
}

/// Gives each person the next profile of `replacements`, erasing every
/// `erase_every`-th instead.
fn change_or_erase(
    index: &mut MatchIndex<'_>,
    worker_ids: &[String],
    erase_every: usize,
    replacements: &mut impl Iterator<Item = (String, WorkerInput)>,
) {
    for (n, worker_id) in worker_ids.iter().enumerate() {
        if n % erase_every == erase_every - 1 {
            index.remove_worker(worker_id);
        } else {
            let (_, input) = replacements.next().unwrap();
            index.upsert_worker(worker_id, &input).unwrap();
        }
    }
}

#[test]
fn standing_lists_stay_exact_as_profiles_change() {
    let mut index = index();
    let today = synthetic::today();
    let mut workers: Vec<(String, WorkerInput)> =
        synthetic::workers(3000, 21, reference()).collect();
    for (id, input) in &workers {
        index.upsert_worker(id, input).unwrap();
    }
    let vacancies: Vec<(String, VacancyInput)> =
        synthetic::vacancies(150, 22, reference()).collect();
    for (id, input) in &vacancies {
        index.upsert_vacancy(id, input).unwrap();
    }
    let ids: Vec<String> = vacancies.iter().map(|(id, _)| id.clone()).collect();
    while index.build_missing_standing(today, 16) > 0 {}
    let listed_before = lists_kept(&index, &ids, today);
    assert!(listed_before > 100, "{listed_before} lists built");
    assert_standing_agrees(&index, &ids, today);

    // Small batches, as counsellors make them: the lists follow each change. The
    // people changed are those at the top of lists, so that entries leave lists and
    // the people just below move in.
    let mut replacements = synthetic::workers(400, 23, reference());
    let epoch = index.standing_epoch();
    for round in 0..6 {
        let changed = top_three(&index, &ids[round * 7..round * 7 + 4], today);
        change_or_erase(&mut index, &changed, 4, &mut replacements);
        // Newcomers too, which reuse the freed slots.
        for _ in 0..5 {
            let (id, input) = replacements.next().unwrap();
            index.upsert_worker(&id, &input).unwrap();
            workers.push((id, input));
        }
        index.settle_standing(today);
        assert_eq!(
            index.standing_epoch(),
            epoch,
            "round {round} dropped the lists"
        );
        assert_standing_agrees(&index, &ids, today);
    }
    let still_listed = lists_kept(&index, &ids, today);
    assert!(still_listed > 100, "{still_listed} lists kept");

    // A changed vacancy loses its list until it is asked for again.
    let (changed_vacancy, input) = &vacancies[0];
    let mut input = input.clone();
    input.wage_max_usd = Some(input.wage_max_usd.unwrap_or(250.0) + 40.0);
    index.upsert_vacancy(changed_vacancy, &input).unwrap();
    assert!(!index.has_standing_list(changed_vacancy, today));
    assert_standing_agrees(&index, std::slice::from_ref(changed_vacancy), today);

    // A partner's batch: more changes than the follower offers itself, fewer than
    // there are lists. The lists are kept; the changed people leave them at once
    // and are offered again a few at a time (the server does it in the background).
    // Until the last is offered no list answers, and answers stay exact throughout.
    let mut changed = top_three(&index, &ids[60..75], today);
    changed.sort();
    changed.dedup();
    change_or_erase(&mut index, &changed, 5, &mut replacements);
    for _ in 0..40 {
        let (id, input) = replacements.next().unwrap();
        index.upsert_worker(&id, &input).unwrap();
    }
    index.settle_standing(today);
    assert_eq!(index.standing_epoch(), epoch, "the batch dropped the lists");
    let unsettled = index.standing_unsettled();
    assert!(unsettled > INCREMENTAL_LIMIT, "{unsettled} unsettled");
    assert_standing_agrees(&index, &ids, today);
    let mut offered = index.settle_unsettled(4);
    assert_eq!(offered, 4);
    assert_standing_agrees(&index, &ids[..30], today);
    // Changes made meanwhile join those waiting (still more than the follower
    // offers itself): people of the batch changed again, and one erased whose
    // slot a newcomer then takes.
    for worker_id in [&changed[0], &changed[changed.len() - 1]] {
        let (_, input) = replacements.next().unwrap();
        index.upsert_worker(worker_id, &input).unwrap();
    }
    index.remove_worker(&changed[2]);
    let (newcomer, input) = replacements.next().unwrap();
    index.upsert_worker(&newcomer, &input).unwrap();
    index.settle_standing(today);
    let waiting_now = index.standing_unsettled();
    assert!(
        (unsettled - 4..=unsettled).contains(&waiting_now),
        "{waiting_now} waiting"
    );
    assert_standing_agrees(&index, &ids[..30], today);
    loop {
        let chunk = index.settle_unsettled(16);
        if chunk == 0 {
            break;
        }
        offered += chunk;
    }
    assert_eq!(offered, 4 + waiting_now);
    assert_eq!(index.standing_unsettled(), 0);
    assert_eq!(index.standing_epoch(), epoch);
    let still_listed = lists_kept(&index, &ids, today);
    assert!(still_listed > 100, "{still_listed} lists kept");
    assert_standing_agrees(&index, &ids, today);

    // Another day: lists are not used, answers stay exact.
    let tomorrow = today.succ_opt().unwrap();
    assert_standing_agrees(&index, &ids[..20], tomorrow);

    // An import, more changes than there are lists, drops every list instead;
    // they are built again.
    for (id, input) in synthetic::workers(200, 24, reference()) {
        index.upsert_worker(&id, &input).unwrap();
    }
    index.settle_standing(today);
    assert_eq!(index.standing_epoch(), epoch + 1);
    assert_eq!(lists_kept(&index, &ids, today), 0);
    while index.build_missing_standing(today, 16) > 0 {}
    assert_standing_agrees(&index, &ids, today);
}

proptest! {
    /// Whole numbers in sentences read exactly as `{:.0}` formatting writes them.
    #[test]
    fn whole_numbers_are_written_as_format_writes_them(bits in any::<u64>(), small in -1e6f64..1e6) {
        for value in [f64::from_bits(bits), small, small.trunc() + 0.5, -0.4, 0.5, 1.5, 2.5] {
            prop_assert_eq!(crate::explain::whole(value), format!("{value:.0}"));
        }
    }
}

/// Wages up to 100,000 USD are valid, beyond what a vacancy's 16-bit gate holds:
/// the bounds must still never fall below the exact scores, for a person's
/// vacancies and for the standing lists that a changed profile is offered to.
#[test]
fn wages_beyond_the_gate_field_are_still_bounded_from_above() {
    let mut index = index();
    let today = today();
    let mut vacancy = vacancy(&four_skills());
    vacancy.wage_min_usd = Some(80_000.0);
    vacancy.wage_max_usd = Some(90_000.0);
    index.upsert_vacancy("v", &vacancy).unwrap();
    // More candidates than a list keeps, so that it is not complete.
    for n in 0..60 {
        let level = 1 + (n % 3) as u8;
        let mut input = worker(
            &four_skills()
                .iter()
                .map(|(s, _)| (*s, level))
                .collect::<Vec<_>>(),
        );
        input.expected_wage_usd = Some(60_000.0 + f64::from(n));
        index.upsert_worker(&format!("w{n:02}"), &input).unwrap();
    }
    assert_eq!(
        index
            .candidates_for_vacancy("v", &CandidateQuery::new(today))
            .unwrap()
            .len(),
        20
    );
    assert!(index.has_standing_list("v", today));
    let mut strong = worker(
        &four_skills()
            .iter()
            .map(|(s, _)| (*s, 4))
            .collect::<Vec<_>>(),
    );
    strong.expected_wage_usd = Some(70_000.0);
    index.upsert_worker("strong", &strong).unwrap();
    index.settle_standing(today);

    let kept = index
        .candidates_for_vacancy("v", &CandidateQuery::new(today))
        .unwrap();
    assert_eq!(kept[0].worker_id, "strong");
    let ranked = index
        .candidates_for_vacancy(
            "v",
            &CandidateQuery {
                weights: Some(Weights::default()),
                ..CandidateQuery::new(today)
            },
        )
        .unwrap();
    assert_eq!(kept, ranked);
    let vacancies: Vec<String> = index
        .vacancies_for_worker("strong", &VacancyQuery::new(today))
        .unwrap()
        .into_iter()
        .map(|m| m.vacancy_id)
        .collect();
    assert_eq!(vacancies, vec!["v".to_string()]);
}

#[test]
fn employer_view_rounds_availability_up_to_a_monday() {
    use crate::score::monday_on_or_after;
    let day = |y, m, d| crate::profile::days(NaiveDate::from_ymd_opt(y, m, d).expect("date"));
    // 1 December 2025 was a Monday.
    assert_eq!(monday_on_or_after(day(2025, 12, 1)), day(2025, 12, 1));
    assert_eq!(monday_on_or_after(day(2025, 12, 2)), day(2025, 12, 8));
    assert_eq!(monday_on_or_after(day(2025, 12, 7)), day(2025, 12, 8));
    assert_eq!(monday_on_or_after(day(2025, 12, 8)), day(2025, 12, 8));
}

#[test]
fn employer_bands_cover_their_bounds() {
    use crate::explain::{distance_band_km, wage_band_usd, years_band};
    assert_eq!(distance_band_km(0.0), "0-10");
    assert_eq!(distance_band_km(10.0), "0-10");
    assert_eq!(distance_band_km(10.1), "10-20");
    assert_eq!(distance_band_km(99.9), "90-100");
    assert_eq!(distance_band_km(100.5), "100+");
    assert_eq!(wage_band_usd(250.0), "250-299");
    assert_eq!(wage_band_usd(299.99), "250-299");
    assert_eq!(wage_band_usd(300.0), "300-349");
    assert_eq!(
        [0, 1, 2, 3, 5, 6, 40].map(years_band),
        ["0", "1-2", "1-2", "3-5", "3-5", "6+", "6+"]
    );
}
