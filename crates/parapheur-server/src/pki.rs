//! The server's keys: the internal CA under `<data_dir>/pki`, per-user signing credentials and
//! per-subscriber seals, loaded once and kept in memory.

use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
use parapheur_sign::{Credential, SignError};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// Which credential a key is: typed, so that no user's key can be taken for a seal or for
/// another subscriber's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CredentialId {
    /// A user's own credential, imported from a PKCS#12 file: used in every subscriber.
    ImportedUser(i64),
    /// The key the internal CA issues to a user for one subscriber (its certificate names that
    /// subscriber); a user of two subscribers has two.
    IssuedUser { user_id: i64, siren: String },
    /// A subscriber's seal, by SIREN.
    Seal(String),
    /// The built-in time-stamping authority.
    Tsa,
}

impl CredentialId {
    /// The file name under `pki/issued`.
    fn file_name(&self) -> String {
        match self {
            Self::ImportedUser(id) => format!("user-{id}"),
            Self::IssuedUser { user_id, siren } => format!("user-{user_id}-{siren}"),
            Self::Seal(siren) => format!("seal-{siren}"),
            Self::Tsa => "tsa".into(),
        }
    }
}

#[derive(Debug)]
pub struct Pki {
    ca: InternalCa,
    cache: Mutex<HashMap<CredentialId, Credential>>,
    /// Users' keys on a PKCS#11 token, by lowercase e-mail (they take precedence).
    hsm_users: Mutex<HashMap<String, Credential>>,
    /// Trust anchors of verification steps: the internal CA and `[signing] trust_anchors`.
    anchors: Vec<openssl::x509::X509>,
    /// What verification steps trust, built once.
    validation: parapheur_sign::policy::ValidationContext,
}

impl Pki {
    /// Opens the CA, creating it on first start. The certificates it issues name
    /// `<public_url>/api/v1/pki/crl` as their CRL distribution point.
    pub fn open(
        data_dir: &Path,
        extra_anchors: Option<&Path>,
        public_url: &str,
        protection: parapheur_sign::ca::KeyProtection,
    ) -> Result<Self, SignError> {
        let ca = InternalCa::open_or_create_protected(
            &data_dir.join("pki"),
            "parapheur - autorité interne",
            protection,
        )?
        .with_crl_url(format!(
            "{}/api/v1/pki/crl",
            public_url.trim_end_matches('/')
        ))
        .with_ocsp_url(format!(
            "{}/api/v1/pki/ocsp",
            public_url.trim_end_matches('/')
        ));
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

    /// The built-in time-stamping authority (`[signing] tsa_url = "internal"`), its credential
    /// issued by the internal CA on first use and kept in the cache.
    pub fn tsa(&self) -> Result<parapheur_sign::tsa_authority::Authority, SignError> {
        let id = CredentialId::Tsa;
        if let Some(c) = self.cache.lock().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(parapheur_sign::tsa_authority::Authority::new(c));
        }
        let c = self.ca.tsa_credential()?;
        if let Ok(mut m) = self.cache.lock() {
            m.insert(id, c.clone());
        }
        Ok(parapheur_sign::tsa_authority::Authority::new(c))
    }

