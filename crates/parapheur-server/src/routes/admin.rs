//! Administration pages of the portal, for the administrators of a subscriber: users (create,
//! edit names, authentication, groups and the administrator role, remove), groups, circuits
//! (create, edit steps and members, delete) and every document of the subscriber. Users go
//! through the same synchronisation as `synchronization/{siren}/users` and circuits through the
//! same checks as the provisioning file.

use crate::auth::Caller;
use crate::routes::pages::{
    Banner, csrf_ok, csrf_refused, csrf_token, harden, message, rendered, set_csrf,
};
use crate::routes::portal::{PAGE, Row, internal, not_found, session, to_login};
use crate::service::circuits::StoredStep;
use crate::service::circuits::{self, CircuitError, CircuitInput};
use crate::service::users;
use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use parapheur_domain::{Email, Siren, StepKind};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// Rows of the step editor (empty rows are ignored).
const STEP_ROWS: usize = 8;
const STEP_KINDS: [StepKind; 7] = [
    StepKind::Visa,
    StepKind::Signature,
    StepKind::OtpSignature,
    StepKind::ServerSignature,
    StepKind::Verification,
    StepKind::Archive,
    StepKind::Deliver,
];
const CIRCUIT_TYPES: [(&str, &str); 4] = [
    ("BUREAUTIQUE_PDF", "Bureautique PDF"),
    ("BUREAUTIQUE_XML", "Bureautique XML"),
    (
        "HELIOS_AVEC_TELETRANSMISSION",
        "Hélios avec télétransmission",
    ),
    (
        "HELIOS_SANS_TELETRANSMISSION",
        "Hélios sans télétransmission",
    ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parapheur/admin", get(home))
        .route(
            "/parapheur/admin/{siren}/utilisateurs",
            get(users_page).post(save_user),
        )
        .route("/parapheur/admin/{siren}/utilisateurs/{id}", get(user_page))
        .route(
            "/parapheur/admin/{siren}/utilisateurs/{id}/retirer",
            post(remove_user),
        )
        .route("/parapheur/admin/{siren}/groupes", get(groups_page))
        .route(
            "/parapheur/admin/{siren}/circuits",
            get(circuits_page).post(save_circuit),
        )
        .route("/parapheur/admin/{siren}/circuits/{id}", get(circuit_page))
        .route(
            "/parapheur/admin/{siren}/circuits/{id}/supprimer",
            post(delete_circuit),
        )
        .route("/parapheur/admin/{siren}/documents", get(documents_page))
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

fn forbidden() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Accès réservé",
        "error",
        "Cette page est réservée aux administrateurs de la collectivité.",
    )
}

/// The signed-in administrator of `siren`, or the response to give instead.
async fn admin(
    state: &AppState,
    headers: &HeaderMap,
    siren: &str,
    tab: &'static str,
) -> Result<(Caller, Siren, Frame), Response> {
    let Some((caller, _)) = session(state, headers).await else {
        return Err(to_login(&format!("/parapheur/admin/{siren}/{tab}")));
    };
    let Ok(siren) = Siren::parse(siren) else {
        return Err(not_found());
    };
    if !caller.is_admin(siren.as_str()) {
        return Err(forbidden());
    }
    let org = match state.db.subscriber_name(siren.as_str()).await {
        Ok(n) => n.unwrap_or_default(),
        Err(e) => return Err(internal(e)),
    };
    let (csrf, fresh_csrf) = csrf_token(headers);
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

fn page(
    state: &AppState,
    frame: &Frame,
    html: askama::Result<String>,
    status: StatusCode,
) -> Response {
    let r = rendered(html, status);
    if frame.fresh_csrf {
        set_csrf(state, r, &frame.csrf)
    } else {
        r
    }
}

fn done(siren: &str, tab: &str, what: &str) -> Response {
    harden(
        Redirect::to(&format!("/parapheur/admin/{siren}/{tab}?ok={what}")).into_response(),
        false,
    )
}

fn ok_banner(q: &HashMap<String, String>) -> Option<Banner> {
    let text = match q.get("ok").map(String::as_str) {
        Some("utilisateur") => "Utilisateur enregistré.",
        Some("retire") => "L'utilisateur a été retiré de la collectivité.",
        Some("circuit") => "Circuit enregistré.",
        Some("supprime") => "Circuit supprimé.",
        _ => return None,
    };
    Some(Banner {
        kind: "success",
        text: text.into(),
    })
}

fn error_banner(text: impl Into<String>) -> Option<Banner> {
    Some(Banner {
        kind: "error",
        text: text.into(),
    })
}

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage<'a> {
    user_name: &'a str,
    csrf: &'a str,
    subscribers: Vec<(String, String)>,
}

