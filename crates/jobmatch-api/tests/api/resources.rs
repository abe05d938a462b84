//! Employers, vacancies and workers through the API: create, read, change, close or
//! erase, list and page; who may do what; reference data; operations endpoints.

use std::collections::HashSet;

use jobmatch_api::auth::{Role, generate_key};
use jobmatch_store::Entity;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, assert_problem, employer_body, error_fields, some_skill_id, spawn_app, vacancy_body,
    worker_body,
};

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/// Asserts `status` and a JSON (not problem) body, and returns the body.
async fn expect_json(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let content_type = header_text(&response, "content-type");
    let body = response.text().await.expect("body read");
    assert_eq!(actual, status, "status; body: {body}");
    assert!(
        content_type
            .as_deref()
            .is_some_and(|value| value.starts_with("application/json")),
        "content type {content_type:?}; body: {body}"
    );
    serde_json::from_str(&body).expect("body is JSON")
}

fn header_text(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().expect("header is text").to_string())
}

async fn delete(app: &TestApp, path: &str, key: &str) -> Response {
    app.request(Method::DELETE, path, key)
        .send()
        .await
        .expect("request sent")
}

async fn count(app: &TestApp, entity: Entity) -> i64 {
    app.store.count(entity).await.expect("count")
}

fn id_of(record: &Value) -> String {
    record["id"].as_str().expect("record has an id").to_string()
}

/// The ids of a list page's items.
fn ids_of(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items is an array")
        .iter()
        .map(id_of)
        .collect()
}

async fn create_vacancy(app: &TestApp, employer_id: &str) -> Value {
    let response = app
        .post("/v1/vacancies", &app.staff_key, &vacancy_body(employer_id))
        .await;
    expect_json(response, 201).await
}

async fn create_worker(app: &TestApp) -> Value {
    let response = app
        .post("/v1/workers", &app.staff_key, &worker_body())
        .await;
    expect_json(response, 201).await
}

/// The timestamp parses as RFC 3339 and is in UTC.
fn assert_utc_timestamp(record: &Value, field: &str) {
    let text = record[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is text in {record}"));
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|error| panic!("{field} {text:?} is not RFC 3339: {error}"));
    assert!(text.ends_with('Z'), "{field} {text:?} is UTC");
}

// ---------------------------------------------------------------------------
// Employers
// ---------------------------------------------------------------------------

#[tokio::test]
async fn creating_an_employer_answers_201_with_server_fields_etag_and_normalised_phone() {
    let app = spawn_app().await;

    let response = app
        .post("/v1/employers", &app.staff_key, &employer_body())
        .await;
    assert_eq!(header_text(&response, "etag").as_deref(), Some("\"1\""));
    let employer = expect_json(response, 201).await;

    let id = id_of(&employer);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "id {id} is a UUID");
    assert_eq!(employer["version"], 1);
    assert_utc_timestamp(&employer, "created_at");
    assert_utc_timestamp(&employer, "updated_at");
    assert_eq!(employer["name"], "Angkor Garment Co., Ltd.");
    assert_eq!(employer["sector"], "garment");
    assert_eq!(employer["province_code"], "12");
    assert_eq!(employer["contact_name"], "Sok Dara");
    assert_eq!(employer["contact_phone"], "+85512345678");
}

#[tokio::test]
async fn a_created_employer_reads_back_the_same_and_appears_in_the_list() {
    let app = spawn_app().await;
    let employer = app.create_employer().await;
    let id = id_of(&employer);

    let response = app
        .get(&format!("/v1/employers/{id}"), &app.staff_key)
        .await;
    assert_eq!(header_text(&response, "etag").as_deref(), Some("\"1\""));
    let read = expect_json(response, 200).await;
    assert_eq!(read, employer);

    let page = expect_json(app.get("/v1/employers", &app.staff_key).await, 200).await;
    assert_eq!(ids_of(&page), vec![id]);
    assert_eq!(page["items"][0], employer);
    assert!(page["next_cursor"].is_null(), "{page}");
}

