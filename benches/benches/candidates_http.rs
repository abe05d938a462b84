//! Candidates for a vacancy through HTTP, against the straightforward SQL a team
//! would write instead, measured side by side in one run.
//!
//! ```text
//! cargo build --release -p jobmatch
//! cargo bench -p jobmatch-benches --bench candidates_http
//! CANDIDATES_HTTP_WORKERS=200000 CANDIDATES_HTTP_VACANCIES=10000 \
//!   CANDIDATES_HTTP_DIR=/tmp/candidates-http cargo bench -p jobmatch-benches --bench candidates_http
//! ```
//!
//! Setup, with the release binary (`target/release/jobmatch`, or `JOBMATCH_BIN`):
//! `jobmatch gen` writes a synthetic data set (200,000 returnees and 10,000
//! vacancies by default), `jobmatch import` loads it into SQLite, and `jobmatch
//! serve` serves it. A second SQLite file holds what a team would build instead of
//! a matching engine: the skills of each profile and each vacancy as rows
//! (`worker_skills`, `vacancy_skills`, indexed on the skill), filled from the same
//! stored documents.
//!
//! Once the server is ready and has built its standing candidate lists (it does so
//! in the background after start-up; `/metrics` says when), for the same
//! vacancies, in blocks of 20 measured each way in turn:
//! - `GET /v1/vacancies/{id}/candidates?limit=20` over a kept-alive HTTP
//!   connection (scoring, feasibility, explanations, JSON), answered from the
//!   vacancy's standing list;
//! - the same with `weights=skills:0.45` (the default value): weights in the
//!   request are always ranked from the posting lists, so this is the cost
//!   without a standing list; the bench checks that both answers are identical;
//! - `GET /healthz`, the cost of HTTP itself on this machine;
//! - the SQL: the 20 workers sharing the most skills with the vacancy,
//!   `GROUP BY worker_id ORDER BY COUNT(*) DESC`, in process with no HTTP or JSON
//!   at all, which favours it.
//!
//! It prints the median, 90th and 99th percentiles of each and the ratios of the
//! medians. Keep the data between runs with `CANDIDATES_HTTP_DIR`.
//!
//! On PostgreSQL: `JOBMATCH_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test`
//! imports into a fresh schema of that database (dropped at the end; each run
//! imports again), serves from it, and builds the skill tables of the SQL side in
//! the same schema, so that both sides run on the backend named in the output.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use jobmatch_store::testing::ScratchPostgres;
use sqlx::Executor;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

/// The variable naming a PostgreSQL database to run on instead of SQLite.
const DATABASE_URL_VAR: &str = "JOBMATCH_BENCH_DATABASE_URL";

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn binary() -> PathBuf {
    std::env::var_os("JOBMATCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/jobmatch"))
}

