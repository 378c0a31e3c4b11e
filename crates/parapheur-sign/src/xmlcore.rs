//! Shared XML-DSig plumbing: decoding, safe parsing, exclusive c14n (bergshamra), escaping, ECDSA value formats.

use crate::SignError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bergshamra_c14n::C14nMode;
use bergshamra_xml::NodeSet;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::x509::X509;
use quick_xml::events::Event;
use sha2::{Digest, Sha256};
use uppsala::{Document, NodeId};

pub const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const XADES132_NS: &str = "http://uri.etsi.org/01903/v1.3.2#";
pub const XADES111_NS: &str = "http://uri.etsi.org/01903/v1.1.1#";
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
pub const SIGNED_PROPERTIES_TYPE: &str = "http://uri.etsi.org/01903#SignedProperties";

fn invalid(msg: impl Into<String>) -> SignError {
    SignError::Invalid(msg.into())
}

/// The character encoding a document declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocEncoding {
    Utf8,
    /// ISO-8859-1: each byte is the code point of the same value.
    Latin1,
    /// Another ASCII-compatible single-byte encoding known to `encoding_rs`.
    Other(&'static encoding_rs::Encoding),
}

/// Decodes an XML document to UTF-8 text for parsing and canonicalisation, refusing DOCTYPEs.
pub fn decode(bytes: &[u8]) -> Result<(String, DocEncoding), SignError> {
    let mut label: Option<String> = None;
    let mut reader = quick_xml::Reader::from_reader(bytes);
    loop {
        match reader.read_event() {
            Ok(Event::Decl(d)) => {
                if let Some(e) = d.encoding() {
                    let e = e.map_err(|e| invalid(format!("XML declaration: {e}")))?;
                    label = Some(String::from_utf8_lossy(&e).to_ascii_lowercase());
                }
            }
            Ok(Event::DocType(_)) => {
                return Err(invalid("XML documents with a DOCTYPE are refused"));
            }
            Ok(Event::Start(_) | Event::Empty(_) | Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(invalid(format!("malformed XML: {e}"))),
        }
    }
    let enc = match label.as_deref() {
        None | Some("utf-8" | "utf8") => DocEncoding::Utf8,
        Some("iso-8859-1" | "iso8859-1" | "latin1" | "latin-1" | "iso_8859-1" | "l1") => {
            DocEncoding::Latin1
        }
        Some(l) => match encoding_rs::Encoding::for_label(l.as_bytes()) {
            Some(e) if e == encoding_rs::UTF_8 => DocEncoding::Utf8,
            Some(e) if e.is_ascii_compatible() && e.is_single_byte() => DocEncoding::Other(e),
            _ => return Err(invalid(format!("unsupported XML encoding {l:?}"))),
        },
    };
    let text = match enc {
        DocEncoding::Utf8 => {
            let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            String::from_utf8(b.to_vec()).map_err(|_| invalid("the document is not valid UTF-8"))?
        }
        DocEncoding::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
        DocEncoding::Other(e) => e.decode_without_bom_handling(bytes).0.into_owned(),
    };
    Ok((text, enc))
}

/// How deep elements may nest in a document we build a tree of (PES files are about ten levels
/// deep; the tree walks of signing and verification recurse). uppsala's own default, stated
/// here so that it is a decision of ours.
pub const MAX_DEPTH: u32 = 128;

/// Parses UTF-8 XML text, refusing DTDs, entity declarations and nesting deeper than
/// [`MAX_DEPTH`].
pub fn parse(text: &str) -> Result<Document<'_>, SignError> {
    uppsala::Parser::new()
        .with_max_depth(MAX_DEPTH)
        .with_forbid_dtd(true)
        .with_forbid_entities(true)
        .parse(text)
        .map_err(|e| invalid(format!("malformed XML: {e}")))
}

/// Removes `id` and its descendants from a node set (the enveloped-signature transform).
pub fn remove_subtree(doc: &Document<'_>, id: NodeId, set: &mut NodeSet) {
    set.remove_id(id);
    for child in doc.children(id) {
        remove_subtree(doc, child, set);
    }
}

/// Canonicalises the subtree at `node` (comments dropped, `exclude` removed) with `mode`.
pub fn c14n_subtree(
    doc: &Document<'_>,
    node: NodeId,
    exclude: Option<NodeId>,
    mode: C14nMode,
) -> Result<Vec<u8>, SignError> {
    let mut set = NodeSet::tree_without_comments(node, doc);
    if let Some(x) = exclude {
        remove_subtree(doc, x, &mut set);
    }
    bergshamra_c14n::canonicalize_doc(doc, mode, Some(&set), &[] as &[&str])
        .map_err(|e| invalid(format!("canonicalisation: {e}")))
}

/// Exclusive c14n of a generated fragment (one element using the `ds`/`xades` prefixes given).
pub fn c14n_fragment(fragment: &str, xades_ns: &str) -> Result<Vec<u8>, SignError> {
    let wrapped = format!("<w xmlns:ds=\"{DS_NS}\" xmlns:xad=\"{xades_ns}\">{fragment}</w>");
    let doc = parse(&wrapped)?;
    let root = doc
        .document_element()
        .ok_or_else(|| invalid("empty fragment"))?;
    let first = doc
        .children(root)
        .into_iter()
        .find(|c| doc.element(*c).is_some())
        .ok_or_else(|| invalid("empty fragment"))?;
    c14n_subtree(&doc, first, None, C14nMode::Exclusive)
}

