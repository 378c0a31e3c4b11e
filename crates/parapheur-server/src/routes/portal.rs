//! The portal (first slice): login with a session cookie, the dashboard's bannettes, the
//! document page with its actions and downloads, and `/parapheur/showDoc.action?documentid=`
//! (the link client software and our e-mails give). Forms carry the double-submit CSRF token of
//! the other pages; logins are throttled.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::pages::{
    Banner, csrf_ok, csrf_refused, csrf_token, harden, message, rendered, set_csrf,
};
use crate::service::{access, documents, human_date, links};
use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use parapheur_domain::{Action, DocumentId, StepKind};
use parapheur_store::portal::{Bannette, ListFilter};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

const SESSION_COOKIE: &str = "parapheur_session";
const SESSION_TTL_MS: i64 = 12 * 3_600_000;
pub(crate) const PAGE: i64 = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parapheur", get(|| async { Redirect::to("/parapheur/") }))
        .route("/parapheur/", get(dashboard))
        .route("/parapheur/login", get(login_page).post(login))
        .route("/parapheur/login/certificat", post(login_certificate))
        .route("/parapheur/logout", post(logout))
        .route("/parapheur/showDoc.action", get(show_doc))
        .route("/parapheur/documents/{id}", get(document_page))
        .route("/parapheur/documents/{id}/action", post(act))
        .route("/parapheur/documents/{id}/telecharger", get(download))
        .route("/parapheur/documents/{id}/apercu", get(preview))
        .route("/parapheur/documents/{id}/fiche", get(fiche))
        .route("/parapheur/documents/{id}/pages/{n}", get(page_image))
        .route("/parapheur/deposer", get(deposit_page).post(deposit))
        .route("/parapheur/signer-lot", post(sign_batch))
        .route("/parapheur/lots/{batch}", get(batch_page))
}

/// The signed-in user of the request.
pub(crate) async fn session(state: &AppState, headers: &HeaderMap) -> Option<(Caller, String)> {
    let token = crate::routes::pages::cookie(headers, SESSION_COOKIE)?;
    if !links::well_formed(&token) {
        return None;
    }
    let hash = links::hash(&token);
    let user_id = state.db.session_user(&hash).await.ok()??;
    let user = state.db.user_by_id(user_id).await.ok()??;
    Some((crate::auth::caller_of(state, &user).await.ok()?, hash))
}

/// Unknown, malformed or not visible: the same answer.
pub(crate) fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Document introuvable",
        "error",
        "Le document demandé n'existe pas ou ne vous est pas accessible.",
    )
}

pub(crate) fn to_login(next: &str) -> Response {
    let enc: String = next
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    harden(
        Redirect::to(&format!("/parapheur/login?next={enc}")).into_response(),
        false,
    )
}

#[derive(Template)]
#[template(path = "portal/login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    next: &'a str,
    email: &'a str,
    error: Option<&'a str>,
    /// Offer "Se connecter avec mon certificat" (client certificates are configured).
    certificates: bool,
}

/// Only local paths are followed after login.
fn safe_next(next: Option<&String>) -> String {
    next.filter(|n| n.starts_with("/parapheur/") && !n.starts_with("//"))
        .cloned()
        .unwrap_or_else(|| "/parapheur/".into())
}

async fn login_page(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
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
) -> Response {
    crate::routes::pages::with_csrf(state, headers, |csrf| {
        rendered(
            LoginPage {
                csrf,
                next,
                email,
                error,
                certificates: certificates_offered(state),
            }
            .render(),
            status,
        )
    })
}

