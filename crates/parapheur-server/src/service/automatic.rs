//! Automatic steps run by the parapheur itself: `verification` ("Signature validée" and on, or
//! "signature rejetée" which stops the circuit), `serverSignature` (the subscriber's seal signs:
//! "Signé" by the seal's name) and `archive` (deposit into the vault: "Archivé"). They run right
//! after the commit of the transition that reaches them; that transition also enqueues a
//! delayed job which runs them if the process died first (and finds nothing to do otherwise).

use crate::error::ApiError;
use crate::jobs::{DeliveryJob, Job};
use crate::service::commit::{By, Change, Payload};
use crate::service::signing::{Key, SignAs};
use crate::state::AppState;
use parapheur_domain::{CircuitType, StepKind};
use parapheur_sign::verify::verify_pdf;
use parapheur_sign::xmlverify::{verify_pes, verify_xades_detached};
use parapheur_store::documents::DocumentRow;
use parapheur_store::jobs::Effects;

/// Verifies every signature of the document's current file against the trust anchors (with
/// the CRLs of trusted signers fetched online when the file had nothing about them). Returns
/// whether all are valid, and a summary for the history comment.
async fn verify_document(state: &AppState, doc: &DocumentRow) -> Result<(bool, String), ApiError> {
    let detached = match doc.circuit_type {
        CircuitType::BureautiqueXml => state.db.detached_signatures(doc.id).await?,
        CircuitType::BureautiquePdf
        | CircuitType::HeliosAvecTeletransmission
        | CircuitType::HeliosSansTeletransmission => Vec::new(),
    };
    let file = state.blobs.get(&doc.blob_key).await?;
    let mut signatures = Vec::with_capacity(detached.len());
    for sig in &detached {
        signatures.push(state.blobs.get(&sig.blob_key).await?);
    }
    let crl = crate::service::revocation::crl(state).await?;
    let signed = std::sync::Arc::new((file, signatures));
    crate::service::online_revocation::judged(state, |others| {
        judge(state, doc.circuit_type, signed.clone(), &crl, others)
    })
    .await
}

