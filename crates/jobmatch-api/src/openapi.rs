//! The OpenAPI 3.1 document.
//!
//! Paths and schemas come from the `#[utoipa::path]` annotations of the routes,
//! collected as they are registered. A final pass, [`finish`], adds what is the
//! same for every operation (authentication and the errors any endpoint can
//! answer), so that each handler declares only what is particular to it:
//! - flattened resource schemas become plain objects (the input types forbid
//!   unknown fields, which would otherwise reject the server-owned ones), in
//!   components and inline (the items of a page) alike;
//! - `PATCH` bodies point at a `...Patch` schema: the input with nothing required,
//!   optional fields nullable (`null` removes them) and nested objects patches too;
//! - every success response carrying a record documents its `ETag`;
//! - every `/v1` operation gets 400, every authenticated one 401, 403 and 429
//!   (with `Retry-After`), every operation 503 (the time limit), all as
//!   problem+json, and operations with a body get 413 and 415;
//! - `servers` names the server that serves the document (a relative URL);
//! - a list of a generic type (`Items<SkillItem>`) refers to its item's
//!   component instead of repeating it inline.

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
(RFC 9457); invalid input lists every bad field in `errors`. Every `/v1/` answer carries \
`Cache-Control: no-store`: most hold personal data.\n\n\
Any write (`POST`, `PUT`, `PATCH`, `DELETE`) may carry an `Idempotency-Key` header (1 to 255 visible \
ASCII characters, such as a UUID): re-sent with the same key, method, path, query and body by the \
same API key within 24 hours, it gets the first answer again, with `Idempotent-Replayed: true`, and \
nothing is written twice. The same key with another request is a 422 naming `Idempotency-Key`; \
while the first request still runs, a 409 with `Retry-After`. Server errors and contact releases \
are not kept. A kept answer that carried a returnee's profile is replaced, when the returnee is \
erased, by a 410 Gone problem: the retry is not run again.\n\n\
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
        (name = "matching", description = "Ranked, explained matches between returnees and vacancies"),
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
    // Relative: the API is where the document is served, on any host and port.
    // The second entry says how another machine reaches it: over HTTPS only.
    document["servers"] = json!([
        {
            "url": "/",
            "description": "The server that serves this document"
        },
        {
            "url": "https://{host}",
            "description": "From another machine: always HTTPS, with the server's own TLS \
                (`serve --tls-cert FILE --tls-key FILE`; at a resource centre, a certificate \
                from `jobmatch tls init` whose SHA-256 fingerprint staff check once) or behind \
                a TLS-terminating reverse proxy (`--trusted-proxy`). The server refuses to \
                serve plain HTTP on any address but loopback.",
            "variables": {
                "host": {
                    "default": "localhost:8443",
                    "description": "The server's name or address and port, as in its certificate"
                }
            }
        }
    ]);
    refer_to_inlined_item_components(document);
    flatten_all_of_objects(document);
    add_patch_schemas(document);
    add_etag_headers(document);
    add_wait_for_parameter(document);
    add_common_responses(document);
    any_of_for_overlapping_unions(document);
    add_links(document);
    forbid_control_characters_in_query_text(document);
}

/// What `Params` refuses in every query parameter: control characters other
/// than tab and line feed. Said in the document for each free-text parameter
/// (those with no enum, pattern or format of their own, which already exclude
/// them).
fn forbid_control_characters_in_query_text(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(operations) = item.as_object_mut() else {
            continue;
        };
        for operation in operations.values_mut() {
            let Some(parameters) = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for parameter in parameters {
                if parameter["in"] != "query" {
                    continue;
                }
                let Some(schema) = parameter.get_mut("schema").and_then(Value::as_object_mut)
                else {
                    continue;
                };
                let is_string = schema.get("type").is_some_and(|kind| {
                    kind == "string"
                        || kind
                            .as_array()
                            .is_some_and(|kinds| kinds.contains(&json!("string")))
                });
                let constrained = ["enum", "pattern", "format", "$ref"]
                    .iter()
                    .any(|keyword| schema.contains_key(*keyword));
                if is_string && !constrained {
                    schema.insert(
                        "pattern".to_string(),
                        json!("^[^\\x00-\\x08\\x0B-\\x1F\\x7F-\\x9F]*$"),
                    );
                }
            }
        }
    }
}

