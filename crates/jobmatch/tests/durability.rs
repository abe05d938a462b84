//! No acknowledged write is lost: writers hammer a real `jobmatch serve`, the
//! process is killed with SIGKILL mid-stream, and after a restart every write that
//! was answered 201 is there. Runs on SQLite always, and on PostgreSQL when
//! `JOBMATCH_TEST_POSTGRES_URL` is set.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{Server, create_key};

fn worker_body(writer: usize, sequence: usize) -> Value {
    json!({
        "full_name": format!("Durability writer {writer} record {sequence}"),
        "province_code": "22",
        "expected_wage_usd": 200 + sequence % 100,
        "external_id": format!("durability-{writer}-{sequence}")
    })
}

/// 8 writers post profiles until the server dies; returns the acknowledged ids.
async fn write_until_killed(address: &str, key: &str, server: Server) -> Vec<String> {
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut writers = Vec::new();
    for writer in 0..8 {
        let client = client.clone();
        let acknowledged = acknowledged.clone();
        let url = format!("{address}/v1/workers");
        let key = key.to_string();
        writers.push(tokio::spawn(async move {
            for sequence in 0.. {
                if Instant::now() > deadline {
                    break;
                }
                let response = client
                    .post(&url)
                    .bearer_auth(&key)
                    .json(&worker_body(writer, sequence))
                    .send()
                    .await;
                match response {
                    Ok(response) if response.status() == 201 => {
                        let body: Value = match response.json().await {
                            Ok(body) => body,
                            // The body was cut off by the kill: not acknowledged.
                            Err(_) => break,
                        };
                        let id = body["id"]
                            .as_str()
                            .expect("created record has an id")
                            .to_string();
                        acknowledged.lock().expect("not poisoned").push(id);
                    }
                    Ok(response) => panic!("unexpected status {}", response.status()),
                    Err(_) => break,
                }
            }
        }));
    }
    // Let the writers get going, then pull the plug while requests are in flight.
    while acknowledged.lock().expect("not poisoned").len() < 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill_hard();
    for writer in writers {
        writer.await.expect("writer task finished");
    }
    Arc::try_unwrap(acknowledged)
        .expect("writers are done")
        .into_inner()
        .expect("not poisoned")
}

async fn no_acknowledged_write_is_lost(database_url: &str) {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let key = create_key(data_dir.path(), database_url);
    let server = Server::start(data_dir.path(), database_url);
    let address = server.address.clone();
    let acknowledged = write_until_killed(&address, &key, server).await;
    assert!(
        acknowledged.len() >= 200,
        "only {} writes were acknowledged",
        acknowledged.len()
    );

    let restarted = Server::start(data_dir.path(), database_url);
    let client = reqwest::Client::new();
    let mut missing = Vec::new();
    for id in &acknowledged {
        let response = client
            .get(format!("{}/v1/workers/{id}", restarted.address))
            .bearer_auth(&key)
            .send()
            .await
            .expect("restarted server answers");
        if response.status() != 200 {
            missing.push(id.clone());
        }
    }
    restarted.kill_hard();
    let mut stderr = std::io::stderr();
    // Written past the test harness's capture, so the figure shows in CI logs.
    let _ = writeln!(
        stderr,
        "durability: 8 writers, {} acknowledged writes, {} lost",
        acknowledged.len(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "{} acknowledged writes were lost: {missing:?}",
        missing.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_write_is_lost_after_sigkill_on_sqlite() {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite:{}", data_dir.path().join("durability.db").display());
    no_acknowledged_write_is_lost(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_write_is_lost_after_sigkill_on_postgres() {
    let Some(scratch) = jobmatch_store::testing::ScratchPostgres::from_env().await else {
        jobmatch_store::testing::report_skipped("durability test");
        return;
    };
    no_acknowledged_write_is_lost(scratch.url()).await;
    scratch.drop_schema().await;
}
