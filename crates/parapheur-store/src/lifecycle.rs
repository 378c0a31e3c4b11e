//! The rest of a document's life: replacement (earlier versions kept), comments, annexes added
//! later, the vault deposit of archive steps, and the retention purge.

use crate::documents::{NewFile, TransitionWrite, write_transition};
pub use crate::effects::ArchiveRecord;
use crate::{Db, StoreError, now_ms};
use parapheur_domain::DocumentStatus;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CommentRow {
    pub id: i64,
    pub user_id: Option<i64>,
    pub author: String,
    pub text: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct VersionRow {
    pub id: i64,
    pub filename: String,
    pub blob_key: String,
    pub size: i64,
    pub sha256: String,
    pub replaced_at: i64,
}

/// The tables whose rows name a stored file (column `blob_key`, each indexed by it: migration
/// 0024): what the orphan sweep, the backup and the references' listings look at.
const FILE_TABLES: [&str; 5] = [
    "documents",
    "annexes",
    "document_signatures",
    "document_versions",
    "return_flows",
];

impl Db {
    /// Replaces the main file: the current one becomes a version, the new one is the document,
    /// nobody has acted any more, and the transition (the circuit starting again) is written.
    pub async fn replace_main_file(
        &self,
        id: i64,
        current: &NewFile,
        new: &NewFile,
        t: &TransitionWrite,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        write_transition(&mut tx, id, t).await?;
        sqlx::query(
            "INSERT INTO document_versions (document_id, filename, blob_key, size, sha256, replaced_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(&current.filename)
        .bind(&current.blob_key)
        .bind(current.size)
        .bind(&current.sha256)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        let r = sqlx::query(
            "UPDATE documents SET filename = $1, blob_key = $2, size = $3, sha256 = $4, acted = 0, \
             digest_state = $5 WHERE id = $6",
        )
        .bind(&new.filename)
        .bind(&new.blob_key)
        .bind(new.size)
        .bind(&new.sha256)
        .bind(&new.digest_state)
        .bind(id)
        .execute(&mut *tx)
        .await;
        match r {
            Ok(_) => {}
            Err(e) if StoreError::is_unique_violation(&e) => return Err(StoreError::Duplicate),
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        self.history_cache.invalidate(id);
        Ok(())
    }

    pub async fn versions(&self, id: i64) -> Result<Vec<VersionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, filename, blob_key, size, sha256, replaced_at FROM document_versions \
             WHERE document_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn add_comment(
        &self,
        id: i64,
        user_id: i64,
        author: &str,
        text: &str,
    ) -> Result<i64, StoreError> {
        let (cid,): (i64,) = sqlx::query_as(
            "INSERT INTO comments (document_id, user_id, author, text, at_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(id)
        .bind(user_id)
        .bind(author)
        .bind(text)
        .bind(now_ms())
        .fetch_one(&self.write)
        .await?;
        Ok(cid)
    }

    pub async fn comments(&self, id: i64) -> Result<Vec<CommentRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, user_id, author, text, at_ms FROM comments WHERE document_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn add_annex(&self, id: i64, f: &NewFile) -> Result<i64, StoreError> {
        let (aid,): (i64,) = sqlx::query_as(
            "INSERT INTO annexes (document_id, filename, blob_key, size, sha256) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(id)
        .bind(&f.filename)
        .bind(&f.blob_key)
        .bind(f.size)
        .bind(&f.sha256)
        .fetch_one(&self.write)
        .await?;
        Ok(aid)
    }

    /// Where an archive step deposited the document, if it did.
    pub async fn archive(&self, id: i64) -> Result<Option<ArchiveRecord>, StoreError> {
        let r: Option<(String, String)> =
            sqlx::query_as("SELECT location, manifest_sha256 FROM archives WHERE document_id = $1")
                .bind(id)
                .fetch_optional(&self.read)
                .await?;
        Ok(r.map(|(location, manifest_sha256)| ArchiveRecord {
            location,
            manifest_sha256,
        }))
    }

    /// Every blob key a row of [`FILE_TABLES`] refers to, read in one statement: one
    /// consistent snapshot. It holds them all in
    /// memory: the server walks them with [`Self::referenced_blob_keys_after`] instead; this one
    /// is the reference the housekeeping bench measures against.
    pub async fn referenced_blob_keys(
        &self,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let sql = FILE_TABLES
            .iter()
            .map(|t| format!("SELECT blob_key FROM {t}"))
            .collect::<Vec<_>>()
            .join(" UNION ");
        let rows: Vec<(String,)> = sqlx::query_as(&sql).fetch_all(&self.read).await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Up to `limit` blob keys a row refers to (the tables of [`Self::referenced_blob_keys`]),
    /// the first ones after `after` in key order, each once: a caller walks every reference a
    /// page at a time (the next page starts after the last key of this one) in memory bounded
    /// by the page, whatever the base holds. Each table's `blob_key` index (migration 0024) is
    /// walked in order and the walk stops at the page.
    pub async fn referenced_blob_keys_after(
        &self,
        after: &str,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let sql = format!(
            "{} ORDER BY 1 LIMIT {}",
            FILE_TABLES
                .iter()
                .map(|t| format!("SELECT blob_key FROM {t} WHERE blob_key > $1"))
                .collect::<Vec<_>>()
                .join(" UNION "),
            limit.max(1)
        );
        Ok(sqlx::query_as::<_, (String,)>(&sql)
            .bind(after)
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect())
    }

    /// The keys of `keys` no row refers to (documents, annexes, detached signatures, earlier
    /// versions, return flows), so that the orphan sweep checks a chunk of the store at a time
    /// instead of loading every reference: each key is looked up in each table's `blob_key`
    /// index (migration 0024) and the orphans come back from the statement itself.
    pub async fn unreferenced_blob_keys(&self, keys: &[String]) -> Result<Vec<String>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let values = (1..=keys.len())
            .map(|i| format!("(${i})"))
            .collect::<Vec<_>>()
            .join(", ");
        let absent = FILE_TABLES
            .iter()
            .map(|t| format!("NOT EXISTS (SELECT 1 FROM {t} r WHERE r.blob_key = v.k)"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let sql = format!("WITH v(k) AS (VALUES {values}) SELECT v.k FROM v WHERE {absent}");
        let mut q = sqlx::query_as::<_, (String,)>(&sql);
        for k in keys {
            q = q.bind(k);
        }
        Ok(q.fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect())
    }

    /// Classified documents whose content is older than `cutoff_ms` and not purged yet.
    pub async fn documents_to_purge(&self, cutoff_ms: i64) -> Result<Vec<i64>, StoreError> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM documents WHERE status = $2 AND purged_at IS NULL \
             AND updated_at < $1 ORDER BY id LIMIT 1000",
        )
        .bind(cutoff_ms)
        .bind(DocumentStatus::Classified.as_str())
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Purges a document's content: its files (main, annexes, detached signatures, earlier
    /// versions, acknowledgements) are unlinked and the document is marked purged; its history,
    /// comments and metadata remain. Returns the blob keys to delete (none if already purged).
    pub async fn purge_document(&self, id: i64) -> Result<Vec<String>, StoreError> {
        let mut tx = self.write.begin().await?;
        let main: Option<(String,)> = sqlx::query_as(
            "SELECT blob_key FROM documents WHERE id = $1 AND purged_at IS NULL AND status = $2",
        )
        .bind(id)
        .bind(DocumentStatus::Classified.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((main,)) = main else {
            return Ok(Vec::new());
        };
        let r = sqlx::query(
            "UPDATE documents SET purged_at = $1, blob_key = '', digest_state = NULL, version = version + 1 \
             WHERE id = $2 AND purged_at IS NULL AND status = $3",
        )
        .bind(now_ms())
        .bind(id)
        .bind(DocumentStatus::Classified.as_str())
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(Vec::new());
        }
        let mut keys: Vec<String> = sqlx::query_as::<_, (String,)>(
            "SELECT blob_key FROM annexes WHERE document_id = $1 \
             UNION ALL SELECT blob_key FROM document_signatures WHERE document_id = $1 \
             UNION ALL SELECT blob_key FROM document_versions WHERE document_id = $1 \
             UNION ALL SELECT blob_key FROM return_flows WHERE document_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|r| r.0)
        .collect();
        for table in [
            "annexes",
            "document_signatures",
            "document_versions",
            "return_flows",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE document_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        keys.push(main);
        keys.retain(|k| !k.is_empty());
        Ok(keys)
    }
}
