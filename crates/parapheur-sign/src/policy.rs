//! What a verification relies on: trust anchors, revocation lists, the validation time and the
//! algorithms accepted; the certificate-path and signature-algorithm checks shared by the PAdES,
//! XAdES and PES verifiers.

use crate::failure::Rejection;
use const_oid::ObjectIdentifier;
use der::Sequence;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::ocsp::{OcspBasicResponse, OcspCertId, OcspCertStatus, OcspFlag, OcspResponse};
use openssl::pkey::{Id, PKeyRef, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Verifier};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{CrlStatus, X509, X509Crl, X509PurposeId, X509StoreContext};
use x509_cert::spki::AlgorithmIdentifierOwned;

/// Which algorithms a signature may use. The default is the secure one: no SHA-1, RSA keys of
/// 2048 bits or more, ECDSA on P-256 or P-384.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgorithmPolicy {
    /// Accept SHA-1 digests (only to read legacy signatures).
    pub allow_sha1: bool,
    /// The smallest RSA modulus accepted, in bits.
    pub min_rsa_bits: u32,
}

impl Default for AlgorithmPolicy {
    fn default() -> Self {
        Self {
            allow_sha1: false,
            min_rsa_bits: 2048,
        }
    }
}

/// Everything a verification trusts, built once (certificates parsed once) and shared.
pub struct ValidationContext {
    /// Roots (or intermediates) a signer's certificate must chain to.
    pub anchors: Vec<X509>,
    /// Roots a timestamp authority's certificate must chain to (kept apart: a TSA root is not
    /// trusted for signers, nor a signers' root for timestamps).
    pub tsa_anchors: Vec<X509>,
    /// Revocation lists; a certificate whose issuer has one here is checked against it.
    pub crls: Vec<X509Crl>,
    pub policy: AlgorithmPolicy,
    /// The validation time (Unix seconds); `None` is the current time.
    pub time: Option<i64>,
}

impl std::fmt::Debug for ValidationContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidationContext")
            .field("anchors", &self.anchors.len())
            .field("tsa_anchors", &self.tsa_anchors.len())
            .field("crls", &self.crls.len())
            .field("policy", &self.policy)
            .field("time", &self.time)
            .finish()
    }
}

impl ValidationContext {
    /// Signers chain to `anchors`; no timestamp authority trusted, no CRL, default policy, now.
    pub fn new(anchors: Vec<X509>) -> Self {
        Self {
            anchors,
            tsa_anchors: Vec::new(),
            crls: Vec::new(),
            policy: AlgorithmPolicy::default(),
            time: None,
        }
    }

    /// The validation time, Unix seconds.
    pub fn now(&self) -> i64 {
        self.time.unwrap_or_else(|| chrono::Utc::now().timestamp())
    }
}

/// What the path check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PathStatus {
    /// A CRL or an OCSP response of the signer's issuer was consulted.
    pub revocation_checked: bool,
    /// The certificate is itself a trust anchor (no issuer to ask about it).
    pub anchored: bool,
}

pub(crate) const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
pub(crate) const ID_SHA256: ObjectIdentifier = crate::cms::ID_SHA256;
pub(crate) const ID_SHA384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
pub(crate) const ID_SHA512: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const RSA_ENCRYPTION: ObjectIdentifier = crate::cms::RSA_ENCRYPTION;
const SHA1_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
const SHA256_WITH_RSA: ObjectIdentifier = crate::cms::SHA256_WITH_RSA;
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const ID_MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ECDSA_WITH_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
const ECDSA_WITH_SHA256: ObjectIdentifier = crate::cms::ECDSA_WITH_SHA256;
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_WITH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");

/// A digest algorithm by name, for comparing what different fields declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Digest {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Digest {
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Some(match *oid {
            ID_SHA1 => Self::Sha1,
            ID_SHA256 => Self::Sha256,
            ID_SHA384 => Self::Sha384,
            ID_SHA512 => Self::Sha512,
            _ => return None,
        })
    }

    pub fn md(self) -> MessageDigest {
        match self {
            Self::Sha1 => MessageDigest::sha1(),
            Self::Sha256 => MessageDigest::sha256(),
            Self::Sha384 => MessageDigest::sha384(),
            Self::Sha512 => MessageDigest::sha512(),
        }
    }
}

impl AlgorithmPolicy {
    /// The digest, if the policy accepts it.
    pub(crate) fn digest(&self, d: Option<Digest>) -> Result<Digest, Rejection> {
        match d {
            None => Err(Rejection::UnsupportedDigest),
            Some(Digest::Sha1) if !self.allow_sha1 => Err(Rejection::Sha1Refused),
            Some(d) => Ok(d),
        }
    }

