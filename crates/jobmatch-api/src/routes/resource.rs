//! What employers, vacancies and workers have in common: create (or update by
//! `external_id`), read, merge-patch with optimistic concurrency, list.
//!
//! The stored body is always a document that passed validation as a whole; the
//! server-owned fields (`id`, `version`, timestamps) live beside it, never in it.
//! Writing is `jobmatch-service`'s; this module reads requests and writes answers.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use jobmatch_domain::Valid;
use jobmatch_service::ResourceKind;
use jobmatch_service::records::{
    ProfileReader, Stored, store_document, store_document_for, update_document,
};
use jobmatch_store::{Columns, ListFilter, Record};
use serde_json::{Map, Value};

use crate::auth::Principal;
use crate::body::{MAX_BODY_BYTES, parse_object, require_json_content_type};
use crate::error::ApiError;
use crate::params::{Page, page_bounds, page_from};
use crate::state::AppState;

/// The JSON a client sees: the server-owned fields, then the document's.
pub fn representation(record: &Record) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), Value::String(record.id.clone()));
    object.insert("version".into(), Value::from(record.version));
    object.insert(
        "created_at".into(),
        Value::String(timestamp(record.created_at)),
    );
    object.insert(
        "updated_at".into(),
        Value::String(timestamp(record.updated_at)),
    );
    if let Value::Object(fields) = &record.body {
        for (name, value) in fields {
            object.insert(name.clone(), value.clone());
        }
    }
    Value::Object(object)
}

pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A response carrying a record, its version as a strong ETag.
pub fn record_response(status: StatusCode, record: &Record) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", record.version)) {
        response.insert_header((header::ETAG, etag));
    }
    response.json(representation(record))
}

