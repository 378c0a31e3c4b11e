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
    /// The set, when it was built here (from a template, only `der` is made; the set is
    /// decoded from it if a general assembly needs it).
    set: Option<Attributes>,
    pub der: Vec<u8>,
    /// The content type they were built for.
    content_type: ObjectIdentifier,
}

/// A DER encoding made once, whose only bytes that change from one signature to the next are
/// fixed-length values (a message digest, an RSA signature value): `holes` are where those go,
/// in order. Found by encoding the same structure with two fillings (all 0x00, all 0xFF) and
/// keeping where the encodings differ; used only when both encodings have the same length and
/// the differences are exactly runs of the expected lengths, and when a third filling
/// encodes to the template filled with it.
#[derive(Debug, Clone)]
struct Template {
    der: Vec<u8>,
    holes: Vec<(usize, usize)>,
}

impl Template {
    fn find(
        lens: &[usize],
        encode: impl Fn(&[Vec<u8>]) -> Result<Vec<u8>, SignError>,
    ) -> Result<Option<Self>, SignError> {
        let filled = |b: u8| lens.iter().map(|l| vec![b; *l]).collect::<Vec<_>>();
        let (zeros, ones) = (encode(&filled(0x00))?, encode(&filled(0xFF))?);
        if zeros.len() != ones.len() {
            return Ok(None);
        }
        let mut holes = Vec::new();
        let mut i = 0;
        while i < zeros.len() {
            if zeros[i] == ones[i] {
                i += 1;
                continue;
            }
            let start = i;
            while i < zeros.len() && zeros[i] != ones[i] {
                i += 1;
            }
            holes.push((start, i - start));
        }
        if holes.iter().map(|(_, l)| *l).ne(lens.iter().copied()) {
            return Ok(None);
        }
        let template = Self { der: zeros, holes };
        let third = filled(0x5A);
        let values: Vec<&[u8]> = third.iter().map(Vec::as_slice).collect();
        Ok((template.fill(&values) == encode(&third)?).then_some(template))
    }

    /// The encoding with `values` (one per hole, of its length) in the holes.
    fn fill(&self, values: &[&[u8]]) -> Vec<u8> {
        let mut der = self.der.clone();
        for ((at, len), v) in self.holes.iter().zip(values) {
            der[*at..*at + *len].copy_from_slice(v);
        }
        der
    }
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
    /// The signed attributes of detached content (id-data), with the message digest's hole.
    /// Their SET OF order never depends on the digest: DER orders the three attributes by
    /// their encodings, which differ at their length octets already (content type 24 bytes,
    /// message digest 47, the ESS attribute more).
    data_attrs: Option<Template>,
    /// The whole detached CMS with its certificates, RSA, no unsigned attribute, with holes for
    /// the message digest and the signature value: made at the first such signature, for that
    /// signature length (`None` inside: no template could be made).
    detached_rsa: std::sync::OnceLock<(usize, Option<Template>)>,
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
        let mut parts = Self {
            ess: attribute(ID_SIGNING_CERTIFICATE_V2, Any::encode_from(&ess)?)?,
            sid: IssuerAndSerialNumber {
                issuer: signer.tbs_certificate.issuer.clone(),
                serial_number: signer.tbs_certificate.serial_number.clone(),
            },
            certs: SetOfVec::try_from(certs)?,
            data_attrs: None,
            detached_rsa: std::sync::OnceLock::new(),
        };
        parts.data_attrs =
            Template::find(
                &[32],
                |v| Ok(encode_attributes(ID_DATA, &v[0], &parts)?.der),
            )?;
        Ok(parts)
    }

    /// The template of a detached RSA signature of `len` bytes, when one could be made.
    fn detached_rsa(&self, len: usize) -> Option<&Template> {
        let (made_for, template) = self.detached_rsa.get_or_init(|| {
            let made = Template::find(&[32, len], |v| {
                let attrs = encode_attributes(ID_DATA, &v[0], self)?;
                assemble_general(attrs, &v[1], Algorithm::RsaSha256, self, None, None, true)
            });
            (len, made.ok().flatten())
        });
        template.as_ref().filter(|_| *made_for == len)
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
    if content_type == ID_DATA
        && message_digest.len() == 32
        && let Some(t) = &signer.data_attrs
    {
        // Only the digest differs from one signature to the next.
        return Ok(SignedAttrs {
            set: None,
            der: t.fill(&[message_digest]),
            content_type,
        });
    }
    encode_attributes(content_type, message_digest, signer)
}