    /// Checks a public key: RSA of the minimum size, or ECDSA on P-256 or P-384.
    pub(crate) fn key(&self, key: &PKeyRef<Public>) -> Result<(), Rejection> {
        match key.id() {
            Id::RSA | Id::RSA_PSS => {
                if key.bits() < self.min_rsa_bits {
                    return Err(Rejection::RsaKeyTooShort {
                        bits: key.bits(),
                        min: self.min_rsa_bits,
                    });
                }
                Ok(())
            }
            Id::EC => {
                let curve = key
                    .ec_key()
                    .ok()
                    .and_then(|k| k.group().curve_name())
                    .ok_or(Rejection::UnnamedCurve)?;
                if curve == Nid::X9_62_PRIME256V1 || curve == Nid::SECP384R1 {
                    Ok(())
                } else {
                    Err(Rejection::Curve(curve))
                }
            }
            other => Err(Rejection::KeyType(other)),
        }
    }
}

/// RFC 4055 `RSASSA-PSS-params` (absent fields take their defaults: SHA-1, MGF1-SHA-1, 20, 1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mgf: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer: Option<u32>,
}

/// The signature scheme a CMS `signatureAlgorithm` designates.
enum Scheme {
    Pkcs1,
    Pss { salt: u32 },
    Ecdsa,
}

fn cms_scheme(alg: &AlgorithmIdentifierOwned, digest: Digest) -> Result<Scheme, Rejection> {
    // The digest implied by a combined identifier must be the signer info's digest.
    let implied = |d: Digest, s: Scheme| {
        if d == digest {
            Ok(s)
        } else {
            Err(Rejection::DigestMismatch)
        }
    };
    match alg.oid {
        RSA_ENCRYPTION => Ok(Scheme::Pkcs1),
        EC_PUBLIC_KEY => Ok(Scheme::Ecdsa),
        SHA1_WITH_RSA => implied(Digest::Sha1, Scheme::Pkcs1),
        SHA256_WITH_RSA => implied(Digest::Sha256, Scheme::Pkcs1),
        SHA384_WITH_RSA => implied(Digest::Sha384, Scheme::Pkcs1),
        SHA512_WITH_RSA => implied(Digest::Sha512, Scheme::Pkcs1),
        ECDSA_WITH_SHA1 => implied(Digest::Sha1, Scheme::Ecdsa),
        ECDSA_WITH_SHA256 => implied(Digest::Sha256, Scheme::Ecdsa),
        ECDSA_WITH_SHA384 => implied(Digest::Sha384, Scheme::Ecdsa),
        ECDSA_WITH_SHA512 => implied(Digest::Sha512, Scheme::Ecdsa),
        RSASSA_PSS => {
            let p: PssParams = alg
                .parameters
                .as_ref()
                .ok_or(Rejection::PssWithoutParameters)?
                .decode_as()
                .map_err(Rejection::PssParameters)?;
            let hash = p
                .hash
                .as_ref()
                .map_or(Some(Digest::Sha1), |h| Digest::from_oid(&h.oid));
            let mgf_hash = match &p.mgf {
                None => Some(Digest::Sha1),
                Some(m) if m.oid == ID_MGF1 => m
                    .parameters
                    .as_ref()
                    .and_then(|a| a.decode_as::<AlgorithmIdentifierOwned>().ok())
                    .and_then(|h| Digest::from_oid(&h.oid)),
                Some(_) => None,
            };
            if hash != Some(digest) || mgf_hash != Some(digest) {
                return Err(Rejection::PssHash);
            }
            if p.trailer.unwrap_or(1) != 1 {
                return Err(Rejection::PssTrailer);
            }
            Ok(Scheme::Pss {
                salt: p.salt.unwrap_or(20),
            })
        }
        other => Err(Rejection::SignatureAlgorithm(other)),
    }
}

