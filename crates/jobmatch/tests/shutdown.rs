//! SIGTERM drains: requests in flight when the signal arrives are answered and
//! their writes kept, then the process exits cleanly.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{Server, create_key};

fn batch(request: usize) -> Value {
    let items: Vec<Value> = (0..1_000)
        .map(|item| {
            json!({
                "full_name": format!("Shutdown test {request}-{item}"),
                "province_code": "15",
                "external_id": format!("shutdown-{request}-{item}")
            })
        })
        .collect();
    json!({ "items": items })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_requests_in_flight_finish_and_keeps_their_writes() {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite:{}", data_dir.path().join("shutdown.db").display());
    let key = create_key(data_dir.path(), &url);
    let server = Server::start(data_dir.path(), &url);
    let address = server.address.clone();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");

    // Batches of 1,000 profiles take long enough to still be running when the
    // signal comes.
    let mut requests = Vec::new();
    for request in 0..4 {
        let client = client.clone();
        let url = format!("{address}/v1/workers/batch");
        let key = key.clone();
        requests.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(key)
                .json(&batch(request))
                .send()
                .await;
            (
                response.map(|response| response.status().as_u16()),
                Instant::now(),
            )
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    let signalled = Instant::now();
    let exited_cleanly = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .expect("terminate");

    let mut answered_after_signal = 0;
    for request in requests {
        let (status, answered_at) = request.await.expect("request task");
        assert_eq!(
            status.expect("in-flight request answered, not cut off"),
            200
        );
        if answered_at > signalled {
            answered_after_signal += 1;
        }
    }
    assert!(exited_cleanly, "exit status 0 after draining");
    assert!(
        answered_after_signal > 0,
        "no request was still in flight at SIGTERM: the test proved nothing"
    );

    // Every profile of every answered batch is stored.
    let restarted = Server::start(data_dir.path(), &url);
    let page: Value = client
        .get(format!("{}/v1/statistics", restarted.address))
        .bearer_auth(&key)
        .send()
        .await
        .expect("statistics")
        .json()
        .await
        .expect("JSON");
    restarted.kill_hard();
    let stored: i64 = page["workers"]
        .as_array()
        .expect("worker counts")
        .iter()
        .filter_map(|count| count["count"].as_i64())
        .sum();
    assert_eq!(stored, 4_000, "{page}");
}
