//! OpenTelemetry traces (issue 21): the `tracing` spans of requests and jobs exported over
//! OTLP/HTTP (protobuf) when `[telemetry] otlp_endpoint` is set, with the caller's W3C
//! `traceparent` as parent. Off by default; nothing here runs then.
//!
//! The exporter runs on the SDK's own batch thread and sends with a blocking `reqwest` client
//! (the version the rest of the server uses), so no request waits for the collector and a
//! collector that is down costs dropped spans, never failed requests.

use crate::config::TelemetryConfig;
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use std::io::Read;
use std::time::Duration;

/// Whether spans are exported (set once by [`start`]): the per-request work of naming spans is
/// skipped otherwise.
static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The largest collector answer read (answers are a few bytes of protobuf).
const MAX_ANSWER: u64 = 64 * 1024;

/// The exporter's HTTP client: `reqwest`'s blocking client, made on the SDK's batch thread at
/// its first export (a blocking client cannot be built inside the async runtime).
#[derive(Debug, Default)]
struct Blocking(std::sync::OnceLock<reqwest::blocking::Client>);

impl Blocking {
    fn client(&self) -> Result<&reqwest::blocking::Client, HttpError> {
        if let Some(c) = self.0.get() {
            return Ok(c);
        }
        let c = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(self.0.get_or_init(|| c))
    }
}

#[async_trait::async_trait]
impl HttpClient for Blocking {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let mut answer = self
            .client()?
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body.to_vec())
            .send()?;
        let status = answer.status();
        let mut bytes = Vec::new();
        (&mut answer).take(MAX_ANSWER).read_to_end(&mut bytes)?;
        Ok(Response::builder()
            .status(status)
            .body(Bytes::from(bytes))?)
    }
}

/// What keeps the export going; [`Telemetry::shutdown`] sends the spans still queued.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Flushes and stops the exporter (at process exit).
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "OpenTelemetry export did not shut down cleanly");
        }
    }
}

/// The exporter for `cfg`, or `None` when telemetry is off. Also installs the W3C trace
/// context propagator the request layer reads `traceparent` with.
pub fn start(cfg: &TelemetryConfig) -> Result<Option<(SdkTracerProvider, Telemetry)>, String> {
    if cfg.otlp_endpoint.is_empty() {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(Blocking::default())
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(cfg.otlp_endpoint.clone())
        .with_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("telemetry.otlp_endpoint: {e}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            cfg.sample_ratio,
        ))))
        .with_resource(
            Resource::builder_empty()
                .with_service_name(cfg.service_name.clone())
                .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                .build(),
        )
        .build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    EXPORTING.store(true, std::sync::atomic::Ordering::Relaxed);
    Ok(Some((provider.clone(), Telemetry { provider })))
}

/// The `tracing` layer sending spans through `provider`.
pub fn layer<S>(
    provider: &SdkTracerProvider,
) -> tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::SdkTracer>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer("parapheur"))
}

/// Makes the caller's trace (a W3C `traceparent` header) the parent of `span`; nothing when
/// telemetry is off or the header is absent or malformed.
pub fn adopt_caller_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if !EXPORTING.load(std::sync::atomic::Ordering::Relaxed) || !headers.contains_key("traceparent")
    {
        return;
    }
    let cx = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&opentelemetry_http::HeaderExtractor(headers))
    });
    let _ = span.set_parent(cx);
}

/// Names the OpenTelemetry span of `span` (a request's, once its route is known); `name` is
/// only built when spans are exported.
pub fn rename(span: &tracing::Span, name: impl FnOnce() -> String) {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if EXPORTING.load(std::sync::atomic::Ordering::Relaxed) {
        span.context().span().update_name(name());
    }
}
