//! Every kind of bad input answers `application/problem+json` naming the fields,
//! never a 5xx, and a refused write leaves the stored data as it was.

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

/// Sends `body` as it is, with `content_type` when given.
async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Response {
    let mut request = app.request(method, path, &app.staff_key).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.expect("request sent")
}

async fn count(app: &TestApp, entity: Entity) -> i64 {
    app.store.count(entity).await.expect("count")
}

async fn read(app: &TestApp, path: &str) -> Value {
    let response = app.get(path, &app.admin_key).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.expect("json")
}

fn id_of(record: &Value) -> String {
    record["id"].as_str().expect("record has an id").to_string()
}

/// The message given for `field` in a problem's `errors`.
fn message_for<'a>(problem: &'a Value, field: &str) -> &'a str {
    problem["errors"]
        .as_array()
        .and_then(|errors| errors.iter().find(|error| error["field"] == field))
        .and_then(|error| error["message"].as_str())
        .unwrap_or_else(|| panic!("no error for {field} in {problem}"))
}

/// POSTs `body` and expects a 422 naming exactly `fields`.
async fn assert_refused(app: &TestApp, path: &str, body: &Value, fields: &[&str]) -> Value {
    let problem = assert_problem(app.post(path, &app.staff_key, body).await, 422).await;
    assert_eq!(error_fields(&problem), fields, "{problem}");
    assert_eq!(problem["type"], "validation_failed", "{problem}");
    problem
}

async fn employer_id(app: &TestApp) -> String {
    id_of(&app.create_employer().await)
}

// ---------------------------------------------------------------------------
// Bodies that are not a JSON object
// ---------------------------------------------------------------------------

#[tokio::test]
async fn invalid_json_is_a_400_naming_body() {
    let app = spawn_app().await;
    for text in [
        r#"{"name": "#,
        "{name: 'x'}",
        "",
        "\u{feff}{}",
        r#"{"a": 1}{"b": 2}"#,
    ] {
        let response = send_raw(
            &app,
            Method::POST,
            "/v1/employers",
            Some("application/json"),
            text,
        )
        .await;
        let problem = assert_problem(response, 400).await;
        assert_eq!(error_fields(&problem), vec!["body"], "{text:?}: {problem}");
    }
    assert_eq!(count(&app, Entity::Employer).await, 0);
}

#[tokio::test]
async fn a_json_value_other_than_an_object_is_a_400_naming_body() {
    let app = spawn_app().await;
    for text in [
        "[]",
        r#"[{"name": "Angkor"}]"#,
        "null",
        "42",
        r#""employer""#,
    ] {
        let response = send_raw(
            &app,
            Method::POST,
            "/v1/employers",
            Some("application/json"),
            text,
        )
        .await;
        let problem = assert_problem(response, 400).await;
        assert_eq!(error_fields(&problem), vec!["body"], "{text:?}: {problem}");
    }
    assert_eq!(count(&app, Entity::Employer).await, 0);
}

#[tokio::test]
async fn a_body_that_is_not_declared_as_json_is_a_415() {
    let app = spawn_app().await;
    let body = employer_body().to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let response = send_raw(
            &app,
            Method::POST,
            "/v1/employers",
            content_type,
            body.clone(),
        )
        .await;
        assert_problem(response, 415).await;
    }
    assert_eq!(count(&app, Entity::Employer).await, 0);

    // JSON with parameters, and +json types, are JSON.
    let response = send_raw(
        &app,
        Method::POST,
        "/v1/employers",
        Some("application/json; charset=utf-8"),
        body,
    )
    .await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn a_patch_that_is_not_json_is_a_415_and_changes_nothing() {
    let app = spawn_app().await;
    let employer = app.create_employer().await;
    let path = format!("/v1/employers/{}", id_of(&employer));
    let response = send_raw(&app, Method::PATCH, &path, Some("text/plain"), "name=Other").await;
    assert_problem(response, 415).await;
    assert_eq!(read(&app, &path).await, employer);
}

