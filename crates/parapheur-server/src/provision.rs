//! The provisioning file (CONTRACT §3): subscribers, users and circuits, applied idempotently.

use crate::auth::hash_password;
use crate::pki::Pki;
use crate::service::circuits::{self, CircuitError, CircuitInput, StepInput};
use futures_util::StreamExt;
use parapheur_domain::{Email, Siren};
use parapheur_store::Db;
use parapheur_store::accounts::UserUpsert;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Provisioning {
    #[serde(default)]
    pub subscribers: Vec<SubscriberDef>,
    #[serde(default)]
    pub users: Vec<UserDef>,
    #[serde(default)]
    pub circuits: Vec<CircuitDef>,
    #[serde(default)]
    pub webhooks: Vec<WebhookDef>,
}

/// A subscriber's webhook endpoint (CONTRACT §11).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookDef {
    pub siren: String,
    pub url: String,
    /// `whsec_<base64>` (Standard Webhooks).
    pub secret: String,
    /// Event types; empty or absent: every event.
    #[serde(default)]
    pub events: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriberDef {
    pub siren: String,
    pub name: String,
    /// The subscriber's seal as a PKCS#12 file (otherwise the internal CA issues one).
    pub seal_pkcs12: Option<String>,
    pub seal_pkcs12_password: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserDef {
    pub email: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default = "basic")]
    pub authentication: String,
    pub password: Option<String>,
    pub certificate: Option<String>,
    /// The user's signing key and chain as a PKCS#12 file (otherwise the internal CA issues one).
    pub pkcs12: Option<String>,
    pub pkcs12_password: Option<String>,
    #[serde(default)]
    pub subscribers: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

fn basic() -> String {
    "BASIC".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitDef {
    pub siren: String,
    pub id: String,
    #[serde(rename = "type")]
    pub circuit_type: String,
    #[serde(default)]
    pub formats: Vec<String>,
    #[serde(default)]
    pub depositors: Vec<String>,
    #[serde(default)]
    pub metadata: bool,
    #[serde(default)]
    pub steps: Vec<StepDef>,
    /// `members` (default) or `subscriber` (CONTRACT §8).
    #[serde(default)]
    pub visibility: Option<String>,
    /// Default deadline of its documents, in days after the deposit (CONTRACT §11).
    #[serde(default)]
    pub deadline_days: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    pub step: String,
    #[serde(default)]
    pub members: Vec<String>,
    /// `any` (default) or `all` (CONTRACT §9).
    #[serde(default)]
    pub rule: Option<String>,
    /// `token`: the members sign with their own card (issue 20 §4).
    #[serde(default)]
    pub key: Option<String>,
}

/// A provisioning problem: `where: reason` (the caller prefixes the file name).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProvisionError(pub String);

fn perr(at: impl std::fmt::Display, reason: impl std::fmt::Display) -> ProvisionError {
    ProvisionError(format!("{at}: {reason}"))
}

/// Parses a provisioning file from text.
pub fn parse(text: &str) -> Result<Provisioning, ProvisionError> {
    toml::from_str(text)
        .map_err(|e| ProvisionError(e.message().to_owned() + &span_hint(text, e.span())))
}

fn span_hint(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| {
        format!(
            " (line {})",
            text[..s.start.min(text.len())].lines().count().max(1)
        )
    })
    .unwrap_or_default()
}

