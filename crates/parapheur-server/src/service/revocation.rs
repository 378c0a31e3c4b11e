//! Revocation of the certificates the internal CA issued (issue 20 §2): recorded in the
//! database (the CRL of every instance lists it), the key forgotten so that a later signature
//! gets a new one.

use crate::error::ApiError;
use crate::state::AppState;
use std::collections::HashMap;

/// RFC 5280 reason names recorded beside a revocation.
pub const AFFILIATION_CHANGED: &str = "affiliationChanged";
/// The key was replaced (an imported PKCS#12 takes the place of an issued key).
pub const SUPERSEDED: &str = "superseded";

/// A user left subscriber `siren`: the certificate issued to them for it is revoked.
pub async fn user_left(state: &AppState, user_id: i64, siren: &str) -> Result<(), ApiError> {
    let serial = state
        .pki
        .issued_user_serial(user_id, siren)
        .await
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
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(())
}

/// At most this many certificates of one OCSP request are looked up in the log of issued
/// certificates; the others are answered `unknown`.
const OCSP_LOOKUPS: usize = 32;

/// The RFC 5280 reason of a recorded revocation.
fn reason(name: &str) -> Option<parapheur_sign::ocsp::CrlReason> {
    use parapheur_sign::ocsp::CrlReason;
    Some(match name {
        AFFILIATION_CHANGED => CrlReason::AffiliationChanged,
        SUPERSEDED => CrlReason::Superseded,
        "keyCompromise" => CrlReason::KeyCompromise,
        "cessationOfOperation" => CrlReason::CessationOfOperation,
        "privilegeWithdrawn" => CrlReason::PrivilegeWithdrawn,
        "unspecified" => CrlReason::Unspecified,
        _ => return None,
    })
}

/// The internal CA's OCSP answer to a DER request (RFC 6960): `revoked` (with the date and
/// reason) for a revoked certificate, `good` for one it issued, `unknown` for any other serial.
pub async fn ocsp(state: &AppState, request: &[u8]) -> Result<Vec<u8>, ApiError> {
    use parapheur_sign::ocsp::Status;
    let mut status: HashMap<String, Status> = HashMap::new();
    for serial in parapheur_sign::ocsp::requested_serials(request)
        .into_iter()
        .take(OCSP_LOOKUPS)
    {
        let issued = state
            .pki
            .was_issued(&serial)
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        if issued {
            status.insert(serial, Status::Good);
        }
    }
    for (serial, at, why) in state.db.revocations_with_reasons().await? {
        status.insert(
            serial,
            Status::Revoked {
                at: at / 1000,
                reason: reason(&why),
            },
        );
    }
    Ok(state.pki.ocsp(request, &status))
}

/// The CRL of the internal CA (DER).
pub async fn crl(state: &AppState) -> Result<Vec<u8>, ApiError> {
    let revoked: Vec<_> = state
        .db
        .revocations_with_reasons()
        .await?
        .into_iter()
        .map(|(serial, at, why)| (serial, at, reason(&why)))
        .collect();
    state
        .pki
        .crl_with_reasons(&revoked)
        .map_err(|e| ApiError::Internal(e.into()))
}
