//! What the internal CA revoked (its CRL), shared by every instance.

use crate::{Db, StoreError, now_ms};

impl Db {
    /// Records the revocation of certificate `serial` (hexadecimal); a second call keeps the
    /// first date. Whether this call recorded it.
    pub async fn revoke_certificate(
        &self,
        serial: &str,
        reason: &str,
        user_id: Option<i64>,
        siren: Option<&str>,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "INSERT INTO pki_revocations (serial, revoked_at, reason, user_id, siren) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(serial)
        .bind(now_ms())
        .bind(reason)
        .bind(user_id)
        .bind(siren)
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Every revocation, `(serial, revoked at in ms)`, oldest first.
    pub async fn revocations(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT serial, revoked_at FROM pki_revocations ORDER BY revoked_at, serial",
        )
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn is_revoked(&self, serial: &str) -> Result<bool, StoreError> {
        let r: Option<(i64,)> =
            sqlx::query_as("SELECT revoked_at FROM pki_revocations WHERE serial = $1")
                .bind(serial)
                .fetch_optional(&self.read)
                .await?;
        Ok(r.is_some())
    }
}
