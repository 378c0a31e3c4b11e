//! Pages for people without an account: the OTP signing page (CONTRACT §7) and the download
//! link sent with signed documents. Forms carry a CSRF token checked against a cookie
//! (double submit, `SameSite=Strict`); pages are never cached and never leak their URL (which
//! holds the token) in a `Referer`.

use crate::service::links;
use crate::service::otp::{self, Page, PageError};
use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Extension, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use parapheur_domain::otp::CodeProblem;
use std::collections::HashMap;
use std::net::SocketAddr;

const CSRF_COOKIE: &str = "parapheur_csrf";
const CSS: &str = include_str!("../../static/parapheur.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/otp/{token}", get(otp_page))
        .route("/otp/{token}/code", post(otp_code))
        .route("/otp/{token}/sign", post(otp_sign))
        .route("/otp/{token}/refus", post(otp_refuse))
        .route("/otp/{token}/documents/{id}", get(otp_document))
        .route("/public/download/{token}", get(public_download))
        .route("/static/parapheur.css", get(css))
        .route("/motdepasse/oubli", get(forgot_page).post(forgot))
        .route("/motdepasse/{token}", get(password_page).post(set_password))
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// A banner on a page.
pub struct Banner {
    pub kind: &'static str,
    pub text: String,
}

#[derive(Template)]
#[template(path = "otp/page.html")]
struct OtpPage<'a> {
    p: &'a Page,
    token: &'a str,
    csrf: &'a str,
    message: Option<Banner>,
    pending: bool,
    preview: Option<i64>,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    kind: &'a str,
    text: &'a str,
}

/// Security headers of every page: no caching, no referrer, no framing, only our own styles.
pub(crate) fn harden(mut r: Response, framable: bool) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if framable {
        h.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
    } else {
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    }
    // A stored file keeps its own sandbox policy.
    if !framable && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; frame-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
    }
    r
}

pub(crate) fn html(status: StatusCode, body: String) -> Response {
    harden(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        false,
    )
}

pub(crate) fn message(status: StatusCode, title: &str, kind: &str, text: &str) -> Response {
    match (MessagePage { title, kind, text }).render() {
        Ok(b) => html(status, b),
        Err(e) => {
            tracing::error!(error = %e, "page template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "erreur interne").into_response()
        }
    }
}

fn invalid_link() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Lien invalide",
        "error",
        "Ce lien n'est pas valide ou a expiré. Contactez l'organisme qui vous l'a envoyé.",
    )
}

pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The CSRF token of the browser, or a new one to set.
pub(crate) fn csrf_token(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, CSRF_COOKIE).filter(|v| links::well_formed(v)) {
        Some(v) => (v, false),
        None => (links::new_token().0, true),
    }
}

pub(crate) fn set_csrf(state: &AppState, mut r: Response, token: &str) -> Response {
    let secure = if state.cfg.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// True when the form's token matches the cookie (constant-time).
pub(crate) fn csrf_ok(headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    use subtle::ConstantTimeEq;
    match (cookie(headers, CSRF_COOKIE), form.get("csrf")) {
        (Some(c), Some(f)) if links::well_formed(&c) => {
            bool::from(c.as_bytes().ct_eq(f.as_bytes()))
        }
        _ => false,
    }
}

async fn render_otp(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    status: StatusCode,
    banner: Option<Banner>,
) -> Response {
    let p = match otp::page(state, token).await {
        Ok(p) => p,
        Err(e) => return page_error(e),
    };
    let (csrf, fresh) = csrf_token(headers);
    let pending = p.docs.iter().any(|d| d.pending);
    let preview = p
        .docs
        .iter()
        .find(|d| d.pending && d.filename.to_ascii_lowercase().ends_with(".pdf"))
        .map(|d| d.id);
    let banner = banner.or_else(|| {
        let all_done = p
            .docs
            .iter()
            .all(|d| matches!(d.status, "Signé" | "Terminé"));
        (!pending && !p.docs.is_empty()).then(|| {
            if all_done {
                Banner {
                    kind: "success",
                    text: "Tous les documents de ce lien sont signés.".into(),
                }
            } else {
                Banner {
                    kind: "info",
                    text: "Aucun document n'attend votre signature pour le moment.".into(),
                }
            }
        })
    });
    let page = OtpPage {
        p: &p,
        token,
        csrf: &csrf,
        message: banner,
        pending,
        preview,
    };
    let r = match page.render() {
        Ok(b) => html(status, b),
        Err(e) => {
            tracing::error!(error = %e, "OTP page template failed");
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Erreur",
                "error",
                "Une erreur interne est survenue.",
            );
        }
    };
    if fresh { set_csrf(state, r, &csrf) } else { r }
}

