//! Vacancy search at scale: builds an on-disk index of synthetic vacancies (100,000 by
//! default), then times a realistic query mix in process and reports percentiles.
//!
//! ```text
//! cargo bench -p jobmatch-benches --bench search
//! SEARCH_BENCH_VACANCIES=20000 SEARCH_BENCH_ROUNDS=20 cargo bench -p jobmatch-benches --bench search
//! # keep the index between runs (skips the build when it already holds the vacancies):
//! SEARCH_BENCH_DIR=/tmp/search-bench cargo bench -p jobmatch-benches --bench search
//! ```
//!
//! A custom harness rather than criterion: the figures wanted are tail latencies
//! over a mix of queries (p50, p99), the build time and the index size, which
//! criterion's per-function means do not give. The vacancies come from
//! `jobmatch_synthetic::search` and the text queries from `search_data` (both
//! shared with the `search_http` bench).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use cpu_time::{ProcessTime, ThreadTime};
use jobmatch_domain::Sector;
use jobmatch_domain::resources::VacancyStatus;
use jobmatch_search::{OpenOutcome, SearchIndex, SearchRequest, SortOrder};

mod search_data;
use jobmatch_synthetic::search::vacancies as synthetic_vacancies;
use search_data::TEXT_QUERIES;

struct Case {
    category: &'static str,
    request: SearchRequest,
}

fn case(category: &'static str, q: &str) -> Case {
    Case {
        category,
        request: SearchRequest {
            q: q.to_string(),
            ..SearchRequest::default()
        },
    }
}

fn with(category: &'static str, request: SearchRequest) -> Case {
    Case { category, request }
}

/// What returnees and counsellors type, and the filters they set. Every search also
/// computes the sector and province facet counts and the total.
fn query_mix() -> Vec<Case> {
    let since = Utc.with_ymd_and_hms(2024, 11, 1, 0, 0, 0).unwrap();
    let mut cases = Vec::new();
    for (category, queries) in TEXT_QUERIES {
        for q in queries {
            cases.push(case(category, q));
        }
    }
    cases.push(with(
        "filters",
        SearchRequest {
            q: "sewing".into(),
            sector: vec![Sector::Garment],
            province_code: vec!["12".into()],
            ..SearchRequest::default()
        },
    ));
    cases.push(with(
        "filters",
        SearchRequest {
            sector: vec![Sector::Construction],
            wage_min_usd: Some(300.0),
            ..SearchRequest::default()
        },
    ));
    cases.push(with(
        "filters",
        SearchRequest {
            q: "welder".into(),
            near_province_code: Some("12".into()),
            radius_km: Some(100.0),
            ..SearchRequest::default()
        },
    ));
    cases.push(with(
        "filters",
        SearchRequest {
            q: "cook".into(),
            posted_since: Some(since),
            sort: SortOrder::Newest,
            ..SearchRequest::default()
        },
    ));
    cases.push(with(
        "filters",
        SearchRequest {
            province_code: vec!["03".into()],
            status: vec![VacancyStatus::Open, VacancyStatus::Filled],
            sort: SortOrder::Wage,
            ..SearchRequest::default()
        },
    ));
    cases.push(with(
        "filters",
        SearchRequest {
            q: "កម្មករ".into(),
            sector: vec![Sector::Garment, Sector::Production],
            wage_min_usd: Some(250.0),
            ..SearchRequest::default()
        },
    ));
    cases.push(with("browse (facets only)", SearchRequest::default()));
    cases.push(with(
        "browse (facets only)",
        SearchRequest {
            sort: SortOrder::Wage,
            ..SearchRequest::default()
        },
    ));
    cases
}

