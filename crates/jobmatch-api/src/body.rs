//! Reading request bodies and query strings so that every bad field is reported.
//!
//! serde stops at the first error. To list every bad field in one answer, a body
//! is first parsed as a JSON object; unknown and missing fields are found against
//! the schema; then the typed value is deserialised repeatedly, each time setting
//! aside what failed (the item of a top-level list, or the top-level field; a
//! required field gets a stand-in value of the right type) until it succeeds.
//! The domain rules then check what was read, so type errors and rule errors come
//! in one answer, named by the paths as sent; rules about a stand-in, or that read
//! one, wait for the corrected document.

use std::any::TypeId;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock, RwLock};

use actix_web::HttpRequest;
use actix_web::http::header;
use jobmatch_domain::{FieldError, Reference, Validate};
use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, schema::Schema};

use crate::error::ApiError;

/// Largest request body accepted, in bytes: a worker profile with 100 skills is
/// about 15 KB, a batch of records comes with its own endpoint.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Most field errors listed in one answer; every resource has fewer fields, so
/// only lists of many bad items reach it.
const MAX_REPORTED_ERRORS: usize = 100;

/// Checks that the body is declared as JSON (`application/json`, or a `+json`
/// type such as `application/merge-patch+json`) in UTF-8, the only encoding JSON
/// has (RFC 8259), and that it is not compressed.
///
/// Bodies are read as sent: nothing inflates a `Content-Encoding`, so a
/// compressed body is refused here, before a byte of it is read, rather than
/// parsed as garbage (or, were it inflated, able to grow a few KiB into
/// gigabytes).
pub fn require_json_content_type(request: &HttpRequest) -> Result<(), ApiError> {
    for coding in request.headers().get_all(header::CONTENT_ENCODING) {
        let identity = coding.to_str().is_ok_and(|codings| {
            codings
                .split(',')
                .all(|coding| coding.trim().eq_ignore_ascii_case("identity"))
        });
        if !identity {
            return Err(ApiError::UnsupportedMediaType {
                header: "Content-Encoding",
                message: "compressed bodies are not accepted; send the body uncompressed"
                    .to_string(),
            });
        }
    }
    let refuse = |message: String| ApiError::UnsupportedMediaType {
        header: "Content-Type",
        message,
    };
    let Some(value) = request.headers().get(header::CONTENT_TYPE) else {
        return Err(refuse(
            "send the body as application/json; the header is missing".to_string(),
        ));
    };
    let Ok(content_type) = value.to_str() else {
        return Err(refuse(
            "is not a media type; send the body as application/json".to_string(),
        ));
    };
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    if !(essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json")))
    {
        // Quoted with Debug so that a hostile header cannot shape the message.
        return Err(refuse(format!(
            "send the body as application/json, not {:?}",
            shorten(content_type)
        )));
    }
    for parameter in parts {
        let (name, charset) = parameter.split_once('=').unwrap_or((parameter, ""));
        let charset = charset.trim().trim_matches('"');
        if name.trim().eq_ignore_ascii_case("charset")
            && !charset.eq_ignore_ascii_case("utf-8")
            && !charset.eq_ignore_ascii_case("utf8")
        {
            return Err(refuse(format!(
                "JSON is read as UTF-8 only, not {:?}",
                shorten(charset)
            )));
        }
    }
    Ok(())
}

/// At most 100 characters of a client's text, to quote it in a message.
fn shorten(text: &str) -> String {
    text.chars().take(100).collect()
}

/// Parses bytes into a JSON object, or a 400 naming the problem. A key given
/// twice in one object is refused: parsers disagree on which of the two counts,
/// so a document that one system checked could mean something else here.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit_bytes: MAX_BODY_BYTES,
        });
    }
    let duplicate = std::cell::RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = UniqueKeys {
        path: String::new(),
        duplicate: &duplicate,
        fail_fast: true,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    if let Some(path) = duplicate.into_inner() {
        return Err(ApiError::bad_request(&path, "is given more than once"));
    }
    let value = parsed
        .map_err(|error| ApiError::bad_request("body", format!("is not valid JSON: {error}")))?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(ApiError::bad_request("body", "must be a JSON object")),
    }
}