/// utoipa writes the items of a generic list (`Items<SkillItem>`) inline while
/// still registering the item's component, which is then unused; a list whose
/// items are exactly a component refers to it instead.
fn refer_to_inlined_item_components(document: &mut Value) {
    let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let components: Vec<(String, Value)> = schemas
        .iter()
        .map(|(name, schema)| (name.clone(), schema.clone()))
        .collect();
    for schema in schemas.values_mut() {
        let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        for property in properties.values_mut() {
            let Some(items) = property.get_mut("items") else {
                continue;
            };
            if let Some((name, _)) = components.iter().find(|(_, component)| component == items) {
                *items = json!({"$ref": format!("{SCHEMAS}{name}")});
            }
        }
    }
}

/// OpenAPI links from each create to the reads, changes and deletes of what it
/// created, so that clients (and stateful contract tests) can follow them.
fn add_links(document: &mut Value) {
    /// `(link name, operationId)` pairs.
    type Targets = &'static [(&'static str, &'static str)];
    const LINKS: [(&str, &str, Targets); 3] = [
        (
            "/v1/employers",
            "201",
            &[
                ("GetEmployer", "get_employer"),
                ("UpdateEmployer", "update_employer"),
            ],
        ),
        (
            "/v1/vacancies",
            "201",
            &[
                ("GetVacancy", "get_vacancy"),
                ("UpdateVacancy", "update_vacancy"),
                ("CloseVacancy", "close_vacancy"),
                ("VacancyCandidates", "vacancy_candidates"),
            ],
        ),
        (
            "/v1/workers",
            "201",
            &[
                ("GetWorker", "get_worker"),
                ("UpdateWorker", "update_worker"),
                ("EraseWorker", "delete_worker"),
                ("WorkerVacancies", "worker_vacancies"),
            ],
        ),
    ];
    for (path, status, links) in LINKS {
        let pointer = format!("/paths/{}/post/responses/{status}", path.replace('/', "~1"));
        let Some(response) = document
            .pointer_mut(&pointer)
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let links: serde_json::Map<String, Value> = links
            .iter()
            .map(|(name, operation)| {
                (
                    name.to_string(),
                    json!({
                        "operationId": operation,
                        "parameters": {"id": "$response.body#/id"},
                    }),
                )
            })
            .collect();
        response.insert("links".to_string(), Value::Object(links));
    }
}

/// Untagged unions whose variants can both fit one value (an empty candidate list
/// fits either view) are `anyOf`, not the `oneOf` utoipa writes.
fn any_of_for_overlapping_unions(document: &mut Value) {
    for name in ["CandidateList"] {
        let Some(schema) = document
            .pointer_mut(&format!("/components/schemas/{name}"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        if let Some(variants) = schema.remove("oneOf") {
            schema.insert("anyOf".to_string(), variants);
        }
    }
}

/// Resources whose writes feed matching and search: their writes may wait for it.
const INDEXED_RESOURCES: [&str; 3] = ["/v1/employers", "/v1/vacancies", "/v1/workers"];

fn add_wait_for_parameter(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let indexed = INDEXED_RESOURCES.iter().any(|resource| {
            path == resource
                || path
                    .strip_prefix(resource)
                    .is_some_and(|rest| rest == "/{id}")
        });
        if !indexed {
            continue;
        }
        for method in ["post", "patch", "delete"] {
            let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            let parameters = operation.entry("parameters").or_insert_with(|| json!([]));
            if let Some(parameters) = parameters.as_array_mut() {
                parameters.push(json!({
                    "name": "wait_for",
                    "in": "query",
                    "required": false,
                    "description": "`indexed`: answer only once the write is visible to matching and search \
                                    (at most 5 s; normally well under 1 s)",
                    "schema": {"type": "string", "enum": ["indexed"]}
                }));
            }
        }
    }
}

/// Replaces every `allOf` of object schemas (a `#[serde(flatten)]`) by one object
/// with all their properties, in components and inline alike (the items of a page
/// are inline): a part that forbids other properties would otherwise forbid the
/// properties of the other parts.
fn flatten_all_of_objects(document: &mut Value) {
    let schemas = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    flatten_within(document, &schemas);
}

fn flatten_within(value: &mut Value, schemas: &Map<String, Value>) {
    match value {
        Value::Object(object) => {
            for child in object.values_mut() {
                flatten_within(child, schemas);
            }
            if let Some(flat) = flattened(object, schemas) {
                *value = flat;
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| flatten_within(item, schemas)),
        _ => {}
    }
}

fn flattened(schema: &Map<String, Value>, schemas: &Map<String, Value>) -> Option<Value> {
    let parts = schema.get("allOf")?.as_array()?;
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    let mut closed = false;
    for part in parts {
        let part = match part.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                schemas.get(reference.trim_start_matches("#/components/schemas/"))?
            }
            None => part,
        };
        properties.extend(part.get("properties")?.as_object()?.clone());
        if let Some(part_required) = part.get("required").and_then(Value::as_array) {
            required.extend(part_required.iter().cloned());
        }
        closed |= part.get("additionalProperties") == Some(&Value::Bool(false));
    }
    let mut object = json!({"type": "object", "properties": properties, "required": required});
    if closed {
        object["additionalProperties"] = Value::Bool(false);
    }
    if let Some(description) = schema.get("description") {
        object["description"] = description.clone();
    }
    Some(object)
}

