//! Helios: transmission of signed PES (jobs `helios_send` and `helios_poll`), and the return
//! flows (acknowledgements, PES Retour, Chorus) listed and downloaded through the FAST routes.

use crate::auth::Caller;
use crate::connectors::SendError;
use crate::connectors::transmitter::RemoteStatus;
use crate::error::ApiError;
use crate::jobs::{HeliosJob, Job, Outcome};
use crate::service::access::{load, workflow};
use crate::service::transition::{self, By, Change, Notices};
use crate::state::AppState;
use parapheur_domain::{HistoryState, Siren, StepKind, TransmissionEvent, Workflow};
use parapheur_store::documents::DocumentRow;
use parapheur_store::helios::{NewReturnFlow, ReturnFlowRow, TransmissionRecord};
use parapheur_store::jobs::Effects;

/// Return flow kinds, as in the routes.
pub const ACK: &str = "ack";
pub const PES_RETOUR: &str = "pes-retour";
pub const CHORUS: &str = "chorus";

/// Sends again after a Helios-side failure at most this many times.
const MAX_RESENDS: usize = 5;

fn internal(e: impl std::fmt::Display) -> SendError {
    SendError::transient(e.to_string())
}

async fn at_transmission(
    state: &AppState,
    id: &str,
) -> Result<Option<(DocumentRow, Workflow)>, SendError> {
    let id: i64 = id
        .parse()
        .map_err(|_| SendError::permanent(format!("bad document id {id:?}")))?;
    let Some(doc) = state.db.document(id).await.map_err(internal)? else {
        return Ok(None);
    };
    let w = workflow(state, &doc).await.map_err(internal)?;
    Ok((w.current_kind() == Some(StepKind::Transmission)).then_some((doc, w)))
}

/// Writes transmission events as one transition (their entries in order, the last status).
async fn record(
    state: &AppState,
    doc: &DocumentRow,
    w: &Workflow,
    events: Vec<TransmissionEvent>,
    effects: Effects,
) -> Result<(), SendError> {
    let mut entries = Vec::new();
    let mut last = None;
    for ev in events {
        let t = w.transmission(ev).map_err(internal)?;
        entries.extend(t.entries.iter().cloned());
        last = Some(t);
    }
    let Some(mut t) = last else { return Ok(()) };
    t.entries = entries;
    // The messages of the change (e.g. to recipients once classified); a new attempt's
    // "En cours d'envoi" must not schedule another send.
    let change = Change::by(By::System)
        .effects(effects)
        .notices(Notices::WithoutHeliosSend);
    transition::apply(state, doc, &w.steps, &t, change)
        .await
        .map_err(internal)
}

async fn last_state(state: &AppState, id: i64) -> Result<Option<String>, SendError> {
    Ok(state
        .db
        .history(id)
        .await
        .map_err(internal)?
        .last()
        .map(|h| h.state_name.clone()))
}

/// `helios_send`: sends the signed PES; on success records "Envoyé à FAST" and schedules the
/// follow-up. A transient failure records "Échec de l'envoi à FAST" (once per streak) and is
/// retried by the queue; a refusal records "Échec du traitement FAST".
pub async fn run_send(state: &AppState, job: &HeliosJob) -> Result<Outcome, SendError> {
    let Some((doc, w)) = at_transmission(state, &job.document_id).await? else {
        return Ok(Outcome::Done);
    };
    let pes = state.blobs.get(&doc.blob_key).await.map_err(internal)?;
    let nomfic = parapheur_domain::pes::inspect_pes_aller(&pes)
        .map_err(|e| SendError::permanent(e.to_string()))?
        .nomfic;
    match state.transmitter.send(&nomfic, &pes).await {
        Ok(remote_id) => {
            let poll = Job::HeliosPoll(HeliosJob {
                document_id: doc.id.to_string(),
                remote_id: remote_id.clone(),
            })
            .to_new(0)
            .map_err(internal)?;
            let mut events = Vec::new();
            if last_state(state, doc.id).await?.as_deref() != Some(HistoryState::Sending.as_str()) {
                events.push(TransmissionEvent::Sending);
            }
            events.push(TransmissionEvent::SentToFast);
            let effects = Effects {
                jobs: vec![poll],
                transmission: Some(TransmissionRecord {
                    transmitter: state.transmitter.name().into(),
                    remote_id,
                    state: "sent".into(),
                }),
                ..Effects::default()
            };
            record(state, &doc, &w, events, effects).await?;
            tracing::info!(
                document.id = doc.id,
                "PES sent to the transmission platform"
            );
            Ok(Outcome::Done)
        }
        Err(e) if e.transient => {
            if last_state(state, doc.id).await?.as_deref()
                != Some(HistoryState::SendToFastFailed.as_str())
            {
                record(
                    state,
                    &doc,
                    &w,
                    vec![TransmissionEvent::SendFailed(e.message.clone())],
                    Effects::default(),
                )
                .await?;
            }
            Err(e)
        }
        Err(e) => {
            record(
                state,
                &doc,
                &w,
                vec![TransmissionEvent::ProcessingFailed(e.message.clone())],
                Effects::default(),
            )
            .await?;
            tracing::error!(document.id = doc.id, error = %e, "the platform refused the PES");
            Ok(Outcome::Done)
        }
    }
}

