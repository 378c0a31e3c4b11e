//! Unguessable tokens for people without an account (OTP page, download of a signed file).
//! The token (256 random bits, URL-safe base64) appears only in the link; the database keeps
//! its SHA-256, so reading the database does not give working links. Resolves download links.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Purposes of access links.
pub const OTP: &str = "otp";
pub const DOWNLOAD: &str = "download";

/// A fresh token and its hash.
pub fn new_token() -> (String, String) {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let hash = hash(&token);
    (token, hash)
}

/// The stored form of a token.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `s` looks like one of our tokens (43 URL-safe characters): anything else is
/// answered without touching the database.
pub fn well_formed(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// Why a download link gives no document.
#[derive(Debug, thiserror::Error)]
pub enum DownloadLinkError {
    /// Unknown, malformed, expired, or not a download link.
    #[error("invalid download link")]
    Invalid,
    /// The document was deleted or its content purged.
    #[error("the document is no longer available")]
    Removed,
    #[error(transparent)]
    Store(#[from] parapheur_store::StoreError),
}

/// The document a download link (sent with a signed document) gives.
pub async fn download_document(
    state: &crate::state::AppState,
    token: &str,
) -> Result<parapheur_store::documents::DocumentRow, DownloadLinkError> {
    if !well_formed(token) {
        return Err(DownloadLinkError::Invalid);
    }
    let link = state
        .db
        .link(&hash(token))
        .await?
        .filter(|l| l.purpose == DOWNLOAD && l.expires_at > parapheur_store::now_ms())
        .ok_or(DownloadLinkError::Invalid)?;
    let id = link
        .document_ids
        .first()
        .copied()
        .ok_or(DownloadLinkError::Invalid)?;
    state
        .db
        .document(id)
        .await?
        .filter(|d| d.siren == link.siren && d.purged_at.is_none())
        .ok_or(DownloadLinkError::Removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(well_formed(&a) && well_formed(&b));
        assert_eq!(ha, hash(&a));
        assert_ne!(ha, a);
        assert!(!well_formed("short"));
        assert!(!well_formed(&format!("{}/", &a[..42])));
    }
}
