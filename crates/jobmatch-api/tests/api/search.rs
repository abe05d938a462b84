//! Vacancy search through HTTP: Khmer, typos, facets, and always in step with the
//! database.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app};

async fn vacancy(
    app: &TestApp,
    employer_id: &str,
    title: &str,
    sector: &str,
    province: &str,
) -> String {
    let body = json!({"employer_id": employer_id, "title": title, "sector": sector, "province_code": province});
    let response = app.post("/v1/vacancies", &app.staff_key, &body).await;
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string()
}

async fn search(app: &TestApp, query: &str) -> Value {
    let response = app
        .get(&format!("/v1/vacancies?{query}"), &app.staff_key)
        .await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.expect("json")
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn part_of_a_khmer_compound_finds_the_vacancy_with_facets_and_total() {
    let app = spawn_app().await;
    let employer = app.create_employer().await;
    let employer_id = employer["id"].as_str().unwrap();
    let wanted = vacancy(
        &app,
        employer_id,
        "ត្រូវការកម្មករសំណង់ជាបន្ទាន់",
        "construction",
        "12",
    )
    .await;
    vacancy(
        &app,
        employer_id,
        "Sewing machine operator",
        "garment",
        "12",
    )
    .await;
    let page = search(&app, "q=%E1%9E%9F%E1%9F%86%E1%9E%8E%E1%9E%84%E1%9F%8B").await; // សំណង់
    assert_eq!(ids(&page), vec![wanted]);
    assert_eq!(page["total"], 1);
    assert_eq!(
        page["facets"]["sector"],
        json!([{"value": "construction", "count": 1}])
    );
}

#[tokio::test]
async fn a_typo_still_finds_the_vacancy_and_a_closed_one_is_gone_at_once() {
    let app = spawn_app().await;
    let employer = app.create_employer().await;
    let sewing = vacancy(
        &app,
        employer["id"].as_str().unwrap(),
        "Sewing machine operator",
        "garment",
        "12",
    )
    .await;
    assert_eq!(
        ids(&search(&app, "q=sewng%20machine").await),
        vec![sewing.clone()]
    );
    let closed = app
        .request(
            reqwest::Method::DELETE,
            &format!("/v1/vacancies/{sewing}"),
            &app.staff_key,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);
    assert!(
        ids(&search(&app, "q=sewing").await).is_empty(),
        "a closed vacancy is not listed as open"
    );
    assert_eq!(
        ids(&search(&app, "q=sewing&status=closed").await),
        vec![sewing]
    );
}

#[tokio::test]
async fn query_syntax_in_user_text_is_only_text_and_bad_cursors_are_refused() {
    let app = spawn_app().await;
    let employer = app.create_employer().await;
    vacancy(
        &app,
        employer["id"].as_str().unwrap(),
        "Welder",
        "construction",
        "12",
    )
    .await;
    for text in [
        "employer_id:x",
        "%22unbalanced",
        "(welder",
        "title:welder%20AND%20*",
    ] {
        search(&app, &format!("q={text}")).await;
    }
    let bad = app
        .get("/v1/vacancies?cursor=not-a-cursor", &app.staff_key)
        .await;
    assert!(
        assert_problem(bad, 400)
            .await
            .to_string()
            .contains("cursor")
    );
}

#[tokio::test]
async fn while_the_search_index_rebuilds_searches_answer_503_and_everything_else_works() {
    let app = spawn_app().await;
    let employer = app.create_employer().await;
    let employer_id = employer["id"].as_str().unwrap();
    let welder = vacancy(&app, employer_id, "Welder", "construction", "12").await;

    // A second server over the same database, whose search index on disk is missing;
    // its rebuild is held until the test has looked.
    let search_dir = tempfile::tempdir().expect("temporary directory");
    let (release_rebuild, hold) = tokio::sync::oneshot::channel();
    let rebuilding = jobmatch_api::Application::build_with(
        "127.0.0.1:0",
        app.store.clone(),
        Some(search_dir.path()),
        jobmatch_api::server::StartOptions {
            hold_search_rebuild: Some(hold),
            ..jobmatch_api::server::StartOptions::default()
        },
    )
    .await
    .expect("server starts without waiting for the rebuild");
    let address = format!("http://127.0.0.1:{}", rebuilding.port());
    tokio::spawn(rebuilding.run());
    let get = |path: &str| {
        app.client
            .get(format!("{address}{path}"))
            .bearer_auth(&app.staff_key)
            .send()
    };

    let ready = get("/readyz").await.expect("sent");
    let not_ready = assert_problem(ready, 503).await;
    assert_eq!(not_ready["search"], "rebuilding", "{not_ready}");
    assert_eq!(not_ready["database"], "sqlite", "{not_ready}");
    assert!(
        not_ready["change_feed_seq"]
            .as_i64()
            .is_some_and(|seq| seq > 0)
    );
    assert!(not_ready["indexed_seq"].is_i64(), "{not_ready}");

    let searched = get("/v1/vacancies?q=welder").await.expect("sent");
    let retry_after = searched
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u32>().ok());
    assert!(
        retry_after.is_some_and(|seconds| seconds > 0),
        "{retry_after:?}"
    );
    let problem = assert_problem(searched, 503).await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("rebuilt")),
        "{problem}"
    );

    // Reads and writes that do not search are served as usual.
    let read = get(&format!("/v1/vacancies/{welder}")).await.expect("sent");
    assert_eq!(read.status(), 200);
    let written = app
        .client
        .post(format!("{address}/v1/vacancies?wait_for=indexed"))
        .bearer_auth(&app.staff_key)
        .json(&json!({"employer_id": employer_id, "title": "Electrician", "sector": "construction", "province_code": "12"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(written.status(), 201);
    let electrician = written.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string();

    release_rebuild.send(()).expect("the rebuild is waiting");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let ready = get("/readyz").await.expect("sent");
        if ready.status() == 200 {
            let ready: Value = ready.json().await.expect("json");
            assert_eq!(ready["search"], "ready");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the rebuild did not finish"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    for (query, expected) in [("q=welder", welder), ("q=electrician", electrician)] {
        let found = get(&format!("/v1/vacancies?{query}")).await.expect("sent");
        assert_eq!(found.status(), 200, "{query}");
        let page: Value = found.json().await.expect("json");
        assert_eq!(ids(&page), vec![expected], "{query}: {page}");
    }
}

#[tokio::test]
async fn a_lagging_index_never_shows_a_moved_vacancy_and_readyz_says_how_far_behind_it_is() {
    let app = spawn_app().await;
    let first = app.create_employer().await;
    let first_id = first["id"].as_str().unwrap().to_string();
    let second = app.create_employer().await;
    let second_id = second["id"].as_str().unwrap().to_string();
    let moving = vacancy(&app, &first_id, "Welder", "construction", "12").await;

    // A second server over the same database, whose search index applies no
    // change while the test holds `pause`.
    let pause = std::sync::Arc::new(tokio::sync::Mutex::new(()));
    let lagging = jobmatch_api::Application::build_with(
        "127.0.0.1:0",
        app.store.clone(),
        None,
        jobmatch_api::server::StartOptions {
            pause_search_following: Some(pause.clone()),
            ..jobmatch_api::server::StartOptions::default()
        },
    )
    .await
    .expect("server starts");
    let address = format!("http://127.0.0.1:{}", lagging.port());
    tokio::spawn(lagging.run());
    let get = |path: String, key: String| {
        let request = app.client.get(format!("{address}{path}")).bearer_auth(key);
        async move { request.send().await.expect("sent") }
    };
    let first_key = app.employer_key(&first_id).await;
    let second_key = app.employer_key(&second_id).await;
    let found_by = |key: String| {
        let get = &get;
        async move {
            let page: Value = get("/v1/vacancies?q=welder".into(), key)
                .await
                .json()
                .await
                .expect("json");
            ids(&page)
        }
    };
    assert_eq!(found_by(first_key.clone()).await, vec![moving.clone()]);

    let held = pause.lock().await;
    let moved = app
        .patch(
            &format!("/v1/vacancies/{moving}"),
            &app.staff_key,
            &json!({"employer_id": second_id}),
            None,
        )
        .await;
    assert_eq!(moved.status(), 200);
    // More changes than a ready server may be behind (employers need no
    // validation in the store, and each is one change).
    let documents: Vec<(String, String, String)> = (0
        ..=jobmatch_api::routes::ops::SEARCH_READY_LAG)
        .map(|n| {
            (
                uuid::Uuid::new_v4().to_string(),
                format!("bulk-{n}"),
                json!({"name": format!("Bulk employer {n}")}).to_string(),
            )
        })
        .collect();
    let columns = jobmatch_store::Columns::default();
    let batch: Vec<jobmatch_store::BatchRecord<'_>> = documents
        .iter()
        .map(|(id, external_id, body)| jobmatch_store::BatchRecord {
            id,
            external_id: Some(external_id),
            columns: &columns,
            body,
        })
        .collect();
    app.store
        .upsert_many(jobmatch_store::Entity::Employer, "bulk", &batch)
        .await
        .expect("bulk written");

    // The index still files the vacancy under the first employer; the stored row
    // decides.
    assert_eq!(found_by(first_key.clone()).await, Vec::<String>::new());
    let not_ready = assert_problem(get("/readyz".into(), app.staff_key.clone()).await, 503).await;
    assert_eq!(not_ready["search"], "catching_up", "{not_ready}");
    assert!(
        not_ready["search_lag"]
            .as_i64()
            .is_some_and(|lag| lag > jobmatch_api::routes::ops::SEARCH_READY_LAG),
        "{not_ready}"
    );

    drop(held);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let ready = get("/readyz".into(), app.staff_key.clone()).await;
        if ready.status() == 200 {
            let ready: Value = ready.json().await.expect("json");
            assert_eq!(ready["search"], "ready", "{ready}");
            let lag = ready["search_lag"].as_i64().expect("search_lag");
            assert!(
                lag <= jobmatch_api::routes::ops::SEARCH_READY_LAG,
                "{ready}"
            );
            if lag == 0 {
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "search never caught up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(found_by(first_key).await, Vec::<String>::new());
    assert_eq!(found_by(second_key).await, vec![moving]);
}