/// The acknowledgement as a return flow (bytes stored durably first).
async fn store_ack(
    state: &AppState,
    doc: &DocumentRow,
    ack: Vec<u8>,
) -> Result<NewReturnFlow, SendError> {
    let stored = crate::service::put_blob(state, ack)
        .await
        .map_err(internal)?;
    let stem = doc
        .filename
        .rsplit_once('.')
        .map_or(doc.filename.as_str(), |(s, _)| s);
    Ok(NewReturnFlow {
        siren: doc.siren.clone(),
        kind: ACK.into(),
        document_id: Some(doc.id),
        filename: format!("{stem}-acquit.xml"),
        blob_key: stored.key,
        size: stored.size as i64,
    })
}

/// Records an acknowledgement: the return flow, "Transmis à Hélios" if not yet said,
/// "Acquittance Hélios" and the next step.
async fn acknowledge(
    state: &AppState,
    doc: &DocumentRow,
    w: &Workflow,
    ack: Vec<u8>,
    remote: Option<(String, String)>,
) -> Result<(), SendError> {
    let flow = store_ack(state, doc, ack).await?;
    let key = flow.blob_key.clone();
    let said = state
        .db
        .history(doc.id)
        .await
        .map_err(internal)?
        .iter()
        .any(|h| h.state_name == HistoryState::TransmittedToHelios.as_str());
    let mut events = Vec::new();
    if !said {
        events.push(TransmissionEvent::TransmittedToHelios);
    }
    events.push(TransmissionEvent::Acknowledged);
    let effects = Effects {
        returns: vec![flow],
        transmission: remote.map(|(transmitter, remote_id)| TransmissionRecord {
            transmitter,
            remote_id,
            state: "acknowledged".into(),
        }),
        ..Effects::default()
    };
    if let Err(e) = record(state, doc, w, events, effects).await {
        // The failure does not tell whether the transaction committed (a lost connection
        // during the commit): the file stays; the orphan sweep removes it if no row refers
        // to it, and the retried job stores its own copy.
        tracing::warn!(document.id = doc.id, key = %key, "acknowledgement not recorded: its file is kept for the orphan sweep");
        return Err(e);
    }
    tracing::info!(document.id = doc.id, "Helios acknowledgement recorded");
    Ok(())
}