fn page_error(e: PageError) -> Response {
    match e {
        PageError::InvalidLink => invalid_link(),
        other => {
            tracing::error!(error = ?other, "OTP page failed");
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Erreur",
                "error",
                "Une erreur interne est survenue. Réessayez dans quelques instants.",
            )
        }
    }
}

/// The French message of a refusal, with its HTTP status.
fn explain(e: &PageError) -> (StatusCode, String) {
    match e {
        PageError::InvalidLink => (StatusCode::NOT_FOUND, String::new()),
        PageError::ReasonRequired => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Indiquez pourquoi vous refusez de signer.".into(),
        ),
        PageError::NothingToSign => (
            StatusCode::CONFLICT,
            "Aucun document n'attend votre signature sur ce lien.".into(),
        ),
        PageError::NoContact => (
            StatusCode::CONFLICT,
            "Aucun numéro de téléphone ni adresse e-mail n'est connu pour vous envoyer un code.".into(),
        ),
        PageError::TooManyCodes => (
            StatusCode::TOO_MANY_REQUESTS,
            "Trop de codes ont été demandés pour ce document. Réessayez dans une heure.".into(),
        ),
        PageError::Code(CodeProblem::NoCode) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Aucun code valide : demandez un nouveau code.".into(),
        ),
        PageError::Code(CodeProblem::Expired) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Ce code a expiré : demandez un nouveau code.".into(),
        ),
        PageError::Code(CodeProblem::Locked) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Trop d'essais incorrects : ce code est bloqué. Demandez un nouveau code.".into(),
        ),
        PageError::WrongCode { remaining } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "Code incorrect. Il vous reste {remaining} essai{}.",
                if *remaining > 1 { "s" } else { "" }
            ),
        ),
        PageError::Failed(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "La signature n'a pas pu être appliquée à tous les documents. Réessayez ou contactez l'organisme demandeur.".into(),
        ),
    }
}

async fn otp_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let banner = if q.contains_key("signed") {
        Some(Banner {
            kind: "success",
            text: "Merci : les documents ont été signés.".into(),
        })
    } else if q.contains_key("refused") {
        Some(Banner {
            kind: "info",
            text: "Votre refus a été enregistré et transmis à l'émetteur.".into(),
        })
    } else if q.contains_key("sent") {
        Some(Banner {
            kind: "info",
            text: "Le code a été envoyé.".into(),
        })
    } else {
        None
    };
    render_otp(&state, &token, &headers, StatusCode::OK, banner).await
}

pub(crate) fn csrf_refused() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Formulaire expiré",
        "error",
        "Ce formulaire a expiré ou ne vient pas de cette page. Rechargez la page et recommencez.",
    )
}

async fn otp_code(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, &form) {
        return csrf_refused();
    }
    match otp::send_code(&state, &token).await {
        Ok(()) => harden(
            Redirect::to(&format!("/otp/{token}?sent=1")).into_response(),
            false,
        ),
        Err(e) => otp_error(&state, &token, &headers, &e).await,
    }
}

async fn otp_sign(
    State(state): State<AppState>,
    Path(token): Path<String>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, &form) {
        return csrf_refused();
    }
    let ip = peer
        .map(|Extension(ConnectInfo(a))| a.ip().to_string())
        .unwrap_or_else(|| "inconnue".into());
    let code = form.get("code").map(String::as_str).unwrap_or_default();
    let outcome = otp::submit_code(&state, &token, code, &ip).await;
    otp_done(&state, &token, &headers, outcome, "signed").await
}

async fn otp_refuse(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, &form) {
        return csrf_refused();
    }
    let reason = form.get("reason").map(String::as_str).unwrap_or_default();
    let outcome = otp::refuse(&state, &token, reason).await;
    otp_done(&state, &token, &headers, outcome, "refused").await
}

/// After signing or refusing on the OTP page: back to the client's `referer`, or to the page
/// with `?{flag}=1`; an error shows the page again with its explanation.
async fn otp_done(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    outcome: Result<Option<String>, PageError>,
    flag: &str,
) -> Response {
    match outcome {
        Ok(Some(referer)) => harden(Redirect::to(&referer).into_response(), false),
        Ok(None) => harden(
            Redirect::to(&format!("/otp/{token}?{flag}=1")).into_response(),
            false,
        ),
        Err(e) => otp_error(state, token, headers, &e).await,
    }
}

/// The OTP page again with the error explained (an invalid link says only that).
async fn otp_error(state: &AppState, token: &str, headers: &HeaderMap, e: &PageError) -> Response {
    if matches!(e, PageError::InvalidLink) {
        return invalid_link();
    }
    let (status, text) = explain(e);
    let banner = Banner {
        kind: "error",
        text,
    };
    render_otp(state, token, headers, status, Some(banner)).await
}

