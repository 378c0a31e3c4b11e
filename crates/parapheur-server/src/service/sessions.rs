//! Portal sessions: the password login with its throttle, opening, finding and closing a session.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::links;
use crate::state::AppState;
use std::net::IpAddr;

/// How long a portal session lasts.
pub const SESSION_TTL_MS: i64 = 12 * 3_600_000;

/// Why a password login is refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Too many failures for the account or the address: retry after this many seconds.
    #[error("too many failed logins; retry after {0} s")]
    Throttled(u64),
    /// Unknown account, not a BASIC account, or wrong password (indistinguishable).
    #[error("wrong e-mail address or password")]
    Refused,
    #[error(transparent)]
    Failed(#[from] ApiError),
}

/// Checks a BASIC user's e-mail (lower case) and password, counting failures per account and
/// client address; gives the user id. Verifications of one account run one at a time.
pub async fn password_login(
    state: &AppState,
    email: &str,
    password: String,
    ip: Option<IpAddr>,
) -> Result<i64, LoginError> {
    let _turn = state.auth.turn(email).await;
    match crate::auth::check(state, Some(email), ip).await {
        Ok(()) => {}
        Err(ApiError::TooManyAttempts(secs)) => return Err(LoginError::Throttled(secs)),
        Err(e) => return Err(e.into()),
    }
    let user = state
        .db
        .user_by_email(email)
        .await
        .map_err(ApiError::from)?
        .filter(|u| u.auth_type == "BASIC");
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = crate::auth::check_password(state, hash, password).await;
    let Some(user) = user.filter(|_| ok) else {
        crate::auth::failed(state, Some(email), ip).await;
        tracing::info!(user.email = %email, "portal login failed");
        return Err(LoginError::Refused);
    };
    crate::auth::succeeded(state, email).await;
    Ok(user.id)
}

/// Opens a session for `user_id`: the token to put in the cookie.
pub async fn open(state: &AppState, user_id: i64) -> Result<String, ApiError> {
    let (token, hash) = links::new_token();
    state
        .db
        .create_session(&hash, user_id, SESSION_TTL_MS)
        .await?;
    Ok(token)
}

/// The signed-in user of a session token, with the token's hash (what [`close`] takes).
pub async fn caller(state: &AppState, token: &str) -> Option<(Caller, String)> {
    if !links::well_formed(token) {
        return None;
    }
    let hash = links::hash(token);
    let user_id = state.db.session_user(&hash).await.ok()??;
    let user = state.db.user_by_id(user_id).await.ok()??;
    Some((crate::auth::caller_of(state, &user).await.ok()?, hash))
}

/// Ends a session (logging out); a failure leaves the session to expire.
pub async fn close(state: &AppState, hash: &str) {
    if let Err(e) = state.db.delete_session(hash).await {
        tracing::warn!(error = %e, "cannot delete a portal session");
    }
}
