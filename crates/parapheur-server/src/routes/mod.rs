//! The HTTP surface: FAST-compatible routes, the native API, health and metrics.

pub mod admin;
pub mod api;
pub mod fast;
pub mod form;
pub mod pages;
pub mod portal;
pub mod soap;
pub mod stored;

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::atomic::Ordering;

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let limit = usize::try_from(state.cfg.max_upload_bytes).unwrap_or(usize::MAX);
    Router::new()
        .nest("/parapheur-ws/rest/v1", fast::router(state.clone()))
        .nest("/api/v1", api::router())
        .merge(pages::router())
        .merge(portal::router())
        .merge(admin::router())
        .merge(soap::router())
        .route("/healthz", axum::routing::get(api::health::healthz))
        .route("/metrics", axum::routing::get(api::health::metrics))
        .fallback(|| async { ApiError::NotFound })
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state)
}

async fn count_requests(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    state.metrics.requests.fetch_add(1, Ordering::Relaxed);
    next.run(req).await
}

/// Collapses repeated slashes in the path (`/v1//documents` → `/v1/documents`) before routing;
/// some clients build such URLs and do not follow redirects.
pub async fn collapse_slashes(mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.contains("//") {
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
    next.run(req).await
}
