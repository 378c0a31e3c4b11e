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
    act_with(state, caller, id, action, comment, None).await
}

/// How long the data to sign prepared for a card stays signable (the signing time it holds
/// is the one the stamp shows).
const TOKEN_SIGNATURE_WINDOW_S: i64 = 15 * 60;

/// Checks that `chain` is the caller's own certificate: it chains to the trust anchors now,
/// may sign, and names the caller's e-mail.
fn check_token_chain(
    state: &AppState,
    caller: &Caller,
    chain: &[openssl::x509::X509],
) -> Result<(), ApiError> {
    let cert = chain
        .first()
        .ok_or_else(|| ApiError::BadParameter("no certificate given".into()))?;
    parapheur_sign::policy::chains_to(cert, &chain[1..], state.pki.anchors())
        .map_err(|e| ApiError::BadParameter(format!("the certificate is not trusted here: {e}")))?;
    let email = caller.email.to_lowercase();
    let in_san = cert
        .subject_alt_names()
        .into_iter()
        .flatten()
        .filter_map(|n| n.email().map(str::to_lowercase))
        .any(|e| e == email);
    let in_subject = cert
        .subject_name()
        .entries_by_nid(openssl::nid::Nid::PKCS9_EMAILADDRESS)
        .filter_map(|e| e.data().to_string().ok())
        .any(|e| e.to_lowercase() == email);
    if !in_san && !in_subject {
        return Err(ApiError::BadParameter(format!(
            "the certificate does not name {} (subject alternative name or e-mail address)",
            caller.email
        )));
    }
    Ok(())
}

/// The first phase of a signature with the caller's own card: the data to sign for the
/// current signature step of `id` with `chain`, and the signing time it holds (to send back
/// with the value).
pub async fn prepare_token_signature(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
    chain: Vec<openssl::x509::X509>,
    comment: Option<String>,
) -> Result<(Vec<Vec<u8>>, chrono::DateTime<chrono::Utc>), ApiError> {
    let doc = load(state, caller, id).await?;
    let w = workflow(state, &doc).await?;
    let turn = access::turn(state, caller, &doc).await?;
    // The caller may sign now (nothing is recorded).
    w.act_by(turn.turn, Action::Sign, comment.clone())?;
    check_token_chain(state, caller, &chain)?;
    let now = chrono::Utc::now().timestamp();
    let time = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
    let mut signer = signing::SignAs::user(caller, comment.as_deref());
    signer.key = signing::Key::Token(signing::TokenSignature {
        chain,
        values: Vec::new(),
        time,
    });
    Ok((signing::data_to_sign(state, &signer, &doc).await?, time))
}

/// The second phase: the card's signature value over the data of the first phase, embedded
/// (with the timestamps and validation data of the configured level) and the step signed.
pub async fn sign_with_token(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
    comment: Option<String>,
    token: signing::TokenSignature,
) -> Result<(), ApiError> {
    let age = chrono::Utc::now().timestamp() - token.time.timestamp();
    if !(-60..=TOKEN_SIGNATURE_WINDOW_S).contains(&age) {
        return Err(ApiError::BadParameter(
            "signing_time is not that of a preparation of the last 15 minutes: prepare again"
                .into(),
        ));
    }
    check_token_chain(state, caller, &token.chain)?;
    act_with(
        state,
        caller,
        id,
        Action::Sign,
        comment,
        Some(signing::Key::Token(token)),
    )
    .await
}

/// Whether the document's current step is a signature its members make with their own card
/// (`key = "token"` in its circuit): the server then never signs it with a key of its own.
pub async fn needs_card(
    state: &AppState,
    doc: &parapheur_store::documents::DocumentRow,
) -> Result<bool, ApiError> {
    let Some(circuit) = &doc.circuit_id else {
        return Ok(false);
    };
    let Some(c) = state.db.circuit(&doc.siren, circuit).await? else {
        return Ok(false);
    };
    let at = usize::try_from(doc.current_step).unwrap_or(usize::MAX);
    Ok(c.steps
        .get(at)
        .is_some_and(|s| s.own_key && s.kind == parapheur_domain::StepKind::Signature))
}

async fn act_with(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
    action: Action,
    comment: Option<String>,
    key: Option<signing::Key>,
) -> Result<(), ApiError> {
    let doc = load(state, caller, id).await?;
    let w = workflow(state, &doc).await?;
    let turn = access::turn(state, caller, &doc).await?;
    let t = w.act_by(turn.turn, action, comment.clone())?;
    // "Signé" is recorded only with the signed file, written durably beforehand.
    let payload = match action {
        Action::Sign => {
            if key.is_none() && needs_card(state, &doc).await? {
                return Err(ApiError::CardRequired);
            }
            let mut signer = signing::SignAs::user(caller, comment.as_deref());
            if let Some(k) = key {
                signer.key = k;
            }
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