// ---------------------------------------------------------------------------
// Vacancies
// ---------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_vacancy_answers_201_and_reads_back_the_same() {
    let app = spawn_app().await;
    let employer_id = id_of(&app.create_employer().await);

    let response = app
        .post("/v1/vacancies", &app.staff_key, &vacancy_body(&employer_id))
        .await;
    assert_eq!(header_text(&response, "etag").as_deref(), Some("\"1\""));
    let vacancy = expect_json(response, 201).await;
    assert_eq!(vacancy["version"], 1);
    assert_eq!(vacancy["employer_id"], employer_id.as_str());
    assert_eq!(vacancy["positions"], 20);
    assert_eq!(vacancy["wage_min_usd"], 210.0);
    assert_eq!(vacancy["wage_max_usd"], 260.0);
    assert_eq!(vacancy["status"], "open");
    assert_eq!(vacancy["title"], "Sewing machine operator / ប្រតិបត្តិករម៉ាស៊ីនដេរ");
    assert_eq!(vacancy["benefits"], json!(["meals", "transport"]));

    let read = expect_json(
        app.get(
            &format!("/v1/vacancies/{}", id_of(&vacancy)),
            &app.admin_key,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(read, vacancy);
}

#[tokio::test]
async fn a_skill_given_as_full_esco_uri_is_stored_as_the_bare_uuid() {
    let app = spawn_app().await;
    let employer_id = id_of(&app.create_employer().await);
    let skill = some_skill_id();
    let mut body = vacancy_body(&employer_id);
    body["required_skills"] = json!([{
        "skill": format!("http://data.europa.eu/esco/skill/{skill}"),
        "min_level": 3
    }]);
    body["preferred_skills"] = json!([]);

    let vacancy = expect_json(app.post("/v1/vacancies", &app.staff_key, &body).await, 201).await;
    assert_eq!(
        vacancy["required_skills"],
        json!([{"skill": skill, "min_level": 3}])
    );

    let read = expect_json(
        app.get(
            &format!("/v1/vacancies/{}", id_of(&vacancy)),
            &app.staff_key,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(read["required_skills"][0]["skill"], skill.as_str());
}

#[tokio::test]
async fn a_merge_patch_changes_only_the_given_fields_and_bumps_the_version() {
    let app = spawn_app().await;
    let employer_id = id_of(&app.create_employer().await);
    let vacancy = create_vacancy(&app, &employer_id).await;
    let path = format!("/v1/vacancies/{}", id_of(&vacancy));

    let response = app
        .patch(
            &path,
            &app.staff_key,
            &json!({"positions": 5, "wage_max_usd": 300}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(header_text(&response, "etag").as_deref(), Some("\"2\""));
    let patched = expect_json(response, 200).await;
    assert_eq!(patched["version"], 2);
    assert_eq!(patched["positions"], 5);
    assert_eq!(patched["wage_max_usd"], 300.0);

    // Every other field is as it was, the server-owned ones aside.
    let mut expected = vacancy.clone();
    expected["positions"] = json!(5);
    expected["wage_max_usd"] = json!(300.0);
    for server_owned in ["version", "updated_at"] {
        expected[server_owned] = patched[server_owned].clone();
    }
    assert_eq!(patched, expected);
    assert_eq!(patched["created_at"], vacancy["created_at"]);

    let response = app.get(&path, &app.staff_key).await;
    assert_eq!(header_text(&response, "etag").as_deref(), Some("\"2\""));
    assert_eq!(expect_json(response, 200).await, patched);
}

#[tokio::test]
async fn a_patch_with_a_stale_if_match_is_refused_with_412_and_changes_nothing() {
    let app = spawn_app().await;
    let employer_id = id_of(&app.create_employer().await);
    let vacancy = create_vacancy(&app, &employer_id).await;
    let path = format!("/v1/vacancies/{}", id_of(&vacancy));
    let first = app
        .patch(
            &path,
            &app.staff_key,
            &json!({"positions": 5}),
            Some("\"1\""),
        )
        .await;
    let current = expect_json(first, 200).await;

    let stale = app
        .patch(
            &path,
            &app.staff_key,
            &json!({"positions": 9}),
            Some("\"1\""),
        )
        .await;
    let problem = assert_problem(stale, 412).await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains('2')),
        "{problem}"
    );

    let read = expect_json(app.get(&path, &app.staff_key).await, 200).await;
    assert_eq!(read, current);
    assert_eq!(read["positions"], 5);
    assert_eq!(read["version"], 2);
}

#[tokio::test]
async fn a_patch_that_makes_wage_min_exceed_wage_max_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let employer_id = id_of(&app.create_employer().await);
    let vacancy = create_vacancy(&app, &employer_id).await;
    let path = format!("/v1/vacancies/{}", id_of(&vacancy));

    let response = app
        .patch(&path, &app.staff_key, &json!({"wage_min_usd": 500}), None)
        .await;
    let problem = assert_problem(response, 422).await;
    assert_eq!(error_fields(&problem), vec!["wage_min_usd"]);

    let read = expect_json(app.get(&path, &app.staff_key).await, 200).await;
    assert_eq!(read, vacancy);
}

#[tokio::test]
async fn a_patch_with_null_removes_an_optional_field() {
    let app = spawn_app().await;
    let employer_id = id_of(&app.create_employer().await);
    let vacancy = create_vacancy(&app, &employer_id).await;
    assert_eq!(vacancy["wage_max_usd"], 260.0);
    let path = format!("/v1/vacancies/{}", id_of(&vacancy));

    let response = app
        .patch(
            &path,
            &app.staff_key,
            &json!({"wage_max_usd": null}),
            Some("\"1\""),
        )
        .await;
    let patched = expect_json(response, 200).await;
    assert!(patched["wage_max_usd"].is_null(), "{patched}");
    assert_eq!(patched["wage_min_usd"], 210.0);
    assert_eq!(patched["version"], 2);

    let read = expect_json(app.get(&path, &app.staff_key).await, 200).await;
    assert!(read["wage_max_usd"].is_null(), "{read}");
}

#[tokio::test]
async fn deleting_a_vacancy_closes_it_and_takes_it_out_of_the_default_list() {
    let app = spawn_app().await;
    let employer_id = id_of(&app.create_employer().await);
    let closing = create_vacancy(&app, &employer_id).await;
    let staying = create_vacancy(&app, &employer_id).await;
    let path = format!("/v1/vacancies/{}", id_of(&closing));

    let closed = expect_json(delete(&app, &path, &app.staff_key).await, 200).await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["id"], closing["id"]);
    assert_eq!(closed["title"], closing["title"]);

    // It stays readable, for the record.
    let read = expect_json(app.get(&path, &app.staff_key).await, 200).await;
    assert_eq!(read["status"], "closed");

    let open = expect_json(app.get("/v1/vacancies", &app.staff_key).await, 200).await;
    assert_eq!(ids_of(&open), vec![id_of(&staying)]);

    let closed_list = expect_json(
        app.get("/v1/vacancies?status=closed", &app.staff_key).await,
        200,
    )
    .await;
    assert_eq!(ids_of(&closed_list), vec![id_of(&closing)]);
    assert_eq!(count(&app, Entity::Vacancy).await, 2);
}

// ---------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_worker_profile_is_created_read_changed_and_erased() {
    let app = spawn_app().await;

    let response = app
        .post("/v1/workers", &app.staff_key, &worker_body())
        .await;
    assert_eq!(header_text(&response, "etag").as_deref(), Some("\"1\""));
    let worker = expect_json(response, 201).await;
    assert_eq!(worker["version"], 1);
    assert_eq!(worker["full_name"], "សុខ ចាន់ធី");
    assert_eq!(worker["phone"], "+85512345678");
    assert_eq!(worker["status"], "seeking");
    assert!(worker["consent"]["recorded_at"].is_string(), "{worker}");
    let path = format!("/v1/workers/{}", id_of(&worker));

    let read = expect_json(app.get(&path, &app.admin_key).await, 200).await;
    assert_eq!(read, worker);

    let patched = expect_json(
        app.patch(
            &path,
            &app.staff_key,
            &json!({"status": "placed", "expected_wage_usd": 250}),
            Some("\"1\""),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["status"], "placed");
    assert_eq!(patched["expected_wage_usd"], 250.0);
    assert_eq!(patched["full_name"], "សុខ ចាន់ធី");
    assert_eq!(patched["version"], 2);

    let list = expect_json(app.get("/v1/workers", &app.staff_key).await, 200).await;
    assert_eq!(ids_of(&list), vec![id_of(&worker)]);

    let erased = delete(&app, &path, &app.staff_key).await;
    assert_eq!(erased.status(), 204);
    assert!(erased.text().await.expect("body read").is_empty());

    assert_problem(app.get(&path, &app.staff_key).await, 404).await;
    assert_problem(delete(&app, &path, &app.staff_key).await, 404).await;
    assert_eq!(count(&app, Entity::Worker).await, 0);
    let list = expect_json(app.get("/v1/workers", &app.staff_key).await, 200).await;
    assert!(ids_of(&list).is_empty(), "{list}");
}

#[tokio::test]
async fn partner_and_employer_keys_may_not_touch_worker_profiles() {
    let app = spawn_app().await;
    let employer_id = id_of(&app.create_employer().await);
    let employer_key = app.employer_key(&employer_id).await;
    let worker = create_worker(&app).await;
    let path = format!("/v1/workers/{}", id_of(&worker));

    for key in [&app.partner_key, &employer_key] {
        assert_problem(app.post("/v1/workers", key, &worker_body()).await, 403).await;
        assert_problem(app.get(&path, key).await, 403).await;
        assert_problem(app.get("/v1/workers", key).await, 403).await;
        assert_problem(
            app.patch(&path, key, &json!({"status": "inactive"}), None)
                .await,
            403,
        )
        .await;
        assert_problem(delete(&app, &path, key).await, 403).await;
    }

    assert_eq!(count(&app, Entity::Worker).await, 1);
    let read = expect_json(app.get(&path, &app.staff_key).await, 200).await;
    assert_eq!(read, worker);
}

// ---------------------------------------------------------------------------
// external_id: re-sending a record updates it
// ---------------------------------------------------------------------------

#[tokio::test]
async fn resending_an_external_id_with_the_same_key_updates_instead_of_duplicating() {
    let app = spawn_app().await;
    let mut body = employer_body();
    body["external_id"] = json!("NEA-EMP-00042");

    let first = expect_json(
        app.post("/v1/employers", &app.partner_key, &body).await,
        201,
    )
    .await;
    body["contact_name"] = json!("Chan Sophea");
    let second = expect_json(
        app.post("/v1/employers", &app.partner_key, &body).await,
        200,
    )
    .await;

    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["contact_name"], "Chan Sophea");
    assert_eq!(second["external_id"], "NEA-EMP-00042");
    assert_eq!(count(&app, Entity::Employer).await, 1);

    let read = expect_json(
        app.get(
            &format!("/v1/employers/{}", id_of(&first)),
            &app.partner_key,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(read["contact_name"], "Chan Sophea");
}

#[tokio::test]
async fn the_same_external_id_from_another_key_is_another_record() {
    let app = spawn_app().await;
    let mut body = employer_body();
    body["external_id"] = json!("NEA-EMP-00042");

    let from_partner = expect_json(
        app.post("/v1/employers", &app.partner_key, &body).await,
        201,
    )
    .await;
    let from_admin = expect_json(app.post("/v1/employers", &app.admin_key, &body).await, 201).await;

    assert_ne!(from_admin["id"], from_partner["id"]);
    assert_eq!(count(&app, Entity::Employer).await, 2);
}

// ---------------------------------------------------------------------------
// Employer keys
// ---------------------------------------------------------------------------

#[tokio::test]
async fn an_employer_key_posts_vacancies_only_for_its_own_employer() {
    let app = spawn_app().await;
    let own = id_of(&app.create_employer().await);
    let other = id_of(&app.create_employer().await);
    let key = app.employer_key(&own).await;

    let vacancy = expect_json(
        app.post("/v1/vacancies", &key, &vacancy_body(&own)).await,
        201,
    )
    .await;
    assert_eq!(vacancy["employer_id"], own.as_str());

    assert_problem(
        app.post("/v1/vacancies", &key, &vacancy_body(&other)).await,
        403,
    )
    .await;
    assert_eq!(count(&app, Entity::Vacancy).await, 1);
}

#[tokio::test]
async fn an_employer_key_reads_only_its_own_employer_and_cannot_create_employers() {
    let app = spawn_app().await;
    let own = app.create_employer().await;
    let other = app.create_employer().await;
    let key = app.employer_key(&id_of(&own)).await;

    let read = expect_json(
        app.get(&format!("/v1/employers/{}", id_of(&own)), &key)
            .await,
        200,
    )
    .await;
    assert_eq!(read, own);

    assert_problem(
        app.get(&format!("/v1/employers/{}", id_of(&other)), &key)
            .await,
        403,
    )
    .await;
    assert_problem(app.post("/v1/employers", &key, &employer_body()).await, 403).await;
    assert_eq!(count(&app, Entity::Employer).await, 2);
}

// ---------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------

#[tokio::test]
async fn pages_of_two_walk_five_employers_without_duplicates_and_end_with_a_null_cursor() {
    let app = spawn_app().await;
    let mut created = HashSet::new();
    for _ in 0..5 {
        created.insert(id_of(&app.create_employer().await));
    }

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut path = "/v1/employers?limit=2".to_string();
    loop {
        let page = expect_json(app.get(&path, &app.admin_key).await, 200).await;
        let ids = ids_of(&page);
        sizes.push(ids.len());
        seen.extend(ids);
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/employers?limit=2&cursor={cursor}"),
            None => {
                assert!(page["next_cursor"].is_null(), "{page}");
                break;
            }
        }
        assert!(sizes.len() < 10, "paging does not end: {sizes:?}");
    }

    assert_eq!(sizes, vec![2, 2, 1]);
    let distinct: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(distinct.len(), seen.len(), "no duplicates in {seen:?}");
    assert_eq!(distinct, created);
}

#[tokio::test]
async fn a_limit_outside_1_to_100_is_refused_naming_limit() {
    let app = spawn_app().await;
    for limit in ["0", "101", "-1", "lots"] {
        let response = app
            .get(&format!("/v1/employers?limit={limit}"), &app.staff_key)
            .await;
        let problem = assert_problem(response, 400).await;
        assert_eq!(
            error_fields(&problem),
            vec!["limit"],
            "limit={limit}: {problem}"
        );
    }
    let page = expect_json(
        app.get("/v1/employers?limit=100", &app.staff_key).await,
        200,
    )
    .await;
    assert!(page["items"].is_array());
}

#[tokio::test]
async fn a_cursor_the_list_did_not_hand_out_is_refused_naming_cursor() {
    let app = spawn_app().await;
    for path in [
        "/v1/employers?cursor=not-a-cursor",
        "/v1/vacancies?cursor=abc",
        "/v1/workers?cursor=%27%20OR%201%3D1",
    ] {
        let problem = assert_problem(app.get(path, &app.admin_key).await, 400).await;
        assert_eq!(error_fields(&problem), vec!["cursor"], "{path}: {problem}");
    }
}

// ---------------------------------------------------------------------------
// Reference data
// ---------------------------------------------------------------------------

#[tokio::test]
async fn sectors_include_garment_construction_and_production() {
    let app = spawn_app().await;
    let sectors = expect_json(app.get("/v1/sectors", &app.partner_key).await, 200).await;
    let codes: Vec<&str> = sectors["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["code"].as_str())
        .collect();
    for code in ["garment", "construction", "production"] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
}

#[tokio::test]
async fn the_25_provinces_come_with_khmer_names() {
    let app = spawn_app().await;
    let provinces = expect_json(app.get("/v1/provinces", &app.partner_key).await, 200).await;
    let items = provinces["items"].as_array().expect("items");
    assert_eq!(items.len(), 25);
    for province in items {
        let name_km = province["name_km"].as_str().unwrap_or_default();
        assert!(
            name_km
                .chars()
                .any(|c| ('\u{1780}'..='\u{17FF}').contains(&c)),
            "Khmer name of {province}"
        );
        assert!(
            province["name_en"]
                .as_str()
                .is_some_and(|name| !name.is_empty()),
            "{province}"
        );
        assert!(
            province["lat"].is_number() && province["lon"].is_number(),
            "{province}"
        );
    }
    let codes: HashSet<&str> = items
        .iter()
        .filter_map(|item| item["code"].as_str())
        .collect();
    assert!(codes.contains("12") && codes.contains("22"), "{codes:?}");
}

#[tokio::test]
async fn the_districts_of_oddar_meanchey_all_carry_its_code() {
    let app = spawn_app().await;
    let districts = expect_json(
        app.get("/v1/provinces/22/districts", &app.staff_key).await,
        200,
    )
    .await;
    let items = districts["items"].as_array().expect("items");
    assert!(!items.is_empty());
    for district in items {
        let code = district["code"].as_str().unwrap_or_default();
        assert!(code.starts_with("22") && code.len() == 4, "{district}");
    }
}

#[tokio::test]
async fn the_districts_of_an_unknown_province_are_a_404_problem() {
    let app = spawn_app().await;
    assert_problem(
        app.get("/v1/provinces/99/districts", &app.staff_key).await,
        404,
    )
    .await;
}

#[tokio::test]
async fn skill_lookup_tolerates_a_typo() {
    let app = spawn_app().await;
    let skills = expect_json(
        app.get("/v1/skills?q=sewing%20machne", &app.partner_key)
            .await,
        200,
    )
    .await;
    let items = skills["items"].as_array().expect("items");
    let first = items.first().expect("at least one skill");
    assert!(
        first["label"]
            .as_str()
            .is_some_and(|label| label.to_lowercase().contains("sewing")),
        "{skills}"
    );
    assert!(
        first["id"]
            .as_str()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()),
        "{first}"
    );
    assert!(
        first["score"]
            .as_f64()
            .is_some_and(|score| score > 0.0 && score <= 1.0),
        "{first}"
    );
}

#[tokio::test]
async fn occupation_lookup_finds_bricklayers_in_isco_group_71() {
    let app = spawn_app().await;
    let occupations = expect_json(
        app.get("/v1/occupations?q=bricklayer", &app.partner_key)
            .await,
        200,
    )
    .await;
    let items = occupations["items"].as_array().expect("items");
    assert!(
        items.iter().any(|item| item["isco_code"]
            .as_str()
            .is_some_and(|code| code.starts_with("71"))),
        "{occupations}"
    );
    let first = items.first().expect("at least one occupation");
    assert!(
        first["isco_code"]
            .as_str()
            .is_some_and(|code| code.starts_with("7112")),
        "the best match is a bricklayer (ISCO 7112): {first}"
    );
}

// ---------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_request_without_a_key_is_a_401_problem_with_www_authenticate() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/v1/sectors", app.address))
        .send()
        .await
        .expect("request sent");
    assert_eq!(
        header_text(&response, "www-authenticate").as_deref(),
        Some("Bearer")
    );
    assert_problem(response, 401).await;
}

