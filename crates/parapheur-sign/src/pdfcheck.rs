//! The deposit check of a PDF: read with the signing reader, within [`Limits`], so that a file
//! accepted can be signed and a hostile one is refused in bounded time and memory.

pub use crate::pdfread::Limits;

use crate::SignError;
use crate::pdfread::PdfFile;

/// What the check learned of an accepted PDF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdfSummary {
    /// The number of pages (leaves of the page tree).
    pub pages: u32,
    /// The number of form fields and widgets.
    pub form_fields: usize,
    /// Whether the file declares encryption (`/Encrypt`); such a file cannot be signed.
    pub encrypted: bool,
}

/// Checks that `bytes` is a PDF the server can work with: a `%PDF-` header in the first 1024
/// bytes and `%%EOF` in the last 2048, a readable cross-reference chain, a catalog, a page tree
/// of at least one page whose every node is visited once, and a form field tree (if any) that is
/// a tree. Content streams are not read. [`SignError::Budget`] when a limit is exceeded,
/// [`SignError::Pdf`] for a malformed file; the messages are short English sentences.
pub fn check_pdf(bytes: &[u8], limits: &Limits) -> Result<PdfSummary, SignError> {
    let pdf = |m: &str| SignError::Pdf(m.into());
    let head = &bytes[..bytes.len().min(1024)];
    let start = head
        .windows(5)
        .position(|w| w == b"%PDF-")
        .ok_or_else(|| pdf("not a PDF (no %PDF- header)"))?;
    let tail = &bytes[bytes.len().saturating_sub(2048)..];
    if !tail.windows(5).any(|w| w == b"%%EOF") {
        return Err(pdf("truncated PDF (no %%EOF marker at the end)"));
    }
    // Offsets count from the header when bytes precede it (as readers tolerate).
    let file = PdfFile::open_with(&bytes[start..], limits)?;
    match file.dictionary(file.root()?) {
        Err(e) if e.is_budget() => return Err(e),
        Err(_) => return Err(pdf("the PDF has no catalog")),
        Ok(_) => {}
    }
    let pages = file.walk_pages()?;
    if pages == 0 {
        return Err(pdf("the PDF has no page"));
    }
    let form_fields = file.walk_fields()?;
    Ok(PdfSummary {
        pages,
        form_fields,
        encrypted: file.trailer.get(b"Encrypt").is_ok(),
    })
}
