//! Validating a document so that every bad field is reported.
//!
//! serde stops at the first error. To list every bad field in one answer, a
//! document (already parsed as a JSON object) is checked against its schema for
//! unknown and missing fields; then the typed value is deserialised repeatedly,
//! each time setting aside what failed (the item of a top-level list, or the
//! top-level field; a required field gets a stand-in value of the right type)
//! until it succeeds. The domain rules then check what was read, so type errors
//! and rule errors come in one answer, named by the paths as sent; rules about a
//! stand-in, or that read one, wait for the corrected document.
//!
//! The schema is the one `utoipa` derives for the OpenAPI document (`ToSchema`):
//! its required fields, `maxLength` and `maxItems` are read from it, so the
//! document and the checks cannot disagree. That is the only reason this crate
//! knows utoipa; it knows nothing of HTTP.

use std::any::TypeId;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock, RwLock};

use jobmatch_domain::{FieldError, Reference, Valid, Validate};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, schema::Schema};

/// Most field errors listed in one answer; every resource has fewer fields, so
/// only lists of many bad items reach it.
const MAX_REPORTED_ERRORS: usize = 100;

/// Deserialises `object` as `T`, then validates it; all errors together: the
/// type errors, and the rule errors of every field that could be read.
pub fn validated<T>(
    mut object: Map<String, Value>,
    reference: &Reference,
) -> Result<Valid<T>, Vec<FieldError>>
where
    T: DeserializeOwned + Validate + ToSchema + 'static,
{
    let mut errors = Vec::new();
    object.values_mut().for_each(whole_numbers_as_integers);
    check_max_lengths::<T>(&object, &mut errors);
    check_max_items::<T>(&object, &mut errors);
    if let Some(typed) = deserialize_reporting_every_field::<T>(object, &mut errors) {
        let Typed {
            value,
            stood_in,
            kept_items,
        } = typed;
        match Valid::check(value, reference) {
            Ok(valid) if errors.is_empty() => return Ok(valid),
            // Rules pass but a field was set aside or stood in for: its type
            // error is already in `errors`.
            Ok(_) => {}
            Err(rule_errors) => {
                errors.extend(reported::<T>(rule_errors, &stood_in, &kept_items));
            }
        }
    }
    // The length of a text is checked as sent and again once trimmed.
    let mut seen = std::collections::HashSet::new();
    errors.retain(|error| seen.insert((error.field.clone(), error.message.clone())));
    // A list of thousands of bad items would otherwise answer one error each:
    // a response many times the size of the request.
    if errors.len() > MAX_REPORTED_ERRORS {
        let more = errors.len() - MAX_REPORTED_ERRORS;
        errors.truncate(MAX_REPORTED_ERRORS);
        errors.push(FieldError::new(
            "body",
            format!("has {more} more invalid fields, not listed"),
        ));
    }
    Err(errors)
}

/// A document that deserialised once the fields it could not read were set
/// aside, and what was set aside, to report its rule errors by the paths sent.
struct Typed<T> {
    value: T,
    /// Required top-level fields replaced by [`Validate::stand_in`].
    stood_in: HashSet<String>,
    /// For a top-level list some of whose items were dropped (they could not be
    /// read): the position as sent of each item kept, in order.
    kept_items: HashMap<String, Vec<usize>>,
}

/// The rule errors of a [`Typed`] `T` worth reporting, by the paths of the
/// document as sent: none about a stand-in or read from one.
fn reported<'t, T: Validate>(
    rule_errors: Vec<FieldError>,
    stood_in: &'t HashSet<String>,
    kept_items: &'t HashMap<String, Vec<usize>>,
) -> impl Iterator<Item = FieldError> + 't {
    rule_errors.into_iter().filter_map(move |mut error| {
        let field = top_level_key(&error.field);
        let about_stand_in = stood_in.contains(&field)
            || T::rules_read(&field)
                .iter()
                .any(|read| stood_in.contains(*read));
        if about_stand_in {
            return None;
        }
        error.field = path_as_sent(&error.field, kept_items);
        Some(error)
    })
}

/// `skills[1].level` of a list whose item 1 was sent as item 3 is `skills[3].level`.
fn path_as_sent(path: &str, kept_items: &HashMap<String, Vec<usize>>) -> String {
    match list_item(path) {
        Some((field, index, rest)) => {
            match kept_items.get(field).and_then(|kept| kept.get(index)) {
                Some(sent) => format!("{field}[{sent}]{rest}"),
                None => path.to_string(),
            }
        }
        None => path.to_string(),
    }
}

