//! One member of a subscriber created, edited or removed from the administration pages: the
//! rules of the user form, applied through the same synchronisation as the API.

use super::{current_entries, synchronize_entries};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use parapheur_domain::{Email, Siren};
use serde_json::{Value, json};

/// A user as the administration form submits it (trimmed; the e-mail in lower case).
#[derive(Debug, Clone)]
pub struct MemberForm {
    /// The user edited; `None` creates one.
    pub existing: Option<i64>,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// `BASIC` or `CERTIFICAT`.
    pub auth: String,
    pub admin: bool,
    /// Group names separated by commas.
    pub groups: String,
}

/// Why a form or a removal is refused.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("invalid e-mail address")]
    InvalidEmail,
    #[error("first and last names are required")]
    NamesRequired,
    #[error("names are at most 255 characters")]
    NamesTooLong,
    #[error("administrators cannot drop their own role")]
    OwnAdminRole,
    #[error("group names are at most 255 characters")]
    GroupTooLong,
    #[error("the user is already a member")]
    AlreadyMember,
    /// Not a member of the subscriber (or an edit changing the e-mail, which identifies it).
    #[error("no such member")]
    Unknown,
    #[error("administrators cannot remove themselves")]
    Oneself,
    #[error("the synchronisation refused the user: {0}")]
    NotSaved(Value),
    #[error(transparent)]
    Failed(#[from] ApiError),
}

impl MemberError {
    /// For the administration page, in French.
    pub fn french(&self) -> &'static str {
        match self {
            Self::InvalidEmail => "L'adresse e-mail est invalide.",
            Self::NamesRequired => "Le prénom et le nom sont obligatoires.",
            Self::NamesTooLong => "Le prénom et le nom font au plus 255 caractères.",
            Self::OwnAdminRole => "Vous ne pouvez pas retirer votre propre rôle d'administrateur.",
            Self::GroupTooLong => "Un nom de groupe fait au plus 255 caractères.",
            Self::AlreadyMember => "Cet utilisateur existe déjà dans la collectivité.",
            Self::Oneself => "Vous ne pouvez pas vous retirer vous-même.",
            Self::NotSaved(_) => "L'utilisateur n'a pas pu être enregistré.",
            Self::Unknown => "Le document demandé n'existe pas ou ne vous est pas accessible.",
            Self::Failed(_) => "Une erreur interne est survenue.",
        }
    }
}

/// Checks the form alone: e-mail, names, groups, and the caller keeping their own role.
fn check(caller: &Caller, f: &MemberForm) -> Result<(Email, Vec<String>), MemberError> {
    let email = Email::parse(&f.email).map_err(|_| MemberError::InvalidEmail)?;
    if f.first_name.is_empty() || f.last_name.is_empty() {
        return Err(MemberError::NamesRequired);
    }
    if f.first_name.chars().count() > 255 || f.last_name.chars().count() > 255 {
        return Err(MemberError::NamesTooLong);
    }
    if f.existing == Some(caller.user_id) && !f.admin {
        return Err(MemberError::OwnAdminRole);
    }
    let groups: Vec<String> = f
        .groups
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect();
    if groups.iter().any(|g| g.chars().count() > 255) {
        return Err(MemberError::GroupTooLong);
    }
    Ok((email, groups))
}