async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some((caller, _)) = session(&state, &headers).await else {
        return to_login("/parapheur/admin");
    };
    let mine: Vec<&String> = caller
        .memberships
        .iter()
        .filter(|(_, admin)| *admin)
        .map(|(s, _)| s)
        .collect();
    match mine.as_slice() {
        [] => forbidden(),
        [one] => Redirect::to(&format!("/parapheur/admin/{one}/utilisateurs")).into_response(),
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
            let (csrf, fresh) = csrf_token(&headers);
            let r = rendered(
                HomePage {
                    user_name: &caller.full_name,
                    csrf: &csrf,
                    subscribers,
                }
                .render(),
                StatusCode::OK,
            );
            if fresh { set_csrf(&state, r, &csrf) } else { r }
        }
    }
}

// ---- users -------------------------------------------------------------------------------

struct UserView {
    id: i64,
    email: String,
    first_name: String,
    last_name: String,
    auth: String,
    admin: bool,
    groups: String,
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

async fn user_views(state: &AppState, siren: &Siren) -> Result<Vec<UserView>, Response> {
    let mut groups: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (id, g) in state
        .db
        .subscriber_groups(siren.as_str())
        .await
        .map_err(internal)?
    {
        groups.entry(id).or_default().push(g);
    }
    Ok(state
        .db
        .subscriber_users(siren.as_str())
        .await
        .map_err(internal)?
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

async fn users_page(
    State(state): State<AppState>,
    Path(siren): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (_, siren, f) = match admin(&state, &headers, &siren, "utilisateurs").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let users = match user_views(&state, &siren).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let html = UsersPage {
        f: &f,
        message: ok_banner(&q),
        users,
    }
    .render();
    page(&state, &f, html, StatusCode::OK)
}

async fn user_page(
    State(state): State<AppState>,
    Path((siren, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (caller, siren, f) = match admin(&state, &headers, &siren, "utilisateurs").await {
        Ok(x) => x,
        Err(r) => return r,
    };
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
        let users = match user_views(&state, &siren).await {
            Ok(u) => u,
            Err(r) => return r,
        };
        match users.into_iter().find(|u| u.id.to_string() == id) {
            Some(u) => (Some(u.id), u),
            None => return not_found(),
        }
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

/// Creates or updates one user through the subscriber's synchronisation.
async fn save_user(
    State(state): State<AppState>,
    Path(siren): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, &form) {
        return csrf_refused();
    }
    let (caller, siren, f) = match admin(&state, &headers, &siren, "utilisateurs").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let field = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let existing: Option<i64> = form.get("existing").and_then(|v| v.parse().ok());
    let submitted = UserView {
        id: existing.unwrap_or(0),
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
    };
    let is_self = existing == Some(caller.user_id);
    let refuse = |u: UserView, text: String| {
        let html = UserPage {
            f: &f,
            message: error_banner(text),
            existing,
            is_self,
            u,
        }
        .render();
        page(&state, &f, html, StatusCode::BAD_REQUEST)
    };
    let Ok(email) = Email::parse(&submitted.email) else {
        return refuse(submitted, "L'adresse e-mail est invalide.".into());
    };
    if submitted.first_name.is_empty() || submitted.last_name.is_empty() {
        return refuse(submitted, "Le prénom et le nom sont obligatoires.".into());
    }
    if submitted.first_name.chars().count() > 255 || submitted.last_name.chars().count() > 255 {
        return refuse(
            submitted,
            "Le prénom et le nom font au plus 255 caractères.".into(),
        );
    }
    if is_self && !submitted.admin {
        return refuse(
            submitted,
            "Vous ne pouvez pas retirer votre propre rôle d'administrateur.".into(),
        );
    }
    let groups: Vec<String> = submitted
        .groups
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect();
    if groups.iter().any(|g| g.chars().count() > 255) {
        return refuse(
            submitted,
            "Un nom de groupe fait au plus 255 caractères.".into(),
        );
    }
    let mut entries = match users::current_entries(&state, &siren).await {
        Ok(e) => e,
        Err(e) => return internal(e),
    };
    let same = |v: &Value| v["email"].as_str() == Some(email.as_str());
    match existing {
        None if entries.iter().any(same) => {
            return refuse(
                submitted,
                "Cet utilisateur existe déjà dans la collectivité.".into(),
            );
        }
        Some(id) => {
            // The e-mail identifies the account: an edit keeps it.
            let current = user_views(&state, &siren)
                .await
                .ok()
                .and_then(|us| us.into_iter().find(|u| u.id == id).map(|u| u.email));
            if current.as_deref() != Some(email.as_str()) {
                return not_found();
            }
            entries.retain(|v| !same(v));
        }
        None => {}
    }
    entries.push(json!({
        "email": email.as_str(),
        "firstName": submitted.first_name,
        "lastName": submitted.last_name,
        "authenticationType": submitted.auth,
        "groups": groups,
    }));
    let problems = match users::synchronize_entries(&state, &caller, &siren, &entries).await {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    if let Some(p) = problems
        .iter()
        .find(|p| p["email"].as_str() == Some(email.as_str()))
    {
        tracing::info!(problem = %p, "user not saved from the administration page");
        return refuse(
            submitted,
            "L'utilisateur n'a pas pu être enregistré.".into(),
        );
    }
    let user = match state.db.user_by_email(email.as_str()).await {
        Ok(Some(u)) => u,
        Ok(None) => return internal("the synchronised user is missing"),
        Err(e) => return internal(e),
    };
    if let Err(e) = state
        .db
        .set_membership(user.id, siren.as_str(), submitted.admin)
        .await
    {
        return internal(e);
    }
    state.auth.clear();
    done(siren.as_str(), "utilisateurs", "utilisateur")
}

/// Removes a user from the subscriber (and its circuits); never oneself.
async fn remove_user(
    State(state): State<AppState>,
    Path((siren, id)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, &form) {
        return csrf_refused();
    }
    let (caller, siren, f) = match admin(&state, &headers, &siren, "utilisateurs").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let users_now = match user_views(&state, &siren).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(target) = users_now.iter().find(|u| u.id.to_string() == id) else {
        return not_found();
    };
    if target.id == caller.user_id {
        let html = UsersPage {
            f: &f,
            message: error_banner("Vous ne pouvez pas vous retirer vous-même."),
            users: users_now,
        }
        .render();
        return page(&state, &f, html, StatusCode::BAD_REQUEST);
    }
    let email = target.email.clone();
    let mut entries = match users::current_entries(&state, &siren).await {
        Ok(e) => e,
        Err(e) => return internal(e),
    };
    entries.retain(|v| v["email"].as_str() != Some(email.as_str()));
    let problems = match users::synchronize_entries(&state, &caller, &siren, &entries).await {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    // Circuits whose step lost its only member are worth a warning.
    let emptied: Vec<String> = problems
        .iter()
        .filter_map(|p| p["circuit"].as_str().map(str::to_owned))
        .collect();
    if emptied.is_empty() {
        return done(siren.as_str(), "utilisateurs", "retire");
    }
    let users = match user_views(&state, &siren).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let html = UsersPage {
        f: &f,
        message: Some(Banner {
            kind: "error",
            text: format!(
                "{email} a été retiré(e). Attention : une étape des circuits {} n'a plus de membre ; modifiez-les.",
                emptied.join(", ")
            ),
        }),
        users,
    }
    .render();
    page(&state, &f, html, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage<'a> {
    f: &'a Frame,
    groups: Vec<(String, Vec<String>)>,
}

async fn groups_page(
    State(state): State<AppState>,
    Path(siren): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (_, siren, f) = match admin(&state, &headers, &siren, "groupes").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let users = match user_views(&state, &siren).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let names: HashMap<i64, String> = users
        .into_iter()
        .map(|u| {
            (
                u.id,
                format!("{} {} ({})", u.first_name, u.last_name, u.email),
            )
        })
        .collect();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    match state.db.subscriber_groups(siren.as_str()).await {
        Ok(rows) => {
            for (id, g) in rows {
                groups
                    .entry(g)
                    .or_default()
                    .push(names.get(&id).cloned().unwrap_or_default());
            }
        }
        Err(e) => return internal(e),
    }
    let html = GroupsPage {
        f: &f,
        groups: groups.into_iter().collect(),
    }
    .render();
    page(&state, &f, html, StatusCode::OK)
}

// ---- circuits ----------------------------------------------------------------------------

struct CircuitView {
    id: String,
    circuit_type: String,
    steps: Vec<(String, String)>,
    depositors: String,
}

#[derive(Template)]
#[template(path = "admin/circuits.html")]
struct CircuitsPage<'a> {
    f: &'a Frame,
    message: Option<Banner>,
    circuits: Vec<CircuitView>,
}

struct StepRow {
    index: usize,
    kind: String,
    members: String,
}

#[derive(Template)]
#[template(path = "admin/circuit.html")]
struct CircuitPage<'a> {
    f: &'a Frame,
    message: Option<Banner>,
    existing: bool,
    id: String,
    circuit_type: String,
    metadata: bool,
    depositors: String,
    rows: Vec<StepRow>,
    kinds: Vec<(String, &'static str)>,
    types: &'static [(&'static str, &'static str)],
}

/// The step kinds offered, by lower-case value (what `StepKind::parse` reads).
fn kinds() -> Vec<(String, &'static str)> {
    STEP_KINDS
        .iter()
        .map(|k| (k.as_str().to_ascii_lowercase(), k.label_fr()))
        .collect()
}

fn stored_steps(json: &str) -> Vec<StoredStep> {
    serde_json::from_str(json).unwrap_or_default()
}

fn stored_list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn step_label(kind: &str) -> &'static str {
    StepKind::parse(kind)
        .map(StepKind::label_fr)
        .unwrap_or("Étape inconnue")
}

async fn circuits_page(
    State(state): State<AppState>,
    Path(siren): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (_, siren, f) = match admin(&state, &headers, &siren, "circuits").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let circuits = match state.db.circuits(siren.as_str()).await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let html = CircuitsPage {
        f: &f,
        message: ok_banner(&q),
        circuits: circuits
            .into_iter()
            .map(|c| CircuitView {
                steps: stored_steps(&c.steps)
                    .into_iter()
                    .map(|s| (step_label(&s.step).to_owned(), s.members.join(", ")))
                    .collect(),
                depositors: stored_list(&c.depositors).join(", "),
                id: c.id,
                circuit_type: c.circuit_type,
            })
            .collect(),
    }
    .render();
    page(&state, &f, html, StatusCode::OK)
}

fn rows_of(steps: &[(String, String)]) -> Vec<StepRow> {
    (0..STEP_ROWS.max(steps.len() + 2))
        .map(|i| StepRow {
            index: i,
            kind: steps.get(i).map(|s| s.0.clone()).unwrap_or_default(),
            members: steps.get(i).map(|s| s.1.clone()).unwrap_or_default(),
        })
        .collect()
}

async fn circuit_page(
    State(state): State<AppState>,
    Path((siren, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (_, siren, f) = match admin(&state, &headers, &siren, "circuits").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let view = if id == "nouveau" {
        CircuitPage {
            f: &f,
            message: None,
            existing: false,
            id: String::new(),
            circuit_type: "BUREAUTIQUE_PDF".into(),
            metadata: false,
            depositors: String::new(),
            rows: rows_of(&[]),
            kinds: kinds(),
            types: &CIRCUIT_TYPES,
        }
    } else {
        let c = match state.db.circuit(siren.as_str(), &id).await {
            Ok(Some(c)) => c,
            Ok(None) => return not_found(),
            Err(e) => return internal(e),
        };
        let steps: Vec<(String, String)> = stored_steps(&c.steps)
            .into_iter()
            .map(|s| (s.step.to_ascii_lowercase(), s.members.join(", ")))
            .collect();
        CircuitPage {
            f: &f,
            message: None,
            existing: true,
            depositors: stored_list(&c.depositors).join(", "),
            id: c.id,
            circuit_type: c.circuit_type,
            metadata: c.metadata_required != 0,
            rows: rows_of(&steps),
            kinds: kinds(),
            types: &CIRCUIT_TYPES,
        }
    };
    let html = view.render();
    page(&state, &f, html, StatusCode::OK)
}

fn split_list(s: &str) -> Vec<String> {
    s.split([',', ';', '\n', ' '])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn save_circuit(
    State(state): State<AppState>,
    Path(siren): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, &form) {
        return csrf_refused();
    }
    let (_, siren, f) = match admin(&state, &headers, &siren, "circuits").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let field = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let existing = form.contains_key("existing");
    let mut steps: Vec<(String, String)> = Vec::new();
    for i in 0..64 {
        let kind = field(&format!("step_{i}"));
        let members = field(&format!("members_{i}"));
        if !kind.is_empty() {
            steps.push((kind, members));
        }
    }
    let input = CircuitInput {
        id: field("id"),
        circuit_type: field("type"),
        formats: Vec::new(),
        depositors: split_list(&field("depositors")),
        metadata: form.contains_key("metadata"),
        steps: steps
            .iter()
            .map(|(k, m)| (k.clone(), split_list(m)))
            .collect(),
    };
    let refuse = |text: String| {
        let html = CircuitPage {
            f: &f,
            message: error_banner(text),
            existing,
            id: input.id.clone(),
            circuit_type: input.circuit_type.clone(),
            metadata: input.metadata,
            depositors: field("depositors"),
            rows: rows_of(&steps),
            kinds: kinds(),
            types: &CIRCUIT_TYPES,
        }
        .render();
        page(&state, &f, html, StatusCode::BAD_REQUEST)
    };
    let row = match circuits::build(&state.db, &siren, &input).await {
        Ok(r) => r,
        Err(CircuitError::Store(e)) => return internal(e),
        Err(e) => return refuse(e.french()),
    };
    match state.db.circuit(siren.as_str(), &row.id).await {
        Ok(Some(_)) if !existing => {
            return refuse("Un circuit porte déjà cet identifiant.".into());
        }
        Ok(None) if existing => return not_found(),
        Ok(_) => {}
        Err(e) => return internal(e),
    }
    if let Err(e) = state.db.upsert_circuit(&row).await {
        return internal(e);
    }
    tracing::info!(siren = siren.as_str(), circuit = %row.id, "circuit saved from the administration pages");
    done(siren.as_str(), "circuits", "circuit")
}

async fn delete_circuit(
    State(state): State<AppState>,
    Path((siren, id)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, &form) {
        return csrf_refused();
    }
    let (_, siren, _) = match admin(&state, &headers, &siren, "circuits").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state.db.delete_circuit(siren.as_str(), &id).await {
        Ok(true) => done(siren.as_str(), "circuits", "supprime"),
        Ok(false) => not_found(),
        Err(e) => internal(e),
    }
}

// ---- documents ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/documents.html")]
struct DocumentsPage<'a> {
    f: &'a Frame,
    docs: Vec<Row>,
    total: i64,
    prev: Option<String>,
    next: Option<String>,
}

async fn documents_page(
    State(state): State<AppState>,
    Path(siren): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (_, siren, f) = match admin(&state, &headers, &siren, "documents").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let page_no: i64 = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let (docs, total) = match state
        .db
        .subscriber_documents(siren.as_str(), (page_no - 1) * PAGE, PAGE)
        .await
    {
        Ok(x) => x,
        Err(e) => return internal(e),
    };
    let link = |p: i64| format!("/parapheur/admin/{siren}/documents?page={p}");
    let html = DocumentsPage {
        f: &f,
        docs: docs.into_iter().map(Row::from).collect(),
        total,
        prev: (page_no > 1).then(|| link(page_no - 1)),
        next: (page_no * PAGE < total).then(|| link(page_no + 1)),
    }
    .render();
    page(&state, &f, html, StatusCode::OK)
}
