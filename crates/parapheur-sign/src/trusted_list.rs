//! EU trusted lists (ETSI TS 119 612): the certificates of the trust services a member state's
//! supervisory body lists, read from a file the operator downloaded (the French list is
//! published by the ANSSI). What verification takes from it:
//! - signer anchors: certification authorities (`CA/QC`, and `CA/PKC` recognised at national
//!   level, where RGS certificates are listed) whose *current* status is granted;
//! - timestamp anchors: time-stamping authorities (`TSA/QTST` and the older `TSA` types) whose
//!   current status is granted.
//!
//! The file is read as a stream of events (quick-xml, no tree, DTDs refused, no entity
//! expansion) within [`Limits`]. The list's own XML signature is not checked: the operator
//! chooses the file, as they choose `[signing] trust_anchors`. A service's history (a status it
//! had before) is not used: a service withdrawn today no longer anchors anything, even for
//! signatures made while it was granted.

use crate::SignError;
use base64::Engine;
use openssl::x509::X509;
use quick_xml::events::Event;

/// What reading a list may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The file's size (the largest national lists are a few megabytes).
    pub max_bytes: usize,
    /// Element nesting (a list is about ten levels deep).
    pub max_depth: usize,
    /// Services (`TSPService` elements) in the list.
    pub max_services: usize,
    /// The text of one element (a certificate in base64 is a few kilobytes).
    pub max_text_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            max_depth: 32,
            max_services: 20_000,
            max_text_bytes: 256 << 10,
        }
    }
}

/// What a trusted list contributes to verification.
#[derive(Debug, Default)]
pub struct TrustedList {
    /// `SchemeTerritory` (e.g. `FR`).
    pub territory: Option<String>,
    /// Certification authorities whose certificates verification trusts.
    pub signer_anchors: Vec<X509>,
    /// Time-stamping authorities whose tokens verification trusts.
    pub tsa_anchors: Vec<X509>,
    /// Services read.
    pub services: usize,
    /// Services left out: another type, not granted, or a certificate that does not decode.
    pub skipped: usize,
}

const STATUS_GRANTED: &[&str] = &[
    "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted",
    "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/recognisedatnationallevel",
    // Before eIDAS (lists of 2016 and earlier).
    "http://uri.etsi.org/TrstSvc/Svcstatus/undersupervision",
    "http://uri.etsi.org/TrstSvc/Svcstatus/supervisionincessation",
    "http://uri.etsi.org/TrstSvc/Svcstatus/accredited",
];

const CA_TYPES: &[&str] = &[
    "http://uri.etsi.org/TrstSvc/Svctype/CA/QC",
    "http://uri.etsi.org/TrstSvc/Svctype/CA/PKC",
];

const TSA_TYPES: &[&str] = &[
    "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST",
    "http://uri.etsi.org/TrstSvc/Svctype/TSA",
    "http://uri.etsi.org/TrstSvc/Svctype/TSA/TSS-QC",
    "http://uri.etsi.org/TrstSvc/Svctype/TSA/TSS-AdESQCandQES",
];

/// One `TSPService` while it is read: its current information only.
#[derive(Default)]
struct Service {
    kind: String,
    status: String,
    certificates: Vec<String>,
}

fn invalid(msg: impl Into<String>) -> SignError {
    SignError::Invalid(format!("trusted list: {}", msg.into()))
}

