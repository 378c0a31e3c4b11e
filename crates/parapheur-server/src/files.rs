//! Checks on uploaded files: the format a circuit accepts, content that matches its extension,
//! and the `X.pdf.zip` deposit archive (main document plus annexes).

use crate::error::ApiError;
use bytes::Bytes;
use parapheur_domain::FileName;
use quick_xml::Reader;
use quick_xml::events::Event;
use std::io::{Cursor, Read};

/// An uploaded file with a validated name.
#[derive(Debug, Clone)]
pub struct Upload {
    pub name: FileName,
    pub bytes: Bytes,
}

/// Splits a `X.pdf.zip` deposit into its main document `X.pdf` and the other entries as annexes.
/// Any other file comes back unchanged with no annexes.
pub fn unpack(file: Upload, limit: u64) -> Result<(Upload, Vec<Upload>), ApiError> {
    let Some(inner) = file.name.inner_of_zip().map(str::to_owned) else {
        return Ok((file, Vec::new()));
    };
    let bad = |m: String| ApiError::InvalidFile(format!("{}: {m}", file.name));
    let mut zip = zip::ZipArchive::new(Cursor::new(file.bytes.clone()))
        .map_err(|e| bad(format!("not a ZIP archive ({e})")))?;
    let mut main = None;
    let mut annexes = Vec::new();
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| bad(format!("unreadable entry ({e})")))?;
        if entry.is_dir() {
            continue;
        }
        let path = entry
            .enclosed_name()
            .ok_or_else(|| bad("an entry has an unsafe path".into()))?;
        let base = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if base.starts_with("._") || path.components().any(|c| c.as_os_str() == "__MACOSX") {
            continue;
        }
        let name = FileName::parse(&base)?;
        let mut buf = Vec::new();
        (&mut entry)
            .take(limit.saturating_sub(total) + 1)
            .read_to_end(&mut buf)
            .map_err(|e| bad(format!("unreadable entry ({e})")))?;
        total += buf.len() as u64;
        if total > limit {
            return Err(ApiError::TooLarge(limit));
        }
        let up = Upload {
            name,
            bytes: Bytes::from(buf),
        };
        if main.is_none() && base.eq_ignore_ascii_case(&inner) {
            main = Some(up);
        } else {
            annexes.push(up);
        }
    }
    let main = main.ok_or_else(|| bad(format!("the archive does not contain {inner}")))?;
    Ok((main, annexes))
}

/// Refuses empty files and content that does not match its extension (PDF and XML are parsed).
pub fn check_content(file: &Upload) -> Result<(), ApiError> {
    let bad = |m: &str| ApiError::InvalidFile(format!("{}: {m}", file.name));
    if file.bytes.is_empty() {
        return Err(bad("the file is empty"));
    }
    match file.name.extension().as_deref() {
        Some("pdf") => check_pdf(&file.bytes).map_err(|m| bad(&m.to_string())),
        Some("xml") => check_xml(&file.bytes).map_err(|m| bad(&m.to_string())),
        _ => Ok(()),
    }
}

/// Why a file's content does not match its extension (the message completes "<name>: ").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    #[error("the PDF has no page")]
    NoPage,
    #[error("{0}")]
    Pdf(String),
    #[error("malformed XML ({0})")]
    MalformedXml(String),
    #[error("a DOCTYPE is not allowed in XML documents")]
    Doctype,
    #[error("text outside the root element")]
    TextOutsideRoot,
    #[error("no root element")]
    NoRoot,
    #[error("several root elements")]
    SeveralRoots,
    #[error("truncated XML (unclosed element)")]
    Truncated,
}

/// A PDF must have its header and `%%EOF`, and its structure (cross-references, catalog,
/// page tree, form) must read within the reader's budgets; content streams are not read.
/// The same lazy reader and limits serve signing and verification.
pub fn check_pdf(b: &[u8]) -> Result<(), ContentError> {
    let limits = parapheur_sign::pdfcheck::Limits::default();
    match parapheur_sign::pdfcheck::check_pdf(b, &limits) {
        Ok(s) if s.pages == 0 => Err(ContentError::NoPage),
        Ok(_) => Ok(()),
        Err(e) => Err(ContentError::Pdf(e.to_string())),
    }
}

/// Well-formed XML with one root element and no DOCTYPE (so no entity can be declared).
/// Markup is checked on bytes, so ASCII-compatible encodings such as ISO-8859-1 (PES) pass.
pub fn check_xml(b: &[u8]) -> Result<(), ContentError> {
    let mut r = Reader::from_reader(b);
    let mut buf = Vec::new();
    let (mut depth, mut roots) = (0usize, 0usize);
    loop {
        match r
            .read_event_into(&mut buf)
            .map_err(|e| ContentError::MalformedXml(e.to_string()))?
        {
            Event::DocType(_) => return Err(ContentError::Doctype),
            Event::Start(_) => {
                if depth == 0 {
                    roots += 1;
                }
                depth += 1;
            }
            Event::Empty(_) if depth == 0 => roots += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(t) if depth == 0 && !t.iter().all(u8::is_ascii_whitespace) => {
                return Err(ContentError::TextOutsideRoot);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    match (depth, roots) {
        (0, 1) => Ok(()),
        (0, 0) => Err(ContentError::NoRoot),
        (0, _) => Err(ContentError::SeveralRoots),
        _ => Err(ContentError::Truncated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_checks() {
        assert!(check_xml(b"<?xml version='1.0'?><a><b/>t</a>").is_ok());
        assert!(check_xml(b"<a>").is_err());
        assert!(check_xml(b"<a/><b/>").is_err());
        assert!(check_xml(b"").is_err());
        assert!(
            check_xml(b"<!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><a>&x;</a>").is_err()
        );
    }

    #[test]
    fn pdf_checks() {
        let pdf = crate::pdfgen::text_pdf("Essai", &["ligne"]).unwrap_or_else(|e| panic!("{e}"));
        assert!(check_pdf(&pdf).is_ok());
        assert!(check_pdf(&pdf[..pdf.len() / 2]).is_err());
        assert!(check_pdf(b"hello, not a pdf").is_err());
    }
}