#[tokio::test]
async fn a_body_over_256_kib_is_a_413() {
    let app = spawn_app().await;
    let mut body = employer_body();
    body["name"] = json!("x".repeat(300 * 1024));
    let response = send_raw(
        &app,
        Method::POST,
        "/v1/employers",
        Some("application/json"),
        body.to_string(),
    )
    .await;
    let problem = assert_problem(response, 413).await;
    assert_eq!(problem["type"], "payload_too_large", "{problem}");
    assert_eq!(count(&app, Entity::Employer).await, 0);
}

#[tokio::test]
async fn a_body_just_under_256_kib_is_read_and_validated() {
    let app = spawn_app().await;
    let mut body = employer_body();
    body["name"] = json!("x".repeat(250 * 1024));
    let response = send_raw(
        &app,
        Method::POST,
        "/v1/employers",
        Some("application/json"),
        body.to_string(),
    )
    .await;
    let problem = assert_problem(response, 422).await;
    assert_eq!(error_fields(&problem), vec!["name"]);
}

// ---------------------------------------------------------------------------
// Every bad field named at once
// ---------------------------------------------------------------------------

#[tokio::test]
async fn one_request_with_many_bad_fields_names_every_one_of_them() {
    let app = spawn_app().await;
    let employer_id = employer_id(&app).await;
    let body = json!({
        "employer_id": employer_id,
        "title": "",
        "sector": "garment",
        "province_code": "99",
        "district_code": "2201",
        "positions": 3,
        "wage_min_usd": 300,
        "wage_max_usd": 200,
        "required_skills": [
            {"skill": some_skill_id(), "min_level": 5},
            {"skill": "00000000-0000-4000-8000-000000000000", "min_level": 2}
        ],
        "salary": 250
    });
    assert_refused(
        &app,
        "/v1/vacancies",
        &body,
        &[
            "district_code",
            "province_code",
            "required_skills[0].min_level",
            "required_skills[1].skill",
            "salary",
            "title",
            "wage_min_usd",
        ],
    )
    .await;
    assert_eq!(count(&app, Entity::Vacancy).await, 0);
}

#[tokio::test]
async fn an_unknown_field_does_not_hide_the_errors_of_the_known_ones() {
    let app = spawn_app().await;
    let mut body = employer_body();
    body["salary"] = json!(250);
    body["province_code"] = json!("99");
    assert_refused(&app, "/v1/employers", &body, &["province_code", "salary"]).await;
    assert_eq!(count(&app, Entity::Employer).await, 0);
}

#[tokio::test]
async fn a_district_is_checked_even_when_the_province_is_unknown() {
    let app = spawn_app().await;
    let mut body = employer_body();
    body["province_code"] = json!("99");
    body["district_code"] = json!("2201");
    assert_refused(
        &app,
        "/v1/employers",
        &body,
        &["district_code", "province_code"],
    )
    .await;
}

#[tokio::test]
async fn several_domain_errors_in_one_vacancy_are_all_named() {
    let app = spawn_app().await;
    let employer_id = employer_id(&app).await;
    let mut body = vacancy_body(&employer_id);
    body["title"] = json!("   ");
    body["district_code"] = json!("2201"); // Oddar Meanchey, not Kampong Cham (12)
    body["wage_min_usd"] = json!(300);
    body["wage_max_usd"] = json!(200);
    body["required_skills"] = json!([
        {"skill": some_skill_id(), "min_level": 5},
        {"skill": "http://data.europa.eu/esco/skill/00000000-0000-4000-8000-000000000000", "min_level": 0}
    ]);
    let problem = assert_refused(
        &app,
        "/v1/vacancies",
        &body,
        &[
            "district_code",
            "required_skills[0].min_level",
            "required_skills[1].min_level",
            "required_skills[1].skill",
            "title",
            "wage_min_usd",
        ],
    )
    .await;
    assert_eq!(
        message_for(&problem, "district_code"),
        "is not in province 12"
    );
    assert_eq!(problem["detail"], "6 fields are invalid");
    assert_eq!(count(&app, Entity::Vacancy).await, 0);
}

