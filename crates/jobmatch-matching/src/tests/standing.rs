//! The standing candidate lists stay an exact prefix of what ranking gives, as
//! profiles change, are erased, come in bulk and the date moves.

use super::*;

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
