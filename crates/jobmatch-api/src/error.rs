//! The one place where failures become HTTP responses.
//!
//! Every error a client can see is `application/problem+json` (RFC 9457) with a
//! stable snake_case `type`. Internal causes (database errors and the like) are
//! logged with their chain and never sent to the client.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use jobmatch_domain::FieldError;
use jobmatch_service::ServiceError;
use jobmatch_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "validation_failed",
    "title": "Invalid input",
    "status": 422,
    "detail": "2 fields are invalid",
    "errors": [
        {"field": "province_code", "message": "is not a province code of the NCDD gazetteer (\"01\" to \"25\")"},
        {"field": "wage_min_usd", "message": "must not be greater than wage_max_usd"}
    ]
}))]
pub struct Problem {
    /// Stable, snake_case identifier of the kind of problem.
    #[serde(rename = "type")]
    pub problem_type: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// For invalid input: every bad field, with what is wrong with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(nullable = false)]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the resource has version {current}, not the one given in If-Match")]
    PreconditionFailed { current: i64 },
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is larger than {limit_bytes} bytes")]
    PayloadTooLarge { limit_bytes: usize },
    /// A body the server cannot read as sent: `header` (`Content-Type` or
    /// `Content-Encoding`) says what is wrong with it.
    #[error("{header}: {message}")]
    UnsupportedMediaType {
        header: &'static str,
        message: String,
    },
    #[error("{method} is not allowed here; allowed: {allow}")]
    MethodNotAllowed { method: String, allow: String },
    #[error("{0}")]
    Unavailable(String),
    /// Over the key's request rate; `Retry-After` says when to try again.
    #[error("too many requests for this API key; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// Too many unknown keys from the client's address: no key it sends is
    /// looked up before `Retry-After`.
    #[error("too many unknown API keys from this address; retry after {retry_after_secs} s")]
    TooManyUnknownKeys { retry_after_secs: u64 },
    /// The key already has `limit` batches in flight; `Retry-After` says when
    /// to try again.
    #[error(
        "this API key already has {limit} batches in progress; retry after {retry_after_secs} s"
    )]
    TooManyBatches { limit: usize, retry_after_secs: u64 },
    /// The request took longer than the server allows one request to take.
    #[error("the request took longer than {limit_secs} s and was abandoned")]
    Timeout { limit_secs: u64 },
    /// Any other refusal, produced outside the handlers (by actix-web itself).
    #[error("{detail}")]
    Http { status: StatusCode, detail: String },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn bad_request(field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError::BadRequest {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError::new(field, message)],
        }
    }

    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> ApiError {
        ApiError::Internal(Box::new(error))
    }

    /// The problem for a bare status that actix-web produced on its own.
    pub fn from_status(status: StatusCode, detail: String) -> ApiError {
        match status {
            StatusCode::NOT_FOUND => ApiError::NotFound(detail),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::Http { status, detail },
            StatusCode::BAD_REQUEST => ApiError::BadRequest {
                detail,
                errors: Vec::new(),
            },
            _ => ApiError::Http { status, detail },
        }
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest { .. } => ("bad_request", "Bad request"),
            ApiError::Validation(_) => ("validation_failed", "Invalid input"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::NotFound(_) => ("not_found", "Not found"),
            ApiError::PreconditionFailed { .. } => ("version_mismatch", "Precondition failed"),
            ApiError::Conflict(_) => ("conflict", "Conflict"),
            ApiError::PayloadTooLarge { .. } => ("payload_too_large", "Request body too large"),
            ApiError::UnsupportedMediaType { .. } => {
                ("unsupported_media_type", "Unsupported media type")
            }
            ApiError::MethodNotAllowed { .. } => ("method_not_allowed", "Method not allowed"),
            ApiError::Unavailable(_) => ("unavailable", "Service unavailable"),
            ApiError::TooManyRequests { .. } | ApiError::TooManyUnknownKeys { .. } => {
                ("rate_limited", "Too many requests")
            }
            ApiError::TooManyBatches { .. } => ("too_many_batches", "Too many requests"),
            ApiError::Timeout { .. } => ("timeout", "Request timed out"),
            ApiError::Http { status, .. } => (http_problem_type(*status), "Request refused"),
            ApiError::Internal(_) => ("internal_error", "Internal error"),
        }
    }

    fn problem(&self) -> Problem {
        let (problem_type, title) = self.kind();
        let errors = match self {
            ApiError::BadRequest { errors, .. } | ApiError::Validation(errors) => errors.clone(),
            ApiError::UnsupportedMediaType { header, message } => {
                vec![FieldError::new(*header, message.clone())]
            }
            // Every refused key was refused for what its header carried.
            ApiError::Unauthorized(message) => {
                vec![FieldError::new("Authorization", message.clone())]
            }
            _ => Vec::new(),
        };
        let detail = match self {
            ApiError::Validation(errors) => match errors.as_slice() {
                [only] => format!("{}: {}", only.field, only.message),
                _ => format!("{} fields are invalid", errors.len()),
            },
            ApiError::Internal(_) => {
                "the server could not complete the request; it has been logged".to_string()
            }
            other => other.to_string(),
        };
        Problem {
            problem_type,
            title,
            status: self.status_code().as_u16(),
            detail,
            errors,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests { .. }
            | ApiError::TooManyUnknownKeys { .. }
            | ApiError::TooManyBatches { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Http { status, .. } => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(error = %error_chain(cause.as_ref()), "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self {
            ApiError::Unauthorized(_) => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            ApiError::TooManyRequests { retry_after_secs }
            | ApiError::TooManyUnknownKeys { retry_after_secs }
            | ApiError::TooManyBatches {
                retry_after_secs, ..
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                if let Ok(value) = HeaderValue::from_str(allow) {
                    response.insert_header((header::ALLOW, value));
                }
            }
            // RFC 9110 (15.5.16): a refused content coding answers with the codings
            // that would have been accepted.
            ApiError::UnsupportedMediaType {
                header: "Content-Encoding",
                ..
            } => {
                response.insert_header((
                    header::ACCEPT_ENCODING,
                    HeaderValue::from_static("identity"),
                ));
            }
            _ => {}
        }
        response.json(self.problem())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound => ApiError::NotFound("no such record".to_string()),
            StoreError::VersionMismatch { current } => ApiError::PreconditionFailed { current },
            StoreError::ExternalIdTaken { existing_id } => ApiError::Conflict(format!(
                "external_id is already used by record {existing_id}"
            )),
            StoreError::ReferenceMissing => ApiError::Validation(vec![FieldError::new(
                "employer_id",
                "no employer has this id",
            )]),
            StoreError::StillReferenced => {
                ApiError::Conflict("other records still refer to this one".to_string())
            }
            StoreError::IdempotencyClaimLost => ApiError::Conflict(error.to_string()),
            other => ApiError::internal(other),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> ApiError {
        match error {
            ServiceError::Invalid(errors) => ApiError::Validation(errors),
            ServiceError::VersionMismatch { current } => ApiError::PreconditionFailed { current },
            ServiceError::Abandoned => ApiError::Unavailable("the batch was abandoned".to_string()),
            ServiceError::Store(error) => error.into(),
            ServiceError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

pub use jobmatch_service::error_chain;

/// Turns actix-web's own extractor failures (bad query strings, path segments,
/// oversized payloads) into problem documents naming the part that was wrong.
pub fn query_error(
    error: actix_web::error::QueryPayloadError,
    _request: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::bad_request("query", clean_serde_message(&error.to_string())).into()
}

pub fn path_error(
    error: actix_web::error::PathError,
    _request: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::bad_request("path", clean_serde_message(&error.to_string())).into()
}

fn clean_serde_message(message: &str) -> String {
    message
        .trim_start_matches("Query deserialize error: ")
        .trim_start_matches("Path deserialize error: ")
        .to_string()
}

fn http_problem_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        411 => "length_required",
        413 => "payload_too_large",
        414 => "uri_too_long",
        410 => "gone",
        415 => "unsupported_media_type",
        431 => "headers_too_large",
        code if code >= 500 => "internal_error",
        _ => "request_refused",
    }
}
