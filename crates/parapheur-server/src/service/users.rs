//! The subscriber's directory through the API: `exportUsersData` and `synchronizationUsers`,
//! and the invitation / password-reset links of BASIC users.

pub mod member;
pub mod password;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::access::authorize_subscriber;
use crate::service::links;
use crate::service::notify::{Composed, Link, mail_job};
use crate::state::AppState;
use parapheur_domain::{Email, Siren};
use parapheur_store::accounts::SyncUser;
use parapheur_store::jobs::{Effects, NewLink};
use parapheur_store::now_ms;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Invitation links work this long; reset links one hour.
const INVITATION_TTL_MS: i64 = 7 * 24 * 3_600_000;
const RESET_TTL_MS: i64 = 3_600_000;
/// Reset e-mails per user and hour.
pub const MAX_RESETS_PER_HOUR: i64 = 3;

/// A circuit step as stored.
pub async fn authorize_admin(
    state: &AppState,
    caller: &Caller,
    siren: &Siren,
) -> Result<(), ApiError> {
    authorize_subscriber(state, caller, siren).await?;
    if caller.is_admin(siren.as_str()) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// `GET exportUsersData?siren=`: the users of the subscriber with their groups and their roles
/// in its circuits.
pub async fn export(state: &AppState, caller: &Caller, siren: &Siren) -> Result<Value, ApiError> {
    authorize_admin(state, caller, siren).await?;
    let users = state.db.subscriber_users(siren.as_str()).await?;
    let mut groups: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (id, g) in state.db.subscriber_groups(siren.as_str()).await? {
        groups.entry(id).or_default().push(g);
    }
    let mut roles: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for c in state.db.circuits(siren.as_str()).await? {
        for (i, s) in c.steps.iter().enumerate() {
            for m in &s.members {
                roles
                    .entry(m.to_lowercase())
                    .or_default()
                    .push(json!({"circuit": c.id, "role": s.kind.as_str(), "step": i + 1}));
            }
        }
        for d in &c.depositors {
            roles
                .entry(d.to_lowercase())
                .or_default()
                .push(json!({"circuit": c.id, "role": "depositor"}));
        }
    }
    let list: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({
                "nom": u.last_name,
                "prenom": u.first_name,
                "email": u.email,
                "authenticationType": u.auth_type,
                "groups": groups.get(&u.id).cloned().unwrap_or_default(),
                "circuits": roles.get(&u.email).cloned().unwrap_or_default(),
                "roles": if u.is_admin != 0 { vec!["admin"] } else { Vec::new() },
            })
        })
        .collect();
    Ok(json!({ "users": list }))
}

fn text(v: &Value, key: &str, errors: &mut Vec<String>) -> String {
    match v.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 255 => {
            s.trim().to_owned()
        }
        Some(Value::String(s)) if s.chars().count() > 255 => {
            errors.push(format!("{key}: longer than 255 characters"));
            String::new()
        }
        _ => {
            errors.push(format!("{key}: a non-empty string is required"));
            String::new()
        }
    }
}

/// Validates one entry of the synchronisation body.
fn validate(v: &Value) -> Result<SyncUser, Vec<String>> {
    let mut errors = Vec::new();
    if !v.is_object() {
        return Err(vec!["an object is expected".into()]);
    }
    let email = match v.get("email").and_then(Value::as_str).map(Email::parse) {
        Some(Ok(e)) => e.as_str().to_owned(),
        _ => {
            errors.push("email: a valid e-mail address is required".into());
            String::new()
        }
    };
    let auth_type = match v
        .get("authenticationType")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_ascii_uppercase())
        .as_deref()
    {
        Some(t @ ("BASIC" | "CERTIFICAT")) => t.to_owned(),
        _ => {
            errors.push("authenticationType: BASIC or CERTIFICAT".into());
            String::new()
        }
    };
    let first_name = text(v, "firstName", &mut errors);
    let last_name = text(v, "lastName", &mut errors);
    let mut groups = BTreeSet::new();
    match v.get("groups") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            for g in a {
                match g.as_str().map(str::trim) {
                    Some(s) if !s.is_empty() && s.chars().count() <= 255 => {
                        groups.insert(s.to_owned());
                    }
                    _ => errors.push(format!("groups: invalid group {g}")),
                }
            }
        }
        Some(_) => errors.push("groups: an array of names is expected".into()),
    }
    if errors.is_empty() {
        Ok(SyncUser {
            email,
            first_name,
            last_name,
            auth_type,
            groups: groups.into_iter().collect(),
        })
    } else {
        Err(errors)
    }
}

