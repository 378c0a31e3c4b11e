//! PAdES verification: integrity of each signature's byte range, the CMS signature over its
//! signed attributes, the signing certificate reference, and the chain to trust anchors at the
//! claimed signing time. The result is a JSON-serializable report.

use crate::SignError;
use crate::cms::{
    ID_MESSAGE_DIGEST, ID_SIGNING_CERTIFICATE_V2, SigningCertificateV2, decode_signed_data,
};
use crate::pdfread::PdfFile;
use cms::cert::CertificateChoices;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::Encode;
use der::asn1::OctetString;
use lopdf::Object;
use openssl::hash::MessageDigest;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509, X509StoreContext};
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SignatureReport {
    pub field: String,
    pub signer: String,
    pub signing_time: Option<String>,
    /// The signed bytes are unchanged and the signature value is correct.
    pub integrity: bool,
    /// The signer's certificate chains to a trust anchor and was valid at the signing time.
    pub trusted: bool,
    /// The signature carries an RFC 3161 signature timestamp (PAdES B-T).
    pub timestamped: bool,
    /// The signature covers the whole file (false for all but the last signature of a file
    /// signed several times: later revisions follow it).
    pub covers_whole_file: bool,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Report {
    /// At least one signature, and every one intact and trusted.
    pub valid: bool,
    pub signatures: Vec<SignatureReport>,
}

fn as_dict(file: &PdfFile, o: &Object) -> Option<lopdf::Dictionary> {
    match file.resolve(o).ok()? {
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

/// Signature dictionaries of the AcroForm fields, with their field names (read lazily: the
/// catalog, the form and its fields only).
fn signature_fields(file: &PdfFile) -> Vec<(String, lopdf::Dictionary)> {
    let Some(root) = file
        .trailer
        .get(b"Root")
        .ok()
        .and_then(|r| as_dict(file, r))
    else {
        return Vec::new();
    };
    let Some(af) = root.get(b"AcroForm").ok().and_then(|a| as_dict(file, a)) else {
        return Vec::new();
    };
    let fields = match af.get(b"Fields").ok().map(|f| file.resolve(f)) {
        Some(Ok(Object::Array(a))) => a,
        _ => Vec::new(),
    };
    file.signature_fields(&fields)
        .into_iter()
        .filter_map(|d| {
            let name = d
                .get(b"T")
                .ok()
                .and_then(|t| t.as_str().ok())
                .map(|b| String::from_utf8_lossy(b).into_owned());
            let v = d.get(b"V").ok().and_then(|v| as_dict(file, v))?;
            Some((name.unwrap_or_default(), v))
        })
        .collect()
}

/// Parses a PDF date `D:YYYYMMDDHHmmSS...` into Unix seconds (UTC offsets honoured).
fn pdf_time(s: &str) -> Option<i64> {
    let t = s.trim_start_matches("D:");
    let digits: String = t.chars().take(14).collect();
    let dt = chrono::NaiveDateTime::parse_from_str(&digits, "%Y%m%d%H%M%S").ok()?;
    let rest = &t[digits.len().min(t.len())..];
    let offset = match rest.chars().next() {
        Some(sign @ ('+' | '-')) => {
            let nums: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
            let h: i64 = nums.get(0..2)?.parse().ok()?;
            let m: i64 = nums.get(2..4).and_then(|m| m.parse().ok()).unwrap_or(0);
            let secs = h * 3600 + m * 60;
            if sign == '+' { secs } else { -secs }
        }
        _ => 0,
    };
    Some(dt.and_utc().timestamp() - offset)
}

/// Verifies every signature of `pdf` against `anchors`.
pub fn verify_pdf(pdf: &[u8], anchors: &[X509]) -> Result<Report, SignError> {
    let file = PdfFile::open(pdf)?;
    let mut out = Vec::new();
    for (field, sig) in signature_fields(&file) {
        out.push(verify_one(pdf, field, &sig, anchors));
    }
    let valid = !out.is_empty() && out.iter().all(|s| s.integrity && s.trusted);
    Ok(Report {
        valid,
        signatures: out,
    })
}

fn verify_one(
    pdf: &[u8],
    field: String,
    sig: &lopdf::Dictionary,
    anchors: &[X509],
) -> SignatureReport {
    let mut r = SignatureReport {
        field,
        signer: String::new(),
        signing_time: sig
            .get(b"M")
            .ok()
            .and_then(|m| m.as_str().ok())
            .map(|b| String::from_utf8_lossy(b).into_owned()),
        integrity: false,
        trusted: false,
        timestamped: false,
        covers_whole_file: false,
        errors: Vec::new(),
    };
    if let Err(e) = check(pdf, sig, anchors, &mut r) {
        r.errors.push(e);
    }
    r
}

fn check(
    pdf: &[u8],
    sig: &lopdf::Dictionary,
    anchors: &[X509],
    r: &mut SignatureReport,
) -> Result<(), String> {
    let br: Vec<i64> = sig
        .get(b"ByteRange")
        .and_then(Object::as_array)
        .map_err(|_| "no /ByteRange".to_owned())?
        .iter()
        .filter_map(|o| o.as_i64().ok())
        .collect();
    let contents = sig
        .get(b"Contents")
        .and_then(Object::as_str)
        .map_err(|_| "no /Contents".to_owned())?;
    let [s1, l1, s2, l2] = br[..] else {
        return Err("malformed /ByteRange".into());
    };
    let (a, b, end) = (
        usize::try_from(l1),
        usize::try_from(s2),
        usize::try_from(s2 + l2),
    );
    let (Ok(a), Ok(b), Ok(end)) = (a, b, end) else {
        return Err("negative /ByteRange".into());
    };
    if s1 != 0
        || a >= b
        || end > pdf.len()
        || pdf.get(a) != Some(&b'<')
        || pdf.get(b - 1) != Some(&b'>')
    {
        return Err("the /ByteRange does not frame the /Contents hex string".into());
    }
    r.covers_whole_file = end == pdf.len();
    let mut h = Sha256::new();
    h.update(&pdf[..a]);
    h.update(&pdf[b..end]);
    let digest = h.finalize();

    let sd: SignedData = decode_signed_data(contents).map_err(|e| format!("CMS: {e}"))?;
    let si = sd
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or("CMS without signer")?;
    let certs: Vec<x509_cert::Certificate> = sd
        .certificates
        .as_ref()
        .map(|c| {
            c.0.iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(c) => Some(c.clone()),
                    CertificateChoices::Other(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let SignerIdentifier::IssuerAndSerialNumber(ias) = &si.sid else {
        return Err("signer identified by key id: unsupported".into());
    };
    let signer = certs
        .iter()
        .find(|c| {
            c.tbs_certificate.issuer == ias.issuer
                && c.tbs_certificate.serial_number == ias.serial_number
        })
        .ok_or("the signer's certificate is not embedded")?;
    let signer_der = signer.to_der().map_err(|e| e.to_string())?;
    let signer_x509 = X509::from_der(&signer_der).map_err(|e| e.to_string())?;
    r.signer = signer_x509
        .subject_name()
        .entries_by_nid(openssl::nid::Nid::COMMONNAME)
        .next()
        .and_then(|e| e.data().to_string().ok())
        .unwrap_or_default();

    let attrs = si.signed_attrs.as_ref().ok_or("no signed attributes")?;
    let md = attrs
        .iter()
        .find(|a| a.oid == ID_MESSAGE_DIGEST)
        .and_then(|a| a.values.iter().next())
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or("no message-digest attribute")?;
    let mut ok = true;
    if md.as_bytes() != digest.as_slice() {
        r.errors
            .push("the document was modified after signing (digest mismatch)".into());
        ok = false;
    }
    match attrs
        .iter()
        .find(|a| a.oid == ID_SIGNING_CERTIFICATE_V2)
        .and_then(|a| a.values.iter().next())
    {
        Some(v) => {
            let ess = v
                .decode_as::<SigningCertificateV2>()
                .map_err(|e| format!("signing-certificate-v2: {e}"))?;
            if ess.certs.first().map(|c| c.cert_hash.as_bytes())
                != Some(Sha256::digest(&signer_der).as_slice())
            {
                r.errors
                    .push("signing-certificate-v2 does not match the signer's certificate".into());
                ok = false;
            }
        }
        None => r
            .errors
            .push("no signing-certificate-v2 attribute (not PAdES baseline)".into()),
    }
    let signed = attrs.to_der().map_err(|e| e.to_string())?;
    let key = signer_x509.public_key().map_err(|e| e.to_string())?;
    let mut v =
        openssl::sign::Verifier::new(MessageDigest::sha256(), &key).map_err(|e| e.to_string())?;
    v.update(&signed).map_err(|e| e.to_string())?;
    if !v.verify(si.signature.as_bytes()).unwrap_or(false) {
        r.errors.push("the signature value does not verify".into());
        ok = false;
    }
    r.integrity = ok;
    r.timestamped = si.unsigned_attrs.as_ref().is_some_and(|u| {
        u.iter()
            .any(|a| a.oid == crate::tsa::ID_SIGNATURE_TIME_STAMP_TOKEN)
    });

    // Chain to the anchors, at the claimed signing time.
    let mut sb = X509StoreBuilder::new().map_err(|e| e.to_string())?;
    for a in anchors {
        sb.add_cert(a.clone()).map_err(|e| e.to_string())?;
    }
    if let Some(t) = r.signing_time.as_deref().and_then(pdf_time) {
        let mut p = X509VerifyParam::new().map_err(|e| e.to_string())?;
        p.set_time(t as libc::time_t);
        sb.set_param(&p).map_err(|e| e.to_string())?;
    }
    let store = sb.build();
    let mut chain = Stack::new().map_err(|e| e.to_string())?;
    for c in &certs {
        if let Ok(x) = c
            .to_der()
            .map_err(|e| e.to_string())
            .and_then(|d| X509::from_der(&d).map_err(|e| e.to_string()))
        {
            let _ = chain.push(x);
        }
    }
    let mut ctx = X509StoreContext::new().map_err(|e| e.to_string())?;
    let trusted = ctx
        .init(&store, &signer_x509, &chain, |c| {
            let ok = c.verify_cert()?;
            Ok((ok, c.error().error_string().to_owned()))
        })
        .map_err(|e| e.to_string())?;
    r.trusted = trusted.0;
    if !trusted.0 {
        r.errors.push(format!("certificate chain: {}", trusted.1));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::pdf_time;

    #[test]
    fn pdf_dates() {
        assert_eq!(pdf_time("D:20261127093000+00'00'"), Some(1_795_771_800));
        assert_eq!(pdf_time("D:20261127103000+01'00'"), Some(1_795_771_800));
        assert_eq!(pdf_time("nonsense"), None);
    }
}
