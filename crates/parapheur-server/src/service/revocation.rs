//! Revocation of the certificates the internal CA issued (issue 20 §2): recorded in the
//! database (the CRL of every instance lists it), the key forgotten so that a later signature
//! gets a new one.

use crate::error::ApiError;
use crate::state::AppState;

/// RFC 5280 reason names recorded beside a revocation.
pub const AFFILIATION_CHANGED: &str = "affiliationChanged";
/// The key was replaced (an imported PKCS#12 takes the place of an issued key).
pub const SUPERSEDED: &str = "superseded";

/// A user left subscriber `siren`: the certificate issued to them for it is revoked.
pub async fn user_left(state: &AppState, user_id: i64, siren: &str) -> Result<(), ApiError> {
    let serial = state
        .pki
        .issued_user_serial(user_id, siren)
        .map_err(|e| ApiError::Internal(e.into()))?;
    if let Some(serial) = serial {
        state
            .db
            .revoke_certificate(&serial, AFFILIATION_CHANGED, Some(user_id), Some(siren))
            .await?;
        tracing::info!(user.id = user_id, siren, %serial, "signing certificate revoked");
    }
    state
        .pki
        .forget_issued_user(user_id, siren)
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(())
}

/// The internal CA's OCSP answer to a DER request (RFC 6960).
pub async fn ocsp(state: &AppState, request: &[u8]) -> Result<Vec<u8>, ApiError> {
    let revoked = state.db.revocations().await?;
    Ok(state.pki.ocsp(request, &revoked))
}

/// The CRL of the internal CA (DER).
pub async fn crl(state: &AppState) -> Result<Vec<u8>, ApiError> {
    let revoked = state.db.revocations().await?;
    state
        .pki
        .crl(&revoked)
        .map_err(|e| ApiError::Internal(e.into()))
}
