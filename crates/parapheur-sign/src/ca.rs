//! The internal certification authority: created on first start under a directory, it issues a
//! signing certificate per user (ECDSA P-256) and a seal per subscriber (RSA 2048).

use crate::{Credential, SignError};
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509NameBuilder};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A person's signing key (ECDSA P-256).
    Person,
    /// An organisation's seal (RSA 2048).
    Seal,
}

/// Identity written into an issued certificate.
#[derive(Debug, Clone)]
pub struct Subject {
    pub common_name: String,
    pub email: Option<String>,
    pub organization: Option<String>,
    /// SIREN of the organisation, as organizationIdentifier-like serial.
    pub organization_id: Option<String>,
}

/// What an issued certificate is for (its extended key usage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// Signatures of persons and seals (e-mail protection, document signing).
    Signing,
    /// The built-in time-stamping authority.
    TimeStamping,
}

#[derive(Clone)]
pub struct InternalCa {
    dir: PathBuf,
    key: PKey<Private>,
    cert: X509,
    /// Where its CRL is published, written into the certificates it issues (CRL distribution
    /// point), when known.
    crl_url: Option<String>,
    /// Its OCSP responder, written into the certificates it issues (authority information
    /// access), when known.
    ocsp_url: Option<String>,
    /// How private keys are written to disk.
    protection: KeyProtection,
}

/// How the CA keeps private keys on disk: PKCS#8 PEM, encrypted with a passphrase from the
/// configuration when one is given (PKCS#5 v2: PBKDF2 and AES-256-CBC, what
/// `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes and `openssl pkey` reads).
#[derive(Clone, Default)]
pub struct KeyProtection {
    passphrase: Option<Vec<u8>>,
}

impl std::fmt::Debug for KeyProtection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyProtection")
            .field("encrypted", &self.passphrase.is_some())
            .finish()
    }
}

impl KeyProtection {
    /// Keys encrypted with `passphrase` (an empty one: not encrypted).
    pub fn passphrase(passphrase: &[u8]) -> Self {
        Self {
            passphrase: (!passphrase.is_empty()).then(|| passphrase.to_vec()),
        }
    }

    /// The PEM of `key` as it is written to disk.
    fn encode(&self, key: &PKey<Private>) -> Result<Vec<u8>, SignError> {
        Ok(match &self.passphrase {
            Some(p) => {
                key.private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), p)?
            }
            None => key.private_key_to_pem_pkcs8()?,
        })
    }

    /// The PEM of `key` as it is kept at rest (encrypted when a passphrase is configured).
    pub fn seal(&self, key: &PKey<Private>) -> Result<String, SignError> {
        String::from_utf8(self.encode(key)?)
            .map_err(|_| SignError::Invalid("a PEM key is not text".into()))
    }

    /// Opens the PEM key `pem` kept at rest (`what` names it in errors). The flag says that it
    /// should be written again with [`KeyProtection::seal`]: it was kept in clear before a
    /// passphrase was configured. An encrypted key without the passphrase is a clear error.
    pub fn open(&self, pem: &[u8], what: &str) -> Result<(PKey<Private>, bool), SignError> {
        let encrypted = pem.windows(9).take(64).any(|w| w == b"ENCRYPTED");
        match (&self.passphrase, encrypted) {
            (Some(p), true) => PKey::private_key_from_pem_passphrase(pem, p)
                .map(|k| (k, false))
                .map_err(|_| {
                    SignError::Invalid(format!(
                        "{what}: the key does not open with the configured passphrase"
                    ))
                }),
            (None, true) => Err(SignError::Invalid(format!(
                "{what}: the key is encrypted and no passphrase is configured ([signing] pki_passphrase)"
            ))),
            (Some(_), false) => Ok((PKey::private_key_from_pem(pem)?, true)),
            (None, false) => Ok((PKey::private_key_from_pem(pem)?, false)),
        }
    }

    /// Reads the key file `path`. A key written before a passphrase was configured is
    /// rewritten encrypted.
    fn read(&self, path: &Path) -> Result<PKey<Private>, SignError> {
        let pem = std::fs::read(path).map_err(io(path))?;
        let (key, stale) = self.open(&pem, &path.display().to_string())?;
        if stale {
            write_private(path, &self.encode(&key)?)?;
            tracing::info!(path = %path.display(), "private key encrypted at rest");
        }
        Ok(key)
    }
}

