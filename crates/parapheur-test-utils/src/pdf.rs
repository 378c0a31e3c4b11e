//! PDFs generated for tests, written with lopdf independently of the server's own writer.

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};

/// A PDF with `pages` pages of text; `padding` bytes of extra (compressible-free) content make
/// it as large as a test needs.
pub fn sample(title: &str, pages: usize, padding: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(
        dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Courier" },
    );
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut kids = Vec::new();
    for i in 0..pages.max(1) {
        let mut ops = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 14.into()]),
            Operation::new("Td", vec![72.into(), 720.into()]),
            Operation::new(
                "Tj",
                vec![Object::string_literal(format!("{title} - page {}", i + 1))],
            ),
            Operation::new("ET", vec![]),
        ];
        if i == 0 && padding > 0 {
            // A comment-like run of text drawn outside the page keeps the size without effect.
            let filler: String = (0..padding)
                .map(|k| char::from(b'a' + (k * 7 % 26) as u8))
                .collect();
            ops.extend([
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 1.into()]),
                Operation::new("Td", vec![(-10000).into(), (-10000).into()]),
                Operation::new("Tj", vec![Object::string_literal(filler)]),
                Operation::new("ET", vec![]),
            ]);
        }
        let content = doc.add_object(Stream::new(
            dictionary! {},
            Content { operations: ops }.encode().expect("encode"),
        ));
        kids.push(Object::from(doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content,
        })));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("save");
    out
}

/// A one-page PDF.
pub fn small(title: &str) -> Vec<u8> {
    sample(title, 1, 0)
}
