//! The OTP signers of a document (one per OTPSignature step): written with the deposit or by
//! their own transition, read by the OTP page.

use super::{TransitionWrite, write_transition};
use crate::{Db, StoreError};
use sqlx::{Any, FromRow, Transaction};

/// The signer of one OTPSignature step.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct OtpSigner {
    pub ordinal: i64,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub email: String,
}

pub(crate) async fn write_signers(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    signers: &[OtpSigner],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM otp_signers WHERE document_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for s in signers {
        sqlx::query(
            "INSERT INTO otp_signers (document_id, ordinal, first_name, last_name, phone, email) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(s.ordinal)
        .bind(&s.first_name)
        .bind(&s.last_name)
        .bind(&s.phone)
        .bind(&s.email)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Db {
    /// Replaces the OTP signers of a document and applies the accompanying transition.
    pub async fn define_otp_signers(
        &self,
        id: i64,
        signers: &[OtpSigner],
        t: &TransitionWrite,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        write_signers(&mut tx, id, signers).await?;
        write_transition(&mut tx, id, t).await?;
        tx.commit().await?;
        self.history_cache.invalidate(id);
        Ok(())
    }

    pub async fn otp_signers(&self, id: i64) -> Result<Vec<OtpSigner>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT ordinal, first_name, last_name, phone, email FROM otp_signers \
             WHERE document_id = $1 ORDER BY ordinal",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?)
    }
}