async fn login(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let headers = &parts.headers;
    if !csrf_ok(headers, &form) {
        return csrf_refused();
    }
    let email = form
        .get("email")
        .map(|e| e.trim().to_lowercase())
        .unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let next = safe_next(form.get("next"));
    let refuse = |status: StatusCode, error: &str| {
        login_form(&state, headers, &next, &email, Some(error), status)
    };
    let ip = crate::auth::client_ip(&state, &parts);
    let _turn = state.auth.turn(&email).await;
    match crate::auth::check(&state, Some(&email), ip).await {
        Ok(()) => {}
        Err(ApiError::TooManyAttempts(secs)) => {
            let mut r = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "Trop de tentatives : réessayez dans un quart d'heure.",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return r;
        }
        Err(e) => return internal(e),
    }
    let user = match state.db.user_by_email(&email).await {
        Ok(Some(u)) if u.auth_type == "BASIC" => Some(u),
        Ok(_) => None,
        Err(e) => return internal(e),
    };
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = crate::auth::check_password(&state, hash, password).await;
    let Some(user) = user.filter(|_| ok) else {
        crate::auth::failed(&state, Some(&email), ip).await;
        tracing::info!(user.email = %email, "portal login failed");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "Adresse e-mail ou mot de passe incorrect.",
        );
    };
    crate::auth::succeeded(&state, &email).await;
    start_session(&state, user.id, &next).await
}

/// Signs a CERTIFICAT user in with the client certificate of the connection (mTLS, or the one a
/// trusted proxy forwards): the login page's "certificate" button.
async fn login_certificate(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&parts.headers, &form) {
        return csrf_refused();
    }
    let next = safe_next(form.get("next"));
    match crate::auth::certificate_caller(&state, &parts).await {
        Some(Ok(caller)) => start_session(&state, caller.user_id, &next).await,
        Some(Err(ApiError::TooManyAttempts(secs))) => {
            let mut r = login_form(
                &state,
                &parts.headers,
                &next,
                "",
                Some("Trop de tentatives : réessayez dans un quart d'heure."),
                StatusCode::TOO_MANY_REQUESTS,
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            r
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

/// Opens a session for `user_id` and goes to `next`.
async fn start_session(state: &AppState, user_id: i64, next: &str) -> Response {
    let (token, hash) = links::new_token();
    if let Err(e) = state
        .db
        .create_session(&hash, user_id, SESSION_TTL_MS)
        .await
    {
        return internal(e);
    }
    let secure = if state.cfg.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let mut r = harden(Redirect::to(next).into_response(), false);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/parapheur; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        SESSION_TTL_MS / 1000
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, &form) {
        return csrf_refused();
    }
    if let Some((_, hash)) = session(&state, &headers).await {
        let _ = state.db.delete_session(&hash).await;
    }
    let mut r = harden(Redirect::to("/parapheur/login").into_response(), false);
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "parapheur_session=; Path=/parapheur; HttpOnly; SameSite=Lax; Max-Age=0",
        ),
    );
    r
}

async fn show_doc(Query(q): Query<HashMap<String, String>>) -> Response {
    match q.get("documentid").and_then(|v| DocumentId::parse(v).ok()) {
        Some(id) => Redirect::to(&format!("/parapheur/documents/{}", id.get())).into_response(),
        None => not_found(),
    }
}

struct BannetteView {
    slug: &'static str,
    label: &'static str,
    count: i64,
    current: bool,
}

/// A document in a list (dashboard, administration).
pub(crate) struct Row {
    pub id: i64,
    pub filename: String,
    pub label: String,
    pub circuit: String,
    pub state: &'static str,
}

impl From<parapheur_store::documents::DocumentRow> for Row {
    fn from(d: parapheur_store::documents::DocumentRow) -> Self {
        Self {
            id: d.id,
            state: state_fr(&d.status),
            filename: d.filename,
            label: d.label,
            circuit: d.circuit_id.unwrap_or_else(|| "à la demande".into()),
        }
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

fn state_fr(status: &str) -> &'static str {
    match status {
        "awaiting_metadata" => "En attente des métadonnées",
        "in_progress" => "En cours",
        "visa_disapproved" => "Visa désapprouvé",
        "refused" => "Refusé",
        "signature_rejected" => "Signature rejetée",
        "classified" => "Terminé",
        _ => "Inconnu",
    }
}

pub(crate) fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "portal page failed");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Erreur",
        "error",
        "Une erreur interne est survenue.",
    )
}