#[tokio::test]
async fn a_wrong_key_is_a_401_problem() {
    let app = spawn_app().await;
    let forged = format!("jm_{}", "0".repeat(64));
    for key in [forged.as_str(), "not-a-key"] {
        let response = app.get("/v1/employers", key).await;
        assert!(response.headers().contains_key("www-authenticate"));
        assert_problem(response, 401).await;
    }
    let response = app
        .client
        .get(format!("{}/v1/employers", app.address))
        .header("authorization", format!("Basic {}", app.admin_key))
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 401).await;
}

/// A revocation is made by another process (`jobmatch keys revoke`) and reaches
/// every replica within `KEY_CACHE_TTL`, a second.
#[tokio::test]
async fn a_revoked_key_is_a_401_problem_within_a_second() {
    let app = spawn_app().await;
    let key = generate_key(Role::Staff, None, "to revoke".into(), None);
    app.store
        .insert_api_key(&key.record)
        .await
        .expect("key stored");
    expect_json(app.get("/v1/employers", &key.secret).await, 200).await;

    assert!(
        app.store
            .revoke_api_key(&key.record.id)
            .await
            .expect("revoked")
    );
    let revoked = std::time::Instant::now();
    loop {
        // Taken before sending: a 200 means the server decided later than this.
        let sent_after = revoked.elapsed();
        let response = app.get("/v1/employers", &key.secret).await;
        if response.status() == 401 {
            assert_problem(response, 401).await;
            break;
        }
        assert_eq!(response.status(), 200);
        assert!(
            sent_after < jobmatch_api::auth::KEY_CACHE_TTL,
            "a revoked key still works {sent_after:?} after its revocation"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_problem(app.get("/v1/employers", &key.secret).await, 401).await;
    assert_problem(
        app.post("/v1/employers", &key.secret, &employer_body())
            .await,
        401,
    )
    .await;
    assert_eq!(count(&app, Entity::Employer).await, 0);
}

/// Known keys are remembered for a second; unknown ones never are, so a key made
/// after a refused attempt works at once.
#[tokio::test]
async fn a_key_works_as_soon_as_it_is_stored() {
    let app = spawn_app().await;
    let key = generate_key(Role::Staff, None, "new".into(), None);
    assert_problem(app.get("/v1/employers", &key.secret).await, 401).await;
    app.store
        .insert_api_key(&key.record)
        .await
        .expect("key stored");
    expect_json(app.get("/v1/employers", &key.secret).await, 200).await;
}

#[tokio::test]
async fn an_expired_key_is_a_401_problem() {
    let app = spawn_app().await;
    let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
    let key = generate_key(Role::Staff, None, "expired".into(), Some(yesterday));
    app.store
        .insert_api_key(&key.record)
        .await
        .expect("key stored");
    assert_problem(app.get("/v1/employers", &key.secret).await, 401).await;
}

#[tokio::test]
async fn a_key_in_the_query_string_is_refused_with_400() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!(
            "{}/v1/sectors?api_key={}",
            app.address, app.admin_key
        ))
        .send()
        .await
        .expect("request sent");
    let problem = assert_problem(response, 400).await;
    assert_eq!(error_fields(&problem), vec!["query"]);

    // Even alongside a valid header.
    let response = app
        .get(
            &format!("/v1/employers?limit=5&api_key={}", app.admin_key),
            &app.admin_key,
        )
        .await;
    assert_problem(response, 400).await;
}

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