pub fn b64(data: &[u8]) -> String {
    B64.encode(data)
}

/// Decodes base64 text, ignoring whitespace (XML-DSig values are often wrapped).
pub fn b64_decode(text: &str) -> Result<Vec<u8>, SignError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    B64.decode(compact)
        .map_err(|e| invalid(format!("base64: {e}")))
}

pub fn sha256_b64(data: &[u8]) -> String {
    b64(&Sha256::digest(data))
}

/// Escapes text for XML content or attributes; non-ASCII becomes character references so the
/// result is valid in any ASCII-compatible document encoding.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#xD;"),
            c if c.is_ascii() => out.push(c),
            c => out.push_str(&format!("&#x{:X};", u32::from(c))),
        }
    }
    out
}

/// The XML-DSig form of a signature value: ECDSA values are raw `r||s` (DER is converted).
pub fn signature_value_to_xml(
    algorithm: crate::keys::Algorithm,
    value: &[u8],
) -> Result<Vec<u8>, SignError> {
    match algorithm {
        crate::keys::Algorithm::RsaSha256 => Ok(value.to_vec()),
        crate::keys::Algorithm::EcdsaP256Sha256 if value.len() == 64 => Ok(value.to_vec()),
        crate::keys::Algorithm::EcdsaP256Sha256 => {
            let sig = EcdsaSig::from_der(value)?;
            let mut out = sig.r().to_vec_padded(32)?;
            out.extend(sig.s().to_vec_padded(32)?);
            Ok(out)
        }
    }
}

/// DER from a raw `r||s` ECDSA value, for openssl verification.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, SignError> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(invalid("bad ECDSA signature value length"));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let sig = EcdsaSig::from_private_components(BigNum::from_slice(r)?, BigNum::from_slice(s)?)?;
    Ok(sig.to_der()?)
}

/// RFC 4514 issuer name and decimal serial number, for `IssuerSerial`.
pub fn issuer_serial(cert: &X509) -> Result<(String, String), SignError> {
    let parsed = crate::cms::certificate(&cert.to_der()?)?;
    let serial = cert.serial_number().to_bn()?.to_dec_str()?.to_string();
    Ok((parsed.tbs_certificate.issuer.to_string(), serial))
}

/// Percent-encodes a file name for use as a relative URI.
pub fn uri_escape(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The element children of `node` with the given namespace and local name.
pub fn children_named(doc: &Document<'_>, node: NodeId, ns: &str, local: &str) -> Vec<NodeId> {
    doc.children(node)
        .into_iter()
        .filter(|c| {
            doc.element(*c)
                .is_some_and(|e| e.matches_name_ns(ns, local))
        })
        .collect()
}

/// The first element child with that name.
pub fn child(doc: &Document<'_>, node: NodeId, ns: &str, local: &str) -> Option<NodeId> {
    children_named(doc, node, ns, local).into_iter().next()
}

/// The first descendant element (document order) with that local name, in any namespace.
pub fn descendant_local(doc: &Document<'_>, node: NodeId, local: &str) -> Option<NodeId> {
    doc.descendants(node)
        .into_iter()
        .find(|d| doc.element(*d).is_some_and(|e| e.name.local_name == local))
}

/// The text of an element (concatenated descendants' text).
pub fn text(doc: &Document<'_>, node: NodeId) -> String {
    doc.text_content_deep(node)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn deep_nesting_is_refused_before_a_tree_is_built() {
        let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        assert!(parse(&deep).is_err());
        let n = MAX_DEPTH as usize - 1;
        let ok = format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn decodes_latin1_and_refuses_doctype() {
        let (t, e) = decode(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe9</a>").unwrap();
        assert_eq!(e, DocEncoding::Latin1);
        assert!(t.ends_with("<a>\u{e9}</a>"));
        assert!(decode(b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>").is_err());
        assert!(parse("<!DOCTYPE a><a/>").is_err());
    }

    #[test]
    fn exclusive_c14n_of_a_subtree() {
        let text = "<r xmlns:u=\"urn:u\" xmlns:ds=\"urn:ds\"><b Id=\"x\" z=\"1\" a='2'>t\r\n<!--c--><e/></b></r>";
        let doc = parse(text).unwrap();
        let b = descendant_local(&doc, doc.root(), "b").unwrap();
        let c = c14n_subtree(&doc, b, None, C14nMode::Exclusive).unwrap();
        assert_eq!(
            String::from_utf8(c).unwrap(),
            "<b Id=\"x\" a=\"2\" z=\"1\">t\n<e></e></b>"
        );
    }

    #[test]
    fn escapes_to_ascii_and_converts_ecdsa() {
        assert_eq!(
            escape("Saint-Étienne <&>\""),
            "Saint-&#xC9;tienne &lt;&amp;&gt;&quot;"
        );
        let key = crate::ca::generate_key(crate::ca::KeyKind::Person).unwrap();
        let cred_sig = {
            let mut s =
                openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
            s.update(b"x").unwrap();
            s.sign_to_vec().unwrap()
        };
        let raw =
            signature_value_to_xml(crate::keys::Algorithm::EcdsaP256Sha256, &cred_sig).unwrap();
        assert_eq!(raw.len(), 64);
        let der = ecdsa_raw_to_der(&raw).unwrap();
        let mut v =
            openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
        v.update(b"x").unwrap();
        assert!(v.verify(&der).unwrap());
        assert_eq!(uri_escape("a b/é.xml"), "a%20b%2F%C3%A9.xml");
    }
}
