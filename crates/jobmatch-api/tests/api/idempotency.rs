//! `Idempotency-Key`: a client (a partner system, a centre's form) re-sending a write after a lost answer gets the
//! first answer, and nothing is written twice.

use jobmatch_store::Entity;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, assert_problem, employer_body, error_fields, spawn_app, vacancy_body, worker_body,
};

async fn send(app: &TestApp, key: &str, idempotency_key: &str, body: &Value) -> Response {
    app.request(Method::POST, "/v1/workers", key)
        .header("Idempotency-Key", idempotency_key)
        .json(body)
        .send()
        .await
        .expect("request sent")
}

fn replayed(response: &Response) -> Option<String> {
    response
        .headers()
        .get("idempotent-replayed")
        .map(|value| value.to_str().expect("ASCII").to_string())
}

#[tokio::test]
async fn a_create_re_sent_with_its_key_answers_the_first_answer_and_stores_once() {
    let app = spawn_app().await;
    // No external_id: without the key, a retry would register the person twice.
    let body = worker_body();
    let first = send(&app, &app.staff_key, "retry-1", &body).await;
    assert_eq!(first.status(), 201);
    assert_eq!(replayed(&first), None);
    let location = first.headers().get("location").cloned();
    let etag = first.headers().get("etag").cloned();
    let first: Value = first.json().await.expect("json");

    let again = send(&app, &app.staff_key, "retry-1", &body).await;
    assert_eq!(again.status(), 201);
    assert_eq!(replayed(&again).as_deref(), Some("true"));
    assert_eq!(again.headers().get("location").cloned(), location);
    assert_eq!(again.headers().get("etag").cloned(), etag);
    let again: Value = again.json().await.expect("json");
    assert_eq!(again, first);
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 1);

    // A new key is a new request.
    let other = send(&app, &app.staff_key, "retry-2", &body).await;
    assert_eq!(other.status(), 201);
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 2);

    // Keys belong to one API key: another client's same key is its own.
    let admin = send(&app, &app.admin_key, "retry-1", &body).await;
    assert_eq!(admin.status(), 201);
    assert_eq!(replayed(&admin), None);
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 3);
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_a_422_naming_it_and_writes_nothing() {
    let app = spawn_app().await;
    let body = worker_body();
    assert_eq!(send(&app, &app.staff_key, "k-1", &body).await.status(), 201);
    let mut changed = body.clone();
    changed["full_name"] = json!("Someone Else");
    let problem = assert_problem(send(&app, &app.staff_key, "k-1", &changed).await, 422).await;
    assert_eq!(error_fields(&problem), ["Idempotency-Key"]);
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 1);
}

#[tokio::test]
async fn a_refused_write_is_answered_the_same_way_again() {
    let app = spawn_app().await;
    let mut invalid = worker_body();
    invalid["max_travel_km"] = json!(-5);
    let first = assert_problem(send(&app, &app.staff_key, "bad-1", &invalid).await, 422).await;
    let again = send(&app, &app.staff_key, "bad-1", &invalid).await;
    // A 422 may depend on what is stored (a merge patch is validated with the
    // stored document), so it is not kept: the request runs again, wrote
    // nothing either time, and meets the same refusal.
    assert_eq!(replayed(&again), None);
    let again = assert_problem(again, 422).await;
    assert_eq!(again, first);
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 0);

    // A refusal of the request's form alone (400) is kept and replayed.
    let malformed = || {
        app.request(Method::POST, "/v1/workers", &app.staff_key)
            .header("Idempotency-Key", "bad-2")
            .header("content-type", "application/json")
            .body("{\"full_name\": ")
            .send()
    };
    let first = assert_problem(malformed().await.expect("sent"), 400).await;
    let again = malformed().await.expect("sent");
    assert_eq!(replayed(&again).as_deref(), Some("true"));
    assert_eq!(assert_problem(again, 400).await, first);
}

#[tokio::test]
async fn a_malformed_key_is_a_400_naming_the_header() {
    let app = spawn_app().await;
    let too_long = "k".repeat(256);
    for key in ["has space", "", too_long.as_str(), "tab\there"] {
        let response = app
            .request(Method::POST, "/v1/workers", &app.staff_key)
            .header("Idempotency-Key", key)
            .json(&worker_body())
            .send()
            .await
            .expect("request sent");
        let problem = assert_problem(response, 400).await;
        assert_eq!(error_fields(&problem), ["Idempotency-Key"], "{key:?}");
    }
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 0);
}

