//! The server's keys: the internal CA, per-user signing credentials and per-subscriber seals.
//! Their state lives in the database, so that every instance agrees on one CA and one
//! credential per holder (issue 20 §2); they are kept in memory once loaded. The files of the
//! CA an earlier version kept under `<data_dir>/pki` are imported into an empty database.

use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
use parapheur_sign::{Credential, SignError};
use parapheur_store::pki::{StoredAuthority, StoredCredential};
use parapheur_store::{Db, StoreError};
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
    /// The key of its row in `pki_credentials` (and the file name under `pki/issued` of
    /// earlier versions): distinct for distinct holders, as user ids and SIRENs are digits.
    fn name(&self) -> String {
        match self {
            Self::ImportedUser(id) => format!("user-{id}"),
            Self::IssuedUser { user_id, siren } => format!("user-{user_id}-{siren}"),
            Self::Seal(siren) => format!("seal-{siren}"),
            Self::Tsa => "tsa".into(),
        }
    }
}

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the credential {0} was recorded but cannot be read back")]
    Vanished(String),
    #[error("a key generation task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl From<openssl::error::ErrorStack> for PkiError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        Self::Sign(e.into())
    }
}

#[derive(Debug)]
pub struct Pki {
    ca: InternalCa,
    db: Db,
    cache: Mutex<HashMap<CredentialId, Credential>>,
    /// Seals on a PKCS#11 token, by SIREN (they take precedence, and survive `clear_cache`).
    hsm_seals: Mutex<HashMap<String, Credential>>,
    /// Users' keys on a PKCS#11 token, by lowercase e-mail (they take precedence).
    hsm_users: Mutex<HashMap<String, Credential>>,
    /// Trust anchors of verification steps: the internal CA, `[signing] trust_anchors` and the
    /// CAs of `[signing] trusted_list`.
    anchors: Vec<openssl::x509::X509>,
    /// What verification steps trust, built once.
    validation: parapheur_sign::policy::ValidationContext,
}

/// The name of the internal CA.
const CA_NAME: &str = "parapheur - autorité interne";

/// The internal CA recorded in the database: created on first start (or imported from the
/// files of an earlier version under `legacy_dir`), the same for every instance.
async fn authority(
    db: &Db,
    legacy_dir: &Path,
    protection: &parapheur_sign::ca::KeyProtection,
) -> Result<InternalCa, PkiError> {
    let stored = match db.pki_authority().await? {
        Some(a) => a,
        None => {
            let dir = legacy_dir.to_owned();
            let p = protection.clone();
            let (candidate, legacy) = tokio::task::spawn_blocking(move || {
                match InternalCa::open_existing(&dir, p.clone())? {
                    Some(ca) => Ok::<_, SignError>((ca, true)),
                    None => Ok((InternalCa::generate(CA_NAME, p)?, false)),
                }
            })
            .await??;
            let recorded = db
                .create_pki_authority(&StoredAuthority {
                    certificate: String::from_utf8_lossy(&candidate.certificate().to_pem()?)
                        .into_owned(),
                    private_key: candidate.key_pem()?,
                })
                .await?;
            let won = recorded.certificate.as_bytes() == candidate.certificate().to_pem()?;
            if won && legacy {
                import_legacy(db, &candidate).await?;
                tracing::info!(
                    dir = %legacy_dir.display(),
                    "the internal CA's files were imported into the database; they are no longer read"
                );
            } else if won {
                tracing::info!("internal CA created");
            }
            recorded
        }
    };
    let (ca, stale) = InternalCa::from_pem(
        stored.certificate.as_bytes(),
        stored.private_key.as_bytes(),
        protection.clone(),
    )?;
    if stale {
        db.rewrite_pki_authority_key(&ca.key_pem()?).await?;
        tracing::info!("the internal CA's key is now encrypted at rest");
    }
    Ok(ca)
}

/// Copies the credentials an earlier version kept under `pki/issued` into the database.
async fn import_legacy(db: &Db, ca: &InternalCa) -> Result<(), PkiError> {
    for name in ca.stored_names()? {
        let Some(c) = ca.existing(&name)? else {
            continue;
        };
        let (private_key, chain) = ca.credential_pem(&c)?;
        let serial = match c.chain.first() {
            Some(leaf) if ca.issued(leaf) => Some(parapheur_sign::ca::serial_hex(leaf)?),
            _ => None,
        };
        if let (Some(serial), Some(leaf)) = (&serial, c.chain.first()) {
            db.log_issued_certificate(serial, &name, &String::from_utf8_lossy(&leaf.to_pem()?))
                .await?;
        }
        db.put_pki_credential(
            &name,
            &StoredCredential {
                private_key,
                chain,
                serial,
            },
        )
        .await?;
    }
    Ok(())
}

