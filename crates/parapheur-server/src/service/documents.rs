//! Operations on a deposited document: workflow actions, deletion, metadata, history.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::access::{self, authorize_read, load, workflow};
use crate::service::signing;
use crate::service::transition::{self, By, Change, Payload};
use crate::state::AppState;
use parapheur_domain::metadata::{MetaData, parse_metadata_list};
use parapheur_domain::{Action, DocumentId};

/// A member of the current step approves, rejects, signs or refuses.
pub async fn act(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
    action: Action,
    comment: Option<String>,
) -> Result<(), ApiError> {
    let doc = load(state, caller, id).await?;
    let w = workflow(state, &doc).await?;
    let turn = access::turn(state, caller, &doc).await?;
    let t = w.act_by(turn.turn, action, comment.clone())?;
    // "Signé" is recorded only with the signed file, written durably beforehand.
    let payload = match action {
        Action::Sign => {
            let signer = signing::SignAs::user(caller, comment.as_deref());
            match signing::sign_document(state, &signer, &doc).await {
                Ok(s) => Payload::Signed(s),
                // Another request (on this instance or another) committed first and removed
                // the version this one read: a conflict, not a failure.
                Err(e) => {
                    let changed = state
                        .db
                        .document(doc.id)
                        .await?
                        .is_none_or(|now| now.version != doc.version);
                    return Err(if changed { ApiError::Conflict } else { e });
                }
            }
        }
        Action::Visa | Action::Reject | Action::Refuse => Payload::Nothing,
    };
    let mut change = Change::by(By::User {
        id: caller.user_id,
        name: turn.history_name(caller),
    })
    .with(payload)
    .human();
    change.acted_member = turn.member.as_ref().map(|(m, _)| (doc.current_step, *m));
    transition::apply(state, &doc, &w.steps, &t, change).await?;
    tracing::info!(
        document.id = doc.id,
        action = action.as_str(),
        "workflow action applied"
    );
    Ok(())
}

/// Deletes a document (depositor or subscriber administrator; allowed states only).
pub async fn delete(state: &AppState, caller: &Caller, id: DocumentId) -> Result<(), ApiError> {
    let doc = load(state, caller, id).await?;
    access::may_manage(caller, &doc)?;
    let w = workflow(state, &doc).await?;
    if !w.can_delete(doc.acted) {
        return Err(ApiError::NotDeletable);
    }
    let keys = state.db.delete_document(doc.id, doc.version).await?;
    for (key, e) in state.blobs.delete_all(&keys).await {
        tracing::warn!(document.id = doc.id, blob = %key, error = %e, "document deleted but a blob could not be removed");
    }
    tracing::info!(document.id = doc.id, "document deleted");
    Ok(())
}

/// Defines the metadata of a document whose circuit has a metadata-definition, OTP or delivery
/// (Digiposte) step.
pub async fn define_metadata(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
    xml: &[u8],
) -> Result<(), ApiError> {
    let doc = load(state, caller, id).await?;
    let items: Vec<MetaData> = parse_metadata_list(xml)?;
    let w = workflow(state, &doc).await?;
    // FAST: metadata need a metadata-definition step, an OTP step or a Digiposte step.
    if !doc.metadata_required && !w.steps.iter().any(|k| k.accepts_metadata()) {
        return Err(ApiError::InvalidMetadata(
            "this document's circuit has no metadata-definition, OTP or delivery step".into(),
        ));
    }
    let t = w.define_metadata()?;
    let pairs: Vec<(String, String)> = items.into_iter().map(|m| (m.name, m.value)).collect();
    let change = Change::by(By::caller(caller)).with(Payload::Metadata(pairs));
    transition::apply(state, &doc, &w.steps, &t, change).await
}

/// The reason given by the last refusal or visa disapproval.
/// The (cached) history of a document the caller may read (another subscriber's: "Invalid
/// docId").
pub async fn history(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
) -> Result<std::sync::Arc<parapheur_store::history_cache::HistorySnapshot>, ApiError> {
    match state.db.history_with_siren(id.get()).await? {
        Some(s) => {
            access::authorize_read_in(state, caller, id, &s.siren).await?;
            Ok(s)
        }
        None => Err(ApiError::InvalidDocId),
    }
}

pub async fn refusal_comment(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
) -> Result<String, ApiError> {
    authorize_read(state, caller, id).await?;
    let history = state.db.history(id.get()).await?;
    history
        .iter()
        .rev()
        .find(|h| h.state_name.starts_with("Refusé") || h.state_name == "Visa désapprouvé")
        .and_then(|h| h.comment.clone())
        .ok_or(ApiError::NothingToReturn)
}
