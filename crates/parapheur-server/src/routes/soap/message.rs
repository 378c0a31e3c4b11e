//! SOAP 1.1 messages of the Documents service, free of I/O: the request envelope parsed into a
//! small element tree (no DTD, bounded depth and size), and the response and fault envelopes.

use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// The namespace of the JAX-WS service the clients were written against.
pub const SEI_NS: &str = "http://sei.ws.fast.cdc.com/";
pub const XOP_NS: &str = "http://www.w3.org/2004/08/xop/include";

/// Deeper than any message of this service; a bound against hostile nesting.
const MAX_DEPTH: usize = 32;
/// More elements than any message of this service has.
const MAX_ELEMENTS: usize = 10_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("a DOCTYPE is not allowed in a SOAP message")]
    Doctype,
    #[error("not a SOAP 1.1 envelope: {0}")]
    NotSoap(String),
    #[error("SOAP 1.2 envelopes are not served; send SOAP 1.1")]
    VersionMismatch,
    #[error("the SOAP Body holds no operation element")]
    NoOperation,
    #[error("the message is nested too deeply or has too many elements")]
    TooLarge,
}

/// An element of the request: local name, namespace, text, children and, for an MTOM
/// attachment, the `cid:` reference of its `xop:Include`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Element {
    pub ns: String,
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
    pub include: Option<String>,
}

impl Element {
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The trimmed text of the first child with this local name; empty when absent.
    pub fn text_of(&self, name: &str) -> String {
        self.child(name)
            .map(|c| c.text.trim().to_owned())
            .unwrap_or_default()
    }
}

fn malformed(e: impl std::fmt::Display) -> EnvelopeError {
    EnvelopeError::Malformed(e.to_string())
}

fn namespace(r: &ResolveResult<'_>) -> String {
    match r {
        ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
        _ => String::new(),
    }
}

/// Parses a SOAP 1.1 envelope and returns the operation element (the first child of Body).
pub fn parse_request(xml: &[u8]) -> Result<Element, EnvelopeError> {
    let text = std::str::from_utf8(xml).map_err(|_| malformed("the message is not UTF-8"))?;
    let mut reader = quick_xml::NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let (res, ev) = reader.read_resolved_event().map_err(malformed)?;
        match ev {
            Event::DocType(_) => return Err(EnvelopeError::Doctype),
            Event::Start(ref e) | Event::Empty(ref e) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(EnvelopeError::TooLarge);
                }
                let el = Element {
                    ns: namespace(&res),
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Element::default()
                };
                if el.ns == XOP_NS && el.name == "Include" {
                    for a in e.attributes() {
                        let a = a.map_err(malformed)?;
                        if a.key.local_name().as_ref() == b"href" {
                            let v = a
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .map_err(malformed)?;
                            if let Some(parent) = stack.last_mut() {
                                parent.include = Some(v.into_owned());
                            }
                        }
                    }
                }
                if matches!(ev, Event::Start(_)) {
                    stack.push(el);
                } else {
                    attach(&mut stack, &mut root, el)?;
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| malformed("unexpected end tag"))?;
                attach(&mut stack, &mut root, el)?;
            }
            Event::Text(t) => {
                let s = t.decode().map_err(malformed)?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(malformed("text outside the envelope")),
                }
            }
            Event::CData(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.decode().map_err(malformed)?);
                }
            }
            Event::GeneralRef(r) => {
                let ch = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(malformed)?
                        .map(String::from)
                        .ok_or_else(|| malformed("invalid character reference"))?
                } else {
                    let name = r.decode().map_err(malformed)?;
                    quick_xml::escape::resolve_predefined_entity(&name)
                        .map(str::to_owned)
                        .ok_or_else(|| malformed(format!("unknown entity &{name};")))?
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&ch);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(malformed("truncated message: unclosed element"));
    }
    let envelope = root.ok_or_else(|| malformed("empty message"))?;
    if envelope.name != "Envelope" {
        return Err(EnvelopeError::NotSoap(format!(
            "the root element is <{}>",
            envelope.name
        )));
    }
    match envelope.ns.as_str() {
        SOAP11_NS => {}
        SOAP12_NS => return Err(EnvelopeError::VersionMismatch),
        other => {
            return Err(EnvelopeError::NotSoap(format!(
                "the Envelope namespace is {other:?}"
            )));
        }
    }
    let body = envelope
        .children
        .into_iter()
        .find(|c| c.name == "Body" && c.ns == SOAP11_NS)
        .ok_or_else(|| EnvelopeError::NotSoap("no Body".into()))?;
    body.children
        .into_iter()
        .next()
        .ok_or(EnvelopeError::NoOperation)
}

fn attach(
    stack: &mut [Element],
    root: &mut Option<Element>,
    el: Element,
) -> Result<(), EnvelopeError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None if root.is_none() => *root = Some(el),
        None => return Err(malformed("more than one root element")),
    }
    Ok(())
}

/// A value of a response: text, a sequence of fields (an object for PHP), or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Fields(Vec<(&'static str, Value)>),
}

fn render_value(out: &mut String, name: &str, v: &Value) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    match v {
        Value::Text(t) => out.push_str(&escape(t.as_str())),
        Value::Fields(fields) => {
            for (n, f) in fields {
                render_value(out, n, f);
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\"{SOAP11_NS}\"><soap:Body>{body}</soap:Body></soap:Envelope>"
    )
}

/// The `{operation}Response` envelope with one `return` element per value (none, one or many).
pub fn response(operation: &str, returns: &[Value]) -> String {
    let mut body = format!("<ns2:{operation}Response xmlns:ns2=\"{SEI_NS}\">");
    for r in returns {
        render_value(&mut body, "return", r);
    }
    body.push_str(&format!("</ns2:{operation}Response>"));
    envelope(&body)
}

/// Who caused a fault: the request (`soap:Client`) or the server (`soap:Server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    Client,
    Server,
    VersionMismatch,
}