async fn dashboard(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some((caller, _)) = session(&state, &headers).await else {
        return to_login("/parapheur/");
    };
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
    let page: i64 = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let counts = match state.db.bannette_counts(caller.user_id).await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let (docs, total) = match state
        .db
        .bannette(caller.user_id, current, &filter, (page - 1) * PAGE, PAGE)
        .await
    {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let link = |p: i64| {
        let mut s = format!("/parapheur/?bannette={}&page={p}", current.slug());
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
    };
    let (csrf, fresh) = csrf_token(&headers);
    let view = Dashboard {
        user_name: &caller.full_name,
        csrf: &csrf,
        bannettes: counts
            .into_iter()
            .map(|(b, count)| BannetteView {
                slug: b.slug(),
                label: b.label(),
                count,
                current: b == current,
            })
            .collect(),
        current: current.slug(),
        current_label: current.label(),
        rows: docs.into_iter().map(Row::from).collect(),
        total,
        q: filter.name.as_deref().unwrap_or_default(),
        circuit: filter.circuit.as_deref().unwrap_or_default(),
        label: filter.label.as_deref().unwrap_or_default(),
        prev: (page > 1).then(|| link(page - 1)),
        next: (page * PAGE < total).then(|| link(page + 1)),
        batch: current == Bannette::ToSign,
        admin: caller.memberships.iter().any(|(_, admin)| *admin),
    };
    let r = rendered(view.render(), StatusCode::OK);
    if fresh { set_csrf(&state, r, &csrf) } else { r }
}

struct StepView {
    label: &'static str,
    members: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "portal/document.html")]
struct DocumentPage<'a> {
    user_name: &'a str,
    csrf: &'a str,
    d: &'a parapheur_store::documents::DocumentRow,
    circuit: String,
    state: &'static str,
    pdf: bool,
    /// Pages rendered as images (empty: the browser's own viewer is used).
    pages: Vec<u32>,
    /// Pages beyond those shown.
    more_pages: u32,
    steps: Vec<StepView>,
    actions: Vec<(&'static str, &'static str, bool)>,
    annexes: Vec<String>,
    /// The document's metadata (name, value), as `metadata/define` recorded them.
    metadata: Vec<(String, String)>,
    comments: Vec<String>,
    history: Vec<(String, String, String, String)>,
    message: Option<Banner>,
}

