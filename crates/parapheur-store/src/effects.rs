//! What a state change also writes in its own transaction (jobs, access links, a transmission
//! state, return flows, an archive record), and the writing of it. A leaf of the crate: the
//! modules that write changes depend on it, it depends on none of them.

use crate::{StoreError, now_ms};
use sqlx::{Any, Transaction};

/// In the effects of a deposit, stands for the id the new document receives: replaced in job
/// payloads, and a link's document id 0 means the new document.
pub const NEW_DOCUMENT_ID: &str = "{new-document-id}";

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: String,
    /// JSON, interpreted by the worker of `kind`.
    pub payload: String,
    /// Not before this many milliseconds after the commit (0: at once).
    pub delay_ms: i64,
}

/// A link for people without an account, created with the change that announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLink {
    pub token_hash: String,
    pub purpose: String,
    pub siren: String,
    pub document_ids: Vec<i64>,
    pub referer: Option<String>,
    pub expires_at: i64,
}

/// What a state change also writes in its transaction: messages and links it causes, the
/// transmission state and return flows it records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    pub jobs: Vec<NewJob>,
    pub links: Vec<NewLink>,
    pub transmission: Option<TransmissionRecord>,
    pub returns: Vec<NewReturnFlow>,
    pub archive: Option<ArchiveRecord>,
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
            && self.links.is_empty()
            && self.transmission.is_none()
            && self.returns.is_empty()
            && self.archive.is_none()
    }
    /// Whether the job worker has something new to do.
    pub fn has_jobs(&self) -> bool {
        !self.jobs.is_empty()
    }
    pub fn extend(&mut self, other: Effects) {
        self.jobs.extend(other.jobs);
        self.links.extend(other.links);
        if other.transmission.is_some() {
            self.transmission = other.transmission;
        }
        self.returns.extend(other.returns);
        if other.archive.is_some() {
            self.archive = other.archive;
        }
    }

    /// The effects of a deposit, with the placeholder id replaced by `id`.
    pub(crate) fn for_new_document(&self, id: i64) -> Effects {
        Effects {
            jobs: self
                .jobs
                .iter()
                .map(|j| NewJob {
                    kind: j.kind.clone(),
                    payload: j.payload.replace(NEW_DOCUMENT_ID, &id.to_string()),
                    delay_ms: j.delay_ms,
                })
                .collect(),
            links: self
                .links
                .iter()
                .map(|l| NewLink {
                    document_ids: l
                        .document_ids
                        .iter()
                        .map(|d| if *d == 0 { id } else { *d })
                        .collect(),
                    ..l.clone()
                })
                .collect(),
            transmission: self.transmission.clone(),
            returns: self.returns.clone(),
            archive: self.archive.clone(),
        }
    }
}

/// The state of a transmission, written with the transition that reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransmissionRecord {
    pub transmitter: String,
    pub remote_id: String,
    pub state: String,
}

/// A return flow to record (its bytes already durable in the blob store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReturnFlow {
    pub siren: String,
    /// `ack`, `pes-retour` or `chorus`.
    pub kind: String,
    pub document_id: Option<i64>,
    pub filename: String,
    pub blob_key: String,
    pub size: i64,
}

/// An archived package in the vault, written with the "Archivé" transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveRecord {
    pub location: String,
    pub manifest_sha256: String,
}

/// Writes the effects of a change to document `document_id` (0: none) in its transaction.
pub(crate) async fn write_effects(
    tx: &mut Transaction<'_, Any>,
    e: &Effects,
) -> Result<(), StoreError> {
    write_effects_for(tx, 0, e).await
}

pub(crate) async fn write_effects_for(
    tx: &mut Transaction<'_, Any>,
    document_id: i64,
    e: &Effects,
) -> Result<(), StoreError> {
    if let Some(t) = &e.transmission
        && document_id != 0
    {
        write_transmission(tx, document_id, t).await?;
    }
    for r in &e.returns {
        write_return_flow(tx, r).await?;
    }
    if let Some(a) = &e.archive
        && document_id != 0
    {
        write_archive(tx, document_id, a).await?;
    }
    let now = now_ms();
    for j in &e.jobs {
        sqlx::query(
            "INSERT INTO jobs (kind, payload, status, run_at, created_at, request_id) \
             VALUES ($1, $2, 'pending', $3, $4, $5)",
        )
        .bind(&j.kind)
        .bind(&j.payload)
        .bind(now + j.delay_ms.max(0))
        .bind(now)
        .bind(crate::context::request_id())
        .execute(&mut **tx)
        .await?;
    }
    for l in &e.links {
        let ids = serde_json::to_string(&l.document_ids)
            .map_err(|e| StoreError::Unavailable(format!("encoding link documents: {e}")))?;
        sqlx::query(
            "INSERT INTO access_links (token_hash, purpose, siren, document_ids, referer, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&l.token_hash)
        .bind(&l.purpose)
        .bind(&l.siren)
        .bind(ids)
        .bind(&l.referer)
        .bind(now)
        .bind(l.expires_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub(crate) async fn write_transmission(
    tx: &mut Transaction<'_, Any>,
    document_id: i64,
    t: &TransmissionRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO transmissions (document_id, transmitter, remote_id, state, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (document_id) DO UPDATE SET \
         transmitter = excluded.transmitter, remote_id = excluded.remote_id, \
         state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(document_id)
    .bind(&t.transmitter)
    .bind(&t.remote_id)
    .bind(&t.state)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn write_return_flow(
    tx: &mut Transaction<'_, Any>,
    r: &NewReturnFlow,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO return_flows (siren, kind, document_id, filename, blob_key, size, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(&r.siren)
    .bind(&r.kind)
    .bind(r.document_id)
    .bind(&r.filename)
    .bind(&r.blob_key)
    .bind(r.size)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

pub(crate) async fn write_archive(
    tx: &mut Transaction<'_, Any>,
    document_id: i64,
    a: &ArchiveRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO archives (document_id, location, manifest_sha256, archived_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (document_id) DO UPDATE SET location = excluded.location, \
         manifest_sha256 = excluded.manifest_sha256, archived_at = excluded.archived_at",
    )
    .bind(document_id)
    .bind(&a.location)
    .bind(&a.manifest_sha256)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
