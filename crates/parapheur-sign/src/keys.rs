//! Key material: a private key with its certificate chain, and the raw signature operation.

use crate::SignError;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::x509::X509;
use std::sync::{Arc, Mutex};

/// Where the private key is: in memory (files, PKCS#12) or on a PKCS#11 token.
#[derive(Clone)]
pub enum PrivateKey {
    Soft(SoftKey),
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
            Self::Soft(k) => Ok(&k.key),
            Self::Hsm(_) | Self::External(_) => Err(SignError::Invalid(
                "a key held on a PKCS#11 token cannot be exported".into(),
            )),
        }
    }
}

/// Signing contexts kept at most per key: as many as signatures made at once are reused; a
/// context made beyond them is dropped after its signature.
const IDLE_CONTEXTS: usize = 16;

/// A key in memory, with the OpenSSL signing contexts already made for it. Making one fetches
/// the algorithm's implementation from OpenSSL 3's provider and hands it the key: about 12 µs,
/// 4 % of an RSA-2048 signature, paid on every signature before (`openssl speed`, the issue's
/// reference, makes its context once). A context serves one signature at a time, then goes
/// back to the idle list for the next.
#[derive(Clone)]
pub struct SoftKey {
    key: PKey<Private>,
    idle: Arc<Mutex<Vec<PkeyCtx<Private>>>>,
}

impl SoftKey {
    fn new(key: PKey<Private>) -> Self {
        Self {
            key,
            idle: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// A context ready to sign a SHA-256 digest (PKCS#1 v1.5 for RSA, ECDSA otherwise).
    fn context(&self) -> Result<PkeyCtx<Private>, SignError> {
        if let Some(ctx) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(ctx);
        }
        let mut ctx = PkeyCtx::new(&self.key)?;
        ctx.sign_init()?;
        if self.key.id() == Id::RSA {
            ctx.set_rsa_padding(openssl::rsa::Padding::PKCS1)?;
        }
        ctx.set_signature_md(openssl::md::Md::sha256())?;
        Ok(ctx)
    }

    /// SHA-256 of `data`, signed: the same value as `openssl::sign::Signer` with SHA-256.
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        // RustCrypto's SHA-256: OpenSSL's one-shot digest fetches its implementation on every
        // call, which costs more than hashing the few hundred bytes signed here.
        let digest = <sha2::Sha256 as sha2::Digest>::digest(data);
        let mut ctx = self.context()?;
        let mut out = Vec::new();
        // A context whose signature failed is not reused.
        ctx.sign_to_vec(&digest, &mut out)?;
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_CONTEXTS
        {
            idle.push(ctx);
        }
        Ok(out)
    }

    #[cfg(test)]
    fn idle_len(&self) -> usize {
        self.idle.lock().map_or(0, |idle| idle.len())
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
            key: PrivateKey::Soft(SoftKey::new(key)),
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
            PrivateKey::Soft(key) => key.sign(data),
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::x509::X509NameBuilder;

    fn self_signed(key: &PKey<Private>) -> X509 {
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_nid(Nid::COMMONNAME, "key test")
            .unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(key).unwrap();
        b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        b.sign(key, MessageDigest::sha256()).unwrap();
        b.build()
    }

    fn verifies(key: &PKey<Private>, data: &[u8], sig: &[u8]) -> bool {
        let mut v = openssl::sign::Verifier::new(MessageDigest::sha256(), key).unwrap();
        v.update(data).unwrap();
        v.verify(sig).unwrap()
    }

    #[test]
    fn a_kept_context_signs_as_a_new_signer_would() {
        let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let cred = Credential::new(key.clone(), vec![self_signed(&key)]).unwrap();
        let PrivateKey::Soft(soft) = &cred.key else {
            panic!("a key in memory")
        };
        for data in [b"first".as_slice(), b"second", b""] {
            let mut s = openssl::sign::Signer::new(MessageDigest::sha256(), &key).unwrap();
            s.update(data).unwrap();
            // PKCS#1 v1.5 is deterministic: the very bytes a signer made afresh.
            assert_eq!(cred.sign(data).unwrap(), s.sign_to_vec().unwrap());
            assert_eq!(soft.idle_len(), 1, "one context, reused");
        }
        // Clones share the kept contexts.
        let clone = cred.clone();
        clone.sign(b"clone").unwrap();
        assert_eq!(soft.idle_len(), 1);
    }

    #[test]
    fn signatures_made_at_once_each_verify_and_the_idle_list_is_bounded() {
        let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let cred = Credential::new(key.clone(), vec![self_signed(&key)]).unwrap();
        std::thread::scope(|s| {
            for t in 0..(IDLE_CONTEXTS + 4) {
                let (cred, key) = (&cred, &key);
                s.spawn(move || {
                    for i in 0..5 {
                        let data = format!("thread {t} signature {i}");
                        let sig = cred.sign(data.as_bytes()).unwrap();
                        assert!(verifies(key, data.as_bytes(), &sig));
                    }
                });
            }
        });
        let PrivateKey::Soft(soft) = &cred.key else {
            panic!("a key in memory")
        };
        let idle = soft.idle_len();
        assert!((1..=IDLE_CONTEXTS).contains(&idle), "{idle} idle contexts");
    }

    #[test]
    fn an_ecdsa_key_signs_with_a_kept_context() {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let cred = Credential::new(key.clone(), vec![self_signed(&key)]).unwrap();
        assert_eq!(cred.algorithm(), Algorithm::EcdsaP256Sha256);
        for data in [b"one".as_slice(), b"two"] {
            let sig = cred.sign(data).unwrap();
            assert!(verifies(&key, data, &sig));
            assert!(!verifies(&key, b"other", &sig));
        }
    }
}