#[tokio::test]
async fn healthz_answers_without_a_key() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("request sent");
    let health = expect_json(response, 200).await;
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn readyz_answers_without_a_key_and_names_the_database() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .expect("request sent");
    let ready = expect_json(response, 200).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["database"], "sqlite");
}

#[tokio::test]
async fn metrics_are_prometheus_text_counting_requests() {
    let app = spawn_app().await;
    // One request first, so that the counter has a sample.
    app.get("/v1/sectors", &app.staff_key).await;
    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200);
    let content_type = header_text(&response, "content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.expect("body read");
    assert!(
        text.contains("# TYPE jobmatch_http_requests_total counter"),
        "{text}"
    );
    let sample = text
        .lines()
        .find(|line| {
            line.starts_with("jobmatch_http_requests_total{") && line.contains("/v1/sectors")
        })
        .unwrap_or_else(|| panic!("a sample for /v1/sectors in {text}"));
    assert!(sample.contains("status=\"200\""), "{sample}");
}

// ---------------------------------------------------------------------------
// Who may change which vacancy
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_partner_key_changes_and_closes_only_the_vacancies_it_sent() {
    let app = spawn_app().await;
    // An employer the partner registered is linked to it: it may post there.
    let employer_id = id_of(
        &expect_json(
            app.post("/v1/employers", &app.partner_key, &employer_body())
                .await,
            201,
        )
        .await,
    );
    let from_staff = create_vacancy(&app, &employer_id).await;
    let from_partner = expect_json(
        app.post(
            "/v1/vacancies",
            &app.partner_key,
            &vacancy_body(&employer_id),
        )
        .await,
        201,
    )
    .await;
    let staff_path = format!("/v1/vacancies/{}", id_of(&from_staff));
    let partner_path = format!("/v1/vacancies/{}", id_of(&from_partner));

    let patch = json!({"positions": 1});
    assert_problem(
        app.patch(&staff_path, &app.partner_key, &patch, None).await,
        403,
    )
    .await;
    assert_problem(delete(&app, &staff_path, &app.partner_key).await, 403).await;
    let read = expect_json(app.get(&staff_path, &app.staff_key).await, 200).await;
    assert_eq!(read, from_staff);

    let patched = expect_json(
        app.patch(&partner_path, &app.partner_key, &patch, None)
            .await,
        200,
    )
    .await;
    assert_eq!(patched["positions"], 1);
    let closed = expect_json(delete(&app, &partner_path, &app.partner_key).await, 200).await;
    assert_eq!(closed["status"], "closed");
}

