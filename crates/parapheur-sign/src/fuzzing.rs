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

/// The page-tree walk's reading of a dictionary with only some of its entries kept
/// (`indirect_keeping`) against the full reading (`indirect`) of `1 0 obj` followed by `data`:
/// both accept the same inputs, and the entries kept are the full reading's. Panics otherwise.
pub fn pdf_object_skim(data: &[u8]) {
    use crate::pdfread::syntax_for_fuzzing::{full, keeping};
    const KEEP: [&[u8]; 3] = [b"Type", b"Kids", b"Count"];
    let mut buf = b"1 0 obj ".to_vec();
    buf.extend_from_slice(data);
    let kept = keeping(&buf, &KEEP);
    match full(&buf) {
        Some(Object::Dictionary(d)) => {
            let kept = kept.unwrap_or_else(|| panic!("a dictionary read in full was refused"));
            for k in KEEP {
                assert_eq!(d.get(k).ok(), kept.get(k).ok(), "entry {k:?}");
            }
            assert!(kept.iter().all(|(k, _)| KEEP.contains(&k.as_slice())));
        }
        _ => assert!(kept.is_none(), "accepted what the full reading refuses"),
    }
}
