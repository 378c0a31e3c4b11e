//! The users tab: the subscriber's members, the user form (create or edit) and removal.

use super::{Frame, admin, done, ok_banner, page};
use crate::routes::html::{Banner, PageError, require_csrf};
use crate::service::users::member::{self, MemberError, MemberForm};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parapheur_domain::Siren;
use std::collections::{BTreeMap, HashMap};

pub(super) struct UserView {
    pub(super) id: i64,
    pub(super) email: String,
    pub(super) first_name: String,
    pub(super) last_name: String,
    auth: String,
    admin: bool,
    groups: String,
}

impl From<&MemberForm> for UserView {
    fn from(f: &MemberForm) -> Self {
        Self {
            id: f.existing.unwrap_or(0),
            email: f.email.clone(),
            first_name: f.first_name.clone(),
            last_name: f.last_name.clone(),
            auth: f.auth.clone(),
            admin: f.admin,
            groups: f.groups.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage<'a> {
    f: &'a Frame,
    message: Option<Banner>,
    users: Vec<UserView>,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage<'a> {
    f: &'a Frame,
    message: Option<Banner>,
    /// `None`: the creation form.
    existing: Option<i64>,
    u: UserView,
    is_self: bool,
}

/// The members of the subscriber with their groups.
pub(super) async fn user_views(
    state: &AppState,
    siren: &Siren,
) -> Result<Vec<UserView>, PageError> {
    let mut groups: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (id, g) in state.db.subscriber_groups(siren.as_str()).await? {
        groups.entry(id).or_default().push(g);
    }
    Ok(state
        .db
        .subscriber_users(siren.as_str())
        .await?
        .into_iter()
        .map(|u| UserView {
            id: u.id,
            groups: groups.remove(&u.id).unwrap_or_default().join(", "),
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            auth: u.auth_type,
            admin: u.is_admin != 0,
        })
        .collect())
}

pub(super) async fn users_page(
    State(state): State<AppState>,
    Path(siren): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (_, siren, f) = admin(&state, &headers, &siren, "utilisateurs").await?;
    let users = user_views(&state, &siren).await?;
    let html = UsersPage {
        f: &f,
        message: ok_banner(&q),
        users,
    }
    .render();
    page(&state, &f, html, StatusCode::OK)
}

pub(super) async fn user_page(
    State(state): State<AppState>,
    Path((siren, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (caller, siren, f) = admin(&state, &headers, &siren, "utilisateurs").await?;
    let (existing, u) = if id == "nouveau" {
        let blank = UserView {
            id: 0,
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            auth: "BASIC".into(),
            admin: false,
            groups: String::new(),
        };
        (None, blank)
    } else {
        let u = user_views(&state, &siren)
            .await?
            .into_iter()
            .find(|u| u.id.to_string() == id)
            .ok_or(PageError::NotFound)?;
        (Some(u.id), u)
    };
    let html = UserPage {
        f: &f,
        message: None,
        existing,
        is_self: existing == Some(caller.user_id),
        u,
    }
    .render();
    page(&state, &f, html, StatusCode::OK)
}

/// The user form as submitted.
fn member_form(form: &HashMap<String, String>) -> MemberForm {
    let field = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    MemberForm {
        existing: form.get("existing").and_then(|v| v.parse().ok()),
        email: field("email").to_lowercase(),
        first_name: field("first_name"),
        last_name: field("last_name"),
        auth: if field("auth") == "CERTIFICAT" {
            "CERTIFICAT".into()
        } else {
            "BASIC".into()
        },
        admin: form.contains_key("admin"),
        groups: field("groups"),
    }
}

/// Creates or updates one user through the subscriber's synchronisation.
pub(super) async fn save_user(
    State(state): State<AppState>,
    Path(siren): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&headers, &form)?;
    let (caller, siren, f) = admin(&state, &headers, &siren, "utilisateurs").await?;
    let submitted = member_form(&form);
    let refused = match member::save(&state, &caller, &siren, &submitted).await {
        Ok(()) => return Ok(done(siren.as_str(), "utilisateurs", "utilisateur")),
        Err(e) => refusal(e)?,
    };
    let html = UserPage {
        f: &f,
        message: Some(Banner::error(refused.french())),
        existing: submitted.existing,
        is_self: submitted.existing == Some(caller.user_id),
        u: UserView::from(&submitted),
    }
    .render();
    page(&state, &f, html, StatusCode::BAD_REQUEST)
}

/// Removes a user from the subscriber (and its circuits); never oneself.
pub(super) async fn remove_user(
    State(state): State<AppState>,
    Path((siren, id)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&headers, &form)?;
    let (caller, siren, f) = admin(&state, &headers, &siren, "utilisateurs").await?;
    let (status, banner) = match member::remove(&state, &caller, &siren, &id).await {
        Ok(r) if r.emptied.is_empty() => return Ok(done(siren.as_str(), "utilisateurs", "retire")),
        // Circuits whose step lost its only member are worth a warning.
        Ok(r) => (
            StatusCode::OK,
            Banner::error(format!(
                "{} a été retiré(e). Attention : une étape des circuits {} n'a plus de membre ; modifiez-les.",
                r.email,
                r.emptied.join(", ")
            )),
        ),
        Err(e) => (StatusCode::BAD_REQUEST, Banner::error(refusal(e)?.french())),
    };
    let users = user_views(&state, &siren).await?;
    let html = UsersPage {
        f: &f,
        message: Some(banner),
        users,
    }
    .render();
    page(&state, &f, html, status)
}

/// A member error as the form shows it (`Ok`: a refusal explained on the page) or as a page
/// error (an unknown user, a failure).
fn refusal(e: MemberError) -> Result<MemberError, PageError> {
    match e {
        MemberError::Unknown => Err(PageError::NotFound),
        MemberError::Failed(e) => Err(e.into()),
        e @ (MemberError::InvalidEmail
        | MemberError::NamesRequired
        | MemberError::NamesTooLong
        | MemberError::OwnAdminRole
        | MemberError::GroupTooLong
        | MemberError::AlreadyMember
        | MemberError::Oneself
        | MemberError::NotSaved(_)) => Ok(e),
    }
}