/// [`signed_attributes_of`], encoded by `der` each time.
fn encode_attributes(
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
    Ok(SignedAttrs {
        set: Some(set),
        der,
        content_type,
    })
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
    // A detached RSA signature with its certificates and nothing unsigned (a PAdES B-B seal):
    // the signer's template, when the attributes are this signer's (its template's bytes
    // around the digest), with the digest of the very bytes that were signed.
    if algorithm == Algorithm::RsaSha256
        && unsigned.is_none()
        && content.is_none()
        && with_certificates
        && attrs.content_type == ID_DATA
        && let Some(a) = &signer.data_attrs
        && let [(at, len)] = a.holes[..]
        && attrs.der.len() == a.der.len()
        && attrs.der[..at] == a.der[..at]
        && attrs.der[at + len..] == a.der[at + len..]
        && let Some(t) = signer.detached_rsa(signature.len())
    {
        return Ok(t.fill(&[&attrs.der[at..at + len], signature]));
    }
    assemble_general(
        attrs,
        signature,
        algorithm,
        signer,
        unsigned,
        content,
        with_certificates,
    )
}

/// [`assemble_encapsulated`], encoded by `der` each time.
fn assemble_general(
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
        signed_attrs: Some(match attrs.set {
            Some(set) => set,
            None => Attributes::from_der(&attrs.der)?,
        }),
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
            signed_attrs: Some(Attributes::from_der(&attrs.der).unwrap_or_else(|e| panic!("{e}"))),
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

    fn seal_parts(ca: &crate::ca::InternalCa, name: &str) -> SignerParts {
        let subject = crate::ca::Subject {
            common_name: name.into(),
            email: None,
            organization: Some("Commune".into()),
            organization_id: None,
        };
        let cred = ca
            .issue(&subject, crate::ca::KeyKind::Seal)
            .unwrap_or_else(|e| panic!("{e}"));
        let chain: Vec<Certificate> = cred
            .chain
            .iter()
            .map(|c| certificate(&c.to_der().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        SignerParts::new(&chain).unwrap_or_else(|e| panic!("{e}"))
    }

    /// What the signer's templates give is, byte for byte, what `der` encodes from the typed
    /// structures: for any digest and signature value, for another signature length (encoded
    /// in full), and for attributes made for another signer (encoded in full, with them).
    #[test]
    fn templates_give_the_der_of_the_general_encoding() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let ca = crate::ca::InternalCa::open_or_create(dir.path(), "Test CA")
            .unwrap_or_else(|e| panic!("{e}"));
        let parts = seal_parts(&ca, "Commune A");
        let other = seal_parts(&ca, "Commune B, another name");
        assert!(parts.data_attrs.is_some(), "an attributes template");
        let general = |attrs: SignedAttrs, sig: &[u8], parts: &SignerParts| {
            assemble_general(attrs, sig, Algorithm::RsaSha256, parts, None, None, true)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        for i in 0u8..40 {
            let digest = Sha256::digest([i]).to_vec();
            let fill = match i {
                0 => 0x00,
                1 => 0xFF,
                _ => i.wrapping_mul(37),
            };
            let sig: Vec<u8> = (0..256u16).map(|k| (k as u8) ^ fill).collect();
            let fast = signed_attributes(&digest, &parts).unwrap_or_else(|e| panic!("{e}"));
            assert!(fast.set.is_none(), "made from the template");
            let full =
                encode_attributes(ID_DATA, &digest, &parts).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(fast.der, full.der);
            let ours = assemble(fast, &sig, Algorithm::RsaSha256, &parts, None)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(ours, general(full, &sig, &parts));
            // A signature of another length: encoded in full.
            let short = &sig[..200];
            let fast = signed_attributes(&digest, &parts).unwrap_or_else(|e| panic!("{e}"));
            let full =
                encode_attributes(ID_DATA, &digest, &parts).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                assemble(fast, short, Algorithm::RsaSha256, &parts, None)
                    .unwrap_or_else(|e| panic!("{e}")),
                general(full, short, &parts)
            );
            // Attributes of another signer: never this signer's template.
            let theirs = signed_attributes(&digest, &other).unwrap_or_else(|e| panic!("{e}"));
            let expected = general(theirs.clone(), &sig, &parts);
            assert_eq!(
                assemble(theirs, &sig, Algorithm::RsaSha256, &parts, None)
                    .unwrap_or_else(|e| panic!("{e}")),
                expected
            );
        }
        assert_eq!(
            parts.detached_rsa.get().map(|(len, t)| (*len, t.is_some())),
            Some((256, true))
        );
    }
}
