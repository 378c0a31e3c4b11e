//! The dashboard: the caller's bannettes with their counts, one bannette's documents searched,
//! sorted and paged; `/` and the `showDoc.action` link of client software.

use super::list::{ListContext, direction, filter_of};
use super::{PAGE, page_number, signed_in, state_fr};
use crate::routes::html::{PageError, rendered, with_csrf};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use parapheur_domain::{DocumentId, DocumentStatus};
use parapheur_store::portal::{Bannette, BannetteEntry, Page, SortKey, Total};
use std::collections::HashMap;

/// A bannette's name on the dashboard.
pub(super) fn label(b: Bannette) -> &'static str {
    match b {
        Bannette::ToApprove => "À viser",
        Bannette::ToSign => "À signer",
        Bannette::MyDeposits => "Mes dépôts",
        Bannette::InProgress => "En cours",
        Bannette::Done => "Terminés",
        Bannette::Refused => "Refusés",
    }
}

/// A sortable column's header name.
fn column(k: SortKey) -> &'static str {
    match k {
        SortKey::Deposit => "Déposé le",
        SortKey::Depositor => "Déposant",
        SortKey::Circuit => "Circuit",
        SortKey::Deadline => "Échéance",
    }
}

struct BannetteView {
    slug: &'static str,
    label: &'static str,
    count: i64,
    current: bool,
}

/// A sortable column header: its name, the link sorting by it, and `aria-sort`.
struct SortView {
    name: &'static str,
    link: String,
    /// "ascending" / "descending" on the column the list is sorted by, else empty.
    aria: &'static str,
}

/// A document of the list.
struct ListRow {
    id: i64,
    /// The document page, opened from this list.
    link: String,
    filename: String,
    label: String,
    circuit: String,
    state: &'static str,
    deposited: String,
    depositor: String,
    deadline: String,
    overdue: bool,
}

impl ListRow {
    fn new(e: BannetteEntry, today: &str, list: &ListContext) -> Self {
        let d = e.doc;
        let open = matches!(
            d.status,
            DocumentStatus::InProgress | DocumentStatus::AwaitingMetadata
        );
        let deadline = d.deadline.clone().unwrap_or_default();
        Self {
            id: d.id,
            link: list.document_link(d.id),
            state: state_fr(d.status),
            overdue: open && !deadline.is_empty() && deadline.as_str() < today,
            deadline: day_fr(&deadline),
            deposited: crate::clock::at_ms(d.created_at)
                .format("%d/%m/%Y")
                .to_string(),
            depositor: e.depositor,
            filename: d.filename,
            label: d.label,
            circuit: d.circuit_id.unwrap_or_else(|| "à la demande".into()),
        }
    }
}

/// `YYYY-MM-DD` as `DD/MM/YYYY` (anything else as it is).
fn day_fr(day: &str) -> String {
    match chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d") {
        Ok(d) => d.format("%d/%m/%Y").to_string(),
        Err(_) => day.to_owned(),
    }
}

#[derive(Template)]
#[template(path = "portal/dashboard.html")]
struct Dashboard<'a> {
    user_name: &'a str,
    csrf: &'a str,
    bannettes: Vec<BannetteView>,
    current: &'a str,
    current_label: &'a str,
    rows: Vec<ListRow>,
    total: i64,
    q: &'a str,
    circuit: &'a str,
    label: &'a str,
    tri: &'static str,
    ordre: &'static str,
    columns: Vec<SortView>,
    prev: Option<String>,
    next: Option<String>,
    /// The page with every box checked ("Tout sélectionner"), or without (`all`).
    select_all: String,
    all: bool,
    /// The batch form of the bannette: (action, button label).
    batch: Option<(&'static str, &'static str)>,
    /// The caller administers a subscriber: the dashboard links to the administration.
    admin: bool,
}

/// The bannette the dashboard opens on: the first non-empty one (the task bannettes first).
fn first_non_empty(counts: &[(Bannette, i64)]) -> Bannette {
    counts
        .iter()
        .find(|(_, n)| *n > 0)
        .map_or(Bannette::ToApprove, |(b, _)| *b)
}

/// `GET /`: the portal.
pub(super) async fn root() -> Response {
    Redirect::to("/parapheur/").into_response()
}

pub(super) async fn dashboard(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let caller = signed_in(&state, &headers, "/parapheur/").await?;
    let today = crate::service::access::today();
    let viewer = caller.viewer(&today);
    let counts = state.db.bannette_counts(&viewer).await?;
    let current = q
        .get("bannette")
        .and_then(|s| Bannette::from_slug(s))
        .unwrap_or_else(|| first_non_empty(&counts));
    let filter = filter_of(|k| q.get(k).cloned());
    let (sort, descending) = (filter.sort, filter.descending);
    let page = page_number(&q);
    // Without a filter, the list's total is the bannette's count (same condition, same
    // reads generation): the page need not count it again.
    let unfiltered = filter.circuit.is_none() && filter.label.is_none() && filter.name.is_none();
    let total = match counts.iter().find(|(b, _)| *b == current) {
        Some((_, n)) if unfiltered => Total::Known(*n),
        _ => Total::Count,
    };
    let (docs, total) = state
        .db
        .bannette(
            &viewer,
            current,
            &filter,
            Page {
                offset: (page - 1) * PAGE,
                limit: PAGE,
                total,
            },
        )
        .await?;
    let all = q.get("tout").is_some_and(|v| v == "1");
    let columns = SortKey::ALL
        .into_iter()
        .map(|k| {
            let on = k == sort;
            let mut f = filter.clone();
            f.sort = k;
            // A click on the sorted column reverses it; another column starts ascending, the
            // deposit date newest first.
            f.descending = if on {
                !descending
            } else {
                k == SortKey::Deposit
            };
            SortView {
                name: column(k),
                link: ListContext {
                    bannette: current,
                    filter: f,
                }
                .dashboard_link(1),
                aria: match (on, descending) {
                    (false, _) => "",
                    (true, true) => "descending",
                    (true, false) => "ascending",
                },
            }
        })
        .collect();
    let list = ListContext {
        bannette: current,
        filter: filter.clone(),
    };
    let this_page = list.dashboard_link(page);
    with_csrf(&state, &headers, |csrf| {
        let view = Dashboard {
            user_name: &caller.full_name,
            csrf,
            bannettes: counts
                .iter()
                .map(|(b, count)| BannetteView {
                    slug: b.slug(),
                    label: label(*b),
                    count: *count,
                    current: *b == current,
                })
                .collect(),
            current: current.slug(),
            current_label: label(current),
            rows: docs
                .into_iter()
                .map(|e| ListRow::new(e, &today, &list))
                .collect(),
            total,
            q: filter.name.as_deref().unwrap_or_default(),
            circuit: filter.circuit.as_deref().unwrap_or_default(),
            label: filter.label.as_deref().unwrap_or_default(),
            tri: sort.slug(),
            ordre: direction(descending),
            columns,
            prev: (page > 1).then(|| list.dashboard_link(page - 1)),
            next: (page * PAGE < total).then(|| list.dashboard_link(page + 1)),
            select_all: if all {
                this_page.clone()
            } else {
                format!("{this_page}&tout=1")
            },
            all,
            batch: match current {
                Bannette::ToSign => Some(("/parapheur/signer-lot", "Signer la sélection")),
                Bannette::ToApprove => Some(("/parapheur/viser-lot", "Viser la sélection")),
                Bannette::MyDeposits
                | Bannette::InProgress
                | Bannette::Done
                | Bannette::Refused => None,
            },
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