#[tokio::test]
async fn an_employer_key_cannot_change_close_or_take_over_another_employers_vacancy() {
    let app = spawn_app().await;
    let own = id_of(&app.create_employer().await);
    let other = id_of(&app.create_employer().await);
    let key = app.employer_key(&own).await;
    let own_vacancy = expect_json(
        app.post("/v1/vacancies", &key, &vacancy_body(&own)).await,
        201,
    )
    .await;
    let other_vacancy = create_vacancy(&app, &other).await;
    let own_path = format!("/v1/vacancies/{}", id_of(&own_vacancy));
    let other_path = format!("/v1/vacancies/{}", id_of(&other_vacancy));

    assert_problem(
        app.patch(&other_path, &key, &json!({"positions": 1}), None)
            .await,
        403,
    )
    .await;
    assert_problem(delete(&app, &other_path, &key).await, 403).await;
    // Nor move its own vacancy to another employer.
    assert_problem(
        app.patch(&own_path, &key, &json!({"employer_id": other}), None)
            .await,
        403,
    )
    .await;

    assert_eq!(
        expect_json(app.get(&other_path, &app.staff_key).await, 200).await,
        other_vacancy
    );
    assert_eq!(
        expect_json(app.get(&own_path, &app.staff_key).await, 200).await,
        own_vacancy
    );

    let patched = expect_json(
        app.patch(&own_path, &key, &json!({"positions": 3}), Some("\"1\""))
            .await,
        200,
    )
    .await;
    assert_eq!(patched["positions"], 3);
}

