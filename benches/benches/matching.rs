//! Matching at national scale: top-20 candidates for a vacancy among 1,000,000
//! returnees, and top-20 vacancies for a returnee among 100,000, in process on one
//! thread, plus the index's memory per worker.
//!
//! The data is synthetic (`jobmatch_synthetic::benches`: real ESCO skill mixes,
//! returnee home provinces). Smaller runs: `JOBMATCH_BENCH_WORKERS=100000
//! JOBMATCH_BENCH_VACANCIES=10000 cargo bench -p jobmatch-benches --bench matching`.
//! Before criterion's own measurements, the bench prints p50/p99 over 200 distinct
//! queries of each kind, with related-skill credit on (the default) and off, and
//! candidates with congestion damping off and at 0.1, side by side; candidates are
//! ranked from the posting lists (weights given in the query). Then the default
//! query answered from standing lists, the time and memory to build the lists
//! of every open vacancy, and the time to settle a partner's batch of 1,000
//! profiles into them.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use jobmatch_domain::Reference;
use jobmatch_matching::{CandidateQuery, MatchIndex, VacancyQuery, Weights};
use jobmatch_synthetic::benches as synthetic;

const QUERIES: usize = 200;

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Resident set size of this process, in bytes (Linux; 0 elsewhere).
fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|text| text.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn percentile(sorted: &[Duration], share: f64) -> Duration {
    let index = ((sorted.len() as f64 * share).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort_unstable();
    println!(
        "{label}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms over {} queries",
        percentile(&times, 0.50).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        times.len()
    );
}

struct Fixture {
    index: MatchIndex<'static>,
    vacancy_ids: Vec<String>,
    worker_ids: Vec<String>,
}

fn build() -> Fixture {
    let reference = Reference::embedded();
    let worker_count = env_count("JOBMATCH_BENCH_WORKERS", 1_000_000);
    let vacancy_count = env_count("JOBMATCH_BENCH_VACANCIES", 100_000);
    let mut index = MatchIndex::new(reference, Weights::default()).expect("default weights");

    let rss_before = rss_bytes();
    let started = Instant::now();
    let mut worker_ids = Vec::new();
    let sample_every = (worker_count / QUERIES).max(1);
    for (n, (id, input)) in synthetic::workers(worker_count, 1, reference).enumerate() {
        index.upsert_worker(&id, &input).expect("index has room");
        if n % sample_every == 0 && worker_ids.len() < QUERIES {
            worker_ids.push(id);
        }
    }
    index.shrink_to_fit();
    let worker_time = started.elapsed();
    let rss_workers = rss_bytes();

    let started = Instant::now();
    let mut vacancy_ids = Vec::new();
    let sample_every = (vacancy_count / QUERIES).max(1);
    for (n, (id, input)) in synthetic::vacancies(vacancy_count, 2, reference).enumerate() {
        index.upsert_vacancy(&id, &input).expect("index has room");
        if n % sample_every == 0 && vacancy_ids.len() < QUERIES {
            vacancy_ids.push(id);
        }
    }
    index.shrink_to_fit();
    let vacancy_time = started.elapsed();
    let rss_all = rss_bytes();

    let usage = index.memory_usage();
    println!(
        "built {} workers in {:.1} s ({:.0}/s), {} vacancies in {:.1} s",
        usage.workers,
        worker_time.as_secs_f64(),
        usage.workers as f64 / worker_time.as_secs_f64(),
        usage.vacancies,
        vacancy_time.as_secs_f64()
    );
    println!(
        "memory, counted from container capacities: {:.0} bytes per worker (worker side {:.1} MB), vacancies {:.1} MB, shared {:.1} MB (before standing lists)",
        usage.bytes_per_worker(),
        usage.worker_bytes as f64 / 1e6,
        usage.vacancy_bytes as f64 / 1e6,
        usage.shared_bytes as f64 / 1e6
    );
    println!(
        "memory, process RSS: {:.0} bytes per worker from the growth while loading workers; RSS {:.0} MB with workers and vacancies loaded",
        (rss_workers.saturating_sub(rss_before)) as f64 / usage.workers.max(1) as f64,
        rss_all as f64 / 1e6
    );
    Fixture {
        index,
        vacancy_ids,
        worker_ids,
    }
}

/// Times `query` on each id, in a second pass after an untimed one that warms the
/// scratch pool and the caches.
fn second_pass<T>(ids: &[String], mut query: impl FnMut(&str) -> T) -> Vec<Duration> {
    let mut times = Vec::with_capacity(ids.len());
    for _ in 0..2 {
        times.clear();
        for id in ids {
            let started = Instant::now();
            black_box(query(id));
            times.push(started.elapsed());
        }
    }
    times
}

/// Times the candidates query for each sampled vacancy (second pass).
fn time_candidates(fixture: &Fixture, query: &CandidateQuery) -> Vec<Duration> {
    second_pass(&fixture.vacancy_ids, |id| {
        fixture
            .index
            .candidates_for_vacancy(id, query)
            .expect("query")
    })
}

fn measure(fixture: &mut Fixture) {
    let today = synthetic::today();
    let related_off = Weights {
        related_skill_credit: 0.0,
        ..Weights::default()
    };
    // Weights given in a query, even the default ones, are always ranked from the
    // posting lists; a default query is answered from the vacancy's standing list
    // once it has one (measured below).
    for (label, weights) in [
        ("ranked, related credit on", Some(Weights::default())),
        ("ranked, related credit off", Some(related_off)),
    ] {
        // One untimed pass warms the scratch pool and the caches.
        let query = CandidateQuery {
            weights,
            ..CandidateQuery::new(today)
        };
        let mut times = Vec::with_capacity(QUERIES);
        let mut returned = 0;
        for pass in 0..2 {
            times.clear();
            for id in &fixture.vacancy_ids {
                let started = Instant::now();
                let found = fixture
                    .index
                    .candidates_for_vacancy(id, &query)
                    .expect("query");
                times.push(started.elapsed());
                if pass == 1 {
                    returned += found.len();
                }
                black_box(found);
            }
        }
        report(
            &format!("top-20 candidates for a vacancy ({label}, {returned} results)"),
            times,
        );

        let query = VacancyQuery {
            weights,
            ..VacancyQuery::new(today)
        };
        let times = second_pass(&fixture.worker_ids, |id| {
            fixture
                .index
                .vacancies_for_worker(id, &query)
                .expect("query")
        });
        report(&format!("top-20 vacancies for a worker ({label})"), times);
    }

    // Congestion damping side by side with the same queries undamped: its cost is
    // counting, for the candidates near the top, the other vacancies they qualify for.
    for (label, damping) in [
        ("congestion damping off", 0.0),
        ("congestion damping 0.1", 0.1),
    ] {
        let query = CandidateQuery {
            congestion_damping: damping,
            weights: Some(Weights::default()),
            ..CandidateQuery::new(today)
        };
        let times = time_candidates(fixture, &query);
        report(
            &format!("top-20 candidates for a vacancy (ranked, {label})"),
            times,
        );
    }

    // The default query, answered from standing lists: the first query of each
    // vacancy ranks and keeps its list, the second pass reads it.
    let query = CandidateQuery::new(today);
    let times = time_candidates(fixture, &query);
    report(
        "top-20 candidates for a vacancy (default query, from standing lists)",
        times,
    );
    let started = Instant::now();
    let mut built = 0;
    loop {
        let more = fixture.index.build_missing_standing(today, 64);
        if more == 0 {
            break;
        }
        built += more;
    }
    let elapsed = started.elapsed();
    let usage = fixture.index.memory_usage();
    println!(
        "standing lists: {built} more built in {:.1} s ({:.2} ms each, one thread); {:.1} MB for all ({:.0} bytes per worker)",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e3 / built.max(1) as f64,
        usage.standing_bytes as f64 / 1e6,
        usage.standing_bytes as f64 / usage.workers.max(1) as f64
    );

    settle_partner_batch(fixture, built, elapsed);

    // How much related-skill credit changes the lists: share of top-20 entries that
    // differ between on and off.
    let off = CandidateQuery {
        weights: Some(related_off),
        ..CandidateQuery::new(today)
    };
    let (mut changed, mut total) = (0, 0);
    for id in &fixture.vacancy_ids {
        let with: Vec<String> = fixture
            .index
            .candidates_for_vacancy(id, &CandidateQuery::new(today))
            .expect("query")
            .into_iter()
            .map(|m| m.worker_id)
            .collect();
        let without: Vec<String> = fixture
            .index
            .candidates_for_vacancy(id, &off)
            .expect("query")
            .into_iter()
            .map(|m| m.worker_id)
            .collect();
        total += with.len();
        changed += with.iter().filter(|id| !without.contains(id)).count();
    }
    println!(
        "related-skill credit changes {changed} of {total} top-20 candidate entries ({:.1} %)",
        changed as f64 * 100.0 / total.max(1) as f64
    );
}

/// A partner's batch of 1,000 profiles against the full set of standing lists:
/// new profiles for people at the top of lists, and newcomers. It times the
/// follower's part (taking the changed people out of every list) and the
/// background part (offering each to the lists it could enter), against building
/// the lists again, which is what a batch costs when it drops them.
fn settle_partner_batch(fixture: &mut Fixture, lists_built: usize, build_time: Duration) {
    const BATCH: usize = 1_000;
    let today = synthetic::today();
    let reference = Reference::embedded();
    let mut listed: Vec<String> = Vec::new();
    for id in &fixture.vacancy_ids {
        let top = fixture
            .index
            .candidates_for_vacancy(id, &CandidateQuery::new(today))
            .expect("query");
        listed.extend(top.into_iter().take(3).map(|m| m.worker_id));
    }
    listed.sort();
    listed.dedup();
    listed.truncate(BATCH / 2);
    let index = &mut fixture.index;
    for (n, (id, input)) in synthetic::workers(BATCH, 3, reference).enumerate() {
        let id = listed.get(n).cloned().unwrap_or(id);
        index.upsert_worker(&id, &input).expect("index has room");
    }
    let started = Instant::now();
    index.settle_standing(today);
    let follower = started.elapsed();
    let unsettled = index.standing_unsettled();
    let started = Instant::now();
    while index.settle_unsettled(16) > 0 {}
    let offers = started.elapsed();
    let per_list = build_time.as_secs_f64() / lists_built.max(1) as f64;
    let per_worker = offers.as_secs_f64() / unsettled.max(1) as f64;
    println!(
        "partner batch of {BATCH} ({} at the top of lists): follower {:.1} ms (out of every list), offers {:.1} ms ({:.3} ms each, one thread) for {unsettled} people; building one list takes {:.1}x one offer, all {lists_built} {:.1} s",
        listed.len(),
        follower.as_secs_f64() * 1e3,
        offers.as_secs_f64() * 1e3,
        per_worker * 1e3,
        per_list / per_worker.max(f64::MIN_POSITIVE),
        build_time.as_secs_f64()
    );
    // The lists still answer exactly what ranking answers.
    let ranked = CandidateQuery {
        weights: Some(Weights::default()),
        ..CandidateQuery::new(today)
    };
    for id in fixture.vacancy_ids.iter().take(20) {
        assert_eq!(
            fixture
                .index
                .candidates_for_vacancy(id, &CandidateQuery::new(today))
                .expect("query"),
            fixture
                .index
                .candidates_for_vacancy(id, &ranked)
                .expect("query"),
            "vacancy {id} after the batch"
        );
    }
}

fn matching(c: &mut Criterion) {
    let mut fixture = build();
    measure(&mut fixture);
    let today = synthetic::today();
    let mut group = c.benchmark_group("matching");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    let candidates = CandidateQuery {
        weights: Some(Weights::default()),
        ..CandidateQuery::new(today)
    };
    group.bench_function("top 20 candidates (ranked), 200 vacancies in turn", |b| {
        let mut next = 0;
        b.iter(|| {
            next = (next + 1) % fixture.vacancy_ids.len();
            black_box(
                fixture
                    .index
                    .candidates_for_vacancy(&fixture.vacancy_ids[next], &candidates),
            )
        })
    });
    let vacancies = VacancyQuery::new(today);
    group.bench_function("top 20 vacancies, 200 workers in turn", |b| {
        let mut next = 0;
        b.iter(|| {
            next = (next + 1) % fixture.worker_ids.len();
            black_box(
                fixture
                    .index
                    .vacancies_for_worker(&fixture.worker_ids[next], &vacancies),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, matching);
criterion_main!(benches);