fn add_patch_schemas(document: &mut Value) {
    for (input, patch) in PATCHABLE {
        if derive_patch_schema(document, input).as_deref() != Some(patch) {
            continue;
        }
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

const SCHEMAS: &str = "#/components/schemas/";

/// Derives the merge-patch schema of the object schema `name` (and of the objects
/// its properties hold), returning its name: nothing is required; `null` removes an
/// optional field (a field with a default goes back to it), so optional fields are
/// nullable; an object is merged into the stored one, so it takes a patch too.
/// Arrays are replaced whole and keep their schema; required fields stay
/// non-nullable, since removing one leaves an invalid document.
fn derive_patch_schema(document: &mut Value, name: &str) -> Option<String> {
    let patch_name = format!("{}Patch", name.trim_end_matches("Input"));
    let schemas = document.pointer("/components/schemas")?;
    if schemas.get(&patch_name).is_some() {
        return Some(patch_name);
    }
    let mut schema = schemas.get(name)?.as_object()?.clone();
    schema.get("properties")?.as_object()?;
    let required: Vec<Value> = schema
        .remove("required")
        .and_then(|required| required.as_array().cloned())
        .unwrap_or_default();
    schema.remove("example");
    schema.insert(
        "description".into(),
        Value::String(format!(
            "A JSON merge patch (RFC 7396) of {name}: fields present replace the stored ones, \
             null removes an optional one; the result must be a valid {name}."
        )),
    );
    let mut properties = schema
        .remove("properties")
        .and_then(|properties| properties.as_object().cloned())
        .unwrap_or_default();
    for (property, property_schema) in properties.iter_mut() {
        let target = property_schema
            .get("$ref")
            .or_else(|| {
                property_schema
                    .get("oneOf")?
                    .as_array()?
                    .iter()
                    .find_map(|variant| variant.get("$ref"))
            })
            .and_then(Value::as_str)
            .and_then(|reference| reference.strip_prefix(SCHEMAS))
            .map(str::to_string);
        if let Some(target) = target
            && let Some(target_patch) = derive_patch_schema(document, &target)
        {
            let original = format!("{SCHEMAS}{target}");
            replace_ref(
                property_schema,
                &original,
                &format!("{SCHEMAS}{target_patch}"),
            );
        }
        if !required.contains(&Value::String(property.clone())) {
            make_nullable(property_schema);
        }
    }
    schema.insert("properties".into(), Value::Object(properties));
    document["components"]["schemas"][&patch_name] = Value::Object(schema);
    Some(patch_name)
}

fn replace_ref(schema: &mut Value, from: &str, to: &str) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if object.get("$ref").and_then(Value::as_str) == Some(from) {
        object.insert("$ref".into(), Value::String(to.to_string()));
    }
    if let Some(Value::Array(variants)) = object.get_mut("oneOf") {
        variants
            .iter_mut()
            .for_each(|variant| replace_ref(variant, from, to));
    }
}

/// Lets `null` through a property schema as well as what it allowed.
fn make_nullable(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let null = json!({"type": "null"});
    if let Some(reference) = object.remove("$ref") {
        object.insert(
            "oneOf".into(),
            json!([{"$ref": reference}, {"type": "null"}]),
        );
    } else if let Some(Value::Array(variants)) = object.get_mut("oneOf") {
        if !variants.contains(&null) {
            variants.push(null);
        }
    } else if let Some(kind) = object.get_mut("type") {
        match kind {
            Value::String(single) => *kind = json!([single.clone(), "null"]),
            Value::Array(kinds) if !kinds.contains(&json!("null")) => kinds.push(json!("null")),
            _ => {}
        }
        if let Some(Value::Array(values)) = object.get_mut("enum")
            && !values.contains(&Value::Null)
        {
            values.push(Value::Null);
        }
    }
}

/// The schemas of stored records: every success response carrying one carries its
/// version as a strong ETag too.
const RECORDS: [&str; 3] = ["Employer", "Vacancy", "Worker"];

fn add_etag_headers(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
    {
        let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (status, response) in responses.iter_mut() {
            let carries_record = response
                .pointer("/content/application~1json/schema/$ref")
                .and_then(Value::as_str)
                .and_then(|reference| reference.strip_prefix(SCHEMAS))
                .is_some_and(|name| RECORDS.contains(&name));
            if status.starts_with('2') && carries_record {
                response["headers"]["ETag"] = json!({
                    "description": "The record's version, quoted; send it back in If-Match",
                    "schema": {"type": "string", "pattern": "^\"[0-9]+\"$"}
                });
            }
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
                add(
                    "429",
                    "Too many requests for this API key (by default 3,000 a minute, bursts of 300), \
                     or too many keys the server has not read before from this client address \
                     (by default 60 a minute, bursts of 30); retry after `Retry-After` seconds",
                );
            }
            if has_body {
                add("413", "The body is larger than 256 KiB");
                add("415", "The body is not JSON");
            }
            add(
                "503",
                "The request ran past the time limit (30 s by default) and was abandoned",
            );
            if let Some(too_many) = responses.get_mut("429") {
                too_many["headers"]["Retry-After"] = json!({
                    "description": "Whole seconds to wait before trying again; always sent",
                    "schema": {"type": "integer", "minimum": 0}
                });
            }
            if let Some(Value::String(description)) = responses
                .get_mut("503")
                .and_then(|unavailable| unavailable.get_mut("description"))
                && !description.contains("time limit")
            {
                description.push_str("; or the request ran past the time limit (30 s by default)");
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

    #[test]
    fn in_a_patch_null_removes_optional_fields_and_nested_objects_are_patches() {
        let mut document = json!({
            "paths": {},
            "components": {"schemas": {
                "WorkerInput": {"type": "object", "required": ["full_name"], "properties": {
                    "full_name": {"type": "string"},
                    "positions": {"type": "integer"},
                    "status": {"$ref": "#/components/schemas/WorkerStatus"},
                    "returned_from": {"oneOf": [{"$ref": "#/components/schemas/ReturnedFrom"}, {"type": "null"}]}
                }},
                "WorkerStatus": {"type": "string", "enum": ["seeking"]},
                "ReturnedFrom": {"type": "object", "required": ["country"], "properties": {
                    "country": {"type": "string"}, "returned_on": {"type": ["string", "null"]}
                }}
            }}
        });
        finish_json(&mut document);
        let schema = |path: &str| {
            document
                .pointer(&format!("/components/schemas/{path}"))
                .cloned()
        };
        assert_eq!(
            schema("WorkerPatch/properties/full_name/type"),
            Some(json!("string"))
        );
        assert_eq!(
            schema("WorkerPatch/properties/positions/type"),
            Some(json!(["integer", "null"]))
        );
        assert_eq!(
            schema("WorkerPatch/properties/status/oneOf"),
            Some(json!([{"$ref": "#/components/schemas/WorkerStatus"}, {"type": "null"}]))
        );
        assert_eq!(
            schema("WorkerPatch/properties/returned_from/oneOf/0/$ref"),
            Some(json!("#/components/schemas/ReturnedFromPatch"))
        );
        assert_eq!(schema("ReturnedFromPatch/required"), None);
        assert_eq!(
            schema("ReturnedFromPatch/properties/country/type"),
            Some(json!("string"))
        );
        assert_eq!(schema("WorkerStatusPatch"), None);
    }

    #[test]
    fn a_page_of_flattened_records_is_one_closed_object_with_an_etag_on_reads() {
        let mut document = json!({
            "paths": {"/v1/x/{id}": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Employer"}}}}}}}},
            "components": {"schemas": {
                "EmployerInput": {"type": "object", "additionalProperties": false, "required": ["name"], "properties": {"name": {"type": "string"}}},
                "Employer": {"allOf": [{"$ref": "#/components/schemas/EmployerInput"}, {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}]},
                "Page_Employer": {"type": "object", "properties": {"items": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/EmployerInput"}, {"type": "object", "properties": {"id": {"type": "string"}}}]}}}}
            }}
        });
        finish_json(&mut document);
        let items =
            &document["components"]["schemas"]["Page_Employer"]["properties"]["items"]["items"];
        assert_eq!(items["additionalProperties"], json!(false));
        assert!(items["properties"]["id"].is_object() && items["properties"]["name"].is_object());
        assert_eq!(
            document["components"]["schemas"]["Employer"]["required"],
            json!(["name", "id"])
        );
        assert!(
            document
                .pointer("/paths/~1v1~1x~1{id}/get/responses/200/headers/ETag/schema/pattern")
                .is_some()
        );
    }
}
