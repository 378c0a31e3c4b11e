//! CMS (RFC 5652) detached signed data with the CAdES attributes PAdES baseline B requires
//! (content-type, message-digest, ESS signing-certificate-v2; no signing-time), built from the
//! typed ASN.1 of the `cms`, `x509-cert` and `der` crates.

use crate::SignError;
use crate::keys::Algorithm;
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::attr::{Attribute, Attributes};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;

pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
pub const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
pub const ID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
pub const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
pub const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
pub const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
pub const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
pub const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// ESS `IssuerSerial` (RFC 5035).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    pub issuer: Vec<GeneralName>,
    pub serial_number: SerialNumber,
}

/// ESS `ESSCertIDv2` with the default hash algorithm (SHA-256, hence omitted).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    pub cert_hash: OctetString,
    pub issuer_serial: IssuerSerial,
}

/// ESS `SigningCertificateV2`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
}

fn sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ID_SHA256,
        parameters: None,
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, SignError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// Parses a certificate given as DER.
pub fn certificate(der: &[u8]) -> Result<Certificate, SignError> {
    Ok(Certificate::from_der(der)?)
}

/// The signed attributes and their DER encoding (a SET OF): the "data to sign".
#[derive(Debug, Clone)]
pub struct SignedAttrs {
    pub set: Attributes,
    pub der: Vec<u8>,
}

/// What every CMS signature of one signer shares, computed once per certificate chain: the ESS
/// signing-certificate attribute, the signer's identifier and the certificate set (sorted, as a
/// DER SET OF requires).
#[derive(Debug, Clone)]
pub struct SignerParts {
    ess: Attribute,
    sid: IssuerAndSerialNumber,
    /// Each certificate's DER as an `Any`, in DER SET OF order.
    certs: SetOfVec<Any>,
}

/// RFC 5652 `SignedData` (without CRLs) whose certificates are kept as already encoded
/// elements, so that a signer's certificate set is encoded once rather than on every signature.
/// It encodes to the same DER as `cms::signed_data::SignedData` (tested).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SignedDataWithEncodedCerts {
    version: CmsVersion,
    digest_algorithms: SetOfVec<AlgorithmIdentifierOwned>,
    encap_content_info: EncapsulatedContentInfo,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    certificates: Option<SetOfVec<Any>>,
    signer_infos: SignerInfos,
}

impl SignerParts {
    /// From the chain (`chain[0]` the signer, then its issuers).
    pub fn new(chain: &[Certificate]) -> Result<Self, SignError> {
        let signer = chain
            .first()
            .ok_or_else(|| SignError::Invalid("empty certificate chain".into()))?;
        let cert_der = signer.to_der()?;
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(Sha256::digest(&cert_der).to_vec())?,
                issuer_serial: IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(
                        signer.tbs_certificate.issuer.clone(),
                    )],
                    serial_number: signer.tbs_certificate.serial_number.clone(),
                },
            }],
        };
        let certs: Vec<Any> = chain
            .iter()
            .map(|c| Ok(Any::from_der(&c.to_der()?)?))
            .collect::<Result<_, SignError>>()?;
        Ok(Self {
            ess: attribute(ID_SIGNING_CERTIFICATE_V2, Any::encode_from(&ess)?)?,
            sid: IssuerAndSerialNumber {
                issuer: signer.tbs_certificate.issuer.clone(),
                serial_number: signer.tbs_certificate.serial_number.clone(),
            },
            certs: SetOfVec::try_from(certs)?,
        })
    }
}

impl SignerParts {
    /// The DER size of the signer's certificates (what a CMS signature carries besides itself).
    pub fn certificates_len(&self) -> usize {
        self.certs
            .iter()
            .map(|c| {
                c.encoded_len()
                    .map_or(0, |l| usize::try_from(l).unwrap_or(0))
            })
            .sum()
    }
}

/// Builds the signed attributes over a precomputed SHA-256 `message_digest`.
pub fn signed_attributes(
    message_digest: &[u8],
    signer: &SignerParts,
) -> Result<SignedAttrs, SignError> {
    signed_attributes_of(ID_DATA, message_digest, signer)
}

/// The signed attributes of content of type `content_type` whose SHA-256 is `message_digest`.
pub fn signed_attributes_of(
    content_type: ObjectIdentifier,
    message_digest: &[u8],
    signer: &SignerParts,
) -> Result<SignedAttrs, SignError> {
    let attrs = vec![
        attribute(ID_CONTENT_TYPE, Any::encode_from(&content_type)?)?,
        attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(message_digest.to_vec())?)?,
        )?,
        signer.ess.clone(),
    ];
    let set: Attributes = SetOfVec::try_from(attrs)?;
    let der = set.to_der()?;
    Ok(SignedAttrs { set, der })
}

