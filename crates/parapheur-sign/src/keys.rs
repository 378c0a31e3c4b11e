//! Key material: a private key with its certificate chain, and the raw signature operation.

use crate::SignError;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private};
use openssl::x509::X509;

/// Where the private key is: in memory (files, PKCS#12) or on a PKCS#11 token.
#[derive(Clone)]
pub enum PrivateKey {
    Soft(PKey<Private>),
    Hsm(std::sync::Arc<crate::pkcs11::HsmKey>),
    /// Held by the signer, out of our reach (a smart card behind `parapheur-agent`): the
    /// signature value was made there, over the data to sign we gave, and is only checked
    /// and used here.
    External(std::sync::Arc<Vec<Vec<u8>>>),
}

impl PrivateKey {
    /// The key in memory, for storing it (an HSM key has none: it never leaves the token).
    pub fn soft(&self) -> Result<&PKey<Private>, SignError> {
        match self {
            Self::Soft(k) => Ok(k),
            Self::Hsm(_) | Self::External(_) => Err(SignError::Invalid(
                "a key held on a PKCS#11 token cannot be exported".into(),
            )),
        }
    }
}

/// A signing key and its chain (`chain[0]` is the signer's certificate, then its issuers).
#[derive(Clone)]
pub struct Credential {
    pub key: PrivateKey,
    pub chain: Vec<X509>,
    /// What CMS signatures by this chain share, computed once and shared by clones.
    cms: std::sync::Arc<crate::cms::SignerParts>,
    algorithm: Algorithm,
}

/// The chain's CMS parts (each certificate decoded through its DER).
fn cms_parts(chain: &[X509]) -> Result<std::sync::Arc<crate::cms::SignerParts>, SignError> {
    let decoded: Vec<x509_cert::Certificate> = chain
        .iter()
        .map(|c| crate::cms::certificate(&c.to_der()?))
        .collect::<Result<_, _>>()?;
    Ok(std::sync::Arc::new(crate::cms::SignerParts::new(&decoded)?))
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let subject = self
            .chain
            .first()
            .map(|c| format!("{:?}", c.subject_name()))
            .unwrap_or_default();
        f.debug_struct("Credential")
            .field("subject", &subject)
            .finish_non_exhaustive()
    }
}

/// The signature algorithms we produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    RsaSha256,
    EcdsaP256Sha256,
}

impl Algorithm {
    pub fn of(key: &PKey<impl openssl::pkey::HasPublic>) -> Result<Self, SignError> {
        match key.id() {
            Id::RSA if key.bits() >= 2048 => Ok(Self::RsaSha256),
            Id::RSA => Err(SignError::UnsupportedKey(format!(
                "RSA {} bits (2048 or more needed)",
                key.bits()
            ))),
            Id::EC => Ok(Self::EcdsaP256Sha256),
            other => Err(SignError::UnsupportedKey(format!("{other:?}"))),
        }
    }
}

impl Credential {
    pub fn new(key: PKey<Private>, chain: Vec<X509>) -> Result<Self, SignError> {
        let cert = chain
            .first()
            .ok_or_else(|| SignError::Invalid("empty certificate chain".into()))?;
        if !cert.public_key()?.public_eq(&key) {
            return Err(SignError::Invalid(
                "the key does not match the certificate".into(),
            ));
        }
        let algorithm = Algorithm::of(&key)?;
        Ok(Self {
            key: PrivateKey::Soft(key),
            cms: cms_parts(&chain)?,
            chain,
            algorithm,
        })
    }

    /// A key on a PKCS#11 token with its chain (the token's own certificate when `chain` is
    /// empty). The key must match the certificate: checked by signing a test message.
    pub fn hsm(key: crate::pkcs11::HsmKey, mut chain: Vec<X509>) -> Result<Self, SignError> {
        if chain.is_empty() {
            chain.push(key.certificate()?.ok_or_else(|| {
                SignError::Invalid(
                    "no certificate given and none on the token beside the key".into(),
                )
            })?);
        }
        let public = chain[0].public_key()?;
        let algorithm = Algorithm::of(&public)?;
        if key.is_ec() != (public.id() == Id::EC) {
            return Err(SignError::Invalid(
                "the token's key and the certificate are of different kinds".into(),
            ));
        }
        let probe = b"parapheur: key and certificate check";
        let sig = key.sign(probe)?;
        let mut v = openssl::sign::Verifier::new(MessageDigest::sha256(), &public)?;
        v.update(probe)?;
        if !v.verify(&sig)? {
            return Err(SignError::Invalid(
                "the token's key does not match the certificate".into(),
            ));
        }
        Ok(Self {
            key: PrivateKey::Hsm(std::sync::Arc::new(key)),
            cms: cms_parts(&chain)?,
            chain,
            algorithm,
        })
    }

