//! The HTML toolkit of every page: rendering, security headers, CSRF, cookies and `PageError`.

mod csrf;
mod error;

pub use csrf::{cookie, csrf_ok, csrf_token, require_csrf, set_csrf, with_csrf};
pub use error::PageError;

use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

const CSS: &str = include_str!("../../../static/parapheur.css");

/// The style sheet of every page, and the accessibility statement every footer links to.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/parapheur.css", get(css))
        .route("/accessibilite", get(accessibility))
}

#[derive(Template)]
#[template(path = "accessibility.html")]
struct Accessibility;

/// `GET /accessibilite`: the "Déclaration d'accessibilité" (RGAA), public.
async fn accessibility() -> Result<Response, PageError> {
    rendered(Accessibility.render(), StatusCode::OK)
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// A banner on a page.
pub struct Banner {
    pub kind: &'static str,
    pub text: String,
}

impl Banner {
    pub fn success(text: impl Into<String>) -> Self {
        Self {
            kind: "success",
            text: text.into(),
        }
    }

    pub fn info(text: impl Into<String>) -> Self {
        Self {
            kind: "info",
            text: text.into(),
        }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self {
            kind: "error",
            text: text.into(),
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    kind: &'a str,
    text: &'a str,
}

/// Security headers of every page: no caching, no referrer, no framing, only our own styles.
pub fn harden(mut r: Response, framable: bool) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if framable {
        h.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
    } else {
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    }
    // A stored file keeps its own sandbox policy.
    if !framable && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; frame-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
    }
    r
}

/// A hardened redirection (303) to a local page.
pub fn redirect(to: &str) -> Response {
    harden(Redirect::to(to).into_response(), false)
}

/// An HTML body with the page headers.
pub fn html(status: StatusCode, body: String) -> Response {
    harden(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        false,
    )
}

/// A page holding only a titled message (`kind`: success, info or error).
pub fn message(status: StatusCode, title: &str, kind: &str, text: &str) -> Response {
    match (MessagePage { title, kind, text }).render() {
        Ok(b) => html(status, b),
        Err(e) => error::template_failed(&e),
    }
}

/// A rendered template as a page, or the error of its rendering.
pub fn rendered(t: askama::Result<String>, status: StatusCode) -> Result<Response, PageError> {
    Ok(html(status, t?))
}
