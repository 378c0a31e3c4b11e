//! The groups tab: each group of the subscriber with its members.

use super::users::user_views;
use super::{Frame, admin, page};
use crate::routes::html::PageError;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::{BTreeMap, HashMap};

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage<'a> {
    f: &'a Frame,
    groups: Vec<(String, Vec<String>)>,
}

pub(super) async fn groups_page(
    State(state): State<AppState>,
    Path(siren): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (_, siren, f) = admin(&state, &headers, &siren, "groupes").await?;
    let names: HashMap<i64, String> = user_views(&state, &siren)
        .await?
        .into_iter()
        .map(|u| {
            (
                u.id,
                format!("{} {} ({})", u.first_name, u.last_name, u.email),
            )
        })
        .collect();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, g) in state.db.subscriber_groups(siren.as_str()).await? {
        groups
            .entry(g)
            .or_default()
            .push(names.get(&id).cloned().unwrap_or_default());
    }
    let html = GroupsPage {
        f: &f,
        groups: groups.into_iter().collect(),
    }
    .render();
    page(&state, &f, html, StatusCode::OK)
}
