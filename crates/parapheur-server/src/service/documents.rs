//! Operations on a deposited document: access control, workflow actions, deletion, metadata.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::entries_for;
use crate::service::signing::{self, Signed};
use crate::state::AppState;
use parapheur_domain::metadata::{MetaData, parse_metadata_list};
use parapheur_domain::{Action, DocumentId, DocumentStatus, StepKind, Workflow};
use parapheur_store::documents::{DocumentRow, NewFile, TransitionWrite};

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

/// The workflow view of a stored document.
pub async fn workflow(state: &AppState, doc: &DocumentRow) -> Result<Workflow, ApiError> {
    let steps = state
        .db
        .document_steps(doc.id)
        .await?
        .iter()
        .map(|s| StepKind::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let status = DocumentStatus::parse(&doc.status).ok_or_else(|| {
        anyhow::anyhow!("document {} has an unknown status {:?}", doc.id, doc.status)
    })?;
    Ok(Workflow {
        steps,
        status,
        current_step: usize::try_from(doc.current_step).unwrap_or(0),
    })
}

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
    let expected = match action {
        Action::Visa | Action::Reject => StepKind::Visa,
        Action::Sign | Action::Refuse => StepKind::Signature,
    };
    if w.current_kind() != Some(expected) {
        return Err(ApiError::InvalidState(format!(
            "{}: the document is not waiting for a {} step",
            action.as_str(),
            expected.as_str()
        )));
    }
    if !state
        .db
        .is_step_member(doc.id, doc.current_step, caller.user_id)
        .await?
    {
        return Err(ApiError::NotAStepMember);
    }
    let t = w.act(action, comment.clone())?;
    let effects = crate::service::notify::effects_for(state, &doc, &w.steps, &t).await?;
    // "Signé" is recorded only with the signed file, written durably beforehand.
    let signed = match action {
        Action::Sign => {
            let signer = signing::SignAs::user(caller, comment.as_deref());
            match signing::sign_document(state, &signer, &doc).await {
                Ok(s) => Some(s),
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
        Action::Visa | Action::Reject | Action::Refuse => None,
    };
    commit(
        state,
        &doc,
        signed,
        &t,
        true,
        entries_for(&t.entries, Some(caller.user_id), &caller.full_name),
        effects,
    )
    .await?;
    tracing::info!(
        document.id = doc.id,
        action = action.as_str(),
        "workflow action applied"
    );
    crate::service::automatic::run_logged(state, doc.id).await;
    Ok(())
}

/// Writes a transition, with the signed file it may carry (already durable) and its effects.
/// If the write fails the new file is removed; if it succeeds the previous version is (the
/// signed file contains it unchanged: incremental update), and the job worker is woken.
pub(crate) async fn commit(
    state: &AppState,
    doc: &DocumentRow,
    signed: Option<Signed>,
    t: &parapheur_domain::Transition,
    human_action: bool,
    entries: Vec<parapheur_store::documents::NewEntry>,
    effects: parapheur_store::jobs::Effects,
) -> Result<(), ApiError> {
    let file = |b: &parapheur_store::blob::StoredBlob, filename: &str| NewFile::stored(filename, b);
    let wake = !effects.is_empty();
    let write = TransitionWrite {
        expected_version: doc.version,
        file: match &signed {
            Some(Signed::Replaced(b)) => Some(file(b, &doc.filename)),
            Some(Signed::Detached(..)) | None => None,
        },
        detached: match &signed {
            Some(Signed::Detached(b, name)) => Some(file(b, name)),
            Some(Signed::Replaced(_)) | None => None,
        },
        status: t.status.as_str(),
        current_step: t.current_step as i64,
        human_action,
        entries,
        effects,
    };
    let obsolete = match (state.db.apply_transition(doc.id, &write).await, signed) {
        (Ok(()), Some(Signed::Replaced(_))) => Some(doc.blob_key.clone()),
        (Ok(()), Some(Signed::Detached(..)) | None) => None,
        (Err(e), signed) => {
            let e = ApiError::from(e);
            if let Some(s) = signed {
                crate::service::discard_uncommitted(state, &e, vec![s.blob().key.clone()]).await;
            }
            return Err(e);
        }
    };
    if wake {
        state.wake_jobs();
    }
    if let Some(Err(e)) = obsolete.map(|old| state.blobs.delete(&old)) {
        tracing::warn!(document.id = doc.id, error = %e, "previous file version could not be removed");
    }
    Ok(())
}

/// Deletes a document (depositor or subscriber administrator; allowed states only).
pub async fn delete(state: &AppState, caller: &Caller, id: DocumentId) -> Result<(), ApiError> {
    let doc = load(state, caller, id).await?;
    if doc.depositor_id != caller.user_id && !caller.is_admin(&doc.siren) {
        return Err(ApiError::Forbidden);
    }
    let w = workflow(state, &doc).await?;
    if !w.can_delete(doc.acted != 0) {
        return Err(ApiError::NotDeletable);
    }
    let keys = state.db.delete_document(doc.id, doc.version).await?;
    let blobs = state.blobs.clone();
    let res =
        tokio::task::spawn_blocking(move || keys.iter().try_for_each(|k| blobs.delete(k))).await;
    if let Ok(Err(e)) = res {
        tracing::warn!(document.id = doc.id, error = %e, "document deleted but a blob could not be removed");
    }
    tracing::info!(document.id = doc.id, "document deleted");
    Ok(())
}

/// Defines the metadata of a document whose circuit has a metadata-definition step.
pub async fn define_metadata(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
    xml: &[u8],
) -> Result<(), ApiError> {
    let doc = load(state, caller, id).await?;
    let items: Vec<MetaData> = parse_metadata_list(xml)?;
    if doc.metadata_required == 0 {
        return Err(ApiError::InvalidMetadata(
            "this document's circuit has no metadata-definition step".into(),
        ));
    }
    let w = workflow(state, &doc).await?;
    let t = w.define_metadata()?;
    let effects = crate::service::notify::effects_for(state, &doc, &w.steps, &t).await?;
    let wake = !effects.is_empty();
    let pairs: Vec<(String, String)> = items.into_iter().map(|m| (m.name, m.value)).collect();
    state
        .db
        .define_metadata(
            doc.id,
            &pairs,
            &TransitionWrite {
                expected_version: doc.version,
                file: None,
                detached: None,
                status: t.status.as_str(),
                current_step: t.current_step as i64,
                human_action: false,
                entries: entries_for(&t.entries, Some(caller.user_id), &caller.full_name),
                effects,
            },
        )
        .await?;
    if wake {
        state.wake_jobs();
    }
    crate::service::automatic::run_logged(state, doc.id).await;
    Ok(())
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
        Some(s) if caller.is_member(&s.siren) => Ok(s),
        _ => Err(ApiError::InvalidDocId),
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
