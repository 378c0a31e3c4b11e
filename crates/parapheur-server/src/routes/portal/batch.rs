//! Batch signing from the "à signer" bannette (starting a batch and following its progress),
//! and batch visa from the "à viser" bannette (done at once, each outcome shown).

use super::signed_in;
use crate::error::ApiError;
use crate::routes::html::{PageError, redirect, rendered, require_csrf, with_csrf};
use crate::service::{access, documents, links};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parapheur_domain::{Action, DocumentId};
use std::collections::HashMap;

const TO_SIGN: &str = "/parapheur/?bannette=a-signer";
const TO_APPROVE: &str = "/parapheur/?bannette=a-viser";

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

/// Checks the CSRF token of a form whose fields repeat (`id` once per selected document).
fn require_csrf_in(headers: &HeaderMap, fields: &[(String, String)]) -> Result<(), PageError> {
    let map: HashMap<String, String> = fields
        .iter()
        .filter(|(k, _)| k == "csrf")
        .cloned()
        .collect();
    require_csrf(headers, &map)
}

/// The documents ticked in a list form (repeated `id` fields; unreadable ones ignored).
fn selected(fields: &[(String, String)]) -> impl Iterator<Item = DocumentId> + '_ {
    fields
        .iter()
        .filter(|(k, _)| k == "id")
        .filter_map(|(_, v)| DocumentId::parse(v).ok())
}

/// Records the selected documents as a batch signed by the job queue, then shows its progress.
pub(super) async fn sign_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    require_csrf_in(&headers, &fields)?;
    let caller = signed_in(&state, &headers, TO_SIGN).await?;
    let ids: Vec<DocumentId> = selected(&fields).collect();
    match crate::service::batch_sign::start(&state, &caller, &ids).await {
        Ok(batch) => Ok(redirect(&format!("/parapheur/lots/{batch}"))),
        Err(ApiError::BadParameter(_)) => Err(PageError::Refused {
            status: StatusCode::BAD_REQUEST,
            title: "Signature par lot",
            text: "Sélectionnez au moins un document à signer.".into(),
        }),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "portal/batch_visa.html")]
struct VisaBatchPage<'a> {
    user_name: &'a str,
    csrf: &'a str,
    /// (document id, file name, outcome, approved)
    results: Vec<(i64, String, String, bool)>,
    approved: usize,
}

/// Approves the selected documents one after the other (a visa is no signature: no job), then
/// shows how each went.
pub(super) async fn approve_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    require_csrf_in(&headers, &fields)?;
    let caller = signed_in(&state, &headers, TO_APPROVE).await?;
    let ids: Vec<DocumentId> = selected(&fields)
        .take(crate::service::batch_sign::MAX_BATCH)
        .collect();
    if ids.is_empty() {
        return Err(PageError::Refused {
            status: StatusCode::BAD_REQUEST,
            title: "Visa par lot",
            text: "Sélectionnez au moins un document à viser.".into(),
        });
    }
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        // Documents the caller cannot see are left out, as in a batch signature.
        let Ok(doc) = access::load(&state, &caller, id).await else {
            continue;
        };
        let outcome = documents::act(&state, &caller, id, Action::Visa, None).await;
        let (text, done) = match outcome {
            Ok(()) => ("Visé".to_owned(), true),
            Err(ApiError::Internal(e)) => {
                tracing::error!(document.id = doc.id, error = %e, "batch visa failed");
                ("Erreur interne : réessayez plus tard.".to_owned(), false)
            }
            Err(e) => (e.user_message().to_owned(), false),
        };
        results.push((doc.id, doc.filename, text, done));
    }
    let approved = results.iter().filter(|r| r.3).count();
    with_csrf(&state, &headers, |csrf| {
        rendered(
            VisaBatchPage {
                user_name: &caller.full_name,
                csrf,
                results,
                approved,
            }
            .render(),
            StatusCode::OK,
        )
    })
}

/// The progress of a batch: refreshed every second while documents remain.
pub(super) async fn batch_page(
    State(state): State<AppState>,
    Path(batch): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let caller = signed_in(&state, &headers, TO_SIGN).await?;
    if !links::well_formed(&batch) {
        return Err(PageError::NotFound);
    }
    let items = state.db.batch_items(&batch, Some(caller.user_id)).await?;
    if items.is_empty() {
        return Err(PageError::NotFound);
    }
    let processed = items.iter().filter(|i| i.outcome.is_some()).count();
    let signed = items.iter().filter(|i| i.signed != 0).count();
    with_csrf(&state, &headers, |csrf| {
        rendered(
            BatchPage {
                user_name: &caller.full_name,
                csrf,
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
        )
    })
}
