//! Minimal PDF writing with lopdf: pages of text in Helvetica (WinAnsi encoding), used for the
//! fiche de circulation and the demo document.

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, StringFormat, dictionary};
use parapheur_sign::pdf_text::win_ansi;

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;

/// A line of text with its font size and whether it is bold.
#[derive(Debug, Clone)]
pub struct Line {
    pub text: String,
    pub size: f32,
    pub bold: bool,
}

impl Line {
    pub fn new(text: impl Into<String>, size: f32, bold: bool) -> Self {
        Self {
            text: text.into(),
            size,
            bold,
        }
    }
}

/// Splits a text into lines of at most `width` characters, on spaces where possible.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.lines() {
        let mut cur = String::new();
        for word in para.split_whitespace() {
            let mut word = word.to_owned();
            while word.chars().count() > width {
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(head);
            }
            if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut cur));
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(&word);
        }
        out.push(cur);
    }
    out
}

/// Lays out lines top to bottom, adding pages as needed, and returns the PDF bytes.
pub fn render(title: &str, lines: &[Line]) -> Result<Vec<u8>, lopdf::Error> {
    render_with_qr(title, lines, None)
}

/// The side of the QR code drawn on the first page, in points.
const QR_SIDE: f32 = 96.0;

/// The drawing operations of a QR code of `data` with its top-right corner at (`right`, `top`):
/// one filled square per dark module, inside a quiet zone of four modules. `None` when `data`
/// does not fit a QR code.
fn qr_operations(data: &str, right: f32, top: f32) -> Option<Vec<Operation>> {
    let code = qrcode::QrCode::new(data.as_bytes()).ok()?;
    let n = code.width();
    let colors = code.to_colors();
    let module = QR_SIDE / (n + 8) as f32;
    let (x0, y0) = (right - QR_SIDE + 4.0 * module, top - 4.0 * module);
    let mut ops = vec![
        Operation::new("q", vec![]),
        Operation::new("rg", vec![0.into(), 0.into(), 0.into()]),
    ];
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (col, row) = ((i % n) as f32, (i / n) as f32);
            ops.push(Operation::new(
                "re",
                vec![
                    (x0 + col * module).into(),
                    (y0 - (row + 1.0) * module).into(),
                    module.into(),
                    module.into(),
                ],
            ));
        }
    }
    ops.push(Operation::new("f", vec![]));
    ops.push(Operation::new("Q", vec![]));
    Some(ops)
}

/// [`render`], with a QR code of `qr` (an address) at the top right of the first page.
pub fn render_with_qr(
    title: &str,
    lines: &[Line],
    qr: Option<&str>,
) -> Result<Vec<u8>, lopdf::Error> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let regular = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let bold = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica-Bold", "Encoding" => "WinAnsiEncoding",
    });
    let resources =
        doc.add_object(dictionary! { "Font" => dictionary! { "F1" => regular, "F2" => bold } });
    let mut pages: Vec<Vec<Operation>> = vec![
        qr.and_then(|data| qr_operations(data, PAGE_W - MARGIN / 2.0, PAGE_H - MARGIN / 2.0))
            .unwrap_or_default(),
    ];
    let mut y = PAGE_H - MARGIN;
    for l in lines {
        let lead = l.size * 1.4;
        if y - lead < MARGIN {
            pages.push(Vec::new());
            y = PAGE_H - MARGIN;
        }
        y -= lead;
        if l.text.is_empty() {
            continue;
        }
        let ops = pages
            .last_mut()
            .ok_or(lopdf::Error::PageNumberNotFound(0))?;
        ops.push(Operation::new("BT", vec![]));
        ops.push(Operation::new(
            "Tf",
            vec![if l.bold { "F2" } else { "F1" }.into(), l.size.into()],
        ));
        ops.push(Operation::new("Td", vec![MARGIN.into(), y.into()]));
        ops.push(Operation::new(
            "Tj",
            vec![Object::String(win_ansi(&l.text), StringFormat::Literal)],
        ));
        ops.push(Operation::new("ET", vec![]));
    }
    let count = pages.len();
    let mut kids = Vec::with_capacity(count);
    for (i, mut ops) in pages.into_iter().enumerate() {
        let footer = format!("{title} — page {} / {count}", i + 1);
        ops.push(Operation::new("BT", vec![]));
        ops.push(Operation::new("Tf", vec!["F1".into(), 8.0f32.into()]));
        ops.push(Operation::new(
            "Td",
            vec![MARGIN.into(), (MARGIN / 2.0).into()],
        ));
        ops.push(Operation::new(
            "Tj",
            vec![Object::String(win_ansi(&footer), StringFormat::Literal)],
        ));
        ops.push(Operation::new("ET", vec![]));
        let content = Content { operations: ops }.encode()?;
        let content_id = doc.add_object(Stream::new(dictionary! {}, content));
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        });
        kids.push(Object::from(page));
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count as i64,
            "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), PAGE_W.into(), PAGE_H.into()],
        }),
    );
    let info = doc.add_object(dictionary! {
        "Title" => Object::String(win_ansi(title), StringFormat::Literal),
        "Producer" => Object::string_literal("parapheur"),
    });
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    doc.trailer.set("Info", info);
    doc.compress();
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}

/// A simple one-title document (the demo deposit, test inputs).
pub fn text_pdf(title: &str, body: &[&str]) -> Result<Vec<u8>, lopdf::Error> {
    let mut lines = vec![Line::new(title, 18.0, true), Line::new("", 12.0, false)];
    lines.extend(
        body.iter()
            .flat_map(|b| wrap(b, 90))
            .map(|t| Line::new(t, 11.0, false)),
    );
    render(title, &lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_words() {
        assert_eq!(wrap("un deux trois", 7), ["un deux", "trois"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
    }

    #[test]
    fn renders_pages_with_accents() {
        let many: Vec<Line> = (0..200)
            .map(|i| Line::new(format!("Ligne {i} : été, œuvre, 10 €"), 11.0, false))
            .collect();
        let pdf = render("Fiche de circulation", &many).unwrap_or_else(|e| panic!("{e}"));
        let doc = lopdf::Document::load_mem(&pdf).unwrap_or_else(|e| panic!("{e}"));
        assert!(doc.get_pages().len() >= 4);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod qr_tests {
    use super::*;

    #[test]
    fn a_qr_code_is_drawn_on_the_first_page_only() {
        let lines: Vec<Line> = (0..120)
            .map(|i| Line::new(format!("Ligne {i} : {}", "x".repeat(60)), 10.0, false))
            .collect();
        let with =
            render_with_qr("Essai", &lines, Some("https://exemple.fr/verifier/ABCD")).unwrap();
        let without = render("Essai", &lines).unwrap();
        if let Ok(p) = std::env::var("PDFGEN_QR_SAMPLE") {
            std::fs::write(p, &with).unwrap();
        }
        let doc = lopdf::Document::load_mem(&with).unwrap();
        let pages: Vec<_> = doc.get_pages().into_values().collect();
        assert!(pages.len() >= 2);
        let ops = |id| {
            lopdf::content::Content::decode(&doc.get_page_content(id))
                .unwrap()
                .operations
                .iter()
                .filter(|o| o.operator == "re")
                .count()
        };
        // A version-1 or -2 code: tens of dark modules on the first page, none after.
        assert!(ops(pages[0]) > 50, "{}", ops(pages[0]));
        assert_eq!(ops(pages[1]), 0);
        assert!(with.len() > without.len());
    }
}
