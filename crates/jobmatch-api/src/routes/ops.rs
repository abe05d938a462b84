//! Operations endpoints: liveness, readiness, metrics. No authentication, no
//! personal data.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    /// Sequence of the latest write in the change feed.
    pub change_feed_seq: i64,
    /// Sequence of the latest change that matching and search reflect; it trails
    /// `change_feed_seq` by at most a moment while writes arrive.
    pub indexed_seq: i64,
}

/// Liveness
///
/// Answers while the process runs.
#[utoipa::path(tag = "operations", operation_id = "healthz", security(()),
    responses((status = 200, description = "The process is up", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness
///
/// Ready when the database answers.
#[utoipa::path(tag = "operations", operation_id = "readyz", security(()),
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "Not ready; the detail says why", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let seq = state
        .store
        .latest_change_seq()
        .await
        .map_err(|_| ApiError::Unavailable("the database does not answer".to_string()))?;
    Ok(HttpResponse::Ok().json(Readiness {
        status: "ready",
        database: state.store.backend_name(),
        change_feed_seq: seq,
        indexed_seq: state.feed.applied(),
    }))
}

/// Metrics
///
/// Request counts and latencies in the Prometheus text format.
#[utoipa::path(tag = "operations", operation_id = "metrics", security(()),
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
