//! Automatic steps run by the parapheur itself: today the signature verification step, which
//! records "Signature validée" and moves on, or "signature rejetée" and stops the circuit.
//! They run right after the transition that reaches them, and again at start-up for documents
//! a crash left waiting there.

use crate::error::ApiError;
use crate::state::AppState;
use parapheur_domain::{CircuitType, StepKind};
use parapheur_sign::verify::verify_pdf;
use parapheur_sign::xmlverify::{verify_pes, verify_xades_detached};
use parapheur_store::StoreError;
use parapheur_store::documents::{DocumentRow, TransitionWrite};

/// Verifies every signature of the document's current file against the trust anchors.
/// Returns whether all are valid, and a summary for the history comment.
async fn verify_document(state: &AppState, doc: &DocumentRow) -> Result<(bool, String), ApiError> {
    let ctype = CircuitType::parse(&doc.circuit_type)?;
    let detached = match ctype {
        CircuitType::BureautiqueXml => state.db.detached_signatures(doc.id).await?,
        CircuitType::BureautiquePdf
        | CircuitType::HeliosAvecTeletransmission
        | CircuitType::HeliosSansTeletransmission => Vec::new(),
    };
    let (st, key) = (state.clone(), doc.blob_key.clone());
    tokio::task::spawn_blocking(move || -> Result<(bool, String), ApiError> {
        let anchors = st.pki.anchors();
        let file = st.blobs.get(&key)?;
        let summarize = |valid: bool, n: usize, errors: Vec<String>| {
            let text = if valid {
                format!("{n} signature(s) valide(s)")
            } else if n == 0 {
                "aucune signature".to_owned()
            } else {
                errors.join("; ")
            };
            (valid && n > 0, text)
        };
        Ok(match ctype {
            CircuitType::BureautiquePdf => {
                let r = verify_pdf(&file, anchors).map_err(|e| ApiError::Internal(e.into()))?;
                let errors = r
                    .signatures
                    .iter()
                    .flat_map(|s| s.errors.iter().map(|e| format!("{}: {e}", s.field)))
                    .collect();
                summarize(r.valid, r.signatures.len(), errors)
            }
            CircuitType::HeliosAvecTeletransmission | CircuitType::HeliosSansTeletransmission => {
                let r = verify_pes(&file, anchors);
                let errors = r
                    .signatures
                    .iter()
                    .flat_map(|s| s.errors.clone())
                    .chain(r.errors.clone())
                    .collect();
                summarize(r.valid, r.signatures.len(), errors)
            }
            CircuitType::BureautiqueXml => {
                let mut all_valid = true;
                let mut errors = Vec::new();
                for sig in &detached {
                    let r = verify_xades_detached(&st.blobs.get(&sig.blob_key)?, &file, anchors);
                    all_valid &= r.valid;
                    errors.extend(
                        r.signatures
                            .iter()
                            .flat_map(|s| s.errors.clone())
                            .chain(r.errors.clone()),
                    );
                }
                summarize(all_valid, detached.len(), errors)
            }
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
}

/// Runs the automatic steps the document waits at, one after the other.
pub async fn run(state: &AppState, id: i64) -> Result<(), ApiError> {
    loop {
        let Some(doc) = state.db.document(id).await? else {
            return Ok(());
        };
        let w = crate::service::documents::workflow(state, &doc).await?;
        match w.current_kind() {
            Some(StepKind::Verification) => {}
            Some(
                StepKind::Visa
                | StepKind::Signature
                | StepKind::OtpSignature
                | StepKind::ServerSignature
                | StepKind::Archive
                | StepKind::Transmission,
            )
            | None => return Ok(()),
        }
        let (ok, detail) = verify_document(state, &doc).await?;
        let t = w.verified(ok, Some(detail))?;
        let effects = crate::service::notify::effects_for(state, &doc, &w.steps, &t).await?;
        let wake = !effects.is_empty();
        let write = TransitionWrite {
            expected_version: doc.version,
            file: None,
            detached: None,
            status: t.status.as_str(),
            current_step: t.current_step as i64,
            human_action: false,
            entries: crate::service::entries_for(&t.entries, None, ""),
            effects,
        };
        match state.db.apply_transition(doc.id, &write).await {
            Ok(()) => {
                if wake {
                    state.wake_jobs();
                }
                tracing::info!(
                    document.id = doc.id,
                    valid = ok,
                    "signature verification step done"
                );
            }
            // Another instance ran it meanwhile: look again.
            Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Runs the automatic steps after a committed change; a failure is logged, not returned: the
/// change stands, and the step is retried at the next start.
pub async fn run_logged(state: &AppState, id: i64) {
    if let Err(e) = run(state, id).await {
        tracing::error!(document.id = id, error = %e, "automatic step failed; it will be retried at start-up");
    }
}

/// Runs automatic steps left pending by a crash (called at start-up).
pub async fn recover(state: &AppState) {
    match state
        .db
        .documents_at_step(StepKind::Verification.as_str())
        .await
    {
        Ok(ids) => {
            for id in ids {
                if let Err(e) = run(state, id).await {
                    tracing::error!(document.id = id, error = %e, "automatic step failed at start-up");
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot list documents waiting at automatic steps"),
    }
}
