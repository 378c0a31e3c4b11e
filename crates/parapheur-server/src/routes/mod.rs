//! The HTTP surface: FAST-compatible routes, the native API, SOAP, the portal and its
//! administration, the pages for people without an account, health and metrics.

pub mod admin;
pub mod api;
pub mod fast;
pub mod form;
pub mod html;
pub mod openapi;
pub mod otp_page;
pub mod password;
pub mod portal;
pub mod soap;
pub mod stored;
pub mod verifier;

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The body limit of every route that does not take a file: forms, JSON actions, searches.
/// Upload routes read their body as a stream with `max_upload_bytes`; the few larger JSON
/// bodies (a user synchronisation) set their own limit.
pub const FORM_BODY_LIMIT: usize = 64 * 1024;

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let body_timeout = std::time::Duration::from_secs(state.cfg.limits.body_timeout_s);
    let (described, description) = described(state.clone());
    let description = openapi_json(&openapi::finish(description, &state.cfg));
    Router::new()
        .merge(described)
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let json = description.clone();
                std::future::ready((
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    json,
                ))
            }),
        )
        .merge(html::router())
        .merge(otp_page::router())
        .merge(password::router())
        .merge(portal::router())
        .merge(admin::router())
        .merge(soap::router())
        .merge(verifier::router())
        .route_layer(axum::middleware::from_fn(crate::observe::record_route))
        .fallback(|| async { ApiError::NotFound })
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            body_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::observe::observe,
        ))
        .with_state(state)
}

/// The routes the OpenAPI description covers, and that description (before
/// [`openapi::finish`]).
pub fn described(state: AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::new()
        .nest(openapi::FAST_PREFIX, fast::router(state))
        .nest("/api/v1", api::router())
        .routes(routes!(api::health::healthz))
        .routes(routes!(api::health::metrics))
        .split_for_parts()
}

/// The description, serialised once for `GET /api/v1/openapi.json`.
fn openapi_json(api: &utoipa::openapi::OpenApi) -> bytes::Bytes {
    // Serialising plain data structures cannot fail; an empty body would show it if it did.
    bytes::Bytes::from(serde_json::to_vec(api).unwrap_or_default())
}

/// Refuses text holding a NUL character: PostgreSQL cannot store it in a text column, and no
/// name, label or comment needs one.
pub fn no_nul(field: &str, text: &str) -> Result<(), ApiError> {
    if text.contains('\0') {
        return Err(ApiError::BadParameter(format!(
            "{field} contains a NUL character"
        )));
    }
    Ok(())
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