/// `PUT synchronization/{siren}/users`: users listed are created or updated and members of the
/// subscriber with exactly their groups; members not listed lose their membership (their past
/// actions stay in histories) and are removed from the subscriber's circuits. Invalid entries
/// are reported and skipped; the others are applied. Returns the problems (empty when none).
pub async fn synchronize(
    state: &AppState,
    caller: &Caller,
    siren: &Siren,
    body: &[u8],
) -> Result<Vec<Value>, ApiError> {
    let entries: Vec<Value> = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadParameter(format!("a JSON array of users is expected ({e})")))?;
    synchronize_entries(state, caller, siren, &entries).await
}

/// The users of a subscriber as synchronisation entries (what `synchronize_entries` takes).
pub async fn current_entries(state: &AppState, siren: &Siren) -> Result<Vec<Value>, ApiError> {
    let mut groups: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (id, g) in state.db.subscriber_groups(siren.as_str()).await? {
        groups.entry(id).or_default().push(g);
    }
    Ok(state
        .db
        .subscriber_users(siren.as_str())
        .await?
        .into_iter()
        .map(|u| {
            json!({
                "email": u.email,
                "firstName": u.first_name,
                "lastName": u.last_name,
                "authenticationType": u.auth_type,
                "groups": groups.remove(&u.id).unwrap_or_default(),
            })
        })
        .collect())
}

/// The synchronisation itself, on entries already parsed (see [`synchronize`]).
pub async fn synchronize_entries(
    state: &AppState,
    caller: &Caller,
    siren: &Siren,
    entries: &[Value],
) -> Result<Vec<Value>, ApiError> {
    authorize_admin(state, caller, siren).await?;
    apply_entries(state, Some(caller.user_id), siren, entries).await
}

/// The synchronisation of `siren`'s users to `entries`, for an authorised caller (`keep`: the
/// user who asked, who never loses their own membership) or the directory synchronisation.
pub async fn apply_entries(
    state: &AppState,
    keep: Option<i64>,
    siren: &Siren,
    entries: &[Value],
) -> Result<Vec<Value>, ApiError> {
    if entries.len() > 10_000 {
        return Err(ApiError::BadParameter("at most 10 000 users".into()));
    }
    let mut problems = Vec::new();
    let mut valid: Vec<SyncUser> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, v) in entries.iter().enumerate() {
        match validate(v) {
            Ok(u) if !seen.insert(u.email.clone()) => problems.push(json!({
                "index": i, "email": u.email, "errors": ["listed more than once"]
            })),
            Ok(u) => valid.push(u),
            Err(errors) => problems.push(json!({
                "index": i,
                "email": v.get("email").cloned().unwrap_or(Value::Null),
                "errors": errors,
            })),
        }
    }
    // Members not listed leave the subscriber (never the caller, who would lock themselves out;
    // nor those whose entry was invalid).
    let invalid: BTreeSet<String> = problems
        .iter()
        .filter_map(|p| p["email"].as_str().map(str::to_lowercase))
        .collect();
    let current = state.db.subscriber_users(siren.as_str()).await?;
    let mut removed = Vec::new();
    let mut removed_emails = BTreeSet::new();
    for u in &current {
        if seen.contains(&u.email) || invalid.contains(&u.email) {
            continue;
        }
        if Some(u.id) == keep {
            problems.push(json!({
                "email": u.email,
                "errors": ["the caller is not listed but keeps their membership (they would lose access)"]
            }));
            continue;
        }
        removed.push(u.id);
        removed_emails.insert(u.email.clone());
    }
    // Circuits lose the removed members; a visa or signature step left empty is reported.
    let mut circuits = Vec::new();
    for mut c in state.db.circuits(siren.as_str()).await? {
        let mut steps = std::mem::take(&mut c.steps);
        let mut depositors = std::mem::take(&mut c.depositors);
        let before = (
            steps.iter().map(|s| s.members.len()).sum::<usize>(),
            depositors.len(),
        );
        let mut errors = Vec::new();
        for (i, s) in steps.iter_mut().enumerate() {
            let had = !s.members.is_empty();
            s.members
                .retain(|m| !removed_emails.contains(&m.to_lowercase()));
            if had && s.members.is_empty() {
                errors.push(format!(
                    "step {} ({}) has no member left",
                    i + 1,
                    s.kind.as_str()
                ));
            }
        }
        depositors.retain(|d| !removed_emails.contains(&d.to_lowercase()));
        if before
            != (
                steps.iter().map(|s| s.members.len()).sum::<usize>(),
                depositors.len(),
            )
        {
            c.steps = steps;
            c.depositors = depositors;
            circuits.push(c.clone());
        }
        if !errors.is_empty() {
            problems.push(json!({"circuit": c.id, "errors": errors}));
        }
    }
    let outcome = state
        .db
        .apply_user_sync(siren.as_str(), &valid, &removed, &circuits)
        .await?;
    for email in &outcome.foreign {
        problems.push(json!({
            "email": email,
            "errors": ["the user also belongs to another subscriber: their names and authentication type were left unchanged (membership and groups applied)"]
        }));
    }
    let created = outcome.created;
    // Those who left lose the signing certificate issued to them for this subscriber.
    for id in &removed {
        crate::service::revocation::user_left(state, *id, siren.as_str()).await?;
    }
    // Memberships changed: cached credentials must not keep the old ones (other instances
    // follow the credentials epoch).
    state.auth.clear();
    tracing::info!(
        siren = siren.as_str(),
        applied = valid.len(),
        created = created.len(),
        removed = removed.len(),
        problems = problems.len(),
        "users synchronised"
    );
    // Invitations of the new BASIC users (after the commit: a lost invitation is recovered
    // with "mot de passe oublié").
    let mut effects = Effects::default();
    let org = state
        .db
        .subscriber_name(siren.as_str())
        .await?
        .unwrap_or_default();
    for email in &created {
        let Some(u) = state.db.user_by_email(email).await? else {
            continue;
        };
        if u.auth_type == "BASIC" {
            effects.extend(password_link(
                state,
                u.id,
                &u.email,
                &u.full_name(),
                &org,
                true,
            )?);
        }
    }
    if !removed.is_empty() {
        effects.extend(stuck_report(state, siren, &org).await?);
    }
    if !effects.is_empty() {
        state.db.enqueue(&effects).await?;
        state.wake_jobs();
    }
    Ok(problems)
}