/// Verifies a CMS signature value over `data` with the signer's `key`, under `policy`.
pub(crate) fn verify_cms_signature(
    policy: &AlgorithmPolicy,
    key: &PKeyRef<Public>,
    alg: &AlgorithmIdentifierOwned,
    digest: Digest,
    data: &[u8],
    signature: &[u8],
) -> Result<(), Rejection> {
    let digest = policy.digest(Some(digest))?;
    policy.key(key)?;
    let scheme = cms_scheme(alg, digest)?;
    let is_rsa = matches!(key.id(), Id::RSA | Id::RSA_PSS);
    let ok = (|| -> Result<bool, openssl::error::ErrorStack> {
        let mut v = Verifier::new(digest.md(), key)?;
        match scheme {
            Scheme::Pkcs1 | Scheme::Ecdsa => {}
            Scheme::Pss { salt } => {
                v.set_rsa_padding(Padding::PKCS1_PSS)?;
                v.set_rsa_mgf1_md(digest.md())?;
                v.set_rsa_pss_saltlen(RsaPssSaltlen::custom(
                    i32::try_from(salt).unwrap_or(i32::MAX),
                ))?;
            }
        }
        v.update(data)?;
        v.verify(signature)
    })();
    match (scheme, is_rsa) {
        (Scheme::Pkcs1 | Scheme::Pss { .. }, false) | (Scheme::Ecdsa, true) => {
            return Err(Rejection::KeyMismatch);
        }
        (Scheme::Pkcs1 | Scheme::Pss { .. }, true) | (Scheme::Ecdsa, false) => {}
    }
    if ok.unwrap_or(false) {
        Ok(())
    } else {
        Err(Rejection::BadSignature)
    }
}

/// Validation data carried by the verified file itself (a PDF's DSS): certificates to build
/// paths with, CRLs and OCSP responses. Each item is authenticated when used (a CRL or an OCSP
/// response counts only if the certificate's issuer signed it).
#[derive(Default)]
pub(crate) struct Evidence {
    pub certs: Vec<X509>,
    pub crls: Vec<X509Crl>,
    pub ocsp: Vec<OcspBasicResponse>,
}

impl Evidence {
    /// Parses DER items, skipping those that are not what they claim (counted in `skipped`).
    pub fn from_der(certs: &[Vec<u8>], crls: &[Vec<u8>], ocsp: &[Vec<u8>]) -> (Self, usize) {
        let mut skipped = 0;
        let mut e = Evidence::default();
        for c in certs {
            match X509::from_der(c) {
                Ok(c) => e.certs.push(c),
                Err(_) => skipped += 1,
            }
        }
        for c in crls {
            match X509Crl::from_der(c) {
                Ok(c) => e.crls.push(c),
                Err(_) => skipped += 1,
            }
        }
        for r in ocsp {
            match OcspResponse::from_der(r).and_then(|r| r.basic()) {
                Ok(b) => e.ocsp.push(b),
                Err(_) => skipped += 1,
            }
        }
        (e, skipped)
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty() && self.crls.is_empty() && self.ocsp.is_empty()
    }
}

/// Checks that `cert` chains to `anchors` at `time` (Unix seconds), through `others` and the
/// file's certificates, and that no CRL (of `crls` or the file's) issued by its issuer, nor an
/// OCSP response its issuer signed, revokes it as of `time`. `timestamping` requires the
/// timeStamping extended key usage along the path.
pub(crate) fn check_path(
    cert: &X509,
    others: &[X509],
    anchors: &[X509],
    crls: &[X509Crl],
    evidence: &Evidence,
    time: i64,
    timestamping: bool,
) -> Result<PathStatus, Rejection> {
    if anchors.is_empty() {
        return Err(Rejection::NoTrustAnchor);
    }
    let mut sb = X509StoreBuilder::new()?;
    for a in anchors {
        sb.add_cert(a.clone())?;
    }
    let mut p = X509VerifyParam::new()?;
    p.set_time(time as libc::time_t);
    // An anchor ends the path whether or not it is self-signed: trusted lists name issuing
    // CAs (often intermediates) and timestamp units themselves.
    p.set_flags(openssl::x509::verify::X509VerifyFlags::PARTIAL_CHAIN)?;
    if timestamping {
        p.set_purpose(X509PurposeId::TIMESTAMP_SIGN)?;
    }
    sb.set_param(&p)?;
    let store = sb.build();
    let mut chain = Stack::new()?;
    for c in others.iter().chain(&evidence.certs) {
        chain.push(c.clone())?;
    }
    let mut ctx = X509StoreContext::new()?;
    let (ok, verdict, path) = ctx.init(&store, cert, &chain, |c| {
        let ok = c.verify_cert()?;
        let path: Vec<X509> = c
            .chain()
            .map(|s| s.iter().map(|x| x.to_owned()).collect())
            .unwrap_or_default();
        Ok((ok, c.error(), path))
    })?;
    if !ok {
        return Err(Rejection::Path(verdict));
    }
    // Revocation: every certificate of the path but the anchor, against its issuer's CRLs and
    // OCSP responses.
    let mut revocation_checked = false;
    for (i, pair) in path.windows(2).enumerate() {
        let checked = revocation(&pair[0], &pair[1], crls, evidence, time)?;
        if i == 0 {
            revocation_checked = checked;
        }
    }
    // A certificate trusted as such (the anchor itself) needs no revocation data.
    let anchored = path.len() == 1;
    Ok(PathStatus {
        revocation_checked,
        anchored,
    })
}

