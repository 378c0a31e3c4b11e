//! Why a verification fails: typed reasons carrying their data, whose `Display` is the message
//! the JSON reports show (`errors` of [`crate::verify`] and [`crate::xmlverify`] reports).

use crate::SignError;
use const_oid::ObjectIdentifier;
use lopdf::ObjectId;
use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::pkey::Id;
use openssl::x509::X509VerifyResult;
use std::fmt;
use std::rc::Rc;
use thiserror::Error;

/// A refusal of the algorithm policy, or a failure of the certificate-path check.
#[derive(Debug, Error)]
pub(crate) enum Rejection {
    #[error("unsupported digest algorithm")]
    UnsupportedDigest,
    #[error("SHA-1 digests are refused by the validation policy")]
    Sha1Refused,
    #[error("RSA key of {bits} bits refused (the validation policy requires {min})")]
    RsaKeyTooShort { bits: u32, min: u32 },
    #[error("EC key on an unnamed curve")]
    UnnamedCurve,
    #[error("EC curve {0:?} refused by the validation policy")]
    Curve(Nid),
    #[error("{0:?} keys are refused by the validation policy")]
    KeyType(Id),
    #[error("the signature algorithm's digest differs from the signer's digest")]
    DigestMismatch,
    #[error("RSASSA-PSS without parameters")]
    PssWithoutParameters,
    #[error("RSASSA-PSS parameters: {0}")]
    PssParameters(der::Error),
    #[error("RSASSA-PSS hash or MGF1 hash differs from the signer's digest")]
    PssHash,
    #[error("RSASSA-PSS trailer field other than 1")]
    PssTrailer,
    #[error("unsupported signature algorithm {0}")]
    SignatureAlgorithm(ObjectIdentifier),
    #[error("the signature algorithm does not match the signer's key")]
    KeyMismatch,
    #[error("the signature value does not verify")]
    BadSignature,
    #[error("no trust anchor")]
    NoTrustAnchor,
    /// OpenSSL's verdict on the path (expired, unknown issuer...).
    #[error("{0}")]
    Path(X509VerifyResult),
    #[error("a revocation list of the issuer has a bad signature")]
    BadCrlSignature,
    #[error("an OCSP response about the certificate is not signed by its issuer")]
    BadOcspResponse,
    #[error("no revocation data (CRL or OCSP response) for the signer's certificate")]
    NoRevocationData,
    #[error("the certificate {subject} was revoked on {date}")]
    Revoked { subject: String, date: String },
    #[error(transparent)]
    Crypto(#[from] ErrorStack),
}

/// Why a CMS signer (or a timestamp token, itself a CMS) cannot be checked or is not intact.
#[derive(Debug, Error)]
pub(crate) enum CmsFailure {
    #[error("CMS without signer")]
    NoSigner,
    #[error("CMS with several signers")]
    SeveralSigners,
    #[error(transparent)]
    Asn1(#[from] der::Error),
    #[error("certificate: {0}")]
    Certificate(ErrorStack),
    #[error("the signer's certificate is not embedded")]
    SignerNotEmbedded,
    #[error("no signed attributes")]
    NoSignedAttributes,
    #[error("attribute {0} repeated")]
    RepeatedAttribute(ObjectIdentifier),
    #[error("no content-type attribute")]
    NoContentType,
    #[error("no message-digest attribute")]
    NoMessageDigest,
    #[error("signing-certificate attribute: {0}")]
    SigningCertificateAttribute(der::Error),
    #[error("empty signing-certificate attribute")]
    EmptySigningCertificate,
    #[error("unsupported ESS hash")]
    EssHash,
    #[error(transparent)]
    Crypto(#[from] ErrorStack),
    #[error(transparent)]
    Policy(#[from] Rejection),
    /// Integrity: the attribute does not name the signed content's type.
    #[error("the content-type attribute differs from the signed content's type")]
    ContentTypeMismatch,
    /// Integrity: the message digest is not the signed content's.
    #[error("the signed content was modified (digest mismatch)")]
    ContentModified,
    /// Integrity: the ESS attribute designates another certificate.
    #[error("the signing-certificate attribute does not match the signer")]
    SigningCertificateMismatch,
    #[error("malformed token ({0})")]
    MalformedToken(der::Error),
    #[error("the token is not a CMS signed-data")]
    TokenNotSignedData,
    #[error("the token does not hold a TSTInfo")]
    TokenWithoutTstInfo,
    #[error("empty token")]
    EmptyToken,
    #[error("token content ({0})")]
    TokenContent(der::Error),
    #[error("the token's signature: {}", joined(.0))]
    TokenSignature(Vec<CmsFailure>),
    #[error("TSTInfo ({0})")]
    TstInfo(der::Error),
    #[error("the token does not stamp this signature (message imprint mismatch)")]
    ImprintMismatch,
    #[error("timestamp time out of range")]
    TimeOutOfRange,
    #[error("the timestamp authority: {0}")]
    TimestampAuthority(Rejection),
}

/// Why a PAdES signature is not valid.
#[derive(Debug, Error)]
pub(crate) enum PadesFailure {
    #[error("no /ByteRange")]
    NoByteRange,
    #[error("no /Contents")]
    NoContents,
    #[error("malformed /ByteRange")]
    MalformedByteRange,
    #[error("negative /ByteRange")]
    NegativeByteRange,
    #[error("the /ByteRange does not frame the /Contents hex string")]
    ByteRangeFrame,
    #[error("CMS: {0}")]
    Cms(SignError),
    #[error("the CMS is not detached")]
    NotDetached,
    #[error(transparent)]
    Signer(#[from] CmsFailure),
    #[error("the document was modified after this signature: {}", joined(.0))]
    ModifiedAfter(Vec<Change>),
    /// The later revisions could not be read (shared by the signatures of one revision).
    #[error("the revisions after this signature cannot be checked: {0}")]
    Revisions(Rc<SignError>),
    #[error("timestamp: its time is after the validation time")]
    TimestampAfterValidation,
    #[error("timestamp: {0}")]
    Timestamp(CmsFailure),
    #[error("certificate chain: {0}")]
    Chain(Rejection),
}

/// Which list of a page or form gained an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Member {
    Annotation,
    Element,
    Field,
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Annotation => "annotation",
            Self::Element => "element",
            Self::Field => "field",
        })
    }
}

/// Why a change made after a signature to an object of the signed revision is not allowed.
#[derive(Debug, Clone, Error)]
pub(crate) enum Refusal {
    #[error("modified after the signature")]
    Modified,
    #[error("unreadable /Annots")]
    UnreadableAnnots,
    #[error("unreadable /Fields")]
    UnreadableFields,
    #[error("an existing {0} was removed or replaced")]
    Removed(Member),
    #[error("an {0} other than a signature field was added")]
    NotAReference(Member),
    #[error("{} added as {what} is not a new signature field", object(.id))]
    NotNewSignatureField { id: ObjectId, what: Member },
    #[error("/{} changed", String::from_utf8_lossy(.0))]
    KeyChanged(Vec<u8>),
}

/// A change after a signed revision that PAdES does not allow.
#[derive(Debug, Clone, Error)]
pub(crate) enum Change {
    #[error("{} was deleted", object(.0))]
    Deleted(ObjectId),
    #[error("the catalog was replaced")]
    CatalogReplaced,
    #[error("{}: {}", object(.0), .1)]
    Object(ObjectId, Refusal),
    #[error("the form: {0}")]
    Form(Refusal),
    #[error(
        "{} was added without being part of a signature, form field or DSS",
        object(.0)
    )]
    Orphan(ObjectId),
}