/// Runs a `jobmatch` command on the bench's data: `database` is the PostgreSQL
/// URL, if any (the data directory still holds what is not in the database).
fn run(binary: &Path, database: Option<&str>, args: &[&str]) -> String {
    let mut command = Command::new(binary);
    if let Some(url) = database {
        command.env("JOBMATCH_DATABASE_URL", url);
    }
    let output = command
        .args(args)
        .env("JOBMATCH_LOG", "warn")
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|error| panic!("{} {args:?}: {error}", binary.display()));
    assert!(
        output.status.success(),
        "{} {args:?} failed",
        binary.display()
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Generates and imports the data set unless `dir` already holds it (on
/// SQLite; a PostgreSQL schema is fresh and always imported into).
fn prepare(binary: &Path, database: Option<&str>, dir: &Path, workers: usize, vacancies: usize) {
    let data = dir.join("data");
    let done = dir.join(format!("imported-{workers}-{vacancies}"));
    if done.exists() && database.is_none() {
        return;
    }
    let generated = dir.join("gen");
    let data_arg = data.to_str().expect("UTF-8 path");
    let started = Instant::now();
    run(
        binary,
        None,
        &[
            "gen",
            "--workers",
            &workers.to_string(),
            "--vacancies",
            &vacancies.to_string(),
            "--out",
            generated.to_str().expect("UTF-8 path"),
            "--as-of",
            "2026-11-01",
        ],
    );
    for kind in ["employers", "vacancies", "workers"] {
        let file = generated.join(format!("{kind}.ndjson"));
        run(
            binary,
            database,
            &[
                "import",
                kind,
                file.to_str().expect("UTF-8 path"),
                "--source",
                "gen",
                "--data-dir",
                data_arg,
            ],
        );
    }
    eprintln!(
        "generated and imported {workers} returnees and {vacancies} vacancies in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if database.is_none() {
        std::fs::write(done, "").expect("marker written");
    }
}

/// The tables a team would query instead, on the backend the server runs on.
enum Naive {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Naive {
    async fn vacancy_ids(&self, limit: usize) -> Vec<String> {
        let statement =
            "SELECT DISTINCT vacancy_id FROM vacancy_skills ORDER BY vacancy_id LIMIT $1";
        let rows: Vec<String> = match self {
            Naive::Sqlite(pool) => {
                sqlx::query_scalar(statement)
                    .bind(limit as i64)
                    .fetch_all(pool)
                    .await
            }
            Naive::Postgres(pool) => {
                sqlx::query_scalar(statement)
                    .bind(limit as i64)
                    .fetch_all(pool)
                    .await
            }
        }
        .expect("vacancy ids");
        rows
    }

    /// [`NAIVE_TOP_20`] for one vacancy: how many workers it found.
    async fn top_20(&self, vacancy_id: &str) -> usize {
        match self {
            Naive::Sqlite(pool) => sqlx::query(NAIVE_TOP_20)
                .bind(vacancy_id)
                .fetch_all(pool)
                .await
                .map(|rows| rows.len()),
            Naive::Postgres(pool) => sqlx::query(NAIVE_TOP_20)
                .bind(vacancy_id)
                .fetch_all(pool)
                .await
                .map(|rows| rows.len()),
        }
        .expect("naive query")
    }
}

/// The skill tables in the PostgreSQL schema the server runs on, filled from
/// its stored documents.
async fn naive_tables_postgres(url: &str) -> Naive {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("naive database");
    let statements = [
        "CREATE TABLE worker_skills AS SELECT w.id AS worker_id, s->>'skill' AS skill, (s->>'level')::int AS level \
         FROM workers w, jsonb_array_elements(w.body::jsonb -> 'skills') s",
        "CREATE TABLE vacancy_skills AS SELECT v.id AS vacancy_id, s->>'skill' AS skill, (s->>'min_level')::int AS min_level \
         FROM vacancies v, jsonb_array_elements(v.body::jsonb -> 'required_skills') s WHERE v.status = 'open'",
        "CREATE INDEX worker_skills_by_skill ON worker_skills (skill, worker_id)",
        "CREATE INDEX vacancy_skills_by_vacancy ON vacancy_skills (vacancy_id)",
        "ANALYZE worker_skills",
        "ANALYZE vacancy_skills",
    ];
    for statement in statements {
        pool.execute(statement).await.expect("naive table built");
    }
    Naive::Postgres(pool)
}

/// The tables a team would query instead, filled from the stored documents.
async fn naive_tables(dir: &Path) -> Naive {
    let path = dir.join("naive.db");
    let fresh = !path.exists();
    let options = SqliteConnectOptions::from_str(&format!("sqlite:{}", path.display()))
        .expect("URL")
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("naive database");
    if fresh {
        let served = dir.join("data").join("jobmatch.db");
        let statements = [
            format!("ATTACH DATABASE '{}' AS served", served.display()),
            "CREATE TABLE worker_skills (worker_id TEXT NOT NULL, skill TEXT NOT NULL, level INTEGER NOT NULL)".to_string(),
            "CREATE TABLE vacancy_skills (vacancy_id TEXT NOT NULL, skill TEXT NOT NULL, min_level INTEGER NOT NULL)".to_string(),
            "INSERT INTO worker_skills SELECT w.id, json_extract(s.value, '$.skill'), json_extract(s.value, '$.level') \
             FROM served.workers w, json_each(w.body, '$.skills') s".to_string(),
            "INSERT INTO vacancy_skills SELECT v.id, json_extract(s.value, '$.skill'), json_extract(s.value, '$.min_level') \
             FROM served.vacancies v, json_each(v.body, '$.required_skills') s WHERE v.status = 'open'".to_string(),
            "CREATE INDEX worker_skills_by_skill ON worker_skills (skill, worker_id)".to_string(),
            "CREATE INDEX vacancy_skills_by_vacancy ON vacancy_skills (vacancy_id)".to_string(),
            "ANALYZE".to_string(),
            "DETACH DATABASE served".to_string(),
        ];
        let mut connection = pool.acquire().await.expect("connection");
        for statement in statements {
            connection
                .execute(sqlx::AssertSqlSafe(statement))
                .await
                .expect("naive table built");
        }
    }
    Naive::Sqlite(pool)
}

/// Vacancies measured each way in a row (see the measuring loop).
const BLOCK: usize = 20;

/// The straightforward query: workers sharing the most required skills.
const NAIVE_TOP_20: &str = "SELECT ws.worker_id, COUNT(*) AS shared \
     FROM vacancy_skills v JOIN worker_skills ws ON ws.skill = v.skill \
     WHERE v.vacancy_id = $1 \
     GROUP BY ws.worker_id ORDER BY shared DESC, ws.worker_id LIMIT 20";

struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(binary: &Path, database: Option<&str>, data: &Path) -> Server {
    use std::io::{BufRead, BufReader};
    let mut command = Command::new(binary);
    if let Some(url) = database {
        command.env("JOBMATCH_DATABASE_URL", url);
    }
    let mut child = command
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("JOBMATCH_LOG", "warn")
        .env("JOBMATCH_RATE_LIMIT_PER_MINUTE", "100000000")
        .env("JOBMATCH_RATE_LIMIT_BURST", "10000000")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("server starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let address = loop {
        let line = lines.next().expect("address printed").expect("stdout");
        if let Some(address) = line.strip_prefix("jobmatch is listening on ") {
            break address.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server { child, address }
}

fn percentile(sorted: &[Duration], share: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * share).round() as usize]
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// One GET over the kept-alive connection: how long until the whole body was
/// read, and the body.
async fn timed_get(client: &reqwest::Client, url: &str, key: Option<&str>) -> (Duration, Vec<u8>) {
    let began = Instant::now();
    let mut request = client.get(url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.expect("sent");
    assert_eq!(response.status(), 200, "{url}");
    let body = response.bytes().await.expect("body");
    let took = began.elapsed();
    (took, body.to_vec())
}

fn main() {
    let workers = setting("CANDIDATES_HTTP_WORKERS", 200_000);
    let vacancies = setting("CANDIDATES_HTTP_VACANCIES", 10_000);
    let rounds = setting("CANDIDATES_HTTP_QUERIES", 300);
    let kept = std::env::var_os("CANDIDATES_HTTP_DIR").map(PathBuf::from);
    let temporary = tempfile::tempdir().expect("temporary directory");
    let dir = kept.unwrap_or_else(|| temporary.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("bench directory");
    let binary = binary();
    assert!(
        binary.exists(),
        "{} is missing: cargo build --release -p jobmatch",
        binary.display()
    );
    // One thread for the client and its connection task: a multi-threaded runtime
    // would add a wake-up across threads to every request (sqlx runs SQLite on its
    // own thread either way).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let scratch = std::env::var(DATABASE_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .map(|url| {
            runtime
                .block_on(ScratchPostgres::create(&url))
                .unwrap_or_else(|error| panic!("{DATABASE_URL_VAR}: {error}"))
        });
    let database = scratch.as_ref().map(ScratchPostgres::url);
    let backend = if database.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    eprintln!("backend: {backend}");
    prepare(&binary, database, &dir, workers, vacancies);
    let key = run(
        &binary,
        database,
        &[
            "keys",
            "create",
            "--role",
            "staff",
            "--name",
            "bench",
            "--data-dir",
            dir.join("data").to_str().expect("UTF-8 path"),
        ],
    )
    .lines()
    .last()
    .expect("key printed")
    .trim()
    .to_string();

    runtime.block_on(async {
        let naive = match database {
            Some(url) => naive_tables_postgres(url).await,
            None => naive_tables(&dir).await,
        };
        let ids = naive.vacancy_ids(rounds).await;
        assert!(!ids.is_empty(), "no open vacancy with required skills");

        let started = Instant::now();
        let server = serve(&binary, database, &dir.join("data"));
        let client = reqwest::Client::new();
        loop {
            let ready = client
                .get(format!("{}/readyz", server.address))
                .send()
                .await
                .is_ok_and(|response| response.status() == 200);
            if ready {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!(
            "server ready in {:.2} s with {workers} returnees",
            started.elapsed().as_secs_f64()
        );
        // The standing candidate lists are built in the background after start-up;
        // a server that has run for a while has them all.
        let building = Instant::now();
        loop {
            let metrics = client
                .get(format!("{}/metrics", server.address))
                .send()
                .await
                .expect("metrics")
                .text()
                .await
                .expect("metrics text");
            let gauge = |name: &str| -> Option<i64> {
                metrics
                    .lines()
                    .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            };
            let (listed, open) = (
                gauge("jobmatch_matching_standing_lists "),
                gauge("jobmatch_matching_open_vacancies "),
            );
            if listed.is_some() && listed == open {
                eprintln!(
                    "standing lists of {} open vacancies built in {:.1} s more",
                    open.unwrap_or(0),
                    building.elapsed().as_secs_f64()
                );
                break;
            }
            assert!(
                building.elapsed() < Duration::from_secs(1800),
                "standing lists not built: {listed:?} of {open:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }

        // Warm both sides (connection, caches) on a few vacancies first.
        for id in ids.iter().take(10) {
            let url = format!("{}/v1/vacancies/{id}/candidates?limit=20", server.address);
            client
                .get(&url)
                .bearer_auth(&key)
                .send()
                .await
                .expect("warm-up");
            naive.top_20(id).await;
        }
        let mut http = Vec::with_capacity(ids.len());
        let mut ranked = Vec::with_capacity(ids.len());
        let mut floor = Vec::with_capacity(ids.len());
        let mut sql = Vec::with_capacity(ids.len());
        // In blocks of a few vacancies, each way in turn: every way runs warm, as a
        // server or a database answering a stream of requests would, and drift in
        // the machine's speed reaches all of them alike. (Alternating query by
        // query made each HTTP request follow a scan of megabytes of SQLite pages
        // that had pushed the server's data out of the processor caches.)
        for block in ids.chunks(BLOCK) {
            let mut bodies = Vec::with_capacity(block.len());
            for id in block {
                let url = format!("{}/v1/vacancies/{id}/candidates?limit=20", server.address);
                let (took, body) = timed_get(&client, &url, Some(&key)).await;
                http.push(took);
                assert!(!body.is_empty());
                bodies.push(body);
            }
            // Weights given in the request, even the default ones, are always
            // ranked from the posting lists: the same answer without the list.
            for (id, body) in block.iter().zip(&bodies) {
                let url = format!(
                    "{}/v1/vacancies/{id}/candidates?limit=20&weights=skills:0.45",
                    server.address
                );
                let (took, ranked_body) = timed_get(&client, &url, Some(&key)).await;
                ranked.push(took);
                assert_eq!(&ranked_body, body, "{url}: the ranked answer differs");
            }
            for _ in block {
                let url = format!("{}/healthz", server.address);
                floor.push(timed_get(&client, &url, None).await.0);
            }
            for id in block {
                let began = Instant::now();
                let found = naive.top_20(id).await;
                sql.push(began.elapsed());
                assert!(found <= 20);
            }
        }
        http.sort();
        ranked.sort();
        floor.sort();
        sql.sort();
        println!(
            "candidates for {} vacancies, {workers} returnees, {vacancies} vacancies, on {backend} (ms):",
            ids.len()
        );
        let naive_name = format!("{backend} GROUP BY skill overlap");
        println!("{:<48} {:>8} {:>8} {:>8}", "", "p50", "p90", "p99");
        for (name, times) in [
            ("HTTP GET /v1/vacancies/{id}/candidates", &http),
            ("  the same, ranked (weights in the request)", &ranked),
            ("HTTP GET /healthz (no work: the floor)", &floor),
            (naive_name.as_str(), &sql),
        ] {
            println!(
                "{name:<48} {:>8.3} {:>8.3} {:>8.3}",
                millis(percentile(times, 0.5)),
                millis(percentile(times, 0.9)),
                millis(percentile(times, 0.99))
            );
        }
        println!(
            "ratio of medians, SQL / HTTP: {:.1} (ranked: {:.1})",
            millis(percentile(&sql, 0.5)) / millis(percentile(&http, 0.5)),
            millis(percentile(&sql, 0.5)) / millis(percentile(&ranked, 0.5))
        );
        drop(server);
        if let Naive::Postgres(pool) = naive {
            pool.close().await;
        }
        if let Some(scratch) = &scratch {
            scratch.drop_schema().await;
        }
    });
}
