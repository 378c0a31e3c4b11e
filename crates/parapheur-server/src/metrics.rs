//! What `/metrics` exports (Prometheus text format). Counters bumped in place are atomics; the
//! labelled series (request durations by route and status, signatures by format and level,
//! delivery failures by channel, build information) live in a `prometheus` registry of this
//! application — one per `AppState`, so that apps sharing a process (the tests) do not mix.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use std::sync::atomic::AtomicU64;

/// Request duration buckets (seconds): from a cached read to a large upload.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

pub struct Metrics {
    pub requests: AtomicU64,
    pub uploads: AtomicU64,
    pub fast_errors: AtomicU64,
    pub mails_sent: AtomicU64,
    pub sms_sent: AtomicU64,
    pub job_failures: AtomicU64,
    registry: Registry,
    http_duration: HistogramVec,
    signatures: IntCounterVec,
    delivery_failures: IntCounterVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new().unwrap_or_else(|e| {
            // Only a name clash in our own code can fail; keep serving without the series.
            tracing::error!(error = %e, "metrics registry");
            Self::bare()
        })
    }
}

/// A channel whose deliveries can fail.
#[derive(Debug, Clone, Copy)]
pub enum Channel {
    Mail,
    Sms,
    Webhook,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Self::Mail => "mail",
            Self::Sms => "sms",
            Self::Webhook => "webhook",
        }
    }
}

impl Metrics {
    fn new() -> prometheus::Result<Self> {
        let m = Self::bare();
        m.registry.register(Box::new(m.http_duration.clone()))?;
        m.registry.register(Box::new(m.signatures.clone()))?;
        m.registry.register(Box::new(m.delivery_failures.clone()))?;
        // Zero rather than absent before the first failure (alerts compare rates).
        for channel in [Channel::Mail, Channel::Sms, Channel::Webhook] {
            m.delivery_failures.with_label_values(&[channel.as_str()]);
        }
        let build = IntGaugeVec::new(
            Opts::new("parapheur_build_info", "The running version (always 1)"),
            &["version"],
        )?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        m.registry.register(Box::new(build))?;
        Ok(m)
    }

    /// The series without a registry (they count, nothing exports them).
    fn bare() -> Self {
        let histogram = HistogramOpts::new(
            "parapheur_http_request_duration_seconds",
            "HTTP request duration by route template and status",
        )
        .buckets(DURATION_BUCKETS.to_vec());
        #[allow(clippy::expect_used)] // constant, valid options: checked by the unit test
        Self {
            requests: AtomicU64::new(0),
            uploads: AtomicU64::new(0),
            fast_errors: AtomicU64::new(0),
            mails_sent: AtomicU64::new(0),
            sms_sent: AtomicU64::new(0),
            job_failures: AtomicU64::new(0),
            registry: Registry::new(),
            http_duration: HistogramVec::new(histogram, &["route", "status"])
                .expect("valid histogram options"),
            signatures: IntCounterVec::new(
                Opts::new(
                    "parapheur_signatures_total",
                    "Signatures made, by format and level",
                ),
                &["format", "level"],
            )
            .expect("valid counter options"),
            delivery_failures: IntCounterVec::new(
                Opts::new(
                    "parapheur_delivery_failures_total",
                    "Failed delivery attempts, by channel",
                ),
                &["channel"],
            )
            .expect("valid counter options"),
        }
    }

    /// One request served: `route` is the route template (bounded), never the raw path.
    pub fn request(&self, route: &str, status: axum::http::StatusCode, seconds: f64) {
        self.http_duration
            .with_label_values(&[route, status.as_str()])
            .observe(seconds);
    }

    /// One signature made.
    pub fn signature(&self, format: &str, level: &str) {
        self.signatures.with_label_values(&[format, level]).inc();
    }

    /// One failed delivery attempt.
    pub fn delivery_failed(&self, channel: Channel) {
        self.delivery_failures
            .with_label_values(&[channel.as_str()])
            .inc();
    }

    /// The registry's series in the text format.
    pub fn render(&self) -> String {
        prometheus::TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_series_are_registered_and_rendered() {
        let m = Metrics::new().unwrap_or_else(|e| panic!("{e}"));
        m.request("/api/v1/tasks", axum::http::StatusCode::OK, 0.003);
        m.signature("PAdES", "B-T");
        m.delivery_failed(Channel::Webhook);
        let text = m.render();
        for needle in [
            "parapheur_http_request_duration_seconds_bucket{route=\"/api/v1/tasks\",status=\"200\",le=\"0.005\"} 1",
            "parapheur_signatures_total{format=\"PAdES\",level=\"B-T\"} 1",
            "parapheur_delivery_failures_total{channel=\"webhook\"} 1",
            "parapheur_build_info{version=",
        ] {
            assert!(text.contains(needle), "{needle} not in {text}");
        }
    }
}