/// Whether `cert` chains to `anchors` now through `others` (the path only: no revocation data
/// is asked for). The reason when it does not.
pub fn chains_to(cert: &X509, others: &[X509], anchors: &[X509]) -> Result<(), String> {
    check_path(
        cert,
        others,
        anchors,
        &[],
        &Evidence::default(),
        chrono::Utc::now().timestamp(),
        false,
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// The http(s) URLs of the CRL distribution points `cert` names (at most four).
pub fn crl_urls(cert: &X509) -> Vec<String> {
    let Some(points) = cert.crl_distribution_points() else {
        return Vec::new();
    };
    points
        .iter()
        .filter_map(|p| p.distpoint())
        .filter_map(|name| name.fullname())
        .flat_map(|names| names.iter().filter_map(|n| n.uri().map(str::to_owned)))
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .take(4)
        .collect()
}

/// Whether revocation data of `issuer` was consulted for `cert`; an error when some revokes
/// it at `time`. (The `openssl` crate cannot add a CRL to an `X509Store` without a file, hence
/// this check.)
fn revocation(
    cert: &X509,
    issuer: &X509,
    crls: &[X509Crl],
    evidence: &Evidence,
    time: i64,
) -> Result<bool, Rejection> {
    let issuer_name = issuer.subject_name().to_der()?;
    let key = issuer.public_key()?;
    let mut checked = false;
    let revoked = |at: i64, date: String| {
        if at <= time {
            Err(Rejection::Revoked {
                subject: common_name(cert),
                date,
            })
        } else {
            Ok(())
        }
    };
    for crl in crls.iter().chain(&evidence.crls) {
        if crl.issuer_name().to_der().ok().as_deref() != Some(issuer_name.as_slice()) {
            continue;
        }
        if !crl.verify(&key).unwrap_or(false) {
            return Err(Rejection::BadCrlSignature);
        }
        checked = true;
        if let CrlStatus::Revoked(entry) = crl.get_by_cert(cert) {
            let at = asn1_unix(entry.revocation_date()).unwrap_or(i64::MIN);
            revoked(at, entry.revocation_date().to_string())?;
        }
    }
    if evidence.ocsp.is_empty() {
        return Ok(checked);
    }
    // Responses signed by the issuer itself (the responder of our CA, and the usual case for
    // small CAs); a delegated responder's answers are not used.
    let id = OcspCertId::from_cert(MessageDigest::sha1(), cert, issuer)?;
    let mut signer = Stack::new()?;
    signer.push(issuer.clone())?;
    let empty = X509StoreBuilder::new()?.build();
    for basic in &evidence.ocsp {
        let Some(status) = basic.find_status(&id) else {
            continue;
        };
        if basic
            .verify(
                &signer,
                &empty,
                OcspFlag::NO_INTERN | OcspFlag::NO_VERIFY | OcspFlag::NO_CHECKS,
            )
            .is_err()
        {
            // A response about this certificate that its issuer did not sign.
            return Err(Rejection::BadOcspResponse);
        }
        if status.status == OcspCertStatus::GOOD {
            checked = true;
        } else if status.status == OcspCertStatus::REVOKED {
            checked = true;
            let date = status
                .revocation_time
                .map(|t| t.to_string())
                .unwrap_or_default();
            let at = generalized_unix(&date).unwrap_or(i64::MIN);
            revoked(at, date)?;
        }
    }
    Ok(checked)
}

/// OpenSSL's printed form of a GeneralizedTime ("Mar  3 12:00:00 2026 GMT") as Unix seconds.
fn generalized_unix(printed: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(printed, "%b %e %H:%M:%S %Y GMT")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// An ASN.1 time as Unix seconds.
fn asn1_unix(t: &openssl::asn1::Asn1TimeRef) -> Option<i64> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    Some(i64::from(d.days) * 86_400 + i64::from(d.secs))
}

/// A certificate's common name (empty if none).
pub(crate) fn common_name(c: &X509) -> String {
    c.subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .next()
        .and_then(|e| e.data().to_string().ok())
        .map(|s| s.to_string())
        .unwrap_or_default()
}
