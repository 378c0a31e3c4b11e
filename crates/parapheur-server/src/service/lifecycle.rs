//! Replacement of the main file, comments, annexes added during the circuit, interruption by
//! an administrator, and the retention purge.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::files::{Upload, check_content, unpack};
use crate::service::access::{self, load, workflow};
use crate::service::transition::{self, By, Change, Notices, Payload};
use crate::state::AppState;
use parapheur_domain::DocumentId;
use parapheur_store::documents::{DocumentRow, NewFile};
use serde_json::{Value, json};

const MAX_COMMENT: usize = 4000;

fn not_purged(doc: &DocumentRow) -> Result<(), ApiError> {
    if doc.purged_at.is_some() {
        Err(ApiError::ContentPurged)
    } else {
        Ok(())
    }
}

/// `POST /api/v1/documents/{id}/replace`: the depositor (or an administrator) replaces the main
/// file; the previous one is kept as a version; "Document remplacé"; the circuit starts again.
pub async fn replace(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
    file: Upload,
) -> Result<(), ApiError> {
    let doc = load(state, caller, id).await?;
    access::may_manage(caller, &doc)?;
    let w = workflow(state, &doc).await?;
    let t = w.replaced(doc.acted)?;
    let (main, _) = unpack(file, state.cfg.max_upload_bytes)?;
    let ctype = doc.circuit_type;
    let ext = main.name.extension().unwrap_or_default();
    let old_ext = doc
        .filename
        .rsplit_once('.')
        .map(|(_, e)| e)
        .unwrap_or_default();
    if !ext.eq_ignore_ascii_case(old_ext) {
        return Err(ApiError::FormatRefused(format!(
            "{} (the replaced document is a .{old_ext})",
            main.name
        )));
    }
    let checked = main.clone();
    tokio::task::spawn_blocking(move || check_content(&checked))
        .await
        .map_err(anyhow::Error::from)??;
    if ctype.is_pes() {
        parapheur_domain::pes::inspect_pes_aller(&main.bytes)?;
    }
    let stored = crate::service::put_blob(state, main.bytes.clone()).await?;
    let change = Change::by(By::caller(caller)).with(Payload::Replacement {
        name: main.name.to_string(),
        new: stored,
    });
    transition::apply(state, &doc, &w.steps, &t, change).await?;
    tracing::info!(document.id = doc.id, "document replaced");
    Ok(())
}

/// `POST /api/v1/documents/{id}/comments`.
pub async fn comment(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
    text: &str,
) -> Result<i64, ApiError> {
    let doc = load(state, caller, id).await?;
    if !access::participates(state, caller, &doc).await? {
        return Err(ApiError::Forbidden);
    }
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_COMMENT {
        return Err(ApiError::BadParameter(format!(
            "text: 1 to {MAX_COMMENT} characters"
        )));
    }
    Ok(state
        .db
        .add_comment(doc.id, caller.user_id, &caller.full_name, text)
        .await?)
}

/// `GET /api/v1/documents/{id}/comments`.
pub async fn comments(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
) -> Result<Value, ApiError> {
    let doc = load(state, caller, id).await?;
    let list: Vec<Value> = state
        .db
        .comments(doc.id)
        .await?
        .into_iter()
        .map(|c| {
            json!({"id": c.id, "author": c.author, "text": c.text,
                   "date": crate::service::iso_date(c.at_ms)})
        })
        .collect();
    Ok(Value::Array(list))
}

/// `POST /api/v1/documents/{id}/annexes`: while the document is not classified.
pub async fn annex(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
    file: Upload,
) -> Result<i64, ApiError> {
    let doc = load(state, caller, id).await?;
    if !access::participates(state, caller, &doc).await? {
        return Err(ApiError::Forbidden);
    }
    not_purged(&doc)?;
    if doc.status == parapheur_domain::DocumentStatus::Classified {
        return Err(ApiError::InvalidState(
            "annexes: the document is classified".into(),
        ));
    }
    if file.bytes.is_empty() {
        return Err(ApiError::InvalidFile(format!(
            "{}: the annex is empty",
            file.name
        )));
    }
    let stored = crate::service::put_blob(state, file.bytes.clone()).await?;
    let f = NewFile::stored(file.name.to_string(), &stored);
    match state.db.add_annex(doc.id, &f).await {
        Ok(id) => Ok(id),
        Err(e) => {
            let e = ApiError::from(e);
            crate::service::discard_uncommitted(state, &e, vec![stored.key.clone()]).await;
            Err(e)
        }
    }
}

