//! Deposits: v2 upload into a provisioned circuit and on-demand upload with its own circuit.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::files::{Upload, check_content, unpack};
use crate::service::access::authorize_subscriber;
use crate::service::commit::By;
use crate::state::AppState;
use parapheur_domain::{
    CircuitId, CircuitType, DocumentId, DocumentStatus, Email, OnDemandCircuit, Siren, StepKind,
    StepRule, Workflow,
};
use parapheur_store::accounts::DepositReads;
use parapheur_store::documents::{NewDocument, NewFile, NewStep};
use std::collections::HashMap;

/// Where the circuit of a deposit comes from.
#[derive(Debug)]
pub enum CircuitSource {
    Provisioned(CircuitId),
    /// The caller's circuit, and the `circuit_id` it named it with, if any (the FAST triplet
    /// rule then applies to it as to a provisioned circuit of that id).
    OnDemand(OnDemandCircuit, Option<CircuitId>),
}

#[derive(Debug)]
pub struct DepositRequest {
    pub siren: Siren,
    pub circuit: CircuitSource,
    pub file: Upload,
    pub annexes: Vec<Upload>,
    pub label: String,
    pub comment: String,
    pub email_to: Vec<Email>,
    pub email_cc: Vec<Email>,
    pub agents: Vec<Email>,
    pub pictograms: Option<String>,
    /// uploadOTP: the OTP information file and where to send the signer afterwards.
    pub otp: Option<OtpDeposit>,
    /// `date_limite` as given (`YYYY-MM-DD`; empty: none, the circuit's `deadline_days` apply).
    pub deadline: String,
}

/// Checks a `date_limite`: a day `YYYY-MM-DD`, today or later.
pub fn parse_deadline(raw: &str) -> Result<Option<chrono::NaiveDate>, ApiError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let day = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| ApiError::BadParameter("date_limite: a date YYYY-MM-DD is expected".into()))?;
    if day < crate::clock::now().date_naive() {
        return Err(ApiError::BadParameter(
            "date_limite: the date is in the past".into(),
        ));
    }
    Ok(Some(day))
}

#[derive(Debug)]
pub struct OtpDeposit {
    pub information: Vec<u8>,
    pub referer: Option<String>,
    /// Send the signing link to the signer (a portal deposit). FAST clients get the link in
    /// the answer and hand it over themselves.
    pub invite: bool,
}

/// What a deposit gives back.
#[derive(Debug)]
pub struct Deposited {
    pub id: DocumentId,
    /// The OTP signing page of an uploadOTP deposit.
    pub otp_url: Option<String>,
}

/// The circuit resolved for this deposit.
struct Resolved {
    circuit_id: Option<String>,
    /// The circuit the FAST triplet rule names (see `NewDocument::triplet_circuit`).
    triplet_circuit: Option<String>,
    circuit_type: CircuitType,
    formats: Vec<String>,
    metadata_required: bool,
    steps: Vec<(StepKind, StepRule, Vec<Email>)>,
    deadline_days: Option<i64>,
    /// The subscriber's name, when read with the circuit.
    org: Option<String>,
}

const MAX_LABEL: usize = 255;
const MAX_COMMENT: usize = 4000;

async fn resolve(
    reads: &mut DepositReads<'_>,
    caller: &Caller,
    req: &DepositRequest,
) -> Result<Resolved, ApiError> {
    match &req.circuit {
        CircuitSource::Provisioned(id) => {
            let (row, org) = reads
                .circuit_for_deposit(req.siren.as_str(), id.as_str())
                .await?
                .ok_or_else(|| ApiError::CircuitNotFound(id.to_string()))?;
            if !crate::service::circuits::may_deposit(&row.depositors, &caller.email) {
                return Err(ApiError::Forbidden);
            }
            let mut steps = Vec::with_capacity(row.steps.len());
            for s in row.steps {
                let members = s
                    .members
                    .iter()
                    .map(|m| Email::parse(m))
                    .collect::<Result<Vec<_>, _>>()?;
                steps.push((s.kind, s.rule, members));
            }
            Ok(Resolved {
                triplet_circuit: Some(row.id.clone()),
                circuit_id: Some(row.id),
                circuit_type: row.circuit_type,
                formats: row.formats,
                metadata_required: row.metadata_required,
                steps,
                deadline_days: row.deadline_days,
                org: Some(org),
            })
        }
        CircuitSource::OnDemand(c, named) => Ok(Resolved {
            circuit_id: None,
            triplet_circuit: named.as_ref().map(|n| n.as_str().to_owned()),
            circuit_type: c.circuit_type,
            formats: c
                .circuit_type
                .default_formats()
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            metadata_required: false,
            deadline_days: None,
            org: None,
            steps: c
                .steps
                .iter()
                .map(|s| (s.kind, s.rule, s.members.clone()))
                .collect(),
        }),
    }
}

/// Validates everything, stores the files durably, then records the document in one
/// transaction. Nothing is kept when any check fails.
pub async fn deposit(
    state: &AppState,
    caller: &Caller,
    req: DepositRequest,
) -> Result<DocumentId, ApiError> {
    Ok(deposit_with(state, caller, req).await?.id)
}

