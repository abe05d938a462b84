//! What a request leaves in the log: its request id, method, route pattern,
//! client address and status, never anything the client wrote.
//!
//! `tracing-actix-web`'s default span records the path with its query string
//! (`?q=Sok Dara&phone=...`), and its default feature logs every refusal with
//! the error's `Debug` text, which for a refused body holds the refused values
//! (`unknown variant "Sok Dara"`). Here the span holds only values the server
//! chose: the method as its metric label, the route pattern the request
//! matched (never the path, whose segments are the client's text), the status,
//! and the client's address (the TCP peer, or the address a trusted proxy
//! forwarded for: see `transport`), which is a counsellor's or a partner's
//! machine, never a returnee's.
//! The feature is off (workspace `Cargo.toml`); internal errors log their cause
//! chain themselves (`error.rs`), which never holds a document's values.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

/// The span of each request, for [`tracing_actix_web::TracingLogger`].
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_string());
        tracing::info_span!(
            "request",
            request_id = %request_id,
            method = %crate::metrics::method_label(request.method()),
            route = %route,
            client = tracing::field::Empty,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        span.record("status", status.as_u16());
        // One line per request that failed on the server's side; the others
        // only at debug level. Neither says more than the span holds.
        if status.is_server_error() {
            tracing::error!("request failed");
        } else {
            tracing::debug!("request answered");
        }
    }
}
