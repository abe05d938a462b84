//! The OpenAPI 3.1 document.
//!
//! Paths and schemas come from the `#[utoipa::path]` annotations of the routes,
//! collected as they are registered. A final pass, [`finish`], adds what is the
//! same for every operation (authentication and the errors any endpoint can
//! answer), so that each handler declares only what is particular to it:
//! - flattened resource schemas become plain objects (the input types forbid
//!   unknown fields, which would otherwise reject the server-owned ones);
//! - `PATCH` bodies point at a `...Patch` schema: the input with nothing required;
//! - every `/v1` operation gets 400, 401, 403 and 429-free error answers as
//!   problem+json, and operations with a body get 413 and 415.

use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use crate::error::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "jobmatch",
        description = "Job matching for Cambodian migrant workers returning home: returnee profiles, \
employers and vacancies, with explainable matches.\n\n\
Authenticate with `Authorization: Bearer <api key>`. Errors are `application/problem+json` \
(RFC 9457); invalid input lists every bad field in `errors`.\n\n\
This service uses the ESCO classification of the European Commission. It carries a modified \
subset of ESCO v1.1.1. Places come from the NCDD gazetteer (db.ncdd.gov.kh) and the Ministry of Economy \
and Finance (GDDE) lists; Thai provinces from thailand-geodata (MIT).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "reference", description = "Sectors, places and the ESCO taxonomy"),
        (name = "employers", description = "Businesses that post vacancies"),
        (name = "vacancies", description = "Jobs on offer"),
        (name = "workers", description = "Returnee profiles (staff only)"),
        (name = "operations", description = "Health, readiness and metrics"),
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some("An API key made with `jobmatch keys create`".to_string());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Input schemas whose `PATCH` counterpart is generated.
const PATCHABLE: [(&str, &str); 3] = [
    ("EmployerInput", "EmployerPatch"),
    ("VacancyInput", "VacancyPatch"),
    ("WorkerInput", "WorkerPatch"),
];

/// Applies the document-wide rules described at the top of this module.
pub fn finish(document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut value = serde_json::to_value(&document).expect("an OpenAPI document serialises");
    finish_json(&mut value);
    serde_json::from_value(value).expect("the finished document is still an OpenAPI document")
}

fn finish_json(document: &mut Value) {
    flatten_all_of_objects(document);
    add_patch_schemas(document);
    add_common_responses(document);
}

fn flatten_all_of_objects(document: &mut Value) {
    let Some(schemas) = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    let resolve = |schema: &Value| -> Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => schemas
                .get(reference.trim_start_matches("#/components/schemas/"))
                .cloned()
                .unwrap_or(Value::Null),
            None => schema.clone(),
        }
    };
    let mut flattened = Map::new();
    for (name, schema) in &schemas {
        let Some(parts) = schema.get("allOf").and_then(Value::as_array) else {
            continue;
        };
        let mut properties = Map::new();
        let mut required: Vec<Value> = Vec::new();
        for part in parts.iter().map(resolve) {
            if let Some(part_properties) = part.get("properties").and_then(Value::as_object) {
                properties.extend(part_properties.clone());
            }
            if let Some(part_required) = part.get("required").and_then(Value::as_array) {
                required.extend(part_required.iter().cloned());
            }
        }
        let mut object = json!({"type": "object", "properties": properties, "required": required});
        if let Some(description) = schema.get("description") {
            object["description"] = description.clone();
        }
        flattened.insert(name.clone(), object);
    }
    if let Some(target) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        target.extend(flattened);
    }
}

fn add_patch_schemas(document: &mut Value) {
    for (input, patch) in PATCHABLE {
        let Some(mut schema) = document
            .pointer(&format!("/components/schemas/{input}"))
            .cloned()
        else {
            continue;
        };
        if let Some(object) = schema.as_object_mut() {
            object.remove("required");
            object.remove("example");
            object.insert(
                "description".into(),
                Value::String(format!(
                    "A JSON merge patch (RFC 7396) of {input}: fields present replace the stored ones, \
                     null removes an optional one; the result must be a valid {input}."
                )),
            );
        }
        document["components"]["schemas"][patch] = schema;
        let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
            continue;
        };
        for item in paths.values_mut() {
            let Some(content) = item.pointer_mut("/patch/requestBody/content") else {
                continue;
            };
            let Some(media) = content.get("application/merge-patch+json").cloned() else {
                continue;
            };
            if media.pointer("/schema/$ref").and_then(Value::as_str)
                != Some(&format!("#/components/schemas/{input}"))
            {
                continue;
            }
            let patched = json!({"schema": {"$ref": format!("#/components/schemas/{patch}")}});
            content["application/merge-patch+json"] = patched.clone();
            content["application/json"] = patched;
        }
    }
}

fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

fn add_common_responses(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            if !matches!(method.as_str(), "get" | "post" | "patch" | "put" | "delete") {
                continue;
            }
            let public = operation
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|requirements| {
                    requirements
                        .iter()
                        .all(|requirement| requirement.as_object().is_some_and(Map::is_empty))
                });
            let has_body = operation.get("requestBody").is_some();
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status.to_string())
                    .or_insert_with(|| problem_response(description));
            };
            if path.starts_with("/v1/") {
                add(
                    "400",
                    "Malformed request: the problem names the query parameter, header or body at fault",
                );
            }
            if !public {
                add("401", "No API key, or an unknown, revoked or expired one");
                add("403", "The key's role may not do this");
            }
            if has_body {
                add("413", "The body is larger than 256 KiB");
                add("415", "The body is not JSON");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_schema_requires_nothing() {
        let mut document = json!({
            "paths": {"/v1/x/{id}": {"patch": {"requestBody": {"content": {"application/merge-patch+json": {"schema": {"$ref": "#/components/schemas/EmployerInput"}}}}, "responses": {}}}},
            "components": {"schemas": {"EmployerInput": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}
        });
        finish_json(&mut document);
        assert!(
            document
                .pointer("/components/schemas/EmployerPatch/required")
                .is_none()
        );
        assert_eq!(
            document.pointer(
                "/paths/~1v1~1x~1{id}/patch/requestBody/content/application~1json/schema/$ref"
            ),
            Some(&json!("#/components/schemas/EmployerPatch"))
        );
        assert!(
            document
                .pointer("/paths/~1v1~1x~1{id}/patch/responses/415")
                .is_some()
        );
    }
}
