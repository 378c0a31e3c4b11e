//! Observing requests (issue 21): a request id (taken from `X-Request-Id` when it is sane, else
//! made), returned in the response and carried by every log line of the request; an access
//! log line per request (target `parapheur::access`: method, route template, status, duration,
//! request id, client address, user id — never a credential, a code or a phone number); and the
//! request duration histogram of `/metrics`, by route template and status.
//!
//! The route template is known only once the router matched (`MatchedPath`), inside; the user
//! once authentication ran, inside too. Both are written into a per-request slot (a task-local
//! value, the request's future running in one task) that the outer layer reads afterwards.

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tracing::Instrument;

/// What the inner layers learn about a request.
#[derive(Debug, Default)]
struct Observed {
    route: OnceLock<String>,
    user: OnceLock<i64>,
}

tokio::task_local! {
    static CURRENT: Arc<Observed>;
}

/// The request's id, as an extension of the request.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

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
    hex::encode(rand::random::<[u8; 12]>())
}

/// The outer layer: id, span, access log line, histogram.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    state
        .metrics
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map_or_else(fresh_id, str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let client = crate::auth::client_ip_of(&state, req.headers(), req.extensions());
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
    let mut response = parapheur_store::context::REQUEST_ID
        .scope(
            id.clone(),
            CURRENT.scope(observed.clone(), next.run(req).instrument(span.clone())),
        )
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    let route = observed.route.get().map_or("unmatched", String::as_str);
    let status = response.status().as_u16();
    crate::telemetry::rename(&span, || format!("{method} {route}"));
    span.record("http.route", route);
    span.record("http.response.status_code", i64::from(status));
    let elapsed = started.elapsed();
    state.metrics.request(route, status, elapsed.as_secs_f64());
    tracing::info!(
        target: "parapheur::access",
        request_id = %id,
        method = %method,
        route,
        status,
        duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        client_ip = client.map(|ip| ip.to_string()).unwrap_or_default(),
        user_id = observed.user.get().copied(),
        "request"
    );
    response
}

/// The inner layer (a route layer: it runs once the router matched): records the template.
pub async fn record_route(req: Request, next: Next) -> Response {
    if let Some(p) = req.extensions().get::<MatchedPath>() {
        let route = p.as_str().to_owned();
        let _ = CURRENT.try_with(|o| o.route.set(route));
    }
    next.run(req).await
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