/// Reads any JSON value as serde_json's `Value` does, recording the path
/// (`skills[2].level`) of the first key an object repeats in `duplicate`; with
/// `fail_fast` it fails there, otherwise it keeps the first value and reads on.
/// serde_json's recursion limit still applies, so deep nesting fails cleanly.
struct UniqueKeys<'a> {
    path: String,
    duplicate: &'a std::cell::RefCell<Option<String>>,
    fail_fast: bool,
}

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut values = Vec::new();
        loop {
            let seed = UniqueKeys {
                path: format!("{}[{}]", self.path, values.len()),
                duplicate: self.duplicate,
                fail_fast: self.fail_fast,
            };
            match items.next_element_seed(seed)? {
                Some(value) => values.push(value),
                None => return Ok(Value::Array(values)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            let path = join_path(&self.path, &key);
            if object.contains_key(&key) {
                if self.fail_fast {
                    *self.duplicate.borrow_mut() = Some(path);
                    return Err(serde::de::Error::custom("a key is given more than once"));
                }
                self.duplicate.borrow_mut().get_or_insert(path);
                entries.next_value::<IgnoredAny>()?;
                continue;
            }
            let value = entries.next_value_seed(UniqueKeys {
                path,
                duplicate: self.duplicate,
                fail_fast: self.fail_fast,
            })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// A batch body (`{"items": [...]}`) as read by [`parse_batch`].
#[derive(Debug)]
pub struct BatchBody {
    /// Top-level keys other than `items`, in the order sent.
    pub other_fields: Vec<String>,
    /// None when `items` is absent.
    pub items: Option<BatchItems>,
}

#[derive(Debug)]
pub enum BatchItems {
    /// Each item as sent, or the path within it of the first key it repeats.
    List(Vec<Result<Value, String>>),
    /// More items than allowed: how many were sent (none of them is kept).
    TooMany(usize),
    /// `items` is not a list.
    NotAList,
}

/// Parses a batch body. A key repeated in the body itself is a 400 naming its
/// path, as in [`parse_object`]; one repeated inside an item only marks that
/// item, so that a batch can reject it alone and store the others. Items past
/// `max_items` are skipped unread, only counted.
pub fn parse_batch(bytes: &[u8], max_items: usize) -> Result<BatchBody, ApiError> {
    let duplicate = std::cell::RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = BatchEnvelope {
        duplicate: &duplicate,
        max_items,
    }
    .deserialize(&mut deserializer)
    .and_then(|body| deserializer.end().map(|()| body));
    if let Some(path) = duplicate.into_inner() {
        return Err(ApiError::bad_request(&path, "is given more than once"));
    }
    parsed
        .map_err(|error| ApiError::bad_request("body", format!("is not valid JSON: {error}")))?
        .ok_or_else(|| ApiError::bad_request("body", "must be a JSON object"))
}

/// Reads a batch body: a JSON object, or None for any other JSON value.
struct BatchEnvelope<'a> {
    duplicate: &'a std::cell::RefCell<Option<String>>,
    max_items: usize,
}

impl<'de> DeserializeSeed<'de> for BatchEnvelope<'_> {
    type Value = Option<BatchBody>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// The JSON values that are not what a batch reader wants: read and answered
/// with `$not`.
macro_rules! read_anything_else_as {
    ($not:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($not)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($not)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($not)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($not)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($not)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($not)
        }
    };
}

impl<'de> Visitor<'de> for BatchEnvelope<'_> {
    type Value = Option<BatchBody>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON object")
    }

    read_anything_else_as!(None);

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
        while items.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Self::Value, A::Error> {
        let mut body = BatchBody {
            other_fields: Vec::new(),
            items: None,
        };
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = entries.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                *self.duplicate.borrow_mut() = Some(key);
                return Err(serde::de::Error::custom("a key is given more than once"));
            }
            if key == "items" {
                body.items = Some(entries.next_value_seed(ItemList {
                    max_items: self.max_items,
                })?);
            } else {
                entries.next_value::<IgnoredAny>()?;
                body.other_fields.push(key);
            }
        }
        Ok(Some(body))
    }
}

/// Reads the value of `items`.
struct ItemList {
    max_items: usize,
}

impl<'de> DeserializeSeed<'de> for ItemList {
    type Value = BatchItems;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemList {
    type Value = BatchItems;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a list")
    }

    read_anything_else_as!(BatchItems::NotAList);

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Self::Value, A::Error> {
        while entries.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(BatchItems::NotAList)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut elements: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        loop {
            if items.len() == self.max_items {
                // Any further item is one too many: count the rest unread.
                let mut count = items.len();
                while elements.next_element::<IgnoredAny>()?.is_some() {
                    count += 1;
                }
                return Ok(if count > self.max_items {
                    BatchItems::TooMany(count)
                } else {
                    BatchItems::List(items)
                });
            }
            let duplicate = std::cell::RefCell::new(None);
            let seed = UniqueKeys {
                path: String::new(),
                duplicate: &duplicate,
                fail_fast: false,
            };
            match elements.next_element_seed(seed)? {
                Some(item) => items.push(duplicate.into_inner().map_or(Ok(item), Err)),
                None => return Ok(BatchItems::List(items)),
            }
        }
    }
}

/// Deserialises `object` as `T`, then validates it; all errors together: the
/// type errors, and the rule errors of every field that could be read.
pub fn validated<T>(mut object: Map<String, Value>, reference: &Reference) -> Result<T, ApiError>
where
    T: DeserializeOwned + Validate + ToSchema + 'static,
{
    let mut errors = Vec::new();
    object.values_mut().for_each(whole_numbers_as_integers);
    check_max_lengths::<T>(&object, &mut errors);
    check_max_items::<T>(&object, &mut errors);
    if let Some(mut typed) = deserialize_reporting_every_field::<T>(object, &mut errors) {
        let mut rule_errors = Vec::new();
        typed.value.validate(reference, &mut rule_errors);
        if errors.is_empty() && rule_errors.is_empty() {
            return Ok(typed.value);
        }
        errors.extend(typed.reported(rule_errors));
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
    Err(ApiError::Validation(errors))
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

impl<T: Validate> Typed<T> {
    /// The rule errors worth reporting, by the paths of the document as sent:
    /// none about a stand-in or read from one.
    fn reported(&self, rule_errors: Vec<FieldError>) -> impl Iterator<Item = FieldError> + '_ {
        rule_errors.into_iter().filter_map(|mut error| {
            let field = top_level_key(&error.field);
            let about_stand_in = self.stood_in.contains(&field)
                || T::rules_read(&field)
                    .iter()
                    .any(|read| self.stood_in.contains(*read));
            if about_stand_in {
                return None;
            }
            error.field = path_as_sent(&error.field, &self.kept_items);
            Some(error)
        })
    }
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
        let employer: EmployerInput = validated(object, Reference::embedded()).expect("valid");
        assert_eq!(employer.contact_phone.as_deref(), Some("+85512345678"));
    }
}