#[tokio::test]
async fn a_vacancy_cannot_be_moved_to_an_employer_that_does_not_exist() {
    let app = spawn_app().await;
    let employer_id = id_of(&app.create_employer().await);
    let vacancy = create_vacancy(&app, &employer_id).await;
    let path = format!("/v1/vacancies/{}", id_of(&vacancy));
    let patch = json!({"employer_id": "0b8f2c7e-3f5a-4c1d-9e2b-7a6d5c4b3a21"});
    let problem = assert_problem(app.patch(&path, &app.staff_key, &patch, None).await, 422).await;
    assert_eq!(error_fields(&problem), vec!["employer_id"]);
    assert_eq!(
        expect_json(app.get(&path, &app.staff_key).await, 200).await,
        vacancy
    );
}

// ---------------------------------------------------------------------------
// Concurrency and re-sending
// ---------------------------------------------------------------------------

#[tokio::test]
async fn of_two_concurrent_patches_based_on_the_same_version_exactly_one_wins() {
    let app = spawn_app().await;
    let employer_id = id_of(&app.create_employer().await);
    let vacancy = create_vacancy(&app, &employer_id).await;
    let path = format!("/v1/vacancies/{}", id_of(&vacancy));

    let first_patch = json!({"positions": 7});
    let second_patch = json!({"positions": 8});
    let (first, second) = tokio::join!(
        app.patch(&path, &app.staff_key, &first_patch, Some("\"1\"")),
        app.patch(&path, &app.admin_key, &second_patch, Some("\"1\"")),
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412]);

    let read = expect_json(app.get(&path, &app.staff_key).await, 200).await;
    assert_eq!(read["version"], 2);
    assert!(
        [7, 8].contains(&read["positions"].as_i64().unwrap_or_default()),
        "{read}"
    );
}