/// `skills[2].level` as (`skills`, 2, `.level`); None for a path that does not
/// go into an item of a top-level list.
fn list_item(path: &str) -> Option<(&str, usize, &str)> {
    let (field, rest) = path.split_once('[')?;
    let (index, rest) = rest.split_once(']')?;
    if field.contains('.') {
        return None;
    }
    Some((field, index.parse().ok()?, rest))
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
fn check_max_lengths<T: ToSchema + 'static>(
    object: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) {
    for (field, max) in &schema_facts::<T>().max_lengths {
        if let Some(Value::String(text)) = object.get(field)
            && text.chars().count() > *max
        {
            errors.push(FieldError::new(
                field.clone(),
                format!("must be at most {max} characters"),
            ));
        }
    }
}

/// The schema's `maxItems` of top-level lists, checked on the list as sent
/// (items that cannot be read are set aside before the domain's rules count).
fn check_max_items<T: ToSchema + 'static>(
    object: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) {
    for (field, max) in &schema_facts::<T>().max_items {
        if let Some(Value::Array(items)) = object.get(field)
            && items.len() > *max
        {
            errors.push(FieldError::new(
                field.clone(),
                format!("must have at most {max} items"),
            ));
        }
    }
}

/// What [`validated`] reads from a type's schema. Building a schema allocates
/// the whole tree, far more than validating a document costs, so it is read
/// once per type (bulk imports validate a million documents).
struct SchemaFacts {
    required: Vec<String>,
    /// `maxLength` of the top-level text properties.
    max_lengths: Vec<(String, usize)>,
    /// `maxItems` of the top-level list properties.
    max_items: Vec<(String, usize)>,
}

fn schema_facts<T: ToSchema + 'static>() -> Arc<SchemaFacts> {
    type Cache = RwLock<HashMap<TypeId, Arc<SchemaFacts>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = TypeId::of::<T>();
    if let Some(facts) = cache
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&key)
    {
        return facts.clone();
    }
    let facts = Arc::new(match T::schema() {
        RefOr::T(Schema::Object(object)) => SchemaFacts {
            required: object.required.clone(),
            max_lengths: object
                .properties
                .iter()
                .filter_map(|(field, property)| match property {
                    RefOr::T(Schema::Object(property)) => {
                        property.max_length.map(|max| (field.clone(), max))
                    }
                    _ => None,
                })
                .collect(),
            max_items: object
                .properties
                .iter()
                .filter_map(|(field, property)| match property {
                    RefOr::T(Schema::Array(list)) => list.max_items.map(|max| (field.clone(), max)),
                    _ => None,
                })
                .collect(),
        },
        _ => SchemaFacts {
            required: Vec::new(),
            max_lengths: Vec::new(),
            max_items: Vec::new(),
        },
    });
    cache
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(key, facts.clone());
    facts
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