    /// The validation data of PAdES B-LT for `certs` (a signer's chain, a timestamp authority's
    /// certificate): every certificate with the internal CA's, an OCSP response for each one
    /// the CA issued (`revoked`: its revocations, as `ocsp` takes them), and the CRL. A
    /// certificate of another authority goes in without revocation data (the CA cannot
    /// vouch for it, and fetching its authority's answers is not done yet).
    pub fn validation_data(
        &self,
        certs: &[openssl::x509::X509],
        revoked: &[(String, i64)],
    ) -> Result<parapheur_sign::pades::ValidationData, SignError> {
        let mut data = parapheur_sign::pades::ValidationData::default();
        for c in certs.iter().chain(std::iter::once(self.ca.certificate())) {
            data.certificates.push(c.to_der()?);
            if self.ca.issued(c) && c.to_der()? != self.ca.certificate().to_der()? {
                let id = openssl::ocsp::OcspCertId::from_cert(
                    openssl::hash::MessageDigest::sha1(),
                    c,
                    self.ca.certificate(),
                )?;
                let mut req = openssl::ocsp::OcspRequest::new()?;
                req.add_id(id)?;
                data.ocsp_responses.push(self.ocsp(&req.to_der()?, revoked));
            }
        }
        data.crls.push(self.crl(revoked)?);
        Ok(data)
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
        id: CredentialId,
        subject: &Subject,
        kind: KeyKind,
    ) -> Result<Credential, SignError> {
        if let Some(c) = self.cache.lock().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(c);
        }
        let c = self.ca.credential(&id.file_name(), subject, kind)?;
        if let Ok(mut m) = self.cache.lock() {
            m.insert(id, c.clone());
        }
        Ok(c)
    }

    /// The user's imported credential, if any. A key the internal CA issued under that name by
    /// earlier versions (one key for every subscriber, naming the first) is not one.
    fn imported_user(&self, user_id: i64) -> Result<Option<Credential>, SignError> {
        let id = CredentialId::ImportedUser(user_id);
        if let Some(c) = self.cache.lock().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(Some(c));
        }
        let Some(c) = self.ca.existing(&id.file_name())? else {
            return Ok(None);
        };
        if c.chain.first().is_some_and(|cert| self.ca.issued(cert)) {
            return Ok(None);
        }
        if let Ok(mut m) = self.cache.lock() {
            m.insert(id, c.clone());
        }
        Ok(Some(c))
    }

    /// A person's signing credential for a document of `siren`: their token key, their
    /// imported credential, or the key the internal CA issues them for that subscriber on
    /// first use (its certificate names the subscriber).
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
        if let Some(c) = self.imported_user(user_id)? {
            return Ok(c);
        }
        let subject = Subject {
            common_name: full_name.to_owned(),
            email: Some(email.to_owned()),
            organization: Some(org.to_owned()).filter(|o| !o.is_empty()),
            organization_id: Some(siren.to_owned()),
        };
        let id = CredentialId::IssuedUser {
            user_id,
            siren: siren.to_owned(),
        };
        self.cached(id, &subject, KeyKind::Person)
    }

    /// A subscriber's seal (imported, or issued by the internal CA on first use).
    pub fn seal(&self, siren: &str, name: &str) -> Result<Credential, SignError> {
        let subject = Subject {
            common_name: name.to_owned(),
            email: None,
            organization: Some(name.to_owned()),
            organization_id: Some(siren.to_owned()),
        };
        self.cached(
            CredentialId::Seal(siren.to_owned()),
            &subject,
            KeyKind::Seal,
        )
    }

    /// Uses the seal of `siren` held on a PKCS#11 token (checked: the token signs, and its
    /// signature verifies with the certificate). Nothing is written to `pki/`.
    pub fn install_hsm_seal(&self, c: &crate::config::HsmSeal) -> Result<(), SignError> {
        let cred = hsm_credential(&c.key)?;
        tracing::info!(siren = %c.siren, subject = %cred.common_name(), "seal on a PKCS#11 token");
        if let Ok(mut m) = self.cache.lock() {
            m.insert(CredentialId::Seal(c.siren.as_str().to_owned()), cred);
        }
        Ok(())
    }

    /// Uses the signing key of the user `email` held on a PKCS#11 token (checked the same way).
    pub fn install_hsm_user(&self, c: &crate::config::HsmUser) -> Result<(), SignError> {
        let cred = hsm_credential(&c.key)?;
        tracing::info!(email = %c.email, subject = %cred.common_name(), "user key on a PKCS#11 token");
        if let Ok(mut m) = self.hsm_users.lock() {
            m.insert(c.email.as_str().to_lowercase(), cred);
        }
        Ok(())
    }

    /// What verification relies on, with the internal CA's current CRL (DER): a certificate it
    /// revoked no longer verifies.
    pub fn validation_with_crl(
        &self,
        crl_der: &[u8],
    ) -> Result<parapheur_sign::policy::ValidationContext, SignError> {
        let mut ctx = parapheur_sign::policy::ValidationContext::new(self.anchors.clone());
        ctx.tsa_anchors = self.anchors.clone();
        ctx.crls = vec![openssl::x509::X509Crl::from_der(crl_der)?];
        Ok(ctx)
    }

    /// The CRL of the internal CA listing `revoked` (`(serial, revoked at in ms)`), valid a day.
    pub fn crl(&self, revoked: &[(String, i64)]) -> Result<Vec<u8>, SignError> {
        let list: Vec<(String, i64)> = revoked
            .iter()
            .map(|(s, ms)| (s.clone(), ms / 1000))
            .collect();
        // The number grows with every revocation and with time (two instances building the
        // CRL at once give the same list).
        let number = revoked.iter().map(|(_, ms)| ms / 1000).max().unwrap_or(0);
        self.ca.crl(&list, number, 86_400)
    }

    /// The OCSP response (DER) to the DER request `request`, given the revocations
    /// (`(serial, revoked at in ms)`).
    pub fn ocsp(&self, request: &[u8], revoked: &[(String, i64)]) -> Vec<u8> {
        let map: HashMap<&str, i64> = revoked
            .iter()
            .map(|(s, ms)| (s.as_str(), ms / 1000))
            .collect();
        parapheur_sign::ocsp::respond(
            &self.ca,
            request,
            |serial| map.get(serial).copied(),
            chrono::Utc::now().timestamp(),
        )
    }

    /// The serial of the certificate the internal CA issued to `user_id` for `siren`, if any.
    pub fn issued_user_serial(
        &self,
        user_id: i64,
        siren: &str,
    ) -> Result<Option<String>, SignError> {
        self.issued_serial(&CredentialId::IssuedUser {
            user_id,
            siren: siren.to_owned(),
        })
    }

    /// The serial of the credential `id` when the internal CA issued it (an imported one is
    /// not ours to revoke).
    pub fn issued_serial(&self, id: &CredentialId) -> Result<Option<String>, SignError> {
        match self.ca.existing(&id.file_name())? {
            Some(c) => match c.chain.first() {
                Some(cert) if self.ca.issued(cert) => {
                    Ok(Some(parapheur_sign::ca::serial_hex(cert)?))
                }
                _ => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// Forgets the key the internal CA issued to `user_id` for `siren` (after its revocation):
    /// a later signature in that subscriber gets a new key and certificate.
    pub fn forget_issued_user(&self, user_id: i64, siren: &str) -> Result<(), SignError> {
        let id = CredentialId::IssuedUser {
            user_id,
            siren: siren.to_owned(),
        };
        if let Ok(mut m) = self.cache.lock() {
            m.remove(&id);
        }
        self.ca.remove(&id.file_name())
    }

    /// Forgets every credential held in memory (another instance may have revoked or replaced
    /// one); the next use reads them again.
    pub fn clear_cache(&self) {
        if let Ok(mut m) = self.cache.lock() {
            m.clear();
        }
    }

    /// Installs an imported credential (PKCS#12): a user's own, or a subscriber's seal. The
    /// caller revokes what it replaces (`issued_serial` before the import).
    pub fn import(&self, id: CredentialId, cred: Credential) -> Result<(), SignError> {
        self.ca.store(&id.file_name(), &cred)?;
        if let Ok(mut m) = self.cache.lock() {
            m.insert(id, cred);
        }
        Ok(())
    }
}

/// A key on a PKCS#11 token with its chain (a PEM file, or the token's certificate object when
/// no `certificate` is configured), checked against each other.
fn hsm_credential(c: &crate::config::HsmKey) -> Result<Credential, SignError> {
    use parapheur_sign::pkcs11::{HsmKey, HsmKeyRef};
    use secrecy::ExposeSecret;
    let key = HsmKey::open(&HsmKeyRef {
        module: c.module.clone(),
        token: c.token.clone(),
        pin: c.pin.expose_secret().to_owned(),
        key_label: c.key_label.clone(),
    })?;
    let chain = match &c.certificate {
        None => Vec::new(),
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| SignError::Io {
                path: path.display().to_string(),
                source: e,
            })?;
            openssl::x509::X509::stack_from_pem(&pem)?
        }
    };
    Credential::hsm(key, chain)
}
