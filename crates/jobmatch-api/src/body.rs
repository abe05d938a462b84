//! Reading request bodies: their limits (one record, a batch), their declared
//! type and coding, and their JSON, as one object or a batch of them, with a
//! key given twice refused by its path.
//!
//! What a parsed object must hold is checked by
//! `jobmatch_service::validation`, which reports every bad field in one answer.

use actix_web::HttpRequest;
use actix_web::http::header;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use jobmatch_service::validation::join_path;

use crate::error::ApiError;

/// Largest request body accepted, in bytes: a worker profile with 100 skills is
/// about 15 KB, a batch of records comes with its own endpoint.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Most profiles one batch request may carry.
pub const MAX_BATCH_ITEMS: usize = 1_000;
/// Largest batch body accepted, in bytes: a thousand profiles of typical size
/// (about 1.5 KB each) with ample room for long ones.
pub const MAX_BATCH_BODY_BYTES: usize = 16 * 1024 * 1024;

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