/// `deposit`, also giving the OTP page of an uploadOTP deposit.
pub async fn deposit_with(
    state: &AppState,
    caller: &Caller,
    req: DepositRequest,
) -> Result<Deposited, ApiError> {
    authorize_subscriber(state, caller, &req.siren).await?;
    if req.label.chars().count() > MAX_LABEL {
        return Err(ApiError::BadParameter(format!(
            "label longer than {MAX_LABEL} characters"
        )));
    }
    if req.comment.chars().count() > MAX_COMMENT {
        return Err(ApiError::BadParameter(format!(
            "comment longer than {MAX_COMMENT} characters"
        )));
    }
    // The circuit and the people it names: from the deposit cache, or read on one
    // connection, given back at once.
    let mut reads = state.db.deposit_reads();
    let mut circuit = resolve(&mut reads, caller, &req).await?;
    let deadline = match parse_deadline(&req.deadline)? {
        Some(day) => Some(day),
        None => circuit
            .deadline_days
            .and_then(|n| u64::try_from(n).ok())
            .and_then(|n| {
                crate::clock::now()
                    .date_naive()
                    .checked_add_days(chrono::Days::new(n))
            }),
    }
    .map(|d| d.format("%Y-%m-%d").to_string());
    // Signed PES of HELIOS_AVEC_TELETRANSMISSION circuits are then transmitted to Helios.
    if circuit.circuit_type.transmits() {
        circuit
            .steps
            .push((StepKind::Transmission, StepRule::Any, Vec::new()));
    }
    let siren = req.siren.as_str();

    // Members and agents must be users of this subscriber; the depositor acts on no step. One
    // read gives their ids, their delegates of the day and their digest choices (for the
    // message announcing the document).
    let mut wanted: Vec<String> = circuit
        .steps
        .iter()
        .flat_map(|(_, _, m)| m.iter().map(|e| e.as_str().to_owned()))
        .chain(req.agents.iter().map(|e| e.as_str().to_owned()))
        .collect();
    wanted.sort();
    wanted.dedup();
    let people = reads
        .deposit_people(siren, &wanted, &crate::service::access::today())
        .await?;
    drop(reads);
    let known: HashMap<&str, i64> = people
        .iter()
        .filter_map(|p| p.member_id.map(|id| (p.email.as_str(), id)))
        .collect();
    let mut steps = Vec::with_capacity(circuit.steps.len());
    for (kind, rule, members) in &circuit.steps {
        let mut ids = Vec::with_capacity(members.len());
        for m in members {
            // An OTP step's signer comes from the OTP information: an address is accepted.
            if *kind == StepKind::OtpSignature {
                if let Some(id) = known.get(m.as_str()) {
                    ids.push(*id);
                }
                continue;
            }
            let id = *known
                .get(m.as_str())
                .ok_or_else(|| ApiError::InvalidStepMember(m.to_string()))?;
            if kind.needs_members() && m.as_str() == caller.email {
                return Err(ApiError::DepositorIsMember(m.to_string()));
            }
            if req.agents.contains(m) && kind.needs_members() {
                return Err(ApiError::CircuitDefinition(format!(
                    "the agent {m} cannot be a visa or signature member"
                )));
            }
            ids.push(id);
        }
        steps.push(NewStep {
            kind: *kind,
            rule: *rule,
            members: ids,
        });
    }
    for a in &req.agents {
        if !known.contains_key(a.as_str()) {
            return Err(ApiError::InvalidStepMember(format!("unknown agent {a}")));
        }
    }

    // The file: unpack a deposit archive, then check format and content.
    let limit = state.cfg.max_upload_bytes;
    let (main, mut annexes) = unpack(req.file, limit)?;
    let ext = main.name.extension().unwrap_or_default();
    if !circuit.formats.iter().any(|f| f.eq_ignore_ascii_case(&ext)) {
        return Err(ApiError::FormatRefused(format!(
            "{} (accepted: {})",
            main.name,
            circuit.formats.join(", ")
        )));
    }
    let checked = main.clone();
    tokio::task::spawn_blocking(move || check_content(&checked))
        .await
        .map_err(anyhow::Error::from)??;
    let pes_nomfic = if circuit.circuit_type.is_pes() {
        let nomfic = parapheur_domain::pes::inspect_pes_aller(&main.bytes)?.nomfic;
        if state.db.pes_name_taken(siren, &nomfic).await? {
            return Err(ApiError::DuplicatePes(nomfic));
        }
        Some(nomfic)
    } else {
        None
    };
    annexes.extend(req.annexes);
    for a in &annexes {
        if a.bytes.is_empty() {
            return Err(ApiError::InvalidFile(format!(
                "{}: the annex is empty",
                a.name
            )));
        }
    }

    let kinds: Vec<StepKind> = circuit.steps.iter().map(|(k, _, _)| *k).collect();
    let comment = (!req.comment.trim().is_empty()).then(|| req.comment.clone());
    let mut t = Workflow::deposit(&kinds, circuit.metadata_required, comment);
    // Whether the document starts at an automatic step (verification, server seal, archive,
    // delivery), which runs right after the commit; otherwise nothing is to run (and nothing
    // is read again).
    let starts_automatic = t.status == DocumentStatus::InProgress
        && kinds.get(t.current_step).is_some_and(|k| k.is_automatic());
    let mut otp_signers = Vec::new();
    let mut otp_link = None;
    if let Some(otp) = &req.otp {
        otp_signers = crate::service::otp::parse_information(&otp.information, &kinds)?;
        if let Some(r) = &otp.referer
            && !(r.starts_with("https://") || r.starts_with("http://"))
        {
            return Err(ApiError::BadParameter(
                "referer must be an http(s) URL".into(),
            ));
        }
        // "Informations OTP définies" follows "Préparé".
        t.entries.insert(
            1,
            parapheur_domain::Entry {
                state: parapheur_domain::HistoryState::OtpInformationDefined,
                actor: parapheur_domain::Actor::Caller,
                comment: None,
            },
        );
        otp_link = Some(crate::service::otp::new_link(
            state,
            siren,
            vec![0],
            otp.referer.clone(),
        ));
    }
    let mut members: Vec<String> = crate::service::notify::step_to_announce(&t)
        .and_then(|idx| circuit.steps.get(idx))
        .map(|(_, _, m)| m.iter().map(|e| e.as_str().to_owned()).collect())
        .unwrap_or_default();
    crate::service::notify::announce_to(&people, &mut members);
    let org = match circuit.org.take() {
        Some(org) => org,
        None => state.db.subscriber_name(siren).await?.unwrap_or_default(),
    };

    // Durable bytes first (fsynced), then one committed transaction.
    let mut stored = Vec::with_capacity(1 + annexes.len());
    for f in std::iter::once(&main).chain(annexes.iter()) {
        match state.blobs.put(f.bytes.to_vec()).await {
            Ok(b) => stored.push((f.name.to_string(), b)),
            Err(e) => {
                let written: Vec<String> = stored.iter().map(|(_, b)| b.key.clone()).collect();
                state.blobs.delete_all(&written).await;
                return Err(e.into());
            }
        }
    }
    let to_file =
        |(name, b): &(String, parapheur_store::blob::StoredBlob)| NewFile::stored(name.clone(), b);
    let join = |v: &[Email]| v.iter().map(Email::as_str).collect::<Vec<_>>().join(";");
    let mail_doc = crate::service::notify::MailDoc {
        id: 0,
        siren: siren.to_owned(),
        org,
        filename: main.name.to_string(),
        label: req.label.trim().to_owned(),
        depositor: Some(caller.email.clone()),
        email_to: req.email_to.iter().map(|e| e.as_str().to_owned()).collect(),
        email_cc: req.email_cc.iter().map(|e| e.as_str().to_owned()).collect(),
        signs: crate::service::notify::signs(&kinds),
    };
    let invitation = match (&req.otp, &otp_link, otp_signers.first()) {
        (Some(otp), Some((url, _)), Some(signer)) if otp.invite => Some(
            crate::service::otp::invitation(state, &mail_doc, signer, url)?,
        ),
        _ => None,
    };
    let doc = NewDocument {
        deadline,
        siren: siren.to_owned(),
        circuit_id: circuit.circuit_id,
        triplet_circuit: circuit.triplet_circuit,
        circuit_type: circuit.circuit_type,
        label: req.label.trim().to_owned(),
        file: to_file(&stored[0]),
        depositor_id: caller.user_id,
        status: t.status,
        current_step: t.current_step as i64,
        metadata_required: circuit.metadata_required,
        comment: req.comment,
        email_to: join(&req.email_to),
        email_cc: join(&req.email_cc),
        agents: req.agents.iter().map(|e| e.as_str().to_owned()).collect(),
        pictograms: req.pictograms,
        steps,
        annexes: stored[1..].iter().map(to_file).collect(),
        entries: By::caller(caller).entries(&t.entries),
        otp_signers,
        pes_nomfic,
        effects: {
            let mut e =
                crate::service::notify::effects(&state.cfg, &mail_doc, &kinds, &t, &members)?;
            e.links.extend(otp_link.as_ref().map(|(_, l)| l.clone()));
            e.jobs.extend(invitation);
            e
        },
    };
    match state.db.insert_document(doc).await {
        Ok(id) => {
            state.wake_jobs();
            tracing::info!(document.id = id, siren, "document deposited");
            state
                .metrics
                .uploads
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if starts_automatic {
                crate::service::automatic::run_logged(state, id).await;
            }
            Ok(Deposited {
                id: DocumentId::new(id),
                otp_url: otp_link.map(|(url, _)| url),
            })
        }
        Err(e) => {
            let e = ApiError::from(e);
            let keys: Vec<String> = stored.iter().map(|(_, b)| b.key.clone()).collect();
            crate::service::discard_uncommitted(state, &e, keys).await;
            Err(e)
        }
    }
}