/// Why an XML signature (XAdES or PES) is not valid, or a PES not wholly signed.
#[derive(Debug, Error)]
pub(crate) enum XmlFailure {
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("unsupported transform {0}")]
    Transform(String),
    #[error("{0}")]
    Canonicalization(Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("certificate: {0}")]
    Certificate(ErrorStack),
    #[error(transparent)]
    Crypto(#[from] ErrorStack),
    #[error(transparent)]
    Policy(#[from] Rejection),
    #[error("unsupported CertDigest algorithm")]
    CertDigestAlgorithm,
    #[error("reference {0:?}: {1}")]
    ReferenceDigest(String, Rejection),
    #[error("reference {0}: no unique element with this Id")]
    NoUniqueId(String),
    /// A same-document reference (`#id`) that cannot be dereferenced.
    #[error("reference {0}: {1}")]
    Dereference(String, Box<XmlFailure>),
    /// The whole-document reference (`URI=""`) that cannot be dereferenced.
    #[error("reference \"\": {0}")]
    DereferenceDocument(Box<XmlFailure>),
    #[error("unsupported detached reference {0:?}")]
    DetachedReference(String),
    #[error("external reference {0:?} in an enveloped signature")]
    ExternalReference(String),
    #[error("unsupported CanonicalizationMethod")]
    CanonicalizationMethod,
    #[error("unsupported SignatureMethod")]
    SignatureMethod,
    #[error("the SignatureMethod does not match the signer's key")]
    KeyMismatch,
    #[error("no SigningCertificate property")]
    NoSigningCertificate,
    #[error("SigningCertificate digest matches no embedded certificate")]
    SigningCertificateMismatch,
    #[error("reference {0} is not the signature's parent")]
    NotParent(String),
    #[error("reference {0:?}: digest mismatch")]
    DigestMismatch(String),
    #[error("no reference to the detached data")]
    NoDetachedReference,
    #[error("SignedProperties not covered by the signature")]
    PropertiesNotCovered,
    #[error("no SignedProperties")]
    NoSignedProperties,
    #[error("SignatureValue does not verify")]
    BadSignatureValue,
    #[error("certificate chain: {0}")]
    Chain(Rejection),
    #[error("no ds:Signature")]
    NoSignature,
    #[error("Bordereau {0} is not covered by a valid signature")]
    BordereauNotCovered(String),
    #[error("signature timestamp: {0}")]
    Timestamp(crate::failure::CmsFailure),
    #[error("the signature timestamp is after the validation time")]
    TimestampAfterValidation,
}

/// `object N G`, as the reports name PDF objects.
fn object(id: &ObjectId) -> String {
    format!("object {} {}", id.0, id.1)
}

/// Messages joined by `; `.
fn joined<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