/// Reads the trusted list `xml` within `limits`.
pub fn read(xml: &[u8], limits: &Limits) -> Result<TrustedList, SignError> {
    if xml.len() > limits.max_bytes {
        return Err(invalid(format!(
            "{} bytes, more than the {} allowed",
            xml.len(),
            limits.max_bytes
        )));
    }
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut list = TrustedList::default();
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut text = String::new();
    let mut service: Option<Service> = None;
    let mut seen_root = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| invalid(format!("malformed XML: {e}")))?;
        match event {
            Event::DocType(_) => return Err(invalid("a DOCTYPE is refused")),
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_vec();
                if path.is_empty() {
                    if name != b"TrustServiceStatusList" {
                        return Err(invalid("the root is not a TrustServiceStatusList"));
                    }
                    seen_root = true;
                }
                if name == b"TSPService" {
                    list.services += 1;
                    if list.services > limits.max_services {
                        return Err(invalid(format!(
                            "more than {} services",
                            limits.max_services
                        )));
                    }
                    service = Some(Service::default());
                }
                path.push(name);
                if path.len() > limits.max_depth {
                    return Err(invalid(format!(
                        "elements nested deeper than {}",
                        limits.max_depth
                    )));
                }
                text.clear();
            }
            Event::Empty(e) => {
                if path.is_empty() {
                    if e.local_name().as_ref() != b"TrustServiceStatusList" {
                        return Err(invalid("the root is not a TrustServiceStatusList"));
                    }
                    seen_root = true;
                }
                text.clear();
            }
            Event::Text(t) => push_text(&mut text, t.as_ref(), limits)?,
            Event::CData(t) => push_text(&mut text, t.as_ref(), limits)?,
            Event::End(_) => {
                let Some(name) = path.pop() else {
                    return Err(invalid("unbalanced elements"));
                };
                let parent = path.last().map(Vec::as_slice);
                let value = std::mem::take(&mut text);
                match (name.as_slice(), parent) {
                    (b"SchemeTerritory", Some(b"SchemeInformation")) => {
                        list.territory = Some(value.trim().to_owned());
                    }
                    (b"ServiceTypeIdentifier", Some(b"ServiceInformation")) => {
                        if let Some(s) = service.as_mut() {
                            s.kind = value.trim().to_owned();
                        }
                    }
                    (b"ServiceStatus", Some(b"ServiceInformation")) => {
                        if let Some(s) = service.as_mut() {
                            s.status = value.trim().to_owned();
                        }
                    }
                    // ServiceInformation/ServiceDigitalIdentity/DigitalId/X509Certificate: not
                    // the certificates of the service's history.
                    (b"X509Certificate", Some(b"DigitalId"))
                        if path.len() >= 3
                            && path[path.len() - 3].as_slice() == b"ServiceInformation" =>
                    {
                        if let Some(s) = service.as_mut() {
                            s.certificates.push(value);
                        }
                    }
                    (b"TSPService", _) => {
                        if let Some(s) = service.take() {
                            keep(&mut list, s);
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root || !path.is_empty() {
        return Err(invalid("the document ends before its root element does"));
    }
    Ok(list)
}

fn push_text(text: &mut String, bytes: &[u8], limits: &Limits) -> Result<(), SignError> {
    if text.len() + bytes.len() > limits.max_text_bytes {
        return Err(invalid(format!(
            "an element's text is longer than {} bytes",
            limits.max_text_bytes
        )));
    }
    text.push_str(&String::from_utf8_lossy(bytes));
    Ok(())
}

/// Adds the certificates of a granted CA or TSA service to the anchors.
fn keep(list: &mut TrustedList, s: Service) {
    let granted = STATUS_GRANTED.contains(&s.status.as_str());
    let into = if !granted {
        None
    } else if CA_TYPES.contains(&s.kind.as_str()) {
        Some(&mut list.signer_anchors)
    } else if TSA_TYPES.contains(&s.kind.as_str()) {
        Some(&mut list.tsa_anchors)
    } else {
        None
    };
    let Some(into) = into else {
        list.skipped += 1;
        return;
    };
    let mut any = false;
    for b64 in &s.certificates {
        let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
        let cert = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .ok()
            .and_then(|der| X509::from_der(&der).ok());
        if let Some(cert) = cert {
            into.push(cert);
            any = true;
        }
    }
    if !any {
        list.skipped += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(kind: &str, status: &str, cert_b64: &str, history_cert: &str) -> String {
        format!(
            "<tsl:TSPService><tsl:ServiceInformation>\
             <tsl:ServiceTypeIdentifier>http://uri.etsi.org/TrstSvc/Svctype/{kind}</tsl:ServiceTypeIdentifier>\
             <tsl:ServiceName><tsl:Name xml:lang=\"fr\">Service &amp; co</tsl:Name></tsl:ServiceName>\
             <tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>{cert_b64}</tsl:X509Certificate>\
             </tsl:DigitalId></tsl:ServiceDigitalIdentity>\
             <tsl:ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/{status}</tsl:ServiceStatus>\
             </tsl:ServiceInformation><tsl:ServiceHistory><tsl:ServiceHistoryInstance>\
             <tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>{history_cert}</tsl:X509Certificate>\
             </tsl:DigitalId></tsl:ServiceDigitalIdentity></tsl:ServiceHistoryInstance></tsl:ServiceHistory>\
             </tsl:TSPService>"
        )
    }

    fn list(services: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <tsl:TrustServiceStatusList xmlns:tsl=\"http://uri.etsi.org/02231/v2#\">\
             <tsl:SchemeInformation><tsl:SchemeTerritory>FR</tsl:SchemeTerritory></tsl:SchemeInformation>\
             <tsl:TrustServiceProviderList><tsl:TrustServiceProvider><tsl:TSPServices>{services}\
             </tsl:TSPServices></tsl:TrustServiceProvider></tsl:TrustServiceProviderList>\
             </tsl:TrustServiceStatusList>"
        )
    }

    fn cert_b64(name: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let ca = crate::ca::InternalCa::open_or_create(dir.path(), name).unwrap();
        let der = ca.certificate().to_der().unwrap();
        // Wrapped as lists wrap it.
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        b64.as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn granted_cas_and_tsas_are_anchors_and_nothing_else_is() {
        let (qc, pkc, tsa, gone, other, old) = (
            cert_b64("AC qualifiée"),
            cert_b64("AC RGS"),
            cert_b64("Horodatage"),
            cert_b64("AC retirée"),
            cert_b64("Envoi recommandé"),
            cert_b64("Ancienne clé"),
        );
        let xml = list(
            &[
                service("CA/QC", "granted", &qc, &old),
                service("CA/PKC", "recognisedatnationallevel", &pkc, &old),
                service("TSA/QTST", "granted", &tsa, &old),
                service("CA/QC", "withdrawn", &gone, &old),
                service("EDS/Q", "granted", &other, &old),
                service("CA/QC", "granted", "pas du base64", &old),
            ]
            .concat(),
        );
        let l = read(xml.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(l.territory.as_deref(), Some("FR"));
        assert_eq!((l.services, l.skipped), (6, 3));
        let names = |v: &[X509]| -> Vec<String> {
            let utf8 = |b: Vec<u8>| String::from_utf8(b).unwrap();
            v.iter()
                .map(|c| {
                    c.subject_name()
                        .entries_by_nid(openssl::nid::Nid::COMMONNAME)
                        .next()
                        .unwrap()
                        .data()
                        .as_slice()
                        .to_vec()
                })
                .map(utf8)
                .collect()
        };
        assert_eq!(names(&l.signer_anchors), ["AC qualifiée", "AC RGS"]);
        assert_eq!(names(&l.tsa_anchors), ["Horodatage"]);
    }

    #[test]
    fn bad_lists_are_refused_within_the_limits() {
        let limits = Limits {
            max_depth: 12,
            max_services: 2,
            ..Limits::default()
        };
        let deep = format!(
            "<TrustServiceStatusList>{}{}</TrustServiceStatusList>",
            "<a>".repeat(20),
            "</a>".repeat(20)
        );
        let many = list(&service("CA/QC", "granted", "", "").repeat(3));
        let doctype = "<!DOCTYPE x [<!ENTITY e \"e\">]><TrustServiceStatusList/>";
        for (xml, why) in [
            (deep.as_str(), "nested deeper"),
            (many.as_str(), "more than 2 services"),
            (doctype, "DOCTYPE"),
            ("<html/>", "not a TrustServiceStatusList"),
            ("<TrustServiceStatusList><a>", "ends before"),
        ] {
            let e = read(xml.as_bytes(), &limits).unwrap_err().to_string();
            assert!(e.contains(why), "{why}: {e}");
        }
        let small = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert!(read(many.as_bytes(), &small).is_err());
    }
}
