//! CMS (RFC 5652) detached signed data with the CAdES attributes PAdES baseline B requires
//! (content-type, message-digest, ESS signing-certificate-v2; no signing-time), built from the
//! typed ASN.1 of the `cms`, `x509-cert` and `der` crates.

use crate::SignError;
use crate::keys::Algorithm;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
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

/// Builds the signed attributes over a precomputed SHA-256 `message_digest`.
pub fn signed_attributes(
    message_digest: &[u8],
    signer: &Certificate,
) -> Result<SignedAttrs, SignError> {
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
    let attrs = vec![
        attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_DATA)?)?,
        attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(message_digest.to_vec())?)?,
        )?,
        attribute(ID_SIGNING_CERTIFICATE_V2, Any::encode_from(&ess)?)?,
    ];
    let set: Attributes = SetOfVec::try_from(attrs)?;
    let der = set.to_der()?;
    Ok(SignedAttrs { set, der })
}

/// Assembles the CMS ContentInfo from the signed attributes, the signature value over their DER,
/// and the chain (`chain[0]` the signer). `unsigned` carries e.g. a timestamp token.
pub fn assemble(
    attrs: SignedAttrs,
    signature: &[u8],
    algorithm: Algorithm,
    chain: &[Certificate],
    unsigned: Option<Attributes>,
) -> Result<Vec<u8>, SignError> {
    let signer = chain
        .first()
        .ok_or_else(|| SignError::Invalid("empty chain".into()))?;
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
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: signer.tbs_certificate.issuer.clone(),
            serial_number: signer.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256_alg(),
        signed_attrs: Some(attrs.set),
        signature_algorithm,
        signature: OctetString::new(signature.to_vec())?,
        unsigned_attrs: unsigned,
    };
    let certs: Vec<CertificateChoices> = chain
        .iter()
        .cloned()
        .map(CertificateChoices::Certificate)
        .collect();
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![sha256_alg()])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet::try_from(certs)?),
        crls: None,
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
