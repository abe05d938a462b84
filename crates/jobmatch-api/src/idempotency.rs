//! `Idempotency-Key` on writes: a client that re-sends a `POST`, `PUT`, `PATCH`
//! or `DELETE` with the key of an earlier request (same API key, same method,
//! path, query, `If-Match` and body) gets the earlier answer again, marked
//! `Idempotent-Replayed: true`, and nothing is written twice. Partners whose
//! answer was lost on a bad connection retry safely, even for creates without
//! an `external_id`.
//!
//! - The key is 1 to 255 visible ASCII characters; anything else is a 400
//!   naming `Idempotency-Key`.
//! - The same key with a different request is a 422; while the first request
//!   is still running, a 409 with `Retry-After`.
//! - Kept: answers to requests that took effect (2xx), and refusals of the
//!   request's form alone (400, 413, 415), which the same request always meets
//!   again. Not kept, the key freed so that a retry runs the request again and
//!   sees the current state: refusals that depend on what is stored (403 until
//!   a partner is linked, 404, 409, 412 until `If-Match` names the current
//!   version, 422 of a merge patch validated with the stored document, 429,
//!   ...), which wrote nothing; server errors (5xx) and timeouts.
//! - The claim is handed to the write's own transaction
//!   ([`jobmatch_store::claimed_while`]): a write that changes records marks
//!   the claim written as it commits. A written claim is never freed, so when
//!   the answer is lost after the commit (a 5xx or the time limit after it, a
//!   failure to keep the answer, a process that dies), the retry is answered
//!   409 naming the records the first request wrote, and never writes again.
//! - The handler and the keeping of its answer run as a task of their own, so
//!   a client that goes away does not cut them short: once the write has
//!   committed, its answer is kept and the retry replays it.
//! - Answers are kept 24 hours. An older answer counts as absent when its key
//!   comes again; a periodic task ([`spawn_expiry`]) deletes expired rows.
//! - If the process dies after the claim and before any write commits, a
//!   retry takes the key over once the claim is twice the request time limit
//!   old (at least a minute); a write still running under the old claim is
//!   then rolled back (409).
//! - An answer marked [`NeverReplayed`] (a contact release: a phone number,
//!   released afresh, consent checked and audited, on every request) is never
//!   kept, however its path is spelled.
//! - Kept answers may hold a profile ([`CarriesProfile`]): a replay is audited
//!   as a read of it. Erasing the worker redacts them, as it does an answer
//!   whose worker is erased before it is kept: the key stays taken and its
//!   retry is answered 410 Gone, never run again (which would write the
//!   person back, or a batch's items twice). Answers naming only ids (a batch
//!   report) are kept as they are.
//! - A batch (`POST /v1/workers/batch`, up to 16 MiB) is authorized and takes
//!   one of the key's batch slots before its body is read; the handler holds
//!   that slot ([`crate::limits::BatchSlot`] in the request's extensions).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage, HttpResponse, web};
use chrono::Utc;
use futures_util::StreamExt;
use jobmatch_store::{ClaimedKey, IdempotencyClaim, IdempotencyRequester, Store, WrittenRecord};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing_actix_web::RequestId;

use crate::body::{MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES};
use crate::error::ApiError;
use crate::policy::{Operation, authorize};
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

/// How often expired answers are deleted.
const EXPIRY_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// In the extensions of a response that must never be kept nor replayed: the
/// request is answered afresh, with every check and audit row, each time.
#[derive(Debug, Clone, Copy)]
pub struct NeverReplayed;

/// In the extensions of a response that carries the profile of the returnee
/// with this id: a replay of the kept answer is audited as a read of it, and
/// the answer is not kept if the profile is erased before it can be.
#[derive(Debug, Clone)]
pub struct CarriesProfile(pub String);

/// Marks `response` as never to be replayed ([`NeverReplayed`]).
pub fn never_replayed(mut response: HttpResponse) -> HttpResponse {
    response.extensions_mut().insert(NeverReplayed);
    response
}

