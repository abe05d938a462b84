//! Operations endpoints: liveness, readiness, metrics. No authentication, no
//! personal data.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::PROBLEM_JSON;
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
    /// `change_feed_seq` by at most a moment while writes arrive. While the search
    /// index is rebuilding, what matching reflects.
    pub indexed_seq: i64,
    /// The search index: `ready`, or `rebuilding` from the database (after it was
    /// found missing, damaged or of an older version); searches answer 503 meanwhile.
    #[schema(example = "ready")]
    pub search: SearchReadiness,
    /// Present when the server takes backups on a schedule (`serve --backup-dir`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub backup: Option<BackupReadiness>,
}

/// The scheduled backups.
#[derive(Serialize, ToSchema)]
pub struct BackupReadiness {
    /// Seconds since the last good backup was taken; `null` before the first.
    #[schema(example = 3600)]
    pub age_seconds: Option<i64>,
}

#[derive(Serialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SearchReadiness {
    Ready,
    Rebuilding,
}

/// Not ready: a problem document that also carries what is known of the
/// readiness fields (all of them while the search index rebuilds; no sequence
/// numbers when the database does not answer).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "type": "unavailable", "title": "Service unavailable", "status": 503,
    "detail": "the search index is being rebuilt from the database",
    "database": "sqlite", "change_feed_seq": 1042, "indexed_seq": 1042, "search": "rebuilding"
}))]
pub struct NotReady {
    #[serde(rename = "type")]
    #[schema(example = "unavailable")]
    pub problem_type: &'static str,
    pub title: &'static str,
    #[schema(example = 503)]
    pub status: u16,
    pub detail: String,
    pub database: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub change_feed_seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub indexed_seq: Option<i64>,
    pub search: SearchReadiness,
}

impl NotReady {
    fn response(self) -> HttpResponse {
        HttpResponse::ServiceUnavailable()
            .content_type(PROBLEM_JSON)
            .insert_header((header::RETRY_AFTER, SEARCH_RETRY_AFTER_SECONDS.to_string()))
            .json(self)
    }
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
/// Ready when the database answers and the search index is not being rebuilt.
#[utoipa::path(tag = "operations", operation_id = "readyz", security(()),
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "Not ready; the detail says why. While the search index is rebuilding, the document also carries the readiness fields, with `search` set to `rebuilding`; everything but search is served meanwhile.", body = NotReady, content_type = "application/problem+json"),
    ))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.store.backend_name();
    let search = if state.search_feed.is_rebuilding() {
        SearchReadiness::Rebuilding
    } else {
        SearchReadiness::Ready
    };
    let not_ready = |detail: &str| NotReady {
        problem_type: "unavailable",
        title: "Service unavailable",
        status: 503,
        detail: detail.to_string(),
        database,
        change_feed_seq: None,
        indexed_seq: None,
        search,
    };
    let Ok(seq) = state.store.latest_change_seq().await else {
        return not_ready("the database does not answer").response();
    };
    let indexed_seq = state.feed.applied();
    if search == SearchReadiness::Rebuilding {
        return NotReady {
            change_feed_seq: Some(seq),
            indexed_seq: Some(indexed_seq),
            ..not_ready("the search index is being rebuilt from the database")
        }
        .response();
    }
    HttpResponse::Ok().json(Readiness {
        status: "ready",
        database,
        change_feed_seq: seq,
        indexed_seq,
        search,
        backup: state.backups.as_ref().map(|status| BackupReadiness {
            age_seconds: status.age_seconds(chrono::Utc::now()),
        }),
    })
}

/// What `Retry-After` says while the server is not ready (the search index
/// rebuilds): a rebuild of 100,000 vacancies takes seconds, so asking again after a
/// few is neither idle long nor a flood.
pub const SEARCH_RETRY_AFTER_SECONDS: u32 = 5;

/// Metrics
///
/// Request counts and latencies, and how many open vacancies have their best
/// candidates kept ready (`jobmatch_matching_standing_lists` of
/// `jobmatch_matching_open_vacancies`, and the changed returnees still to be
/// offered to those lists, `jobmatch_matching_standing_unsettled`), and, when
/// backups are scheduled, the seconds since the last good one
/// (`jobmatch_backup_age_seconds`, `+Inf` before the first), in the Prometheus
/// text format.
#[utoipa::path(tag = "operations", operation_id = "metrics", security(()),
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let ((listed, open), unsettled) = {
        let index = state.matching.read();
        (
            index.standing_coverage(chrono::Utc::now().date_naive()),
            index.standing_unsettled(),
        )
    };
    state.metrics.standing_lists.set(listed as i64);
    state.metrics.standing_unsettled.set(unsettled as i64);
    state.metrics.open_vacancies.set(open as i64);
    if let Some(status) = &state.backups {
        let age = status
            .age_seconds(chrono::Utc::now())
            .map_or(f64::INFINITY, |seconds| seconds as f64);
        state.metrics.backup_age().set(age);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
