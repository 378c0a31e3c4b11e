//! The vocabulary of ETSI EN 319 102-1 (signature validation): the main indication of a
//! signature (`TOTAL_PASSED`, `INDETERMINATE`, `TOTAL_FAILED`) and its sub-indication, and the
//! mapping from our typed verification failures to them.
//!
//! The mapping follows the standard's definitions:
//! - the signed data or the signature value is wrong: `TOTAL_FAILED` (`HASH_FAILURE`,
//!   `SIG_CRYPTO_FAILURE`, `FORMAT_FAILURE` for a structure that cannot be a valid signature or a
//!   PDF modified after signing in a way PAdES forbids);
//! - the signer's certificate was revoked before a proven time of the signature:
//!   `TOTAL_FAILED` / `REVOKED`;
//! - what is missing could appear later or with more proof: `INDETERMINATE` (no chain to a trust
//!   anchor, no revocation data, revoked or expired without proof of existence before, an
//!   algorithm no longer accepted).

use crate::failure::{CmsFailure, PadesFailure, Rejection, XmlFailure};
use serde::Serialize;

/// The main status of a validation (EN 319 102-1 §5.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Indication {
    TotalPassed,
    Indeterminate,
    TotalFailed,
}

impl Indication {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TotalPassed => "TOTAL_PASSED",
            Self::Indeterminate => "INDETERMINATE",
            Self::TotalFailed => "TOTAL_FAILED",
        }
    }

    /// In French, for the verification page.
    pub fn label_fr(self) -> &'static str {
        match self {
            Self::TotalPassed => "Signature valide",
            Self::Indeterminate => "Validité indéterminée",
            Self::TotalFailed => "Signature invalide",
        }
    }
}

/// Why a signature is not `TOTAL_PASSED` (EN 319 102-1 Table 5, the ones we can establish).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubIndication {
    // TOTAL_FAILED
    FormatFailure,
    HashFailure,
    SigCryptoFailure,
    Revoked,
    // INDETERMINATE
    SigConstraintsFailure,
    ChainConstraintsFailure,
    CryptoConstraintsFailureNoPoe,
    OutOfBoundsNoPoe,
    NotYetValid,
    RevokedNoPoe,
    TryLater,
    NoCertificateChainFound,
    NoSigningCertificateFound,
    SignedDataNotFound,
    TimestampOrderFailure,
    NoPoe,
}

impl SubIndication {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FormatFailure => "FORMAT_FAILURE",
            Self::HashFailure => "HASH_FAILURE",
            Self::SigCryptoFailure => "SIG_CRYPTO_FAILURE",
            Self::Revoked => "REVOKED",
            Self::SigConstraintsFailure => "SIG_CONSTRAINTS_FAILURE",
            Self::ChainConstraintsFailure => "CHAIN_CONSTRAINTS_FAILURE",
            Self::CryptoConstraintsFailureNoPoe => "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
            Self::OutOfBoundsNoPoe => "OUT_OF_BOUNDS_NO_POE",
            Self::NotYetValid => "NOT_YET_VALID",
            Self::RevokedNoPoe => "REVOKED_NO_POE",
            Self::TryLater => "TRY_LATER",
            Self::NoCertificateChainFound => "NO_CERTIFICATE_CHAIN_FOUND",
            Self::NoSigningCertificateFound => "NO_SIGNING_CERTIFICATE_FOUND",
            Self::SignedDataNotFound => "SIGNED_DATA_NOT_FOUND",
            Self::TimestampOrderFailure => "TIMESTAMP_ORDER_FAILURE",
            Self::NoPoe => "NO_POE",
        }
    }

    /// In French, for the verification page.
    pub fn label_fr(self) -> &'static str {
        match self {
            Self::FormatFailure => "la structure de la signature ou du document n'est pas conforme",
            Self::HashFailure => "le contenu signé a été modifié",
            Self::SigCryptoFailure => "la valeur de la signature est fausse",
            Self::Revoked => "le certificat du signataire était révoqué au moment de la signature",
            Self::SigConstraintsFailure => {
                "la signature ne respecte pas la politique de validation"
            }
            Self::ChainConstraintsFailure => "la chaîne de certification n'est pas acceptable",
            Self::CryptoConstraintsFailureNoPoe => {
                "un algorithme utilisé n'est plus accepté (SHA-1, clé trop courte…)"
            }
            Self::OutOfBoundsNoPoe => {
                "le certificat du signataire a expiré et rien ne prouve que la signature est antérieure"
            }
            Self::NotYetValid => "le certificat du signataire n'était pas encore valide",
            Self::RevokedNoPoe => {
                "le certificat du signataire est révoqué et rien ne prouve que la signature est antérieure"
            }
            Self::TryLater => {
                "aucune information de révocation n'est disponible pour le signataire"
            }
            Self::NoCertificateChainFound => {
                "le certificat du signataire ne remonte à aucune autorité de confiance"
            }
            Self::NoSigningCertificateFound => "le certificat du signataire est introuvable",
            Self::SignedDataNotFound => "les données signées sont introuvables",
            Self::TimestampOrderFailure => "l'horodatage est incohérent",
            Self::NoPoe => "l'horodatage de la signature n'a pas pu être vérifié",
        }
    }
}

