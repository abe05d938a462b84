//! The fast queries against the exhaustive reference rankers: the same lists, after
//! every kind of change, with congestion damping, and with wages beyond what a gate
//! holds.

use super::*;

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
