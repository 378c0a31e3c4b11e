//! The dashboard: the caller's bannettes with their counts, one bannette's documents filtered
//! and paged; and the `showDoc.action` link of client software.

use super::{PAGE, Row, page_number, signed_in};
use crate::routes::html::{PageError, rendered, with_csrf};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use parapheur_domain::DocumentId;
use parapheur_store::portal::{Bannette, ListFilter};
use std::collections::HashMap;

/// A bannette's name on the dashboard.
fn label(b: Bannette) -> &'static str {
    match b {
        Bannette::ToApprove => "À viser",
        Bannette::ToSign => "À signer",
        Bannette::MyDeposits => "Mes dépôts",
        Bannette::InProgress => "En cours",
        Bannette::Done => "Terminés",
        Bannette::Refused => "Refusés",
    }
}

struct BannetteView {
    slug: &'static str,
    label: &'static str,
    count: i64,
    current: bool,
}

#[derive(Template)]
#[template(path = "portal/dashboard.html")]
struct Dashboard<'a> {
    user_name: &'a str,
    csrf: &'a str,
    bannettes: Vec<BannetteView>,
    current: &'a str,
    current_label: &'a str,
    rows: Vec<Row>,
    total: i64,
    q: &'a str,
    circuit: &'a str,
    label: &'a str,
    prev: Option<String>,
    next: Option<String>,
    batch: bool,
    /// The caller administers a subscriber: the dashboard links to the administration.
    admin: bool,
}

/// The dashboard's link to page `page` of `current` with the same filter.
fn list_link(current: Bannette, filter: &ListFilter, page: i64) -> String {
    let mut s = format!("/parapheur/?bannette={}&page={page}", current.slug());
    for (k, v) in [
        ("q", &filter.name),
        ("circuit", &filter.circuit),
        ("label", &filter.label),
    ] {
        if let Some(v) = v {
            let enc: String = v
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            s.push_str(&format!("&{k}={enc}"));
        }
    }
    s
}

pub(super) async fn dashboard(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let caller = signed_in(&state, &headers, "/parapheur/").await?;
    let current = q
        .get("bannette")
        .and_then(|s| Bannette::from_slug(s))
        .unwrap_or(Bannette::ToApprove);
    let text = |k: &str| {
        q.get(k)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let filter = ListFilter {
        circuit: text("circuit"),
        label: text("label"),
        name: text("q"),
    };
    let page = page_number(&q);
    let today = crate::service::access::today();
    let counts = state.db.bannette_counts(caller.user_id, &today).await?;
    let (docs, total) = state
        .db
        .bannette(
            caller.user_id,
            &today,
            current,
            &filter,
            (page - 1) * PAGE,
            PAGE,
        )
        .await?;
    with_csrf(&state, &headers, |csrf| {
        let view = Dashboard {
            user_name: &caller.full_name,
            csrf,
            bannettes: counts
                .into_iter()
                .map(|(b, count)| BannetteView {
                    slug: b.slug(),
                    label: label(b),
                    count,
                    current: b == current,
                })
                .collect(),
            current: current.slug(),
            current_label: label(current),
            rows: docs.into_iter().map(Row::from).collect(),
            total,
            q: filter.name.as_deref().unwrap_or_default(),
            circuit: filter.circuit.as_deref().unwrap_or_default(),
            label: filter.label.as_deref().unwrap_or_default(),
            prev: (page > 1).then(|| list_link(current, &filter, page - 1)),
            next: (page * PAGE < total).then(|| list_link(current, &filter, page + 1)),
            batch: current == Bannette::ToSign,
            admin: caller.memberships.iter().any(|(_, admin)| *admin),
        };
        rendered(view.render(), StatusCode::OK)
    })
}

pub(super) async fn show_doc(Query(q): Query<HashMap<String, String>>) -> Response {
    match q.get("documentid").and_then(|v| DocumentId::parse(v).ok()) {
        Some(id) => Redirect::to(&format!("/parapheur/documents/{}", id.get())).into_response(),
        None => PageError::NotFound.into_response(),
    }
}