/// Assembles the CMS ContentInfo from the signed attributes, the signature value over their DER,
/// and the signer's parts. `unsigned` carries e.g. a timestamp token.
pub fn assemble(
    attrs: SignedAttrs,
    signature: &[u8],
    algorithm: Algorithm,
    signer: &SignerParts,
    unsigned: Option<Attributes>,
) -> Result<Vec<u8>, SignError> {
    assemble_encapsulated(attrs, signature, algorithm, signer, unsigned, None, true)
}

/// Like [`assemble`], with the signed content inside (`content`: its type and bytes; `None` for
/// a detached signature) and the certificates included or not (`with_certificates`).
pub fn assemble_encapsulated(
    attrs: SignedAttrs,
    signature: &[u8],
    algorithm: Algorithm,
    signer: &SignerParts,
    unsigned: Option<Attributes>,
    content: Option<(ObjectIdentifier, &[u8])>,
    with_certificates: bool,
) -> Result<Vec<u8>, SignError> {
    let signature_algorithm = match algorithm {
        Algorithm::RsaSha256 => AlgorithmIdentifierOwned {
            oid: RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        },
        Algorithm::EcdsaP256Sha256 => AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA256,
            parameters: None,
        },
    };
    let si = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(signer.sid.clone()),
        digest_alg: sha256_alg(),
        signed_attrs: Some(attrs.set),
        signature_algorithm,
        signature: OctetString::new(signature.to_vec())?,
        unsigned_attrs: unsigned,
    };
    let encap_content_info = match content {
        None => EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        Some((econtent_type, bytes)) => EncapsulatedContentInfo {
            econtent_type,
            econtent: Some(Any::encode_from(&OctetString::new(bytes.to_vec())?)?),
        },
    };
    // RFC 5652 §5.1: version 3 when the content is not id-data.
    let version = if encap_content_info.econtent_type == ID_DATA {
        CmsVersion::V1
    } else {
        CmsVersion::V3
    };
    let sd = SignedDataWithEncodedCerts {
        version,
        digest_algorithms: SetOfVec::try_from(vec![sha256_alg()])?,
        encap_content_info,
        certificates: with_certificates.then(|| signer.certs.clone()),
        signer_infos: SignerInfos::try_from(vec![si])?,
    };
    let ci = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&sd)?,
    };
    Ok(ci.to_der()?)
}

/// Decodes a ContentInfo that may be followed by padding (a PDF `/Contents` is zero-filled).
pub fn decode_signed_data(bytes: &[u8]) -> Result<SignedData, SignError> {
    let mut reader = der::SliceReader::new(bytes)?;
    let ci: ContentInfo = der::Decode::decode(&mut reader)?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(SignError::Invalid("not a CMS signed-data".into()));
    }
    Ok(ci.content.decode_as::<SignedData>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cms::cert::CertificateChoices;
    use cms::signed_data::CertificateSet;

    /// Our SignedData with pre-encoded certificates gives the same DER as the `cms` crate's
    /// type built from the decoded certificates.
    #[test]
    fn encoded_certificates_give_the_cms_crates_der() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let ca = crate::ca::InternalCa::open_or_create(dir.path(), "Test CA")
            .unwrap_or_else(|e| panic!("{e}"));
        let subject = crate::ca::Subject {
            common_name: "Alice".into(),
            email: None,
            organization: None,
            organization_id: None,
        };
        let cred = ca
            .issue(&subject, crate::ca::KeyKind::Person)
            .unwrap_or_else(|e| panic!("{e}"));
        let chain: Vec<Certificate> = cred
            .chain
            .iter()
            .map(|c| certificate(&c.to_der().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        assert_eq!(chain.len(), 2);
        let parts = SignerParts::new(&chain).unwrap_or_else(|e| panic!("{e}"));
        let attrs = signed_attributes(&[9u8; 32], &parts).unwrap_or_else(|e| panic!("{e}"));
        let ours = assemble(
            attrs.clone(),
            &[1, 2, 3],
            Algorithm::RsaSha256,
            &parts,
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let si = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(parts.sid.clone()),
            digest_alg: sha256_alg(),
            signed_attrs: Some(attrs.set),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
            signature: OctetString::new(vec![1, 2, 3]).unwrap_or_else(|e| panic!("{e}")),
            unsigned_attrs: None,
        };
        let certs: Vec<CertificateChoices> = chain
            .into_iter()
            .map(CertificateChoices::Certificate)
            .collect();
        let sd = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![sha256_alg()])
                .unwrap_or_else(|e| panic!("{e}")),
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_DATA,
                econtent: None,
            },
            certificates: Some(CertificateSet::try_from(certs).unwrap_or_else(|e| panic!("{e}"))),
            crls: None,
            signer_infos: SignerInfos::try_from(vec![si]).unwrap_or_else(|e| panic!("{e}")),
        };
        let theirs = ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&sd).unwrap_or_else(|e| panic!("{e}")),
        }
        .to_der()
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ours, theirs);
        // And it decodes as the cms crate's type, with both certificates.
        let back = decode_signed_data(&ours).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.certificates.map(|c| c.0.len()), Some(2));
    }
}