async fn otp_document(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, String)>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return invalid_link();
    };
    match otp::document_file(&state, &token, id).await {
        // Shown in the page's preview frame when it is a PDF.
        Ok((name, bytes)) => harden(
            crate::routes::stored::stored_file(
                &name,
                bytes,
                crate::routes::stored::Disposition::PdfPreview,
            ),
            true,
        ),
        Err(e) => page_error(e),
    }
}

async fn public_download(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let gone = || {
        message(
            StatusCode::NOT_FOUND,
            "Lien invalide",
            "error",
            "Ce lien de téléchargement n'est pas valide ou a expiré.",
        )
    };
    if !links::well_formed(&token) {
        return gone();
    }
    let link = match state.db.link(&links::hash(&token)).await {
        Ok(Some(l)) if l.purpose == links::DOWNLOAD && l.expires_at > parapheur_store::now_ms() => {
            l
        }
        Ok(_) => return gone(),
        Err(e) => return page_error(PageError::Failed(e.to_string())),
    };
    let Some(id) = link.document_ids.first().copied() else {
        return gone();
    };
    let doc = match state.db.document(id).await {
        Ok(Some(d)) if d.siren == link.siren && d.purged_at.is_none() => d,
        Ok(_) => {
            return message(
                StatusCode::GONE,
                "Document supprimé",
                "error",
                "Ce document n'est plus disponible.",
            );
        }
        Err(e) => return page_error(PageError::Failed(e.to_string())),
    };
    match crate::routes::fast::download::package(&state, &doc, false, false).await {
        Ok(r) => harden(r, false),
        Err(e) => page_error(PageError::Failed(e.to_string())),
    }
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

pub(crate) fn with_csrf(
    state: &AppState,
    headers: &HeaderMap,
    render: impl FnOnce(&str) -> Response,
) -> Response {
    let (csrf, fresh) = csrf_token(headers);
    let r = render(&csrf);
    if fresh { set_csrf(state, r, &csrf) } else { r }
}

pub(crate) fn rendered(t: askama::Result<String>, status: StatusCode) -> Response {
    match t {
        Ok(b) => html(status, b),
        Err(e) => {
            tracing::error!(error = %e, "page template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "erreur interne").into_response()
        }
    }
}

async fn password_user(
    state: &AppState,
    token: &str,
) -> Option<parapheur_store::accounts::UserRow> {
    let id = crate::service::users::link_user(state, token)
        .await
        .ok()??;
    state.db.user_by_id(id).await.ok()?
}

async fn password_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(user) = password_user(&state, &token).await else {
        return invalid_link();
    };
    with_csrf(&state, &headers, |csrf| {
        rendered(
            PasswordPage {
                token: &token,
                email: &user.email,
                csrf,
                error: None,
            }
            .render(),
            StatusCode::OK,
        )
    })
}

async fn set_password(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, &form) {
        return csrf_refused();
    }
    let Some(user) = password_user(&state, &token).await else {
        return invalid_link();
    };
    let password = form.get("password").cloned().unwrap_or_default();
    let problem = if password.chars().count() < 12 {
        Some("Le mot de passe doit comporter au moins 12 caractères.")
    } else if password.chars().count() > 200 {
        Some("Le mot de passe est trop long (200 caractères au plus).")
    } else if form.get("confirmation") != Some(&password) {
        Some("La confirmation ne correspond pas au mot de passe.")
    } else {
        None
    };
    if let Some(error) = problem {
        return with_csrf(&state, &headers, |csrf| {
            rendered(
                PasswordPage {
                    token: &token,
                    email: &user.email,
                    csrf,
                    error: Some(error),
                }
                .render(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        });
    }
    let hash = match crate::auth::hash_password_limited(&state, password).await {
        Ok(h) => h,
        Err(_) => return page_error(PageError::Failed("hashing".into())),
    };
    if let Err(e) = state.db.set_password(user.id, &hash).await {
        return page_error(PageError::Failed(e.to_string()));
    }
    state.auth.clear();
    tracing::info!(user.id = user.id, "password chosen through a link");
    message(
        StatusCode::OK,
        "Mot de passe enregistré",
        "success",
        "Votre mot de passe est enregistré. Vous pouvez maintenant vous connecter.",
    )
}

async fn forgot_page(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let sent = q.contains_key("envoye");
    with_csrf(&state, &headers, |csrf| {
        rendered(ForgotPage { csrf, sent }.render(), StatusCode::OK)
    })
}

async fn forgot(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, &form) {
        return csrf_refused();
    }
    let email = form.get("email").cloned().unwrap_or_default();
    if let Err(e) = crate::service::users::request_reset(&state, &email).await {
        tracing::error!(error = %e, "password reset request failed");
    }
    harden(
        Redirect::to("/motdepasse/oubli?envoye=1").into_response(),
        false,
    )
}