/// After members left: the e-mail telling the subscriber's administrators which documents now
/// wait at a step where nobody can act (CONTRACT §10), if any. They reassign the step from the
/// administration's documents page or `PUT /api/v1/documents/{id}/steps/current/members`.
async fn stuck_report(state: &AppState, siren: &Siren, org: &str) -> Result<Effects, ApiError> {
    let stuck = state.db.stuck_documents(siren.as_str()).await?;
    if stuck.is_empty() {
        return Ok(Effects::default());
    }
    let admins: Vec<String> = state
        .db
        .subscriber_users(siren.as_str())
        .await?
        .into_iter()
        .filter(|u| u.is_admin != 0)
        .map(|u| u.email)
        .collect();
    if admins.is_empty() {
        tracing::warn!(
            siren = siren.as_str(),
            documents = stuck.len(),
            "documents stuck, no administrator to tell"
        );
        return Ok(Effects::default());
    }
    let base = state.cfg.public_url.trim_end_matches('/');
    let mut paragraphs = vec![format!(
        "{} document(s) attendent à une étape dont plus aucun membre ne peut agir{} :",
        stuck.len(),
        if org.is_empty() {
            String::new()
        } else {
            format!(" ({org})")
        }
    )];
    paragraphs.extend(
        stuck
            .iter()
            .take(50)
            .map(|(id, name)| format!("- {name} (n° {id})")),
    );
    paragraphs
        .push("Réattribuez l'étape en cours depuis la page Documents de l'administration.".into());
    let m = Composed {
        subject: "Documents bloqués dans le parapheur".into(),
        paragraphs,
        link: Some(Link {
            label: "Ouvrir l'administration".into(),
            url: format!("{base}/parapheur/admin/{}/documents", siren.as_str()),
        }),
        signature: "Le parapheur électronique".into(),
    };
    Ok(Effects {
        jobs: vec![mail_job(&m, admins, Vec::new())?],
        ..Effects::default()
    })
}