/// A SOAP 1.1 fault carrying the FAST error: the code and both messages in `detail`.
pub fn fault(
    code: FaultCode,
    faultstring: &str,
    error_code: u32,
    developer: &str,
    user: &str,
) -> String {
    let code = match code {
        FaultCode::Client => "soap:Client",
        FaultCode::Server => "soap:Server",
        FaultCode::VersionMismatch => "soap:VersionMismatch",
    };
    envelope(&format!(
        "<soap:Fault><faultcode>{code}</faultcode><faultstring>{}</faultstring><detail><ns2:fastFault xmlns:ns2=\"{SEI_NS}\"><errorCode>{error_code}</errorCode><developerMessage>{}</developerMessage><userFriendlyMessage>{}</userFriendlyMessage></ns2:fastFault></detail></soap:Fault>",
        escape(faultstring),
        escape(developer),
        escape(user)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="http://sei.ws.fast.cdc.com/">
<SOAP-ENV:Header><x:Security xmlns:x="urn:x"><x:t>ignored</x:t></x:Security></SOAP-ENV:Header>
<SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"#
        )
    }

    #[test]
    fn an_upload_is_read_with_its_nested_file() {
        let op = parse_request(env(
            "<ns1:upload><label>D&#233;lib &amp; co</label><comment/><subscriberId> 200000001 </subscriberId>\
             <circuitId>PDF</circuitId><dataFileVO><filename>a.pdf</filename>\
             <dataHandler>JVBE\nRi0x</dataHandler></dataFileVO></ns1:upload>",
        )
        .as_bytes())
        .unwrap();
        assert_eq!(op.name, "upload");
        assert_eq!(op.ns, SEI_NS);
        assert_eq!(op.text_of("label"), "Délib & co");
        assert_eq!(op.text_of("comment"), "");
        assert_eq!(op.text_of("subscriberId"), "200000001");
        assert_eq!(op.text_of("missing"), "");
        let file = op.child("dataFileVO").unwrap();
        assert_eq!(file.text_of("filename"), "a.pdf");
        assert_eq!(file.child("dataHandler").unwrap().text, "JVBE\nRi0x");
    }

    #[test]
    fn an_mtom_reference_is_kept_on_its_element() {
        let op = parse_request(env(
            r#"<ns1:upload><dataFileVO><dataHandler><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:abc%40cxf"/></dataHandler></dataFileVO></ns1:upload>"#,
        ).as_bytes())
        .unwrap();
        let dh = op
            .child("dataFileVO")
            .unwrap()
            .child("dataHandler")
            .unwrap();
        assert_eq!(dh.include.as_deref(), Some("cid:abc%40cxf"));
    }

    #[test]
    fn hostile_or_broken_envelopes_are_refused() {
        let doctype = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}",
            env("<ns1:history><documentId>&e;</documentId></ns1:history>")
                .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        );
        assert_eq!(
            parse_request(doctype.as_bytes()),
            Err(EnvelopeError::Doctype)
        );
        assert!(matches!(
            parse_request(
                env("<ns1:history><documentId>&e;</documentId></ns1:history>").as_bytes()
            ),
            Err(EnvelopeError::Malformed(_))
        ));
        assert!(matches!(
            parse_request(b"<a><b></a>"),
            Err(EnvelopeError::Malformed(_))
        ));
        assert!(matches!(
            parse_request(b"<Envelope><Body><x/></Body></Envelope>"),
            Err(EnvelopeError::NotSoap(_))
        ));
        assert_eq!(
            parse_request(
                br#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><x/></e:Body></e:Envelope>"#
            ),
            Err(EnvelopeError::VersionMismatch)
        );
        assert_eq!(
            parse_request(env("").as_bytes()),
            Err(EnvelopeError::NoOperation)
        );
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(
            parse_request(env(&deep).as_bytes()),
            Err(EnvelopeError::TooLarge)
        );
        assert!(matches!(
            parse_request(&[0xff, 0xfe, 0x00]),
            Err(EnvelopeError::Malformed(_))
        ));
    }

    #[test]
    fn responses_and_faults_round_trip_through_the_parser() {
        let xml = response(
            "history",
            &[Value::Fields(vec![
                ("userFullName", Value::Text("Anne <A>".into())),
                ("stateName", Value::Text("Signé".into())),
            ])],
        );
        let r = parse_request(xml.as_bytes()).unwrap();
        assert_eq!(r.name, "historyResponse");
        assert_eq!(r.ns, SEI_NS);
        let ret = r.child("return").unwrap();
        assert_eq!(ret.text_of("userFullName"), "Anne <A>");
        assert_eq!(ret.text_of("stateName"), "Signé");
        assert!(response("delete", &[]).contains(
            "<ns2:deleteResponse xmlns:ns2=\"http://sei.ws.fast.cdc.com/\"></ns2:deleteResponse>"
        ));
        let f =
            parse_request(fault(FaultCode::Client, "n'existe pas & co", 103, "d", "u").as_bytes())
                .unwrap();
        assert_eq!(f.name, "Fault");
        assert_eq!(f.text_of("faultcode"), "soap:Client");
        assert_eq!(f.text_of("faultstring"), "n'existe pas & co");
        let detail = f.child("detail").unwrap().child("fastFault").unwrap();
        assert_eq!(detail.text_of("errorCode"), "103");
    }
}
