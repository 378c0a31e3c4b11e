//! The password pages: choosing a password through an invitation or reset link, and "mot de
//! passe oublié" (which says nothing of whether the address exists).

use crate::routes::html::{PageError, message, redirect, rendered, require_csrf, with_csrf};
use crate::service::users::{self, password::PasswordError};
use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/motdepasse/oubli", get(forgot_page).post(forgot))
        .route("/motdepasse/{token}", get(password_page).post(set_password))
}

#[derive(Template)]
#[template(path = "password/set.html")]
struct PasswordPage<'a> {
    token: &'a str,
    email: &'a str,
    csrf: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "password/forgot.html")]
struct ForgotPage<'a> {
    csrf: &'a str,
    sent: bool,
}

fn password_form(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    with_csrf(state, headers, |csrf| {
        rendered(
            PasswordPage {
                token,
                email,
                csrf,
                error,
            }
            .render(),
            status,
        )
    })
}

async fn password_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let user = users::password::link_account(&state, &token)
        .await
        .ok_or(PageError::InvalidLink)?;
    password_form(&state, &headers, &token, &user.email, None, StatusCode::OK)
}

async fn set_password(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&headers, &form)?;
    let user = users::password::link_account(&state, &token)
        .await
        .ok_or(PageError::InvalidLink)?;
    let password = form.get("password").cloned().unwrap_or_default();
    let confirmation = form.get("confirmation").map(String::as_str);
    match users::password::choose(&state, &user, password, confirmation).await {
        Ok(()) => Ok(message(
            StatusCode::OK,
            "Mot de passe enregistré",
            "success",
            "Votre mot de passe est enregistré. Vous pouvez maintenant vous connecter.",
        )),
        Err(PasswordError::Failed(e)) => Err(PageError::InternalRetry(e)),
        Err(e @ (PasswordError::TooShort | PasswordError::TooLong | PasswordError::Mismatch)) => {
            password_form(
                &state,
                &headers,
                &token,
                &user.email,
                e.french(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    }
}

async fn forgot_page(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let sent = q.contains_key("envoye");
    with_csrf(&state, &headers, |csrf| {
        rendered(ForgotPage { csrf, sent }.render(), StatusCode::OK)
    })
}

async fn forgot(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&headers, &form)?;
    let email = form.get("email").cloned().unwrap_or_default();
    if let Err(e) = users::request_reset(&state, &email).await {
        tracing::error!(error = %e, "password reset request failed");
    }
    Ok(redirect("/motdepasse/oubli?envoye=1"))
}
