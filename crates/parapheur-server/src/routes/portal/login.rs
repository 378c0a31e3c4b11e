//! Signing in and out of the portal: password or client certificate, the session cookie.

use super::{SESSION_COOKIE, session};
use crate::error::ApiError;
use crate::routes::html::{PageError, redirect, rendered, require_csrf, with_csrf};
use crate::service::sessions::{self, LoginError, SESSION_TTL_MS};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use parapheur_store::throttle::Subject;
use std::collections::HashMap;

const THROTTLED: &str = "Trop de tentatives : réessayez dans un quart d'heure.";

#[derive(Template)]
#[template(path = "portal/login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    next: &'a str,
    email: &'a str,
    error: Option<&'a str>,
    /// Offer "Se connecter avec mon certificat" (client certificates are configured).
    certificates: bool,
    /// Offer the OpenID Connect sign-in (`[oidc]` is configured).
    sso: bool,
}

/// Only local paths are followed after login.
fn safe_next(next: Option<&String>) -> String {
    next.filter(|n| n.starts_with("/parapheur/") && !n.starts_with("//"))
        .cloned()
        .unwrap_or_else(|| "/parapheur/".into())
}

pub(super) async fn login_page(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let next = safe_next(q.get("next"));
    login_form(&state, &headers, &next, "", None, StatusCode::OK)
}

/// The login page, with the e-mail typed and the reason of a refusal.
fn login_form(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    with_csrf(state, headers, |csrf| {
        rendered(
            LoginPage {
                csrf,
                next,
                email,
                error,
                certificates: certificates_offered(state),
                sso: state.cfg.oidc.is_some(),
            }
            .render(),
            status,
        )
    })
}

/// The login page refusing a throttled attempt, with its `Retry-After`.
fn throttled(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    email: &str,
    secs: u64,
) -> Result<Response, PageError> {
    let mut r = login_form(
        state,
        headers,
        next,
        email,
        Some(THROTTLED),
        StatusCode::TOO_MANY_REQUESTS,
    )?;
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    Ok(r)
}

pub(super) async fn login(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let headers = &parts.headers;
    require_csrf(headers, &form)?;
    let email = form
        .get("email")
        .map(|e| e.trim().to_lowercase())
        .unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let next = safe_next(form.get("next"));
    let ip = crate::auth::client_ip(&state, &parts);
    match sessions::password_login(&state, &email, password, ip).await {
        Ok(user_id) => start_session(&state, user_id, &next).await,
        Err(LoginError::Throttled(secs)) => throttled(&state, headers, &next, &email, secs),
        Err(LoginError::Refused) => login_form(
            &state,
            headers,
            &next,
            &email,
            Some("Adresse e-mail ou mot de passe incorrect."),
            StatusCode::UNAUTHORIZED,
        ),
        Err(LoginError::Failed(e)) => Err(e.into()),
    }
}

/// Signs a CERTIFICAT user in with the client certificate of the connection (mTLS, or the one a
/// trusted proxy forwards): the login page's "certificate" button.
pub(super) async fn login_certificate(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&parts.headers, &form)?;
    let next = safe_next(form.get("next"));
    match crate::auth::certificate_caller(&state, &parts).await {
        Some(Ok(caller)) => start_session(&state, caller.user_id, &next).await,
        Some(Err(ApiError::TooManyAttempts(secs))) => {
            throttled(&state, &parts.headers, &next, "", secs)
        }
        other => {
            tracing::info!(
                certificate = other.is_some(),
                "portal certificate login refused"
            );
            login_form(
                &state,
                &parts.headers,
                &next,
                "",
                Some(
                    "Aucun certificat reconnu : présentez le certificat enregistré pour votre compte, ou connectez-vous avec votre mot de passe.",
                ),
                StatusCode::UNAUTHORIZED,
            )
        }
    }
}

/// Whether client certificates can reach the portal (direct mTLS or a trusted proxy).
fn certificates_offered(state: &AppState) -> bool {
    !state.cfg.tls.client_ca.is_empty()
}

/// `GET /parapheur/oidc/login?next=`: to the provider's sign-in page.
pub(super) async fn oidc_login(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    parts: Parts,
) -> Result<Response, PageError> {
    let next = safe_next(q.get("next"));
    // Each start asks the provider for its configuration and stores a row: counted per client
    // address across instances.
    if let Some(ip) = crate::auth::client_ip(&state, &parts)
        && let starts = state
            .db
            .auth_failed(&Subject::SignOnIp(ip), 60_000)
            .await
            .map_err(ApiError::from)?
        && starts.count > state.cfg.limits.sign_ons_per_ip
    {
        tracing::info!(ip = %ip, "single sign-on starts throttled");
        let secs = (starts.window_end - parapheur_store::now_ms()).max(1000) / 1000;
        let mut r = login_form(
            &state,
            &headers,
            &next,
            "",
            Some("Trop de tentatives de connexion : réessayez dans une minute."),
            StatusCode::TOO_MANY_REQUESTS,
        )?;
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return Ok(r);
    }
    match crate::service::oidc::begin(&state, &next).await {
        Ok(url) => Ok(redirect(&url)),
        Err(e) => {
            tracing::warn!(error = %e, "OpenID Connect sign-in could not begin");
            login_form(
                &state,
                &headers,
                &next,
                "",
                Some(
                    "L'authentification unique ne répond pas : réessayez, ou connectez-vous avec votre mot de passe.",
                ),
                StatusCode::BAD_GATEWAY,
            )
        }
    }
}

/// `GET /parapheur/oidc/callback?code=&state=`: the provider sends the user back.
pub(super) async fn oidc_callback(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let csrf = q.get("state").map(String::as_str).unwrap_or_default();
    match crate::service::oidc::finish(
        &state,
        q.get("code").map(String::as_str),
        csrf,
        q.get("error").map(String::as_str),
    )
    .await
    {
        Ok((user_id, next)) => start_session(&state, user_id, &next).await,
        Err(e) => {
            tracing::info!(error = %e, "OpenID Connect sign-in refused");
            let message = match e {
                crate::service::oidc::OidcError::UnknownUser(_)
                | crate::service::oidc::OidcError::NoEmail => {
                    "Aucun compte du parapheur ne correspond à votre identité : demandez à votre administrateur de vous inscrire."
                }
                _ => "La connexion par l'authentification unique a échoué : réessayez.",
            };
            login_form(
                &state,
                &headers,
                "/parapheur/",
                "",
                Some(message),
                StatusCode::UNAUTHORIZED,
            )
        }
    }
}

/// Opens a session for `user_id` and goes to `next`.
async fn start_session(state: &AppState, user_id: i64, next: &str) -> Result<Response, PageError> {
    let token = sessions::open(state, user_id).await?;
    let secure = if state.cfg.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let mut r = redirect(next);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/parapheur; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        SESSION_TTL_MS / 1000
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&headers, &form)?;
    if let Some((_, hash)) = session(&state, &headers).await {
        sessions::close(&state, &hash).await;
    }
    let mut r = redirect("/parapheur/login");
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "parapheur_session=; Path=/parapheur; HttpOnly; SameSite=Lax; Max-Age=0",
        ),
    );
    Ok(r)
}
