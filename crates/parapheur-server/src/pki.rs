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
    /// Trust anchors of verification steps: the internal CA and `[signing] trust_anchors`.
    anchors: Vec<openssl::x509::X509>,
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
        Ok(Self {
            ca,
            cache: Mutex::new(HashMap::new()),
            anchors,
        })
    }

    /// The certificates verification steps trust.
    pub fn anchors(&self) -> &[openssl::x509::X509] {
        &self.anchors
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
        use parapheur_sign::pkcs11::{HsmKey, HsmKeyRef};
        let key = HsmKey::open(&HsmKeyRef {
            module: c.module.clone(),
            token: c.token.clone(),
            pin: c.pin.clone(),
            key_label: c.key_label.clone(),
        })?;
        let chain = if c.certificate.is_empty() {
            Vec::new()
        } else {
            let pem = std::fs::read(&c.certificate).map_err(|e| SignError::Io {
                path: c.certificate.clone(),
                source: e,
            })?;
            openssl::x509::X509::stack_from_pem(&pem)?
        };
        let cred = Credential::hsm(key, chain)?;
        tracing::info!(siren = %c.siren, subject = %cred.common_name(), "seal on a PKCS#11 token");
        if let Ok(mut m) = self.cache.lock() {
            m.insert(format!("seal-{}", c.siren), cred);
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
