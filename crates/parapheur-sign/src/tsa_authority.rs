//! The built-in RFC 3161 time-stamping authority (`[signing] tsa_url = "internal"`): for the
//! demonstration and the tests, never a substitute for a qualified authority. It answers a
//! `TimeStampReq` with a `TimeStampResp` whose token is a CMS `SignedData` over a `TSTInfo`
//! (RFC 3161 §2.4.2), signed with a credential of the internal CA whose certificate carries the
//! critical `timeStamping` extended key usage and an ESS signing-certificate-v2 attribute
//! (RFC 5816). The ASN.1 types are RustCrypto's (`x509-tsp`, `cms`); the signature is the
//! credential's (OpenSSL). No I/O: the caller gives the time.

use crate::SignError;
use crate::cms::{self, ID_SHA256};
use crate::keys::Credential;
use cmpv2::status::{PkiStatus, PkiStatusInfo};
use const_oid::ObjectIdentifier;
use der::asn1::{GeneralizedTime, Int, Utf8StringRef};
use der::{Decode, Encode};
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::ext::pkix::name::GeneralName;
use x509_tsp::{Accuracy, TimeStampResp, TspVersion, TstInfo};

/// `id-ct-TSTInfo`.
const ID_CT_TSTINFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// The policy of the built-in authority's tokens. It is under IANA's enterprise number for
/// documentation (32473, RFC 5612) on purpose: the built-in authority asserts no registered
/// practice statement.
pub const INTERNAL_TSA_POLICY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.3161.1");

/// The common name of the built-in authority's certificate.
/// (A common name holds 64 characters at most.)
pub const INTERNAL_TSA_NAME: &str = "parapheur - horodatage interne (démo et tests)";

/// A time-stamping authority signing with `credential`.
#[derive(Clone)]
pub struct Authority {
    credential: Credential,
}

/// Why a request is not granted (the `statusString` of the rejection).
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    Malformed,
    Algorithm,
    Policy,
}

impl Refusal {
    fn text(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed request",
            Self::Algorithm => "unsupported hash algorithm (SHA-256, SHA-384, SHA-512)",
            Self::Policy => "unaccepted policy",
        }
    }
}

impl Authority {
    pub fn new(credential: Credential) -> Self {
        Self { credential }
    }

    pub fn certificate(&self) -> &openssl::x509::X509 {
        self.credential.certificate()
    }

    /// The DER `TimeStampResp` answering the DER `TimeStampReq` `request` at `unix_ms`:
    /// `granted` with a token, or `rejection` with the reason as status string. A failure to
    /// sign is an error (the caller answers it as unavailable).
    pub fn respond(&self, request: &[u8], unix_ms: i64) -> Result<Vec<u8>, SignError> {
        let req = match x509_tsp::TimeStampReq::from_der(request) {
            Ok(r) => r,
            Err(_) => return rejection(&Refusal::Malformed),
        };
        let expected_len = match req.message_imprint.hash_algorithm.oid {
            ID_SHA256 => Sha256::output_size(),
            ID_SHA384 => Sha384::output_size(),
            ID_SHA512 => Sha512::output_size(),
            _ => return rejection(&Refusal::Algorithm),
        };
        if req.message_imprint.hashed_message.as_bytes().len() != expected_len {
            return rejection(&Refusal::Malformed);
        }
        if req.req_policy.is_some_and(|p| p != INTERNAL_TSA_POLICY) {
            return rejection(&Refusal::Policy);
        }
        let token = self.token(&req, unix_ms)?;
        let resp = TimeStampResp {
            status: PkiStatusInfo {
                status: PkiStatus::Accepted,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(x509_cert::der::Decode::from_der(&token)?),
        };
        Ok(resp.to_der()?)
    }

    /// The token (a DER `ContentInfo`) for `req` at `unix_ms`.
    fn token(&self, req: &x509_tsp::TimeStampReq, unix_ms: i64) -> Result<Vec<u8>, SignError> {
        let cert = cms::certificate(&self.credential.certificate().to_der()?)?;
        let mut serial = [0u8; 16];
        openssl::rand::rand_bytes(&mut serial)?;
        serial[0] &= 0x7f; // a positive INTEGER
        serial[0] |= 0x01;
        let seconds = u64::try_from(unix_ms.div_euclid(1000)).unwrap_or(0);
        let info = TstInfo {
            version: TspVersion::V1,
            policy: INTERNAL_TSA_POLICY,
            message_imprint: req.message_imprint.clone(),
            serial_number: Int::new(&serial)?,
            gen_time: GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(seconds))?,
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: req.nonce.clone(),
            tsa: Some(GeneralName::DirectoryName(cert.tbs_certificate.subject)),
            extensions: None,
        };
        let content = info.to_der()?;
        let parts = self.credential.cms_parts();
        let attrs = cms::signed_attributes_of(ID_CT_TSTINFO, &Sha256::digest(&content), &parts)?;
        let signature = self.credential.sign(&attrs.der)?;
        cms::assemble_encapsulated(
            attrs,
            &signature,
            self.credential.algorithm(),
            &parts,
            None,
            Some((ID_CT_TSTINFO, &content)),
            req.cert_req,
        )
    }
}

fn rejection(why: &Refusal) -> Result<Vec<u8>, SignError> {
    let resp = TimeStampResp {
        status: PkiStatusInfo {
            status: PkiStatus::Rejection,
            status_string: Some(vec![Utf8StringRef::new(why.text())?]),
            fail_info: None,
        },
        time_stamp_token: None,
    };
    Ok(resp.to_der()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::InternalCa;

    fn authority() -> (tempfile::TempDir, Authority) {
        let dir = tempfile::tempdir().unwrap();
        let ca = InternalCa::open_or_create(&dir.path().join("ca"), "test CA").unwrap();
        let cred = ca.tsa_credential().unwrap();
        (dir, Authority::new(cred))
    }

    #[test]
    fn a_token_stamps_the_request_and_carries_its_nonce() {
        let (_dir, tsa) = authority();
        let req = crate::tsa::request(b"a signature value").unwrap();
        let answer = tsa.respond(&req.der, 1_800_000_000_123).unwrap();
        // The client side of B-T accepts it: imprint, nonce, status.
        crate::tsa::token_attributes(&req, &answer).unwrap();
    }

    #[test]
    fn unsupported_requests_are_rejected_not_stamped() {
        let (_dir, tsa) = authority();
        let status = |der: &[u8]| {
            let r = TimeStampResp::from_der(der).unwrap();
            (r.status.status, r.time_stamp_token.is_some())
        };
        assert_eq!(
            status(&tsa.respond(b"\x30\x03\x02\x01\x01", 0).unwrap()),
            (PkiStatus::Rejection, false)
        );
        let mut req =
            x509_tsp::TimeStampReq::from_der(&crate::tsa::request(b"x").unwrap().der).unwrap();
        req.message_imprint.hash_algorithm.oid = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
        assert_eq!(
            status(&tsa.respond(&req.to_der().unwrap(), 0).unwrap()),
            (PkiStatus::Rejection, false),
            "SHA-1"
        );
    }
}
