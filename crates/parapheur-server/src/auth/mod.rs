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
use parapheur_store::throttle::Subject;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

mod cache;
mod password;
#[cfg(test)]
mod tests;

#[cfg(test)]
use cache::CACHE_TTL;
use cache::Lookup;
pub use cache::{AuthCache, EPOCH_POLL, spawn_epoch_watch};
pub(crate) use password::verify_password;
pub use password::{check_password, hash_password, hash_password_limited};

/// The authenticated user and the subscribers they belong to: shared, so that the credential
/// cache hands it to each request without copying its strings.
#[derive(Debug, Clone)]
pub struct Caller(Arc<CallerData>);

/// What [`Caller`] holds.
#[derive(Debug)]
pub struct CallerData {
    pub user_id: i64,
    pub email: String,
    pub full_name: String,
    /// `(siren, is_admin)`.
    pub memberships: Vec<(String, bool)>,
}

impl From<CallerData> for Caller {
    fn from(data: CallerData) -> Self {
        Self(Arc::new(data))
    }
}

impl std::ops::Deref for Caller {
    type Target = CallerData;
    fn deref(&self) -> &CallerData {
        &self.0
    }
}

impl CallerData {
    pub fn is_member(&self, siren: &str) -> bool {
        self.memberships.iter().any(|(s, _)| s == siren)
    }
    pub fn is_admin(&self, siren: &str) -> bool {
        self.memberships.iter().any(|(s, a)| s == siren && *a)
    }
    /// The caller as the store's lists see them on `today`.
    pub fn viewer<'a>(&self, today: &'a str) -> parapheur_store::portal::Viewer<'a> {
        parapheur_store::portal::Viewer {
            user_id: self.user_id,
            today,
            administers: self.memberships.iter().any(|(_, a)| *a),
        }
    }
}

/// What the `Authorization` header holds.
enum BasicHeader {
    None,
    /// A header that is not usable Basic credentials (control characters, bad encoding).
    Invalid,
    Credentials(String, String),
}

fn parse_basic(parts: &Parts) -> BasicHeader {
    let Some(v) = parts.headers.get(AUTHORIZATION) else {
        return BasicHeader::None;
    };
    let Some((scheme, b64)) = v.to_str().ok().and_then(|v| v.trim().split_once(' ')) else {
        return BasicHeader::Invalid;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return BasicHeader::None;
    }
    let Some((u, p)) = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())))
    else {
        return BasicHeader::Invalid;
    };
    // RFC 7617: neither the user-id nor the password may hold control characters.
    if u.chars().chain(p.chars()).any(char::is_control) {
        return BasicHeader::Invalid;
    }
    BasicHeader::Credentials(u.trim().to_lowercase(), p)
}

/// The client's address: the peer, or, when the peer is a trusted proxy (`trusted_proxies`),
/// the address it puts last in `Forwarded` (RFC 7239, `for=`) or `X-Forwarded-For`.
pub fn client_ip(state: &AppState, parts: &Parts) -> Option<IpAddr> {
    client_ip_of(state, &parts.headers, &parts.extensions)
}

/// [`client_ip`] from a request's headers and extensions.
pub fn client_ip_of(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
) -> Option<IpAddr> {
    let peer = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?
        .0;
    if crate::tls::trusted(&state.cfg.trusted_proxies, peer)
        && let Some(ip) = forwarded_for(headers)
    {
        return Some(ip);
    }
    Some(peer.ip())
}

/// The last client address a proxy recorded: `Forwarded`'s last `for=` (quoted, bracketed
/// IPv6, with or without a port), else `X-Forwarded-For`'s last entry.
fn forwarded_for(headers: &axum::http::HeaderMap) -> Option<IpAddr> {
    let from_forwarded = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                if !k.trim().eq_ignore_ascii_case("for") {
                    return None;
                }
                let v = v.trim().trim_matches('"');
                let host = match v.strip_prefix('[') {
                    Some(rest) => rest.split(']').next()?,
                    None => v.split(':').next()?,
                };
                host.parse::<IpAddr>().ok()
            })
        })
        .next_back();
    from_forwarded.or_else(|| {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .next_back()
    })
}

/// The subjects an authentication attempt counts against.
fn subjects(account: Option<&str>, ip: Option<IpAddr>) -> Vec<Subject> {
    let mut v = Vec::with_capacity(2);
    if let Some(a) = account {
        v.push(Subject::Account(a.to_owned()));
    }
    if let Some(ip) = ip {
        v.push(Subject::Ip(ip));
    }
    v
}

fn window_ms(state: &AppState) -> i64 {
    i64::try_from(state.cfg.limits.auth_window_s.saturating_mul(1000)).unwrap_or(i64::MAX / 2)
}

