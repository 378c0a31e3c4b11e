//! Observing requests (issue 21): a request id (taken from `X-Request-Id` when it is sane, else
//! made), returned in the response and carried by every log line of the request; an access
//! log line per request (target `parapheur::access`: method, route template, status, duration,
//! request id, client address, user id — never a credential, a code or a phone number); and the
//! request duration histogram of `/metrics`, by route template and status.
//!
//! The route template is known only once the router matched (`MatchedPath`), inside; the user
//! once authentication ran, inside too. Both are written into a per-request slot (a task-local
//! value, the request's future running in one task) that the outer layer reads afterwards.
//!
//! One request is answered here, ahead of the router: the FAST history of a document, which
//! clients poll for every document they wait for ([`crate::routes::fast::history::hot`]). It
//! goes through the same observation, caller extraction and answer as through the router, and
//! is recorded under the router's template; the router's matching, path parameters and boxed
//! route layers cost about a fifth of such a read (BENCHMARKS.md, issue 22).
//!
//! Both layers are plain `tower` services rather than `axum::middleware::from_fn`: the outer
//! one ([`ObserveLayer`]) wraps the whole router once, and the inner one ([`RecordRouteLayer`])
//! forwards the call without a future of its own. axum boxes every layer given to
//! `Router::layer` around each route and clones that chain of boxes, level by level, on every
//! request (issue 22's profile of history reads: ≈ 7 % of the server's cycles in `clone_box`).

use crate::error::FastErrorMarker;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::Response;
use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;
use tracing::Instrument;

/// What the inner layers learn about a request.
#[derive(Debug, Default)]
struct Observed {
    route: OnceLock<Template>,
    user: OnceLock<i64>,
}

/// The route template a request was answered under.
#[derive(Debug)]
enum Template {
    /// Matched by the router.
    Matched(MatchedPath),
    /// Answered by the hot lane, under the router's template of the same route.
    Hot(&'static str),
}

impl Template {
    fn as_str(&self) -> &str {
        match self {
            Self::Matched(p) => p.as_str(),
            Self::Hot(t) => t,
        }
    }
}

/// Who answers a request: the router, or the hot lane for a history read.
enum Lane<S> {
    Router(S),
    History(parapheur_domain::DocumentId),
}

tokio::task_local! {
    static CURRENT: Arc<Observed>;
}

/// Records the authenticated user of the current request (for its access log line).
pub fn set_user(id: i64) {
    let _ = CURRENT.try_with(|o| o.user.set(id));
}

/// The current request's id, when called within a request.
pub fn request_id() -> Option<String> {
    parapheur_store::context::request_id()
}

/// An id a client may choose: 1 to 64 characters of `[A-Za-z0-9._:-]`.
fn sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// 96 random bits from the thread's generator (`rand`'s, in user space: OpenSSL's took a
/// `getpid` and a lock per request).
fn fresh_id() -> String {
    let mut hex = [0u8; 24];
    // 12 bytes always fit 24 hex digits, and hex digits are ASCII.
    let _ = hex::encode_to_slice(rand::random::<[u8; 12]>(), &mut hex);
    std::str::from_utf8(&hex).unwrap_or_default().to_owned()
}

/// The response header naming the request.
static X_REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

/// The outer layer, around the whole router: [`Observe`].
#[derive(Clone)]
pub struct ObserveLayer {
    state: AppState,
}

impl ObserveLayer {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = Observe<S>;
    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            state: self.state.clone(),
            inner,
        }
    }
}

/// Collapses repeated slashes in the path, then gives the request an id, a span, an access
/// log line and its place in the duration histogram; applies `[fast] error_status` to FAST
/// business errors (responses carrying [`FastErrorMarker`]).
#[derive(Clone)]
pub struct Observe<S> {
    state: AppState,
    inner: S,
}

impl<S> tower::Service<Request> for Observe<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures_util::future::BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        // The service polled ready is the one called; a clone stays for the next request.
        collapse_slashes(&mut req);
        let lane = match crate::routes::fast::history::hot_target(&req) {
            Some(id) => Lane::History(id),
            None => {
                let fresh = self.inner.clone();
                Lane::Router(std::mem::replace(&mut self.inner, fresh))
            }
        };
        Box::pin(observe(self.state.clone(), req, lane))
    }
}

