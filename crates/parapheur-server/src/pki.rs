//! The server's keys: the internal CA under `<data_dir>/pki`, per-user signing credentials and
//! per-subscriber seals, loaded once and kept in memory.

use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
use parapheur_sign::{Credential, SignError};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

#[derive(Debug)]
pub struct Pki {
    ca: InternalCa,
    cache: Mutex<HashMap<String, Credential>>,
    /// Users' keys on a PKCS#11 token, by lowercase e-mail (they take precedence).
    hsm_users: Mutex<HashMap<String, Credential>>,
    /// Trust anchors of verification steps: the internal CA and `[signing] trust_anchors`.
    anchors: Vec<openssl::x509::X509>,
    /// What verification steps trust, built once.
    validation: parapheur_sign::policy::ValidationContext,
}

impl Pki {
    /// Opens the CA, creating it on first start.
    pub fn open(data_dir: &Path, extra_anchors: Option<&Path>) -> Result<Self, SignError> {
        let ca = InternalCa::open_or_create(&data_dir.join("pki"), "parapheur - autorité interne")?;
        let mut anchors = vec![ca.certificate().clone()];
        if let Some(p) = extra_anchors {
            let pem = std::fs::read(p).map_err(|e| SignError::Io {
                path: p.display().to_string(),
                source: e,
            })?;
            anchors.extend(openssl::x509::X509::stack_from_pem(&pem)?);
        }
        // Timestamps are trusted from the same configured roots: the operator lists the
        // authorities (signers' CAs and timestamp authorities) in `[signing] trust_anchors`.
        let mut validation = parapheur_sign::policy::ValidationContext::new(anchors.clone());
        validation.tsa_anchors = anchors.clone();
        Ok(Self {
            ca,
            cache: Mutex::new(HashMap::new()),
            hsm_users: Mutex::new(HashMap::new()),
            anchors,
            validation,
        })
    }

    /// The certificates verification steps trust.
    pub fn anchors(&self) -> &[openssl::x509::X509] {
        &self.anchors
    }

    /// What verification steps rely on: the anchors, the default algorithm policy, the
    /// current time.
    pub fn validation(&self) -> &parapheur_sign::policy::ValidationContext {
        &self.validation
    }

    /// The trust anchors of signatures made with keys this server issued (PEM).
    pub fn ca_pem(&self) -> Result<Vec<u8>, SignError> {
        Ok(self.ca.certificate().to_pem()?)
    }

    fn cached(
        &self,
        name: &str,
        subject: &Subject,
        kind: KeyKind,
    ) -> Result<Credential, SignError> {
        if let Some(c) = self.cache.lock().ok().and_then(|m| m.get(name).cloned()) {
            return Ok(c);
        }
        let c = self.ca.credential(name, subject, kind)?;
        if let Ok(mut m) = self.cache.lock() {
            m.insert(name.to_owned(), c.clone());
        }
        Ok(c)
    }

    /// A person's signing credential (imported, or issued by the internal CA on first use).
    pub fn user(
        &self,
        user_id: i64,
        full_name: &str,
        email: &str,
        org: &str,
        siren: &str,
    ) -> Result<Credential, SignError> {
        if let Some(c) = self
            .hsm_users
            .lock()
            .ok()
            .and_then(|m| m.get(&email.to_lowercase()).cloned())
        {
            return Ok(c);
        }
        let subject = Subject {
            common_name: full_name.to_owned(),
            email: Some(email.to_owned()),
            organization: Some(org.to_owned()).filter(|o| !o.is_empty()),
            organization_id: Some(siren.to_owned()),
        };
        self.cached(&format!("user-{user_id}"), &subject, KeyKind::Person)
    }

    /// A subscriber's seal (imported, or issued by the internal CA on first use).
    pub fn seal(&self, siren: &str, name: &str) -> Result<Credential, SignError> {
        let subject = Subject {
            common_name: name.to_owned(),
            email: None,
            organization: Some(name.to_owned()),
            organization_id: Some(siren.to_owned()),
        };
        self.cached(&format!("seal-{siren}"), &subject, KeyKind::Seal)
    }

    /// Uses the seal of `siren` held on a PKCS#11 token (checked: the token signs, and its
    /// signature verifies with the certificate). Nothing is written to `pki/`.
    pub fn install_hsm_seal(&self, c: &crate::config::HsmSealConfig) -> Result<(), SignError> {
        let cred = hsm_credential(&c.module, &c.token, &c.pin, &c.key_label, &c.certificate)?;
        tracing::info!(siren = %c.siren, subject = %cred.common_name(), "seal on a PKCS#11 token");
        if let Ok(mut m) = self.cache.lock() {
            m.insert(format!("seal-{}", c.siren), cred);
        }
        Ok(())
    }

    /// Uses the signing key of the user `email` held on a PKCS#11 token (checked the same way).
    pub fn install_hsm_user(&self, c: &crate::config::HsmUserConfig) -> Result<(), SignError> {
        let cred = hsm_credential(&c.module, &c.token, &c.pin, &c.key_label, &c.certificate)?;
        tracing::info!(email = %c.email, subject = %cred.common_name(), "user key on a PKCS#11 token");
        if let Ok(mut m) = self.hsm_users.lock() {
            m.insert(c.email.to_lowercase(), cred);
        }
        Ok(())
    }

    /// Installs an imported credential (PKCS#12) under `name` (`user-<id>` or `seal-<siren>`).
    pub fn import(&self, name: &str, cred: Credential) -> Result<(), SignError> {
        self.ca.store(name, &cred)?;
        if let Ok(mut m) = self.cache.lock() {
            m.insert(name.to_owned(), cred);
        }
        Ok(())
    }
}

/// A key on a PKCS#11 token with its chain (a PEM file, or the token's certificate object when
/// `certificate` is empty), checked against each other.
fn hsm_credential(
    module: &str,
    token: &str,
    pin: &str,
    key_label: &str,
    certificate: &str,
) -> Result<Credential, SignError> {
    use parapheur_sign::pkcs11::{HsmKey, HsmKeyRef};
    let key = HsmKey::open(&HsmKeyRef {
        module: module.to_owned(),
        token: token.to_owned(),
        pin: pin.to_owned(),
        key_label: key_label.to_owned(),
    })?;
    let chain = if certificate.is_empty() {
        Vec::new()
    } else {
        let pem = std::fs::read(certificate).map_err(|e| SignError::Io {
            path: certificate.to_owned(),
            source: e,
        })?;
        openssl::x509::X509::stack_from_pem(&pem)?
    };
    Credential::hsm(key, chain)
}