/// The link and e-mail that let a BASIC user choose a password: an invitation (new account)
/// or a reset. The link's document list holds the user id.
pub fn password_link(
    state: &AppState,
    user_id: i64,
    email: &str,
    name: &str,
    org: &str,
    invitation: bool,
) -> Result<Effects, ApiError> {
    let (token, hash) = links::new_token();
    let ttl = if invitation {
        INVITATION_TTL_MS
    } else {
        RESET_TTL_MS
    };
    let url = format!(
        "{}/motdepasse/{token}",
        state.cfg.public_url.trim_end_matches('/')
    );
    let m = if invitation {
        Composed {
            subject: "Votre compte sur le parapheur électronique".into(),
            paragraphs: vec![
                format!(
                    "Un compte a été créé pour vous ({name}, {email}){}.",
                    if org.is_empty() {
                        String::new()
                    } else {
                        format!(" par {org}")
                    }
                ),
                "Choisissez votre mot de passe avec le lien ci-dessous ; il est valable 7 jours."
                    .into(),
            ],
            link: Some(Link {
                label: "Choisir mon mot de passe".into(),
                url,
            }),
            signature: "Le parapheur électronique".into(),
        }
    } else {
        Composed {
            subject: "Réinitialisation de votre mot de passe".into(),
            paragraphs: vec![
                "Une réinitialisation du mot de passe de votre compte a été demandée.".into(),
                "Le lien ci-dessous est valable une heure. Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.".into(),
            ],
            link: Some(Link {
                label: "Choisir un nouveau mot de passe".into(),
                url,
            }),
            signature: "Le parapheur électronique".into(),
        }
    };
    Ok(Effects {
        jobs: vec![mail_job(&m, vec![email.to_owned()], Vec::new())?],
        links: vec![NewLink {
            token_hash: hash,
            purpose: if invitation { "invitation" } else { "reset" }.into(),
            siren: String::new(),
            document_ids: vec![user_id],
            referer: None,
            expires_at: now_ms() + ttl,
        }],
        ..Effects::default()
    })
}

/// The user of a valid invitation or reset token.
pub async fn link_user(state: &AppState, token: &str) -> Result<Option<i64>, ApiError> {
    if !links::well_formed(token) {
        return Ok(None);
    }
    Ok(state
        .db
        .link(&links::hash(token))
        .await?
        .filter(|l| matches!(l.purpose.as_str(), "invitation" | "reset") && l.expires_at > now_ms())
        .and_then(|l| l.document_ids.first().copied()))
}

/// "Mot de passe oublié": sends a reset link to a BASIC user (at most 3 an hour). Says
/// nothing of whether the address exists.
pub async fn request_reset(state: &AppState, email: &str) -> Result<(), ApiError> {
    let Ok(email) = Email::parse(email) else {
        return Ok(());
    };
    let Some(u) = state.db.user_by_email(email.as_str()).await? else {
        return Ok(());
    };
    if u.auth_type != "BASIC"
        || state
            .db
            .user_links_since("reset", u.id, now_ms() - 3_600_000)
            .await?
            >= MAX_RESETS_PER_HOUR
    {
        return Ok(());
    }
    let effects = password_link(state, u.id, &u.email, &u.full_name(), "", false)?;
    state.db.enqueue(&effects).await?;
    state.wake_jobs();
    Ok(())
}

/// One run of the synchronisation of `[[ldap]]` directory `cfg` (CONTRACT §13): the users it
/// lists become exactly the subscriber's users, through the same path as
/// `synchronization/{siren}/users`. A user's groups and authentication type stay what they are
/// (the directory does not carry them; new users are BASIC and get an invitation). Returns the
/// problems, as the route reports them.
pub async fn sync_directory(
    state: &AppState,
    cfg: &crate::config::LdapConfig,
) -> Result<Vec<Value>, ApiError> {
    let listed = crate::connectors::ldap::users(cfg)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    // An empty answer is more likely a wrong filter or base than a subscriber without staff:
    // nobody is removed on its account.
    if listed.is_empty() {
        return Err(ApiError::BadParameter(format!(
            "the directory lists no user with an e-mail under {} matching {}: nothing changed",
            cfg.base_dn, cfg.user_filter
        )));
    }
    let current: BTreeMap<String, Value> = current_entries(state, &cfg.siren)
        .await?
        .into_iter()
        .filter_map(|e| {
            let email = e["email"].as_str()?.to_lowercase();
            Some((email, e))
        })
        .collect();
    let entries: Vec<Value> = listed
        .into_iter()
        .map(|u| {
            let known = current.get(&u.email.to_lowercase());
            json!({
                "email": u.email,
                "firstName": u.first_name,
                "lastName": u.last_name,
                "authenticationType": known
                    .and_then(|k| k["authenticationType"].as_str())
                    .unwrap_or("BASIC"),
                "groups": known.map(|k| k["groups"].clone()).unwrap_or_else(|| json!([])),
            })
        })
        .collect();
    apply_entries(state, None, &cfg.siren, &entries).await
}
