//! CMS signer verification (RFC 5652 §5.4-5.6) under a validation policy, and RFC 3161
//! signature timestamp tokens: decoded with the `cms`/`x509-tsp` types, checked with OpenSSL.

use crate::cms::{ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_CERTIFICATE_V2};
use crate::failure::CmsFailure;
use crate::policy::{AlgorithmPolicy, Digest, Evidence, ValidationContext, check_path};
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, OctetString};
use der::{Decode, Encode, Sequence};
use openssl::error::ErrorStack;
use openssl::hash::hash;
use openssl::x509::X509;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_tsp::TstInfo;

const ID_SIGNING_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
const ID_CT_TSTINFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// ESS `IssuerSerial`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// ESS `ESSCertIDv2` as found (hash algorithm and issuer-serial optional) or, without the
/// algorithm, `ESSCertID` (SHA-1, RFC 2634).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct CertId {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// `SigningCertificate` / `SigningCertificateV2` (policies ignored).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificate {
    certs: Vec<CertId>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

/// The signer of a CMS signed-data, once checked.
pub(crate) struct SignerCheck {
    pub signer: X509,
    /// The other embedded certificates (for the path).
    pub others: Vec<X509>,
    /// Integrity failures (empty: the signature is intact).
    pub errors: Vec<CmsFailure>,
    /// Non-fatal remarks (e.g. no ESS signing-certificate attribute).
    pub notes: Vec<String>,
}

