//! Reading request bodies and query strings so that every bad field is reported.
//!
//! serde stops at the first error. To list every bad field in one answer, a body
//! is first parsed as a JSON object; unknown and missing fields are found against
//! the schema; then the typed value is deserialised repeatedly, each time dropping
//! the top-level field that failed, until it succeeds or nothing is left to drop.
//! Only a document that deserialises is checked against the domain rules.

use std::collections::HashMap;

use actix_web::HttpRequest;
use actix_web::http::header;
use jobmatch_domain::{FieldError, Reference, Validate};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, schema::Schema};

use crate::error::ApiError;

/// Largest request body accepted, in bytes: a worker profile with 100 skills is
/// about 15 KB, a batch of records comes with its own endpoint.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Checks that the body is declared as JSON (`application/json`, or a `+json`
/// type such as `application/merge-patch+json`).
pub fn require_json_content_type(request: &HttpRequest) -> Result<(), ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "send the body as application/json, not {}",
            if content_type.is_empty() {
                "without a Content-Type"
            } else {
                content_type
            }
        )))
    }
}

/// Parses bytes into a JSON object, or a 400 naming the problem.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit_bytes: MAX_BODY_BYTES,
        });
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|error| ApiError::bad_request("body", format!("is not valid JSON: {error}")))?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(ApiError::bad_request("body", "must be a JSON object")),
    }
}

/// Deserialises `object` as `T`, then validates it; all errors together.
pub fn validated<T>(mut object: Map<String, Value>, reference: &Reference) -> Result<T, ApiError>
where
    T: DeserializeOwned + Validate + ToSchema,
{
    let mut errors = Vec::new();
    object.values_mut().for_each(whole_numbers_as_integers);
    check_max_lengths::<T>(&object, &mut errors);
    let parsed: Option<T> = deserialize_reporting_every_field(object, &mut errors);
    if let Some(mut value) = parsed {
        value.validate(reference, &mut errors);
        if errors.is_empty() {
            return Ok(value);
        }
    }
    // The length of a text is checked as sent and again once trimmed.
    let mut seen = std::collections::HashSet::new();
    errors.retain(|error| seen.insert((error.field.clone(), error.message.clone())));
    Err(ApiError::Validation(errors))
}

/// JSON does not tell `2` from `2.0`, and neither does JSON Schema's `integer`;
/// serde does, so whole numbers are handed to it as integers.
fn whole_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(number) if number.is_f64() => {
            if let Some(float) = number.as_f64()
                && float.fract() == 0.0
                && float.abs() < 9_007_199_254_740_992.0
            {
                *value = Value::from(float as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(object) => object.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// The schema's `maxLength` holds for text as sent, surrounding white space
/// included (the domain's rules then count the trimmed text).
fn check_max_lengths<T: ToSchema>(object: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    let RefOr::T(Schema::Object(schema)) = T::schema() else {
        return;
    };
    for (field, property) in &schema.properties {
        let (RefOr::T(Schema::Object(property)), Some(Value::String(text))) =
            (property, object.get(field))
        else {
            continue;
        };
        if let Some(max) = property.max_length
            && text.chars().count() > max
        {
            errors.push(FieldError::new(
                field.clone(),
                format!("must be at most {max} characters"),
            ));
        }
    }
}

/// The fields a merge patch sets to `null` that `T` does not have (at any depth).
/// Removing what is not there changes nothing, so the merged document cannot show
/// them; they are still not fields of this resource, as for any other value.
pub fn unknown_fields_set_to_null<T: ToSchema>(patch: &Map<String, Value>) -> Vec<FieldError> {
    let mut components = Vec::new();
    T::schemas(&mut components);
    let components: HashMap<String, Value> = components
        .into_iter()
        .map(|(name, schema)| (name, serde_json::to_value(schema).unwrap_or_default()))
        .collect();
    let root = serde_json::to_value(T::schema()).unwrap_or_default();
    let mut errors = Vec::new();
    null_unknowns(patch, &root, &components, "", &mut errors);
    errors
}

fn null_unknowns(
    patch: &Map<String, Value>,
    schema: &Value,
    components: &HashMap<String, Value>,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) {
    let Some(properties) = object_schema(schema, components).and_then(|s| s.get("properties"))
    else {
        return;
    };
    for (key, value) in patch {
        let field = join_path(prefix, key);
        match (properties.get(key), value) {
            (None, Value::Null) => {
                errors.push(FieldError::new(field, "is not a field of this resource"))
            }
            (Some(property), Value::Object(nested)) => {
                null_unknowns(nested, property, components, &field, errors)
            }
            _ => {}
        }
    }
}

/// The object schema a property holds: itself, through a `$ref`, or as the
/// non-null variant of a nullable `oneOf`.
fn object_schema<'a>(
    schema: &'a Value,
    components: &'a HashMap<String, Value>,
) -> Option<&'a Value> {
    if let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|reference| reference.strip_prefix("#/components/schemas/"))
    {
        return object_schema(components.get(name)?, components);
    }
    if schema.get("properties").is_some() {
        return Some(schema);
    }
    schema
        .get("oneOf")?
        .as_array()?
        .iter()
        .find_map(|variant| object_schema(variant, components))
}