/// Reads and applies a file; errors name the file.
pub async fn apply_file(db: &Db, pki: &Pki, path: &Path) -> Result<(), ProvisionError> {
    let text = std::fs::read_to_string(path).map_err(|e| perr(path.display(), e))?;
    let p = parse(&text).map_err(|e| perr(path.display(), e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    apply(db, pki, &p, base)
        .await
        .map_err(|e| perr(path.display(), e))
}

/// Reads a PKCS#12 file relative to the provisioning file and installs it under `name`.
async fn import_pkcs12(
    pki: &Pki,
    base: &Path,
    file: &str,
    password: Option<&str>,
    id: crate::pki::CredentialId,
) -> Result<(), Pkcs12Error> {
    let path = base.join(file);
    let at = |reason: String| Pkcs12Error {
        path: path.clone(),
        reason,
    };
    let der = std::fs::read(&path).map_err(|e| at(e.to_string()))?;
    let cred = parapheur_sign::Credential::from_pkcs12(&der, password.unwrap_or_default())
        .map_err(|e| at(e.to_string()))?;
    pki.import(id, cred).await.map_err(|e| at(e.to_string()))
}

/// Records the revocation of a certificate of the internal CA replaced by an imported key.
async fn revoke_superseded(
    db: &Db,
    serial: &str,
    user_id: Option<i64>,
    siren: &str,
) -> Result<(), ProvisionError> {
    db.revoke_certificate(
        serial,
        crate::service::revocation::SUPERSEDED,
        user_id,
        Some(siren),
    )
    .await
    .map_err(|e| ProvisionError(format!("database: {e}")))?;
    tracing::info!(siren, %serial, "replaced certificate revoked");
    Ok(())
}

/// A PKCS#12 file of the provisioning that cannot be read or installed.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
struct Pkcs12Error {
    path: std::path::PathBuf,
    reason: String,
}

/// The argon2 outcome of a user's provisioned password.
enum PasswordWork {
    /// No password to apply (none given, too short, or the e-mail is invalid: the loop of
    /// [`apply`] reports those).
    None,
    /// The stored hash already matches the password.
    Unchanged,
    /// The new hash to store.
    Hashed(String),
    Failed(String),
}

/// Checks `u`'s password against the stored hash, or hashes it, on a blocking thread.
async fn password_work(db: &Db, u: &UserDef) -> PasswordWork {
    let Some(pw) = u.password.clone().filter(|pw| pw.chars().count() >= 8) else {
        return PasswordWork::None;
    };
    let Ok(email) = Email::parse(&u.email) else {
        return PasswordWork::None;
    };
    let stored = match db.user_by_email(email.as_str()).await {
        Ok(user) => user.and_then(|x| x.password_hash),
        Err(e) => return PasswordWork::Failed(format!("database: {e}")),
    };
    let work = move || {
        let unchanged = stored
            .as_deref()
            .is_some_and(|h| crate::auth::verify_password(h, &pw));
        if unchanged {
            PasswordWork::Unchanged
        } else {
            hash_password(&pw).map_or_else(
                |e| PasswordWork::Failed(e.to_string()),
                PasswordWork::Hashed,
            )
        }
    };
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| PasswordWork::Failed(format!("argon2 task: {e}")))
}

/// Applies a provisioning: creates or updates by key, never deletes.
pub async fn apply(
    db: &Db,
    pki: &Pki,
    p: &Provisioning,
    base: &Path,
) -> Result<(), ProvisionError> {
    let dberr = |e: parapheur_store::StoreError| ProvisionError(format!("database: {e}"));
    for (i, s) in p.subscribers.iter().enumerate() {
        let siren =
            Siren::parse(&s.siren).map_err(|e| perr(format!("subscribers[{i}].siren"), e))?;
        if s.name.trim().is_empty() {
            return Err(perr(format!("subscribers[{i}].name"), "must not be empty"));
        }
        db.upsert_subscriber(siren.as_str(), s.name.trim())
            .await
            .map_err(dberr)?;
        if let Some(f) = &s.seal_pkcs12 {
            let id = crate::pki::CredentialId::Seal(siren.as_str().to_owned());
            let replaced = pki
                .issued_serial(&id)
                .await
                .map_err(|e| perr(format!("subscribers[{i}].seal_pkcs12"), e))?;
            import_pkcs12(pki, base, f, s.seal_pkcs12_password.as_deref(), id)
                .await
                .map_err(|e| perr(format!("subscribers[{i}].seal_pkcs12"), e))?;
            if let Some(serial) = replaced {
                revoke_superseded(db, &serial, None, siren.as_str()).await?;
            }
        }
    }
    // The argon2 work of the users' passwords (a check of the stored hash, else a new hash)
    // runs ahead of the loop below on blocking threads, one per core: re-applying a file whose
    // passwords did not change (`parapheur demo` at each start) costs one argon2 round per
    // core instead of one per user in a row. Results come in the users' order.
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    let mut passwords = std::pin::pin!(
        futures_util::stream::iter(p.users.iter().map(|u| password_work(db, u))).buffered(workers)
    );
    for (i, u) in p.users.iter().enumerate() {
        let at = |k: &str| format!("users[{i}].{k}");
        let password = passwords.next().await.unwrap_or(PasswordWork::None);
        let email = Email::parse(&u.email).map_err(|e| perr(at("email"), e))?;
        let auth = u.authentication.trim().to_ascii_uppercase();
        if auth != "BASIC" && auth != "CERTIFICAT" {
            return Err(perr(at("authentication"), "BASIC or CERTIFICAT expected"));
        }
        let existing = db.user_by_email(email.as_str()).await.map_err(dberr)?;
        let password_hash = match (&u.password, auth.as_str()) {
            (Some(pw), _) if pw.chars().count() < 8 => {
                return Err(perr(at("password"), "at least 8 characters"));
            }
            (Some(_), _) => match password {
                PasswordWork::Unchanged => None,
                PasswordWork::Hashed(h) => Some(h),
                PasswordWork::Failed(e) => return Err(perr(at("password"), e)),
                // Not reached: a password of 8 characters or more always gets its work.
                PasswordWork::None => return Err(perr(at("password"), "not checked")),
            },
            (None, "BASIC")
                if existing
                    .as_ref()
                    .and_then(|x| x.password_hash.as_ref())
                    .is_none() =>
            {
                return Err(perr(at("password"), "a BASIC user needs a password"));
            }
            (None, _) => None,
        };
        let certificate = match &u.certificate {
            Some(c) => {
                let path = base.join(c);
                Some(
                    std::fs::read_to_string(&path)
                        .map_err(|e| perr(at("certificate"), format!("{}: {e}", path.display())))?,
                )
            }
            None => None,
        };
        for r in &u.roles {
            if r != "admin" {
                return Err(perr(at("roles"), format!("unknown role {r:?} (admin)")));
            }
        }
        let mut sirens = Vec::new();
        for s in &u.subscribers {
            let siren = Siren::parse(s).map_err(|e| perr(at("subscribers"), e))?;
            if !db.subscriber_exists(siren.as_str()).await.map_err(dberr)? {
                return Err(perr(
                    at("subscribers"),
                    format!("unknown subscriber {siren}"),
                ));
            }
            sirens.push(siren);
        }
        let id = db
            .upsert_user(&UserUpsert {
                email: email.as_str(),
                first_name: u.first_name.trim(),
                last_name: u.last_name.trim(),
                auth_type: &auth,
                password_hash: password_hash.as_deref(),
                certificate: certificate.as_deref(),
            })
            .await
            .map_err(dberr)?;
        if let Some(f) = &u.pkcs12 {
            import_pkcs12(
                pki,
                base,
                f,
                u.pkcs12_password.as_deref(),
                crate::pki::CredentialId::ImportedUser(id),
            )
            .await
            .map_err(|e| perr(at("pkcs12"), e))?;
            // The user now signs with their own key everywhere: the keys the internal CA
            // issued to them are revoked (superseded) and forgotten.
            for s in &sirens {
                let serial = pki
                    .issued_user_serial(id, s.as_str())
                    .await
                    .map_err(|e| perr(at("pkcs12"), e))?;
                if let Some(serial) = serial {
                    revoke_superseded(db, &serial, Some(id), s.as_str()).await?;
                    pki.forget_issued_user(id, s.as_str())
                        .await
                        .map_err(|e| perr(at("pkcs12"), e))?;
                }
            }
        }
        let admin = u.roles.iter().any(|r| r == "admin");
        for s in &sirens {
            db.set_membership(id, s.as_str(), admin)
                .await
                .map_err(dberr)?;
            for g in u.groups.iter().map(|g| g.trim()).filter(|g| !g.is_empty()) {
                db.add_group_member(s.as_str(), g, id)
                    .await
                    .map_err(dberr)?;
            }
        }
    }
    for (i, c) in p.circuits.iter().enumerate() {
        let at = |k: &str| format!("circuits[{i}].{k}");
        let siren = Siren::parse(&c.siren).map_err(|e| perr(at("siren"), e))?;
        if !db.subscriber_exists(siren.as_str()).await.map_err(dberr)? {
            return Err(perr(at("siren"), format!("unknown subscriber {siren}")));
        }
        let input = CircuitInput {
            id: c.id.clone(),
            circuit_type: c.circuit_type.clone(),
            formats: c.formats.clone(),
            depositors: c.depositors.clone(),
            metadata: c.metadata,
            steps: c
                .steps
                .iter()
                .map(|s| StepInput {
                    step: s.step.clone(),
                    members: s.members.clone(),
                    rule: s.rule.clone(),
                    key: s.key.clone(),
                })
                .collect(),
            visibility: c.visibility.clone(),
            deadline_days: c.deadline_days,
        };
        let row = match circuits::build(db, &siren, &input).await {
            Ok(row) => row,
            Err(CircuitError::Store(e)) => return Err(dberr(e)),
            Err(e) => return Err(perr(at(&e.field()), e)),
        };
        db.upsert_circuit(&row).await.map_err(dberr)?;
    }
    for (i, w) in p.webhooks.iter().enumerate() {
        let at = |k: &str| format!("webhooks[{i}].{k}");
        let siren = Siren::parse(&w.siren).map_err(|e| perr(at("siren"), e))?;
        if !db.subscriber_exists(siren.as_str()).await.map_err(dberr)? {
            return Err(perr(at("siren"), format!("unknown subscriber {siren}")));
        }
        match reqwest::Url::parse(&w.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => return Err(perr(at("url"), "an http(s) URL is expected")),
        }
        let key_len = w
            .secret
            .strip_prefix("whsec_")
            .and_then(|k| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(k).ok()
            })
            .map_or(0, |k| k.len());
        if key_len < 16 {
            return Err(perr(
                at("secret"),
                "whsec_<base64 of at least 16 random bytes> is expected",
            ));
        }
        for e in &w.events {
            if e != parapheur_store::webhooks::STATE_CHANGED {
                return Err(perr(
                    at("events"),
                    format!(
                        "unknown event {e:?} (known: {})",
                        parapheur_store::webhooks::STATE_CHANGED
                    ),
                ));
            }
        }
        db.upsert_webhook(&parapheur_store::webhooks::NewWebhook {
            siren: siren.to_string(),
            url: w.url.clone(),
            secret: w.secret.clone(),
            events: w.events.clone(),
        })
        .await
        .map_err(dberr)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::auth::verify_password as verifies;

    /// The passwords' argon2 work runs ahead of the users' loop, several at once: each user
    /// still gets their own password, unchanged ones keep their hash, and a bad one is refused
    /// under its own key.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_user_gets_their_own_password_and_unchanged_ones_keep_their_hash() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cfg_path = dir.path().join("c.toml");
        let data = dir.path().join("data");
        std::fs::write(
            &cfg_path,
            format!("data_dir = {:?}\n", data.display().to_string()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let cfg =
            crate::config::Config::load(Some(cfg_path.as_path())).unwrap_or_else(|e| panic!("{e}"));
        let state = crate::open_state(cfg)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let file = |passwords: &[String]| {
            let mut t = String::from("[[subscribers]]\nsiren = \"200000001\"\nname = \"C\"\n");
            for (i, pw) in passwords.iter().enumerate() {
                t.push_str(&format!(
                    "[[users]]\nemail = \"u{i}@a.fr\"\nfirst_name = \"U\"\nlast_name = \"{i}\"\n\
                     authentication = \"BASIC\"\npassword = \"{pw}\"\nsubscribers = [\"200000001\"]\n"
                ));
            }
            parse(&t).unwrap_or_else(|e| panic!("{e}"))
        };
        let hashes = || async {
            let mut out = Vec::new();
            for i in 0..5 {
                let u = state.db.user_by_email(&format!("u{i}@a.fr")).await;
                let u = u
                    .unwrap_or_else(|e| panic!("{e}"))
                    .unwrap_or_else(|| panic!("u{i}"));
                out.push(
                    u.password_hash
                        .unwrap_or_else(|| panic!("u{i} has no hash")),
                );
            }
            out
        };
        let mut passwords: Vec<String> = (0..5).map(|i| format!("secret-{i}-pw")).collect();
        apply(&state.db, &state.pki, &file(&passwords), Path::new("."))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let first = hashes().await;
        for (i, h) in first.iter().enumerate() {
            assert!(verifies(h, &passwords[i]), "u{i} has their own password");
            assert!(
                !verifies(h, &passwords[(i + 1) % 5]),
                "u{i} has not the next one's"
            );
        }
        // The same file again: every stored hash is kept as it is.
        apply(&state.db, &state.pki, &file(&passwords), Path::new("."))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hashes().await, first);
        // One password changes: only that user's hash does.
        passwords[3] = "another-secret".into();
        apply(&state.db, &state.pki, &file(&passwords), Path::new("."))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let third = hashes().await;
        for (i, (now, before)) in third.iter().zip(&first).enumerate() {
            assert_eq!(now == before, i != 3, "u{i}");
        }
        assert!(verifies(&third[3], "another-secret"));
        // A password too short is refused under its user's key.
        passwords[4] = "short".into();
        let e = apply(&state.db, &state.pki, &file(&passwords), Path::new("."))
            .await
            .err()
            .unwrap_or_else(|| panic!("a 5-character password was accepted"));
        assert!(e.to_string().contains("users[4].password"), "{e}");
    }
}
