//! Verification codes: an unguessable code per document, printed on what the parapheur
//! produces (the stamp, the fiche de circulation), that lets anyone holding the paper see the
//! document's signatures at `/verifier/{code}`.

use crate::{Db, StoreError};

impl Db {
    /// The document's code: the one it has (read without touching the writer, as every
    /// signature after the first asks again), or `fresh` recorded as its code (one statement,
    /// so two instances asking at once agree on the first one written).
    pub async fn verification_code(
        &self,
        document_id: i64,
        fresh: &str,
    ) -> Result<String, StoreError> {
        let known: Option<(String,)> =
            sqlx::query_as("SELECT code FROM verification_codes WHERE document_id = $1")
                .bind(document_id)
                .fetch_optional(&self.read)
                .await?;
        if let Some((code,)) = known {
            return Ok(code);
        }
        sqlx::query(
            "INSERT INTO verification_codes (code, document_id) VALUES ($1, $2) \
             ON CONFLICT (document_id) DO NOTHING",
        )
        .bind(fresh)
        .bind(document_id)
        .execute(&self.write)
        .await?;
        let (code,): (String,) =
            sqlx::query_as("SELECT code FROM verification_codes WHERE document_id = $1")
                .bind(document_id)
                .fetch_one(&self.write)
                .await?;
        Ok(code)
    }

    /// The document a code designates.
    pub async fn document_of_verification_code(
        &self,
        code: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_as::<_, (i64,)>(
            "SELECT document_id FROM verification_codes WHERE code = $1",
        )
        .bind(code)
        .fetch_optional(&self.read)
        .await?
        .map(|(id,)| id))
    }
}