async fn render_document(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    id: DocumentId,
    status: StatusCode,
    banner: Option<Banner>,
) -> Response {
    let doc = match access::load(state, caller, id).await {
        Ok(d) => d,
        Err(_) => {
            return not_found();
        }
    };
    let run = async {
        let w = access::workflow(state, &doc).await?;
        let members = state.db.document_step_members(doc.id).await?;
        let current = w.current_kind().map(|_| w.current_step);
        let steps = w
            .steps
            .iter()
            .enumerate()
            .map(|(i, k)| StepView {
                label: k.label_fr(),
                members: members
                    .iter()
                    .filter(|(idx, _, _)| usize::try_from(*idx).ok() == Some(i))
                    .map(|(_, name, _)| name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
                current: current == Some(i),
            })
            .collect();
        let is_member = state
            .db
            .is_step_member(doc.id, doc.current_step, caller.user_id)
            .await?;
        let actions = match (w.current_kind(), is_member) {
            (Some(StepKind::Visa), true) => {
                vec![("visa", "Viser", false), ("reject", "Rejeter", true)]
            }
            (Some(StepKind::Signature), true) => {
                vec![("sign", "Signer", false), ("refuse", "Refuser", true)]
            }
            _ => Vec::new(),
        };
        let annexes = state
            .db
            .annexes(doc.id)
            .await?
            .into_iter()
            .map(|a| a.filename)
            .collect();
        let comments = state
            .db
            .comments(doc.id)
            .await?
            .into_iter()
            .map(|c| format!("{} — {} : {}", human_date(c.at_ms), c.author, c.text))
            .collect();
        let history = state
            .db
            .history(doc.id)
            .await?
            .into_iter()
            .map(|h| {
                (
                    human_date(h.at_ms),
                    h.user_fullname,
                    h.state_name,
                    h.comment.unwrap_or_default(),
                )
            })
            .collect();
        let metadata = state.db.metadata(doc.id).await?;
        Ok::<_, ApiError>((steps, actions, annexes, comments, history, metadata))
    };
    let (steps, actions, annexes, comments, history, metadata) = match run.await {
        Ok(v) => v,
        Err(e) => return internal(e),
    };
    let pdf = doc.filename.to_ascii_lowercase().ends_with(".pdf") && doc.purged_at.is_none();
    let total = if pdf && crate::service::preview::available() {
        page_total(state, &doc).await
    } else {
        0
    };
    let shown = total.min(crate::service::preview::MAX_PAGES);
    let (csrf, fresh) = csrf_token(headers);
    let page = DocumentPage {
        user_name: &caller.full_name,
        csrf: &csrf,
        circuit: doc
            .circuit_id
            .clone()
            .unwrap_or_else(|| "à la demande".into()),
        state: state_fr(&doc.status),
        pdf,
        pages: (1..=shown).collect(),
        more_pages: total - shown,
        d: &doc,
        steps,
        actions,
        annexes,
        metadata,
        comments,
        history,
        message: banner,
    };
    let r = rendered(page.render(), status);
    if fresh { set_csrf(state, r, &csrf) } else { r }
}

/// The page count of a document's current file (0 when it cannot be read), remembered per
/// stored file (a blob never changes).
async fn page_total(state: &AppState, doc: &parapheur_store::documents::DocumentRow) -> u32 {
    static COUNTS: OnceLock<Mutex<HashMap<String, u32>>> = OnceLock::new();
    let counts = COUNTS.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(n) = counts
        .lock()
        .ok()
        .and_then(|m| m.get(&doc.blob_key).copied())
    {
        return n;
    }
    let Ok(bytes) = crate::service::get_blob(state, &doc.blob_key).await else {
        return 0;
    };
    let n = crate::service::preview::page_count(&bytes)
        .await
        .unwrap_or(0);
    if let Ok(mut m) = counts.lock() {
        if m.len() > 10_000 {
            m.clear();
        }
        m.insert(doc.blob_key.clone(), n);
    }
    n
}

/// `GET /parapheur/documents/{id}/pages/{n}`: page `n` of the document as a PNG.
async fn page_image(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some((caller, _)) = session(&state, &headers).await else {
        return to_login(&format!("/parapheur/documents/{id}"));
    };
    let (Ok(id), Ok(n)) = (DocumentId::parse(&id), n.parse::<u32>()) else {
        return not_found();
    };
    let Ok(doc) = access::load(&state, &caller, id).await else {
        return not_found();
    };
    let pdf = doc.filename.to_ascii_lowercase().ends_with(".pdf") && doc.purged_at.is_none();
    if !pdf || !crate::service::preview::available() || n == 0 || n > page_total(&state, &doc).await
    {
        return not_found();
    }
    let rendered = match crate::service::get_blob(&state, &doc.blob_key).await {
        Ok(bytes) => crate::service::preview::render(&bytes, n).await,
        Err(e) => Err(e),
    };
    match rendered {
        Ok(png) => harden(
            ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
            false,
        ),
        Err(ApiError::NotFound) => not_found(),
        Err(e) => internal(e),
    }
}

async fn document_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some((caller, _)) = session(&state, &headers).await else {
        return to_login(&format!("/parapheur/documents/{id}"));
    };
    let Ok(id) = DocumentId::parse(&id) else {
        return not_found();
    };
    let banner = q.contains_key("fait").then(|| Banner {
        kind: "success",
        text: "Action enregistrée.".into(),
    });
    render_document(&state, &caller, &headers, id, StatusCode::OK, banner).await
}

async fn act(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, &form) {
        return csrf_refused();
    }
    let Some((caller, _)) = session(&state, &headers).await else {
        return to_login(&format!("/parapheur/documents/{id}"));
    };
    let Ok(id) = DocumentId::parse(&id) else {
        return not_found();
    };
    let action = match form.get("action").map(String::as_str) {
        Some("visa") => Action::Visa,
        Some("reject") => Action::Reject,
        Some("sign") => Action::Sign,
        Some("refuse") => Action::Refuse,
        _ => {
            let b = Banner {
                kind: "error",
                text: "Action inconnue.".into(),
            };
            return render_document(
                &state,
                &caller,
                &headers,
                id,
                StatusCode::BAD_REQUEST,
                Some(b),
            )
            .await;
        }
    };
    let comment = form
        .get("comment")
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    match documents::act(&state, &caller, id, action, comment).await {
        Ok(()) => harden(
            Redirect::to(&format!("/parapheur/documents/{}?fait=1", id.get())).into_response(),
            false,
        ),
        Err(e) => {
            let b = Banner {
                kind: "error",
                text: e.user_message().into(),
            };
            render_document(&state, &caller, &headers, id, e.status(), Some(b)).await
        }
    }
}

