//! Detached XAdES baseline B (1.3.2 namespace) over a whole file, for BUREAUTIQUE_XML documents.

use crate::cms::IssuerSerial;
use crate::keys::Algorithm;
use crate::xmlcore::{
    DS_NS, ECDSA_SHA256, EXC_C14N, RSA_SHA256, SHA256, SIGNED_PROPERTIES_TYPE, XADES132_NS, b64,
    c14n_fragment, escape, sha256_b64, signature_value_to_xml, uri_escape,
};
use crate::{Credential, SignError};
use chrono::{DateTime, SecondsFormat, Utc};
use der::Encode;
use openssl::x509::X509;
use x509_cert::ext::pkix::name::GeneralName;

/// Options of a detached XAdES signature.
#[derive(Debug, Clone, Default)]
pub struct XmlOptions {
    /// Defaults to now.
    pub signing_time: Option<DateTime<Utc>>,
    /// A claimed role (`SignerRoleV2/ClaimedRoles/ClaimedRole`), e.g. "Maire".
    pub signer_role: Option<String>,
    /// The `ds:Signature` Id; a random one by default.
    pub signature_id: Option<String>,
    /// `DataObjectFormat/MimeType` of the signed file; `application/octet-stream` by default.
    pub mime_type: Option<String>,
}

/// A signature waiting for its value: sign [`Prepared::data_to_sign`] then call
/// [`Prepared::complete`].
#[derive(Debug, Clone)]
pub struct Prepared {
    algorithm: Algorithm,
    id: String,
    signed_info: String,
    signed_info_c14n: Vec<u8>,
    /// After the signature value: `KeyInfo`, then the `Object` with the qualifying properties
    /// up to the end of the signed ones (unsigned properties go next).
    tail: String,
}

/// What closes the `Object` of the qualifying properties.
const TAIL_END: &str = "</xad:QualifyingProperties></ds:Object>";

impl Prepared {
    /// The canonicalised `SignedInfo` (exclusive c14n): what the key signs (SHA-256 then RSA or
    /// ECDSA).
    pub fn data_to_sign(&self) -> &[u8] {
        &self.signed_info_c14n
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Assembles the signature document. `signature_value` is PKCS#1 v1.5 for RSA, DER or raw
    /// `r||s` for ECDSA.
    pub fn complete(&self, signature_value: &[u8]) -> Result<Vec<u8>, SignError> {
        self.assemble(signature_value, "")
    }

    /// What a signature timestamp (XAdES baseline T) stamps: the `ds:SignatureValue` element
    /// with `signature_value`, canonicalised (exclusive c14n, the method the timestamp names).
    pub fn timestamp_input(&self, signature_value: &[u8]) -> Result<Vec<u8>, SignError> {
        c14n_fragment(&self.signature_value_element(signature_value)?, XADES132_NS)
    }

    /// Like [`Prepared::complete`], with a `SignatureTimeStamp` holding `token` (a DER
    /// `TimeStampToken` over [`Prepared::timestamp_input`]) among the unsigned properties.
    pub fn complete_timestamped(
        &self,
        signature_value: &[u8],
        token: &[u8],
    ) -> Result<Vec<u8>, SignError> {
        let unsigned = format!(
            "<xad:UnsignedProperties><xad:UnsignedSignatureProperties>\
             <xad:SignatureTimeStamp Id=\"{id}-ts\"><ds:CanonicalizationMethod \
             Algorithm=\"{EXC_C14N}\"/><xad:EncapsulatedTimeStamp>{t}\
             </xad:EncapsulatedTimeStamp></xad:SignatureTimeStamp>\
             </xad:UnsignedSignatureProperties></xad:UnsignedProperties>",
            id = self.id,
            t = b64(token),
        );
        self.assemble(signature_value, &unsigned)
    }

    fn signature_value_element(&self, signature_value: &[u8]) -> Result<String, SignError> {
        let value = b64(&signature_value_to_xml(self.algorithm, signature_value)?);
        Ok(format!(
            "<ds:SignatureValue Id=\"{id}-sv\">{value}</ds:SignatureValue>",
            id = self.id
        ))
    }

    fn assemble(&self, signature_value: &[u8], unsigned: &str) -> Result<Vec<u8>, SignError> {
        Ok(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ds:Signature xmlns:ds=\"{DS_NS}\" \
             Id=\"{id}\">{si}{sv}{tail}{unsigned}{TAIL_END}</ds:Signature>\n",
            id = self.id,
            si = self.signed_info,
            sv = self.signature_value_element(signature_value)?,
            tail = self.tail,
        )
        .into_bytes())
    }
}

fn random_id() -> Result<String, SignError> {
    let mut b = [0u8; 12];
    openssl::rand::rand_bytes(&mut b)?;
    Ok(format!("id-{}", hex::encode(b)))
}

pub(crate) fn signature_method(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::RsaSha256 => RSA_SHA256,
        Algorithm::EcdsaP256Sha256 => ECDSA_SHA256,
    }
}

