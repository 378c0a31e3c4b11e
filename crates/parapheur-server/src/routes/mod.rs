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
use axum::response::Response;
use std::convert::Infallible;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The body limit of every route that does not take a file: forms, JSON actions, searches.
/// Upload routes read their body as a stream with `max_upload_bytes`; the few larger JSON
/// bodies (a user synchronisation) set their own limit.
pub const FORM_BODY_LIMIT: usize = 64 * 1024;

/// The whole application: the router, and around it, once, the layers every request goes
/// through (outermost first): observation ([`crate::observe::Observe`]: slashes, request id,
/// access log, metrics, FAST error status) and the default body limit. The body read timeout
/// is set on the body itself, by the connection ([`crate::tls`]).
pub fn router(
    state: AppState,
) -> impl tower::Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
+ Clone
+ Send
+ Sync
+ 'static {
    let (described, description) = described();
    let description = openapi_json(&openapi::finish(description, &state.cfg));
    let routes = Router::new()
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
        .route_layer(crate::observe::RecordRouteLayer)
        .fallback(|| async { ApiError::NotFound })
        .with_state(state.clone());
    tower::ServiceBuilder::new()
        .layer(crate::observe::ObserveLayer::new(state))
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .service(routes)
}

/// The routes the OpenAPI description covers, and that description (before
/// [`openapi::finish`]).
pub fn described() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::new()
        // Merged with their full paths rather than nested under a prefix: a nested route
        // pays a URI rewrite and one more boxed layer on every request.
        .merge(fast::router())
        .merge(api::router())
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