#[tokio::test]
async fn type_errors_and_rule_errors_are_named_in_the_same_answer() {
    let app = spawn_app().await;
    let employer_id = employer_id(&app).await;
    // A bad enum value in a required field, beside four fields that break rules.
    let mut vacancy = vacancy_body(&employer_id);
    vacancy["sector"] = json!("mining");
    vacancy["title"] = json!("   ");
    vacancy["province_code"] = json!("99");
    vacancy["wage_min_usd"] = json!(300);
    vacancy["wage_max_usd"] = json!(200);
    vacancy["required_skills"] = json!([
        {"skill": some_skill_id(), "min_level": "two"},
        {"skill": "00000000-0000-4000-8000-000000000000", "min_level": 2}
    ]);
    let problem = assert_refused(
        &app,
        "/v1/vacancies",
        &vacancy,
        &[
            "province_code",
            "required_skills[0].min_level",
            "required_skills[1].skill",
            "sector",
            "title",
            "wage_min_usd",
        ],
    )
    .await;
    // The item that could not be read is named as sent, and so is the one after it.
    assert!(
        message_for(&problem, "required_skills[0].min_level").contains("invalid type"),
        "{problem}"
    );
    assert_eq!(
        message_for(&problem, "required_skills[1].skill"),
        "is not an ESCO skill id (see GET /v1/skills)"
    );

    // A required field missing, or of the wrong type, hides no rule either; a rule
    // that reads it (a district in its province) waits for it to be fixed.
    let mut employer = employer_body();
    employer.as_object_mut().unwrap().remove("name");
    employer["province_code"] = json!(12);
    employer["district_code"] = json!("2201");
    employer["contact_phone"] = json!("12");
    assert_refused(
        &app,
        "/v1/employers",
        &employer,
        &["contact_phone", "name", "province_code"],
    )
    .await;

    let mut worker = worker_body();
    worker["full_name"] = json!(["Sok"]);
    worker["sex"] = json!("unknown");
    worker["phone"] = json!("12");
    worker["date_of_birth"] = json!("1800-01-01");
    worker["preferred_sectors"] = json!(["mining", "garment", "garment"]);
    let fields = [
        "date_of_birth",
        "full_name",
        "phone",
        "preferred_sectors[0]",
        "preferred_sectors[2]",
        "sex",
    ];
    assert_refused(&app, "/v1/workers", &worker, &fields).await;

    // A preview and a batch item validate as a single create does.
    let preview = assert_problem(
        app.post(
            "/v1/match/preview",
            &app.staff_key,
            &json!({"worker": worker}),
        )
        .await,
        422,
    )
    .await;
    let prefixed: Vec<String> = fields
        .iter()
        .map(|field| format!("worker.{field}"))
        .collect();
    assert_eq!(error_fields(&preview), prefixed, "{preview}");
    let batch = app
        .post(
            "/v1/workers/batch",
            &app.staff_key,
            &json!({"items": [worker]}),
        )
        .await;
    assert_eq!(batch.status(), 200);
    let report: Value = batch.json().await.expect("json");
    assert_eq!(error_fields(&report["items"][0]), fields, "{report}");

    for entity in [Entity::Vacancy, Entity::Worker] {
        assert_eq!(count(&app, entity).await, 0, "{entity}");
    }
    assert_eq!(count(&app, Entity::Employer).await, 1);
}

#[tokio::test]
async fn missing_required_fields_are_each_named_as_required() {
    let app = spawn_app().await;
    let cases: [(&str, &[&str]); 3] = [
        ("/v1/employers", &["name", "province_code", "sector"]),
        (
            "/v1/vacancies",
            &["employer_id", "province_code", "sector", "title"],
        ),
        ("/v1/workers", &["full_name", "province_code"]),
    ];
    for (path, fields) in cases {
        let problem = assert_refused(&app, path, &json!({}), fields).await;
        for field in fields {
            assert_eq!(message_for(&problem, field), "is required", "{path}");
        }
    }
    // Nested required fields are named by their path.
    let mut worker = worker_body();
    worker["skills"] = json!([{"skill": some_skill_id(), "level": 2}, {"level": 2}]);
    let problem = assert_refused(&app, "/v1/workers", &worker, &["skills[1].skill"]).await;
    assert_eq!(message_for(&problem, "skills[1].skill"), "is required");

    for entity in [Entity::Employer, Entity::Vacancy, Entity::Worker] {
        assert_eq!(count(&app, entity).await, 0, "{entity}");
    }
}

