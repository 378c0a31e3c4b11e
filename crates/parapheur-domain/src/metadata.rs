//! The `meta-data-list` XML of `metadata/define` and `uploadOTP`: parsed safely.
//!
//! A DOCTYPE is refused outright, so neither external entities nor entity expansion can occur;
//! only the five predefined XML entities and character references are understood.

use crate::DomainError;
use quick_xml::Reader;
use quick_xml::events::Event;

/// Upper bounds that keep a hostile document small in memory.
pub const MAX_ENTRIES: usize = 1000;
pub const MAX_NAME: usize = 255;
pub const MAX_VALUE: usize = 4096;

/// One `<meta-data name=".." value=".."/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaData {
    pub name: String,
    pub value: String,
}

fn err(m: impl Into<String>) -> DomainError {
    DomainError::InvalidMetadata(m.into())
}

/// Parses a `meta-data-list` document. Names must be unique and non-empty.
pub fn parse_metadata_list(xml: &[u8]) -> Result<Vec<MetaData>, DomainError> {
    let text = std::str::from_utf8(xml).map_err(|_| err("the XML is not UTF-8"))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut out: Vec<MetaData> = Vec::new();
    let mut depth = 0usize;
    let mut saw_root = false;
    loop {
        match reader
            .read_event()
            .map_err(|e| err(format!("malformed XML: {e}")))?
        {
            Event::DocType(_) => return Err(err("a DOCTYPE is not allowed")),
            Event::Start(e) => {
                element(&e, depth, &mut saw_root, &mut out)?;
                depth += 1;
            }
            Event::Empty(e) => element(&e, depth, &mut saw_root, &mut out)?,
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(t) => {
                if !t.as_ref().iter().all(u8::is_ascii_whitespace) {
                    return Err(err("unexpected text in <meta-data-list>"));
                }
            }
            Event::GeneralRef(_) => return Err(err("entity references are not allowed here")),
            Event::CData(_) => return Err(err("unexpected CDATA")),
            Event::Eof if depth == 0 => break,
            Event::Eof => return Err(err("truncated XML: unclosed element")),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !saw_root {
        return Err(err("no <meta-data-list> element"));
    }
    Ok(out)
}

fn element(
    e: &quick_xml::events::BytesStart<'_>,
    depth: usize,
    saw_root: &mut bool,
    out: &mut Vec<MetaData>,
) -> Result<(), DomainError> {
    let tag = e.name();
    match (depth, tag.as_ref()) {
        (0, b"meta-data-list") if !*saw_root => {
            *saw_root = true;
            return Ok(());
        }
        (1, b"meta-data") => {}
        _ => {
            return Err(err(format!(
                "unexpected element <{}>",
                String::from_utf8_lossy(tag.as_ref())
            )));
        }
    }
    let (mut name, mut value) = (None, None);
    for a in e.attributes() {
        let a = a.map_err(|e| err(format!("malformed attribute: {e}")))?;
        let v = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| err(format!("invalid attribute value: {e}")))?
            .into_owned();
        match a.key.as_ref() {
            b"name" => name = Some(v),
            b"value" => value = Some(v),
            _ => {}
        }
    }
    let name = name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| err("<meta-data> without a name"))?;
    let value = value.unwrap_or_default();
    // What XML 1.0 cannot carry (control characters, written raw or as a character reference)
    // could not be given back by `render_metadata_list`: refused here.
    if let Some(c) = name.chars().chain(value.chars()).find(|c| !xml_char(*c)) {
        return Err(err(format!(
            "metadata {name:?} holds the character U+{:04X}, which XML does not allow",
            u32::from(c)
        )));
    }
    if name.chars().count() > MAX_NAME || value.chars().count() > MAX_VALUE {
        return Err(err(format!("metadata {name:?} is too long")));
    }
    if out.iter().any(|m| m.name == name) {
        return Err(err(format!("metadata {name:?} is given twice")));
    }
    if out.len() >= MAX_ENTRIES {
        return Err(err("too many metadata"));
    }
    out.push(MetaData { name, value });
    Ok(())
}