/// Refuses with 429 an authentication whose account or client address is past its limit of
/// failures (counted in the database, shared by every instance). Verifications of one account
/// run one at a time on an instance ([`AuthCache::turn`]), so that parallel guesses are each
/// checked against the failures of those before them.
pub async fn check(
    state: &AppState,
    account: Option<&str>,
    ip: Option<IpAddr>,
) -> Result<(), ApiError> {
    let window = window_ms(state);
    let mut refused: Option<i64> = None;
    for s in subjects(account, ip) {
        let limit = match s {
            Subject::Account(_) => state.cfg.limits.auth_failures_per_account,
            Subject::Ip(_) => state.cfg.limits.auth_failures_per_ip,
            Subject::VerifierIp(_) => state.cfg.limits.verifications_per_ip,
            Subject::SignOnIp(_) => state.cfg.limits.sign_ons_per_ip,
        };
        if let Some(a) = state.db.auth_failures(&s, window).await?
            && a.count >= limit
        {
            refused = Some(refused.map_or(a.window_end, |e| e.max(a.window_end)));
        }
    }
    if let Some(end) = refused {
        let secs = (end - parapheur_store::now_ms()).max(1000) / 1000;
        tracing::info!(account = ?account, ip = ?ip, "authentication throttled");
        return Err(ApiError::TooManyAttempts(u64::try_from(secs).unwrap_or(1)));
    }
    Ok(())
}

/// Counts a failed authentication against the account and the client address (one atomic
/// statement each).
pub async fn failed(state: &AppState, account: Option<&str>, ip: Option<IpAddr>) {
    let window = window_ms(state);
    for s in subjects(account, ip) {
        if let Err(e) = state.db.auth_failed(&s, window).await {
            tracing::error!(error = %e, "cannot record a failed authentication");
        }
    }
}

/// A verified authentication clears the account's failures (the address keeps its count).
pub async fn succeeded(state: &AppState, account: &str) {
    if let Err(e) = state
        .db
        .auth_succeeded(&Subject::Account(account.to_owned()))
        .await
    {
        tracing::error!(error = %e, "cannot record a successful authentication");
    }
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
    if !crate::tls::trusted(&state.cfg.trusted_proxies, peer) {
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
    Ok(CallerData {
        user_id: user.id,
        email: user.email.clone(),
        full_name: user.full_name(),
        memberships,
    }
    .into())
}

/// The CERTIFICAT user of a verified client certificate: the one whose registered certificate
/// is this one, else the one whose e-mail is the certificate's.
pub async fn authenticate_certificate(
    state: &AppState,
    der: &[u8],
    ip: Option<IpAddr>,
) -> Result<Caller, ApiError> {
    let k = AuthCache::certificate_key(der);
    if let Lookup::Hit(c) = state.auth.get(&k) {
        return Ok(c);
    }
    check(state, None, ip).await?;
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
        state.auth.remove(&k);
        failed(state, None, ip).await;
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
    let ip = client_ip(state, parts);
    if let Some(c) = parts.extensions.get::<crate::tls::ClientCertificate>() {
        return Some(authenticate_certificate(state, &c.0, ip).await);
    }
    let der = proxied_certificate(state, parts)?;
    Some(authenticate_certificate(state, &der, ip).await)
}

/// Authenticates the request: HTTP Basic when the header is there, else the TLS client
/// certificate (or the one a trusted proxy forwards); otherwise `Unauthenticated`. Failed
/// attempts are counted per account and per client address ([`check`], [`failed`]).
pub async fn authenticate(state: &AppState, parts: &Parts) -> Result<Caller, ApiError> {
    // The header bytes verified a moment ago are recognised before they are decoded.
    let lookup = parts.headers.get(AUTHORIZATION).map(|h| {
        let k = state.auth.basic_key(h.as_bytes());
        let l = state.auth.get(&k);
        (k, l)
    });
    let (k, refresh) = match lookup {
        Some((_, Lookup::Hit(c))) => return Ok(c),
        Some((k, l)) => (Some(k), matches!(l, Lookup::Refresh)),
        None => (None, false),
    };
    let (email, password) = match parse_basic(parts) {
        BasicHeader::Invalid => return Err(ApiError::Unauthenticated),
        // An empty Basic user (PHP's SoapClient sends `Basic Og==` beside a client certificate
        // when its login is '') counts as no Basic at all.
        BasicHeader::None => (String::new(), String::new()),
        BasicHeader::Credentials(u, p) => (u, p),
    };
    if email.is_empty() {
        return match certificate_caller(state, parts).await {
            Some(caller) => caller,
            None => Err(ApiError::Unauthenticated),
        };
    }
    // Credentials were parsed from the header: it is there.
    let Some(k) = k else {
        return Err(ApiError::Unauthenticated);
    };
    let _turn = state.auth.turn(&email).await;
    if !refresh && let Lookup::Hit(c) = state.auth.get(&k) {
        // Verified by a parallel request while this one waited.
        return Ok(c);
    }
    let ip = client_ip(state, parts);
    check(state, Some(&email), ip).await?;
    let user = state
        .db
        .user_by_email(&email)
        .await?
        .filter(|u| u.auth_type == "BASIC");
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = check_password(state, hash, password).await;
    let Some(user) = user.filter(|_| ok) else {
        state.auth.remove(&k);
        failed(state, Some(&email), ip).await;
        tracing::info!(user.email = %email, "authentication failed");
        return Err(ApiError::Unauthenticated);
    };
    let caller = caller_of(state, &user).await?;
    succeeded(state, &email).await;
    state.auth.put(k, caller.clone());
    Ok(caller)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = authenticate(state, parts).await?;
        crate::observe::set_user(caller.user_id);
        Ok(caller)
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
        let caller = authenticate(state, parts).await?;
        crate::observe::set_user(caller.user_id);
        Ok(Self(caller))
    }
}
