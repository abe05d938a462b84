//! Query strings and pagination.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use jobmatch_domain::Reference;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::error::ApiError;

/// Default and largest page sizes of every list.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;

/// Query parameters deserialised with the name of the bad parameter in the error
/// (actix-web's `Query` says what went wrong but not where).
pub struct Params<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Params<T> {
    type Error = ApiError;
    type Future = Ready<Result<Params<T>, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let query = request.query_string();
        if let Err(error) = check_query_text(query) {
            return ready(Err(error));
        }
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        ready(
            serde_path_to_error::deserialize(deserializer)
                .map(Params)
                .map_err(|error| {
                    let path = error.path().to_string();
                    let message = error.inner().to_string();
                    let field = if path == "." || path.is_empty() {
                        "query".to_string()
                    } else {
                        path
                    };
                    ApiError::bad_request(&field, message)
                }),
        )
    }
}

/// Refuses what `form_urlencoded` would silently repair or pass on: percent
/// escapes that decode to invalid UTF-8 (it substitutes U+FFFD, so a search for
/// `%FF` would quietly become a search for "\u{FFFD}"), and control characters
/// (NUL, escape sequences), which no parameter has a use for and which the
/// bodies refuse too. Tab and line feed pass, as they do in body text.
fn check_query_text(query: &str) -> Result<(), ApiError> {
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = match percent_decode(raw_name) {
            Ok(name) if !has_control(&name) => name,
            _ => {
                return Err(ApiError::bad_request(
                    "query",
                    "a parameter name is not valid UTF-8 text",
                ));
            }
        };
        match percent_decode(raw_value) {
            Ok(value) if has_control(&value) => {
                return Err(ApiError::bad_request(
                    &name,
                    "must not contain control characters",
                ));
            }
            Ok(_) => {}
            Err(()) => {
                return Err(ApiError::bad_request(
                    &name,
                    "is not valid UTF-8 once percent-decoded",
                ));
            }
        }
    }
    Ok(())
}

fn has_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space), strict about
/// UTF-8. A `%` not followed by two hex digits stays as it is, as browsers do.
fn percent_decode(text: &str) -> Result<String, ()> {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| ())
}

/// A page of a list: the items and the cursor of the next page (`null` on the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Checks `limit` and `cursor`; a cursor is the id of the last item of the previous
/// page, opaque to clients.
pub fn page_bounds(
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<(u32, Option<String>), ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(ApiError::bad_request(
            "limit",
            format!("must be between 1 and {MAX_PAGE_SIZE}"),
        ));
    }
    let cursor = match cursor {
        None => None,
        Some(text) => Some(canonical_uuid(text).ok_or_else(|| {
            ApiError::bad_request("cursor", "is not a cursor returned by this list")
        })?),
    };
    Ok((limit, cursor))
}

/// A UUID in its hyphenated form (as the OpenAPI `uuid` format has it), lowercased.
fn canonical_uuid(text: &str) -> Option<String> {
    let parsed = uuid::Uuid::try_parse(text).ok()?;
    (text.len() == 36).then(|| parsed.to_string())
}

/// A filter on a record id: a UUID, or no record could match.
pub fn uuid_filter(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(text) => canonical_uuid(&text)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(name, "is not an id (a UUID)")),
        None => Ok(None),
    }
}

/// A filter on a province: a code of the gazetteer, as the OpenAPI enum says, so a
/// typo is refused instead of silently matching nothing.
pub fn province_filter(
    reference: &Reference,
    code: Option<String>,
) -> Result<Option<String>, ApiError> {
    let known = |code: &str| {
        reference
            .gazetteer
            .province(code)
            .is_some_and(|province| province.code == code)
    };
    match code {
        Some(code) if !known(&code) => Err(ApiError::bad_request(
            "province_code",
            "is not a province code of the NCDD gazetteer (\"01\" to \"25\")",
        )),
        other => Ok(other),
    }
}

/// Builds a page from one more row than asked for: its presence says there is a
/// next page, without a second query.
pub fn page_from<T>(mut items: Vec<T>, limit: u32, id_of: impl Fn(&T) -> String) -> Page<T> {
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(&id_of)
    } else {
        None
    };
    Page { items, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_or_id_filter_is_a_hyphenated_uuid_and_a_province_an_exact_code() {
        let id = "0B8F2C7E-3F5A-4C1D-9E2B-7A6D5C4B3A21";
        assert_eq!(
            page_bounds(None, Some(id))
                .ok()
                .and_then(|(_, cursor)| cursor)
                .as_deref(),
            Some("0b8f2c7e-3f5a-4c1d-9e2b-7a6d5c4b3a21")
        );
        for refused in [
            "",
            "0b8f2c7e3f5a4c1d9e2b7a6d5c4b3a21",
            "{0b8f2c7e-3f5a-4c1d-9e2b-7a6d5c4b3a21}",
        ] {
            assert!(page_bounds(None, Some(refused)).is_err(), "{refused:?}");
            assert!(uuid_filter("employer_id", Some(refused.to_string())).is_err());
        }
        let reference = Reference::embedded();
        assert!(province_filter(reference, Some("12".into())).is_ok());
        for refused in ["99", " 12", "1"] {
            assert!(
                province_filter(reference, Some(refused.into())).is_err(),
                "{refused:?}"
            );
        }
    }
}
