//! "Mon absence" (CONTRACT §10): the signed-in user sets or ends the period during which a
//! colleague of the same collectivité acts on their documents.

use super::signed_in;
use crate::error::ApiError;
use crate::routes::html::{Banner, PageError, redirect, require_csrf, with_csrf};
use crate::service::delegation::{self, AbsenceInput, AbsenceView};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;

#[derive(Template)]
#[template(path = "portal/absence.html")]
struct AbsencePage<'a> {
    user_name: &'a str,
    csrf: &'a str,
    current: Option<AbsenceView>,
    from: String,
    until: String,
    delegate: String,
    /// One e-mail a day instead of one per document (CONTRACT §11).
    digest: bool,
    message: Option<Banner>,
}

async fn render(
    state: &AppState,
    headers: &HeaderMap,
    caller: &crate::auth::Caller,
    typed: Option<&AbsenceInput>,
    message: Option<Banner>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let current = delegation::current(state, caller.user_id).await?;
    let digest = state.db.daily_digest(caller.user_id).await?;
    let (from, until, delegate) = match (typed, &current) {
        (Some(t), _) => (t.from.clone(), t.until.clone(), t.delegate.clone()),
        (None, Some(c)) => (c.from.clone(), c.until.clone(), c.delegate.clone()),
        (None, None) => Default::default(),
    };
    with_csrf(state, headers, |csrf| {
        let html = AbsencePage {
            user_name: &caller.full_name,
            csrf,
            current,
            from,
            until,
            delegate,
            digest,
            message,
        }
        .render()
        .map_err(|e| PageError::from(ApiError::Internal(e.into())))?;
        Ok::<_, PageError>((status, Html(html)).into_response())
    })
}

pub(super) async fn absence_page(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let caller = signed_in(&state, &headers, "/parapheur/absence").await?;
    let message = match q.get("ok").map(String::as_str) {
        Some("enregistree") => Some(Banner::success("Absence enregistrée.")),
        Some("terminee") => Some(Banner::success("Absence terminée.")),
        Some("notifications") => Some(Banner::success("Préférence enregistrée.")),
        _ => None,
    };
    render(&state, &headers, &caller, None, message, StatusCode::OK).await
}

pub(super) async fn save_absence(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&headers, &form)?;
    let caller = signed_in(&state, &headers, "/parapheur/absence").await?;
    if form.contains_key("notifications") {
        state
            .db
            .set_daily_digest(caller.user_id, form.get("digest").is_some_and(|v| v == "1"))
            .await
            .map_err(ApiError::from)?;
        return Ok(redirect("/parapheur/absence?ok=notifications"));
    }
    if form.contains_key("end") {
        delegation::clear_mine(&state, &caller).await?;
        return Ok(redirect("/parapheur/absence?ok=terminee"));
    }
    let field = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let input = AbsenceInput {
        from: field("from"),
        until: field("until"),
        delegate: field("delegate"),
    };
    match delegation::set_mine(&state, &caller, &input).await {
        Ok(_) => Ok(redirect("/parapheur/absence?ok=enregistree")),
        Err(ApiError::BadParameter(m)) => {
            let text = if m.starts_with("delegate") {
                "Le suppléant doit être un autre utilisateur de votre collectivité."
            } else {
                "Indiquez une période valide (date de début puis date de fin, incluses)."
            };
            render(
                &state,
                &headers,
                &caller,
                Some(&input),
                Some(Banner::error(text)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