/// A chain as PEM text, leaf first.
pub fn chain_pem(chain: &[X509]) -> Result<String, SignError> {
    let mut pem = Vec::new();
    for cert in chain {
        pem.extend(cert.to_pem()?);
    }
    String::from_utf8(pem).map_err(|_| SignError::Invalid("a PEM chain is not text".into()))
}

/// A certificate's serial number in upper-case hexadecimal (how revocations are recorded).
pub fn serial_hex(cert: &openssl::x509::X509Ref) -> Result<String, SignError> {
    Ok(cert.serial_number().to_bn()?.to_hex_str()?.to_string())
}

/// The DER of an authority information access extension value naming the OCSP responder `url`.
pub fn authority_info_access(url: &str) -> Result<Vec<u8>, SignError> {
    use der::Encode;
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::{AccessDescription, AuthorityInfoAccessSyntax};
    let uri = der::asn1::Ia5String::new(url)
        .map_err(|e| SignError::Invalid(format!("OCSP URL {url:?}: {e}")))?;
    AuthorityInfoAccessSyntax(vec![AccessDescription {
        access_method: der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1"),
        access_location: GeneralName::UniformResourceIdentifier(uri),
    }])
    .to_der()
    .map_err(|e| SignError::Invalid(format!("authority information access: {e}")))
}

/// The DER of a CRL distribution points extension value naming `url`.
pub fn crl_distribution_points(url: &str) -> Result<Vec<u8>, SignError> {
    use der::Encode;
    use x509_cert::ext::pkix::crl::dp::DistributionPoint;
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    let uri = der::asn1::Ia5String::new(url)
        .map_err(|e| SignError::Invalid(format!("CRL URL {url:?}: {e}")))?;
    let dp = x509_cert::ext::pkix::CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![
            GeneralName::UniformResourceIdentifier(uri),
        ])),
        reasons: None,
        crl_issuer: None,
    }]);
    dp.to_der()
        .map_err(|e| SignError::Invalid(format!("CRL distribution point: {e}")))
}

impl std::fmt::Debug for InternalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InternalCa")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SignError + '_ {
    move |source| SignError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `bytes` durably to a new file of its own beside `path` (readable only by its owner)
/// and returns its name: several threads or processes sharing the directory never collide.
fn write_private_tmp(path: &Path, bytes: &[u8]) -> Result<PathBuf, SignError> {
    use std::io::Write;
    let mut nonce = [0u8; 8];
    openssl::rand::rand_bytes(&mut nonce)?;
    let tmp = path.with_extension(format!(
        "{}-{}.tmp",
        std::process::id(),
        u64::from_le_bytes(nonce)
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    Ok(tmp)
}

/// Writes a file readable only by its owner, durably, replacing it atomically.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SignError> {
    let tmp = write_private_tmp(path, bytes)?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// A key whose chain has not appeared after this long was left by a crash between the two.
const HALF_WRITTEN: Duration = Duration::from_secs(30);

/// Publishes a key and its chain unless a pair was published first (first writer wins, across
/// threads and processes sharing the directory): the key is hard-linked into place, which
/// fails if it exists, then the chain is renamed beside it.
fn publish_pair(kp: &Path, cp: &Path, key: &[u8], chain: &[u8]) -> Result<bool, SignError> {
    let tk = write_private_tmp(kp, key)?;
    let tc = write_private_tmp(cp, chain)?;
    let won = match std::fs::hard_link(&tk, kp) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => {
            let _ = std::fs::remove_file(&tk);
            let _ = std::fs::remove_file(&tc);
            return Err(io(kp)(e));
        }
    };
    let _ = std::fs::remove_file(&tk);
    if won {
        std::fs::rename(&tc, cp).map_err(io(cp))?;
        if let Some(dir) = kp.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io(dir))?;
        }
    } else {
        let _ = std::fs::remove_file(&tc);
    }
    Ok(won)
}

/// Whether a key file without its chain is old enough to be a crash leftover.
fn half_written(kp: &Path) -> bool {
    std::fs::metadata(kp)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > HALF_WRITTEN)
}

/// The algorithm of what the CA signs with `key` over SHA-256 (CRLs, OCSP answers): ECDSA, or
/// RSA PKCS#1 v1.5.
pub(crate) fn signature_algorithm(
    key: &PKey<Private>,
) -> x509_cert::spki::AlgorithmIdentifierOwned {
    if key.ec_key().is_ok() {
        x509_cert::spki::AlgorithmIdentifierOwned {
            oid: der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"),
            parameters: None,
        }
    } else {
        x509_cert::spki::AlgorithmIdentifierOwned {
            oid: der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11"),
            parameters: Some(der::asn1::Null.into()),
        }
    }
}