/// An indication with its sub-indication (none for `TOTAL_PASSED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub indication: Indication,
    pub subindication: Option<SubIndication>,
}

impl Verdict {
    pub const PASSED: Verdict = Verdict {
        indication: Indication::TotalPassed,
        subindication: None,
    };

    pub(crate) fn failed(s: SubIndication) -> Self {
        Self {
            indication: Indication::TotalFailed,
            subindication: Some(s),
        }
    }

    pub(crate) fn indeterminate(s: SubIndication) -> Self {
        Self {
            indication: Indication::Indeterminate,
            subindication: Some(s),
        }
    }

    /// Makes the verdict held in `indication` and `subindication` (a report's two fields) the
    /// worse of it and `v`.
    pub(crate) fn record(
        v: Verdict,
        indication: &mut Indication,
        subindication: &mut Option<SubIndication>,
    ) {
        let now = Verdict {
            indication: *indication,
            subindication: *subindication,
        }
        .worst(v);
        *indication = now.indication;
        *subindication = now.subindication;
    }

    /// The worse of two verdicts (`TOTAL_FAILED` over `INDETERMINATE` over `TOTAL_PASSED`; the
    /// first found wins a tie, except over `NO_POE`: a timestamp that proves nothing matters
    /// less than what the signature itself lacks).
    pub fn worst(self, other: Verdict) -> Verdict {
        let weaker =
            other.indication == self.indication && self.subindication == Some(SubIndication::NoPoe);
        if other.indication > self.indication || weaker {
            other
        } else {
            self
        }
    }
}

// OpenSSL's path verification results (x509_vfy.h), as `X509VerifyResult::as_raw` gives them.
const X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT: i32 = 2;
const X509_V_ERR_CERT_SIGNATURE_FAILURE: i32 = 7;
const X509_V_ERR_CERT_NOT_YET_VALID: i32 = 9;
const X509_V_ERR_CERT_HAS_EXPIRED: i32 = 10;
const X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: i32 = 18;
const X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: i32 = 19;
const X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: i32 = 20;
const X509_V_ERR_CERT_UNTRUSTED: i32 = 27;

impl Rejection {
    /// The verdict of a path or algorithm failure. `poe`: the path was checked at a time proven
    /// by a verified timestamp (a revocation before it is then a proven one).
    pub(crate) fn verdict(&self, poe: bool) -> Verdict {
        use SubIndication as S;
        match self {
            Self::UnsupportedDigest
            | Self::Sha1Refused
            | Self::RsaKeyTooShort { .. }
            | Self::UnnamedCurve
            | Self::Curve(_)
            | Self::KeyType(_)
            | Self::SignatureAlgorithm(_) => {
                Verdict::indeterminate(S::CryptoConstraintsFailureNoPoe)
            }
            Self::DigestMismatch
            | Self::PssWithoutParameters
            | Self::PssParameters(_)
            | Self::PssHash
            | Self::PssTrailer => Verdict::failed(S::FormatFailure),
            Self::KeyMismatch | Self::BadSignature => Verdict::failed(S::SigCryptoFailure),
            Self::NoTrustAnchor => Verdict::indeterminate(S::NoCertificateChainFound),
            Self::Path(v) => Verdict::indeterminate(match v.as_raw() {
                X509_V_ERR_CERT_HAS_EXPIRED => S::OutOfBoundsNoPoe,
                X509_V_ERR_CERT_NOT_YET_VALID => S::NotYetValid,
                // An anchor of the same name that did not sign it is no chain either.
                X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
                | X509_V_ERR_CERT_SIGNATURE_FAILURE
                | X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
                | X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
                | X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
                | X509_V_ERR_CERT_UNTRUSTED => S::NoCertificateChainFound,
                _ => S::ChainConstraintsFailure,
            }),
            Self::BadCrlSignature | Self::BadOcspResponse => Verdict::indeterminate(S::TryLater),
            Self::Revoked { .. } if poe => Verdict::failed(S::Revoked),
            Self::Revoked { .. } => Verdict::indeterminate(S::RevokedNoPoe),
            Self::NoRevocationData => Verdict::indeterminate(S::TryLater),
            Self::Crypto(_) => Verdict::indeterminate(S::SigConstraintsFailure),
        }
    }
}

