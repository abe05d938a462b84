//! Behaviour of the engine as a counsellor would describe it: eligibility, scores and
//! their explanations, ties, caps, errors, index upkeep, output rounding and memory.

use super::*;

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
