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
