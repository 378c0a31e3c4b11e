//! The document page: file preview, circuit steps, annexes, metadata, comments, history, and
//! the actions the caller may take at the current step.

use super::list::ListContext;
use super::{shows_pdf, signed_in, state_fr};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::html::{Banner, PageError, redirect, rendered, require_csrf, with_csrf};
use crate::service::annexes::{self, Annex};
use crate::service::{access, documents, human_date, preview};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parapheur_domain::{Action, DocumentId, DocumentStatus, StepKind};
use parapheur_store::documents::DocumentRow;
use std::collections::HashMap;

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
    d: &'a DocumentRow,
    circuit: String,
    state: &'static str,
    pdf: bool,
    /// Pages rendered as images, with the size of each (number, width, height in pixels); empty:
    /// the browser's own viewer is used.
    pages: Vec<(u32, u32, u32)>,
    /// Pages beyond those shown.
    more_pages: u32,
    steps: Vec<StepView>,
    actions: Vec<(&'static str, &'static str, bool)>,
    /// The step is signed with the member's own card: how to do it with `parapheur-agent`.
    card_command: Option<String>,
    /// An administrator may reassign the current visa or signature step (CONTRACT §10).
    reassign: bool,
    annexes: Vec<Annex>,
    /// The document's metadata (name, value), as `metadata/define` recorded them.
    metadata: Vec<(String, String)>,
    comments: Vec<String>,
    history: Vec<(String, String, String, String)>,
    message: Option<Banner>,
    /// Forms offered to the caller: replace the main file, comment, add an annex.
    may_replace: bool,
    may_comment: bool,
    may_annex: bool,
    /// The list the document was opened from: the way back to it (address, bannette name), the
    /// hidden fields that keep it through the forms, and the next document of the list.
    back: Option<(String, &'static str)>,
    list_fields: Vec<(&'static str, String)>,
    next: Option<String>,
}

/// The buttons of a step for one of its members: (action, label, asks for a reason).
fn actions_of(kind: StepKind) -> Vec<(&'static str, &'static str, bool)> {
    match kind {
        StepKind::Visa => vec![("visa", "Viser", false), ("reject", "Rejeter", true)],
        StepKind::Signature => vec![("sign", "Signer", false), ("refuse", "Refuser", true)],
        StepKind::OtpSignature
        | StepKind::ServerSignature
        | StepKind::Verification
        | StepKind::Archive
        | StepKind::Deliver
        | StepKind::Transmission => Vec::new(),
    }
}

/// Everything the page shows besides the document row.
struct Details {
    steps: Vec<StepView>,
    actions: Vec<(&'static str, &'static str, bool)>,
    card_command: Option<String>,
    reassign: bool,
    annexes: Vec<Annex>,
    comments: Vec<String>,
    history: Vec<(String, String, String, String)>,
    metadata: Vec<(String, String)>,
    may_replace: bool,
    may_comment: bool,
    may_annex: bool,
}

async fn details(
    state: &AppState,
    caller: &Caller,
    doc: &DocumentRow,
) -> Result<Details, ApiError> {
    let w = access::workflow(state, doc).await?;
    let members = state.db.document_step_members(doc.id).await?;
    let w_rules = state.db.document_step_rules(doc.id).await?;
    let current = w.current_kind().map(|_| w.current_step);
    let steps = w
        .steps
        .iter()
        .enumerate()
        .map(|(i, k)| StepView {
            label: k.label_fr(),
            members: members
                .iter()
                .filter(|m| usize::try_from(m.idx).ok() == Some(i))
                .map(|m| {
                    // On a step where every member acts, who has and has not acted yet.
                    if w_rules.get(i) == Some(&parapheur_domain::StepRule::All) {
                        let mark = if m.acted { "a agi" } else { "en attente" };
                        format!("{} ({mark})", m.name)
                    } else {
                        m.name.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
            current: current == Some(i),
        })
        .collect();
    let is_member = access::is_step_member(state, caller, doc).await?;
    let mut actions = match w.current_kind() {
        Some(kind) if is_member => actions_of(kind),
        Some(_) | None => Vec::new(),
    };
    // A step signed with the member's own card: the server cannot sign it, the agent does.
    let card_command = if is_member
        && w.current_kind() == Some(StepKind::Signature)
        && crate::service::documents::needs_card(state, doc).await?
    {
        actions.retain(|a| a.0 != "sign");
        Some(format!(
            "parapheur-agent sign --server {} --user {} --password-env PARAPHEUR_MOT_DE_PASSE \
             --pkcs11-module <module PKCS#11 de la carte> --pin-env CARTE_PIN --document {}",
            state.cfg.public_url.trim_end_matches('/'),
            caller.email,
            doc.id
        ))
    } else {
        None
    };
    let reassign = caller.is_admin(&doc.siren)
        && matches!(w.current_kind(), Some(StepKind::Visa | StepKind::Signature));
    let annexes = annexes::of_document(state, doc.id).await?;
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
    // As `service::lifecycle` decides: the depositor or an administrator replaces the file
    // while nobody has acted; participants comment, and add annexes until it is classified.
    let held = doc.purged_at.is_none();
    let may_replace =
        held && access::may_manage(caller, doc).is_ok() && w.replaced(doc.acted).is_ok();
    let may_comment = access::participates(state, caller, doc).await?;
    let may_annex = may_comment && held && doc.status != DocumentStatus::Classified;
    Ok(Details {
        may_replace,
        may_comment,
        may_annex,
        steps,
        actions,
        card_command,
        reassign,
        annexes,
        comments,
        history,
        metadata,
    })
}

/// The first document of the caller's list other than `id`, in the list's order and search.
async fn next_in(
    state: &AppState,
    caller: &Caller,
    list: &ListContext,
    id: i64,
) -> Result<Option<i64>, ApiError> {
    let today = access::today();
    let (docs, _) = state
        .db
        .bannette(
            &caller.viewer(&today),
            list.bannette,
            &list.filter,
            parapheur_store::portal::Page {
                offset: 0,
                limit: 2,
                // Not used.
                total: parapheur_store::portal::Total::Known(0),
            },
        )
        .await?;
    Ok(docs.into_iter().map(|e| e.doc.id).find(|d| *d != id))
}

pub(super) async fn render_document(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    id: DocumentId,
    status: StatusCode,
    banner: Option<Banner>,
    from: Option<&ListContext>,
) -> Result<Response, PageError> {
    let doc = access::load(state, caller, id)
        .await
        .map_err(|_| PageError::NotFound)?;
    let next = match from {
        Some(list) => next_in(state, caller, list, doc.id)
            .await?
            .map(|n| list.document_link(n)),
        None => None,
    };
    let d = details(state, caller, &doc).await?;
    let pdf = shows_pdf(&doc);
    let layout = if pdf && preview::available() {
        preview::stored_layout(state, &doc.blob_key).await
    } else {
        std::sync::Arc::default()
    };
    let pages: Vec<(u32, u32, u32)> = (1..)
        .zip(&layout.sizes)
        .map(|(n, &(w, h))| (n, w, h))
        .collect();
    let shown = u32::try_from(pages.len()).unwrap_or(u32::MAX);
    with_csrf(state, headers, |csrf| {
        let page = DocumentPage {
            user_name: &caller.full_name,
            csrf,
            circuit: doc
                .circuit_id
                .clone()
                .unwrap_or_else(|| "à la demande".into()),
            state: state_fr(doc.status),
            pdf,
            pages,
            more_pages: layout.total.saturating_sub(shown),
            d: &doc,
            steps: d.steps,
            actions: d.actions,
            card_command: d.card_command,
            reassign: d.reassign,
            annexes: d.annexes,
            metadata: d.metadata,
            comments: d.comments,
            history: d.history,
            message: banner,
            may_replace: d.may_replace,
            may_comment: d.may_comment,
            may_annex: d.may_annex,
            back: from.map(|l| (l.dashboard_link(1), super::dashboard::label(l.bannette))),
            list_fields: from.map(ListContext::fields).unwrap_or_default(),
            next,
        };
        rendered(page.render(), status)
    })
}

pub(super) async fn document_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let caller = signed_in(&state, &headers, format!("/parapheur/documents/{id}")).await?;
    let id = DocumentId::parse(&id).map_err(|_| PageError::NotFound)?;
    let from = ListContext::from_params(|k| q.get(k).cloned());
    // `fait` names the document acted on: another one means this is the next of the bannette.
    let banner = q
        .get("fait")
        .map(|acted| match from.as_ref().map(|l| l.bannette) {
            Some(b) if acted.as_str() != id.get().to_string() && acted.as_str() != "1" => {
                Banner::success(format!(
                    "Action enregistrée. Voici le document suivant de la bannette « {} ».",
                    super::dashboard::label(b)
                ))
            }
            Some(_) | None if q.contains_key("invitation") => Banner::success(
                "Action enregistrée. Le lien de signature a été envoyé au signataire par code.",
            ),
            Some(_) | None => Banner::success("Action enregistrée."),
        });
    let banner = banner.or_else(|| {
        q.get("ok").and_then(|what| match what.as_str() {
            "remplacement" => Some(Banner::success(
                "Document remplacé : le circuit recommence à sa première étape.",
            )),
            "commentaire" => Some(Banner::success("Commentaire ajouté.")),
            "annexe" => Some(Banner::success("Annexe ajoutée.")),
            _ => None,
        })
    });
    render_document(
        &state,
        &caller,
        &headers,
        id,
        StatusCode::OK,
        banner,
        from.as_ref(),
    )
    .await
}

pub(super) async fn act(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&headers, &form)?;
    let caller = signed_in(&state, &headers, format!("/parapheur/documents/{id}")).await?;
    let id = DocumentId::parse(&id).map_err(|_| PageError::NotFound)?;
    let from = ListContext::from_params(|k| form.get(k).cloned());
    let action = match form.get("action").map(String::as_str) {
        Some("visa") => Action::Visa,
        Some("reject") => Action::Reject,
        Some("sign") => Action::Sign,
        Some("refuse") => Action::Refuse,
        _ => {
            let b = Banner::error("Action inconnue.");
            return render_document(
                &state,
                &caller,
                &headers,
                id,
                StatusCode::BAD_REQUEST,
                Some(b),
                from.as_ref(),
            )
            .await;
        }
    };
    let comment = form
        .get("comment")
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    match documents::act(&state, &caller, id, action, comment).await {
        // Opened from a bannette: on to its next document, if any.
        Ok(()) => Ok(redirect(&match &from {
            Some(list) => {
                let shown = next_in(&state, &caller, list, id.get())
                    .await?
                    .unwrap_or(id.get());
                format!("{}&fait={}", list.document_link(shown), id.get())
            }
            None => format!("/parapheur/documents/{}?fait=1", id.get()),
        })),
        Err(e) => {
            let b = Banner::error(e.user_message());
            render_document(
                &state,
                &caller,
                &headers,
                id,
                e.status(),
                Some(b),
                from.as_ref(),
            )
            .await
        }
    }
}