async fn file_response(state: &AppState, headers: &HeaderMap, id: &str, kind: &str) -> Response {
    let Some((caller, _)) = session(state, headers).await else {
        return to_login(&format!("/parapheur/documents/{id}"));
    };
    let Ok(id) = DocumentId::parse(id) else {
        return not_found();
    };
    let doc = match access::load(state, &caller, id).await {
        Ok(d) => d,
        Err(_) => {
            return not_found();
        }
    };
    use crate::routes::stored::{Disposition, stored_file};
    let how = if kind == "apercu" {
        Disposition::PdfPreview
    } else {
        Disposition::Attachment
    };
    let r = match kind {
        "fiche" => crate::service::fdc::build(state, &doc)
            .await
            .map(|pdf| (crate::routes::fast::download::fdc_name(doc.id), pdf)),
        _ if doc.purged_at.is_some() => Err(ApiError::ContentPurged),
        _ => crate::routes::fast::download::package_bytes(state, &doc, false, false).await,
    };
    match r {
        Ok((name, bytes)) => harden(stored_file(&name, bytes, how), kind == "apercu"),
        Err(e) => message(
            e.status(),
            "Téléchargement impossible",
            "error",
            e.user_message(),
        ),
    }
}

async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    file_response(&state, &headers, &id, "document").await
}
async fn preview(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    file_response(&state, &headers, &id, "apercu").await
}
async fn fiche(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    file_response(&state, &headers, &id, "fiche").await
}

#[derive(Template)]
#[template(path = "portal/deposit.html")]
struct DepositPage<'a> {
    user_name: &'a str,
    csrf: &'a str,
    circuits: Vec<(String, String)>,
    error: Option<&'a str>,
}

/// The provisioned circuits the caller may deposit into: `("siren/id", "label")`.
async fn deposit_circuits(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for (siren, _) in &caller.memberships {
        let org = state.db.subscriber_name(siren).await?.unwrap_or_default();
        for c in state.db.circuits(siren).await? {
            let depositors: Vec<String> = serde_json::from_str(&c.depositors).unwrap_or_default();
            if depositors.is_empty()
                || depositors
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case(&caller.email))
            {
                out.push((format!("{siren}/{}", c.id), format!("{org} — {}", c.id)));
            }
        }
    }
    Ok(out)
}

async fn render_deposit(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let circuits = match deposit_circuits(state, caller).await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let (csrf, fresh) = csrf_token(headers);
    let r = rendered(
        DepositPage {
            user_name: &caller.full_name,
            csrf: &csrf,
            circuits,
            error,
        }
        .render(),
        status,
    );
    if fresh { set_csrf(state, r, &csrf) } else { r }
}

async fn deposit_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some((caller, _)) = session(&state, &headers).await else {
        return to_login("/parapheur/deposer");
    };
    render_deposit(&state, &caller, &headers, StatusCode::OK, None).await
}

