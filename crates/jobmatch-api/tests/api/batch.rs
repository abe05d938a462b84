//! `POST /v1/workers/batch`: many profiles in one request, a report per item.

use jobmatch_store::Entity;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, error_fields, spawn_app, worker_body};

fn worker(external_id: &str) -> Value {
    let mut body = worker_body();
    body["external_id"] = json!(external_id);
    body
}

fn statuses(report: &Value) -> Vec<String> {
    report["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["status"].as_str().expect("status").to_string())
        .collect()
}

#[tokio::test]
async fn good_items_are_stored_and_bad_ones_rejected_with_the_single_create_errors() {
    let app = spawn_app().await;
    let mut bad = worker("KOBO-2");
    bad["province_code"] = json!("99");
    bad["skills"][0]["level"] = json!(7);
    let response = app
        .post(
            "/v1/workers/batch",
            &app.staff_key,
            &json!({"items": [worker("KOBO-1"), bad.clone(), "not an object", worker("KOBO-3")]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.expect("json");
    assert_eq!(
        statuses(&report),
        ["created", "rejected", "rejected", "created"]
    );
    assert_eq!(
        (&report["created"], &report["existing"], &report["rejected"]),
        (&json!(2), &json!(0), &json!(2))
    );
    for (index, item) in report["items"].as_array().unwrap().iter().enumerate() {
        assert_eq!(item["index"], index);
    }

    // The rejected item carries exactly what a single create answers in its 422.
    let single = app.post("/v1/workers", &app.staff_key, &bad).await;
    let problem = assert_problem(single, 422).await;
    assert_eq!(report["items"][1]["errors"], problem["errors"]);
    assert_eq!(
        error_fields(&report["items"][1]),
        ["province_code", "skills[0].level"]
    );
    assert_eq!(report["items"][2]["errors"][0]["field"], "body");

    // The created profiles read back as a single create would have stored them.
    let id = report["items"][0]["id"].as_str().expect("id");
    let stored = app.get(&format!("/v1/workers/{id}"), &app.staff_key).await;
    assert_eq!(stored.status(), 200);
    let stored: Value = stored.json().await.expect("json");
    assert_eq!(stored["external_id"], "KOBO-1");
    assert_eq!(stored["phone"], "+85512345678");
    assert_eq!(stored["version"], 1);
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 2);
}

#[tokio::test]
async fn a_re_sent_batch_reports_existing_items_and_updates_only_the_changed_ones() {
    let app = spawn_app().await;
    let items = json!({"items": [worker("KOBO-1"), worker("KOBO-2")]});
    let first: Value = app
        .post("/v1/workers/batch", &app.staff_key, &items)
        .await
        .json()
        .await
        .expect("json");
    let feed_after_first = app.store.latest_change_seq().await.expect("seq");

    let mut changed = worker("KOBO-2");
    changed["expected_wage_usd"] = json!(260);
    let response = app
        .post(
            "/v1/workers/batch?wait_for=indexed",
            &app.staff_key,
            &json!({"items": [worker("KOBO-1"), changed]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.expect("json");
    assert_eq!(statuses(&second), ["existing", "existing"]);
    for index in 0..2 {
        assert_eq!(second["items"][index]["id"], first["items"][index]["id"]);
    }
    // The unchanged profile keeps its version (its consent time was filled in by
    // the server the first time and is kept), the changed one gets a new one.
    assert_eq!(second["items"][0]["changed"], false);
    assert_eq!(second["items"][0]["version"], 1);
    assert_eq!(second["items"][1]["changed"], true);
    assert_eq!(second["items"][1]["version"], 2);
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 2);
    let changes = app
        .store
        .changes_since(feed_after_first, 100)
        .await
        .expect("feed");
    assert_eq!(changes.len(), 1, "only the changed profile is in the feed");

    // Another key is another source: its items are new profiles.
    let other: Value = app
        .post("/v1/workers/batch", &app.admin_key, &items)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(statuses(&other), ["created", "created"]);
}

#[tokio::test]
async fn a_profile_created_alone_and_re_sent_unchanged_in_a_batch_keeps_its_version() {
    // A single create and a batch serialise the stored document differently
    // (keys sorted, or in the fields' order); re-sending must not count as a
    // change for that.
    let app = spawn_app().await;
    let created = app
        .post("/v1/workers", &app.staff_key, &worker("KOBO-7"))
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("json");
    let feed_after_create = app.store.latest_change_seq().await.expect("seq");

    let response = app
        .post(
            "/v1/workers/batch",
            &app.staff_key,
            &json!({"items": [worker("KOBO-7")]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.expect("json");
    assert_eq!(statuses(&report), ["existing"]);
    assert_eq!(report["items"][0]["id"], created["id"]);
    assert_eq!(report["items"][0]["changed"], false);
    assert_eq!(report["items"][0]["version"], 1);
    assert_eq!(
        app.store.latest_change_seq().await.expect("seq"),
        feed_after_create,
        "nothing new in the change feed"
    );
}

#[tokio::test]
async fn a_batch_that_is_not_a_list_of_at_most_1000_items_is_a_422_naming_items() {
    let app = spawn_app().await;
    let too_many: Vec<Value> = (0..1_001).map(|n| json!({"full_name": n})).collect();
    for (body, field) in [
        (json!({"items": too_many}), "items"),
        (json!({"items": {"full_name": "x"}}), "items"),
        (json!({}), "items"),
        (json!({"items": [], "extra": 1}), "extra"),
    ] {
        let response = app.post("/v1/workers/batch", &app.staff_key, &body).await;
        let problem = assert_problem(response, 422).await;
        assert!(
            error_fields(&problem).contains(&field.to_string()),
            "{problem}"
        );
    }
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 0);

    // Registration forms send profiles through partner keys; the report tells
    // them what became of each, and never hands a profile back.
    let response = app
        .post(
            "/v1/workers/batch",
            &app.partner_key,
            &json!({"items": [worker("P-1")]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let report: serde_json::Value = response.json().await.expect("JSON");
    let text = report.to_string();
    assert!(
        !text.contains("full_name") && !text.contains("phone"),
        "{text}"
    );
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 1);
}

/// Issue 11, item 5: after staff erase a profile a partner sent, the partner's
/// re-send of the same item is refused, naming `external_id`, and nobody is
/// registered again.
#[tokio::test]
async fn a_partners_re_send_does_not_bring_back_an_erased_profile() {
    let app = spawn_app().await;
    let items = json!({"items": [worker("KOBO-7")]});
    let first: Value = app
        .post("/v1/workers/batch", &app.partner_key, &items)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(statuses(&first), ["created"]);
    let id = first["items"][0]["id"].as_str().expect("id");
    let erased = app
        .request(
            reqwest::Method::DELETE,
            &format!("/v1/workers/{id}"),
            &app.staff_key,
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(erased.status(), 204);

    let again: Value = app
        .post("/v1/workers/batch", &app.partner_key, &items)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(statuses(&again), ["rejected"], "{again}");
    assert_eq!(error_fields(&again["items"][0]), ["external_id"]);
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 0);
    let listed: Value = app
        .get("/v1/workers", &app.staff_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["items"], json!([]), "the erased person is not back");
}

/// Issue 11, item 5: after staff withdraw consent, a partner's re-send with
/// `share_with_employers: true` keeps staff's decision and says so; the rest of
/// the item applies.
#[tokio::test]
async fn a_partners_re_send_does_not_restore_consent_staff_withdrew() {
    let app = spawn_app().await;
    let mut sharing = worker("KOBO-8");
    sharing["consent"] = json!({"share_with_employers": true});
    let first: Value = app
        .post(
            "/v1/workers/batch",
            &app.partner_key,
            &json!({"items": [sharing.clone()]}),
        )
        .await
        .json()
        .await
        .expect("json");
    let id = first["items"][0]["id"].as_str().expect("id").to_string();
    let withdrawn = app
        .patch(
            &format!("/v1/workers/{id}"),
            &app.staff_key,
            &json!({"consent": {"share_with_employers": false}}),
            None,
        )
        .await;
    assert_eq!(withdrawn.status(), 200);

    let mut resent = sharing.clone();
    resent["phone"] = json!("011 222 333");
    let again: Value = app
        .post(
            "/v1/workers/batch",
            &app.partner_key,
            &json!({"items": [resent]}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(statuses(&again), ["existing"], "{again}");
    assert_eq!(again["items"][0]["consent_kept"], true, "{again}");
    assert_eq!(again["items"][0]["changed"], true, "{again}");
    let stored: Value = app
        .get(&format!("/v1/workers/{id}"), &app.staff_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(stored["consent"]["share_with_employers"], false, "{stored}");
    assert_eq!(stored["phone"], "+85511222333", "{stored}");

    // An item that agrees with staff's decision is an ordinary re-send.
    let mut agreeing = sharing;
    agreeing["consent"] = json!({"share_with_employers": false});
    let agreed: Value = app
        .post(
            "/v1/workers/batch",
            &app.partner_key,
            &json!({"items": [agreeing]}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(statuses(&agreed), ["existing"], "{agreed}");
    assert!(agreed["items"][0].get("consent_kept").is_none(), "{agreed}");
}

#[tokio::test]
async fn a_key_given_twice_in_an_item_rejects_that_item_naming_its_path() {
    let app = spawn_app().await;
    let good = worker("KOBO-1").to_string();
    let skill = crate::helpers::some_skill_id();
    // Written by hand: a JSON value cannot hold a key twice.
    let twice_at_top = r#"{"full_name": "Sok", "province_code": "22", "province_code": "01"}"#;
    let twice_inside = format!(
        r#"{{"full_name": "Dara", "province_code": "22", "skills": [{{"skill": "{skill}", "level": 2, "level": 4}}]}}"#
    );
    let body = format!(r#"{{"items": [{good}, {twice_at_top}, {twice_inside}]}}"#);
    let response = app
        .request(reqwest::Method::POST, "/v1/workers/batch", &app.staff_key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.expect("json");
    assert_eq!(statuses(&report), ["created", "rejected", "rejected"]);
    for (index, path) in [(1, "province_code"), (2, "skills[0].level")] {
        assert_eq!(
            report["items"][index]["errors"],
            json!([{"field": path, "message": "is given more than once"}]),
            "{report}"
        );
    }
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 1);

    // In the body itself, as in any other body: a 400 naming the key.
    let response = app
        .request(reqwest::Method::POST, "/v1/workers/batch", &app.staff_key)
        .header("content-type", "application/json")
        .body(format!(r#"{{"items": [{good}], "items": []}}"#))
        .send()
        .await
        .expect("sent");
    let problem = assert_problem(response, 400).await;
    assert_eq!(error_fields(&problem), ["items"], "{problem}");
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 1);
}

/// Sends empty batches until one is answered `status` (each other answer must
/// be a 200 or 429); at most 500 tries, since the server takes up or gives back
/// a slot in its own time.
async fn until_a_batch_answers(
    app: &crate::helpers::TestApp,
    key: &str,
    status: u16,
) -> reqwest::Response {
    for _ in 0..500 {
        let response = app
            .post("/v1/workers/batch", key, &json!({"items": []}))
            .await;
        if response.status().as_u16() == status {
            return response;
        }
        assert!([200, 429].contains(&response.status().as_u16()));
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no batch was answered {status}");
}

#[tokio::test]
async fn a_key_with_two_batches_in_flight_is_told_to_retry_a_third() {
    let app = spawn_app().await;
    let (refused, first) =
        crate::helpers::third_batch_while_two_are_held(&app, &app.staff_key, false).await;
    let retry_after = refused
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .expect("Retry-After in whole seconds");
    assert!(retry_after >= 1);
    let problem = assert_problem(refused, 429).await;
    assert_eq!(problem["type"], "too_many_batches", "{problem}");

    // Other keys are not held up, and a batch that ends gives its slot back.
    let response = app
        .post("/v1/workers/batch", &app.admin_key, &json!({"items": []}))
        .await;
    assert_eq!(response.status(), 200);
    // The other held batch was dropped already: with this one, both slots are
    // given back.
    drop(first);
    until_a_batch_answers(&app, &app.staff_key, 200).await;
}

/// Issue 11, review: a partner whose key is rotated (`jobmatch keys rotate`)
/// keeps its identity. Under the new key, an erased profile re-sent is still
/// refused, a consent staff decided still holds, and the employer it
/// registered with the old key is still its own to read and change.
#[tokio::test]
async fn a_partner_keeps_its_identity_across_a_key_rotation() {
    use jobmatch_api::auth::{hash_key, rotated_key};
    let app = spawn_app().await;
    let erased_item = worker("KOBO-7");
    let mut sharing_item = worker("KOBO-8");
    sharing_item["consent"] = json!({"share_with_employers": true});
    let first: Value = app
        .post(
            "/v1/workers/batch",
            &app.partner_key,
            &json!({"items": [erased_item.clone(), sharing_item.clone()]}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(statuses(&first), ["created", "created"], "{first}");
    let erased_id = first["items"][0]["id"].as_str().expect("id").to_string();
    let kept_id = first["items"][1]["id"].as_str().expect("id").to_string();
    let employer: Value = app
        .post(
            "/v1/employers",
            &app.partner_key,
            &crate::helpers::employer_body(),
        )
        .await
        .json()
        .await
        .expect("json");
    let employer_id = employer["id"].as_str().expect("id").to_string();

    let erased = app
        .request(
            reqwest::Method::DELETE,
            &format!("/v1/workers/{erased_id}"),
            &app.staff_key,
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(erased.status(), 204);
    let withdrawn = app
        .patch(
            &format!("/v1/workers/{kept_id}"),
            &app.staff_key,
            &json!({"consent": {"share_with_employers": false}}),
            None,
        )
        .await;
    assert_eq!(withdrawn.status(), 200);

    // The partner's key is replaced and the old one revoked.
    let old_key = app
        .store
        .api_key_by_hash(&hash_key(&app.partner_key))
        .await
        .expect("read")
        .expect("the partner's key");
    let new_key = rotated_key(&old_key, None);
    app.store
        .insert_api_key(&new_key.record)
        .await
        .expect("key stored");
    assert!(app.store.revoke_api_key(&old_key.id).await.expect("revoke"));
    assert_ne!(new_key.record.id, old_key.id);
    assert_eq!(new_key.record.source, old_key.source);

    let again: Value = app
        .post(
            "/v1/workers/batch",
            &new_key.secret,
            &json!({"items": [erased_item, sharing_item]}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(statuses(&again), ["rejected", "existing"], "{again}");
    assert_eq!(error_fields(&again["items"][0]), ["external_id"]);
    assert_eq!(again["items"][1]["id"], kept_id.as_str(), "{again}");
    assert_eq!(again["items"][1]["consent_kept"], true, "{again}");
    assert_eq!(app.store.count(Entity::Worker).await.expect("count"), 1);

    let listed: Value = app
        .get("/v1/employers", &new_key.secret)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["items"][0]["id"], employer_id.as_str(), "{listed}");
    let changed = app
        .patch(
            &format!("/v1/employers/{employer_id}"),
            &new_key.secret,
            &json!({"name": "Renamed Garment Co."}),
            None,
        )
        .await;
    assert_eq!(
        changed.status(),
        200,
        "the employer it sent is still its own"
    );
}
