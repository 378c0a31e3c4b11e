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

#[derive(Clone)]
pub struct InternalCa {
    dir: PathBuf,
    key: PKey<Private>,
    cert: X509,
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

/// Writes a file readable only by its owner, durably.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SignError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
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
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let (kp, cp) = (dir.join("ca.key.pem"), dir.join("ca.pem"));
        if kp.exists() && cp.exists() {
            let key = PKey::private_key_from_pem(&std::fs::read(&kp).map_err(io(&kp))?)?;
            let cert = X509::from_pem(&std::fs::read(&cp).map_err(io(&cp))?)?;
            return Ok(Self {
                dir: dir.to_owned(),
                key,
                cert,
            });
        }
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
        let cert = b.build();
        write_private(&kp, &key.private_key_to_pem_pkcs8()?)?;
        write_private(&cp, &cert.to_pem()?)?;
        Ok(Self {
            dir: dir.to_owned(),
            key,
            cert,
        })
    }

    pub fn certificate(&self) -> &X509 {
        &self.cert
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Issues a certificate for a new key of `kind`.
    pub fn issue(&self, subject: &Subject, kind: KeyKind) -> Result<Credential, SignError> {
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
        b.set_not_after(&*Asn1Time::days_from_now(365 * 3)?)?;
        b.append_extension(BasicConstraints::new().critical().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .non_repudiation()
                .build()?,
        )?;
        b.append_extension(
            ExtendedKeyUsage::new()
                .email_protection()
                .other("1.3.6.1.4.1.311.10.3.12")
                .build()?,
        )?;
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
        let (kp, cp) = self.paths(name)?;
        if kp.exists() && cp.exists() {
            let key = std::fs::read(&kp).map_err(io(&kp))?;
            let chain = std::fs::read(&cp).map_err(io(&cp))?;
            return Credential::from_pem(&key, &chain);
        }
        let c = self.issue(subject, kind)?;
        self.store(name, &c)?;
        Ok(c)
    }

    /// Key and chain files of the credential `name` (a safe file-name stem).
    fn paths(&self, name: &str) -> Result<(PathBuf, PathBuf), SignError> {
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

    /// Stores a credential (issued here or imported) under `name`, replacing any previous one.
    pub fn store(&self, name: &str, c: &Credential) -> Result<(), SignError> {
        let (kp, cp) = self.paths(name)?;
        let mut chain = Vec::new();
        for cert in &c.chain {
            chain.extend(cert.to_pem()?);
        }
        write_private(&kp, &c.key.private_key_to_pem_pkcs8()?)?;
        write_private(&cp, &chain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
