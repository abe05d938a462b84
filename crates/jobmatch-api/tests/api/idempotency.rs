//! `Idempotency-Key`: a client (a partner system, a centre's form) re-sending a write after a lost answer gets the
//! first answer, and nothing is written twice.

use jobmatch_store::Entity;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, error_fields, spawn_app, worker_body};

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
    assert_eq!(replayed(&again).as_deref(), Some("true"));
    let again = assert_problem(again, 422).await;
    assert_eq!(again, first);
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 0);
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

#[tokio::test]
async fn erasing_a_worker_forgets_the_kept_answers_that_hold_its_profile() {
    let app = spawn_app().await;
    let body = worker_body();
    let created = send(&app, &app.staff_key, "register-1", &body).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("json");
    let erased = app
        .request(
            Method::DELETE,
            &format!("/v1/workers/{}", created["id"].as_str().expect("id")),
            &app.admin_key,
        )
        .send()
        .await
        .expect("request sent");
    assert!(erased.status().is_success(), "{}", erased.status());

    // The first answer, with the person's name and phone, is gone: the same
    // request now runs anew.
    let again = send(&app, &app.staff_key, "register-1", &body).await;
    assert_eq!(again.status(), 201);
    assert_eq!(replayed(&again), None);
    let again: Value = again.json().await.expect("json");
    assert_ne!(again["id"], created["id"]);
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

    assert_eq!(
        audit_of(&app, &worker).await,
        [
            ("profile_read".to_string(), create_id),
            ("profile_read".to_string(), patch_id),
        ]
    );
}