/// `helios_poll`: follows a transmission until its acknowledgement.
pub async fn run_poll(state: &AppState, job: &HeliosJob) -> Result<Outcome, SendError> {
    let Some((doc, w)) = at_transmission(state, &job.document_id).await? else {
        return Ok(Outcome::Done);
    };
    let poll = state.cfg.helios.poll_ms.max(10);
    let remote = (state.transmitter.name().to_owned(), job.remote_id.clone());
    match state.transmitter.status(&job.remote_id).await? {
        RemoteStatus::Pending => Ok(Outcome::Later(poll)),
        RemoteStatus::TransmittedToHelios => {
            let recorded = state.db.transmission(doc.id).await.map_err(internal)?;
            if recorded.is_none_or(|r| r.state != "transmitted") {
                let effects = Effects {
                    transmission: Some(TransmissionRecord {
                        transmitter: remote.0,
                        remote_id: remote.1,
                        state: "transmitted".into(),
                    }),
                    ..Effects::default()
                };
                record(
                    state,
                    &doc,
                    &w,
                    vec![TransmissionEvent::TransmittedToHelios],
                    effects,
                )
                .await?;
            }
            Ok(Outcome::Later(poll))
        }
        RemoteStatus::Acknowledged(ack) => {
            acknowledge(state, &doc, &w, ack, Some(remote)).await?;
            Ok(Outcome::Done)
        }
        RemoteStatus::Failed(message) => {
            let failures = state
                .db
                .history(doc.id)
                .await
                .map_err(internal)?
                .iter()
                .filter(|h| h.state_name == HistoryState::SendToHeliosFailed.as_str())
                .count();
            let mut effects = Effects::default();
            if failures < MAX_RESENDS {
                effects.jobs.push(
                    Job::helios_send(&doc.id.to_string())
                        .to_new(0)
                        .map_err(internal)?,
                );
            }
            record(
                state,
                &doc,
                &w,
                vec![TransmissionEvent::HeliosFailed(message)],
                effects,
            )
            .await?;
            Ok(Outcome::Done)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Return flows

/// `GET documents/v2/{siren}/{kind}/remaining`.
pub async fn remaining(
    state: &AppState,
    caller: &Caller,
    siren: &Siren,
    kind: &str,
) -> Result<Vec<i64>, ApiError> {
    crate::service::access::authorize_subscriber(state, caller, siren).await?;
    let today = crate::service::access::today();
    let viewer = (!caller.is_admin(siren.as_str())).then_some((caller.user_id, today.as_str()));
    Ok(state
        .db
        .remaining_returns(siren.as_str(), kind, viewer)
        .await?)
}

/// `GET documents/v2/{id}/ack/download`: the latest acknowledgement of a document.
pub async fn download_ack(
    state: &AppState,
    caller: &Caller,
    id: parapheur_domain::DocumentId,
) -> Result<(String, Vec<u8>), ApiError> {
    let doc = load(state, caller, id).await?;
    let ack = state
        .db
        .acknowledgement(doc.id)
        .await?
        .ok_or(ApiError::NothingToReturn)?;
    let bytes = read_flow(state, &ack).await?;
    state.db.mark_fetched(&[ack.id]).await?;
    Ok((ack.filename, bytes))
}

async fn read_flow(state: &AppState, f: &ReturnFlowRow) -> Result<Vec<u8>, ApiError> {
    Ok(state.blobs.get(&f.blob_key).await?)
}

/// `GET documents/v2/{id}/pes-retour/download` and `chorus/download`.
pub async fn download_flow(
    state: &AppState,
    caller: &Caller,
    id: &str,
    kind: &str,
) -> Result<(String, Vec<u8>), ApiError> {
    let id: i64 = id.trim().parse().map_err(|_| ApiError::InvalidDocId)?;
    let f = state
        .db
        .return_flow(id)
        .await?
        .filter(|f| f.kind == kind && caller.is_member(&f.siren))
        .ok_or(ApiError::InvalidDocId)?;
    let bytes = read_flow(state, &f).await?;
    state.db.mark_fetched(&[f.id]).await?;
    Ok((f.filename, bytes))
}

/// `POST /api/v1/subscribers/{siren}/inbound/{kind}`: records a return flow as a connector
/// would. An acknowledgement moves its document on if it waits at the transmission step.
pub async fn inbound(
    state: &AppState,
    caller: &Caller,
    siren: &Siren,
    kind: &str,
    file: crate::files::Upload,
    document_id: Option<parapheur_domain::DocumentId>,
) -> Result<i64, ApiError> {
    if !state.db.subscriber_exists(siren.as_str()).await? {
        return Err(ApiError::SubscriberNotFound);
    }
    if !caller.is_admin(siren.as_str()) {
        return Err(ApiError::Forbidden);
    }
    if ![ACK, PES_RETOUR, CHORUS].contains(&kind) {
        return Err(ApiError::BadParameter(format!(
            "unknown return flow kind {kind:?} (ack, pes-retour, chorus)"
        )));
    }
    crate::files::check_xml(&file.bytes)
        .map_err(|m| ApiError::InvalidFile(format!("{}: {m}", file.name)))?;
    if kind == ACK {
        let id = document_id.ok_or_else(|| {
            ApiError::BadParameter("an acknowledgement needs its `document_id`".into())
        })?;
        let doc = load(state, caller, id).await?;
        if doc.siren != siren.as_str() || !doc.circuit_type.is_pes() {
            return Err(ApiError::InvalidDocId);
        }
        let w = workflow(state, &doc).await?;
        if w.current_kind() == Some(StepKind::Transmission) {
            acknowledge(state, &doc, &w, file.bytes.to_vec(), None)
                .await
                .map_err(|e| ApiError::Internal(anyhow::anyhow!(e.message)))?;
            let ack = state.db.acknowledgement(doc.id).await?;
            return ack.map(|a| a.id).ok_or(ApiError::NothingToReturn);
        }
        let flow = store_ack(state, &doc, file.bytes.to_vec())
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!(e.message)))?;
        return Ok(state.db.insert_return_flow(&flow).await?);
    }
    let stored = crate::service::put_blob(state, file.bytes.clone()).await?;
    let flow = NewReturnFlow {
        siren: siren.as_str().to_owned(),
        kind: kind.to_owned(),
        document_id: None,
        filename: file.name.to_string(),
        blob_key: stored.key.clone(),
        size: stored.size as i64,
    };
    match state.db.insert_return_flow(&flow).await {
        Ok(id) => Ok(id),
        Err(e) => {
            let e = ApiError::from(e);
            crate::service::discard_uncommitted(state, &e, vec![stored.key.clone()]).await;
            Err(e)
        }
    }
}

/// Fetches the PES Retour files the transmitter holds (S²LOW), files each one under the
/// subscriber its header names (`EnTetePES/IdColl`, a SIRET), then marks it read on the
/// platform. A file for no known subscriber, or unreadable, is left unread (and logged) rather
/// than lost; one already filed (same subscriber and name) is only marked read. Returns how many
/// were filed.
pub async fn fetch_pes_retours(state: &AppState) -> Result<usize, ApiError> {
    let remote = |e: SendError| ApiError::Internal(anyhow::anyhow!("PES Retour: {}", e.message));
    let list = state.transmitter.pes_retours().await.map_err(remote)?;
    let mut filed = 0;
    for (id, name) in list {
        let bytes = state.transmitter.pes_retour(&id).await.map_err(remote)?;
        let Some(siren) = parapheur_domain::pes::collectivity_siren(&bytes) else {
            tracing::warn!(pes_retour = %id, "PES Retour without a readable EnTetePES/IdColl: left unread");
            continue;
        };
        if !state.db.subscriber_exists(&siren).await? {
            tracing::warn!(pes_retour = %id, siren = %siren, "PES Retour for an unknown subscriber: left unread");
            continue;
        }
        if let Err(m) = crate::files::check_xml(&bytes) {
            tracing::warn!(pes_retour = %id, error = %m, "unreadable PES Retour: left unread");
            continue;
        }
        let filename = parapheur_domain::FileName::parse(&name)
            .map(|f| f.to_string())
            .unwrap_or_else(|_| format!("pes-retour-{id}.xml"));
        if !state
            .db
            .return_flow_exists(&siren, PES_RETOUR, &filename)
            .await?
        {
            let stored = crate::service::put_blob(state, bytes).await?;
            let flow = NewReturnFlow {
                siren: siren.clone(),
                kind: PES_RETOUR.to_owned(),
                document_id: None,
                filename,
                blob_key: stored.key.clone(),
                size: stored.size as i64,
            };
            match state.db.insert_return_flow(&flow).await {
                Ok(_) => {
                    filed += 1;
                    tracing::info!(pes_retour = %id, siren = %siren, "PES Retour filed");
                }
                // Another instance filed it meanwhile: keep theirs, mark it read all the same.
                Err(parapheur_store::StoreError::Duplicate) => {
                    let _ = state.blobs.delete(&stored.key).await;
                    tracing::info!(pes_retour = %id, siren = %siren, "PES Retour already filed");
                }
                Err(e) => {
                    let e = ApiError::from(e);
                    crate::service::discard_uncommitted(state, &e, vec![stored.key.clone()]).await;
                    return Err(e);
                }
            }
        }
        state
            .transmitter
            .pes_retour_read(&id)
            .await
            .map_err(remote)?;
    }
    Ok(filed)
}

/// Asks the transmitter for PES Retour files every `[helios] pes_retour_poll_s` (S²LOW only).
pub fn spawn_pes_retour_poll(state: AppState) {
    let every = state.cfg.helios.pes_retour_poll_s;
    if every == 0 || !state.transmitter.has_pes_retour() {
        return;
    }
    tokio::spawn(async move {
        loop {
            if let Err(e) = fetch_pes_retours(&state).await {
                tracing::warn!(error = %e, "fetching PES Retour files failed; will retry");
            }
            tokio::time::sleep(std::time::Duration::from_secs(every)).await;
        }
    });
}
