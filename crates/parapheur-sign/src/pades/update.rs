//! The objects a signature adds or rewrites: the form with its new field, the page's
//! annotations, the merged field and widget, the stamp's appearance stream, and the signature
//! dictionary with its placeholders.

use super::stamp::{appearance, media_box};
use super::write::{pdf_date, real, write_obj};
use super::{BYTE_RANGE_PLACEHOLDER, DOC_TIMESTAMP_DICT_START, SIG_DICT_START, SignOptions, err};
use crate::SignError;
use crate::pdf_text::{literal, text_string_hex};
use crate::pdfread::PdfFile;
use lopdf::{Dictionary, Object, ObjectId};
use std::io::Write;

/// The serialised bodies of the new revision's objects.
pub(super) struct NewObjects {
    /// Objects rewritten or added, as serialized bodies (the signature dictionary without the
    /// hole of its `/Contents`).
    pub bodies: Vec<(ObjectId, Vec<u8>)>,
    pub root_id: ObjectId,
    /// The signature dictionary, when the revision adds one (a DSS update adds none).
    pub sig: Option<SigHole>,
}

/// Where a signature dictionary's placeholders are.
pub(super) struct SigHole {
    pub sig_id: ObjectId,
    /// Where the hole of `/Contents` goes in the signature dictionary's body.
    pub contents_in_sig: usize,
    /// Where the `/ByteRange` placeholder starts in it.
    pub byte_range_in_sig: usize,
}

/// What the new field holds: a signature, or a document timestamp (PAdES B-LTA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldKind {
    Signature,
    DocumentTimestamp,
}

