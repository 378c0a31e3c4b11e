//! Documents, their circuit snapshot, annexes, metadata and history.

use crate::decode;
use crate::history_cache::HistorySnapshot;
use crate::{Db, StoreError, now_ms};
use parapheur_domain::{StepKind, StepRule};
use sqlx::{Any, Transaction};
use std::sync::Arc;

mod insert;
mod otp_signers;
mod queries;
mod rows;

pub(crate) use insert::{Deposit, insert_documents};
pub use otp_signers::OtpSigner;
pub(crate) use otp_signers::write_signers;
pub use rows::*;

/// The columns of `DocumentRow`, for queries written elsewhere in the store.
pub(crate) const DOC_COLS_PUB: &str = DOC_COLS;

const DOC_COLS: &str = "id, siren, circuit_id, circuit_type, label, filename, blob_key, size, sha256, \
    depositor_id, status, current_step, version, acted, metadata_required, comment, email_to, \
    email_cc, agents, pictograms, created_at, purged_at, digest_state, deadline";

async fn insert_entries(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    entries: &[NewEntry],
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    // Webhook deliveries of the new entries (CONTRACT §11), when the subscriber has endpoints.
    let webhooks_after = crate::webhooks::before_entries(tx, id).await?;
    insert_entries_after(tx, id, entries, webhooks_after).await
}

/// `insert_entries` once the last history id before them is known (`None`: the subscriber has
/// no webhook endpoint, nothing to queue).
async fn insert_entries_after(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    entries: &[NewEntry],
    webhooks_after: Option<i64>,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let sql = format!(
        "INSERT INTO history (document_id, at_ms, user_id, user_fullname, state_name, comment) VALUES {}",
        values(entries.len(), 6, 1)
    );
    let mut q = sqlx::query(&sql);
    for e in entries {
        q = q
            .bind(id)
            .bind(now)
            .bind(e.user_id)
            .bind(&e.user_fullname)
            .bind(e.state_name)
            .bind(&e.comment);
    }
    q.execute(&mut **tx).await?;
    if let Some(after) = webhooks_after {
        crate::webhooks::queue_deliveries(tx, id, after).await?;
    }
    Ok(())
}