impl CmsFailure {
    /// The verdict of a failure of the signer's CMS structure or values.
    pub(crate) fn verdict(&self) -> Verdict {
        use SubIndication as S;
        match self {
            Self::ContentModified | Self::ContentTypeMismatch => Verdict::failed(S::HashFailure),
            Self::SignerNotEmbedded | Self::SigningCertificateMismatch => {
                Verdict::indeterminate(S::NoSigningCertificateFound)
            }
            Self::Policy(r) => r.verdict(false),
            Self::Certificate(_) => Verdict::indeterminate(S::NoSigningCertificateFound),
            // Timestamp tokens: a token that cannot be checked proves nothing.
            Self::TimestampAuthority(_)
            | Self::MalformedToken(_)
            | Self::TokenNotSignedData
            | Self::TokenWithoutTstInfo
            | Self::EmptyToken
            | Self::TokenContent(_)
            | Self::TokenSignature(_)
            | Self::TstInfo(_)
            | Self::TimeOutOfRange => Verdict::indeterminate(S::NoPoe),
            Self::ImprintMismatch => Verdict::failed(S::HashFailure),
            Self::NoSigner
            | Self::SeveralSigners
            | Self::Asn1(_)
            | Self::NoSignedAttributes
            | Self::RepeatedAttribute(_)
            | Self::NoContentType
            | Self::NoMessageDigest
            | Self::SigningCertificateAttribute(_)
            | Self::EmptySigningCertificate
            | Self::EssHash
            | Self::Crypto(_) => Verdict::failed(S::FormatFailure),
        }
    }
}

impl PadesFailure {
    /// The verdict of a PAdES failure; `poe` as for [`Rejection::verdict`].
    pub(crate) fn verdict(&self, poe: bool) -> Verdict {
        use SubIndication as S;
        match self {
            Self::NoByteRange
            | Self::NoContents
            | Self::MalformedByteRange
            | Self::NegativeByteRange
            | Self::ByteRangeFrame
            | Self::Cms(_)
            | Self::NotDetached
            | Self::ModifiedAfter(_)
            | Self::Revisions(_) => Verdict::failed(S::FormatFailure),
            Self::Signer(c) => c.verdict(),
            Self::TimestampAfterValidation => Verdict::indeterminate(S::TimestampOrderFailure),
            // A signature timestamp that does not verify proves nothing about the signature.
            Self::Timestamp(_) => Verdict::indeterminate(S::NoPoe),
            Self::Chain(r) => r.verdict(poe),
        }
    }
}

impl XmlFailure {
    /// The verdict of an XML signature failure.
    pub(crate) fn verdict(&self) -> Verdict {
        use SubIndication as S;
        match self {
            Self::DigestMismatch(_) => Verdict::failed(S::HashFailure),
            Self::BadSignatureValue | Self::KeyMismatch => Verdict::failed(S::SigCryptoFailure),
            Self::Policy(r) | Self::ReferenceDigest(_, r) => r.verdict(false),
            Self::Chain(r) => r.verdict(false),
            Self::Timestamp(_) | Self::TimestampAfterValidation => Verdict::indeterminate(S::NoPoe),
            Self::NoSigningCertificate
            | Self::SigningCertificateMismatch
            | Self::Certificate(_) => Verdict::indeterminate(S::NoSigningCertificateFound),
            Self::NoDetachedReference
            | Self::NoUniqueId(_)
            | Self::Dereference(..)
            | Self::DereferenceDocument(_) => Verdict::indeterminate(S::SignedDataNotFound),
            Self::Missing(_)
            | Self::Transform(_)
            | Self::Canonicalization(_)
            | Self::Sign(_)
            | Self::Crypto(_)
            | Self::CertDigestAlgorithm
            | Self::DetachedReference(_)
            | Self::ExternalReference(_)
            | Self::CanonicalizationMethod
            | Self::SignatureMethod
            | Self::NotParent(_)
            | Self::PropertiesNotCovered
            | Self::NoSignedProperties
            | Self::NoSignature
            | Self::BordereauNotCovered(_) => Verdict::failed(S::FormatFailure),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_verdict_wins_and_the_first_of_equals_stays() {
        let a = Verdict::indeterminate(SubIndication::TryLater);
        let b = Verdict::indeterminate(SubIndication::NoPoe);
        let c = Verdict::failed(SubIndication::HashFailure);
        assert_eq!(Verdict::PASSED.worst(a), a);
        assert_eq!(a.worst(b), a);
        assert_eq!(a.worst(c), c);
        assert_eq!(c.worst(a), c);
        assert_eq!(
            serde_json::to_string(&Indication::TotalPassed).unwrap(),
            "\"TOTAL_PASSED\""
        );
        assert_eq!(
            serde_json::to_string(&SubIndication::CryptoConstraintsFailureNoPoe).unwrap(),
            "\"CRYPTO_CONSTRAINTS_FAILURE_NO_POE\""
        );
    }

    #[test]
    fn a_revocation_is_proven_only_with_a_proof_of_existence() {
        let r = Rejection::Revoked {
            subject: "x".into(),
            date: "d".into(),
        };
        assert_eq!(r.verdict(true), Verdict::failed(SubIndication::Revoked));
        assert_eq!(
            r.verdict(false),
            Verdict::indeterminate(SubIndication::RevokedNoPoe)
        );
    }
}
