//! The one way stored files (documents, signatures, annexes, fiches, acknowledgements) leave the
//! server. Their bytes are untrusted: they are always an attachment, except a real PDF shown
//! in a preview frame, and never run as a page of this origin (`Content-Security-Policy:
//! sandbox`, `nosniff`). XML, HTML, SVG and anything else are never inline.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// How a stored file is handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// A download (`Content-Disposition: attachment`).
    Attachment,
    /// Shown in a preview frame when it is a PDF (name and content); an attachment otherwise.
    PdfPreview,
}

/// The sandbox given to every stored file: no script, no form, no plugin, a unique origin.
pub const SANDBOX_CSP: &str =
    "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'";

fn extension(name: &str) -> Option<String> {
    name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())
}

/// The media type given to a file; anything not listed is `application/octet-stream`.
pub fn content_type(name: &str) -> &'static str {
    match extension(name).as_deref() {
        Some("pdf") => "application/pdf",
        Some("xml") => "application/xml",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

/// Whether the bytes are a PDF (the header within the first KiB, as readers accept it).
fn is_pdf(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(1024)]
        .windows(5)
        .any(|w| w == b"%PDF-")
}

/// `Content-Disposition` with an ASCII fallback and the RFC 5987 UTF-8 name.
fn disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A stored file as a response (see the module documentation).
pub fn stored_file(name: &str, bytes: Vec<u8>, how: Disposition) -> Response {
    let inline = how == Disposition::PdfPreview
        && extension(name).as_deref() == Some("pdf")
        && is_pdf(&bytes);
    let (kind, media) = if inline {
        ("inline", "application/pdf")
    } else {
        ("attachment", content_type(name))
    };
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    if let Ok(v) = HeaderValue::from_str(&disposition(kind, name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    } else {
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SANDBOX_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(r: &Response, h: header::HeaderName) -> String {
        r.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn only_a_real_pdf_is_ever_inline() {
        let xhtml = b"<html xmlns='http://www.w3.org/1999/xhtml'><script>alert(1)</script></html>";
        for (name, bytes) in [
            ("x.xml", xhtml.to_vec()),
            ("x.html", xhtml.to_vec()),
            ("x.svg", xhtml.to_vec()),
            // A PDF name on other content, and PDF content under another name.
            ("x.pdf", xhtml.to_vec()),
            ("x.xml", b"%PDF-1.7\n".to_vec()),
        ] {
            let r = stored_file(name, bytes, Disposition::PdfPreview);
            assert!(
                header(&r, header::CONTENT_DISPOSITION).starts_with("attachment;"),
                "{name}"
            );
            assert!(header(&r, header::CONTENT_SECURITY_POLICY).starts_with("sandbox"));
            assert_eq!(header(&r, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        }
        let r = stored_file("a.pdf", b"%PDF-1.7\n".to_vec(), Disposition::PdfPreview);
        assert!(header(&r, header::CONTENT_DISPOSITION).starts_with("inline;"));
        assert_eq!(header(&r, header::CONTENT_TYPE), "application/pdf");
        assert!(header(&r, header::CONTENT_SECURITY_POLICY).starts_with("sandbox"));
        let r = stored_file("a.pdf", b"%PDF-1.7\n".to_vec(), Disposition::Attachment);
        assert!(header(&r, header::CONTENT_DISPOSITION).starts_with("attachment;"));
        let r = stored_file("x.svg", Vec::new(), Disposition::Attachment);
        assert_eq!(header(&r, header::CONTENT_TYPE), "application/octet-stream");
    }

    #[test]
    fn names_cannot_break_the_header() {
        let r = stored_file("a\"b\r\nc.pdf", Vec::new(), Disposition::Attachment);
        let d = header(&r, header::CONTENT_DISPOSITION);
        assert!(d.starts_with("attachment; filename=\"a_b__c.pdf\""), "{d}");
    }
}
