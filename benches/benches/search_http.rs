//! Vacancy search through HTTP, and the rebuild of the search index from the database.
//!
//! ```text
//! cargo bench -p jobmatch-benches --bench search_http
//! SEARCH_HTTP_VACANCIES=20000 SEARCH_HTTP_ROUNDS=10 cargo bench -p jobmatch-benches --bench search_http
//! # keep the databases between runs (skips filling them when they hold the vacancies):
//! SEARCH_HTTP_BENCH_DIR=/tmp/search-http-bench cargo bench -p jobmatch-benches --bench search_http
//! # the store on PostgreSQL (a fresh schema of that database, dropped at the end):
//! JOBMATCH_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo bench -p jobmatch-benches --bench search_http
//! ```
//!
//! Setup: the synthetic vacancies of `jobmatch_synthetic::search` (100,000 by default) and their
//! 2,000 employers are written through `jobmatch_store::Store` into a SQLite
//! database, or into a fresh PostgreSQL schema when `JOBMATCH_BENCH_DATABASE_URL`
//! names a database (the FTS5 side stays SQLite, what it is compared with). The same texts (title, description, employer name, and the labels of
//! the vacancy's occupation and skills) go into a SQLite FTS5 table in a second
//! database file, with the filter columns beside them.
//!
//! 1. **Rebuild.** The server is started in process ([`Application::build`]) with
//!    its search index directory absent, and `/readyz` is polled until it answers
//!    200: the time from the start to search-ready, and to listening, is reported
//!    for each of `SEARCH_HTTP_REBUILDS` (3) runs with their median, and the index
//!    size on disk.
//! 2. **Queries.** The same query mix (one word, two words, typos, a last word
//!    still being typed, filters) is sent to `GET /v1/vacancies` over HTTP with a
//!    kept-alive connection, and run against FTS5 with `MATCH`, alternately, in one
//!    run. Both sides compute what the API returns: the first 20 by relevance, the
//!    total, and facet counts by sector and by province. FTS5 is queried in process,
//!    without HTTP, JSON or reading the 20 stored documents, so the comparison
//!    favours it. FTS5 has no typo tolerance: typos are sent as typed (and mostly
//!    find nothing), and its last word is a prefix (`"mach"*`) as in our search.

use std::num::NonZeroU32;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use jobmatch_api::Application;
use jobmatch_api::auth::{Role, generate_key};
use jobmatch_api::limits::Limits;
use jobmatch_api::server::StartOptions;
use jobmatch_domain::Reference;
use jobmatch_domain::resources::VacancyInput;
use jobmatch_store::testing::ScratchPostgres;
use jobmatch_store::{Columns, Entity, NewRecord, Store};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Executor, Row};

mod search_data;
use jobmatch_synthetic::search::{EMPLOYERS, SyntheticVacancy, vacancies as synthetic_vacancies};
use search_data::TEXT_QUERIES;

/// The variable naming a PostgreSQL database to keep the store in instead of SQLite.
const DATABASE_URL_VAR: &str = "JOBMATCH_BENCH_DATABASE_URL";

/// One search as a user sends it: the text and the filters, as query parameters.
struct Case {
    category: &'static str,
    q: &'static str,
    filters: Vec<(&'static str, &'static str)>,
}

fn case(category: &'static str, q: &'static str) -> Case {
    Case {
        category,
        q,
        filters: Vec::new(),
    }
}

/// The text queries of the `search` bench's mix, with filters both sides support.
fn query_mix() -> Vec<Case> {
    let mut cases = Vec::new();
    for (category, queries) in TEXT_QUERIES {
        // A one-letter prefix is left out: FTS5 would expand `s*` to most of
        // its vocabulary, which says nothing about the searches people make.
        for q in queries.iter().filter(|q| q.chars().count() > 1) {
            cases.push(case(category, q));
        }
    }
    let filtered = [
        (
            "sewing",
            vec![("sector", "garment"), ("province_code", "12")],
        ),
        ("welder", vec![("sector", "construction")]),
        ("កម្មករ", vec![("sector", "garment"), ("wage_min_usd", "250")]),
        ("cook", vec![("province_code", "17")]),
        ("driver", vec![("wage_min_usd", "300")]),
    ];
    for (q, filters) in filtered {
        cases.push(Case {
            category: "filters",
            q,
            filters,
        });
    }
    cases
}

