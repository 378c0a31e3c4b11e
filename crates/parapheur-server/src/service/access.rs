//! The one place that answers "may this caller see or act on this document or subscriber".

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use parapheur_domain::{DocumentId, Siren, Workflow};
use parapheur_store::documents::DocumentRow;

/// Loads a document the caller may see. Unknown ids and documents of another subscriber are
/// indistinguishable: both are `InvalidDocId`.
pub async fn load(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
) -> Result<DocumentRow, ApiError> {
    let doc = state
        .db
        .document(id.get())
        .await?
        .ok_or(ApiError::InvalidDocId)?;
    if !caller.is_member(&doc.siren) {
        return Err(ApiError::InvalidDocId);
    }
    Ok(doc)
}

/// Cheaper check for read routes that need only the subscriber.
pub async fn authorize_read(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
) -> Result<(), ApiError> {
    match state.db.document_siren(id.get()).await? {
        Some(siren) if caller.is_member(&siren) => Ok(()),
        _ => Err(ApiError::InvalidDocId),
    }
}

/// Checks that the caller may deposit into `siren` (111 unknown subscriber, 100 not a member).
pub async fn authorize_subscriber(
    state: &AppState,
    caller: &Caller,
    siren: &Siren,
) -> Result<(), ApiError> {
    if !caller.is_member(siren.as_str()) {
        return Err(if state.db.subscriber_exists(siren.as_str()).await? {
            ApiError::Forbidden
        } else {
            ApiError::SubscriberNotFound
        });
    }
    Ok(())
}

/// Whether the caller takes part in the document: its depositor, a member of one of its steps,
/// one of its agents, or an administrator of its subscriber.
pub async fn participates(
    state: &AppState,
    caller: &Caller,
    doc: &DocumentRow,
) -> Result<bool, ApiError> {
    if doc.depositor_id == caller.user_id || caller.is_admin(&doc.siren) {
        return Ok(true);
    }
    if doc
        .agents
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&caller.email))
    {
        return Ok(true);
    }
    Ok(state
        .db
        .document_step_members(doc.id)
        .await?
        .iter()
        .any(|(_, _, email)| email.eq_ignore_ascii_case(&caller.email)))
}

/// The depositor or an administrator of the document's subscriber (replace, delete, interrupt).
pub fn may_manage(caller: &Caller, doc: &DocumentRow) -> Result<(), ApiError> {
    if doc.depositor_id == caller.user_id || caller.is_admin(&doc.siren) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Whether the caller is a member of the step the document waits at.
pub async fn is_step_member(
    state: &AppState,
    caller: &Caller,
    doc: &DocumentRow,
) -> Result<bool, ApiError> {
    Ok(state
        .db
        .is_step_member(doc.id, doc.current_step, caller.user_id)
        .await?)
}

/// The workflow view of a stored document.
pub async fn workflow(state: &AppState, doc: &DocumentRow) -> Result<Workflow, ApiError> {
    Ok(Workflow {
        steps: state.db.document_steps(doc.id).await?,
        status: doc.status,
        current_step: usize::try_from(doc.current_step).unwrap_or(0),
    })
}
