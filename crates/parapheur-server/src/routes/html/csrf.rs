//! Cookies and the double-submit CSRF token of the forms (`SameSite=Strict` cookie).

use crate::service::links;
use crate::state::AppState;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use std::collections::HashMap;

const CSRF_COOKIE: &str = "parapheur_csrf";

/// The value of the request's cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The CSRF token of the browser, or a new one to set.
pub fn csrf_token(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, CSRF_COOKIE).filter(|v| links::well_formed(v)) {
        Some(v) => (v, false),
        None => (links::new_token().0, true),
    }
}

/// Adds the CSRF cookie holding `token` to a response.
pub fn set_csrf(state: &AppState, mut r: Response, token: &str) -> Response {
    let secure = if state.cfg.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// True when the form's token matches the cookie (constant-time).
pub fn csrf_ok(headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    use subtle::ConstantTimeEq;
    match (cookie(headers, CSRF_COOKIE), form.get("csrf")) {
        (Some(c), Some(f)) if links::well_formed(&c) => {
            bool::from(c.as_bytes().ct_eq(f.as_bytes()))
        }
        _ => false,
    }
}

/// Renders a page holding the browser's CSRF token, setting the cookie when it is new.
pub fn with_csrf<E>(
    state: &AppState,
    headers: &HeaderMap,
    render: impl FnOnce(&str) -> Result<Response, E>,
) -> Result<Response, E> {
    let (csrf, fresh) = csrf_token(headers);
    let r = render(&csrf)?;
    Ok(if fresh { set_csrf(state, r, &csrf) } else { r })
}

/// Refuses a form whose token does not match the cookie.
pub fn require_csrf(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<(), super::PageError> {
    if csrf_ok(headers, form) {
        Ok(())
    } else {
        Err(super::PageError::Csrf)
    }
}