fn directory_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .expect("index directory")
        .filter_map(Result::ok)
        .filter_map(|entry| entry.metadata().ok())
        .filter(|metadata| metadata.is_file())
        .map(|metadata| metadata.len())
        .sum()
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn millis(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1e3)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing of use and
    // expects a quick run, so stay small unless benchmarking.
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let count = env_number(
        "SEARCH_BENCH_VACANCIES",
        if benchmarking { 100_000 } else { 2_000 },
    );
    let rounds = env_number("SEARCH_BENCH_ROUNDS", if benchmarking { 50 } else { 2 });

    let generated = Instant::now();
    let vacancies = synthetic_vacancies(count);
    println!(
        "search bench: {count} synthetic vacancies generated in {:.1} s",
        generated.elapsed().as_secs_f64()
    );

    let temporary = tempfile::tempdir().expect("temporary directory");
    let kept = std::env::var_os("SEARCH_BENCH_DIR").map(std::path::PathBuf::from);
    let path = kept.as_deref().unwrap_or(temporary.path());
    let (index, outcome) = SearchIndex::open_or_create(Some(path)).expect("index");
    if outcome == (OpenOutcome::Opened { seq: count as i64 }) {
        println!("build: skipped, reusing the index in {}", path.display());
        drop(index);
    } else {
        index.clear().expect("clear");
        let build = Instant::now();
        let build_cpu = ProcessTime::try_now().ok();
        for (id, vacancy, employer, posted_at) in &vacancies {
            index
                .upsert(id, vacancy, employer, *posted_at)
                .expect("upsert");
        }
        let upserted = build.elapsed();
        index.commit(count as i64).expect("commit");
        let committed = build.elapsed();
        index.wait_for_merges().expect("merges");
        let merged = build.elapsed();
        let cpu = build_cpu
            .and_then(|time| time.try_elapsed().ok())
            .map_or_else(
                || "unknown".into(),
                |cpu| format!("{:.2} s", cpu.as_secs_f64()),
            );
        println!(
            "build: upserts {:.2} s, + commit {:.2} s, + background merges {:.2} s (cumulative wall clock); CPU time of all threads {cpu}; load average {}",
            upserted.as_secs_f64(),
            committed.as_secs_f64(),
            merged.as_secs_f64(),
            load_average(),
        );
    }
    let size = directory_size(path);
    println!(
        "index on disk: {:.1} MiB ({size} bytes)",
        size as f64 / (1024.0 * 1024.0)
    );

    let opened = Instant::now();
    let (index, outcome) = SearchIndex::open_or_create(Some(path)).expect("reopen");
    assert_eq!(outcome, OpenOutcome::Opened { seq: count as i64 });
    println!(
        "reopen (checksums, reader): {}; {} segments",
        millis(opened.elapsed()),
        index.segment_count()
    );

    let cases = query_mix();
    // Warm-up: page cache, lazily built automata.
    for case in &cases {
        black_box(index.search(&case.request).expect("search"));
    }
    let mut all = Vec::with_capacity(cases.len() * rounds);
    let mut by_category: Vec<(&str, Vec<Duration>)> = Vec::new();
    let mut by_case: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); cases.len()];
    let mut on_cpu = Vec::with_capacity(cases.len() * rounds);
    for _ in 0..rounds {
        for (n, case) in cases.iter().enumerate() {
            // Wall-clock time on a shared machine includes waiting for a core; the
            // thread's CPU time (CLOCK_THREAD_CPUTIME_ID) does not, and is the figure
            // to compare across runs.
            let cpu_started = ThreadTime::try_now().ok();
            let started = Instant::now();
            let response = index.search(black_box(&case.request)).expect("search");
            let elapsed = started.elapsed();
            if let Some(cpu_elapsed) = cpu_started.and_then(|time| time.try_elapsed().ok()) {
                on_cpu.push(cpu_elapsed);
            }
            black_box(response);
            all.push(elapsed);
            by_case[n].push(elapsed);
            match by_category
                .iter_mut()
                .find(|(name, _)| *name == case.category)
            {
                Some((_, samples)) => samples.push(elapsed),
                None => by_category.push((case.category, vec![elapsed])),
            }
        }
    }
    all.sort();
    println!(
        "queries: {} ({} kinds x {rounds} rounds), single thread: p50 {}, p90 {}, p99 {}, max {}",
        all.len(),
        cases.len(),
        millis(percentile(&all, 0.50)),
        millis(percentile(&all, 0.90)),
        millis(percentile(&all, 0.99)),
        millis(*all.last().expect("samples")),
    );
    if !on_cpu.is_empty() {
        on_cpu.sort();
        println!(
            "  on-CPU time of the same queries (excludes waiting for a core): p50 {}, p90 {}, p99 {}, max {}",
            millis(percentile(&on_cpu, 0.50)),
            millis(percentile(&on_cpu, 0.90)),
            millis(percentile(&on_cpu, 0.99)),
            millis(*on_cpu.last().expect("samples")),
        );
    }
    println!("  load average during the run: {}", load_average());
    for (category, mut samples) in by_category {
        samples.sort();
        println!(
            "  {category:<22} p50 {:>10}  p99 {:>10}",
            millis(percentile(&samples, 0.50)),
            millis(percentile(&samples, 0.99)),
        );
    }
    let mut slowest: Vec<(Duration, Duration, &Case)> = by_case
        .into_iter()
        .zip(&cases)
        .map(|(mut samples, case)| {
            samples.sort();
            (percentile(&samples, 0.5), percentile(&samples, 0.99), case)
        })
        .collect();
    slowest.sort_by_key(|(median, _, _)| std::cmp::Reverse(*median));
    println!("slowest kinds (p50, p99):");
    let shown = if std::env::var_os("SEARCH_BENCH_ALL").is_some() {
        slowest.len()
    } else {
        8
    };
    for (median, tail, case) in slowest.iter().take(shown) {
        let total = index.search(&case.request).expect("search").total;
        println!(
            "  {:>10} {:>10}  {:<20} q={:?} ({total} matches)",
            millis(*median),
            millis(*tail),
            case.category,
            case.request.q
        );
    }
    let totals: Vec<String> = cases
        .iter()
        .take(6)
        .map(|case| {
            let total = index.search(&case.request).expect("search").total;
            format!("{:?}={total}", case.request.q)
        })
        .collect();
    println!("matches (sanity): {}", totals.join(", "));
}
