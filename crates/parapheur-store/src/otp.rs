//! Access links (OTP page, download without an account), OTP signers and one-time codes.

pub use crate::documents::OtpSigner;
use crate::effects::{Effects, write_effects};
use crate::{Db, StoreError, now_ms};
use sqlx::FromRow;

/// A stored access link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub purpose: String,
    pub siren: String,
    pub document_ids: Vec<i64>,
    pub referer: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A one-time code (its hash).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct OtpCode {
    pub id: i64,
    pub code_hash: String,
    pub channel: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub failures: i64,
    pub used: i64,
}

impl Db {
    /// The link whose token hashes to `token_hash`, whatever its expiry.
    pub async fn link(&self, token_hash: &str) -> Result<Option<LinkRow>, StoreError> {
        let row: Option<(String, String, String, Option<String>, i64, i64)> = sqlx::query_as(
            "SELECT purpose, siren, document_ids, referer, created_at, expires_at \
             FROM access_links WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        row.map(|(purpose, siren, ids, referer, created_at, expires_at)| {
            let document_ids = serde_json::from_str(&ids)
                .map_err(|e| StoreError::Unavailable(format!("corrupt link documents: {e}")))?;
            Ok(LinkRow {
                purpose,
                siren,
                document_ids,
                referer,
                created_at,
                expires_at,
            })
        })
        .transpose()
    }

    /// How many codes were sent for each of `ids` since `since_ms`.
    pub async fn otp_sends_since(&self, ids: &[i64], since_ms: i64) -> Result<i64, StoreError> {
        let mut most = 0;
        for id in ids {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM otp_sends WHERE document_id = $1 AND at_ms >= $2",
            )
            .bind(id)
            .bind(since_ms)
            .fetch_one(&self.read)
            .await?;
            most = most.max(n);
        }
        Ok(most)
    }

    /// Records a new code for a link (earlier codes of the link stop working), counts it for
    /// each document, and enqueues its delivery, atomically; unless one of the documents
    /// already had `max_sends` codes since `since_ms`: then nothing is written and the answer
    /// is `false`. The count and the insert are one serialised step (the documents' rows are
    /// locked on PostgreSQL; SQLite has a single writer), so parallel requests cannot exceed
    /// the limit.
    #[allow(clippy::too_many_arguments)]
    pub async fn new_otp_code(
        &self,
        link_hash: &str,
        code_hash: &str,
        channel: &str,
        expires_at: i64,
        document_ids: &[i64],
        limit: (i64, i64),
        effects: &Effects,
    ) -> Result<bool, StoreError> {
        let (max_sends, since_ms) = limit;
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let mut ids = document_ids.to_vec();
        ids.sort_unstable();
        for id in &ids {
            if self.engine == crate::Engine::Postgres {
                sqlx::query("SELECT id FROM documents WHERE id = $1 FOR UPDATE")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM otp_sends WHERE document_id = $1 AND at_ms >= $2",
            )
            .bind(id)
            .bind(since_ms)
            .fetch_one(&mut *tx)
            .await?;
            if n >= max_sends {
                return Ok(false);
            }
        }
        sqlx::query("UPDATE otp_codes SET used = 1 WHERE link_hash = $1 AND used = 0")
            .bind(link_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO otp_codes (link_hash, code_hash, channel, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(link_hash)
        .bind(code_hash)
        .bind(channel)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        for id in document_ids {
            sqlx::query("INSERT INTO otp_sends (document_id, at_ms) VALUES ($1, $2)")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        write_effects(&mut tx, effects).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The link's latest code, if any.
    pub async fn latest_otp_code(&self, link_hash: &str) -> Result<Option<OtpCode>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, code_hash, channel, created_at, expires_at, failures, used FROM otp_codes \
             WHERE link_hash = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(link_hash)
        .fetch_optional(&self.write)
        .await?)
    }

    /// Counts a wrong code; returns the failures so far.
    pub async fn otp_code_failed(&self, id: i64) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "UPDATE otp_codes SET failures = failures + 1 WHERE id = $1 RETURNING failures",
        )
        .bind(id)
        .fetch_one(&self.write)
        .await?;
        Ok(n)
    }

    /// Consumes a code: true for exactly one caller, while it is unused, unexpired and not locked.
    pub async fn use_otp_code(&self, id: i64, max_failures: i64) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE otp_codes SET used = 1 WHERE id = $1 AND used = 0 AND failures < $2 AND expires_at > $3",
        )
        .bind(id)
        .bind(max_failures)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected() == 1)
    }
}