/// Collapses repeated slashes in the path (`/v1//documents` → `/v1/documents`) before routing;
/// some clients build such URLs and do not follow redirects.
fn collapse_slashes(req: &mut Request) {
    let path = req.uri().path();
    if !path.contains("//") {
        return;
    }
    let mut collapsed = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && collapsed.ends_with('/')) {
            collapsed.push(c);
        }
    }
    let pq = match req.uri().query() {
        Some(q) => format!("{collapsed}?{q}"),
        None => collapsed,
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(p) = pq.parse() {
        parts.path_and_query = Some(p);
        if let Ok(u) = Uri::from_parts(parts) {
            *req.uri_mut() = u;
        }
    }
}

/// The outer layer's work: id, span, access log line, histogram, FAST error status.
async fn observe<S>(state: AppState, req: Request, lane: Lane<S>) -> Result<Response, Infallible>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    let started = Instant::now();
    state
        .metrics
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map_or_else(fresh_id, str::to_owned);
    // The response carries the id; the task-local value below takes the `String` itself.
    let id_header = HeaderValue::from_str(&id).ok();
    let method = req.method().clone();
    // The client's address is only needed for the access log line.
    let access_log = tracing::enabled!(target: "parapheur::access", tracing::Level::INFO);
    let client = access_log
        .then(|| crate::auth::client_ip_of(&state, req.headers(), req.extensions()))
        .flatten();
    let observed = Arc::new(Observed::default());
    // The OpenTelemetry attributes (`http.*`) are filled once the route is known; plain logs
    // show the request id.
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        otel.kind = "server",
        http.request.method = %method,
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    crate::telemetry::adopt_caller_trace(&span, req.headers());
    let answer = match lane {
        Lane::Router(inner) => futures_util::future::Either::Left(async {
            tower::ServiceExt::oneshot(inner, req)
                .await
                .unwrap_or_else(|never| match never {})
        }),
        Lane::History(doc) => {
            let _ = observed
                .route
                .set(Template::Hot(crate::routes::fast::history::TEMPLATE));
            futures_util::future::Either::Right(crate::routes::fast::history::hot(
                state.clone(),
                req,
                doc,
            ))
        }
    };
    let mut response = parapheur_store::context::REQUEST_ID
        .scope(
            id,
            CURRENT.scope(observed.clone(), answer.instrument(span.clone())),
        )
        .await;
    if response.extensions().get::<FastErrorMarker>().is_some() {
        // Business errors of FAST routes answer with `[fast] error_status` (200 by default).
        state
            .metrics
            .fast_errors
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *response.status_mut() =
            StatusCode::from_u16(state.cfg.fast.error_status).unwrap_or(StatusCode::OK);
    }
    if let Some(v) = id_header {
        response.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    let route = observed.route.get().map_or("unmatched", Template::as_str);
    let status = response.status();
    crate::telemetry::rename(&span, || format!("{method} {route}"));
    span.record("http.route", route);
    span.record("http.response.status_code", i64::from(status.as_u16()));
    let elapsed = started.elapsed();
    state.metrics.request(route, status, elapsed.as_secs_f64());
    if !access_log {
        return Ok(response);
    }
    let id = response
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info!(
        target: "parapheur::access",
        request_id = %id,
        method = %method,
        route,
        status = status.as_u16(),
        duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        client_ip = client.map(|ip| ip.to_string()).unwrap_or_default(),
        user_id = observed.user.get().copied(),
        "request"
    );
    Ok(response)
}

/// The inner layer (a route layer: it runs once the router matched): records the template.
#[derive(Debug, Clone, Copy)]
pub struct RecordRouteLayer;

impl<S> tower::Layer<S> for RecordRouteLayer {
    type Service = RecordRoute<S>;
    fn layer(&self, inner: S) -> RecordRoute<S> {
        RecordRoute(inner)
    }
}

/// See [`RecordRouteLayer`]: records the matched template and calls the route.
#[derive(Debug, Clone)]
pub struct RecordRoute<S>(S);

impl<S, B> tower::Service<axum::http::Request<B>> for RecordRoute<S>
where
    S: tower::Service<axum::http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: axum::http::Request<B>) -> S::Future {
        if let Some(p) = req.extensions().get::<MatchedPath>() {
            let p = p.clone();
            let _ = CURRENT.try_with(|o| o.route.set(Template::Matched(p)));
        }
        self.0.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_taken_only_when_sane() {
        assert!(sane("abc-123_x.y:z"));
        assert!(!sane(""));
        assert!(!sane(&"a".repeat(65)));
        assert!(!sane("a b"));
        assert!(!sane("a\nb"));
        assert!(!sane("é"));
        let id = fresh_id();
        assert_eq!(id.len(), 24);
        assert!(sane(&id));
        assert_ne!(id, fresh_id());
    }
}
