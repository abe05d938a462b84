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
//! - Answers are kept 24 hours. Server errors (5xx), timeouts and requests the
//!   client gave up on are not kept: the key is freed so that the retry runs
//!   the request. (A 5xx after the write committed, rare, then lets a retry
//!   write again.)
//! - The claim and the write are separate transactions: if the process dies
//!   between them, a retry takes the key over once the claim is twice the
//!   request time limit old (at least a minute).
//! - `POST .../contact` is left out: its answer is a phone number, released
//!   afresh (consent checked, audited) on every request.
//! - Kept answers may hold a profile: erasing the worker forgets them.

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
use crate::body::MAX_BODY_BYTES;
use crate::error::ApiError;
use crate::routes::workers::MAX_BATCH_BODY_BYTES;
use crate::state::AppState;

pub static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub static IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// How long an answer is kept for replay.
const KEEP_FOR: chrono::Duration = chrono::Duration::hours(24);
/// An unfinished claim is abandoned (its process died) once older than twice
/// the request time limit, and never sooner than this.
const MIN_STALE_AFTER: chrono::Duration = chrono::Duration::seconds(60);
/// The longest key accepted, as most payment APIs do.
const MAX_KEY_CHARS: usize = 255;

/// Headers of an answer that are not kept: they belong to each response.
const UNKEPT_HEADERS: [&str; 4] = [
    "x-request-id",
    "date",
    "content-length",
    "transfer-encoding",
];

/// What is kept of an answer to replay it.
#[derive(Serialize, Deserialize)]
struct StoredAnswer {
    headers: Vec<(String, String)>,
    body: String,
}

/// Frees the claim unless the answer was kept, including when the request is
/// dropped half-way (the client went away).
struct Claim {
    state: web::Data<AppState>,
    key_id: String,
    key: String,
    claimed_at: chrono::DateTime<Utc>,
    settled: bool,
}

impl Claim {
    async fn release(mut self) {
        self.settled = true;
        let _ = self
            .state
            .store
            .release_idempotency_key(&self.key_id, &self.key, self.claimed_at)
            .await;
    }