async fn deposit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let Some((caller, _)) = session(&state, &headers).await else {
        return to_login("/parapheur/deposer");
    };
    let form =
        match crate::routes::form::Form::read(&headers, body, state.cfg.max_upload_bytes).await {
            Ok(f) => f,
            Err(e) => {
                return render_deposit(
                    &state,
                    &caller,
                    &headers,
                    e.status(),
                    Some(e.user_message()),
                )
                .await;
            }
        };
    let text = |name: &str| form.text(name).unwrap_or_default();
    let mut check = HashMap::new();
    check.insert("csrf".to_owned(), text("csrf"));
    if !csrf_ok(&headers, &check) {
        return csrf_refused();
    }
    let run = async {
        let target = text("circuit");
        let (siren, circuit) = target
            .split_once('/')
            .ok_or_else(|| ApiError::BadParameter("circuit".into()))?;
        let file = form
            .file(&["doc"])?
            .ok_or_else(|| ApiError::BadParameter("the document is missing".into()))?;
        let mut annexes = Vec::new();
        for p in form.parts.iter().filter(|p| p.name == "annexes") {
            match p.file_name.as_deref().map(str::trim) {
                Some(n) if !n.is_empty() && !p.bytes.is_empty() => {
                    annexes.push(crate::files::Upload {
                        name: parapheur_domain::FileName::parse(n)?,
                        bytes: p.bytes.clone(),
                    })
                }
                _ => {}
            }
        }
        let req = crate::service::deposit::DepositRequest {
            siren: parapheur_domain::Siren::parse(siren)?,
            circuit: crate::service::deposit::CircuitSource::Provisioned(
                parapheur_domain::CircuitId::parse(circuit)?,
            ),
            file,
            annexes,
            label: text("label"),
            comment: text("comment"),
            email_to: Vec::new(),
            email_cc: Vec::new(),
            agents: Vec::new(),
            pictograms: None,
            otp: None,
        };
        crate::service::deposit::deposit(&state, &caller, req).await
    };
    match run.await {
        Ok(id) => harden(
            Redirect::to(&format!("/parapheur/documents/{}?fait=1", id.get())).into_response(),
            false,
        ),
        Err(e) => {
            render_deposit(
                &state,
                &caller,
                &headers,
                e.status(),
                Some(e.user_message()),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "portal/batch.html")]
struct BatchPage<'a> {
    user_name: &'a str,
    csrf: &'a str,
    /// (document id, file name, outcome or "En attente…", signed)
    results: Vec<(i64, String, String, bool)>,
    processed: usize,
    signed: usize,
    running: bool,
}

/// Records the selected documents as a batch signed by the job queue, then shows its progress.
async fn sign_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let map: HashMap<String, String> = fields
        .iter()
        .filter(|(k, _)| k == "csrf")
        .cloned()
        .collect();
    if !csrf_ok(&headers, &map) {
        return csrf_refused();
    }
    let Some((caller, _)) = session(&state, &headers).await else {
        return to_login("/parapheur/?bannette=a-signer");
    };
    let ids: Vec<DocumentId> = fields
        .iter()
        .filter(|(k, _)| k == "id")
        .filter_map(|(_, v)| DocumentId::parse(v).ok())
        .collect();
    match crate::service::batch::start(&state, &caller, &ids).await {
        Ok(batch) => harden(
            Redirect::to(&format!("/parapheur/lots/{batch}")).into_response(),
            false,
        ),
        Err(ApiError::BadParameter(_)) => message(
            StatusCode::BAD_REQUEST,
            "Signature par lot",
            "error",
            "Sélectionnez au moins un document à signer.",
        ),
        Err(e) => internal(e),
    }
}

/// The progress of a batch: refreshed every second while documents remain.
async fn batch_page(
    State(state): State<AppState>,
    Path(batch): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some((caller, _)) = session(&state, &headers).await else {
        return to_login("/parapheur/?bannette=a-signer");
    };
    if !links::well_formed(&batch) {
        return not_found();
    }
    let items = match state.db.batch_items(&batch, Some(caller.user_id)).await {
        Ok(i) if !i.is_empty() => i,
        Ok(_) => return not_found(),
        Err(e) => return internal(e),
    };
    let processed = items.iter().filter(|i| i.outcome.is_some()).count();
    let signed = items.iter().filter(|i| i.signed != 0).count();
    let (csrf, fresh) = csrf_token(&headers);
    let r = rendered(
        BatchPage {
            user_name: &caller.full_name,
            csrf: &csrf,
            running: processed < items.len(),
            results: items
                .into_iter()
                .map(|i| {
                    (
                        i.document_id,
                        i.filename,
                        i.outcome.unwrap_or_else(|| "En attente…".into()),
                        i.signed != 0,
                    )
                })
                .collect(),
            processed,
            signed,
        }
        .render(),
        StatusCode::OK,
    );
    if fresh { set_csrf(&state, r, &csrf) } else { r }
}
