//! Depositing a document (with annexes) into one of the caller's provisioned circuits.

use super::signed_in;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::files::Upload;
use crate::routes::form::Form;
use crate::routes::html::{PageError, redirect, rendered, require_csrf, with_csrf};
use crate::service::circuits;
use crate::service::deposit::{CircuitSource, DepositRequest};
use crate::state::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parapheur_domain::{CircuitId, DocumentId, FileName, Siren};
use std::collections::HashMap;

#[derive(Template)]
#[template(path = "portal/deposit.html")]
struct DepositPage<'a> {
    user_name: &'a str,
    csrf: &'a str,
    circuits: Vec<(String, String)>,
    error: Option<&'a str>,
}

async fn render_deposit(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let circuits = circuits::depositable(state, caller).await?;
    with_csrf(state, headers, |csrf| {
        rendered(
            DepositPage {
                user_name: &caller.full_name,
                csrf,
                circuits,
                error,
            }
            .render(),
            status,
        )
    })
}

pub(super) async fn deposit_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let caller = signed_in(&state, &headers, "/parapheur/deposer").await?;
    render_deposit(&state, &caller, &headers, StatusCode::OK, None).await
}

/// The deposit the form describes.
fn request(form: &Form) -> Result<DepositRequest, ApiError> {
    let text = |name: &str| form.text(name).unwrap_or_default();
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
            Some(n) if !n.is_empty() && !p.bytes.is_empty() => annexes.push(Upload {
                name: FileName::parse(n)?,
                bytes: p.bytes.clone(),
            }),
            _ => {}
        }
    }
    Ok(DepositRequest {
        siren: Siren::parse(siren)?,
        circuit: CircuitSource::Provisioned(CircuitId::parse(circuit)?),
        file,
        annexes,
        label: text("label"),
        comment: text("comment"),
        email_to: Vec::new(),
        email_cc: Vec::new(),
        agents: Vec::new(),
        pictograms: None,
        otp: None,
        deadline: text("date_limite"),
    })
}

pub(super) async fn deposit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let caller = signed_in(&state, &headers, "/parapheur/deposer").await?;
    let form = match Form::read(&headers, body, state.cfg.max_upload_bytes).await {
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
    let mut check = HashMap::new();
    check.insert("csrf".to_owned(), form.text("csrf").unwrap_or_default());
    require_csrf(&headers, &check)?;
    let done = match request(&form) {
        Ok(req) => crate::service::deposit::deposit(&state, &caller, req).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(id) => Ok(done_page(id)),
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

fn done_page(id: DocumentId) -> Response {
    redirect(&format!("/parapheur/documents/{}?fait=1", id.get()))
}
