//! Query strings and pagination.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
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
        None | Some("") => None,
        Some(text) => Some(
            uuid::Uuid::parse_str(text)
                .map_err(|_| {
                    ApiError::bad_request("cursor", "is not a cursor returned by this list")
                })?
                .to_string(),
        ),
    };
    Ok((limit, cursor))
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
