//! OpenID Connect sign-in for the portal (issue 21, CONTRACT §13): the authorization code flow
//! with PKCE, `state` and `nonce`, through the `openidconnect` crate. The provider is
//! discovered at each sign-in (its metadata and signing keys: a key rotation is seen at the next
//! sign-in), the ID token's signature, issuer, audience, expiry and nonce are checked, and the
//! user is the one whose e-mail the `email` claim names — never created implicitly. The sign-in
//! in progress is a database row keyed by the hash of `state`, so that any instance can finish
//! what another began.

use crate::config::OidcConfig;
use crate::state::AppState;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use parapheur_store::portal::OidcLogin;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

/// A sign-in must come back within this long.
const LOGIN_TTL_MS: i64 = 10 * 60 * 1000;

/// Why a sign-in failed (the portal shows one French message; the log says which).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("OpenID Connect is not configured")]
    NotConfigured,
    #[error("provider discovery: {0}")]
    Discovery(String),
    #[error("unknown or expired sign-in (state)")]
    UnknownState,
    #[error("the provider refused: {0}")]
    Refused(String),
    #[error("token exchange: {0}")]
    Exchange(String),
    #[error("ID token: {0}")]
    IdToken(String),
    #[error("the ID token names no verified e-mail")]
    NoEmail,
    #[error("no user has the e-mail {0}")]
    UnknownUser(String),
    #[error(transparent)]
    Store(#[from] parapheur_store::StoreError),
}

/// Where the provider sends the user back.
fn redirect_url(state: &AppState, cfg: &OidcConfig) -> Result<RedirectUrl, OidcError> {
    let url = if cfg.redirect_url.is_empty() {
        format!(
            "{}/parapheur/oidc/callback",
            state.cfg.public_url.trim_end_matches('/')
        )
    } else {
        cfg.redirect_url.clone()
    };
    RedirectUrl::new(url).map_err(|e| OidcError::Discovery(e.to_string()))
}

fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

fn http() -> Result<openidconnect::reqwest::Client, OidcError> {
    openidconnect::reqwest::ClientBuilder::new()
        // The provider's endpoints answer; they never redirect (SSRF through redirects).
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| OidcError::Discovery(e.to_string()))
}

async fn metadata(
    cfg: &OidcConfig,
    http: &openidconnect::reqwest::Client,
) -> Result<CoreProviderMetadata, OidcError> {
    let issuer =
        IssuerUrl::new(cfg.issuer.clone()).map_err(|e| OidcError::Discovery(e.to_string()))?;
    CoreProviderMetadata::discover_async(issuer, http)
        .await
        .map_err(|e| OidcError::Discovery(e.to_string()))
}

/// The client of the configured provider, as its discovery document describes it.
type ProviderClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Discovers the provider and builds its client, coming back to our callback.
async fn client(
    state: &AppState,
    cfg: &OidcConfig,
    http: &openidconnect::reqwest::Client,
) -> Result<ProviderClient, OidcError> {
    let meta = metadata(cfg, http).await?;
    Ok(CoreClient::from_provider_metadata(
        meta,
        ClientId::new(cfg.client_id.clone()),
        cfg.client_secret
            .as_ref()
            .map(|s| ClientSecret::new(s.expose_secret().to_owned())),
    )
    .set_redirect_uri(redirect_url(state, cfg)?))
}

/// Where to send the browser to sign in, coming back to `next` (a portal path).
pub async fn begin(state: &AppState, next: &str) -> Result<String, OidcError> {
    let cfg = state.cfg.oidc.as_ref().ok_or(OidcError::NotConfigured)?;
    let http = http()?;
    let client = client(state, cfg, &http).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    state
        .db
        .begin_oidc_login(
            &state_hash(csrf.secret()),
            &OidcLogin {
                verifier: verifier.secret().clone(),
                nonce: nonce.secret().clone(),
                next: next.to_owned(),
            },
            LOGIN_TTL_MS,
        )
        .await?;
    Ok(url.to_string())
}

/// The callback: the user signed in, and where they were going.
pub async fn finish(
    state: &AppState,
    code: Option<&str>,
    csrf: &str,
    error: Option<&str>,
) -> Result<(i64, String), OidcError> {
    let cfg = state.cfg.oidc.as_ref().ok_or(OidcError::NotConfigured)?;
    let login = state
        .db
        .take_oidc_login(&state_hash(csrf))
        .await?
        .ok_or(OidcError::UnknownState)?;
    if let Some(e) = error {
        return Err(OidcError::Refused(e.to_owned()));
    }
    let code = code.ok_or_else(|| OidcError::Refused("no code".into()))?;
    let http = http()?;
    let client = client(state, cfg, &http).await?;
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| OidcError::Exchange(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(login.verifier))
        .request_async(&http)
        .await
        .map_err(|e| OidcError::Exchange(e.to_string()))?;
    let id_token = token
        .id_token()
        .ok_or_else(|| OidcError::IdToken("none in the answer".into()))?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(login.nonce))
        .map_err(|e| OidcError::IdToken(e.to_string()))?;
    // The e-mail: in the ID token, or (providers that conform ID tokens to the minimum) from
    // the userinfo endpoint, for the same subject. One the provider has not verified names
    // nobody.
    let (email, verified) = match claims.email() {
        Some(e) => (e.as_str().to_owned(), claims.email_verified()),
        None => {
            let info: openidconnect::core::CoreUserInfoClaims = client
                .user_info(token.access_token().clone(), Some(claims.subject().clone()))
                .map_err(|e| OidcError::IdToken(format!("userinfo: {e}")))?
                .request_async(&http)
                .await
                .map_err(|e| OidcError::IdToken(format!("userinfo: {e}")))?;
            (
                info.email()
                    .map(|e| e.as_str().to_owned())
                    .unwrap_or_default(),
                info.email_verified(),
            )
        }
    };
    if verified == Some(false) {
        return Err(OidcError::NoEmail);
    }
    let email = Some(email.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .ok_or(OidcError::NoEmail)?;
    let user = state
        .db
        .user_by_email(&email)
        .await?
        .ok_or_else(|| OidcError::UnknownUser(email.clone()))?;
    tracing::info!(user.id = user.id, "portal sign-in through OpenID Connect");
    Ok((user.id, login.next))
}