#[tokio::test]
async fn concurrent_resends_of_one_external_id_all_succeed_and_make_one_record() {
    let app = spawn_app().await;
    let mut body = worker_body();
    body["external_id"] = json!("NEA-RET-7");
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let request = app
            .request(Method::POST, "/v1/workers", &app.staff_key)
            .json(&body);
        sends.spawn(async move { request.send().await.expect("request sent") });
    }
    let mut statuses = Vec::new();
    while let Some(response) = sends.join_next().await {
        statuses.push(response.expect("request task").status().as_u16());
    }
    statuses.sort_unstable();

    let mut expected = vec![200; 7];
    expected.push(201);
    assert_eq!(
        statuses, expected,
        "one create, then updates; never a conflict"
    );
    assert_eq!(count(&app, Entity::Worker).await, 1);
}

#[tokio::test]
async fn an_external_id_changed_by_patch_is_the_one_a_resend_updates() {
    let app = spawn_app().await;
    let mut body = employer_body();
    body["external_id"] = json!("OLD-1");
    let employer = expect_json(app.post("/v1/employers", &app.staff_key, &body).await, 201).await;
    let path = format!("/v1/employers/{}", id_of(&employer));

    let response = app
        .patch(
            &path,
            &app.staff_key,
            &json!({"external_id": "NEW-1"}),
            None,
        )
        .await;
    if response.status() == 422 {
        // Refusing to change it is fine too, as long as it stays consistent.
        let problem = assert_problem(response, 422).await;
        assert_eq!(error_fields(&problem), vec!["external_id"]);
        return;
    }
    let patched = expect_json(response, 200).await;
    assert_eq!(patched["external_id"], "NEW-1");

    // Re-sending the record under the id it now shows updates it...
    body["external_id"] = json!("NEW-1");
    body["contact_name"] = json!("Chan Sophea");
    let resent = expect_json(app.post("/v1/employers", &app.staff_key, &body).await, 200).await;
    assert_eq!(resent["id"], employer["id"]);
    assert_eq!(count(&app, Entity::Employer).await, 1);
}

