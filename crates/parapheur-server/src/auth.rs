//! HTTP Basic authentication with argon2id hashes, behind a short-lived cache of verified
//! credentials so that a hash is not recomputed on every request.

use crate::error::{ApiError, FastError};
use crate::state::AppState;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a verified credential is trusted without re-hashing.
const CACHE_TTL: Duration = Duration::from_secs(30);
const CACHE_MAX: usize = 10_000;
/// How long before expiry one request re-verifies a credential in use.
const REFRESH_BEFORE: Duration = Duration::from_secs(5);

/// The authenticated user and the subscribers they belong to.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub email: String,
    pub full_name: String,
    /// `(siren, is_admin)`.
    pub memberships: Vec<(String, bool)>,
}

impl Caller {
    pub fn is_member(&self, siren: &str) -> bool {
        self.memberships.iter().any(|(s, _)| s == siren)
    }
    pub fn is_admin(&self, siren: &str) -> bool {
        self.memberships.iter().any(|(s, a)| s == siren && *a)
    }
}

/// Verified credentials, keyed by a keyed hash of e-mail and password (never the password).
#[derive(Debug)]
pub struct AuthCache {
    key: [u8; 32],
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

/// A verified credential: when it was verified, and whether a request is re-verifying it.
#[derive(Debug)]
struct Entry {
    caller: Caller,
    at: Instant,
    refreshing: bool,
}

/// What the cache says of a credential.
enum Lookup {
    /// Valid: use it.
    Hit(Caller),
    /// Valid but near its end: this request re-verifies while the others keep using it, so
    /// a busy credential never expires for everybody at once.
    Refresh,
    Miss,
}

impl Default for AuthCache {
    fn default() -> Self {
        Self {
            key: rand::random(),
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl AuthCache {
    fn digest(&self, email: &str, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(email.as_bytes());
        h.update([0u8]);
        h.update(password.as_bytes());
        h.finalize().into()
    }
    fn get(&self, k: &[u8; 32]) -> Lookup {
        let Ok(mut map) = self.entries.lock() else {
            return Lookup::Miss;
        };
        match map.get_mut(k) {
            Some(e) if e.at.elapsed() < CACHE_TTL - REFRESH_BEFORE => Lookup::Hit(e.caller.clone()),
            Some(e) if e.at.elapsed() < CACHE_TTL => {
                if e.refreshing {
                    Lookup::Hit(e.caller.clone())
                } else {
                    e.refreshing = true;
                    Lookup::Refresh
                }
            }
            Some(_) | None => Lookup::Miss,
        }
    }
    /// Forgets every verified credential (after memberships or passwords change).
    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.lock() {
            map.clear();
        }
    }
    fn remove(&self, k: &[u8; 32]) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(k);
        }
    }

    fn put(&self, k: [u8; 32], c: Caller) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= CACHE_MAX {
                map.retain(|_, e| e.at.elapsed() < CACHE_TTL);
                if map.len() >= CACHE_MAX {
                    map.clear();
                }
            }
            map.insert(
                k,
                Entry {
                    caller: c,
                    at: Instant::now(),
                    refreshing: false,
                },
            );
        }
    }
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// Checks a password against its argon2 hash (blocking: call from a blocking thread).
pub fn check_password(hash: &str, password: &str) -> bool {
    verify_password(hash, password)
}

fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn parse_basic(parts: &Parts) -> Option<(String, String)> {
    let v = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.trim().to_lowercase(), p.to_owned()))
}

/// The client certificate forwarded by a trusted reverse proxy (`[tls] proxy_cert_header`,
/// URL-escaped PEM as nginx's `$ssl_client_escaped_cert`), verified against `client_ca`.
fn proxied_certificate(state: &AppState, parts: &Parts) -> Option<Vec<u8>> {
    let header = &state.cfg.tls.proxy_cert_header;
    if header.is_empty() {
        return None;
    }
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?
        .0;
    if !crate::tls::trusted(&state.cfg.tls.trusted_proxies, peer) {
        return None;
    }
    let raw = parts.headers.get(header.as_str())?.to_str().ok()?;
    let pem = percent_decode(raw);
    let cert = openssl::x509::X509::from_pem(pem.as_bytes()).ok()?;
    let store = state.client_ca.as_ref()?;
    let chain = openssl::stack::Stack::new().ok()?;
    let mut ctx = openssl::x509::X509StoreContext::new().ok()?;
    let ok = ctx
        .init(&store.0, &cert, &chain, |c| c.verify_cert())
        .unwrap_or(false);
    if !ok {
        tracing::info!(%peer, "forwarded client certificate refused");
        return None;
    }
    cert.to_der().ok()
}

pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The caller a user is: identity and subscriber memberships.
pub async fn caller_of(
    state: &AppState,
    user: &parapheur_store::accounts::UserRow,
) -> Result<Caller, ApiError> {
    let memberships = state
        .db
        .memberships(user.id)
        .await?
        .into_iter()
        .map(|m| (m.siren, m.is_admin != 0))
        .collect();
    Ok(Caller {
        user_id: user.id,
        email: user.email.clone(),
        full_name: user.full_name(),
        memberships,
    })
}

