//! Prometheus metrics: request counts and latencies per route pattern (never per
//! concrete path, which would put record ids into label values).
//!
//! Every label value comes from a fixed set, so no client can add a series:
//! the method is one of [`METHOD_LABELS`], the route a pattern the server
//! routes by or `unmatched`, the status one the server answers with.

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// The values of the `method` label: the methods of RFC 9110 and PATCH; any
/// other token a client sends (`PROBE1`) counts as `other`.
pub const METHOD_LABELS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "other",
];

/// The `method` label of a request.
pub fn method_label(method: &actix_web::http::Method) -> &'static str {
    METHOD_LABELS[..METHOD_LABELS.len() - 1]
        .iter()
        .find(|known| **known == method.as_str())
        .copied()
        .unwrap_or("other")
}

pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    /// Open vacancies, and how many of them have a standing candidate list for
    /// today (set when the metrics are read).
    pub open_vacancies: IntGauge,
    pub standing_lists: IntGauge,
    /// Changed returnees not yet offered to the standing lists again; no list
    /// answers until it is back to zero.
    pub standing_unsettled: IntGauge,
    /// Seconds since the last good scheduled backup; registered on first use,
    /// so a server that takes no backups does not show it.
    backup_age: std::sync::OnceLock<Gauge>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "jobmatch_http_requests_total",
                "HTTP requests answered, by route pattern and status",
            ),
            &["method", "route", "status"],
        )
        .expect("metric definition is valid");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "jobmatch_http_request_duration_seconds",
                "Time to answer an HTTP request",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["method", "route"],
        )
        .expect("metric definition is valid");
        let open_vacancies = IntGauge::new(
            "jobmatch_matching_open_vacancies",
            "Vacancies open today in the matching index",
        )
        .expect("metric definition is valid");
        let standing_lists = IntGauge::new(
            "jobmatch_matching_standing_lists",
            "Open vacancies whose best candidates for the default query are kept ready",
        )
        .expect("metric definition is valid");
        let standing_unsettled = IntGauge::new(
            "jobmatch_matching_standing_unsettled",
            "Changed returnee profiles waiting to be offered to the standing candidate lists",
        )
        .expect("metric definition is valid");
        registry
            .register(Box::new(standing_unsettled.clone()))
            .expect("metric registered once");
        registry
            .register(Box::new(open_vacancies.clone()))
            .expect("metric registered once");
        registry
            .register(Box::new(standing_lists.clone()))
            .expect("metric registered once");
        registry
            .register(Box::new(requests.clone()))
            .expect("metric registered once");
        registry
            .register(Box::new(latency.clone()))
            .expect("metric registered once");
        Metrics {
            registry,
            requests,
            latency,
            open_vacancies,
            standing_lists,
            standing_unsettled,
            backup_age: std::sync::OnceLock::new(),
        }
    }

    /// `jobmatch_backup_age_seconds`, registered the first time it is asked for.
    pub fn backup_age(&self) -> &Gauge {
        self.backup_age.get_or_init(|| {
            let gauge = Gauge::new(
                "jobmatch_backup_age_seconds",
                "Seconds since the last good scheduled backup (+Inf before the first)",
            )
            .expect("metric definition is valid");
            self.registry
                .register(Box::new(gauge.clone()))
                .expect("metric registered once");
            gauge
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let encoder = TextEncoder::new();
        // Encoding into a Vec cannot fail for well-formed metric families.
        let _ = encoder.encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::Method;

    #[test]
    fn a_method_label_is_a_known_method_or_other() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for token in ["PROBE1", "get", "PROPFIND"] {
            let method = Method::from_bytes(token.as_bytes()).expect("a method token");
            assert_eq!(method_label(&method), "other", "{token}");
        }
    }
}
