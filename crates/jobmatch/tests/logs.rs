//! Nothing a client writes in a body or a query string reaches the log: a real
//! `jobmatch serve`, logging at debug level, is sent refused requests carrying a
//! name, a phone number and a date of birth in every place a client can put
//! them; its log then holds each request (by request id) and none of the values.

use reqwest::Method;
use serde_json::{Value, json};

// This test uses only part of the shared helpers.
#[allow(dead_code)]
mod common;
use common::{Server, create_key};

/// Distinctive enough that no other log text contains them by chance.
const NAME: &str = "Logcheck Sreypov";
const PHONE: &str = "85512777888";
const BIRTH_DATE: &str = "1987-11-23";

fn skill_id() -> String {
    jobmatch_domain::Reference::embedded().taxonomy.skills()[0]
        .id
        .clone()
}

/// A profile with `field` set to `value`; every other field is valid.
fn worker_with(field: &str, value: Value) -> Value {
    let mut worker = json!({
        "full_name": NAME,
        "sex": "female",
        "date_of_birth": BIRTH_DATE,
        "phone": format!("+{PHONE}"),
        "province_code": "22",
        "skills": [{"skill": skill_id(), "level": 3}],
        "expected_wage_usd": 230
    });
    worker[field] = value;
    worker
}

#[tokio::test]
async fn refused_requests_leave_no_personal_data_in_the_log() {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let database_url = format!("sqlite:{}", data_dir.path().join("logs.db").display());
    let key = create_key(data_dir.path(), &database_url);
    let log_path = data_dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let server = Server::start_logging_to(data_dir.path(), &database_url, "debug", log);
    let client = reqwest::Client::new();
    let query = format!(
        "full_name={}&phone={PHONE}&date_of_birth={BIRTH_DATE}",
        NAME.replace(' ', "+")
    );

    let requests: Vec<(Method, String, Option<Value>)> = vec![
        // The name where an enum value belongs, the phone as a number.
        (
            Method::POST,
            "/v1/workers".into(),
            Some(worker_with("sex", json!(NAME))),
        ),
        (
            Method::POST,
            "/v1/workers".into(),
            Some(worker_with(
                "phone",
                json!(PHONE.parse::<u64>().expect("digits")),
            )),
        ),
        (
            Method::POST,
            "/v1/workers".into(),
            Some(worker_with(
                "date_of_birth",
                json!(format!("{BIRTH_DATE}x")),
            )),
        ),
        (
            Method::POST,
            "/v1/workers/batch".into(),
            Some(json!({"items": [worker_with("sex", json!(PHONE))]})),
        ),
        // In the query string, where no parameter of that name exists or the
        // value is refused.
        (
            Method::POST,
            format!("/v1/workers?{query}"),
            Some(json!({"full_name": NAME})),
        ),
        (Method::GET, format!("/v1/workers?{query}"), None),
        (
            Method::GET,
            format!("/v1/vacancies?q={PHONE}&province_code={PHONE}"),
            None,
        ),
        (
            Method::GET,
            format!("/v1/workers?cursor={PHONE}&limit={PHONE}"),
            None,
        ),
        (Method::GET, format!("/v1/employers?api_key={PHONE}"), None),
    ];
    let mut request_ids = Vec::new();
    for (method, path, body) in requests {
        let mut request = client
            .request(method.clone(), format!("{}{path}", server.address))
            .bearer_auth(&key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("answered");
        // Most are refused; a batch reports its refused items in a 200, and
        // parameters a list does not know are ignored.
        assert!(
            !response.status().is_server_error(),
            "{method} {path}: {}",
            response.status()
        );
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|id| id.to_str().ok())
            .expect("a request id")
            .to_string();
        request_ids.push(request_id);
    }
    assert!(server.terminate(), "the server stops cleanly");

    let log = std::fs::read_to_string(&log_path).expect("log readable");
    let phone_with_spaces = format!("{} {} {}", &PHONE[..3], &PHONE[3..5], &PHONE[5..]);
    for value in [
        NAME,
        "Sreypov",
        PHONE,
        &PHONE[3..],
        &phone_with_spaces,
        BIRTH_DATE,
    ] {
        let leaks: Vec<&str> = log.lines().filter(|line| line.contains(value)).collect();
        assert!(leaks.is_empty(), "{value:?} is in the log: {leaks:#?}");
    }
    // Not for want of logging: every request is there, by its id.
    for request_id in &request_ids {
        assert!(
            log.contains(request_id),
            "request {request_id} is logged:\n{log}"
        );
    }
}