impl Pki {
    /// Opens the CA recorded in the database, creating it on first start. The certificates it
    /// issues name `<public_url>/api/v1/pki/crl` as their CRL distribution point and
    /// `<public_url>/api/v1/pki/ocsp` as their OCSP responder.
    pub async fn open(
        db: &Db,
        data_dir: &Path,
        extra_anchors: Option<&Path>,
        trusted_list: Option<&Path>,
        public_url: &str,
        protection: parapheur_sign::ca::KeyProtection,
    ) -> Result<Self, PkiError> {
        let ca = authority(db, &data_dir.join("pki"), &protection)
            .await?
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
        // authorities (signers' CAs and timestamp authorities) in `[signing] trust_anchors`; a
        // trusted list adds its CAs to both, and its timestamp authorities to the latter.
        let mut tsa_only = Vec::new();
        if let Some(p) = trusted_list {
            let list = read_trusted_list(p)?;
            tracing::info!(
                path = %p.display(),
                territory = list.territory.as_deref().unwrap_or("?"),
                signer_anchors = list.signer_anchors.len(),
                tsa_anchors = list.tsa_anchors.len(),
                skipped = list.skipped,
                "trusted list read"
            );
            anchors.extend(list.signer_anchors);
            tsa_only = list.tsa_anchors;
        }
        let tsa_anchors: Vec<_> = anchors.iter().chain(&tsa_only).cloned().collect();
        let mut validation = parapheur_sign::policy::ValidationContext::new(anchors.clone());
        validation.tsa_anchors = tsa_anchors;
        Ok(Self {
            ca,
            db: db.clone(),
            cache: Mutex::new(HashMap::new()),
            hsm_seals: Mutex::new(HashMap::new()),
            hsm_users: Mutex::new(HashMap::new()),
            anchors,
            validation,
        })
    }

    /// Whether the internal CA issued `cert`.
    pub fn issued(&self, cert: &openssl::x509::X509) -> bool {
        self.ca.issued(cert)
    }

    /// The certificates verification steps trust.
    pub fn anchors(&self) -> &[openssl::x509::X509] {
        &self.anchors
    }

    /// The built-in time-stamping authority (`[signing] tsa_url = "internal"`), its credential
    /// issued by the internal CA on first use.
    pub async fn tsa(&self) -> Result<parapheur_sign::tsa_authority::Authority, PkiError> {
        let c = self
            .credential(CredentialId::Tsa, |ca| ca.issue_tsa())
            .await?;
        Ok(parapheur_sign::tsa_authority::Authority::new(c))
    }