#[tokio::test]
async fn a_delete_re_sent_with_its_key_is_answered_as_the_first_time() {
    let app = spawn_app().await;
    let created: Value = app
        .post("/v1/workers", &app.staff_key, &worker_body())
        .await
        .json()
        .await
        .expect("json");
    let path = format!("/v1/workers/{}", created["id"].as_str().expect("id"));
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let response = app
            .request(Method::DELETE, &path, &app.admin_key)
            .header("Idempotency-Key", "erase-1")
            .send()
            .await
            .expect("request sent");
        statuses.push(response.status().as_u16());
    }
    // Without the key the second DELETE would be a 404.
    assert_eq!(statuses[0], statuses[1]);
    assert!(statuses[0] < 300, "{statuses:?}");
}

async fn erase(app: &TestApp, worker_id: &str) {
    let erased = app
        .request(
            Method::DELETE,
            &format!("/v1/workers/{worker_id}"),
            &app.admin_key,
        )
        .send()
        .await
        .expect("request sent");
    assert!(erased.status().is_success(), "{}", erased.status());
}

#[tokio::test]
async fn erasing_a_worker_redacts_the_kept_answer_that_held_its_profile_and_keeps_the_key() {
    let app = spawn_app().await;
    let body = worker_body();
    let created = send(&app, &app.staff_key, "register-1", &body).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("json");
    erase(&app, created["id"].as_str().expect("id")).await;

    // The first answer, with the person's name and phone, is gone, and the
    // retry of a lost answer does not register the erased person again.
    let again = send(&app, &app.staff_key, "register-1", &body).await;
    assert_eq!(replayed(&again).as_deref(), Some("true"));
    let problem = assert_problem(again, 410).await;
    assert_eq!(
        problem["detail"], "the profile this answer carried has been erased",
        "{problem}"
    );
    let name = body["full_name"].as_str().expect("name");
    assert!(!problem.to_string().contains(name), "{problem}");
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 0);
}

#[tokio::test]
async fn a_batch_re_sent_after_an_erasure_replays_its_report_and_writes_nothing_again() {
    let app = spawn_app().await;
    // No external_id: only the key tells a retry from a new batch.
    let batch = json!({"items": [worker_body(), worker_body(), worker_body()]});
    let send_batch = || {
        app.request(Method::POST, "/v1/workers/batch", &app.partner_key)
            .header("Idempotency-Key", "batch-1")
            .json(&batch)
            .send()
    };
    let first = send_batch().await.expect("sent");
    assert_eq!(first.status(), 200);
    let report: Value = first.json().await.expect("json");
    erase(&app, report["items"][1]["id"].as_str().expect("id")).await;

    // The answer was lost; the retry gets the report (it names ids only),
    // and neither the other items nor the erased person are written again.
    let again = send_batch().await.expect("sent");
    assert_eq!(again.status(), 200);
    assert_eq!(replayed(&again).as_deref(), Some("true"));
    assert_eq!(again.json::<Value>().await.expect("json"), report);
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 2);
}

/// Starts a batch with an `Idempotency-Key` whose body never ends: the server
/// holds it until the connection is dropped.
async fn start_endless_batch(
    app: &TestApp,
    api_key: &str,
    idempotency_key: &str,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let head = format!(
        "POST /v1/workers/batch HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {api_key}\r\n\
         Idempotency-Key: {idempotency_key}\r\nContent-Type: application/json\r\n\
         Content-Length: 16000000\r\n\r\n{{\"items\": ["
    );
    stream.write_all(head.as_bytes()).await.expect("written");
    stream.flush().await.expect("flushed");
    stream
}

/// The status of the answer read from `stream`.
async fn answered_status(stream: &mut tokio::net::TcpStream) -> u16 {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    let mut buffer = [0_u8; 1024];
    // A guard against a hang only: an answer comes at once, or never.
    let reading = async {
        while !head.windows(4).any(|window| window == b"\r\n\r\n") {
            let read = stream.read(&mut buffer).await.expect("read");
            assert!(read > 0, "closed without an answer");
            head.extend_from_slice(&buffer[..read]);
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), reading)
        .await
        .expect("answered before the body was sent");
    let head = String::from_utf8_lossy(&head);
    head.split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {head}"))
}

#[tokio::test]
async fn a_key_that_may_not_send_batches_is_refused_before_its_body_is_read() {
    let app = spawn_app().await;
    let employer = app.create_employer().await;
    let employer_key = app.employer_key(employer["id"].as_str().expect("id")).await;
    // The 16 MB body is never sent: the refusal comes without it.
    let mut stream = start_endless_batch(&app, &employer_key, "batch-1").await;
    assert_eq!(answered_status(&mut stream).await, 403);
}

#[tokio::test]
async fn a_key_with_two_keyed_batches_in_flight_is_told_to_retry_a_third() {
    let app = spawn_app().await;
    let (refused, _held) =
        crate::helpers::third_batch_while_two_are_held(&app, &app.staff_key, true).await;
    let problem = assert_problem(refused, 429).await;
    assert_eq!(problem["type"], "too_many_batches", "{problem}");
}