/// The verdict on the file and its detached signatures (`signed`) with the internal CA's CRL
/// and `others`, and the CRL URLs of trusted signers nothing was known about.
async fn judge(
    state: &AppState,
    ctype: CircuitType,
    signed: std::sync::Arc<(Vec<u8>, Vec<Vec<u8>>)>,
    crl: &[u8],
    others: Vec<Vec<u8>>,
) -> Result<((bool, String), Vec<String>), ApiError> {
    let st = state.clone();
    let crl = crl.to_vec();
    tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let (file, signatures) = signed.as_ref();
        let ctx = &st
            .pki
            .validation_with_crls(&crl, &others)
            .map_err(|e| ApiError::Internal(e.into()))?;
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
        let mut urls = Vec::new();
        let verdict = match ctype {
            CircuitType::BureautiquePdf => {
                let r = verify_pdf(file, ctx).map_err(|e| ApiError::Internal(e.into()))?;
                urls.extend(r.signatures.iter().flat_map(|s| s.revocation_urls.clone()));
                if r.valid {
                    let (valid, text) = summarize(true, r.signatures.len(), Vec::new());
                    (valid, format!("{text} ({})", r.indication.as_str()))
                } else {
                    let errors = r
                        .signatures
                        .iter()
                        .flat_map(|s| s.errors.iter().map(|e| format!("{}: {e}", s.field)))
                        .collect();
                    summarize(r.valid, r.signatures.len(), errors)
                }
            }
            CircuitType::HeliosAvecTeletransmission | CircuitType::HeliosSansTeletransmission => {
                let r = verify_pes(file, ctx);
                urls.extend(r.signatures.iter().flat_map(|s| s.revocation_urls.clone()));
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
                for sig in signatures {
                    let r = verify_xades_detached(sig, file, ctx);
                    urls.extend(r.signatures.iter().flat_map(|s| s.revocation_urls.clone()));
                    all_valid &= r.valid;
                    errors.extend(
                        r.signatures
                            .iter()
                            .flat_map(|s| s.errors.clone())
                            .chain(r.errors.clone()),
                    );
                }
                summarize(all_valid, signatures.len(), errors)
            }
        };
        Ok((verdict, urls))
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
        let w = crate::service::access::workflow(state, &doc).await?;
        let (t, signed, extra, actor) = match w.current_kind() {
            Some(StepKind::Verification) => {
                let (ok, detail) = verify_document(state, &doc).await?;
                (
                    w.verified(ok, Some(detail))?,
                    None,
                    Effects::default(),
                    By::System,
                )
            }
            Some(StepKind::ServerSignature) => {
                let org = state
                    .db
                    .subscriber_name(&doc.siren)
                    .await?
                    .unwrap_or_else(|| doc.siren.clone());
                let t = w.server_signed()?;
                let signer = SignAs {
                    key: Key::Seal,
                    name: org.clone(),
                    reason: "Cachet serveur".into(),
                };
                let signed = crate::service::signing::sign_document(state, &signer, &doc).await?;
                (t, Some(signed), Effects::default(), By::Named(org))
            }
            Some(StepKind::Archive) => {
                let t = w.archived()?;
                let record = crate::service::archive::archive_document(state, &doc).await?;
                let effects = Effects {
                    archive: Some(record),
                    ..Effects::default()
                };
                (t, None, effects, By::System)
            }
            Some(StepKind::Deliver) => {
                let d = crate::service::notify::mail_doc(state, &doc, &w.steps).await?;
                let mut recipients = d.email_to.clone();
                recipients.extend(d.email_cc.iter().cloned());
                if recipients.is_empty() {
                    let t = w.delivered(Some("aucun destinataire".into()))?;
                    (t, None, Effects::default(), By::System)
                } else {
                    let (mut effects, link) =
                        crate::service::notify::signed_document_mail(&state.cfg, &d)?;
                    let job = Job::Deliver(DeliveryJob {
                        document_id: doc.id,
                        siren: doc.siren.clone(),
                        filename: doc.filename.clone(),
                        sha256: doc.sha256.clone(),
                        size: doc.size,
                        recipients: recipients.clone(),
                        link,
                    });
                    effects
                        .jobs
                        .push(job.to_new(0).map_err(anyhow::Error::from)?);
                    let t = w.delivered(Some(recipients.join(", ")))?;
                    (t, None, effects, By::System)
                }
            }
            Some(
                StepKind::Visa
                | StepKind::Signature
                | StepKind::OtpSignature
                | StepKind::Transmission,
            )
            | None => return Ok(()),
        };
        let change = Change::by(actor)
            .with(signed.map_or(Payload::Nothing, Payload::Signed))
            .effects(extra);
        // The write itself, not `transition::apply`: this loop runs the following steps.
        match crate::service::commit::write(state, &doc, &w.steps, &t, change).await {
            Ok(()) => tracing::info!(
                document.id = doc.id,
                step = ?w.current_kind(),
                "automatic step done"
            ),
            // Another run did it meanwhile: look again.
            Err(ApiError::Conflict) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Runs the automatic steps after a committed change; a failure is logged, not returned: the
/// change stands, and the step is retried by its durable job (see `notify::effects`).
pub async fn run_logged(state: &AppState, id: i64) {
    if let Err(e) = run(state, id).await {
        tracing::error!(document.id = id, error = %e, "automatic step failed; its job will retry it");
    }
}

/// Runs automatic steps left pending by a crash (called at start-up), for documents that
/// reached them before their steps had a durable job.
pub async fn recover(state: &AppState) {
    let mut ids = Vec::new();
    for kind in [
        StepKind::Verification,
        StepKind::ServerSignature,
        StepKind::Archive,
        StepKind::Deliver,
    ] {
        match state.db.documents_at_step(kind).await {
            Ok(found) => ids.extend(found),
            Err(e) => {
                tracing::error!(error = %e, "cannot list documents waiting at automatic steps")
            }
        }
    }
    for id in ids {
        if let Err(e) = run(state, id).await {
            tracing::error!(document.id = id, error = %e, "automatic step failed at start-up");
        }
    }
}