#[tokio::test]
async fn values_of_the_wrong_type_are_named() {
    let app = spawn_app().await;
    let employer_id = employer_id(&app).await;
    let mut body = vacancy_body(&employer_id);
    body["positions"] = json!("many");
    body["wage_min_usd"] = json!("210");
    body["sector"] = json!("mining");
    body["benefits"] = json!("meals");
    body["starts_on"] = json!("next week");
    let problem = assert_refused(
        &app,
        "/v1/vacancies",
        &body,
        &[
            "benefits",
            "positions",
            "sector",
            "starts_on",
            "wage_min_usd",
        ],
    )
    .await;
    assert!(
        message_for(&problem, "positions").contains("invalid type"),
        "{problem}"
    );

    // Inside arrays, by their path.
    let mut body = vacancy_body(&employer_id);
    body["required_skills"] = json!([{"skill": some_skill_id(), "min_level": "two"}]);
    assert_refused(
        &app,
        "/v1/vacancies",
        &body,
        &["required_skills[0].min_level"],
    )
    .await;

    let mut worker = worker_body();
    worker["willing_to_relocate"] = json!("yes");
    worker["max_travel_km"] = json!([40]);
    worker["date_of_birth"] = json!("1995-02-30");
    assert_refused(
        &app,
        "/v1/workers",
        &worker,
        &["date_of_birth", "max_travel_km", "willing_to_relocate"],
    )
    .await;

    assert_eq!(count(&app, Entity::Vacancy).await, 0);
    assert_eq!(count(&app, Entity::Worker).await, 0);
}

#[tokio::test]
async fn numbers_out_of_range_are_named() {
    let app = spawn_app().await;
    let employer_id = employer_id(&app).await;
    let mut body = vacancy_body(&employer_id);
    body["positions"] = json!(0);
    body["wage_max_usd"] = json!(-5);
    body["min_experience_years"] = json!(61);
    assert_refused(
        &app,
        "/v1/vacancies",
        &body,
        &["min_experience_years", "positions", "wage_max_usd"],
    )
    .await;

    // Too large for the type, or negative for an unsigned count.
    let mut body = vacancy_body(&employer_id);
    body["positions"] = json!(-1);
    body["min_age"] = json!(1000);
    assert_refused(&app, "/v1/vacancies", &body, &["min_age", "positions"]).await;
    assert_eq!(count(&app, Entity::Vacancy).await, 0);
}

// ---------------------------------------------------------------------------
// Field rules
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_cambodian_phone_number_is_stored_in_e164_and_garbage_is_refused() {
    let app = spawn_app().await;
    let response = app
        .post("/v1/employers", &app.staff_key, &employer_body())
        .await;
    assert_eq!(response.status(), 201);
    let employer: Value = response.json().await.expect("json");
    assert_eq!(employer["contact_phone"], "+85512345678");

    for phone in ["12", "abc", "   "] {
        let mut body = employer_body();
        body["contact_phone"] = json!(phone);
        assert_refused(&app, "/v1/employers", &body, &["contact_phone"]).await;

        let mut body = worker_body();
        body["phone"] = json!(phone);
        assert_refused(&app, "/v1/workers", &body, &["phone"]).await;
    }
    assert_eq!(count(&app, Entity::Employer).await, 1);
    assert_eq!(count(&app, Entity::Worker).await, 0);
}

#[tokio::test]
async fn a_date_of_birth_in_the_future_or_two_centuries_ago_is_refused() {
    let app = spawn_app().await;
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    let ten_years_ago = (chrono::Utc::now() - chrono::Duration::days(3653)).date_naive();
    for date in [
        tomorrow.to_string(),
        "1800-01-01".to_string(),
        ten_years_ago.to_string(),
    ] {
        let mut body = worker_body();
        body["date_of_birth"] = json!(date);
        assert_refused(&app, "/v1/workers", &body, &["date_of_birth"]).await;
    }
    assert_eq!(count(&app, Entity::Worker).await, 0);
}