    async fn complete(mut self, status: u16, answer: &str) {
        self.settled = true;
        if let Err(error) = self
            .state
            .store
            .complete_idempotency_key(&self.key_id, &self.key, self.claimed_at, status, answer)
            .await
        {
            // The write itself stands; only a replay is lost (the claim goes
            // stale and a retry would run again).
            tracing::warn!(%error, "could not keep the answer for an Idempotency-Key");
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let (state, key_id, key, claimed_at) = (
            self.state.clone(),
            std::mem::take(&mut self.key_id),
            std::mem::take(&mut self.key),
            self.claimed_at,
        );
        actix_web::rt::spawn(async move {
            let _ = state
                .store
                .release_idempotency_key(&key_id, &key, claimed_at)
                .await;
        });
    }
}

pub async fn idempotent_writes(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let is_write =
        [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(request.method());
    let releases_contact = request.path().ends_with("/contact");
    let Some(sent) = request.headers().get(&IDEMPOTENCY_KEY).cloned() else {
        return Ok(next.call(request).await?.map_into_boxed_body());
    };
    if !is_write || releases_contact {
        return Ok(next.call(request).await?.map_into_boxed_body());
    }
    // Refusals leave as responses, so that the outer middleware tags and counts
    // them like any other.
    let mut request = request;
    let claim = match claim(&mut request, &sent).await {
        Ok(claim) => claim,
        Err(Refusal::Problem(error)) => return Ok(request.error_response(error)),
        Err(Refusal::Answer(response)) => return Ok(request.into_response(response)),
    };

    let response = match next.call(request).await {
        Ok(response) if !response.status().is_server_error() => response,
        other => {
            claim.release().await;
            return Ok(other?.map_into_boxed_body());
        }
    };
    let (http_request, response) = response.into_parts();
    let (response, body) = response.into_parts();
    let Ok(body) = actix_web::body::to_bytes(body).await else {
        claim.release().await;
        let error = ApiError::Unavailable("could not read the answer".to_string());
        return Ok(ServiceResponse::new(
            http_request,
            actix_web::ResponseError::error_response(&error),
        ));
    };
    let answer = StoredAnswer {
        headers: response
            .headers()
            .iter()
            .filter(|(name, _)| !UNKEPT_HEADERS.contains(&name.as_str()))
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    match serde_json::to_string(&answer) {
        Ok(kept) => claim.complete(response.status().as_u16(), &kept).await,
        Err(_) => claim.release().await,
    }
    let response = response.set_body(body).map_into_boxed_body();
    Ok(ServiceResponse::new(http_request, response))
}

enum Refusal {
    Problem(ApiError),
    Answer(HttpResponse),
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Refusal::Problem(error)
    }
}

/// Authenticates, reads and hashes the request, and claims its key; or the
/// answer to give instead of running it.
async fn claim(request: &mut ServiceRequest, sent: &HeaderValue) -> Result<Claim, Refusal> {
    let key = valid_key(sent)?;
    let state = request
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Unavailable("server state missing".to_string()))?;
    // Authenticated here, once: the handler finds the principal in the
    // request's extensions (and the rate limit counts the request once).
    let principal = crate::auth::authenticate(request.request().clone()).await?;
    request.extensions_mut().insert(principal.clone());

    let body = read_body(request).await?;
    let request_hash = hash_request(request, &body);
    request.set_payload(payload_of(body));

    let now = Utc::now();
    let request_timeout = chrono::Duration::from_std(state.rate_limits.limits().request_timeout)
        .unwrap_or(MIN_STALE_AFTER);
    let stale_after = (request_timeout * 2).max(MIN_STALE_AFTER);
    let claimed = state
        .store
        .claim_idempotency_key(
            &principal.key_id,
            &key,
            &request_hash,
            now - KEEP_FOR,
            now - stale_after,
        )
        .await
        .map_err(ApiError::from)?;
    match claimed {
        IdempotencyClaim::Claimed { claimed_at } => Ok(Claim {
            state,
            key_id: principal.key_id,
            key,
            claimed_at,
            settled: false,
        }),
        IdempotencyClaim::Answered { status, response } => {
            Err(Refusal::Answer(replayed(status, &response)?))
        }
        IdempotencyClaim::InProgress => {
            let mut refusal = actix_web::ResponseError::error_response(&ApiError::Conflict(
                "a request with this Idempotency-Key is still being answered; retry shortly"
                    .to_string(),
            ));
            refusal
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Err(Refusal::Answer(refusal))
        }
        IdempotencyClaim::OtherRequest => {
            Err(ApiError::Validation(vec![jobmatch_domain::FieldError::new(
                "Idempotency-Key",
                "was already used with a different request; use a new key for each request",
            )])
            .into())
        }
    }
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

/// The body, up to the route's limit (checked against `Content-Length` before
/// anything is read).
async fn read_body(request: &mut ServiceRequest) -> Result<Bytes, ApiError> {
    let limit = if request.path().ends_with("/batch") {
        MAX_BATCH_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    };
    let too_large = ApiError::PayloadTooLarge { limit_bytes: limit };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large);
    }
    let mut payload = request.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| {
            ApiError::bad_request("body", format!("could not be read: {error}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large);
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

fn replayed(status: u16, kept: &str) -> Result<HttpResponse, ApiError> {
    let answer: StoredAnswer = serde_json::from_str(kept).map_err(ApiError::internal)?;
    let status = StatusCode::from_u16(status).map_err(ApiError::internal)?;
    let mut response = HttpResponse::build(status);
    for (name, value) in answer.headers {
        response.append_header((name, value));
    }
    response.insert_header((IDEMPOTENT_REPLAYED.clone(), "true"));
    Ok(response.body(answer.body))
}

/// The principal [`idempotent_writes`] authenticated, if it ran.
pub(crate) fn authenticated(request: &actix_web::HttpRequest) -> Option<Principal> {
    request.extensions().get::<Principal>().cloned()
}