/// The audit log's actions about one worker, oldest first, with the request
/// id each names.
async fn audit_of(app: &TestApp, worker_id: &str) -> Vec<(String, Option<String>)> {
    let log: Value = app
        .get(
            &format!("/v1/audit?worker_id={worker_id}&limit=100"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .expect("JSON");
    log["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            (
                item["action"].as_str().expect("action").to_string(),
                item["request_id"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn request_id(response: &Response) -> Option<String> {
    response
        .headers()
        .get("x-request-id")
        .map(|value| value.to_str().expect("ASCII").to_string())
}

async fn created(app: &TestApp, path: &str, body: &Value) -> String {
    let response = app.post(path, &app.staff_key, body).await;
    assert_eq!(response.status(), 201, "{path}");
    let body: Value = response.json().await.expect("json");
    body["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn a_contact_release_is_never_replayed_however_its_path_is_spelled() {
    let app = spawn_app().await;
    let employer = created(&app, "/v1/employers", &employer_body()).await;
    let vacancy = created(&app, "/v1/vacancies", &vacancy_body(&employer)).await;
    let mut consenting = worker_body();
    consenting["consent"] = json!({"share_with_employers": true});
    let worker = created(&app, "/v1/workers", &consenting).await;
    // `%63` is `c`: the router decodes it and reaches the contact release.
    let release = || {
        app.request(
            Method::POST,
            &format!("/v1/vacancies/{vacancy}/candidates/{worker}/%63ontact"),
            &app.staff_key,
        )
        .header("Idempotency-Key", "release-1")
        .send()
    };
    for _ in 0..2 {
        let released = release().await.expect("sent");
        assert_eq!(released.status(), 200);
        assert_eq!(replayed(&released), None);
        let released: Value = released.json().await.expect("json");
        assert_eq!(released["phone"], "+85512345678");
    }

    let withdrawn = app
        .patch(
            &format!("/v1/workers/{worker}"),
            &app.staff_key,
            &json!({"consent": {"share_with_employers": false}}),
            None,
        )
        .await;
    assert_eq!(withdrawn.status(), 200);
    let refused = release().await.expect("sent");
    assert_eq!(replayed(&refused), None);
    let refused = assert_problem(refused, 409).await;
    assert!(!refused.to_string().contains("+85512345678"), "{refused}");

    let releases = audit_of(&app, &worker)
        .await
        .into_iter()
        .filter(|(action, _)| action == "contact_released")
        .count();
    assert_eq!(releases, 2, "every release that happened is in the log");
}

#[tokio::test]
async fn every_answer_that_carries_a_profile_is_audited_whatever_the_verb() {
    let app = spawn_app().await;
    let create = send(&app, &app.staff_key, "register-1", &worker_body()).await;
    assert_eq!(create.status(), 201);
    let create_id = request_id(&create);
    let worker: Value = create.json().await.expect("json");
    let worker = worker["id"].as_str().expect("id").to_string();

    // An empty merge patch changes nothing and answers the whole profile.
    let patch = app
        .patch(
            &format!("/v1/workers/{worker}"),
            &app.staff_key,
            &json!({}),
            None,
        )
        .await;
    assert_eq!(patch.status(), 200);
    let patch_id = request_id(&patch);
    let patched: Value = patch.json().await.expect("json");
    assert_eq!(patched["phone"], "+85512345678");

    // A refused change answers no profile and logs nothing.
    let stale = app
        .patch(
            &format!("/v1/workers/{worker}"),
            &app.staff_key,
            &json!({}),
            Some("\"99\""),
        )
        .await;
    assert_problem(stale, 412).await;

    // The kept answer to the create, replayed, carries the profile again.
    let replay = send(&app, &app.staff_key, "register-1", &worker_body()).await;
    assert_eq!(replayed(&replay).as_deref(), Some("true"));
    let replay_id = request_id(&replay);

    assert_eq!(
        audit_of(&app, &worker).await,
        [
            ("profile_read".to_string(), create_id),
            ("profile_read".to_string(), patch_id),
            ("profile_read".to_string(), replay_id),
        ]
    );
}

#[tokio::test]
async fn a_refusal_that_depends_on_stored_data_is_not_kept_and_the_fixed_retry_runs() {
    let app = spawn_app().await;
    let worker = created(&app, "/v1/workers", &worker_body()).await;
    let path = format!("/v1/workers/{worker}");
    let change = |if_match: &'static str| {
        app.request(Method::PATCH, &path, &app.staff_key)
            .header("content-type", "application/merge-patch+json")
            .header("Idempotency-Key", "change-1")
            .header("if-match", if_match)
            .body(json!({"max_travel_km": 60}).to_string())
            .send()
    };
    // Version 2 does not exist yet: 412.
    assert_problem(change("\"2\"").await.expect("sent"), 412).await;
    // The client reads the ETag and sends the change again with it.
    let fixed = change("\"1\"").await.expect("sent");
    assert_eq!(fixed.status(), 200);
    assert_eq!(replayed(&fixed), None);
    let fixed: Value = fixed.json().await.expect("json");
    assert_eq!(
        (fixed["version"].as_i64(), fixed["max_travel_km"].as_f64()),
        (Some(2), Some(60.0)),
        "{fixed}"
    );

    // A partner refused a vacancy for an employer it is not linked to retries
    // with the same key once an admin has linked them.
    let employer = created(&app, "/v1/employers", &employer_body()).await;
    let propose = || {
        app.request(Method::POST, "/v1/vacancies", &app.partner_key)
            .header("Idempotency-Key", "vacancy-1")
            .json(&vacancy_body(&employer))
            .send()
    };
    assert_problem(propose().await.expect("sent"), 403).await;
    let partner = app
        .store
        .list_api_keys()
        .await
        .expect("keys")
        .into_iter()
        .find(|key| key.role == "partner")
        .expect("the partner key");
    app.store
        .link_partner(&partner.id, &employer)
        .await
        .expect("linked");
    let accepted = propose().await.expect("sent");
    assert_eq!(accepted.status(), 201);
    assert_eq!(replayed(&accepted), None);
}

#[tokio::test]
async fn a_client_that_leaves_after_its_erasure_committed_gets_the_answer_on_retry() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app().await;
    let worker = created(&app, "/v1/workers", &worker_body()).await;
    let path = format!("/v1/workers/{worker}");

    // The erasure commits, then checkpoints the write-ahead log, which waits
    // for this reader: the request is caught between its commit and its answer.
    let reader = jobmatch_store::testing::HeldSqliteSnapshot::hold(&app.database_url).await;
    let address = app.address.trim_start_matches("http://").to_string();
    let mut connection = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connected");
    let request = format!(
        "DELETE {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Idempotency-Key: erase-1\r\nContent-Length: 0\r\n\r\n",
        app.staff_key
    );
    connection
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    while app
        .store
        .get(Entity::Worker, &worker)
        .await
        .expect("read")
        .is_some()
    {
        tokio::task::yield_now().await;
    }
    // The client goes away at once (a reset, not a polite close); then the
    // erasure may finish (its checkpoint blocks other writers meanwhile).
    connection.set_zero_linger().expect("linger");
    drop(connection);
    reader.release().await;

    // Its retry gets the first answer, however long the first request takes
    // to finish (409 with Retry-After until then), and erases nothing twice.
    let mut retry = None;
    for _ in 0..60 {
        let response = app
            .request(Method::DELETE, &path, &app.staff_key)
            .header("Idempotency-Key", "erase-1")
            .send()
            .await
            .expect("sent");
        if response.status() != 409 {
            retry = Some(response);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let retry = retry.expect("the first request finished");
    let status = retry.status();
    let replay = replayed(&retry);
    assert_eq!(status, 204, "{:?}", retry.text().await);
    assert_eq!(replay.as_deref(), Some("true"));
    let erasures = audit_of(&app, &worker)
        .await
        .into_iter()
        .filter(|(action, _)| action == "profile_erased")
        .count();
    assert_eq!(erasures, 1);
}

/// A create whose answer cannot be kept after its write committed (the
/// database refuses to store it, by a trigger this test adds) leaves its key
/// taken: the retry, even once the claim is old enough to count as
/// abandoned, is answered 409 naming the profile it made, and never
/// registers the person a second time.
#[tokio::test]
async fn a_write_whose_answer_could_not_be_kept_is_never_written_again_by_its_retry() {
    let app = spawn_app().await;
    jobmatch_store::testing::execute_on_sqlite(
        &app.database_url,
        "CREATE TRIGGER no_answer_kept BEFORE UPDATE OF status ON idempotency_keys \
         WHEN NEW.status >= 100 BEGIN SELECT RAISE(ABORT, 'no space left'); END",
    )
    .await;
    let body = worker_body();
    let first = send(&app, &app.staff_key, "lost-answer", &body).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    let worker_id = first["id"].as_str().expect("id").to_string();

    // The fault passes; the client retries five minutes later, when an
    // unfinished claim would have been taken over.
    jobmatch_store::testing::execute_on_sqlite(
        &app.database_url,
        "DROP TRIGGER no_answer_kept; \
         UPDATE idempotency_keys SET created_at = \
         strftime('%Y-%m-%dT%H:%M:%S', 'now', '-5 minutes') || '.000000Z'",
    )
    .await;
    let retry = send(&app, &app.staff_key, "lost-answer", &body).await;
    let problem = assert_problem(retry, 409).await;
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains(&format!("worker {worker_id} (create)")),
        "{detail}"
    );
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 1);
}