/// `X509Data` with every certificate of the chain.
pub(crate) fn x509_data(chain: &[X509]) -> Result<String, SignError> {
    let mut s = String::from("<ds:X509Data>");
    for c in chain {
        s.push_str(&format!(
            "<ds:X509Certificate>{}</ds:X509Certificate>",
            b64(&c.to_der()?)
        ));
    }
    s.push_str("</ds:X509Data>");
    Ok(s)
}

/// DER `IssuerSerial` (RFC 5035) of a certificate, for `IssuerSerialV2`.
fn issuer_serial_v2(cert: &X509) -> Result<String, SignError> {
    let parsed = crate::cms::certificate(&cert.to_der()?)?;
    let is = IssuerSerial {
        issuer: vec![GeneralName::DirectoryName(
            parsed.tbs_certificate.issuer.clone(),
        )],
        serial_number: parsed.tbs_certificate.serial_number.clone(),
    };
    Ok(b64(&is.to_der()?))
}

/// Prepares a detached signature of `data`, referenced as `file_name`, by the holder of `chain[0]`.
pub fn prepare(
    file_name: &str,
    data: &[u8],
    chain: &[X509],
    algorithm: Algorithm,
    options: &XmlOptions,
) -> Result<Prepared, SignError> {
    let cert = chain
        .first()
        .ok_or_else(|| SignError::Invalid("empty certificate chain".into()))?;
    if file_name.is_empty() {
        return Err(SignError::Invalid("empty file name".into()));
    }
    let id = match &options.signature_id {
        Some(i)
            if !i.is_empty()
                && i.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) =>
        {
            i.clone()
        }
        Some(i) => return Err(SignError::Invalid(format!("bad signature id {i:?}"))),
        None => random_id()?,
    };
    let time = options
        .signing_time
        .unwrap_or_else(Utc::now)
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let role = options
        .signer_role
        .as_deref()
        .map(|r| {
            format!(
                "<xad:SignerRoleV2><xad:ClaimedRoles><xad:ClaimedRole>{}</xad:ClaimedRole>\
                 </xad:ClaimedRoles></xad:SignerRoleV2>",
                escape(r)
            )
        })
        .unwrap_or_default();
    let signed_props = format!(
        "<xad:SignedProperties Id=\"{id}-sp\"><xad:SignedSignatureProperties>\
         <xad:SigningTime>{time}</xad:SigningTime><xad:SigningCertificateV2><xad:Cert>\
         <xad:CertDigest><ds:DigestMethod Algorithm=\"{SHA256}\"/><ds:DigestValue>{cd}\
         </ds:DigestValue></xad:CertDigest><xad:IssuerSerialV2>{is}</xad:IssuerSerialV2>\
         </xad:Cert></xad:SigningCertificateV2>{role}</xad:SignedSignatureProperties>\
         <xad:SignedDataObjectProperties><xad:DataObjectFormat ObjectReference=\"#{id}-ref0\">\
         <xad:MimeType>{mime}</xad:MimeType></xad:DataObjectFormat>\
         </xad:SignedDataObjectProperties></xad:SignedProperties>",
        cd = sha256_b64(&cert.to_der()?),
        is = issuer_serial_v2(cert)?,
        mime = escape(
            options
                .mime_type
                .as_deref()
                .unwrap_or("application/octet-stream")
        ),
    );
    let sp_digest = sha256_b64(&c14n_fragment(&signed_props, XADES132_NS)?);
    let signed_info = format!(
        "<ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"/>\
         <ds:SignatureMethod Algorithm=\"{sm}\"/>\
         <ds:Reference Id=\"{id}-ref0\" URI=\"{uri}\"><ds:DigestMethod Algorithm=\"{SHA256}\"/>\
         <ds:DigestValue>{dd}</ds:DigestValue></ds:Reference>\
         <ds:Reference Type=\"{SIGNED_PROPERTIES_TYPE}\" URI=\"#{id}-sp\"><ds:Transforms>\
         <ds:Transform Algorithm=\"{EXC_C14N}\"/></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"{SHA256}\"/><ds:DigestValue>{sp_digest}</ds:DigestValue>\
         </ds:Reference></ds:SignedInfo>",
        sm = signature_method(algorithm),
        uri = escape(&uri_escape(file_name)),
        dd = sha256_b64(data),
    );
    let signed_info_c14n = c14n_fragment(&signed_info, XADES132_NS)?;
    let tail = format!(
        "<ds:KeyInfo>{x}</ds:KeyInfo><ds:Object><xad:QualifyingProperties \
         xmlns:xad=\"{XADES132_NS}\" Target=\"#{id}\">{signed_props}",
        x = x509_data(chain)?,
    );
    Ok(Prepared {
        algorithm,
        id,
        signed_info,
        signed_info_c14n,
        tail,
    })
}

/// Signs `data` (the file `file_name`) with a key held here: prepare, sign, complete.
pub fn sign_detached(
    file_name: &str,
    data: &[u8],
    credential: &Credential,
    options: &XmlOptions,
) -> Result<Vec<u8>, SignError> {
    let p = prepare(
        file_name,
        data,
        &credential.chain,
        credential.algorithm(),
        options,
    )?;
    let value = credential.sign(p.data_to_sign())?;
    p.complete(&value)
}
