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
    /// How far the search index is behind the database: `change_feed_seq` less
    /// the sequence of the last change search reflects (about the number of
    /// changes still to apply). Ready means at most 2,000.
    #[schema(example = 0)]
    pub search_lag: i64,
    /// The search index: `ready`; `catching_up` while it is more than 2,000
    /// changes behind or still applying the backlog it found at start-up
    /// (searches answer, but may miss recent changes); or `rebuilding` from the
    /// database (after it was found missing, damaged or of an older version),
    /// when searches answer 503.
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
    CatchingUp,
    Rebuilding,
}

/// The most changes search may be behind the database while the server says it
/// is ready: one page of the follower (an import writes 2,000 rows per
/// transaction), under a second of work.
pub const SEARCH_READY_LAG: i64 = 2_000;

/// Not ready: a problem document that also carries what is known of the
/// readiness fields (all of them while the search index rebuilds; no sequence
/// numbers when the database does not answer).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "type": "unavailable", "title": "Service unavailable", "status": 503,
    "detail": "the search index is 48210 changes behind the database and catching up",
    "database": "sqlite", "change_feed_seq": 100042, "indexed_seq": 51832,
    "search_lag": 48210, "search": "catching_up"
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
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub search_lag: Option<i64>,
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
/// Ready when the database answers and the search index is neither being
/// rebuilt nor more than 2,000 changes behind the database (nor still applying
/// the backlog it found at start-up).
#[utoipa::path(tag = "operations", operation_id = "readyz", security(()),
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "Not ready; the detail says why. While the search index is rebuilding or catching up, the document also carries the readiness fields, with `search` set to `rebuilding` or `catching_up` and `search_lag` saying how far behind it is; everything is served meanwhile, but searches answer 503 while rebuilding and may miss recent changes while catching up.", body = NotReady, content_type = "application/problem+json"),
    ))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.store.backend_name();
    let rebuilding = state.search_feed.is_rebuilding();
    let mut search = if rebuilding {
        SearchReadiness::Rebuilding
    } else {
        SearchReadiness::Ready
    };
    let not_ready = |detail: &str, search: SearchReadiness| NotReady {
        problem_type: "unavailable",
        title: "Service unavailable",
        status: 503,
        detail: detail.to_string(),
        database,
        change_feed_seq: None,
        indexed_seq: None,
        search_lag: None,
        search,
    };
    let Ok(seq) = state.store.latest_change_seq().await else {
        return not_ready("the database does not answer", search).response();
    };
    let indexed_seq = state.feed.applied();
    // Read after the feed's end, so never negative but for a write racing in.
    let search_lag = (seq - state.search_feed.applied()).max(0);
    if !rebuilding && (state.search_feed.is_catching_up() || search_lag > SEARCH_READY_LAG) {
        search = SearchReadiness::CatchingUp;
    }
    let detail = match search {
        SearchReadiness::Ready => {
            return HttpResponse::Ok().json(Readiness {
                status: "ready",
                database,
                change_feed_seq: seq,
                indexed_seq,
                search_lag,
                search,
                backup: state.backups.as_ref().map(|status| BackupReadiness {
                    age_seconds: status.age_seconds(chrono::Utc::now()),
                }),
            });
        }
        SearchReadiness::Rebuilding => {
            "the search index is being rebuilt from the database".to_string()
        }
        SearchReadiness::CatchingUp => {
            format!("the search index is {search_lag} changes behind the database and catching up")
        }
    };
    NotReady {
        change_feed_seq: Some(seq),
        indexed_seq: Some(indexed_seq),
        search_lag: Some(search_lag),
        ..not_ready(&detail, search)
    }
    .response()
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