#[tokio::test]
async fn an_erased_worker_can_be_registered_again_under_the_same_external_id() {
    let app = spawn_app().await;
    let mut body = worker_body();
    body["external_id"] = json!("NEA-RET-9");
    let first = expect_json(app.post("/v1/workers", &app.staff_key, &body).await, 201).await;
    let erased = delete(
        &app,
        &format!("/v1/workers/{}", id_of(&first)),
        &app.staff_key,
    )
    .await;
    assert_eq!(erased.status(), 204);

    let again = expect_json(app.post("/v1/workers", &app.staff_key, &body).await, 201).await;
    assert_ne!(again["id"], first["id"]);
    assert_eq!(again["version"], 1);
    assert_eq!(count(&app, Entity::Worker).await, 1);
}

#[tokio::test]
async fn granting_consent_by_patch_records_when_it_was_granted() {
    let app = spawn_app().await;
    let worker = create_worker(&app).await;
    assert_eq!(worker["consent"]["share_with_employers"], false);
    let refused_at = worker["consent"]["recorded_at"]
        .as_str()
        .expect("recorded_at")
        .to_string();
    let path = format!("/v1/workers/{}", id_of(&worker));
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    let patch = json!({"consent": {"share_with_employers": true}});
    let patched = expect_json(
        app.patch(&path, &app.staff_key, &patch, Some("\"1\""))
            .await,
        200,
    )
    .await;
    assert_eq!(patched["consent"]["share_with_employers"], true);
    let granted_at = patched["consent"]["recorded_at"]
        .as_str()
        .expect("recorded_at");
    let parse = |text: &str| chrono::DateTime::parse_from_rfc3339(text).expect("RFC 3339");
    assert!(
        parse(granted_at) > parse(&refused_at),
        "consent granted now must not carry the time it was refused ({refused_at}): {granted_at}"
    );
}