#[tokio::test]
async fn construction_work_needs_a_minimum_age_of_at_least_18() {
    let app = spawn_app().await;
    let employer_id = employer_id(&app).await;
    let mut body = vacancy_body(&employer_id);
    body["sector"] = json!("construction");
    body["min_age"] = json!(16);
    let problem = assert_refused(&app, "/v1/vacancies", &body, &["min_age"]).await;
    assert!(message_for(&problem, "min_age").contains("18"), "{problem}");
    assert_eq!(count(&app, Entity::Vacancy).await, 0);

    // 16 is lawful in garment work, 18 in construction.
    body["sector"] = json!("garment");
    assert_eq!(
        app.post("/v1/vacancies", &app.staff_key, &body)
            .await
            .status(),
        201
    );
    body["sector"] = json!("construction");
    body["min_age"] = json!(18);
    assert_eq!(
        app.post("/v1/vacancies", &app.staff_key, &body)
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn text_longer_than_its_limit_is_refused_counting_characters_not_bytes() {
    let app = spawn_app().await;
    let employer_id = employer_id(&app).await;

    let mut body = vacancy_body(&employer_id);
    body["title"] = json!("a".repeat(201));
    let problem = assert_refused(&app, "/v1/vacancies", &body, &["title"]).await;
    assert!(message_for(&problem, "title").contains("200"), "{problem}");

    let mut body = employer_body();
    body["name"] = json!("ក".repeat(201));
    assert_refused(&app, "/v1/employers", &body, &["name"]).await;
    assert_eq!(count(&app, Entity::Vacancy).await, 0);
    assert_eq!(count(&app, Entity::Employer).await, 1);

    // 200 Khmer characters are 600 bytes, and allowed.
    body["name"] = json!("ក".repeat(200));
    assert_eq!(
        app.post("/v1/employers", &app.staff_key, &body)
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn a_control_character_in_a_name_is_refused() {
    let app = spawn_app().await;
    let mut body = employer_body();
    body["name"] = json!("Angkor\u{0007}Garment");
    assert_refused(&app, "/v1/employers", &body, &["name"]).await;

    let mut body = worker_body();
    body["full_name"] = json!("Sok\u{0000}Chanthy");
    assert_refused(&app, "/v1/workers", &body, &["full_name"]).await;

    assert_eq!(count(&app, Entity::Employer).await, 0);
    assert_eq!(count(&app, Entity::Worker).await, 0);
}

#[tokio::test]
async fn server_owned_fields_in_a_post_body_are_named() {
    let app = spawn_app().await;
    let mut body = employer_body();
    body["id"] = json!("0b8f2c7e-3f5a-4c1d-9e2b-7a6d5c4b3a21");
    body["version"] = json!(7);
    body["created_at"] = json!("2020-01-01T00:00:00Z");
    let problem = assert_refused(
        &app,
        "/v1/employers",
        &body,
        &["created_at", "id", "version"],
    )
    .await;
    assert_eq!(
        message_for(&problem, "id"),
        "is not a field of this resource"
    );
    assert_eq!(count(&app, Entity::Employer).await, 0);
}

#[tokio::test]
async fn a_patch_that_sets_server_owned_or_unknown_fields_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let employer = app.create_employer().await;
    let path = format!("/v1/employers/{}", id_of(&employer));

    let patch = json!({"id": "0b8f2c7e-3f5a-4c1d-9e2b-7a6d5c4b3a21", "version": 9, "colour": "red", "name": "Renamed"});
    let problem = assert_problem(app.patch(&path, &app.staff_key, &patch, None).await, 422).await;
    assert_eq!(error_fields(&problem), vec!["colour", "id", "version"]);

    let patch = json!({"province_code": "99", "contact_phone": "abc"});
    let problem = assert_problem(app.patch(&path, &app.staff_key, &patch, None).await, 422).await;
    assert_eq!(
        error_fields(&problem),
        vec!["contact_phone", "province_code"]
    );

    // Removing a required field is refused too.
    let patch = json!({"name": null});
    let problem = assert_problem(app.patch(&path, &app.staff_key, &patch, None).await, 422).await;
    assert_eq!(error_fields(&problem), vec!["name"]);

    assert_eq!(read(&app, &path).await, employer);
}

#[tokio::test]
async fn an_if_match_that_is_not_an_etag_is_a_400_and_changes_nothing() {
    let app = spawn_app().await;
    let employer = app.create_employer().await;
    let path = format!("/v1/employers/{}", id_of(&employer));
    let response = app
        .patch(
            &path,
            &app.staff_key,
            &json!({"name": "Renamed"}),
            Some("yesterday"),
        )
        .await;
    let problem = assert_problem(response, 400).await;
    assert_eq!(error_fields(&problem), vec!["If-Match"]);
    assert_eq!(read(&app, &path).await, employer);
}

/// A bad `?wait_for=` is refused before the write: were it refused after, the
/// client would re-send a write that had been stored, and duplicate it.
#[tokio::test]
async fn a_bad_wait_for_is_a_400_and_writes_nothing() {
    let app = spawn_app().await;
    let employer = employer_id(&app).await;
    let creates = [
        ("/v1/workers", Entity::Worker, worker_body()),
        ("/v1/vacancies", Entity::Vacancy, vacancy_body(&employer)),
    ];
    for (path, entity, body) in creates {
        let before = count(&app, entity).await;
        let response = app
            .post(&format!("{path}?wait_for=yes"), &app.staff_key, &body)
            .await;
        let problem = assert_problem(response, 400).await;
        assert_eq!(error_fields(&problem), ["wait_for"], "{path}: {problem}");
        assert_eq!(count(&app, entity).await, before, "{path}: stored anyway");

        let response = app.post(path, &app.staff_key, &body).await;
        assert_eq!(response.status(), 201, "{path}");
        let stored: Value = response.json().await.expect("json");
        let record = format!("{path}/{}", id_of(&stored));
        let response = app
            .patch(
                &format!("{record}?wait_for=yes"),
                &app.staff_key,
                &json!({"province_code": "01"}),
                None,
            )
            .await;
        let problem = assert_problem(response, 400).await;
        assert_eq!(error_fields(&problem), ["wait_for"], "{record}: {problem}");
        assert_eq!(
            read(&app, &record).await,
            stored,
            "{record}: changed anyway"
        );
    }
}

#[tokio::test]
async fn a_vacancy_for_an_employer_that_does_not_exist_is_refused() {
    let app = spawn_app().await;
    for employer_id in ["0b8f2c7e-3f5a-4c1d-9e2b-7a6d5c4b3a21", "not-an-id"] {
        let problem = assert_refused(
            &app,
            "/v1/vacancies",
            &vacancy_body(employer_id),
            &["employer_id"],
        )
        .await;
        assert_eq!(
            message_for(&problem, "employer_id"),
            "no employer has this id"
        );
    }
    assert_eq!(count(&app, Entity::Vacancy).await, 0);
}

/// The rules checked beside validation (an employer key's `min_age`, an
/// employer that must exist) are named in the same 422 as validation's errors,
/// on create and on change: never one answer per fix.
#[tokio::test]
async fn vacancy_rule_errors_come_in_the_same_answer_as_validation_errors() {
    let app = spawn_app().await;
    let employer = employer_id(&app).await;
    let key = app.employer_key(&employer).await;
    let mut body = vacancy_body(&employer);
    body["sector"] = json!("not-a-sector");
    body["min_age"] = json!(31);
    let problem = assert_problem(app.post("/v1/vacancies", &key, &body).await, 422).await;
    assert_eq!(error_fields(&problem), ["min_age", "sector"], "{problem}");

    let mut body = vacancy_body("0b8f2c7e-3f5a-4c1d-9e2b-7a6d5c4b3a21");
    body["sector"] = json!("not-a-sector");
    assert_refused(&app, "/v1/vacancies", &body, &["employer_id", "sector"]).await;
    assert_eq!(count(&app, Entity::Vacancy).await, 0);

    let response = app
        .post("/v1/vacancies", &key, &vacancy_body(&employer))
        .await;
    assert_eq!(response.status(), 201);
    let stored: Value = response.json().await.expect("json");
    let path = format!("/v1/vacancies/{}", id_of(&stored));
    let patch = json!({"sector": "not-a-sector", "min_age": 31});
    let problem = assert_problem(app.patch(&path, &key, &patch, None).await, 422).await;
    assert_eq!(error_fields(&problem), ["min_age", "sector"], "{problem}");
    let patch = json!({
        "sector": "not-a-sector",
        "employer_id": "0b8f2c7e-3f5a-4c1d-9e2b-7a6d5c4b3a21"
    });
    let problem = assert_problem(app.patch(&path, &app.staff_key, &patch, None).await, 422).await;
    assert_eq!(
        error_fields(&problem),
        ["employer_id", "sector"],
        "{problem}"
    );
    assert_eq!(read(&app, &path).await, stored);
}

// ---------------------------------------------------------------------------
// Paths and methods
// ---------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_id_is_a_404_problem() {
    let app = spawn_app().await;
    let unknown = "0b8f2c7e-3f5a-4c1d-9e2b-7a6d5c4b3a21";
    for resource in ["employers", "vacancies", "workers"] {
        let path = format!("/v1/{resource}/{unknown}");
        let problem = assert_problem(app.get(&path, &app.admin_key).await, 404).await;
        assert_eq!(problem["type"], "not_found");
        assert_problem(
            app.patch(&path, &app.admin_key, &json!({"name": "x"}), None)
                .await,
            404,
        )
        .await;
    }
    for resource in ["vacancies", "workers"] {
        let path = format!("/v1/{resource}/{unknown}");
        let response = app
            .request(Method::DELETE, &path, &app.admin_key)
            .send()
            .await
            .expect("request sent");
        assert_problem(response, 404).await;
    }
}

#[tokio::test]
async fn an_id_that_is_not_a_uuid_is_a_404_problem() {
    let app = spawn_app().await;
    let employer = app.create_employer().await;
    let upper = id_of(&employer).to_uppercase();
    for id in ["not-a-uuid", "1", "%27%20OR%201%3D1", upper.as_str()] {
        for resource in ["employers", "vacancies", "workers"] {
            let path = format!("/v1/{resource}/{id}");
            assert_problem(app.get(&path, &app.admin_key).await, 404).await;
        }
    }
}

#[tokio::test]
async fn an_unknown_path_is_a_404_problem() {
    let app = spawn_app().await;
    for path in ["/v1/nothing", "/v2/employers", "/", "/v1/employers/a/b/c"] {
        assert_problem(app.get(path, &app.admin_key).await, 404).await;
    }
    // Without a key too: nothing about the API is revealed, and no 5xx.
    let response = app
        .client
        .get(format!("{}/v1/nothing", app.address))
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 404).await;
}

#[tokio::test]
async fn a_wrong_method_on_a_known_path_is_a_405_with_allow() {
    let app = spawn_app().await;
    let employer = app.create_employer().await;
    let path = format!("/v1/employers/{}", id_of(&employer));

    let response = app
        .request(Method::PUT, &path, &app.staff_key)
        .json(&employer_body())
        .send()
        .await
        .expect("request sent");
    let allow = response
        .headers()
        .get("allow")
        .map(|value| value.to_str().unwrap_or_default().to_string())
        .expect("an Allow header");
    let mut methods: Vec<&str> = allow.split(',').map(str::trim).collect();
    methods.sort_unstable();
    assert_eq!(methods, vec!["GET", "PATCH"], "Allow: {allow}");
    let problem = assert_problem(response, 405).await;
    assert_eq!(problem["type"], "method_not_allowed");

    let response = app
        .request(Method::DELETE, &path, &app.staff_key)
        .send()
        .await
        .expect("request sent");
    assert!(response.headers().contains_key("allow"));
    assert_problem(response, 405).await;

    let response = app.post("/v1/sectors", &app.staff_key, &json!({})).await;
    assert_problem(response, 405).await;

    assert_eq!(read(&app, &path).await, employer);
}

// ---------------------------------------------------------------------------
// Query strings
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_bad_query_parameter_is_a_400_naming_it() {
    let app = spawn_app().await;
    let cases = [
        ("/v1/vacancies?status=bogus", "status"),
        ("/v1/employers?sector=mining", "sector"),
        ("/v1/workers?status=retired", "status"),
        ("/v1/skills?limit=0", "limit"),
        ("/v1/occupations?limit=1000", "limit"),
    ];
    for (path, field) in cases {
        let problem = assert_problem(app.get(path, &app.admin_key).await, 400).await;
        assert_eq!(error_fields(&problem), vec![field], "{path}: {problem}");
    }
    let long_query = format!("/v1/skills?q={}", "a".repeat(201));
    let problem = assert_problem(app.get(&long_query, &app.admin_key).await, 400).await;
    assert_eq!(error_fields(&problem), vec!["q"]);
}

// ---------------------------------------------------------------------------
// Never a 5xx
// ---------------------------------------------------------------------------

#[tokio::test]
async fn hostile_bodies_never_cause_a_5xx() {
    let app = spawn_app().await;
    let employer_id = employer_id(&app).await;
    let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let deep_in_field = format!(r#"{{"name": {}"x"{}}}"#, "[".repeat(5000), "]".repeat(5000));
    let vacancy = vacancy_body(&employer_id).to_string();
    let raw_bodies: Vec<(&str, String)> = vec![
        ("/v1/employers", deep),
        ("/v1/employers", deep_in_field),
        ("/v1/vacancies", vacancy.replace("210", "1e400")),
        (
            "/v1/vacancies",
            vacancy.replace("\"positions\":20", "\"positions\":99999999999999999999"),
        ),
        ("/v1/vacancies", vacancy.replace("210", "NaN")),
        (
            "/v1/employers",
            "{\"name\": \"\\ud800\", \"sector\": \"garment\", \"province_code\": \"12\"}"
                .to_string(),
        ),
        (
            "/v1/workers",
            r#"{"full_name": "A", "province_code": {"$gt": ""}}"#.to_string(),
        ),
        (
            "/v1/workers",
            r#"{"full_name": "A", "province_code": "12' OR '1'='1"}"#.to_string(),
        ),
    ];
    for (path, text) in raw_bodies {
        let response = send_raw(
            &app,
            Method::POST,
            path,
            Some("application/json"),
            text.clone(),
        )
        .await;
        let status = response.status().as_u16();
        let shown: String = text.chars().take(80).collect();
        assert!((400..500).contains(&status), "{path} {shown}: {status}");
        assert_problem(response, status).await;
    }
    // Invalid UTF-8.
    let response = send_raw(
        &app,
        Method::POST,
        "/v1/employers",
        Some("application/json"),
        b"{\"name\": \"\xff\xfe\", \"sector\": \"garment\", \"province_code\": \"12\"}".to_vec(),
    )
    .await;
    assert_problem(response, 400).await;

    assert_eq!(count(&app, Entity::Employer).await, 1);
    assert_eq!(count(&app, Entity::Vacancy).await, 0);
    assert_eq!(count(&app, Entity::Worker).await, 0);
}

#[tokio::test]
async fn a_skill_listed_twice_is_named_even_when_once_written_as_a_uri() {
    let app = spawn_app().await;
    let employer_id = employer_id(&app).await;
    let skill = some_skill_id();
    let mut body = vacancy_body(&employer_id);
    body["required_skills"] = json!([
        {"skill": skill, "min_level": 2},
        {"skill": format!("http://data.europa.eu/esco/skill/{skill}"), "min_level": 3}
    ]);
    let problem = assert_refused(&app, "/v1/vacancies", &body, &["required_skills[1].skill"]).await;
    assert_eq!(
        message_for(&problem, "required_skills[1].skill"),
        "is listed twice"
    );
    assert_eq!(count(&app, Entity::Vacancy).await, 0);
}

#[tokio::test]
async fn more_skills_than_allowed_are_refused_naming_the_list() {
    let app = spawn_app().await;
    let skills: Vec<Value> = jobmatch_domain::Reference::embedded().taxonomy.skills()[..101]
        .iter()
        .map(|skill| json!({"skill": skill.id, "level": 2}))
        .collect();
    let mut body = worker_body();
    body["skills"] = json!(skills);
    assert_refused(&app, "/v1/workers", &body, &["skills"]).await;
    assert_eq!(count(&app, Entity::Worker).await, 0);
}

#[tokio::test]
async fn a_trailing_slash_is_a_404_not_a_405_that_allows_the_method_used() {
    let app = spawn_app().await;
    for path in ["/v1/employers/", "/v1/vacancies/", "/v1/workers/"] {
        let response = app.get(path, &app.admin_key).await;
        let allow = response
            .headers()
            .get("allow")
            .map(|value| value.to_str().unwrap_or_default().to_string());
        assert_problem(response, 404).await;
        assert_eq!(allow, None, "{path}");
    }
}