fn vacancy_uuid(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn employer_uuid(n: usize) -> String {
    format!("00000000-0000-4000-9000-{n:012}")
}

/// The generated employer number behind a generated `employer_id` (`e<n>`).
fn employer_number(vacancy: &VacancyInput) -> usize {
    vacancy.employer_id[1..]
        .parse()
        .expect("generated employer ids are e<n>")
}

async fn fill_store(store: &Store, vacancies: &[SyntheticVacancy]) {
    for n in 0..EMPLOYERS {
        let body = json!({
            "name": format!("Employer {n}"),
            "sector": "garment",
            "province_code": "12",
        });
        let columns = Columns {
            sector: Some("garment".into()),
            province_code: Some("12".into()),
            ..Columns::default()
        };
        store
            .insert(
                Entity::Employer,
                NewRecord {
                    id: &employer_uuid(n),
                    source: None,
                    external_id: None,
                    columns: &columns,
                    body: &body,
                },
            )
            .await
            .expect("employer stored");
    }
    for (n, (_, vacancy, _, _)) in vacancies.iter().enumerate() {
        let mut vacancy = vacancy.clone();
        vacancy.employer_id = employer_uuid(employer_number(&vacancy));
        let columns = Columns {
            employer_id: Some(vacancy.employer_id.clone()),
            sector: Some(vacancy.sector.code().to_string()),
            province_code: Some(vacancy.province_code.clone()),
            status: Some(vacancy.status.code().to_string()),
        };
        let body = serde_json::to_value(&vacancy).expect("vacancy serialises");
        store
            .insert(
                Entity::Vacancy,
                NewRecord {
                    id: &vacancy_uuid(n),
                    source: None,
                    external_id: None,
                    columns: &columns,
                    body: &body,
                },
            )
            .await
            .expect("vacancy stored");
    }
}

/// The labels of the vacancy's occupation and skills, with their alternative labels:
/// what the search index puts in its labels field.
fn taxonomy_labels(vacancy: &VacancyInput) -> String {
    let taxonomy = &Reference::embedded().taxonomy;
    let mut labels: Vec<&str> = Vec::new();
    if let Some(id) = vacancy
        .occupation
        .as_deref()
        .and_then(|occupation| taxonomy.occupation_id(occupation))
    {
        let occupation = taxonomy.occupation(id);
        labels.push(&occupation.label);
        labels.extend(occupation.alt_labels.iter().map(String::as_str));
    }
    let skills = vacancy
        .required_skills
        .iter()
        .map(|skill| skill.skill.as_str())
        .chain(
            vacancy
                .preferred_skills
                .iter()
                .map(|skill| skill.skill.as_str()),
        );
    for skill in skills {
        if let Some(id) = taxonomy.skill_id(skill) {
            let skill = taxonomy.skill(id);
            labels.push(&skill.label);
            labels.extend(skill.alt_labels.iter().map(String::as_str));
        }
    }
    labels.join(" ; ")
}

async fn open_fts(path: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::from_str(&format!("sqlite:{}", path.display()))
        .expect("sqlite url")
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("FTS5 database opens")
}

async fn fill_fts(pool: &SqlitePool, vacancies: &[SyntheticVacancy]) {
    pool.execute("DROP TABLE IF EXISTS vacancy_text")
        .await
        .expect("drop");
    pool.execute(
        "CREATE VIRTUAL TABLE vacancy_text USING fts5(\
            title, description, employer, labels, \
            id UNINDEXED, status UNINDEXED, sector UNINDEXED, province_code UNINDEXED, \
            wage_max UNINDEXED, \
            tokenize = 'porter unicode61 remove_diacritics 2')",
    )
    .await
    .expect("FTS5 is compiled into the bundled SQLite");
    let mut transaction = pool.begin().await.expect("transaction");
    for (n, (_, vacancy, employer, _)) in vacancies.iter().enumerate() {
        let wage_max = vacancy.wage_max_usd.or(vacancy.wage_min_usd);
        sqlx::query(
            "INSERT INTO vacancy_text (title, description, employer, labels, id, status, sector, province_code, wage_max) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&vacancy.title)
        .bind(vacancy.description.as_deref().unwrap_or_default())
        .bind(employer)
        .bind(taxonomy_labels(vacancy))
        .bind(vacancy_uuid(n))
        .bind(vacancy.status.code())
        .bind(vacancy.sector.code())
        .bind(&vacancy.province_code)
        .bind(wage_max)
        .execute(&mut *transaction)
        .await
        .expect("row inserted");
    }
    transaction.commit().await.expect("commit");
    pool.execute("INSERT INTO vacancy_text(vacancy_text) VALUES ('optimize')")
        .await
        .expect("optimize");
}

/// The FTS5 query for what the user typed: every word required, the last one as a
/// prefix.
fn fts_match(q: &str) -> String {
    let words: Vec<String> = q
        .split_whitespace()
        .map(|word| format!("\"{}\"", word.replace('"', "\"\"")))
        .collect();
    let mut expression = words.join(" ");
    expression.push('*');
    expression
}

/// What the API computes for a search, with FTS5: the first 20 by rank, and the
/// counts by sector and by province (whose sum is the total). Returns the total.
async fn fts_search(pool: &SqlitePool, case: &Case) -> i64 {
    let mut conditions = String::from("vacancy_text MATCH ?1 AND status = 'open'");
    let mut binds: Vec<String> = Vec::new();
    for (name, value) in &case.filters {
        let condition = match *name {
            "sector" => "sector = ?",
            "province_code" => "province_code = ?",
            "wage_min_usd" => "wage_max >= CAST(? AS REAL)",
            other => panic!("no FTS5 filter for {other}"),
        };
        conditions.push_str(" AND ");
        conditions.push_str(condition);
        binds.push(value.to_string());
    }
    let expression = fts_match(case.q);
    // The statements are assembled from the fixed fragments above; every value is bound.
    let top = format!("SELECT id FROM vacancy_text WHERE {conditions} ORDER BY rank LIMIT 20");
    let mut query = sqlx::query(AssertSqlSafe(top)).bind(&expression);
    for value in &binds {
        query = query.bind(value);
    }
    let ids = query.fetch_all(pool).await.expect("FTS5 top 20");
    std::hint::black_box(ids);
    let mut total = 0;
    for facet in ["sector", "province_code"] {
        let counts = format!(
            "SELECT {facet}, count(*) FROM vacancy_text WHERE {conditions} GROUP BY {facet}"
        );
        let mut query = sqlx::query(AssertSqlSafe(counts)).bind(&expression);
        for value in &binds {
            query = query.bind(value);
        }
        let rows = query.fetch_all(pool).await.expect("FTS5 facet counts");
        total = rows.iter().map(|row| row.get::<i64, _>(1)).sum();
    }
    total
}

/// Our search through HTTP; returns the total it reports.
async fn http_search(client: &reqwest::Client, address: &str, key: &str, case: &Case) -> u64 {
    let mut parameters = vec![("q", case.q)];
    parameters.extend(case.filters.iter().copied());
    let url = reqwest::Url::parse_with_params(&format!("{address}/v1/vacancies"), &parameters)
        .expect("valid url");
    let response = client
        .get(url)
        .bearer_auth(key)
        .send()
        .await
        .expect("search answered");
    assert_eq!(response.status(), 200, "search {:?}", case.q);
    let page: serde_json::Value = response.json().await.expect("json");
    page["total"].as_u64().expect("total")
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

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
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

/// Starts a server over `store` whose search index directory is absent and waits
/// until `/readyz` answers 200. Returns its address and the times to listening and
/// to search-ready. The server keeps running (in the background) afterwards.
async fn start_and_rebuild(store: &Store, search_dir: &Path) -> (String, Duration, Duration) {
    if search_dir.exists() {
        std::fs::remove_dir_all(search_dir).expect("old index removed");
    }
    let started = Instant::now();
    // The query loop sends far more than one key's fair share a minute.
    let unlimited = NonZeroU32::new(u32::MAX).expect("non-zero");
    let options = StartOptions {
        limits: Limits {
            requests_per_minute: unlimited,
            burst: unlimited,
            ..Limits::default()
        },
        ..StartOptions::default()
    };
    let application =
        Application::build_with("127.0.0.1:0", store.clone(), Some(search_dir), options)
            .await
            .expect("server starts");
    let listening = started.elapsed();
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run());
    let client = reqwest::Client::new();
    loop {
        let ready = client.get(format!("{address}/readyz")).send().await;
        if ready.is_ok_and(|response| response.status() == 200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (address, listening, started.elapsed())
}

async fn run(count: usize, rounds: usize, rebuilds: usize) {
    let temporary = tempfile::tempdir().expect("temporary directory");
    let kept = std::env::var_os("SEARCH_HTTP_BENCH_DIR").map(std::path::PathBuf::from);
    let directory = kept.as_deref().unwrap_or(temporary.path());
    std::fs::create_dir_all(directory).expect("bench directory");
    let database = directory.join("jobmatch.db");
    let scratch = match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(
            ScratchPostgres::create(&url)
                .await
                .unwrap_or_else(|error| panic!("{DATABASE_URL_VAR}: {error}")),
        ),
        _ => None,
    };
    let store_url = match &scratch {
        Some(scratch) => scratch.url().to_string(),
        None => format!("sqlite:{}", database.display()),
    };
    let store = Store::connect(&store_url).await.expect("store opens");
    let backend = if scratch.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("backend of the store: {backend}");
    let fts = open_fts(&directory.join("fts5.db")).await;

    let stored = store.count(Entity::Vacancy).await.expect("count") as usize;
    let fts_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM vacancy_text")
        .fetch_one(&fts)
        .await
        .unwrap_or(-1);
    if stored != count || fts_rows != count as i64 {
        assert_eq!(
            stored,
            0,
            "{} holds other data; remove it",
            database.display()
        );
        let vacancies = synthetic_vacancies(count);
        let filled = Instant::now();
        fill_store(&store, &vacancies).await;
        println!(
            "setup: {count} vacancies and {EMPLOYERS} employers written through Store in {:.1} s",
            filled.elapsed().as_secs_f64()
        );
        let filled = Instant::now();
        fill_fts(&fts, &vacancies).await;
        println!(
            "setup: FTS5 table of the same texts built in {:.1} s",
            filled.elapsed().as_secs_f64()
        );
    } else {
        println!("setup: reusing the databases in {}", directory.display());
    }
    let key = generate_key(Role::Staff, None, "search_http bench".into(), None);
    store.insert_api_key(&key.record).await.expect("key stored");

    let mut listening_times = Vec::new();
    let mut ready_times = Vec::new();
    let mut address = String::new();
    let mut last_index = directory.join("search-0");
    for run in 0..rebuilds {
        last_index = directory.join(format!("search-{run}"));
        let (started_address, listening, ready) = start_and_rebuild(&store, &last_index).await;
        println!(
            "rebuild {}: listening after {}, search-ready after {:.2} s (load average {})",
            run + 1,
            millis(listening),
            ready.as_secs_f64(),
            load_average()
        );
        address = started_address;
        listening_times.push(listening);
        ready_times.push(ready);
    }
    listening_times.sort();
    ready_times.sort();
    let size = directory_size(&last_index);
    println!(
        "rebuild of {count} vacancies from {backend}, index removed: median search-ready {:.2} s (listening {}) over {rebuilds} runs; index on disk {:.1} MiB ({size} bytes)",
        percentile(&ready_times, 0.5).as_secs_f64(),
        millis(percentile(&listening_times, 0.5)),
        size as f64 / (1024.0 * 1024.0),
    );

    let client = reqwest::Client::new();
    let cases = query_mix();
    // Warm-up: page caches, connections, lazily built automata.
    for case in &cases {
        http_search(&client, &address, &key.secret, case).await;
        fts_search(&fts, case).await;
    }
    let mut http_times = Vec::new();
    let mut fts_times = Vec::new();
    let mut by_category: Vec<(&str, Vec<Duration>, Vec<Duration>)> = Vec::new();
    for _ in 0..rounds {
        for case in &cases {
            let started = Instant::now();
            http_search(&client, &address, &key.secret, case).await;
            let http = started.elapsed();
            let started = Instant::now();
            fts_search(&fts, case).await;
            let fts_time = started.elapsed();
            http_times.push(http);
            fts_times.push(fts_time);
            match by_category
                .iter_mut()
                .find(|(name, _, _)| *name == case.category)
            {
                Some((_, http_samples, fts_samples)) => {
                    http_samples.push(http);
                    fts_samples.push(fts_time);
                }
                None => by_category.push((case.category, vec![http], vec![fts_time])),
            }
        }
    }
    http_times.sort();
    fts_times.sort();
    let http_p50 = percentile(&http_times, 0.5);
    let fts_p50 = percentile(&fts_times, 0.5);
    println!(
        "queries: {} ({} kinds x {rounds} rounds), alternating, one client; load average {}",
        http_times.len(),
        cases.len(),
        load_average()
    );
    println!(
        "  GET /v1/vacancies (HTTP): p50 {}, p90 {}, p99 {}",
        millis(http_p50),
        millis(percentile(&http_times, 0.9)),
        millis(percentile(&http_times, 0.99)),
    );
    println!(
        "  SQLite FTS5 (in process): p50 {}, p90 {}, p99 {}",
        millis(fts_p50),
        millis(percentile(&fts_times, 0.9)),
        millis(percentile(&fts_times, 0.99)),
    );
    println!(
        "  p50 ratio HTTP search / FTS5: {:.2}",
        http_p50.as_secs_f64() / fts_p50.as_secs_f64()
    );
    for (category, mut http_samples, mut fts_samples) in by_category {
        http_samples.sort();
        fts_samples.sort();
        println!(
            "  {category:<12} p50 HTTP {:>10}  FTS5 {:>10}",
            millis(percentile(&http_samples, 0.5)),
            millis(percentile(&fts_samples, 0.5)),
        );
    }
    let mut totals = Vec::new();
    for case in cases.iter().take(6) {
        let ours = http_search(&client, &address, &key.secret, case).await;
        let theirs = fts_search(&fts, case).await;
        totals.push(format!("{:?} {ours}/{theirs}", case.q));
    }
    println!("matches, ours/FTS5 (sanity): {}", totals.join(", "));
    if let Some(scratch) = &scratch {
        scratch.drop_schema().await;
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` expects a quick run.
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let count = env_number(
        "SEARCH_HTTP_VACANCIES",
        if benchmarking { 100_000 } else { 500 },
    );
    let rounds = env_number("SEARCH_HTTP_ROUNDS", if benchmarking { 20 } else { 1 });
    let rebuilds = env_number("SEARCH_HTTP_REBUILDS", if benchmarking { 3 } else { 1 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(count, rounds, rebuilds));
}