/// Who the built-in time-stamping authority is.
fn tsa_subject() -> Subject {
    Subject {
        common_name: crate::tsa_authority::INTERNAL_TSA_NAME.into(),
        email: None,
        organization: Some("parapheur".into()),
        organization_id: None,
    }
}

fn serial() -> Result<Asn1Integer, SignError> {
    let mut bn = BigNum::new()?;
    bn.rand(127, MsbOption::MAYBE_ZERO, false)?;
    Ok(bn.to_asn1_integer()?)
}

pub fn generate_key(kind: KeyKind) -> Result<PKey<Private>, SignError> {
    Ok(match kind {
        KeyKind::Person => PKey::from_ec_key(EcKey::generate(&*EcGroup::from_curve_name(
            Nid::X9_62_PRIME256V1,
        )?)?)?,
        KeyKind::Seal => PKey::from_rsa(Rsa::generate(2048)?)?,
    })
}

impl InternalCa {
    /// Opens the CA in `dir`, creating its key and self-signed certificate on first use.
    pub fn open_or_create(dir: &Path, name: &str) -> Result<Self, SignError> {
        Self::open_or_create_protected(dir, name, KeyProtection::default())
    }

    /// [`InternalCa::open_or_create`], its keys (the CA's and those it stores) written and read
    /// with `protection`.
    pub fn open_or_create_protected(
        dir: &Path,
        name: &str,
        protection: KeyProtection,
    ) -> Result<Self, SignError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let (kp, cp) = (dir.join("ca.key.pem"), dir.join("ca.pem"));
        // Instances starting together on a shared directory agree on one CA: the first to
        // publish wins and the others load it.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if kp.exists() && cp.exists() {
                let key = protection.read(&kp)?;
                let cert = X509::from_pem(&std::fs::read(&cp).map_err(io(&cp))?)?;
                return Ok(Self {
                    dir: dir.to_owned(),
                    key,
                    cert,
                    crl_url: None,
                    ocsp_url: None,
                    protection,
                });
            }
            if !kp.exists() {
                let (key, cert) = Self::new_ca(name)?;
                if publish_pair(&kp, &cp, &protection.encode(&key)?, &cert.to_pem()?)? {
                    return Ok(Self {
                        dir: dir.to_owned(),
                        key,
                        cert,
                        crl_url: None,
                        ocsp_url: None,
                        protection,
                    });
                }
            } else if half_written(&kp) {
                let _ = std::fs::remove_file(&kp);
                continue;
            }
            if Instant::now() > deadline {
                return Err(SignError::Invalid(
                    "the internal CA is being created elsewhere and did not appear".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A new CA held in memory only (its state is kept by the caller, e.g. in a database):
    /// nothing is written to disk, and the file methods ([`InternalCa::credential`],
    /// [`InternalCa::store`]...) refuse to work.
    pub fn generate(name: &str, protection: KeyProtection) -> Result<Self, SignError> {
        let (key, cert) = Self::new_ca(name)?;
        Ok(Self::in_memory(key, cert, protection))
    }

    /// The CA whose certificate and key (as [`InternalCa::key_pem`] wrote it) are kept by the
    /// caller. The flag says that the key should be written again (see [`KeyProtection::open`]).
    pub fn from_pem(
        certificate: &[u8],
        key: &[u8],
        protection: KeyProtection,
    ) -> Result<(Self, bool), SignError> {
        let cert = X509::from_pem(certificate)?;
        let (key, stale) = protection.open(key, "the internal CA's key")?;
        let ours = cert
            .public_key()
            .map(|public| public.public_eq(&key))
            .unwrap_or(false);
        if !ours {
            return Err(SignError::Invalid(
                "the internal CA's key does not match its certificate".into(),
            ));
        }
        Ok((Self::in_memory(key, cert, protection), stale))
    }

    fn in_memory(key: PKey<Private>, cert: X509, protection: KeyProtection) -> Self {
        Self {
            dir: PathBuf::new(),
            key,
            cert,
            crl_url: None,
            ocsp_url: None,
            protection,
        }
    }

    /// Opens the CA files an earlier version left in `dir`, if there are any (to import them).
    pub fn open_existing(dir: &Path, protection: KeyProtection) -> Result<Option<Self>, SignError> {
        let (kp, cp) = (dir.join("ca.key.pem"), dir.join("ca.pem"));
        if !(kp.exists() && cp.exists()) {
            return Ok(None);
        }
        let key = protection.read(&kp)?;
        let cert = X509::from_pem(&std::fs::read(&cp).map_err(io(&cp))?)?;
        Ok(Some(Self {
            dir: dir.to_owned(),
            key,
            cert,
            crl_url: None,
            ocsp_url: None,
            protection,
        }))
    }

    /// The names of the credentials stored under `issued/` (none for a CA held in memory).
    pub fn stored_names(&self) -> Result<Vec<String>, SignError> {
        if self.dir.as_os_str().is_empty() {
            return Ok(Vec::new());
        }
        let dir = self.dir.join("issued");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir)(e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io(&dir))?;
            if let Some(name) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".key.pem"))
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// The CA's key as it is kept at rest (PEM, encrypted with the protection's passphrase).
    pub fn key_pem(&self) -> Result<String, SignError> {
        self.protection.seal(&self.key)
    }

    /// How the CA keeps private keys at rest.
    pub fn protection(&self) -> &KeyProtection {
        &self.protection
    }

    /// A credential as it is kept at rest: its key (see [`InternalCa::key_pem`]) and its chain.
    pub fn credential_pem(&self, c: &Credential) -> Result<(String, String), SignError> {
        Ok((self.protection.seal(c.key.soft()?)?, chain_pem(&c.chain)?))
    }

    /// The credential kept at rest as `key` and `chain` (PEM); the flag says that the key
    /// should be written again (see [`KeyProtection::open`]).
    pub fn credential_from_pem(
        &self,
        key: &[u8],
        chain: &[u8],
        what: &str,
    ) -> Result<(Credential, bool), SignError> {
        let (key, stale) = self.protection.open(key, what)?;
        Ok((Credential::new(key, X509::stack_from_pem(chain)?)?, stale))
    }

    /// A new credential of the built-in time-stamping authority (an EC key, the critical
    /// `timeStamping` extended key usage, a name that says what it is). Nothing is stored.
    pub fn issue_tsa(&self) -> Result<Credential, SignError> {
        self.issue_for(&tsa_subject(), KeyKind::Person, Purpose::TimeStamping)
    }

    /// A new self-signed CA key and certificate.
    fn new_ca(name: &str) -> Result<(PKey<Private>, X509), SignError> {
        let key = generate_key(KeyKind::Person)?;
        let mut nb = X509NameBuilder::new()?;
        nb.append_entry_by_nid(Nid::COMMONNAME, name)?;
        nb.append_entry_by_nid(Nid::ORGANIZATIONNAME, "parapheur")?;
        let subject = nb.build();
        let mut b = X509Builder::new()?;
        b.set_version(2)?;
        b.set_serial_number(&*serial()?)?;
        b.set_subject_name(&subject)?;
        b.set_issuer_name(&subject)?;
        b.set_pubkey(&key)?;
        b.set_not_before(&*Asn1Time::days_from_now(0)?)?;
        b.set_not_after(&*Asn1Time::days_from_now(365 * 20)?)?;
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
        let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
        b.append_extension(ski)?;
        b.sign(&key, MessageDigest::sha256())?;
        Ok((key, b.build()))
    }

    pub fn certificate(&self) -> &X509 {
        &self.cert
    }

    /// Names the URL of the CRL in the certificates issued from now on.
    pub fn with_crl_url(mut self, url: impl Into<String>) -> Self {
        self.crl_url = Some(url.into());
        self
    }

    /// Names the URL of the OCSP responder in the certificates issued from now on.
    pub fn with_ocsp_url(mut self, url: impl Into<String>) -> Self {
        self.ocsp_url = Some(url.into());
        self
    }

    /// The CA's private key (its OCSP responses are signed with it).
    pub(crate) fn key(&self) -> &PKey<Private> {
        &self.key
    }

    /// The CRL of the certificates revoked so far (`(serial in hexadecimal, revocation time in
    /// Unix seconds)`), numbered `number`, valid `next_update_s` seconds, signed by the CA (DER).
    pub fn crl(
        &self,
        revoked: &[(String, i64)],
        number: i64,
        next_update_s: i64,
    ) -> Result<Vec<u8>, SignError> {
        let entries: Vec<(String, i64, Option<x509_cert::ext::pkix::CrlReason>)> = revoked
            .iter()
            .map(|(serial, at)| (serial.clone(), *at, None))
            .collect();
        self.crl_with_reasons(&entries, number, next_update_s)
    }

    /// [`InternalCa::crl`], each entry with its reason code when one is known (RFC 5280
    /// §5.3.1). The list is built with RustCrypto's `x509-cert` (OpenSSL's builder, through the
    /// `openssl` crate, sets no entry extension) and signed with the CA's key by OpenSSL.
    pub fn crl_with_reasons(
        &self,
        revoked: &[(String, i64, Option<x509_cert::ext::pkix::CrlReason>)],
        number: i64,
        next_update_s: i64,
    ) -> Result<Vec<u8>, SignError> {
        use der::asn1::{BitString, OctetString};
        use der::{Decode, Encode};
        use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
        use x509_cert::ext::Extension;
        use x509_cert::serial_number::SerialNumber;
        let bad = |what: &'static str| {
            move |e: der::Error| SignError::Invalid(format!("CRL {what}: {e}"))
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let time = |unix: i64| -> Result<x509_cert::time::Time, SignError> {
            // RFC 5280 §5.1.2.4: UTCTime through 2049, GeneralizedTime after (x509-cert picks).
            let at = std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(u64::try_from(unix).unwrap_or(0));
            x509_cert::time::Time::try_from(at).map_err(bad("time"))
        };
        let mut entries = Vec::with_capacity(revoked.len());
        for (serial, at, reason) in revoked {
            let bytes = BigNum::from_hex_str(serial)?.to_vec();
            let extensions = match reason {
                Some(r) => Some(vec![Extension {
                    extn_id: der::asn1::ObjectIdentifier::new_unwrap("2.5.29.21"),
                    critical: false,
                    extn_value: OctetString::new(r.to_der().map_err(bad("reason"))?)
                        .map_err(bad("reason"))?,
                }]),
                None => None,
            };
            entries.push(RevokedCert {
                serial_number: SerialNumber::new(&bytes).map_err(bad("serial"))?,
                revocation_date: time(*at)?,
                crl_entry_extensions: extensions,
            });
        }
        // Ascending serials, as OpenSSL's builder sorted them.
        entries.sort_by(|a, b| a.serial_number.as_bytes().cmp(b.serial_number.as_bytes()));
        let ski = self
            .cert
            .subject_key_id()
            .ok_or_else(|| SignError::Invalid("the CA has no subject key identifier".into()))?;
        let aki = x509_cert::ext::pkix::AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(ski.as_slice()).map_err(bad("key id"))?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        }
        .to_der()
        .map_err(bad("authority key identifier"))?;
        let number = der::asn1::Uint::new(&number.max(0).to_be_bytes())
            .and_then(|u| u.to_der())
            .map_err(bad("number"))?;
        let algorithm = signature_algorithm(&self.key);
        let tbs = TbsCertList {
            version: x509_cert::Version::V2,
            signature: algorithm.clone(),
            issuer: x509_cert::name::Name::from_der(&self.cert.subject_name().to_der()?)
                .map_err(bad("issuer"))?,
            this_update: time(now)?,
            next_update: Some(time(now + next_update_s)?),
            revoked_certificates: (!entries.is_empty()).then_some(entries),
            crl_extensions: Some(vec![
                Extension {
                    extn_id: der::asn1::ObjectIdentifier::new_unwrap("2.5.29.20"),
                    critical: false,
                    extn_value: OctetString::new(number).map_err(bad("number"))?,
                },
                Extension {
                    extn_id: der::asn1::ObjectIdentifier::new_unwrap("2.5.29.35"),
                    critical: false,
                    extn_value: OctetString::new(aki).map_err(bad("authority key identifier"))?,
                },
            ]),
        };
        let to_sign = tbs.to_der().map_err(bad("to be signed"))?;
        let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), &self.key)?;
        signer.update(&to_sign)?;
        let signature = signer.sign_to_vec()?;
        CertificateList {
            tbs_cert_list: tbs,
            signature_algorithm: algorithm,
            signature: BitString::from_bytes(&signature).map_err(bad("signature"))?,
        }
        .to_der()
        .map_err(bad("encoding"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Issues a certificate for a new key of `kind`.
    pub fn issue(&self, subject: &Subject, kind: KeyKind) -> Result<Credential, SignError> {
        self.issue_for(subject, kind, Purpose::Signing)
    }

    /// The credential of the built-in time-stamping authority, issued on first use (an EC key,
    /// the critical `timeStamping` extended key usage, a name that says what it is).
    pub fn tsa_credential(&self) -> Result<Credential, SignError> {
        self.credential_for(
            "tsa",
            &tsa_subject(),
            KeyKind::Person,
            Purpose::TimeStamping,
        )
    }

    fn issue_for(
        &self,
        subject: &Subject,
        kind: KeyKind,
        purpose: Purpose,
    ) -> Result<Credential, SignError> {
        let key = generate_key(kind)?;
        let mut nb = X509NameBuilder::new()?;
        nb.append_entry_by_nid(Nid::COMMONNAME, &subject.common_name)?;
        if let Some(o) = &subject.organization {
            nb.append_entry_by_nid(Nid::ORGANIZATIONNAME, o)?;
        }
        if let Some(id) = &subject.organization_id {
            nb.append_entry_by_nid(Nid::SERIALNUMBER, id)?;
        }
        nb.append_entry_by_nid(Nid::COUNTRYNAME, "FR")?;
        let name = nb.build();
        let mut b = X509Builder::new()?;
        b.set_version(2)?;
        b.set_serial_number(&*serial()?)?;
        b.set_subject_name(&name)?;
        b.set_issuer_name(self.cert.subject_name())?;
        b.set_pubkey(&key)?;
        // Valid from an hour ago: a credential issued on first use must already be valid at
        // the signing time the document records (taken just before), whatever the clock skew.
        let an_hour_ago = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64 - 3600)
            .unwrap_or(0);
        b.set_not_before(&*Asn1Time::from_unix(an_hour_ago)?)?;
        // A timestamp authority outlives the signers it stamps: their signatures stay provable
        // (B-T) after their own certificates expired.
        let years = match purpose {
            Purpose::Signing => 3,
            Purpose::TimeStamping => 10,
        };
        b.set_not_after(&*Asn1Time::days_from_now(365 * years)?)?;
        b.append_extension(BasicConstraints::new().critical().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .non_repudiation()
                .build()?,
        )?;
        b.append_extension(match purpose {
            Purpose::Signing => ExtendedKeyUsage::new()
                .email_protection()
                .other("1.3.6.1.4.1.311.10.3.12")
                .build()?,
            // RFC 3161 §2.3: the only usage, critical.
            Purpose::TimeStamping => ExtendedKeyUsage::new().critical().time_stamping().build()?,
        })?;
        if let Some(e) = &subject.email {
            let san = SubjectAlternativeName::new()
                .email(e)
                .build(&b.x509v3_context(Some(&self.cert), None))?;
            b.append_extension(san)?;
        }
        let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(Some(&self.cert), None))?;
        b.append_extension(ski)?;
        let aki = AuthorityKeyIdentifier::new()
            .keyid(false)
            .build(&b.x509v3_context(Some(&self.cert), None))?;
        b.append_extension(aki)?;
        if let Some(url) = &self.ocsp_url {
            let oid = openssl::asn1::Asn1Object::from_str("1.3.6.1.5.5.7.1.1")?;
            let value =
                openssl::asn1::Asn1OctetString::new_from_bytes(&authority_info_access(url)?)?;
            b.append_extension(openssl::x509::X509Extension::new_from_der(
                &oid, false, &value,
            )?)?;
        }
        if let Some(url) = &self.crl_url {
            let oid = openssl::asn1::Asn1Object::from_str("2.5.29.31")?;
            let value =
                openssl::asn1::Asn1OctetString::new_from_bytes(&crl_distribution_points(url)?)?;
            b.append_extension(openssl::x509::X509Extension::new_from_der(
                &oid, false, &value,
            )?)?;
        }
        b.sign(&self.key, MessageDigest::sha256())?;
        Credential::new(key, vec![b.build(), self.cert.clone()])
    }

    /// The credential stored under `name` (e.g. `user-12`, `seal-123456789`), issued on first use.
    pub fn credential(
        &self,
        name: &str,
        subject: &Subject,
        kind: KeyKind,
    ) -> Result<Credential, SignError> {
        self.credential_for(name, subject, kind, Purpose::Signing)
    }

    fn credential_for(
        &self,
        name: &str,
        subject: &Subject,
        kind: KeyKind,
        purpose: Purpose,
    ) -> Result<Credential, SignError> {
        let (kp, cp) = self.paths(name)?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if kp.exists() && cp.exists() {
                let key = self.protection.read(&kp)?;
                let chain = std::fs::read(&cp).map_err(io(&cp))?;
                return Credential::new(key, X509::stack_from_pem(&chain)?);
            }
            if !kp.exists() {
                let c = self.issue_for(subject, kind, purpose)?;
                if self.publish(&kp, &cp, &c)? {
                    return Ok(c);
                }
                // Another thread or instance published first: use theirs.
            } else if half_written(&kp) {
                let _ = std::fs::remove_file(&kp);
                continue;
            }
            if Instant::now() > deadline {
                return Err(SignError::Invalid(format!(
                    "the credential {name} is being issued elsewhere and did not appear"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn publish(&self, kp: &Path, cp: &Path, c: &Credential) -> Result<bool, SignError> {
        let chain = chain_pem(&c.chain)?;
        publish_pair(
            kp,
            cp,
            &self.protection.encode(c.key.soft()?)?,
            chain.as_bytes(),
        )
    }

    /// Key and chain files of the credential `name` (a safe file-name stem).
    fn paths(&self, name: &str) -> Result<(PathBuf, PathBuf), SignError> {
        if self.dir.as_os_str().is_empty() {
            return Err(SignError::Invalid(
                "this CA is held in memory and keeps no files".into(),
            ));
        }
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(SignError::Invalid(format!(
                "invalid credential name {name:?}"
            )));
        }
        let dir = self.dir.join("issued");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok((
            dir.join(format!("{name}.key.pem")),
            dir.join(format!("{name}.pem")),
        ))
    }

    /// Removes the credential `name` (its key and chain files): the next use issues a new one.
    pub fn remove(&self, name: &str) -> Result<(), SignError> {
        let (kp, cp) = self.paths(name)?;
        for p in [&kp, &cp] {
            match std::fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(p)(e)),
            }
        }
        Ok(())
    }

    /// The credential stored under `name`, if there is one (nothing is issued).
    pub fn existing(&self, name: &str) -> Result<Option<Credential>, SignError> {
        let (kp, cp) = self.paths(name)?;
        if !(kp.exists() && cp.exists()) {
            return Ok(None);
        }
        let key = self.protection.read(&kp)?;
        let chain = std::fs::read(&cp).map_err(io(&cp))?;
        Credential::new(key, X509::stack_from_pem(&chain)?).map(Some)
    }

    /// Whether this CA issued `cert` (its signature verifies with the CA's key).
    pub fn issued(&self, cert: &X509) -> bool {
        self.certificate()
            .public_key()
            .and_then(|k| cert.verify(&k))
            .unwrap_or(false)
    }

    /// Stores a credential (issued here or imported) under `name`, replacing any previous one.
    pub fn store(&self, name: &str, c: &Credential) -> Result<(), SignError> {
        let (kp, cp) = self.paths(name)?;
        write_private(&kp, &self.protection.encode(c.key.soft()?)?)?;
        write_private(&cp, chain_pem(&c.chain)?.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encrypted_at_rest_with_a_passphrase_and_migrated_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("pki");
        let subject = Subject {
            common_name: "Alice Martin".into(),
            email: None,
            organization: None,
            organization_id: None,
        };
        let is_encrypted = |p: &Path| {
            String::from_utf8(std::fs::read(p).unwrap())
                .unwrap()
                .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        };
        // Written in clear first (no passphrase), with one credential.
        let ca = InternalCa::open_or_create(&d, "CA").unwrap();
        let alice = ca.credential("user-1", &subject, KeyKind::Person).unwrap();
        assert!(!is_encrypted(&d.join("ca.key.pem")));
        drop(ca);
        // A passphrase configured: both keys are rewritten encrypted when read.
        let secret = KeyProtection::passphrase(b"correct horse");
        let ca = InternalCa::open_or_create_protected(&d, "CA", secret.clone()).unwrap();
        let again = ca.credential("user-1", &subject, KeyKind::Person).unwrap();
        assert!(again.certificate().to_der().unwrap() == alice.certificate().to_der().unwrap());
        assert!(is_encrypted(&d.join("ca.key.pem")));
        assert!(is_encrypted(&d.join("issued/user-1.key.pem")));
        // New credentials are written encrypted; the PEM opens with the passphrase (PKCS#8).
        ca.credential("user-2", &subject, KeyKind::Seal).unwrap();
        let pem = std::fs::read(d.join("issued/user-2.key.pem")).unwrap();
        assert!(is_encrypted(&d.join("issued/user-2.key.pem")));
        assert!(PKey::private_key_from_pem_passphrase(&pem, b"correct horse").is_ok());
        drop(ca);
        // Without it, or with another one: a clear error.
        let e = InternalCa::open_or_create(&d, "CA")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no passphrase is configured"), "{e}");
        let e = InternalCa::open_or_create_protected(&d, "CA", KeyProtection::passphrase(b"x"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not open"), "{e}");
        assert!(!format!("{secret:?}").contains("horse"));
    }

    #[test]
    fn concurrent_issuers_agree_on_one_ca_and_one_credential() {
        let dir = tempfile::tempdir().unwrap();
        let s = Subject {
            common_name: "Alice Martin".into(),
            email: Some("alice@exemple.fr".into()),
            organization: None,
            organization_id: None,
        };
        // Eight "instances" open the same directory at once, then issue the same credential.
        let results: Vec<(Vec<u8>, Vec<u8>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let (d, s) = (dir.path(), &s);
                    scope.spawn(move || {
                        let ca = InternalCa::open_or_create(d, "Test CA").unwrap();
                        let c = ca.credential("user-7", s, KeyKind::Person).unwrap();
                        (
                            ca.certificate().to_der().unwrap(),
                            c.key.soft().unwrap().private_key_to_der().unwrap(),
                        )
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(results.windows(2).all(|w| w[0] == w[1]), "one CA, one key");
        let reloaded = InternalCa::open_or_create(dir.path(), "x")
            .unwrap()
            .credential("user-7", &s, KeyKind::Person)
            .unwrap();
        assert_eq!(
            reloaded.key.soft().unwrap().private_key_to_der().unwrap(),
            results[0].1
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("issued"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn issues_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let ca = InternalCa::open_or_create(dir.path(), "Test CA").unwrap();
        let s = Subject {
            common_name: "Alice Martin".into(),
            email: Some("alice@exemple.fr".into()),
            organization: Some("Commune".into()),
            organization_id: Some("123456789".into()),
        };
        let c = ca.credential("user-1", &s, KeyKind::Person).unwrap();
        assert_eq!(c.common_name(), "Alice Martin");
        assert!(
            c.certificate()
                .verify(&ca.certificate().public_key().unwrap())
                .unwrap()
        );
        let again = ca.credential("user-1", &s, KeyKind::Person).unwrap();
        assert_eq!(
            again.certificate().to_der().unwrap(),
            c.certificate().to_der().unwrap()
        );
        let ca2 = InternalCa::open_or_create(dir.path(), "ignored").unwrap();
        assert_eq!(
            ca2.certificate().to_der().unwrap(),
            ca.certificate().to_der().unwrap()
        );
        let seal = ca.issue(&s, KeyKind::Seal).unwrap();
        assert_eq!(seal.algorithm(), crate::keys::Algorithm::RsaSha256);
        assert!(ca.credential("../x", &s, KeyKind::Person).is_err());
    }
}

#[cfg(test)]
mod crl_tests {
    use super::*;

    #[test]
    fn a_crl_lists_the_revoked_serials_and_verifies_with_the_ca_key() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let ca = InternalCa::open_or_create(dir.path(), "CA test")
            .unwrap_or_else(|e| panic!("{e}"))
            .with_crl_url("http://example.org/crl");
        let empty = ca.crl(&[], 0, 60).unwrap_or_else(|e| panic!("{e}"));
        let crl = openssl::x509::X509Crl::from_der(&empty).unwrap_or_else(|e| panic!("{e}"));
        assert!(crl.get_revoked().is_none_or(|r| r.is_empty()));
        let issued = ca
            .issue(
                &Subject {
                    common_name: "A".into(),
                    email: None,
                    organization: None,
                    organization_id: None,
                },
                KeyKind::Person,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let serial = serial_hex(&issued.chain[0]).unwrap_or_else(|e| panic!("{e}"));
        let der = ca
            .crl(&[(serial.clone(), 1_700_000_000)], 1_700_000_000, 60)
            .unwrap_or_else(|e| panic!("{e}"));
        let crl = openssl::x509::X509Crl::from_der(&der).unwrap_or_else(|e| panic!("{e}"));
        let key = ca
            .certificate()
            .public_key()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(crl.verify(&key).unwrap_or(false));
        let listed: Vec<String> = crl
            .get_revoked()
            .map(|r| {
                r.iter()
                    .filter_map(|x| x.serial_number().to_bn().ok())
                    .filter_map(|b| b.to_hex_str().ok().map(|s| s.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(listed, [serial]);
    }
}
