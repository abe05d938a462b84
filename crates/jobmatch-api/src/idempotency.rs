//! `Idempotency-Key` on writes: a client that re-sends a `POST`, `PUT`, `PATCH`
//! or `DELETE` with the key of an earlier request (same API key, same method,
//! path, query and body) gets the earlier answer again, marked
//! `Idempotent-Replayed: true`, and nothing is written twice. Partners whose
//! answer was lost on a bad connection retry safely, even for creates without
//! an `external_id`.
//!
//! - The key is 1 to 255 visible ASCII characters; anything else is a 400
//!   naming `Idempotency-Key`.
//! - The same key with a different request is a 422; while the first request
//!   is still running, a 409 with `Retry-After`.
//! - Answers are kept 24 hours. Server errors (5xx) are not kept: the key is
//!   freed so that the retry runs the request.
//! - The claim and the write are separate transactions: if the process dies
//!   between them, the key is taken over by a retry after [`STALE_AFTER`].

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage, HttpResponse, web};
use chrono::Utc;
use futures_util::StreamExt;
use jobmatch_store::IdempotencyClaim;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::routes::workers::MAX_BATCH_BODY_BYTES;
use crate::state::AppState;

pub static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub static IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// How long an answer is kept for replay.
const KEEP_FOR: chrono::Duration = chrono::Duration::hours(24);
/// An unfinished claim older than this is abandoned (its process died): twice
/// the longest a request may run by default.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::seconds(60);
/// The longest key accepted, as most payment APIs do.
const MAX_KEY_CHARS: usize = 255;

/// What is kept of an answer to replay it.
#[derive(Serialize, Deserialize)]
struct StoredAnswer {
    content_type: Option<String>,
    location: Option<String>,
    etag: Option<String>,
    body: String,
}

pub async fn idempotent_writes(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let is_write =
        [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(request.method());
    let Some(sent) = request.headers().get(&IDEMPOTENCY_KEY).cloned() else {
        return Ok(next.call(request).await?.map_into_boxed_body());
    };
    if !is_write {
        return Ok(next.call(request).await?.map_into_boxed_body());
    }
    let key = valid_key(&sent)?;
    let state = request
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Unavailable("server state missing".to_string()))?;
    // Authenticated here, once: the handler finds the principal in the
    // request's extensions (and the rate limit counts the request once).
    let principal = crate::auth::authenticate(request.request().clone()).await?;
    request.extensions_mut().insert(principal.clone());

    let body = read_body(&mut request).await?;
    let request_hash = hash_request(&request, &body);
    request.set_payload(payload_of(body));

    let now = Utc::now();
    let claim = state
        .store
        .claim_idempotency_key(
            &principal.key_id,
            &key,
            &request_hash,
            now - KEEP_FOR,
            now - STALE_AFTER,
        )
        .await
        .map_err(ApiError::from)?;
    match claim {
        IdempotencyClaim::Claimed => {}
        IdempotencyClaim::Answered { status, response } => {
            let replay = replayed(status, &response)?;
            return Ok(request.into_response(replay));
        }
        IdempotencyClaim::InProgress => {
            let mut refusal = actix_web::ResponseError::error_response(&ApiError::Conflict(
                "a request with this Idempotency-Key is still being answered; retry shortly"
                    .to_string(),
            ));
            refusal
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Ok(request.into_response(refusal));
        }
        IdempotencyClaim::OtherRequest => {
            return Err(ApiError::Validation(vec![jobmatch_domain::FieldError::new(
                "Idempotency-Key",
                "was already used with a different request; use a new key for each request",
            )])
            .into());
        }
    }

    let outcome = next.call(request).await;
    let response = match outcome {
        Ok(response) if !response.status().is_server_error() => response,
        other => {
            // Not kept: the retry must be able to run the request.
            let _ = state
                .store
                .release_idempotency_key(&principal.key_id, &key)
                .await;
            return Ok(other?.map_into_boxed_body());
        }
    };
    let (http_request, response) = response.into_parts();
    let (response, body) = response.into_parts();
    let body = actix_web::body::to_bytes(body)
        .await
        .map_err(|_| ApiError::Unavailable("could not read the answer".to_string()))?;
    let answer = StoredAnswer {
        content_type: header_text(&response, header::CONTENT_TYPE),
        location: header_text(&response, header::LOCATION),
        etag: header_text(&response, header::ETAG),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let kept = serde_json::to_string(&answer).map_err(ApiError::internal)?;
    if let Err(error) = state
        .store
        .complete_idempotency_key(&principal.key_id, &key, response.status().as_u16(), &kept)
        .await
    {
        // The write itself stands; only a replay is lost (the claim goes stale
        // and a retry would run again). Say so in the log.
        tracing::warn!(%error, "could not keep the answer for an Idempotency-Key");
    }
    let response = response.set_body(body).map_into_boxed_body();
    Ok(ServiceResponse::new(http_request, response))
}

fn valid_key(sent: &HeaderValue) -> Result<String, ApiError> {
    sent.to_str()
        .ok()
        .filter(|key| {
            (1..=MAX_KEY_CHARS).contains(&key.len())
                && key.bytes().all(|byte| byte.is_ascii_graphic())
        })
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::bad_request(
                "Idempotency-Key",
                format!("must be 1 to {MAX_KEY_CHARS} visible ASCII characters, such as a UUID"),
            )
        })
}

async fn read_body(request: &mut ServiceRequest) -> Result<Bytes, ApiError> {
    let mut payload = request.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| {
            ApiError::bad_request("body", format!("could not be read: {error}"))
        })?;
        if body.len() + chunk.len() > MAX_BATCH_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit_bytes: MAX_BATCH_BODY_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn payload_of(body: Bytes) -> actix_web::dev::Payload {
    let (_, mut payload) = actix_http::h1::Payload::create(true);
    payload.unread_data(body);
    actix_web::dev::Payload::from(payload)
}

/// Method, path with query, content type and body: what makes two requests
/// the same request.
fn hash_request(request: &ServiceRequest, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(request.method().as_str());
    hasher.update([0]);
    hasher.update(request.uri().path());
    hasher.update([0]);
    hasher.update(request.query_string());
    hasher.update([0]);
    if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
        hasher.update(content_type.as_bytes());
    }
    hasher.update([0]);
    hasher.update(body);
    hex::encode(hasher.finalize())
}

fn header_text(response: &HttpResponse<impl MessageBody>, name: HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

fn replayed(status: u16, kept: &str) -> Result<HttpResponse, ApiError> {
    let answer: StoredAnswer = serde_json::from_str(kept).map_err(ApiError::internal)?;
    let status = StatusCode::from_u16(status).map_err(ApiError::internal)?;
    let mut response = HttpResponse::build(status);
    response.insert_header((IDEMPOTENT_REPLAYED.clone(), "true"));
    for (name, value) in [
        (header::CONTENT_TYPE, answer.content_type),
        (header::LOCATION, answer.location),
        (header::ETAG, answer.etag),
    ] {
        if let Some(value) = value {
            response.insert_header((name, value));
        }
    }
    Ok(response.body(answer.body))
}

/// The principal [`idempotent_writes`] authenticated, if it ran.
pub(crate) fn authenticated(request: &actix_web::HttpRequest) -> Option<Principal> {
    request.extensions().get::<Principal>().cloned()
}
