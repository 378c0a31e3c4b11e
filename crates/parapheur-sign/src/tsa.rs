//! RFC 3161 timestamps for PAdES B-T: the request over the signature value, and the token
//! checked (status, imprint, nonce) and turned into the unsigned attribute of the CMS signer.
//! The HTTP exchange with the TSA is the caller's: this crate does no I/O.

use crate::SignError;
use cms::signed_data::SignedData;
use const_oid::ObjectIdentifier;
use der::asn1::{Any, Int, OctetString, SetOfVec};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use x509_cert::attr::{Attribute, Attributes};
use x509_cert::spki::AlgorithmIdentifier;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

/// `id-aa-signatureTimeStampToken` (RFC 3161 appendix A).
pub const ID_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
const ID_CT_TSTINFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// A request to send to the TSA (`Content-Type: application/timestamp-query`).
#[derive(Debug, Clone)]
pub struct TimestampRequest {
    pub der: Vec<u8>,
    nonce: Vec<u8>,
    imprint: Vec<u8>,
}

/// Builds the request for a signature value (the imprint is its SHA-256).
pub fn request(signature_value: &[u8]) -> Result<TimestampRequest, SignError> {
    request_for_digest(&Sha256::digest(signature_value))
}

/// Builds the request for data whose SHA-256 is `digest` (a document timestamp stamps the
/// digest of the file's byte range, computed as the file is laid out).
pub fn request_for_digest(digest: &[u8]) -> Result<TimestampRequest, SignError> {
    let imprint = digest.to_vec();
    let mut nonce = [0u8; 8];
    openssl::rand::rand_bytes(&mut nonce)?;
    nonce[0] &= 0x7f; // a positive INTEGER
    nonce[0] |= 0x01;
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifier {
                oid: crate::cms::ID_SHA256,
                parameters: None,
            },
            hashed_message: OctetString::new(imprint.clone())?,
        },
        req_policy: None,
        nonce: Some(Int::new(&nonce)?),
        cert_req: true,
        extensions: None,
    };
    Ok(TimestampRequest {
        der: req.to_der()?,
        nonce: nonce.to_vec(),
        imprint,
    })
}

fn invalid(m: impl Into<String>) -> SignError {
    SignError::Invalid(format!("timestamp: {}", m.into()))
}

/// Checks the TSA's answer and returns the unsigned attributes carrying its token.
pub fn token_attributes(req: &TimestampRequest, response: &[u8]) -> Result<Attributes, SignError> {
    let token = checked_token(req, response)?;
    let value = Any::from_der(&token)?;
    Ok(SetOfVec::try_from(vec![Attribute {
        oid: ID_SIGNATURE_TIME_STAMP_TOKEN,
        values: SetOfVec::try_from(vec![value])?,
    }])?)
}

/// Checks the TSA's answer to `req` (status, a TSTInfo stamping the request's imprint with its
/// nonce) and returns the token (a DER `ContentInfo`), as XAdES `EncapsulatedTimeStamp` holds it.
pub fn checked_token(req: &TimestampRequest, response: &[u8]) -> Result<Vec<u8>, SignError> {
    let resp = TimeStampResp::from_der(response)
        .map_err(|e| invalid(format!("malformed response ({e})")))?;
    match resp.status.status {
        cmpv2::status::PkiStatus::Accepted | cmpv2::status::PkiStatus::GrantedWithMods => {}
        other => return Err(invalid(format!("refused by the TSA ({other:?})"))),
    }
    let token = resp
        .time_stamp_token
        .ok_or_else(|| invalid("no token in the response"))?;
    let sd: SignedData = token
        .content
        .decode_as()
        .map_err(|e| invalid(format!("token ({e})")))?;
    if sd.encap_content_info.econtent_type != ID_CT_TSTINFO {
        return Err(invalid("the token does not hold a TSTInfo"));
    }
    let content = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| invalid("empty token"))?;
    let octets: OctetString = content
        .decode_as()
        .map_err(|e| invalid(format!("token content ({e})")))?;
    let info =
        TstInfo::from_der(octets.as_bytes()).map_err(|e| invalid(format!("TSTInfo ({e})")))?;
    if info.message_imprint.hashed_message.as_bytes() != req.imprint.as_slice() {
        return Err(invalid("the token does not stamp this signature"));
    }
    if info.nonce.as_ref().map(|n| n.as_bytes()) != Some(req.nonce.as_slice()) {
        return Err(invalid("the nonce does not match the request"));
    }
    Ok(token.to_der()?)
}
