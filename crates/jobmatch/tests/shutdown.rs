//! SIGTERM drains: requests in flight when the signal arrives are answered and
//! their writes kept, then the process exits cleanly.
//!
//! "In flight" is made certain rather than left to timing. Each request is
//! sent with `Expect: 100-continue` and its body held back until the server
//! has answered `100 Continue`, which it does only for a connection it is
//! already serving. The bodies go out only once the server refuses new
//! connections, so the signal has been handled by then. (A connection still
//! waiting in the listen queue when the signal comes is reset; that is
//! actix-server's documented behaviour and what a load balancer retries.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{Server, create_key};

const REQUESTS: usize = 3;
const PROFILES_PER_REQUEST: usize = 1_000;
/// How long the bodies are held once the server refuses new connections: a
/// drain that gave up sooner than this would cut the requests off.
const HELD_AFTER_SIGNAL: Duration = Duration::from_secs(2);

fn batch_body(request: usize) -> Vec<u8> {
    let items: Vec<Value> = (0..PROFILES_PER_REQUEST)
        .map(|item| {
            json!({
                "full_name": format!("Shutdown test {request}-{item}"),
                "province_code": "15",
                "external_id": format!("shutdown-{request}-{item}")
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "items": items })).expect("JSON")
}

/// A batch request whose headers the server has read and whose body it is
/// waiting for.
struct HeldRequest {
    stream: TcpStream,
    body: Vec<u8>,
}

impl HeldRequest {
    fn open(host: &str, key: &str, body: Vec<u8>) -> HeldRequest {
        let mut stream = TcpStream::connect(host).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("read timeout");
        let head = format!(
            "POST /v1/workers/batch HTTP/1.1\r\nHost: {host}\r\n\
             Authorization: Bearer {key}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).expect("send head");
        let interim = read_until_blank_line(&mut stream);
        assert!(
            interim.starts_with("HTTP/1.1 100"),
            "the server takes the request before its body: {interim}"
        );
        HeldRequest { stream, body }
    }

    /// Sends the body and returns the status of the final answer.
    fn finish(mut self) -> u16 {
        self.stream.write_all(&self.body).expect("send body");
        let mut answer = String::new();
        self.stream
            .read_to_string(&mut answer)
            .expect("the in-flight request is answered, not cut off");
        answer
            .split(' ')
            .nth(1)
            .and_then(|status| status.parse().ok())
            .unwrap_or_else(|| panic!("an HTTP answer: {answer:?}"))
    }
}

fn read_until_blank_line(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = stream.read(&mut byte).expect("read the interim answer");
        assert!(read == 1, "connection closed after {head:?}");
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("ASCII head")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_requests_in_flight_finish_and_keeps_their_writes() {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite:{}", data_dir.path().join("shutdown.db").display());
    // A key of its own for each request: one key may have only two batches
    // in flight.
    let keys: Vec<String> = (0..REQUESTS)
        .map(|_| create_key(data_dir.path(), &url))
        .collect();
    let server = Server::start(data_dir.path(), &url);
    let host = server
        .address
        .strip_prefix("http://")
        .expect("an http address")
        .to_string();

    let held: Vec<HeldRequest> = {
        let (host, keys) = (host.clone(), keys.clone());
        tokio::task::spawn_blocking(move || {
            (0..REQUESTS)
                .map(|request| HeldRequest::open(&host, &keys[request], batch_body(request)))
                .collect()
        })
        .await
        .expect("requests opened")
    };

    let exit = tokio::task::spawn_blocking(move || server.terminate());

    let answers = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&host).is_ok() {
            assert!(
                Instant::now() < deadline,
                "the server still accepts connections 10 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(HELD_AFTER_SIGNAL);
        held.into_iter()
            .map(HeldRequest::finish)
            .collect::<Vec<_>>()
    })
    .await
    .expect("requests finished");

    assert_eq!(
        answers,
        vec![200; REQUESTS],
        "every held request is answered"
    );
    assert!(
        exit.await.expect("terminate"),
        "exit status 0 after draining"
    );

    // Every profile of every answered batch is stored.
    let restarted = Server::start(data_dir.path(), &url);
    let page: Value = reqwest::Client::new()
        .get(format!("{}/v1/statistics", restarted.address))
        .bearer_auth(&keys[0])
        .send()
        .await
        .expect("statistics")
        .json()
        .await
        .expect("JSON");
    restarted.kill_hard();
    let stored: usize = page["workers"]
        .as_array()
        .expect("worker counts")
        .iter()
        .filter_map(|count| count["count"].as_u64())
        .sum::<u64>() as usize;
    assert_eq!(stored, REQUESTS * PROFILES_PER_REQUEST, "{page}");
}
