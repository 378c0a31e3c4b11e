//! Choosing a password through an invitation or reset link: the link's account and the rules
//! a new password follows.

use crate::error::ApiError;
use crate::state::AppState;
use parapheur_store::accounts::UserRow;

/// Password lengths, in characters.
const MIN_CHARS: usize = 12;
const MAX_CHARS: usize = 200;

/// Why a password is not recorded.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is shorter than {MIN_CHARS} characters")]
    TooShort,
    #[error("the password is longer than {MAX_CHARS} characters")]
    TooLong,
    #[error("the confirmation differs from the password")]
    Mismatch,
    #[error("cannot record the password")]
    Failed(#[source] anyhow::Error),
}

impl PasswordError {
    /// For the page, in French (`None`: an internal failure, not the person's mistake).
    pub fn french(&self) -> Option<&'static str> {
        match self {
            Self::TooShort => Some("Le mot de passe doit comporter au moins 12 caractères."),
            Self::TooLong => Some("Le mot de passe est trop long (200 caractères au plus)."),
            Self::Mismatch => Some("La confirmation ne correspond pas au mot de passe."),
            Self::Failed(_) => None,
        }
    }
}

/// The account of a valid invitation or reset token; `None` for an invalid or expired one (a
/// failed lookup is logged and answered the same way).
pub async fn link_account(state: &AppState, token: &str) -> Option<UserRow> {
    let found = async {
        match super::link_user(state, token).await? {
            Some(id) => Ok::<_, ApiError>(state.db.user_by_id(id).await?),
            None => Ok(None),
        }
    };
    match found.await {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!(error = %e, "password link lookup failed");
            None
        }
    }
}

/// Checks a new password against the rules and its confirmation.
pub fn check(password: &str, confirmation: Option<&str>) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        Err(PasswordError::TooShort)
    } else if n > MAX_CHARS {
        Err(PasswordError::TooLong)
    } else if confirmation != Some(password) {
        Err(PasswordError::Mismatch)
    } else {
        Ok(())
    }
}

/// Records `user`'s new password (checked first); cached credentials are dropped.
pub async fn choose(
    state: &AppState,
    user: &UserRow,
    password: String,
    confirmation: Option<&str>,
) -> Result<(), PasswordError> {
    check(&password, confirmation)?;
    let hash = crate::auth::hash_password_limited(state, password)
        .await
        .map_err(|e| PasswordError::Failed(e.context("hashing the password")))?;
    state
        .db
        .set_password(user.id, &hash)
        .await
        .map_err(|e| PasswordError::Failed(e.into()))?;
    state.auth.clear();
    tracing::info!(user.id = user.id, "password chosen through a link");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_follow_the_rules() {
        let ok = "correct horse battery";
        assert!(check(ok, Some(ok)).is_ok());
        assert!(matches!(
            check("short", Some("short")),
            Err(PasswordError::TooShort)
        ));
        let long = "x".repeat(201);
        assert!(matches!(
            check(&long, Some(&long)),
            Err(PasswordError::TooLong)
        ));
        assert!(matches!(
            check(ok, Some("other")),
            Err(PasswordError::Mismatch)
        ));
        assert!(matches!(check(ok, None), Err(PasswordError::Mismatch)));
    }
}