/// Reads a JSON object body of at most [`MAX_BODY_BYTES`].
pub async fn read_object(
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<Map<String, Value>, ApiError> {
    require_json_content_type(request)?;
    let bytes = payload
        .to_bytes_limited(MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge {
            limit_bytes: MAX_BODY_BYTES,
        })?
        .map_err(|error| ApiError::bad_request("body", format!("could not be read: {error}")))?;
    parse_object(&bytes)
}

/// Ids are UUIDs; anything else cannot name a record.
pub fn check_id(id: &str) -> Result<(), ApiError> {
    match uuid::Uuid::parse_str(id) {
        Ok(parsed) if parsed.to_string() == id => Ok(()),
        // Quote at most the length of a real id: never echo a huge input back.
        _ => Err(ApiError::NotFound(format!(
            "no record has the id {:?}",
            id.chars().take(36).collect::<String>()
        ))),
    }
}

pub async fn fetch<R: ResourceKind>(state: &AppState, id: &str) -> Result<Record, ApiError> {
    check_id(id)?;
    state
        .store
        .get(R::ENTITY, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no {} has the id {id}", R::NAME)))
}

/// Stores a validated document. A document whose `external_id` this key has sent
/// before replaces that record instead of duplicating it (200 rather than 201).
pub async fn store_new<R: ResourceKind>(
    state: &AppState,
    principal: &Principal,
    document: &Valid<R>,
) -> Result<(StatusCode, Record), ApiError> {
    let (stored, record) = store_document(&state.store, principal.source(), document).await?;
    Ok((stored_status(stored), record))
}

/// [`store_new`] for a document whose answer carries personal data: the write
/// and the audit row of `principal` reading it (in the request `request_id`)
/// are one transaction.
pub async fn store_new_audited<R: ResourceKind>(
    state: &AppState,
    principal: &Principal,
    request_id: &str,
    document: &Valid<R>,
) -> Result<(StatusCode, Record), ApiError> {
    let reader = profile_reader(principal, request_id);
    let (stored, record) =
        store_document_for(&state.store, principal.source(), document, Some(reader)).await?;
    Ok((stored_status(stored), record))
}

/// Who reads a profile whose answer carries it back, for the audit log.
pub fn profile_reader<'a>(principal: &'a Principal, request_id: &'a str) -> ProfileReader<'a> {
    ProfileReader {
        key_id: &principal.key_id,
        role: principal.role.code(),
        request_id,
    }
}

/// 201 for a new record, 200 for one a re-sent `external_id` replaced.
fn stored_status(stored: Stored) -> StatusCode {
    match stored {
        Stored::Created => StatusCode::CREATED,
        Stored::Replaced => StatusCode::OK,
    }
}

/// The version a client expects, from `If-Match`: `*` (any), or the ETag `"3"`
/// (also written weak, `W/"3"`, or bare, `3`), as the OpenAPI document's pattern
/// says; anything else is a 400.
pub fn expected_version(request: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(value) = request.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    let quoted = text.strip_prefix("W/").unwrap_or(text);
    let digits = match quoted.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"'),
        None if quoted.len() == text.len() => Some(text),
        None => None,
    }
    .filter(|digits| {
        (1..=18).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    });
    match digits.map(str::parse::<i64>) {
        Some(Ok(version)) => Ok(Some(version)),
        _ => Err(ApiError::bad_request(
            "If-Match",
            "must be the ETag of the resource, such as \"3\"",
        )),
    }
}

/// Applies a JSON merge patch (RFC 7396) to the stored document and validates the
/// result as a whole.
pub async fn merge_patch<R: ResourceKind>(
    state: &AppState,
    request: &HttpRequest,
    existing: &Record,
    patch: Map<String, Value>,
) -> Result<(Valid<R>, Option<i64>), ApiError> {
    let expected = expected_version(request)?;
    let merged = jobmatch_service::patch::merge::<R>(existing, expected, patch)?;
    Ok(merged.validated(state.reference, existing, Vec::new())?)
}

/// Stores a patched document ([`merge_patch`]) in place of record `id`.
pub async fn save_patch<R: ResourceKind>(
    state: &AppState,
    id: &str,
    expected_version: Option<i64>,
    document: &Valid<R>,
) -> Result<Record, ApiError> {
    Ok(update_document(&state.store, id, expected_version, document).await?)
}

pub async fn list<R: ResourceKind>(
    state: &AppState,
    columns: Columns,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<Page<Value>, ApiError> {
    let (limit, after_id) = page_bounds(limit, cursor)?;
    let filter = ListFilter {
        columns,
        after_id,
        limit: limit + 1,
    };
    let records = state.store.list(R::ENTITY, &filter).await?;
    let items = records.iter().map(representation).collect();
    Ok(page_from(items, limit, |item: &Value| {
        item["id"].as_str().unwrap_or_default().to_string()
    }))
}

/// Like [`list`], but only the records of the given ids that match the
/// `columns` filter: what an employer or partner key may see of a list whose
/// records are themselves employers. One query, however many ids.
pub async fn list_among<R: ResourceKind>(
    state: &AppState,
    ids: &[String],
    columns: &Columns,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<Page<Value>, ApiError> {
    let (limit, after_id) = page_bounds(limit, cursor)?;
    let filter = ListFilter {
        columns: columns.clone(),
        after_id,
        limit: limit + 1,
    };
    let records = state.store.list_among(R::ENTITY, ids, &filter).await?;
    let items = records.iter().map(representation).collect();
    Ok(page_from(items, limit, |item: &Value| {
        item["id"].as_str().unwrap_or_default().to_string()
    }))
}

/// What a write's `?wait_for=` asks for. Read by [`index_wait_asked`] before
/// the write, so that a bad value is refused with nothing written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexWait {
    /// Answer as soon as the write committed.
    No,
    /// `?wait_for=indexed`: answer once matching and search reflect the write.
    Indexed,
}

/// The `?wait_for=` of a write request: absent, or `indexed`; anything else
/// is a 400 naming `wait_for`. Every write handler calls this before it
/// writes: once the write committed, the answer must acknowledge it.
pub fn index_wait_asked(request: &HttpRequest) -> Result<IndexWait, ApiError> {
    let mut asked = form_urlencoded::parse(request.query_string().as_bytes())
        .filter(|(name, _)| name == "wait_for")
        .map(|(_, value)| value.into_owned());
    match (asked.next().as_deref(), asked.next()) {
        (None, _) => Ok(IndexWait::No),
        (Some("indexed"), None) => Ok(IndexWait::Indexed),
        (Some(_), None) => Err(ApiError::bad_request("wait_for", "must be `indexed`")),
        (Some(_), Some(_)) => Err(ApiError::bad_request("wait_for", "must be given once")),
    }
}

/// Called by every write handler once its write committed, with what
/// [`index_wait_asked`] read before the write. Notes the write as the key's
/// own (its next search waits for it) and, for [`IndexWait::Indexed`],
/// returns once matching (and search) reflect every write acknowledged so
/// far, or after [`INDEX_WAIT`] at most.
///
/// Infallible on purpose: the write is committed and the answer acknowledges
/// it. Were this to fail the request, the client would think nothing was
/// written and send it again. A failure here is logged, and only costs the
/// key's next search its wait for this write.
pub async fn after_write(state: &AppState, request: &HttpRequest, wait: IndexWait) {
    // At or after the write's own change: a search by the same key then waits
    // at most for the few changes others committed in between.
    let written = match state.store.latest_change_seq().await {
        Ok(written) => written,
        Err(error) => {
            tracing::warn!(
                error = %error,
                "could not read the change feed position after a committed write; \
                 answering without waiting for the indexes"
            );
            return;
        }
    };
    state.own_writes.note(request, written);
    if wait == IndexWait::Indexed && !state.feed.wait_for(written, INDEX_WAIT).await {
        tracing::warn!(seq = written, "write not indexed within the wait bound");
    }
}

/// The longest a write waits for the indexes; visibility normally takes well
/// under a second.
pub const INDEX_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn version(if_match: &str) -> Result<Option<i64>, ApiError> {
        expected_version(
            &TestRequest::default()
                .insert_header(("If-Match", if_match))
                .to_http_request(),
        )
    }

    #[test]
    fn if_match_is_an_etag_a_weak_etag_a_bare_version_or_a_star() {
        assert_eq!(version("\"3\"").ok(), Some(Some(3)));
        assert_eq!(version("W/\"3\"").ok(), Some(Some(3)));
        assert_eq!(version("3").ok(), Some(Some(3)));
        assert_eq!(version("*").ok(), Some(None));
        for refused in [
            "yesterday",
            "\"3",
            "W/3",
            "\"\"",
            "-3",
            "+3",
            "\"1234567890123456789\"",
            "\"\"3\"\"",
        ] {
            assert!(version(refused).is_err(), "{refused}");
        }
    }
}
