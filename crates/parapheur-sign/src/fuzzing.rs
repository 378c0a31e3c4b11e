//! Entry points for the fuzz targets in `fuzz/` (the PDF reader is crate-private). Not an API.

use crate::pdfread::PdfFile;
use lopdf::Object;

/// What the signing and verification paths read of a PDF: the cross-reference chain, the page
/// count, the first and the last page, and the signature fields of the form. Errors are fine;
/// panics, hangs and runaway memory are not.
pub fn pdf_reader(data: &[u8]) {
    let Ok(file) = PdfFile::open(data) else {
        return;
    };
    if let Ok((root, count)) = file.pages() {
        for n in [1, count, count / 2] {
            let _ = file.page(root, n);
        }
    }
    let form = file
        .root()
        .and_then(|id| file.dictionary(id))
        .ok()
        .and_then(|catalog| catalog.get(b"AcroForm").ok().cloned())
        .and_then(|af| file.resolve(&af).ok());
    if let Some(Object::Dictionary(af)) = form
        && let Ok(fields) = af.get(b"Fields")
        && let Ok(Object::Array(fields)) = file.resolve(fields)
    {
        let _ = file.signature_fields(&fields);
    }
}