/// Creates or updates one member of `siren` (names, authentication, groups, administrator role).
pub async fn save(
    state: &AppState,
    caller: &Caller,
    siren: &Siren,
    f: &MemberForm,
) -> Result<(), MemberError> {
    let (email, groups) = check(caller, f)?;
    let mut entries = current_entries(state, siren).await?;
    let same = |v: &Value| v["email"].as_str() == Some(email.as_str());
    match f.existing {
        None if entries.iter().any(same) => return Err(MemberError::AlreadyMember),
        None => {}
        Some(id) => {
            // The e-mail identifies the account: an edit keeps it.
            let current = state
                .db
                .subscriber_users(siren.as_str())
                .await
                .map_err(ApiError::from)?
                .into_iter()
                .find(|u| u.id == id)
                .map(|u| u.email);
            if current.as_deref() != Some(email.as_str()) {
                return Err(MemberError::Unknown);
            }
            entries.retain(|v| !same(v));
        }
    }
    entries.push(json!({
        "email": email.as_str(),
        "firstName": f.first_name,
        "lastName": f.last_name,
        "authenticationType": f.auth,
        "groups": groups,
    }));
    let problems = synchronize_entries(state, caller, siren, &entries).await?;
    if let Some(p) = problems
        .into_iter()
        .find(|p| p["email"].as_str() == Some(email.as_str()))
    {
        tracing::info!(problem = %p, "user not saved from the administration page");
        return Err(MemberError::NotSaved(p));
    }
    let user = state
        .db
        .user_by_email(email.as_str())
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the synchronised user is missing")))?;
    state
        .db
        .set_membership(user.id, siren.as_str(), f.admin)
        .await
        .map_err(ApiError::from)?;
    state.auth.clear();
    Ok(())
}

/// A member removed.
#[derive(Debug)]
pub struct Removed {
    pub email: String,
    /// Circuits with a step left without a member (worth a warning).
    pub emptied: Vec<String>,
}

/// Removes member `id` from the subscriber and its circuits; never the caller.
pub async fn remove(
    state: &AppState,
    caller: &Caller,
    siren: &Siren,
    id: &str,
) -> Result<Removed, MemberError> {
    let target = state
        .db
        .subscriber_users(siren.as_str())
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .find(|u| u.id.to_string() == id)
        .ok_or(MemberError::Unknown)?;
    if target.id == caller.user_id {
        return Err(MemberError::Oneself);
    }
    let email = target.email;
    let mut entries = current_entries(state, siren).await?;
    entries.retain(|v| v["email"].as_str() != Some(email.as_str()));
    let problems = synchronize_entries(state, caller, siren, &entries).await?;
    let emptied = problems
        .iter()
        .filter_map(|p| p["circuit"].as_str().map(str::to_owned))
        .collect();
    Ok(Removed { email, emptied })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        crate::auth::CallerData {
            user_id: 7,
            email: "admin@example.org".into(),
            full_name: "Ada Min".into(),
            memberships: vec![("123456789".into(), true)],
        }
        .into()
    }

    fn form() -> MemberForm {
        MemberForm {
            existing: None,
            email: "jean@example.org".into(),
            first_name: "Jean".into(),
            last_name: "Dupont".into(),
            auth: "BASIC".into(),
            admin: false,
            groups: " élus, , finances ".into(),
        }
    }

    #[test]
    fn the_form_is_checked_before_any_change() {
        let c = caller();
        let (email, groups) = check(&c, &form()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(email.as_str(), "jean@example.org");
        assert_eq!(groups, ["élus", "finances"]);
        let bad = |f: MemberForm| check(&c, &f).err().map(|e| e.french());
        assert_eq!(
            bad(MemberForm {
                email: "jean".into(),
                ..form()
            }),
            Some("L'adresse e-mail est invalide.")
        );
        assert_eq!(
            bad(MemberForm {
                last_name: String::new(),
                ..form()
            }),
            Some("Le prénom et le nom sont obligatoires.")
        );
        assert_eq!(
            bad(MemberForm {
                first_name: "x".repeat(256),
                ..form()
            }),
            Some("Le prénom et le nom font au plus 255 caractères.")
        );
        assert_eq!(
            bad(MemberForm {
                groups: "y".repeat(256),
                ..form()
            }),
            Some("Un nom de groupe fait au plus 255 caractères.")
        );
        // An administrator keeps their own role; another user may lose it.
        assert_eq!(
            bad(MemberForm {
                existing: Some(7),
                ..form()
            }),
            Some("Vous ne pouvez pas retirer votre propre rôle d'administrateur.")
        );
        assert!(
            check(
                &c,
                &MemberForm {
                    existing: Some(8),
                    ..form()
                }
            )
            .is_ok()
        );
    }
}