/// XML 1.0's `Char` production.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// An attribute value: the markup characters escaped, and tabs and line breaks as character
/// references (written raw, a parser would turn them into spaces).
fn attribute(v: &str) -> String {
    quick_xml::escape::escape(v)
        .replace('\t', "&#9;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
}

/// Renders metadata back as a `meta-data-list` document (for `documents/{id}/metas`).
pub fn render_metadata_list(items: &[MetaData]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<meta-data-list>\n",
    );
    for m in items {
        s.push_str(&format!(
            "  <meta-data name=\"{}\" value=\"{}\"/>\n",
            attribute(&m.name),
            attribute(&m.value)
        ));
    }
    s.push_str("</meta-data-list>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SPEC: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<meta-data-list>
  <meta-data name="TEXT_001" value="John"/>
  <meta-data name="TEXT_002" value="Doe &amp; fils"/>
  <meta-data name="NUM_001" value="45812"></meta-data>
</meta-data-list>"#;

    #[test]
    fn parses_the_spec_example() {
        let m = parse_metadata_list(SPEC.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.len(), 3);
        assert_eq!(m[1].value, "Doe & fils");
        let again = parse_metadata_list(render_metadata_list(&m).as_bytes());
        assert_eq!(again, Ok(m));
    }

    #[test]
    fn line_breaks_and_tabs_survive_the_round_trip_and_control_characters_are_refused() {
        // Found by fuzzing: a value with `&#13;` came back as a space.
        let xml = br#"<meta-data-list><meta-data name="adresse" value="1 rue&#13;&#10;75001&#9;Paris"/></meta-data-list>"#;
        let list = parse_metadata_list(xml).unwrap();
        assert_eq!(list[0].value, "1 rue\r\n75001\tParis");
        let again = parse_metadata_list(render_metadata_list(&list).as_bytes()).unwrap();
        assert_eq!(again, list);
        // Raw, they are whitespace the parser normalises (XML's attribute-value normalisation).
        let raw = b"<meta-data-list><meta-data name=\"a\" value=\"x\ny\"/></meta-data-list>";
        assert_eq!(parse_metadata_list(raw).unwrap()[0].value, "x y");
        for bad in [
            &br#"<meta-data-list><meta-data name="a" value="&#7;"/></meta-data-list>"#[..],
            &b"<meta-data-list><meta-data name=\"a\0\" value=\"v\"/></meta-data-list>"[..],
        ] {
            let e = parse_metadata_list(bad).unwrap_err().to_string();
            assert!(e.contains("XML does not allow"), "{e}");
        }
    }

    #[test]
    fn refuses_entities_and_doctype() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<meta-data-list><meta-data name="a" value="&x;"/></meta-data-list>"#;
        assert!(parse_metadata_list(xxe.as_bytes()).is_err());
        let bomb = r#"<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>
<meta-data-list><meta-data name="a" value="&b;"/></meta-data-list>"#;
        assert!(parse_metadata_list(bomb.as_bytes()).is_err());
        let undeclared = r#"<meta-data-list><meta-data name="a" value="&x;"/></meta-data-list>"#;
        assert!(parse_metadata_list(undeclared.as_bytes()).is_err());
    }

    #[test]
    fn refuses_wrong_shapes() {
        for bad in [
            "",
            "<other/>",
            "<meta-data-list><meta-data value='x'/></meta-data-list>",
            "<meta-data-list><meta-data name='a'/><meta-data name='a'/></meta-data-list>",
            "<meta-data-list><x/></meta-data-list>",
            "<meta-data-list>texte</meta-data-list>",
            "<meta-data-list><meta-data name='a'>",
            "<meta-data-list/><meta-data-list/>",
        ] {
            assert!(parse_metadata_list(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse_metadata_list(s.as_bytes());
        }

        #[test]
        fn roundtrip(pairs in prop::collection::btree_map("[A-Za-z_][A-Za-z0-9_]{0,10}", "\\PC{0,20}", 0..8)) {
            let items: Vec<MetaData> = pairs.into_iter().map(|(name, value)| MetaData { name, value }).collect();
            let xml = render_metadata_list(&items);
            prop_assert_eq!(parse_metadata_list(xml.as_bytes()), Ok(items));
        }
    }
}
