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

    /// Every revocation with its reason, `(serial, revoked at in ms, RFC 5280 reason name)`.
    pub async fn revocations_with_reasons(&self) -> Result<Vec<(String, i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT serial, revoked_at, reason FROM pki_revocations ORDER BY revoked_at, serial",
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

/// A credential as the database keeps it: PEM texts, the key PKCS#8 (encrypted when a
/// passphrase is configured), the chain leaf first.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredCredential {
    pub private_key: String,
    pub chain: String,
    /// Set when the internal CA issued the leaf (upper-case hexadecimal).
    pub serial: Option<String>,
}

/// The internal CA's own key and certificate (PEM).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredAuthority {
    pub certificate: String,
    pub private_key: String,
}

impl Db {
    /// The internal CA, once created.
    pub async fn pki_authority(&self) -> Result<Option<StoredAuthority>, StoreError> {
        Ok(
            sqlx::query_as("SELECT certificate, private_key FROM pki_authority WHERE id = 1")
                .fetch_optional(&self.write)
                .await?,
        )
    }

    /// Records the internal CA unless one exists (instances starting together on an empty
    /// database agree on the first one written); the CA that is now recorded.
    pub async fn create_pki_authority(
        &self,
        candidate: &StoredAuthority,
    ) -> Result<StoredAuthority, StoreError> {
        sqlx::query(
            "INSERT INTO pki_authority (id, certificate, private_key, created_at) \
             VALUES (1, $1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(&candidate.certificate)
        .bind(&candidate.private_key)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        self.pki_authority()
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Replaces the stored form of the CA's key (encrypted once a passphrase is configured).
    pub async fn rewrite_pki_authority_key(&self, private_key: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE pki_authority SET private_key = $1 WHERE id = 1")
            .bind(private_key)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The current credential `name`.
    pub async fn pki_credential(&self, name: &str) -> Result<Option<StoredCredential>, StoreError> {
        Ok(
            sqlx::query_as(
                "SELECT private_key, chain, serial FROM pki_credentials WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(&self.write)
            .await?,
        )
    }

    /// Records a credential the internal CA just issued under `name`, unless another instance
    /// recorded one first; the credential now recorded (theirs or this one). The certificate
    /// `leaf` (PEM) goes into the log of issued certificates when this one won.
    pub async fn issue_pki_credential(
        &self,
        name: &str,
        credential: &StoredCredential,
        leaf: &str,
    ) -> Result<StoredCredential, StoreError> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let won = sqlx::query(
            "INSERT INTO pki_credentials (name, private_key, chain, serial, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(&credential.private_key)
        .bind(&credential.chain)
        .bind(&credential.serial)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if let (true, Some(serial)) = (won, &credential.serial) {
            sqlx::query(
                "INSERT INTO pki_issued (serial, credential, certificate, issued_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(serial)
            .bind(name)
            .bind(leaf)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.pki_credential(name)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Installs a credential under `name`, replacing any previous one (an imported PKCS#12,
    /// or a key re-encrypted at rest).
    pub async fn put_pki_credential(
        &self,
        name: &str,
        credential: &StoredCredential,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pki_credentials (name, private_key, chain, serial, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE SET \
             private_key = excluded.private_key, chain = excluded.chain, \
             serial = excluded.serial, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(&credential.private_key)
        .bind(&credential.chain)
        .bind(&credential.serial)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Forgets the credential `name` (its certificate stays in the log of issued ones).
    pub async fn delete_pki_credential(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM pki_credentials WHERE name = $1")
            .bind(name)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Adds a certificate the internal CA issued to the log (files of an earlier version
    /// imported into the database).
    pub async fn log_issued_certificate(
        &self,
        serial: &str,
        name: &str,
        leaf: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pki_issued (serial, credential, certificate, issued_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(serial)
        .bind(name)
        .bind(leaf)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Whether the internal CA issued the certificate `serial` (what its OCSP responder
    /// answers `good` or `revoked` for; any other serial is `unknown`).
    pub async fn was_issued(&self, serial: &str) -> Result<bool, StoreError> {
        let r: Option<(String,)> =
            sqlx::query_as("SELECT serial FROM pki_issued WHERE serial = $1")
                .bind(serial)
                .fetch_optional(&self.read)
                .await?;
        Ok(r.is_some())
    }
}
