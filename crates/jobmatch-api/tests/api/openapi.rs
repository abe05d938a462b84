//! The committed OpenAPI document is what the server serves, and it is whole.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi/openapi.json")
}

async fn served_document() -> Value {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200);
    response.json().await.expect("the served document is JSON")
}

#[tokio::test]
async fn committed_spec_matches_what_the_server_serves() {
    let served = served_document().await;
    let generated = jobmatch_api::api_document()
        .to_pretty_json()
        .expect("document serialises");
    if std::env::var_os("JOBMATCH_UPDATE_OPENAPI").is_some() {
        std::fs::write(committed_path(), format!("{generated}\n"))
            .expect("openapi/openapi.json written");
    }
    let committed_text =
        std::fs::read_to_string(committed_path()).expect("openapi/openapi.json exists");
    let committed: Value =
        serde_json::from_str(&committed_text).expect("committed document is JSON");
    assert!(
        committed == served,
        "openapi/openapi.json differs from what the server serves; regenerate it with \
         `cargo run -p jobmatch -- openapi > openapi/openapi.json` (or JOBMATCH_UPDATE_OPENAPI=1 cargo test)"
    );
    assert_eq!(
        committed_text.trim_end(),
        generated.trim_end(),
        "`jobmatch openapi` prints the committed file"
    );
}

fn collect_refs<'a>(value: &'a Value, refs: &mut Vec<&'a str>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                match (key.as_str(), child) {
                    ("$ref", Value::String(reference)) => refs.push(reference),
                    _ => collect_refs(child, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

#[tokio::test]
async fn every_ref_in_the_served_document_resolves() {
    let document = served_document().await;
    let mut refs = Vec::new();
    collect_refs(&document, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {reference}"));
        assert!(
            document.pointer(pointer).is_some(),
            "$ref {reference} does not resolve"
        );
    }
}

/// The paths `API-CONTRACT.md` promises partner systems.
const CONTRACT_OPERATIONS: [(&str, &str); 22] = [
    ("get", "/v1/sectors"),
    ("get", "/v1/provinces"),
    ("get", "/v1/provinces/{code}/districts"),
    ("get", "/v1/districts/{code}/communes"),
    ("get", "/v1/occupations"),
    ("get", "/v1/skills"),
    ("post", "/v1/employers"),
    ("get", "/v1/employers/{id}"),
    ("patch", "/v1/employers/{id}"),
    ("post", "/v1/vacancies"),
    ("get", "/v1/vacancies"),
    ("get", "/v1/vacancies/{id}"),
    ("patch", "/v1/vacancies/{id}"),
    ("delete", "/v1/vacancies/{id}"),
    ("post", "/v1/workers"),
    ("get", "/v1/workers"),
    ("get", "/v1/workers/{id}"),
    ("patch", "/v1/workers/{id}"),
    ("delete", "/v1/workers/{id}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
];

#[tokio::test]
async fn every_contract_operation_is_in_the_served_document() {
    let document = served_document().await;
    for (method, path) in CONTRACT_OPERATIONS {
        assert!(
            document["paths"][path][method].is_object(),
            "{} {path} is missing",
            method.to_uppercase()
        );
    }
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|version| version.starts_with("3.1"))
    );
    let description = document["info"]["description"].as_str().unwrap_or_default();
    assert!(
        description
            .contains("This service uses the ESCO classification of the European Commission.")
    );
}

#[tokio::test]
async fn every_operation_has_a_summary_a_description_and_its_errors() {
    let document = served_document().await;
    let paths = document["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            let name = format!("{} {path}", method.to_uppercase());
            assert!(
                operation["summary"]
                    .as_str()
                    .is_some_and(|text| !text.is_empty()),
                "{name} has no summary"
            );
            assert!(
                operation["description"]
                    .as_str()
                    .is_some_and(|text| !text.is_empty()),
                "{name} has no description"
            );
            assert!(
                operation["operationId"].is_string(),
                "{name} has no operationId"
            );
            let responses = operation["responses"].as_object().expect("responses");
            if path.starts_with("/v1/") {
                for status in ["400", "401", "403"] {
                    assert!(
                        responses.contains_key(status),
                        "{name} does not document {status}"
                    );
                }
            }
            if operation.get("requestBody").is_some() {
                assert!(
                    responses.contains_key("422") || responses.contains_key("415"),
                    "{name} documents no input error"
                );
            }
        }
    }
}

#[tokio::test]
async fn every_operation_documents_the_limits_it_can_answer_with_and_the_server() {
    let document = served_document().await;
    assert_eq!(
        document["servers"][0]["url"], "/",
        "{}",
        document["servers"]
    );
    let mut unused: Vec<String> = document["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
        .map(|name| format!("#/components/schemas/{name}"))
        .collect();
    let text = document.to_string();
    unused.retain(|reference| !text.contains(&format!("\"{reference}\"")));
    assert_eq!(
        unused,
        Vec::<String>::new(),
        "components no document refers to"
    );
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let name = format!("{} {path}", method.to_uppercase());
            let responses = &operation["responses"];
            // The time limit covers every request.
            assert!(responses["503"].is_object(), "{name} does not document 503");
            // The request rate is counted per key: every operation that takes one.
            let open = operation["security"] == json!([{}]);
            if open {
                assert!(responses["429"].is_null(), "{name} has no key to limit");
            } else {
                let retry_after = &responses["429"]["headers"]["Retry-After"];
                assert_eq!(
                    retry_after["schema"]["type"], "integer",
                    "{name}: 429 without Retry-After"
                );
                assert_eq!(
                    responses["429"]["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{name}"
                );
            }
        }
    }
    let batch_too_large = &document["paths"]["/v1/workers/batch"]["post"]["responses"]["413"];
    assert_eq!(
        batch_too_large["description"],
        "The body is larger than 16 MiB"
    );
}

#[tokio::test]
async fn interactive_documentation_is_served_from_the_binary() {
    let app = spawn_app().await;
    let page = app
        .client
        .get(format!("{}/docs/", app.address))
        .send()
        .await
        .expect("request sent");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("text");
    assert!(html.contains("swagger-ui"), "the page is Swagger UI");
    // The assets come from the binary, not from a CDN: a resource centre may be offline.
    assert!(
        !html.contains("https://"),
        "the page loads nothing from the internet"
    );
    let script = app
        .client
        .get(format!("{}/docs/swagger-ui-bundle.js", app.address))
        .send()
        .await
        .expect("request sent");
    assert_eq!(script.status(), 200);
    assert!(script.bytes().await.expect("body").len() > 100_000);
}