/// Checks the single signer of `sd`: its embedded certificate, the content-type and
/// message-digest attributes (`content_digest` hashes the signed content with the signer's
/// digest), the ESS signing-certificate attribute, and the signature value, all under `policy`.
/// `Err` when the structure cannot be checked at all.
pub(crate) fn verify_signer(
    sd: &SignedData,
    policy: &AlgorithmPolicy,
    content_digest: &dyn Fn(Digest) -> Result<Vec<u8>, ErrorStack>,
) -> Result<SignerCheck, CmsFailure> {
    let mut infos = sd.signer_infos.0.iter();
    let si = infos.next().ok_or(CmsFailure::NoSigner)?;
    if infos.next().is_some() {
        return Err(CmsFailure::SeveralSigners);
    }
    let decoded: Vec<&x509_cert::Certificate> = sd
        .certificates
        .as_ref()
        .map(|c| {
            c.0.iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(c) => Some(c),
                    CertificateChoices::Other(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut certs = Vec::with_capacity(decoded.len());
    for c in &decoded {
        let der = c.to_der()?;
        certs.push(X509::from_der(&der).map_err(CmsFailure::Certificate)?);
    }
    let index = match &si.sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => decoded.iter().position(|c| {
            c.tbs_certificate.issuer == ias.issuer
                && c.tbs_certificate.serial_number == ias.serial_number
        }),
        SignerIdentifier::SubjectKeyIdentifier(ski) => certs
            .iter()
            .position(|c| c.subject_key_id().map(|k| k.as_slice()) == Some(ski.0.as_bytes())),
    }
    .ok_or(CmsFailure::SignerNotEmbedded)?;
    let signer = certs.remove(index);
    let signer_der = signer.to_der()?;
    let mut errors = Vec::new();
    let mut notes = Vec::new();

    let digest = policy.digest(Digest::from_oid(&si.digest_alg.oid))?;
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or(CmsFailure::NoSignedAttributes)?;
    let value = |oid: ObjectIdentifier| {
        let mut found = attrs.iter().filter(|a| a.oid == oid);
        match (found.next(), found.next()) {
            (Some(a), None) if a.values.len() == 1 => Ok(a.values.iter().next()),
            (None, _) => Ok(None),
            (Some(_), _) => Err(CmsFailure::RepeatedAttribute(oid)),
        }
    };
    let ct = value(ID_CONTENT_TYPE)?
        .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
        .ok_or(CmsFailure::NoContentType)?;
    if ct != sd.encap_content_info.econtent_type {
        errors.push(CmsFailure::ContentTypeMismatch);
    }
    let md = value(ID_MESSAGE_DIGEST)?
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or(CmsFailure::NoMessageDigest)?;
    if md.as_bytes() != content_digest(digest)?.as_slice() {
        errors.push(CmsFailure::ContentModified);
    }
    let ess = match value(ID_SIGNING_CERTIFICATE_V2)? {
        Some(v) => Some((v, Digest::Sha256)),
        None => value(ID_SIGNING_CERTIFICATE)?.map(|v| (v, Digest::Sha1)),
    };
    match ess {
        Some((v, default)) => {
            let sc = v
                .decode_as::<SigningCertificate>()
                .map_err(CmsFailure::SigningCertificateAttribute)?;
            let id = sc
                .certs
                .first()
                .ok_or(CmsFailure::EmptySigningCertificate)?;
            // A certificate identifier, not a signature: SHA-1 is acceptable here.
            let d = match &id.hash_algorithm {
                Some(a) => Digest::from_oid(&a.oid).ok_or(CmsFailure::EssHash)?,
                None => default,
            };
            let h = hash(d.md(), &signer_der)?;
            if id.cert_hash.as_bytes() != &*h {
                errors.push(CmsFailure::SigningCertificateMismatch);
            }
        }
        None => notes.push("no signing-certificate-v2 attribute (not PAdES baseline)".into()),
    }
    let signed = attrs.to_der()?;
    let key = signer.public_key()?;
    if let Err(e) = crate::policy::verify_cms_signature(
        policy,
        &key,
        &si.signature_algorithm,
        digest,
        &signed,
        si.signature.as_bytes(),
    ) {
        errors.push(CmsFailure::Policy(e));
    }
    Ok(SignerCheck {
        signer,
        others: certs,
        errors,
        notes,
    })
}

/// Verifies a signature timestamp token (the value of an id-aa-signatureTimeStampToken
/// attribute) over `signature_value`: the TSA's CMS signature, its message imprint, and the
/// TSA's path to `ctx.tsa_anchors` at `authority_at` (the validation time, or the time a
/// document timestamp covering the token proves). Returns the token's time (Unix s).
pub(crate) fn verify_timestamp(
    token: &Any,
    signature_value: &[u8],
    ctx: &ValidationContext,
    evidence: &Evidence,
    authority_at: i64,
) -> Result<i64, CmsFailure> {
    let ci: ContentInfo = token.decode_as().map_err(CmsFailure::MalformedToken)?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(CmsFailure::TokenNotSignedData);
    }
    let sd: SignedData = ci.content.decode_as().map_err(CmsFailure::MalformedToken)?;
    if sd.encap_content_info.econtent_type != ID_CT_TSTINFO {
        return Err(CmsFailure::TokenWithoutTstInfo);
    }
    let tst = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or(CmsFailure::EmptyToken)?
        .decode_as::<OctetString>()
        .map_err(CmsFailure::TokenContent)?;
    let tst = tst.as_bytes();
    let check = verify_signer(&sd, &ctx.policy, &|d| hash(d.md(), tst).map(|h| h.to_vec()))?;
    if !check.errors.is_empty() {
        return Err(CmsFailure::TokenSignature(check.errors));
    }
    let info = TstInfo::from_der(tst).map_err(CmsFailure::TstInfo)?;
    let d = ctx
        .policy
        .digest(Digest::from_oid(&info.message_imprint.hash_algorithm.oid))?;
    let imprint = hash(d.md(), signature_value)?;
    if info.message_imprint.hashed_message.as_bytes() != &*imprint {
        return Err(CmsFailure::ImprintMismatch);
    }
    let time = i64::try_from(info.gen_time.to_unix_duration().as_secs())
        .map_err(|_| CmsFailure::TimeOutOfRange)?;
    check_path(
        &check.signer,
        &check.others,
        &ctx.tsa_anchors,
        &ctx.crls,
        evidence,
        authority_at,
        true,
    )
    .map_err(CmsFailure::TimestampAuthority)?;
    Ok(time)
}
