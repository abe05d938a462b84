//! Several `serve` processes sharing one PostgreSQL database, each with its own search
//! index: a vacancy written through one is found by another's search within a
//! second, and once closed it is gone from that search within a second. Two given
//! the same data directory: the second refuses to start and says why.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{Server, create_key, wait_until_ready};

/// How long the other server may take, by the promise.
const VISIBLE_WITHIN: Duration = Duration::from_secs(1);

/// Polls `server`'s search for `query` until `wanted` says the page is as expected;
/// returns how long that took after `since`, or panics after [`VISIBLE_WITHIN`].
async fn poll_search(
    client: &reqwest::Client,
    server: &Server,
    key: &str,
    query: &str,
    since: Instant,
    wanted: impl Fn(&Value) -> bool,
    what: &str,
) -> Duration {
    loop {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/v1/vacancies", server.address),
            [("q", query)],
        )
        .expect("valid url");
        let response = client.get(url).bearer_auth(key).send().await.expect("sent");
        assert_eq!(response.status(), 200, "search on the other server");
        let page: Value = response.json().await.expect("json");
        if wanted(&page) {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < VISIBLE_WITHIN,
            "the other server's search did not see the {what} within {VISIBLE_WITHIN:?}: {page}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn lists(page: &Value, vacancy_id: &str) -> bool {
    page["items"]
        .as_array()
        .is_some_and(|items| items.iter().any(|item| item["id"] == vacancy_id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vacancy_written_through_one_server_is_searchable_on_another_within_a_second() {
    let Some(scratch) = jobmatch_store::testing::ScratchPostgres::from_env().await else {
        jobmatch_store::testing::report_skipped("search replica test");
        return;
    };
    let writer_dir = tempfile::tempdir().expect("temporary directory");
    let reader_dir = tempfile::tempdir().expect("temporary directory");
    let key = create_key(writer_dir.path(), scratch.url());
    let writer = Server::start(writer_dir.path(), scratch.url());
    let reader = Server::start(reader_dir.path(), scratch.url());
    for server in [&writer, &reader] {
        wait_until_ready(&server.address, Duration::from_secs(10)).await;
    }
    let client = reqwest::Client::new();

    let employer: Value = client
        .post(format!("{}/v1/employers", writer.address))
        .bearer_auth(&key)
        .json(&json!({"name": "Replica Steel", "sector": "construction", "province_code": "12"}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let created = client
        .post(format!("{}/v1/vacancies", writer.address))
        .bearer_auth(&key)
        .json(&json!({
            "employer_id": employer["id"], "title": "Scaffolder for the replica site",
            "sector": "construction", "province_code": "12"
        }))
        .send()
        .await
        .expect("sent");
    let written_at = Instant::now();
    assert_eq!(created.status(), 201);
    let vacancy: Value = created.json().await.expect("json");
    let vacancy_id = vacancy["id"].as_str().expect("vacancy created").to_string();

    let found_after = poll_search(
        &client,
        &reader,
        &key,
        "scaffolder",
        written_at,
        |page| lists(page, &vacancy_id),
        "new vacancy",
    )
    .await;

    let closed = client
        .delete(format!("{}/v1/vacancies/{vacancy_id}", writer.address))
        .bearer_auth(&key)
        .send()
        .await
        .expect("sent");
    let closed_at = Instant::now();
    assert_eq!(closed.status(), 200);
    let gone_after = poll_search(
        &client,
        &reader,
        &key,
        "scaffolder",
        closed_at,
        |page| !lists(page, &vacancy_id),
        "closing",
    )
    .await;

    writer.kill_hard();
    reader.kill_hard();
    scratch.drop_schema().await;
    // Written past the test harness's capture, so the figures show in CI logs.
    let _ = writeln!(
        std::io::stderr(),
        "search replicas: a new vacancy found on the other server after {} ms, a closed one gone after {} ms",
        found_after.as_millis(),
        gone_after.as_millis()
    );
}

#[tokio::test]
async fn a_second_server_on_the_same_data_directory_says_each_replica_needs_its_own() {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let database_url = format!("sqlite:{}", data_dir.path().join("jobmatch.db").display());
    let first = Server::start(data_dir.path(), &database_url);
    wait_until_ready(&first.address, Duration::from_secs(10)).await;

    let second = std::process::Command::new(env!("CARGO_BIN_EXE_jobmatch"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir.path())
        .env("JOBMATCH_DATABASE_URL", &database_url)
        .env("JOBMATCH_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the second server runs");
    first.kill_hard();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        !second.status.success(),
        "the second server exits: {stderr}"
    );
    let search_dir = data_dir.path().join("search");
    for expected in [
        format!(
            "the search index in {} is in use by another process",
            search_dir.display()
        ),
        "each replica needs its own --data-dir".to_string(),
    ] {
        assert!(stderr.contains(&expected), "{expected:?} in {stderr}");
    }
}
