//! Revocation data fetched online for verification (issue 20 §3). When a signer chains to a
//! trust anchor but neither the file nor the internal CA says anything about its revocation,
//! the CRL its CA publishes (the distribution point named in its certificate) is fetched and
//! the verification runs again with it.
//!
//! Only the URLs of certificates that chain to the configured anchors are fetched — so an
//! anonymous upload to `/verifier` cannot make the server fetch an address of its choosing —
//! at most [`MAX_URLS`] per verification, each within [`TIMEOUT`] and [`MAX_CRL_BYTES`]. A CRL
//! that does not parse is dropped; one that parses is still checked by the verification
//! (signed by the certificate's issuer, or ignored). `[signing] online_revocation = false`
//! turns this off (a server without Internet access).

use crate::state::AppState;
use std::time::Duration;

/// CRLs fetched per verification at most.
pub const MAX_URLS: usize = 4;
/// The time one fetch may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// The size of one CRL (a large CA's full CRL is a few megabytes).
pub const MAX_CRL_BYTES: usize = 16 << 20;

/// Runs `judge` (a verification given other CAs' CRLs, DER, and answering its verdict and the
/// CRL URLs of the trusted signers nothing was known about) without any, then, when it names
/// URLs and some can be fetched, again with those CRLs. The last verdict.
pub async fn judged<T, F, Fut>(state: &AppState, judge: F) -> Result<T, crate::error::ApiError>
where
    F: Fn(Vec<Vec<u8>>) -> Fut,
    Fut: std::future::Future<Output = Result<(T, Vec<String>), crate::error::ApiError>>,
{
    let (verdict, urls) = judge(Vec::new()).await?;
    if urls.is_empty() {
        return Ok(verdict);
    }
    let fetched = fetch_crls(state, urls).await;
    if fetched.is_empty() {
        return Ok(verdict);
    }
    Ok(judge(fetched).await?.0)
}

/// The CRLs (DER) at `urls` that could be fetched and parsed; those that could not are logged.
pub async fn fetch_crls(state: &AppState, mut urls: Vec<String>) -> Vec<Vec<u8>> {
    if !state.cfg.signing.online_revocation {
        return Vec::new();
    }
    urls.sort();
    urls.dedup();
    let mut out = Vec::new();
    for url in urls.into_iter().take(MAX_URLS) {
        match fetch(state, &url).await {
            Ok(der) => {
                tracing::info!(%url, bytes = der.len(), "CRL fetched for a verification");
                out.push(der);
            }
            Err(e) => tracing::info!(%url, error = %e, "CRL not fetched"),
        }
    }
    out
}

async fn fetch(state: &AppState, url: &str) -> Result<Vec<u8>, String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err("not an http(s) URL".into());
    }
    let mut answer = state
        .http
        .get(url)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !answer.status().is_success() {
        return Err(format!("HTTP {}", answer.status()));
    }
    if answer
        .content_length()
        .is_some_and(|n| n > MAX_CRL_BYTES as u64)
    {
        return Err(format!("larger than {MAX_CRL_BYTES} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_CRL_BYTES {
            return Err(format!("larger than {MAX_CRL_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    let crl = if body.starts_with(b"-----BEGIN") {
        openssl::x509::X509Crl::from_pem(&body)
    } else {
        openssl::x509::X509Crl::from_der(&body)
    }
    .map_err(|_| "not a CRL".to_owned())?;
    crl.to_der().map_err(|e| e.to_string())
}