/// `POST /api/v1/documents/{id}/interrupt`: an administrator stops the circuit.
pub async fn interrupt(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
    comment: Option<String>,
) -> Result<(), ApiError> {
    let doc = load(state, caller, id).await?;
    if !caller.is_admin(&doc.siren) {
        return Err(ApiError::Forbidden);
    }
    let w = workflow(state, &doc).await?;
    let t = w.interrupted(comment)?;
    let change = Change::by(By::caller(caller)).notices(Notices::Silent);
    transition::apply(state, &doc, &w.steps, &t, change).await?;
    tracing::info!(document.id = doc.id, "circuit interrupted");
    Ok(())
}

/// Purges the content of documents classified more than `[retention] purge_after_days` ago.
pub async fn purge_due(state: &AppState) -> Result<usize, ApiError> {
    let days = i64::from(state.cfg.retention.purge_after_days);
    if days == 0 {
        return Ok(0);
    }
    let cutoff = parapheur_store::now_ms() - days * 86_400_000;
    let mut n = 0;
    for id in state.db.documents_to_purge(cutoff).await? {
        let keys = state.db.purge_document(id).await?;
        if keys.is_empty() {
            continue;
        }
        let res = state.blobs.delete_all(&keys).await.len();
        if res > 0 {
            tracing::warn!(
                document.id = id,
                failed = res,
                "purged, but some files could not be removed"
            );
        }
        tracing::info!(document.id = id, "document content purged (retention)");
        n += 1;
    }
    Ok(n)
}

/// Deletes the stored files no row refers to and older than `[retention] orphan_blob_age_s`:
/// left by a crash between a commit and the deletion of the files it unlinked, or by a deposit
/// that failed after writing its files. The age keeps files of writes in progress (their row is
/// committed within seconds) out of reach. Returns how many were deleted.
pub async fn sweep_orphan_blobs(state: &AppState) -> Result<usize, ApiError> {
    let age = state.cfg.retention.orphan_blob_age_s;
    if age == 0 {
        return Ok(0);
    }
    let cutoff = std::time::SystemTime::now() - std::time::Duration::from_secs(age);
    let started = std::time::Instant::now();
    let r = parapheur_store::sweep::sweep_orphans(
        &state.db,
        &state.blobs,
        cutoff,
        parapheur_store::sweep::CHUNK,
    )
    .await?;
    tracing::info!(
        candidates = r.candidates,
        deleted = r.deleted,
        failed = r.failed,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "orphan sweep done"
    );
    Ok(r.deleted as usize)
}

/// Runs the purge (when a retention is configured) every `[retention] check_interval_s`, and
/// the orphan sweep (unless disabled) every `orphan_sweep_interval_s`: it lists every stored
/// file, so it runs rarely, and its first run waits one check interval rather than competing
/// with the start-up.
pub fn spawn_purge(state: AppState) {
    let r = &state.cfg.retention;
    if r.purge_after_days == 0 && r.orphan_blob_age_s == 0 {
        return;
    }
    tokio::spawn(async move {
        let r = &state.cfg.retention;
        let every = std::time::Duration::from_secs(r.check_interval_s.max(1));
        let sweep_every = std::time::Duration::from_secs(r.orphan_sweep_interval_s.max(1));
        let mut next_sweep = tokio::time::Instant::now() + every;
        loop {
            if let Err(e) = purge_due(&state).await {
                tracing::error!(error = %e, "retention purge failed");
            }
            if tokio::time::Instant::now() >= next_sweep {
                if let Err(e) = sweep_orphan_blobs(&state).await {
                    tracing::error!(error = %e, "orphan file sweep failed");
                }
                next_sweep = tokio::time::Instant::now() + sweep_every;
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// Housekeeping, hourly: delivered jobs, finished portal batches, delivered webhook events and
/// digest claims older than `[jobs] keep_done_days` are deleted (expired sessions go at each
/// login).
pub fn spawn_housekeeping(state: AppState) {
    let days = i64::from(state.cfg.jobs.keep_done_days);
    if days == 0 {
        return;
    }
    tokio::spawn(async move {
        loop {
            let cutoff = parapheur_store::now_ms() - days * 86_400_000;
            match state.db.prune_done_jobs(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(jobs = n, "delivered jobs pruned"),
                Err(e) => tracing::error!(error = %e, "pruning delivered jobs failed"),
            }
            if let Err(e) = state.db.prune_batches(cutoff).await {
                tracing::error!(error = %e, "pruning portal batches failed");
            }
            // Delivered webhook events and past digest claims (failed deliveries stay until an
            // administrator replays them or they age out with the same delay times four).
            let digest_day = (crate::clock::now().date_naive() - chrono::Duration::days(days + 1))
                .format("%Y-%m-%d")
                .to_string();
            if let Err(e) = state
                .db
                .prune_webhooks_and_digests(cutoff, &digest_day)
                .await
            {
                tracing::error!(error = %e, "pruning webhook deliveries failed");
            }
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    });
}
