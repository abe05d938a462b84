//! The search index survives a crash while indexing: writers post and close
//! vacancies through a real `jobmatch serve` while its follower indexes them, the
//! process is killed with SIGKILL mid-stream, and after a restart search agrees
//! with the database: every open vacancy stored is found, and no closed one is.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use jobmatch_store::{Entity, ListFilter, Store};
use serde_json::{Value, json};

mod common;
use common::{Server, create_key, wait_until_ready};

/// Writes acknowledged before the kill: enough that the follower is busy indexing
/// (it commits about every 100 ms) when the plug is pulled, and within one key's
/// burst allowance (120), so the writers are rarely slowed by the rate limit.
const ACKNOWLEDGED_BEFORE_KILL: usize = 100;

/// Sends `request` again while the server answers 429, after its `Retry-After`;
/// `None` when the server is gone.
async fn send_admitted(request: reqwest::RequestBuilder) -> Option<reqwest::Response> {
    loop {
        let attempt = request.try_clone().expect("request without a stream body");
        let response = attempt.send().await.ok()?;
        if response.status() != 429 {
            return Some(response);
        }
        let seconds = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok())
            .unwrap_or(1);
        tokio::time::sleep(Duration::from_secs(seconds)).await;
    }
}

/// 4 writers post vacancies and close every third one until the server dies.
async fn write_until_killed(address: &str, key: &str, employer_id: &str, server: Server) {
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut writers = Vec::new();
    for writer in 0..4 {
        let client = client.clone();
        let acknowledged = acknowledged.clone();
        let address = address.to_string();
        let key = key.to_string();
        let employer_id = employer_id.to_string();
        writers.push(tokio::spawn(async move {
            for sequence in 0.. {
                if Instant::now() > deadline {
                    break;
                }
                let body = json!({
                    "employer_id": employer_id,
                    "title": format!("Crash test welder {writer}-{sequence}"),
                    "sector": "construction",
                    "province_code": "12",
                });
                let created = send_admitted(
                    client
                        .post(format!("{address}/v1/vacancies"))
                        .bearer_auth(&key)
                        .json(&body),
                )
                .await;
                let Some(created) = created else { break };
                assert_eq!(created.status(), 201, "unexpected status");
                let Ok(created) = created.json::<Value>().await else {
                    break;
                };
                acknowledged.fetch_add(1, Ordering::SeqCst);
                if sequence % 3 == 0 {
                    let id = created["id"].as_str().expect("created vacancy has an id");
                    let closed = send_admitted(
                        client
                            .delete(format!("{address}/v1/vacancies/{id}"))
                            .bearer_auth(&key),
                    )
                    .await;
                    match closed {
                        Some(closed) => assert_eq!(closed.status(), 200, "close refused"),
                        None => break,
                    }
                    acknowledged.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    while acknowledged.load(Ordering::SeqCst) < ACKNOWLEDGED_BEFORE_KILL
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill_hard();
    for writer in writers {
        writer.await.expect("writer task finished");
    }
}

/// Every vacancy id an open-vacancy search lists, page by page.
async fn searched_open_vacancies(address: &str, key: &str) -> (BTreeSet<String>, u64) {
    let client = reqwest::Client::new();
    let mut found = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut parameters = vec![("q", "crash test welder"), ("limit", "100")];
        if let Some(cursor) = &cursor {
            parameters.push(("cursor", cursor));
        }
        let url = reqwest::Url::parse_with_params(&format!("{address}/v1/vacancies"), &parameters)
            .expect("valid url");
        let response = client
            .get(url)
            .bearer_auth(key)
            .send()
            .await
            .expect("restarted server answers");
        assert_eq!(response.status(), 200, "search after restart");
        let page: Value = response.json().await.expect("json");
        let total = page["total"].as_u64().expect("total");
        for item in page["items"].as_array().expect("items") {
            assert_eq!(item["status"], "open", "{item}");
            found.insert(item["id"].as_str().expect("id").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return (found, total),
        }
    }
}

/// Every vacancy stored, split by status into (open, not open).
async fn stored_vacancies(database_url: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let store = Store::connect(database_url).await.expect("database opens");
    let mut open = BTreeSet::new();
    let mut not_open = BTreeSet::new();
    let mut after_id = None;
    loop {
        let filter = ListFilter {
            after_id: after_id.clone(),
            limit: 500,
            ..ListFilter::default()
        };
        let page = store.list(Entity::Vacancy, &filter).await.expect("list");
        let Some(last) = page.last() else { break };
        after_id = Some(last.id.clone());
        for record in page {
            if record.columns.status.as_deref() == Some("open") {
                open.insert(record.id);
            } else {
                not_open.insert(record.id);
            }
        }
    }
    store.close().await;
    (open, not_open)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sigkill_while_indexing_search_agrees_with_the_database() {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let database_url = format!("sqlite:{}", data_dir.path().join("crash.db").display());
    let key = create_key(data_dir.path(), &database_url);
    let server = Server::start(data_dir.path(), &database_url);
    let address = server.address.clone();
    wait_until_ready(&address, Duration::from_secs(10)).await;
    let employer: Value = reqwest::Client::new()
        .post(format!("{address}/v1/employers"))
        .bearer_auth(&key)
        .json(&json!({"name": "Crash Test Steel", "sector": "construction", "province_code": "12"}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let employer_id = employer["id"].as_str().expect("employer created");
    write_until_killed(&address, &key, employer_id, server).await;

    let restarted = Server::start(data_dir.path(), &database_url);
    wait_until_ready(&restarted.address, Duration::from_secs(30)).await;
    let (found, total) = searched_open_vacancies(&restarted.address, &key).await;
    restarted.kill_hard();
    let (open, not_open) = stored_vacancies(&database_url).await;

    let _ = writeln!(
        std::io::stderr(),
        "search crash: {} open and {} closed vacancies stored; search found {}",
        open.len(),
        not_open.len(),
        found.len()
    );
    assert!(
        open.len() + not_open.len() >= ACKNOWLEDGED_BEFORE_KILL / 2,
        "too few writes before the kill to test anything"
    );
    assert!(!not_open.is_empty(), "some vacancies were closed");
    let missing: Vec<&String> = open.difference(&found).collect();
    assert!(
        missing.is_empty(),
        "open vacancies search does not find: {missing:?}"
    );
    let closed_found: Vec<&String> = found.intersection(&not_open).collect();
    assert!(
        closed_found.is_empty(),
        "closed vacancies search still finds: {closed_found:?}"
    );
    assert_eq!(found, open);
    assert_eq!(total, open.len() as u64);
}