/// The CERTIFICAT user of a verified client certificate: the one whose registered certificate
/// is this one, else the one whose e-mail is the certificate's.
pub async fn authenticate_certificate(state: &AppState, der: &[u8]) -> Result<Caller, ApiError> {
    let k = state
        .auth
        .digest("\u{0}certificate", &hex::encode(Sha256::digest(der)));
    if let Lookup::Hit(c) = state.auth.get(&k) {
        return Ok(c);
    }
    let email = crate::tls::certificate_email(der);
    let users = state.db.certificate_users().await?;
    let registered = users.iter().find(|(_, _, pem)| {
        pem.as_deref()
            .and_then(|p| openssl::x509::X509::from_pem(p.as_bytes()).ok())
            .and_then(|x| x.to_der().ok())
            .is_some_and(|d| d == der)
    });
    let by_email = || {
        users
            .iter()
            .find(|(_, e, _)| email.as_deref() == Some(e.as_str()))
    };
    let Some((id, _, _)) = registered.or_else(by_email) else {
        tracing::info!(certificate.email = ?email, "no CERTIFICAT user for this certificate");
        return Err(ApiError::Unauthenticated);
    };
    let user = state
        .db
        .user_by_id(*id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let caller = caller_of(state, &user).await?;
    state.auth.put(k, caller.clone());
    Ok(caller)
}

/// The caller a verified client certificate names (direct TLS or a trusted proxy's header),
/// whatever else the request carries; `None` when there is no certificate.
pub async fn certificate_caller(
    state: &AppState,
    parts: &Parts,
) -> Option<Result<Caller, ApiError>> {
    if let Some(c) = parts.extensions.get::<crate::tls::ClientCertificate>() {
        return Some(authenticate_certificate(state, &c.0).await);
    }
    let der = proxied_certificate(state, parts)?;
    Some(authenticate_certificate(state, &der).await)
}

/// Authenticates the request: HTTP Basic when the header is there, else the TLS client
/// certificate (or the one a trusted proxy forwards); otherwise `Unauthenticated`.
pub async fn authenticate(state: &AppState, parts: &Parts) -> Result<Caller, ApiError> {
    // An empty Basic user (PHP's SoapClient sends `Basic Og==` beside a client certificate when
    // its login is '') counts as no Basic at all.
    let basic = parse_basic(parts).filter(|(user, _)| !user.is_empty());
    if basic.is_none()
        && let Some(caller) = certificate_caller(state, parts).await
    {
        return caller;
    }
    let (email, password) = basic.ok_or(ApiError::Unauthenticated)?;
    let k = state.auth.digest(&email, &password);
    match state.auth.get(&k) {
        Lookup::Hit(c) => return Ok(c),
        Lookup::Refresh | Lookup::Miss => {}
    }
    let user = state
        .db
        .user_by_email(&email)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let hash = user
        .password_hash
        .clone()
        .ok_or(ApiError::Unauthenticated)?;
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if !ok || user.auth_type != "BASIC" {
        state.auth.remove(&k);
        tracing::info!(user.email = %email, "authentication failed");
        return Err(ApiError::Unauthenticated);
    }
    let caller = caller_of(state, &user).await?;
    state.auth.put(k, caller.clone());
    Ok(caller)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(state, parts).await
    }
}

/// The caller of a FAST route (errors rendered as the FAST body).
#[derive(Debug, Clone)]
pub struct FastCaller(pub Caller);

impl FromRequestParts<AppState> for FastCaller {
    type Rejection = FastError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(authenticate(state, parts).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller {
            user_id: 1,
            email: "a@b.fr".into(),
            full_name: "A B".into(),
            memberships: vec![],
        }
    }

    #[test]
    fn a_busy_credential_is_refreshed_by_one_request_only() {
        let cache = AuthCache::default();
        let k = cache.digest("a@b.fr", "pw");
        assert!(matches!(cache.get(&k), Lookup::Miss));
        cache.put(k, caller());
        assert!(matches!(cache.get(&k), Lookup::Hit(_)));
        // Near the end of its life: one request refreshes, the others keep being served.
        if let Ok(mut m) = cache.entries.lock()
            && let Some(e) = m.get_mut(&k)
        {
            e.at = Instant::now()
                .checked_sub(CACHE_TTL - Duration::from_secs(2))
                .unwrap_or_else(Instant::now);
        }
        assert!(matches!(cache.get(&k), Lookup::Refresh));
        assert!(matches!(cache.get(&k), Lookup::Hit(_)));
        assert!(matches!(cache.get(&k), Lookup::Hit(_)));
        cache.put(k, caller());
        assert!(matches!(cache.get(&k), Lookup::Hit(_)));
        // Expired: a miss; a failed verification removes the entry.
        cache.remove(&k);
        assert!(matches!(cache.get(&k), Lookup::Miss));
        assert_ne!(cache.digest("a@b.fr", "pw"), cache.digest("a@b.fr", "pw2"));
    }

    #[test]
    fn hash_and_verify() {
        let h = hash_password("s3cret").unwrap_or_else(|e| panic!("{e}"));
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "s3cret"));
        assert!(!verify_password(&h, "S3cret"));
        assert!(!verify_password("garbage", "s3cret"));
    }
}