/// Marks `response` as carrying the profile of `worker_id` ([`CarriesProfile`]).
pub fn carries_profile(mut response: HttpResponse, worker_id: &str) -> HttpResponse {
    response
        .extensions_mut()
        .insert(CarriesProfile(worker_id.to_string()));
    response
}

/// Whether an answer with this status is kept for replay: the request took
/// effect, or it was refused for its form alone, which no change of the
/// stored data can mend. Every other refusal wrote nothing and may turn out
/// otherwise later (a version, a link, a stored document), so the retry runs.
fn is_kept(status: StatusCode) -> bool {
    status.is_success()
        || [
            StatusCode::BAD_REQUEST,
            StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ]
        .contains(&status)
}

/// Deletes expired answers every [`EXPIRY_SWEEP_EVERY`], from now on. Every
/// replica may run it: the deletions are idempotent.
pub fn spawn_expiry(store: Store) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EXPIRY_SWEEP_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store
                .forget_idempotency_answers_before(Utc::now() - KEEP_FOR)
                .await
            {
                Ok(0) => {}
                Ok(forgotten) => tracing::debug!(forgotten, "expired idempotency answers deleted"),
                Err(error) => tracing::warn!(
                    error = %crate::error::error_chain(&error),
                    "could not delete expired idempotency answers; retrying later"
                ),
            }
        }
    });
}

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

    async fn complete(mut self, status: u16, answer: &str, carries_profile_of: Option<&str>) {
        self.settled = true;
        if let Err(error) = self
            .state
            .store
            .complete_idempotency_key(
                &self.key_id,
                &self.key,
                self.claimed_at,
                status,
                answer,
                carries_profile_of,
            )
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
    let Some(sent) = request.headers().get(&IDEMPOTENCY_KEY).cloned() else {
        return Ok(next.call(request).await?.map_into_boxed_body());
    };
    if !is_write {
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
    // A task of its own: should the client go away, this future is dropped but
    // the handler and the keeping of its answer go on, so that a write that
    // commits is never left without its answer (the retry would write again).
    let claimed = ClaimedKey {
        key_id: claim.key_id.clone(),
        idempotency_key: claim.key.clone(),
        claimed_at: claim.claimed_at,
    };
    let handling = jobmatch_store::claimed_while(claimed, next.call(request));
    let answering = actix_web::rt::spawn(answer_and_keep(claim, handling));
    match answering.await {
        Ok(answered) => answered,
        // The handler panicked; the claim was freed as the task unwound.
        Err(error) => Err(ApiError::internal(error).into()),
    }
}

/// Runs the request (`answering`) and keeps its answer under `claim`, or frees
/// the claim when the answer is not to be kept.
async fn answer_and_keep<B: MessageBody + 'static>(
    claim: Claim,
    answering: impl std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let response = match answering.await {
        Ok(response)
            if is_kept(response.status())
                && response
                    .response()
                    .extensions()
                    .get::<NeverReplayed>()
                    .is_none() =>
        {
            response
        }
        other => {
            claim.release().await;
            return Ok(other?.map_into_boxed_body());
        }
    };
    let carries_profile_of = response
        .response()
        .extensions()
        .get::<CarriesProfile>()
        .map(|CarriesProfile(worker_id)| worker_id.clone());
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
        Ok(kept) => {
            claim
                .complete(
                    response.status().as_u16(),
                    &kept,
                    carries_profile_of.as_deref(),
                )
                .await
        }
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
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.to_string());

    // A batch body may be 16 MiB: before reading a byte of it, refuse a key
    // that may not send batches, and take one of the key's batch slots, as
    // the handler would. Otherwise fresh keys would let anyone make the
    // server hold any number of such bodies.
    let is_batch = is_batch(request);
    let batch_slot = if is_batch {
        authorize(&principal, Operation::CreateWorkerBatch)?;
        Some(state.rate_limits.claim_batch(&principal.key_id)?)
    } else {
        None
    };
    let body = read_body(request, is_batch).await?;
    let request_hash = hash_request(request, &body);
    request.set_payload(payload_of(body));

    let now = Utc::now();
    let request_timeout = chrono::Duration::from_std(state.rate_limits.limits().request_timeout)
        .unwrap_or(MIN_STALE_AFTER);
    let stale_after = (request_timeout * 2).max(MIN_STALE_AFTER);
    let claimed = state
        .store
        .claim_idempotency_key(
            &IdempotencyRequester {
                key_id: &principal.key_id,
                role: principal.role.code(),
                request_id: request_id.as_deref(),
            },
            &key,
            &request_hash,
            now - KEEP_FOR,
            now - stale_after,
        )
        .await
        .map_err(ApiError::from)?;
    match claimed {
        IdempotencyClaim::Claimed { claimed_at } => {
            // The handler holds the slot until its answer is built.
            if let Some(slot) = batch_slot {
                request.extensions_mut().insert(slot);
            }
            Ok(Claim {
                state,
                key_id: principal.key_id,
                key,
                claimed_at,
                settled: false,
            })
        }
        IdempotencyClaim::Answered { status, response } => {
            Err(Refusal::Answer(replayed(status, &response)?))
        }
        IdempotencyClaim::Erased => Err(Refusal::Answer(erased_answer())),
        IdempotencyClaim::Written { records } => {
            Err(ApiError::Conflict(written_detail(&records)).into())
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

/// Whether the request is a batch of profiles (`POST /v1/workers/batch`), the
/// one route whose body may be larger than [`MAX_BODY_BYTES`].
fn is_batch(request: &ServiceRequest) -> bool {
    // The path as routing decodes it (`%62atch` is `batch`).
    request.method() == Method::POST && request.match_info().as_str() == "/v1/workers/batch"
}

/// The body, up to the route's limit (checked against `Content-Length` before
/// anything is read).
async fn read_body(request: &mut ServiceRequest, is_batch: bool) -> Result<Bytes, ApiError> {
    let limit = if is_batch {
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

/// Method, path with query, content type, `If-Match` and body: what makes two
/// requests the same request. (A change conditional on another version is
/// another request.)
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
    // Only when sent, so that the hashes of other requests stay those kept
    // before `If-Match` counted.
    if let Some(if_match) = request.headers().get(header::IF_MATCH) {
        hasher.update(b"if-match:");
        hasher.update(if_match.as_bytes());
        hasher.update([0]);
    }
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

/// Records named at most in a [`written_detail`]; a batch may write 1,000.
const WRITTEN_NAMED: usize = 20;

/// What a retry is told of a request that wrote but whose answer was lost:
/// the records it wrote, so that the client reads them instead of writing
/// again.
fn written_detail(records: &[WrittenRecord]) -> String {
    let mut named: Vec<String> = records
        .iter()
        .take(WRITTEN_NAMED)
        .map(|record| format!("{} {} ({})", record.entity, record.id, record.op))
        .collect();
    if records.len() > WRITTEN_NAMED {
        named.push(format!("{} more", records.len() - WRITTEN_NAMED));
    }
    format!(
        "the request with this Idempotency-Key was written, but its answer was lost; \
         it is not run again. It wrote: {}",
        named.join(", ")
    )
}

/// The kept answer of a request whose answer carried a profile erased since:
/// the key stays taken, so the request is not run again (it would write the
/// person back), and nothing of the profile is told.
fn erased_answer() -> HttpResponse {
    let mut response = actix_web::ResponseError::error_response(&ApiError::Http {
        status: StatusCode::GONE,
        detail: "the profile this answer carried has been erased".to_string(),
    });
    response.headers_mut().insert(
        IDEMPOTENT_REPLAYED.clone(),
        HeaderValue::from_static("true"),
    );
    response
}