/// Builds the objects of a signature of `file` as `opts` describes it.
pub(super) fn new_objects(
    file: &PdfFile,
    opts: &SignOptions,
    kind: FieldKind,
) -> Result<NewObjects, SignError> {
    let root_id = file.root()?;
    let mut catalog = file.dictionary(root_id)?;
    let (pages_root, page_count) = file.pages()?;
    let page_no = match opts.placement.and_then(|p| p.page) {
        Some(n) if (1..=page_count).contains(&n) => n,
        Some(n) => {
            return Err(SignError::Invalid(format!(
                "page {n} does not exist ({page_count} pages)"
            )));
        }
        None if page_count == 0 => return Err(err("the PDF has no page")),
        None => page_count,
    };
    let page_id = file.page(pages_root, page_no)?;
    let size = file.size;
    let mut next = size.max(1);
    let mut alloc = || {
        let id = (next, 0u16);
        next += 1;
        id
    };
    let sig_id = alloc();
    let field_id = alloc();
    let ap_id = opts.visible.then(&mut alloc);

    // Objects rewritten or added, as serialized bodies.
    let mut bodies: Vec<(ObjectId, Vec<u8>)> = Vec::new();
    let mut rewrite = |id: ObjectId, o: &Object| -> Result<(), SignError> {
        let mut b = Vec::new();
        write_obj(&mut b, o)?;
        bodies.push((id, b));
        Ok(())
    };

    // AcroForm with the new field (kept as an indirect object so later signatures touch only it).
    let existing = catalog.get(b"AcroForm").ok().cloned();
    let (af_id, mut af) = match existing {
        Some(Object::Reference(id)) => (id, file.dictionary(id)?),
        Some(Object::Dictionary(d)) => (alloc(), d),
        _ => (alloc(), Dictionary::new()),
    };
    let mut fields = match af.get(b"Fields") {
        Ok(f) => resolved_array(file, f)?,
        Err(_) => Vec::new(),
    };
    let n_sigs = file.signature_fields(&fields).len();
    fields.push(Object::Reference(field_id));
    af.set("Fields", Object::Array(fields));
    af.set("SigFlags", 3);
    if !matches!(catalog.get(b"AcroForm"), Ok(Object::Reference(id)) if *id == af_id) {
        catalog.set("AcroForm", Object::Reference(af_id));
        rewrite(root_id, &Object::Dictionary(catalog.clone()))?;
    }
    rewrite(af_id, &Object::Dictionary(af))?;

    // Where the stamp goes: the placement, or stacked at the bottom right of the page.
    let mb = media_box(file, page_id);
    let rect = match (opts.visible, opts.placement) {
        (false, _) => [0.0, 0.0, 0.0, 0.0],
        (true, Some(p)) => [p.x, p.y, p.x + p.width, p.y + p.height],
        (true, None) => {
            let (w, h) = (220.0f32.min(mb[2] - mb[0]), 62.0f32);
            let x = mb[2] - w - 24.0;
            let y = mb[1] + 24.0 + (n_sigs as f32) * (h + 6.0);
            [x, y, x + w, y + h]
        }
    };

    // The page's annotations gain the widget.
    let mut page = file.dictionary(page_id)?;
    match page.get(b"Annots").ok().cloned() {
        Some(Object::Reference(arr_id)) => {
            let mut a = resolved_array(file, &Object::Reference(arr_id))?;
            a.push(Object::Reference(field_id));
            rewrite(arr_id, &Object::Array(a))?;
        }
        Some(Object::Array(mut a)) => {
            a.push(Object::Reference(field_id));
            page.set("Annots", Object::Array(a));
            rewrite(page_id, &Object::Dictionary(page))?;
        }
        _ => {
            page.set("Annots", Object::Array(vec![Object::Reference(field_id)]));
            rewrite(page_id, &Object::Dictionary(page))?;
        }
    }

    // The merged field/widget.
    let mut field = Dictionary::new();
    field.set("Type", Object::Name(b"Annot".to_vec()));
    field.set("Subtype", Object::Name(b"Widget".to_vec()));
    field.set("FT", Object::Name(b"Sig".to_vec()));
    field.set(
        "T",
        Object::string_literal(format!("Signature{}", n_sigs + 1)),
    );
    field.set("V", Object::Reference(sig_id));
    field.set("F", 132);
    field.set(
        "Rect",
        Object::Array(rect.iter().map(|v| Object::Real(*v)).collect()),
    );
    field.set("P", Object::Reference(page_id));
    if let Some(ap) = ap_id {
        let mut n = Dictionary::new();
        n.set("N", Object::Reference(ap));
        field.set("AP", Object::Dictionary(n));
    }
    rewrite(field_id, &Object::Dictionary(field))?;

    // The appearance stream (written by hand: a stream object).
    if let Some(ap) = ap_id {
        let (w, h) = (rect[2] - rect[0], rect[3] - rect[1]);
        let content = appearance(opts, w, h);
        let mut b = Vec::new();
        let _ = writeln!(
            b,
            "<</Type/XObject/Subtype/Form/BBox[0 0 {} {}]/Resources<</Font<</F1<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>>>>>/Length {}>>\nstream",
            real(w),
            real(h),
            content.len()
        );
        b.extend_from_slice(&content);
        b.extend_from_slice(b"\nendstream");
        bodies.push((ap, b));
    }

    // The signature dictionary with its placeholders.
    let mut sig = Vec::new();
    if kind == FieldKind::DocumentTimestamp {
        // ISO 32000-2 §12.8.5: the token alone, no signer's name or time.
        sig.extend_from_slice(DOC_TIMESTAMP_DICT_START);
        let byte_range_in_sig = sig.len();
        sig.extend_from_slice(BYTE_RANGE_PLACEHOLDER.as_bytes());
        sig.extend_from_slice(b"/Contents<");
        let contents_in_sig = sig.len();
        sig.extend_from_slice(b">>>");
        bodies.push((sig_id, sig));
        return Ok(NewObjects {
            bodies,
            root_id,
            sig: Some(SigHole {
                sig_id,
                contents_in_sig,
                byte_range_in_sig,
            }),
        });
    }
    sig.extend_from_slice(SIG_DICT_START);
    sig.extend_from_slice(BYTE_RANGE_PLACEHOLDER.as_bytes());
    sig.extend_from_slice(b"/Contents<");
    // The hole for the signature (zeros) is written directly into the revision below.
    let contents_in_sig = sig.len();
    sig.extend_from_slice(b">/M");
    sig.extend_from_slice(&literal(pdf_date(&opts.time).as_bytes()));
    sig.extend_from_slice(b"/Name");
    sig.extend_from_slice(text_string_hex(&opts.signer_name).as_bytes());
    if let Some(r) = opts.reason.as_deref().filter(|r| !r.is_empty()) {
        sig.extend_from_slice(b"/Reason");
        sig.extend_from_slice(text_string_hex(r).as_bytes());
    }
    if let Some(l) = opts.location.as_deref().filter(|l| !l.is_empty()) {
        sig.extend_from_slice(b"/Location");
        sig.extend_from_slice(text_string_hex(l).as_bytes());
    }
    sig.extend_from_slice(b">>");
    bodies.push((sig_id, sig));
    Ok(NewObjects {
        bodies,
        root_id,
        sig: Some(SigHole {
            sig_id,
            contents_in_sig,
            byte_range_in_sig: SIG_DICT_START.len(),
        }),
    })
}

/// Resolves an array that may be inline or referenced.
fn resolved_array(file: &PdfFile, o: &Object) -> Result<Vec<Object>, SignError> {
    match file.resolve(o)? {
        Object::Array(a) => Ok(a),
        _ => Err(err("an array was expected")),
    }
}