/// The fields the schema of `T` marks as required.
fn required_fields<T: ToSchema>() -> Vec<String> {
    match T::schema() {
        RefOr::T(Schema::Object(object)) => object.required.clone(),
        _ => Vec::new(),
    }
}

fn deserialize_reporting_every_field<T: DeserializeOwned + ToSchema>(
    mut object: Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    // serde stops at the first missing field; the schema names them all.
    for field in required_fields::<T>() {
        if !object.contains_key(&field) {
            errors.push(FieldError::new(field, "is required"));
        }
    }
    // Each round that fails removes one top-level field, so this ends.
    loop {
        let attempt: Result<T, _> = serde_path_to_error::deserialize(Value::Object(object.clone()));
        let error = match attempt {
            Ok(value) => return Some(value),
            Err(error) => error,
        };
        let path = error.path().to_string();
        let message = error.inner().to_string();
        let at_root = path == "." || path.is_empty();
        if let Some(name) = backticked(&message, "missing field `") {
            if at_root {
                // Already reported from the schema; nothing more can be learnt.
                return None;
            }
            errors.push(FieldError::new(join_path(&path, &name), "is required"));
        } else if let Some(name) = backticked(&message, "unknown field `") {
            // serde_path_to_error's path already ends with the unknown key.
            let field = if path == name || path.ends_with(&format!(".{name}")) {
                path.clone()
            } else {
                join_path(&path, &name)
            };
            errors.push(FieldError::new(field, "is not a field of this resource"));
            if object.remove(&top_level_key(&path)).is_none() && object.remove(&name).is_none() {
                return None;
            }
            continue;
        } else {
            let field = if at_root {
                "body".to_string()
            } else {
                path.clone()
            };
            errors.push(FieldError::new(field, clean(&message)));
        }
        if at_root || object.remove(&top_level_key(&path)).is_none() {
            return None;
        }
    }
}

fn backticked(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    Some(rest.split('`').next()?.to_string())
}

fn join_path(path: &str, name: &str) -> String {
    if path == "." || path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The top-level field of a serde_path_to_error path such as `skills[2].level`.
fn top_level_key(path: &str) -> String {
    path.split(['.', '[']).next().unwrap_or("").to_string()
}

/// serde's messages name Rust types (`u8`, `f64`); say what a client sends.
fn clean(message: &str) -> String {
    message
        .replace("expected u8", "expected a whole number from 0 to 255")
        .replace("expected u32", "expected a whole number")
        .replace("expected f64", "expected a number")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobmatch_domain::resources::EmployerInput;
    use serde_json::json;

    fn errors_of(value: Value) -> Vec<FieldError> {
        let Value::Object(object) = value else {
            panic!("test bodies are objects")
        };
        match validated::<EmployerInput>(object, Reference::embedded()) {
            Err(ApiError::Validation(errors)) => errors,
            Ok(_) => Vec::new(),
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        let mut names: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        names.sort();
        names
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let errors = errors_of(json!({
            "name": 42,
            "sector": "mining",
            "province_code": "99",
            "colour": "blue"
        }));
        assert_eq!(
            fields(&errors),
            vec!["colour", "name", "sector"],
            "{errors:?}"
        );
    }

    #[test]
    fn missing_required_fields_are_each_named() {
        let errors = errors_of(json!({"contact_name": "Dara"}));
        assert_eq!(
            fields(&errors),
            vec!["name", "province_code", "sector"],
            "{errors:?}"
        );
    }

    #[test]
    fn domain_rules_run_once_types_are_right() {
        let errors = errors_of(
            json!({"name": "A", "sector": "garment", "province_code": "99", "contact_phone": "12"}),
        );
        assert_eq!(
            fields(&errors),
            vec!["contact_phone", "province_code"],
            "{errors:?}"
        );
    }

    #[test]
    fn a_patch_setting_an_unknown_field_to_null_is_named_at_any_depth() {
        let Value::Object(patch) = json!({
            "": null, "phone": null, "colour": null, "name": "x",
            "returned_from": {"province_code": null, "city": null},
            "consent": {"why": null}
        }) else {
            unreachable!()
        };
        let errors = unknown_fields_set_to_null::<jobmatch_domain::resources::WorkerInput>(&patch);
        assert_eq!(
            fields(&errors),
            vec!["", "colour", "consent.why", "returned_from.city"],
            "{errors:?}"
        );
    }

    #[test]
    fn a_valid_body_passes_with_its_phone_normalised() {
        let Value::Object(object) = json!({"name": "Angkor Garment", "sector": "garment", "province_code": "12", "contact_phone": "012 345 678"})
        else {
            unreachable!()
        };
        let employer: EmployerInput = validated(object, Reference::embedded()).expect("valid");
        assert_eq!(employer.contact_phone.as_deref(), Some("+85512345678"));
    }
}
