//! The document page: file preview, circuit steps, annexes, metadata, comments, history, and
//! the actions the caller may take at the current step.

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
use parapheur_store::portal::{Bannette, ListFilter};
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
    /// Pages rendered as images (empty: the browser's own viewer is used).
    pages: Vec<u32>,
    /// Pages beyond those shown.
    more_pages: u32,
    steps: Vec<StepView>,
    actions: Vec<(&'static str, &'static str, bool)>,
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
    /// The bannette the document was opened from (its slug, empty when none) and the next
    /// document waiting there.
    suivant: &'static str,
    suivant_label: &'static str,
    next: Option<i64>,
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
    let actions = match w.current_kind() {
        Some(kind) if is_member => actions_of(kind),
        Some(_) | None => Vec::new(),
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
        reassign,
        annexes,
        comments,
        history,
        metadata,
    })
}

/// The first document of the caller's bannette `b` other than `id`, in the dashboard's default
/// order (newest deposit first).
async fn next_in(
    state: &AppState,
    caller: &Caller,
    b: Bannette,
    id: i64,
) -> Result<Option<i64>, ApiError> {
    let filter = ListFilter {
        descending: true,
        ..ListFilter::default()
    };
    let (docs, _) = state
        .db
        .bannette(caller.user_id, &access::today(), b, &filter, 0, 2)
        .await?;
    Ok(docs.into_iter().map(|e| e.doc.id).find(|d| *d != id))
}

/// `?suivant=` / the `suivant` field: the bannette a document was opened from.
pub(super) fn bannette_of(v: Option<&String>) -> Option<Bannette> {
    v.and_then(|s| Bannette::from_slug(s))
}

pub(super) async fn render_document(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    id: DocumentId,
    status: StatusCode,
    banner: Option<Banner>,
    from: Option<Bannette>,
) -> Result<Response, PageError> {
    let doc = access::load(state, caller, id)
        .await
        .map_err(|_| PageError::NotFound)?;
    let next = match from {
        Some(b) => next_in(state, caller, b, doc.id).await?,
        None => None,
    };
    let d = details(state, caller, &doc).await?;
    let pdf = shows_pdf(&doc);
    let total = if pdf && preview::available() {
        preview::page_total(state, &doc.blob_key).await
    } else {
        0
    };
    let shown = total.min(preview::MAX_PAGES);
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
            pages: (1..=shown).collect(),
            more_pages: total - shown,
            d: &doc,
            steps: d.steps,
            actions: d.actions,
            reassign: d.reassign,
            annexes: d.annexes,
            metadata: d.metadata,
            comments: d.comments,
            history: d.history,
            message: banner,
            may_replace: d.may_replace,
            may_comment: d.may_comment,
            may_annex: d.may_annex,
            suivant: from.map_or("", Bannette::slug),
            suivant_label: from.map_or("", super::dashboard::label),
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
    let from = bannette_of(q.get("suivant"));
    // `fait` names the document acted on: another one means this is the next of the bannette.
    let banner = q.get("fait").map(|acted| match from {
        Some(b) if acted.as_str() != id.get().to_string() && acted.as_str() != "1" => {
            Banner::success(format!(
                "Action enregistrée. Voici le document suivant de la bannette « {} ».",
                super::dashboard::label(b)
            ))
        }
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
    render_document(&state, &caller, &headers, id, StatusCode::OK, banner, from).await
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
    let from = bannette_of(form.get("suivant"));
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
                from,
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
        Ok(()) => Ok(redirect(&match from {
            Some(b) => match next_in(&state, &caller, b, id.get()).await? {
                Some(next) => format!(
                    "/parapheur/documents/{next}?suivant={}&fait={}",
                    b.slug(),
                    id.get()
                ),
                None => format!(
                    "/parapheur/documents/{}?suivant={}&fait={}",
                    id.get(),
                    b.slug(),
                    id.get()
                ),
            },
            None => format!("/parapheur/documents/{}?fait=1", id.get()),
        })),
        Err(e) => {
            let b = Banner::error(e.user_message());
            render_document(&state, &caller, &headers, id, e.status(), Some(b), from).await
        }
    }
}