    /// The validation data of PAdES B-LT for `certs` (a signer's chain, a timestamp authority's
    /// certificate): every certificate with the internal CA's, an OCSP response for each one
    /// the CA issued (`revoked`: its revocations, as `ocsp` takes them), and the CRL. A
    /// certificate of another authority goes in without revocation data: the caller adds its
    /// authority's CRL, fetched online.
    pub fn validation_data(
        &self,
        certs: &[openssl::x509::X509],
        revoked: &[(String, i64)],
    ) -> Result<parapheur_sign::pades::ValidationData, SignError> {
        let mut data = parapheur_sign::pades::ValidationData::default();
        let revoked_at: HashMap<&str, i64> = revoked
            .iter()
            .map(|(serial, ms)| (serial.as_str(), ms / 1000))
            .collect();
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
                data.ocsp_responses.push(parapheur_sign::ocsp::respond(
                    &self.ca,
                    &req.to_der()?,
                    |serial| revoked_at.get(serial).copied(),
                    chrono::Utc::now().timestamp(),
                ));
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

    /// The credential `id` in memory, else in the database (re-encrypted there if it was kept
    /// in clear before a passphrase was configured).
    async fn stored(&self, id: &CredentialId) -> Result<Option<Credential>, PkiError> {
        if let Some(c) = self.cache.lock().ok().and_then(|m| m.get(id).cloned()) {
            return Ok(Some(c));
        }
        let name = id.name();
        let Some(row) = self.db.pki_credential(&name).await? else {
            return Ok(None);
        };
        let (c, stale) = self.ca.credential_from_pem(
            row.private_key.as_bytes(),
            row.chain.as_bytes(),
            &format!("the credential {name}"),
        )?;
        if stale {
            let (private_key, chain) = self.ca.credential_pem(&c)?;
            let rewritten = StoredCredential {
                private_key,
                chain,
                serial: row.serial,
            };
            self.db.put_pki_credential(&name, &rewritten).await?;
        }
        if let Ok(mut m) = self.cache.lock() {
            m.insert(id.clone(), c.clone());
        }
        Ok(Some(c))
    }

    /// The credential `id`, issued by the internal CA with `issue` on first use. Instances
    /// issuing it at once agree on the first one recorded.
    async fn credential(
        &self,
        id: CredentialId,
        issue: impl FnOnce(&InternalCa) -> Result<Credential, SignError> + Send + 'static,
    ) -> Result<Credential, PkiError> {
        if let Some(c) = self.stored(&id).await? {
            return Ok(c);
        }
        let ca = self.ca.clone();
        let (fresh, leaf) = tokio::task::spawn_blocking(move || -> Result<_, SignError> {
            let c = issue(&ca)?;
            let (private_key, chain) = ca.credential_pem(&c)?;
            let leaf = c
                .chain
                .first()
                .ok_or_else(|| SignError::Invalid("empty chain".into()))?;
            let serial = parapheur_sign::ca::serial_hex(leaf)?;
            let leaf = String::from_utf8_lossy(&leaf.to_pem()?).into_owned();
            Ok((
                StoredCredential {
                    private_key,
                    chain,
                    serial: Some(serial),
                },
                leaf,
            ))
        })
        .await??;
        self.db
            .issue_pki_credential(&id.name(), &fresh, &leaf)
            .await?;
        self.stored(&id)
            .await?
            .ok_or_else(|| PkiError::Vanished(id.name()))
    }

    /// The user's imported credential, if any.
    async fn imported_user(&self, user_id: i64) -> Result<Option<Credential>, PkiError> {
        let id = CredentialId::ImportedUser(user_id);
        let Some(c) = self.stored(&id).await? else {
            return Ok(None);
        };
        // A key the internal CA issued under that name by earlier versions (one key for every
        // subscriber, naming the first) is not one.
        if c.chain.first().is_some_and(|cert| self.ca.issued(cert)) {
            return Ok(None);
        }
        Ok(Some(c))
    }

    /// A person's signing credential for a document of `siren`: their token key, their
    /// imported credential, or the key the internal CA issues them for that subscriber on
    /// first use (its certificate names the subscriber).
    pub async fn user(
        &self,
        user_id: i64,
        full_name: &str,
        email: &str,
        org: &str,
        siren: &str,
    ) -> Result<Credential, PkiError> {
        if let Some(c) = self
            .hsm_users
            .lock()
            .ok()
            .and_then(|m| m.get(&email.to_lowercase()).cloned())
        {
            return Ok(c);
        }
        if let Some(c) = self.imported_user(user_id).await? {
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
        self.credential(id, move |ca| ca.issue(&subject, KeyKind::Person))
            .await
    }

    /// A subscriber's seal (imported, or issued by the internal CA on first use).
    pub async fn seal(&self, siren: &str, name: &str) -> Result<Credential, PkiError> {
        if let Some(c) = self
            .hsm_seals
            .lock()
            .ok()
            .and_then(|m| m.get(siren).cloned())
        {
            return Ok(c);
        }
        let subject = Subject {
            common_name: name.to_owned(),
            email: None,
            organization: Some(name.to_owned()),
            organization_id: Some(siren.to_owned()),
        };
        self.credential(CredentialId::Seal(siren.to_owned()), move |ca| {
            ca.issue(&subject, KeyKind::Seal)
        })
        .await
    }

    /// Uses the seal of `siren` held on a PKCS#11 token (checked: the token signs, and its
    /// signature verifies with the certificate). Nothing is written to the database.
    pub fn install_hsm_seal(&self, c: &crate::config::HsmSeal) -> Result<(), SignError> {
        let cred = hsm_credential(&c.key)?;
        tracing::info!(siren = %c.siren, subject = %cred.common_name(), "seal on a PKCS#11 token");
        if let Ok(mut m) = self.hsm_seals.lock() {
            m.insert(c.siren.as_str().to_owned(), cred);
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
        self.validation_with_crls(crl_der, &[])
    }

    /// [`Pki::validation_with_crl`] with other CAs' CRLs too (DER; those that do not parse are
    /// left out).
    pub fn validation_with_crls(
        &self,
        crl_der: &[u8],
        others: &[Vec<u8>],
    ) -> Result<parapheur_sign::policy::ValidationContext, SignError> {
        let mut ctx = parapheur_sign::policy::ValidationContext::new(self.anchors.clone());
        ctx.tsa_anchors = self.validation.tsa_anchors.clone();
        ctx.crls = vec![openssl::x509::X509Crl::from_der(crl_der)?];
        ctx.crls.extend(
            others
                .iter()
                .filter_map(|der| openssl::x509::X509Crl::from_der(der).ok()),
        );
        Ok(ctx)
    }

    /// The CRL of the internal CA listing `revoked` (`(serial, revoked at in ms)`), valid a day.
    pub fn crl(&self, revoked: &[(String, i64)]) -> Result<Vec<u8>, SignError> {
        let list: Vec<_> = revoked
            .iter()
            .map(|(s, ms)| (s.clone(), *ms, None))
            .collect();
        self.crl_with_reasons(&list)
    }

    /// [`Pki::crl`] with each revocation's reason code (`(serial, revoked at in ms, reason)`).
    pub fn crl_with_reasons(
        &self,
        revoked: &[(String, i64, Option<parapheur_sign::ocsp::CrlReason>)],
    ) -> Result<Vec<u8>, SignError> {
        let list: Vec<_> = revoked
            .iter()
            .map(|(s, ms, r)| (s.clone(), ms / 1000, *r))
            .collect();
        // The number grows with every revocation and with time (two instances building the
        // CRL at once give the same list).
        let number = revoked
            .iter()
            .map(|(_, ms, _)| ms / 1000)
            .max()
            .unwrap_or(0);
        self.ca.crl_with_reasons(&list, number, 86_400)
    }

    /// The OCSP response (DER) to the DER request `request`, given what is known of the
    /// certificates it may name (`unknown` for any serial not in `status`).
    pub fn ocsp(
        &self,
        request: &[u8],
        status: &HashMap<String, parapheur_sign::ocsp::Status>,
    ) -> Vec<u8> {
        parapheur_sign::ocsp::respond_with(
            &self.ca,
            request,
            |serial| {
                status
                    .get(serial)
                    .copied()
                    .unwrap_or(parapheur_sign::ocsp::Status::Unknown)
            },
            chrono::Utc::now().timestamp(),
        )
    }

    /// The serial of the certificate the internal CA issued to `user_id` for `siren`, if any.
    pub async fn issued_user_serial(
        &self,
        user_id: i64,
        siren: &str,
    ) -> Result<Option<String>, PkiError> {
        self.issued_serial(&CredentialId::IssuedUser {
            user_id,
            siren: siren.to_owned(),
        })
        .await
    }

    /// The serial of the credential `id` when the internal CA issued it (an imported one is
    /// not ours to revoke).
    pub async fn issued_serial(&self, id: &CredentialId) -> Result<Option<String>, PkiError> {
        Ok(self
            .db
            .pki_credential(&id.name())
            .await?
            .and_then(|row| row.serial))
    }

    /// Forgets the key the internal CA issued to `user_id` for `siren` (after its revocation):
    /// a later signature in that subscriber gets a new key and certificate.
    pub async fn forget_issued_user(&self, user_id: i64, siren: &str) -> Result<(), PkiError> {
        let id = CredentialId::IssuedUser {
            user_id,
            siren: siren.to_owned(),
        };
        self.db.delete_pki_credential(&id.name()).await?;
        if let Ok(mut m) = self.cache.lock() {
            m.remove(&id);
        }
        Ok(())
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
    pub async fn import(&self, id: CredentialId, cred: Credential) -> Result<(), PkiError> {
        let (private_key, chain) = self.ca.credential_pem(&cred)?;
        let row = StoredCredential {
            private_key,
            chain,
            serial: None,
        };
        self.db.put_pki_credential(&id.name(), &row).await?;
        if let Ok(mut m) = self.cache.lock() {
            m.insert(id, cred);
        }
        Ok(())
    }

    /// Whether the internal CA issued the certificate `serial` (upper-case hexadecimal).
    pub async fn was_issued(&self, serial: &str) -> Result<bool, PkiError> {
        Ok(self.db.was_issued(serial).await?)
    }
}

/// The trusted list at `path`, within the reader's budgets (its size checked before reading).
pub(crate) fn read_trusted_list(
    path: &Path,
) -> Result<parapheur_sign::trusted_list::TrustedList, SignError> {
    use std::io::Read;
    let limits = parapheur_sign::trusted_list::Limits::default();
    let io = |e| SignError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(limits.max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    parapheur_sign::trusted_list::read(&bytes, &limits)
        .map_err(|e| SignError::Invalid(format!("{}: {e}", path.display())))
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