/// Deserialises `object` as `T`, reporting in `errors` every field that cannot
/// be read (missing, of the wrong type, unknown) and setting it aside to read
/// the rest: an item of a top-level list is dropped, a required field gets its
/// [`Validate::stand_in`], any other field is removed. None when what is left
/// still does not make a `T`.
fn deserialize_reporting_every_field<T: DeserializeOwned + Validate + ToSchema + 'static>(
    mut object: Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Option<Typed<T>> {
    let facts = schema_facts::<T>();
    let mut typed_aside = Typed {
        value: (),
        stood_in: HashSet::new(),
        kept_items: HashMap::new(),
    };
    // serde stops at the first missing field; the schema names them all.
    for field in &facts.required {
        if !object.contains_key(field) {
            errors.push(FieldError::new(field.clone(), "is required"));
            if let Some(stand_in) = T::stand_in(field) {
                object.insert(field.clone(), stand_in);
                typed_aside.stood_in.insert(field.clone());
            }
        }
    }
    let mut document = Value::Object(object);
    let done = |value: T, aside: Typed<()>| Typed {
        value,
        stood_in: aside.stood_in,
        kept_items: aside.kept_items,
    };
    // Valid documents, nearly all of a bulk import, skip the path tracking
    // (half the cost), which only serves to name what is wrong.
    if let Ok(value) = T::deserialize(&document) {
        return Some(done(value, typed_aside));
    }
    // Each round that fails drops an item or a field, or stands in for a
    // required field not stood in for before, so this ends.
    loop {
        let attempt: Result<T, _> = serde_path_to_error::deserialize(&document);
        let Value::Object(object) = &mut document else {
            return None;
        };
        let error = match attempt {
            Ok(value) => return Some(done(value, typed_aside)),
            Err(error) => error,
        };
        let path = error.path().to_string();
        let message = error.inner().to_string();
        let at_root = path == "." || path.is_empty();
        let sent_path = path_as_sent(&path, &typed_aside.kept_items);
        let mut aside = top_level_key(&path);
        if let Some(name) = backticked(&message, "missing field `") {
            if at_root {
                // Reported from the schema, and given no stand-in.
                return None;
            }
            errors.push(FieldError::new(join_path(&sent_path, &name), "is required"));
        } else if let Some(name) = backticked(&message, "unknown field `") {
            // serde_path_to_error's path already ends with the unknown key.
            let field = if path == name || path.ends_with(&format!(".{name}")) {
                sent_path.clone()
            } else {
                join_path(&sent_path, &name)
            };
            errors.push(FieldError::new(field, "is not a field of this resource"));
            if at_root {
                aside = name;
            }
        } else {
            if at_root {
                errors.push(FieldError::new("body", clean(&message)));
                return None;
            }
            errors.push(FieldError::new(sent_path, clean(&message)));
        }
        // An item is set aside alone only in a list within its schema's
        // `maxItems`, and while errors are few: each round reads the whole
        // document again, so 100,000 bad items must not cost 100,000 rounds.
        let items_one_by_one = errors.len() < MAX_REPORTED_ERRORS
            && list_item(&path).is_some_and(|(list, _, _)| {
                let sent = object.get(list).and_then(Value::as_array).map(Vec::len);
                facts
                    .max_items
                    .iter()
                    .any(|(field, max)| field == list && sent.is_some_and(|len| len <= *max))
            });
        if !set_aside::<T>(object, &aside, &path, items_one_by_one, &mut typed_aside) {
            return None;
        }
    }
}

/// Sets aside what a failed read of `path` (within the top-level field `field`)
/// could not read: the item alone when `items_one_by_one`; false when nothing
/// could be.
fn set_aside<T: Validate>(
    object: &mut Map<String, Value>,
    field: &str,
    path: &str,
    items_one_by_one: bool,
    aside: &mut Typed<()>,
) -> bool {
    if items_one_by_one
        && let Some((list, index, _)) = list_item(path)
        && let Some(Value::Array(items)) = object.get_mut(list)
        && index < items.len()
    {
        let kept = aside
            .kept_items
            .entry(list.to_string())
            .or_insert_with(|| (0..items.len()).collect());
        items.remove(index);
        kept.remove(index);
        return true;
    }
    if !aside.stood_in.contains(field)
        && let Some(stand_in) = T::stand_in(field)
    {
        object.insert(field.to_string(), stand_in);
        aside.stood_in.insert(field.to_string());
        return true;
    }
    object.remove(field).is_some()
}

fn backticked(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    Some(rest.split('`').next()?.to_string())
}

/// `path.name`, or `name` at the top level: a field as errors name it.
pub fn join_path(path: &str, name: &str) -> String {
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

/// A validation's outcome with the errors of rules checked beside it (ones
/// that need the key or the database), all in one answer. A rule error on a
/// field validation already named is left out: that field is to be fixed first.
pub fn with_rule_errors<T>(
    validation: Result<T, Vec<FieldError>>,
    rule_errors: Vec<FieldError>,
) -> Result<T, Vec<FieldError>> {
    match validation {
        Ok(document) if rule_errors.is_empty() => Ok(document),
        Ok(_) => Err(rule_errors),
        Err(mut errors) => {
            let named: HashSet<String> = errors.iter().map(|error| error.field.clone()).collect();
            errors.extend(
                rule_errors
                    .into_iter()
                    .filter(|error| !named.contains(&error.field)),
            );
            Err(errors)
        }
    }
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
        validated::<EmployerInput>(object, Reference::embedded())
            .err()
            .unwrap_or_default()
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
        // `province_code` breaks a rule, not a type: named in the same answer.
        assert_eq!(
            fields(&errors),
            vec!["colour", "name", "province_code", "sector"],
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
        let employer: Valid<EmployerInput> =
            validated(object, Reference::embedded()).expect("valid");
        assert_eq!(employer.contact_phone.as_deref(), Some("+85512345678"));
    }
}