/// `($1, $2, ...), (...)` for `rows` rows of `cols` placeholders starting at `$first`.
fn values(rows: usize, cols: usize, first: usize) -> String {
    (0..rows)
        .map(|r| {
            let ps: Vec<String> = (0..cols)
                .map(|c| format!("${}", first + r * cols + c))
                .collect();
            format!("({})", ps.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts one deposit inside an open transaction (a savepoint of the group commit's second
/// path): its id, or `Duplicate` when its FAST triplet is taken.
pub(crate) async fn insert_document_in(
    tx: &mut Transaction<'_, Any>,
    d: &NewDocument,
    request_id: Option<&str>,
    endpoints: &mut crate::webhooks::SirenEndpoints,
) -> Result<i64, StoreError> {
    match insert_documents(tx, &[(d, request_id)], endpoints).await?[..] {
        [Some(id)] => Ok(id),
        _ => Err(StoreError::Duplicate),
    }
}

/// The versioned update of a transition (status, step, new file or detached signature, history)
/// inside an open transaction: `Conflict` if the version moved; `Duplicate` if the document
/// comes back into progress (a replacement after a refusal) while a newer deposit holds its
/// FAST triplet.
pub(crate) async fn write_transition(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    t: &TransitionWrite,
) -> Result<(), StoreError> {
    let r = sqlx::query(
        "UPDATE documents SET status = $1, current_step = $2, version = version + 1, \
         acted = CASE WHEN $3 = 1 THEN 1 ELSE acted END, updated_at = $4 \
         WHERE id = $5 AND version = $6",
    )
    .bind(t.status.as_str())
    .bind(t.current_step)
    .bind(i64::from(t.human_action))
    .bind(now_ms())
    .bind(id)
    .bind(t.expected_version)
    .execute(&mut **tx)
    .await;
    let r = match r {
        Ok(r) => r,
        Err(e) if StoreError::is_unique_violation(&e) => return Err(StoreError::Duplicate),
        Err(e) => return Err(e.into()),
    };
    if r.rows_affected() != 1 {
        return Err(StoreError::Conflict);
    }
    // The copy the member lists walk (migration 0025).
    sqlx::query(
        "UPDATE document_step_members SET doc_status = $1 \
         WHERE document_id = $2 AND doc_status <> $1",
    )
    .bind(t.status.as_str())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    if let Some(f) = &t.file {
        sqlx::query(
            "UPDATE documents SET blob_key = $1, size = $2, sha256 = $3, digest_state = $4 \
             WHERE id = $5",
        )
        .bind(&f.blob_key)
        .bind(f.size)
        .bind(&f.sha256)
        .bind(&f.digest_state)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    if let Some(f) = &t.detached {
        sqlx::query(
            "INSERT INTO document_signatures (document_id, filename, blob_key, size, sha256) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&f.filename)
        .bind(&f.blob_key)
        .bind(f.size)
        .bind(&f.sha256)
        .execute(&mut **tx)
        .await?;
    }
    if let Some(idx) = t.entered_step {
        sqlx::query(
            "UPDATE document_step_members SET acted_at = NULL \
             WHERE document_id = $1 AND idx = $2 AND acted_at IS NOT NULL",
        )
        .bind(id)
        .bind(idx)
        .execute(&mut **tx)
        .await?;
    }
    if let Some((idx, user)) = t.acted_member {
        sqlx::query(
            "UPDATE document_step_members SET acted_at = $1 \
             WHERE document_id = $2 AND idx = $3 AND user_id = $4",
        )
        .bind(now_ms())
        .bind(id)
        .bind(idx)
        .bind(user)
        .execute(&mut **tx)
        .await?;
    }
    insert_entries(tx, id, &t.entries).await?;
    crate::effects::write_effects_for(tx, id, &t.effects).await?;
    Ok(())
}

impl Db {
    /// Records a deposit: document, steps, members, annexes, history. The blobs must already
    /// be durable. Returns the new id, or `Duplicate` when the FAST triplet is taken.
    /// Concurrent deposits share one transaction and one flush of the log (group commit).
    pub async fn insert_document(&self, d: NewDocument) -> Result<i64, StoreError> {
        let id = self.batcher.submit(d).await?;
        // A new document is a new task for the members of its first step.
        self.history_cache.invalidate(id);
        Ok(id)
    }

    /// A counter that every write through this `Db` able to change what a document read or a
    /// task list shows (deposits, transitions, members, deletions, absences, circuits,
    /// memberships) moves forward: an answer computed while it kept one value may be served
    /// again while it still has it (other instances' writes: see `history_cache`).
    pub fn reads_generation(&self) -> u64 {
        self.history_cache.generation()
    }

    /// How long reads may be served from memory (`[fast] history_cache_ms`; zero: never).
    pub fn reads_ttl(&self) -> std::time::Duration {
        self.history_cache.ttl()
    }

    pub async fn document(&self, id: i64) -> Result<Option<DocumentRow>, StoreError> {
        Ok(
            sqlx::query_as(&format!("SELECT {DOC_COLS} FROM documents WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// The document's siren, the cheapest authorization lookup.
    pub async fn document_siren(&self, id: i64) -> Result<Option<String>, StoreError> {
        let r: Option<(String,)> = sqlx::query_as("SELECT siren FROM documents WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        Ok(r.map(|t| t.0))
    }

    /// The document's subscriber and history in one query (`None` for an unknown id): the
    /// history route's authorization and answer in a single round trip, served from a
    /// short-lived cache when the document was read recently (see `history_cache`).
    pub async fn history_with_siren(
        &self,
        id: i64,
    ) -> Result<Option<Arc<HistorySnapshot>>, StoreError> {
        if let Some(s) = self.history_cache.get(id) {
            tracing::trace!(document.id = id, "history served from the cache");
            return Ok(Some(s));
        }
        let generation = self.history_cache.generation();
        type Row = (
            String,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT d.siren, h.at_ms, h.user_id, h.user_fullname, h.state_name, h.comment \
             FROM documents d LEFT JOIN history h ON h.document_id = d.id WHERE d.id = $1 ORDER BY h.id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        let Some(siren) = rows.first().map(|r| r.0.clone()) else {
            return Ok(None);
        };
        let entries = rows
            .into_iter()
            .filter_map(|(_, at, user_id, name, state, comment)| {
                Some(HistoryRow {
                    at_ms: at?,
                    user_id,
                    user_fullname: name?,
                    state_name: state?,
                    comment,
                })
            })
            .collect();
        let snap = Arc::new(HistorySnapshot::new(siren, entries));
        self.history_cache.put(id, snap.clone(), generation);
        Ok(Some(snap))
    }

    pub async fn history(&self, id: i64) -> Result<Vec<HistoryRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT at_ms, user_id, user_fullname, state_name, comment FROM history \
             WHERE document_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Step kinds of the document's circuit snapshot, in order.
    pub async fn document_steps(&self, id: i64) -> Result<Vec<StepKind>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT kind FROM document_steps WHERE document_id = $1 ORDER BY idx")
                .bind(id)
                .fetch_all(&self.read)
                .await?;
        Ok(rows
            .iter()
            .map(|r| decode::step_kind_str("document_steps.kind", &r.0))
            .collect::<Result<_, _>>()?)
    }

    /// Members of every step: `(idx, full name, email)`.
    /// The members of every step of a document, by step then e-mail.
    pub async fn document_step_members(&self, id: i64) -> Result<Vec<StepMemberRow>, StoreError> {
        let rows: Vec<(i64, String, String, Option<i64>)> = sqlx::query_as(
            "SELECT m.idx, u.first_name || ' ' || u.last_name, u.email, m.acted_at \
             FROM document_step_members m \
             JOIN users u ON u.id = m.user_id WHERE m.document_id = $1 ORDER BY m.idx, u.email",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(idx, name, email, acted_at)| StepMemberRow {
                idx,
                name,
                email,
                acted: acted_at.is_some(),
            })
            .collect())
    }

    /// The rule of each step of a document, in order.
    pub async fn document_step_rules(&self, id: i64) -> Result<Vec<StepRule>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT rule FROM document_steps WHERE document_id = $1 ORDER BY idx")
                .bind(id)
                .fetch_all(&self.read)
                .await?;
        rows.into_iter()
            .map(|(r,)| {
                StepRule::parse(&r).map_err(|_| {
                    StoreError::Corrupt(decode::Corrupt {
                        column: "document_steps.rule",
                        value: r,
                    })
                })
            })
            .collect()
    }

    pub async fn is_step_member(
        &self,
        id: i64,
        idx: i64,
        user_id: i64,
    ) -> Result<bool, StoreError> {
        let r: Option<(i64,)> = sqlx::query_as(
            "SELECT user_id FROM document_step_members WHERE document_id = $1 AND idx = $2 AND user_id = $3",
        )
        .bind(id)
        .bind(idx)
        .bind(user_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(r.is_some())
    }

    pub async fn annexes(&self, id: i64) -> Result<Vec<AnnexRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, filename, blob_key, size, sha256 FROM annexes WHERE document_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?)
    }

    /// The annex `annex_id` of document `id` (`None` when it is another document's).
    pub async fn annex(&self, id: i64, annex_id: i64) -> Result<Option<AnnexRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, filename, blob_key, size, sha256 FROM annexes WHERE id = $1 AND document_id = $2",
        )
        .bind(annex_id)
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Records the SHA-256 of an annex stored before it was recorded (computed from its file).
    pub async fn set_annex_sha256(&self, annex_id: i64, sha256: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE annexes SET sha256 = $1 WHERE id = $2 AND sha256 IS NULL")
            .bind(sha256)
            .bind(annex_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Applies a transition with optimistic concurrency: `Conflict` if the version moved.
    pub async fn apply_transition(&self, id: i64, t: &TransitionWrite) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        write_transition(&mut tx, id, t).await?;
        tx.commit().await?;
        self.history_cache.invalidate(id);
        Ok(())
    }

    /// Detached signatures of a document, in signing order.
    pub async fn detached_signatures(&self, id: i64) -> Result<Vec<AnnexRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, filename, blob_key, size, sha256 FROM document_signatures WHERE document_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Replaces the metadata and applies the accompanying transition, atomically.
    pub async fn define_metadata(
        &self,
        id: i64,
        items: &[(String, String)],
        t: &TransitionWrite,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM document_metadata WHERE document_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for (ord, (name, value)) in items.iter().enumerate() {
            sqlx::query("INSERT INTO document_metadata (document_id, ord, name, value) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(ord as i64)
                .bind(name)
                .bind(value)
                .execute(&mut *tx)
                .await?;
        }
        write_transition(&mut tx, id, t).await?;
        tx.commit().await?;
        self.history_cache.invalidate(id);
        Ok(())
    }

    pub async fn metadata(&self, id: i64) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, value FROM document_metadata WHERE document_id = $1 ORDER BY ord",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Deletes a document and its rows if its version is still `expected_version`; returns the
    /// blob keys to remove once the deletion is committed.
    pub async fn delete_document(
        &self,
        id: i64,
        expected_version: i64,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.write.begin().await?;
        let mut keys: Vec<String> = sqlx::query_as::<_, (String,)>(
            "SELECT blob_key FROM annexes WHERE document_id = $1 \
                 UNION ALL SELECT blob_key FROM document_signatures WHERE document_id = $1 \
                 UNION ALL SELECT blob_key FROM return_flows WHERE document_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|r| r.0)
        .collect();
        let main: Option<(String,)> = sqlx::query_as(
            "DELETE FROM documents WHERE id = $1 AND version = $2 RETURNING blob_key",
        )
        .bind(id)
        .bind(expected_version)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((main,)) = main else {
            return Err(StoreError::Conflict);
        };
        keys.push(main);
        tx.commit().await?;
        self.history_cache.invalidate(id);
        Ok(keys)
    }
}