    /// The signer's own key, held elsewhere: `chain` (the signer's certificate first) and the
    /// `value` its holder computed over the data to sign. [`Credential::sign`] returns the
    /// value only when it verifies with the certificate's public key over the data given.
    pub fn external(chain: Vec<X509>, value: Vec<u8>) -> Result<Self, SignError> {
        Self::external_values(chain, vec![value])
    }

    /// [`Credential::external`] with several values (a PES has one signature per Bordereau):
    /// [`Credential::sign`] returns the one that verifies over the data given.
    pub fn external_values(chain: Vec<X509>, values: Vec<Vec<u8>>) -> Result<Self, SignError> {
        let cert = chain
            .first()
            .ok_or_else(|| SignError::Invalid("empty certificate chain".into()))?;
        let algorithm = Algorithm::of(&cert.public_key()?)?;
        Ok(Self {
            key: PrivateKey::External(std::sync::Arc::new(values)),
            cms: cms_parts(&chain)?,
            chain,
            algorithm,
        })
    }

    /// Loads a PKCS#12 file (OpenSSL 3 defaults included).
    pub fn from_pkcs12(der: &[u8], password: &str) -> Result<Self, SignError> {
        let p = openssl::pkcs12::Pkcs12::from_der(der)?.parse2(password)?;
        let key = p
            .pkey
            .ok_or_else(|| SignError::Invalid("the PKCS#12 has no private key".into()))?;
        let cert = p
            .cert
            .ok_or_else(|| SignError::Invalid("the PKCS#12 has no certificate".into()))?;
        let mut chain = vec![cert];
        if let Some(ca) = p.ca {
            chain.extend(ca);
        }
        Self::new(key, chain)
    }

    /// PEM key + PEM chain.
    pub fn from_pem(key_pem: &[u8], chain_pem: &[u8]) -> Result<Self, SignError> {
        Self::new(
            PKey::private_key_from_pem(key_pem)?,
            X509::stack_from_pem(chain_pem)?,
        )
    }

    pub fn certificate(&self) -> &X509 {
        &self.chain[0]
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// What CMS signatures by this chain share.
    pub fn cms_parts(&self) -> std::sync::Arc<crate::cms::SignerParts> {
        self.cms.clone()
    }

    /// Signs `data` (SHA-256 then RSA PKCS#1 v1.5 or ECDSA, DER-encoded for ECDSA), here or on
    /// the token.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.key {
            PrivateKey::Soft(key) => {
                let mut s = openssl::sign::Signer::new(MessageDigest::sha256(), key)?;
                s.update(data)?;
                Ok(s.sign_to_vec()?)
            }
            PrivateKey::Hsm(key) => key.sign(data),
            PrivateKey::External(values) => {
                let public = self.chain[0].public_key()?;
                let verifies = |value: &[u8]| -> Result<bool, SignError> {
                    let mut v = openssl::sign::Verifier::new(MessageDigest::sha256(), &public)?;
                    v.update(data)?;
                    Ok(v.verify(value).unwrap_or(false))
                };
                let mut found = None;
                for value in values.iter() {
                    if verifies(value)? {
                        found = Some(value.clone());
                        break;
                    }
                }
                if let Some(value) = found {
                    Ok(value)
                } else {
                    Err(SignError::Invalid(
                        "the signature value does not verify over the data to sign with the \
                         certificate given (another document version, or another key?)"
                            .into(),
                    ))
                }
            }
        }
    }

    /// The signer's common name, for stamps and history.
    pub fn common_name(&self) -> String {
        self.certificate()
            .subject_name()
            .entries_by_nid(openssl::nid::Nid::COMMONNAME)
            .next()
            .and_then(|e| e.data().to_string().ok())
            .unwrap_or_default()
    }
}
