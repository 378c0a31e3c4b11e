//! Administration pages of the portal, for the administrators of a subscriber: users (create,
//! edit names, authentication, groups and the administrator role, remove), groups, circuits
//! (create, edit steps and members, delete), every document of the subscriber and statistics. Users go
//! through the same synchronisation as `synchronization/{siren}/users` and circuits through the
//! same checks as the provisioning file.

mod charts;
mod circuits;
mod documents;
mod groups;
mod statistics;
mod users;
mod webhooks;

use crate::auth::Caller;
use crate::routes::html::{Banner, PageError, redirect, rendered, set_csrf, with_csrf};
use crate::routes::portal::signed_in;
use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use parapheur_domain::Siren;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parapheur/admin", get(home))
        .route(
            "/parapheur/admin/{siren}/utilisateurs",
            get(users::users_page).post(users::save_user),
        )
        .route(
            "/parapheur/admin/{siren}/utilisateurs/{id}",
            get(users::user_page),
        )
        .route(
            "/parapheur/admin/{siren}/utilisateurs/{id}/retirer",
            post(users::remove_user),
        )
        .route("/parapheur/admin/{siren}/groupes", get(groups::groups_page))
        .route(
            "/parapheur/admin/{siren}/circuits",
            get(circuits::circuits_page).post(circuits::save_circuit),
        )
        .route(
            "/parapheur/admin/{siren}/circuits/{id}",
            get(circuits::circuit_page),
        )
        .route(
            "/parapheur/admin/{siren}/circuits/{id}/supprimer",
            post(circuits::delete_circuit),
        )
        .route(
            "/parapheur/admin/{siren}/documents",
            get(documents::documents_page),
        )
        .route(
            "/parapheur/admin/{siren}/statistiques",
            get(statistics::statistics_page),
        )
        .route(
            "/parapheur/admin/{siren}/documents/{id}/reattribuer",
            post(documents::reassign),
        )
        .route(
            "/parapheur/admin/{siren}/webhooks",
            get(webhooks::webhooks_page),
        )
        .route(
            "/parapheur/admin/{siren}/webhooks/{id}/renvoyer",
            post(webhooks::replay),
        )
}

/// What every administration page shows around its content.
struct Frame {
    user_name: String,
    csrf: String,
    fresh_csrf: bool,
    siren: String,
    org: String,
    tab: &'static str,
}

/// The signed-in administrator of `siren`, with the frame of the page (tab `tab`).
async fn admin(
    state: &AppState,
    headers: &HeaderMap,
    siren: &str,
    tab: &'static str,
) -> Result<(Caller, Siren, Frame), PageError> {
    let caller = signed_in(state, headers, format!("/parapheur/admin/{siren}/{tab}")).await?;
    let siren = Siren::parse(siren).map_err(|_| PageError::NotFound)?;
    if !caller.is_admin(siren.as_str()) {
        return Err(PageError::Forbidden);
    }
    let org = state
        .db
        .subscriber_name(siren.as_str())
        .await?
        .unwrap_or_default();
    let (csrf, fresh_csrf) = crate::routes::html::csrf_token(headers);
    let frame = Frame {
        user_name: caller.full_name.clone(),
        csrf,
        fresh_csrf,
        siren: siren.to_string(),
        org,
        tab,
    };
    Ok((caller, siren, frame))
}

/// A rendered administration page, setting the CSRF cookie when the frame's token is new.
fn page(
    state: &AppState,
    frame: &Frame,
    html: askama::Result<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let r = rendered(html, status)?;
    Ok(if frame.fresh_csrf {
        set_csrf(state, r, &frame.csrf)
    } else {
        r
    })
}

/// Back to tab `tab` after a change, the page saying `what` was done.
fn done(siren: &str, tab: &str, what: &str) -> Response {
    redirect(&format!("/parapheur/admin/{siren}/{tab}?ok={what}"))
}

fn ok_banner(q: &HashMap<String, String>) -> Option<Banner> {
    let text = match q.get("ok").map(String::as_str) {
        Some("utilisateur") => "Utilisateur enregistré.",
        Some("retire") => "L'utilisateur a été retiré de la collectivité.",
        Some("circuit") => "Circuit enregistré.",
        Some("supprime") => "Circuit supprimé.",
        Some("renvoye") => "La notification sera renvoyée.",
        Some("reattribue") => {
            "L'étape en cours a été réattribuée ; ses nouveaux membres sont prévenus."
        }
        _ => return None,
    };
    Some(Banner::success(text))
}

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage<'a> {
    user_name: &'a str,
    csrf: &'a str,
    subscribers: Vec<(String, String)>,
}

/// The administration: the one subscriber the caller administers, or a choice among several.
async fn home(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let caller = signed_in(&state, &headers, "/parapheur/admin").await?;
    let mine: Vec<&String> = caller
        .memberships
        .iter()
        .filter(|(_, admin)| *admin)
        .map(|(s, _)| s)
        .collect();
    match mine.as_slice() {
        [] => Err(PageError::Forbidden),
        [one] => Ok(Redirect::to(&format!("/parapheur/admin/{one}/utilisateurs")).into_response()),
        many => {
            let mut subscribers = Vec::new();
            for s in many {
                let name = state
                    .db
                    .subscriber_name(s)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                subscribers.push(((*s).clone(), name));
            }
            with_csrf(&state, &headers, |csrf| {
                rendered(
                    HomePage {
                        user_name: &caller.full_name,
                        csrf,
                        subscribers,
                    }
                    .render(),
                    StatusCode::OK,
                )
            })
        }
    }
}
