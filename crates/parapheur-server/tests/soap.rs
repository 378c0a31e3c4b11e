//! The SOAP Documents service driven by PHP's own `SoapClient` (Debian `php-cli php-soap`)
//! pointed at our WSDL, replaying what Pastell and ESUP-Oasis send; MTOM uploads and malformed
//! envelopes sent by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use parapheur_test_utils::browser::{php_soap, wait_for};
use parapheur_test_utils::{SIREN_A, SIREN_B, TestApp, pdf, pes_aller, unzip};
use serde_json::{Value, json};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const SOAP: &str = "/parapheur-soap/soap/v1/Documents";

/// PHP's SoapClient on this server's WSDL.
fn php(app: &TestApp, options: Value, calls: Value) -> Vec<Value> {
    php_soap(&format!("{}{SOAP}?wsdl", app.base), options, calls)
}

fn login(email: &str, password: &str) -> Value {
    json!({ "login": email, "password": password })
}

fn ok(v: &Value) -> &Value {
    v.get("ok")
        .unwrap_or_else(|| panic!("expected a result, got {v}"))
}

fn fault(v: &Value) -> &Value {
    v.get("fault")
        .unwrap_or_else(|| panic!("expected a fault, got {v}"))
}

fn b64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap_or_else(|| panic!("not base64 text: {v}")))
        .unwrap()
}

fn write_tmp(dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn pastell_and_esup_sequences_through_php_soapclient() {
    let app = TestApp::start(BIN, "");
    let tmp = tempfile::tempdir().unwrap();
    let depot = login("depot@a.fr", "password-depot");
    let signed_src = pdf::sample("Délibération SOAP", 2, 0);
    let refused_src = pdf::small("Arrêté refusé");

    // Pastell: the connection test, the circuits, then the deposits.
    let r = php(
        &app,
        depot.clone(),
        json!([
            { "op": "listRemainingAcknowledgements", "args": { "siren": SIREN_A } },
            { "op": "getCircuits", "args": { "siren": SIREN_A } },
            { "op": "upload", "args": {
                "subscriberId": SIREN_A, "circuitId": "S", "label": "", "comment": "",
                "dataFileVO": { "filename": "deliberation.pdf",
                                "dataHandler": { "@file": write_tmp(tmp.path(), "a.pdf", &signed_src) } } } },
            { "op": "upload", "args": {
                "subscriberId": SIREN_A, "circuitId": "VV", "label": "Arrêtés", "comment": "à viser",
                "dataFileVO": { "filename": "arrete.pdf",
                                "dataHandler": { "@file": write_tmp(tmp.path(), "b.pdf", &refused_src) } } } },
        ]),
    );
    // No acknowledgement yet: no `return` at all (what FastTdt reads as "none").
    assert_eq!(ok(&r[0]), &json!({}));
    let circuits = ok(&r[1])["return"].as_array().unwrap().clone();
    let ids: Vec<&str> = circuits
        .iter()
        .map(|c| c["circuitId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"S") && ids.contains(&"VVS"), "{ids:?}");
    let s = circuits.iter().find(|c| c["circuitId"] == "S").unwrap();
    assert_eq!(s["circuitType"], "BUREAUTIQUE_PDF");
    assert_eq!(s["circuitName"], "S");
    let signed: i64 = ok(&r[2])["return"].as_str().unwrap().parse().unwrap();
    let refused: i64 = ok(&r[3])["return"].as_str().unwrap().parse().unwrap();

    // The documents are the REST ones: same ids, same circuits, same people.
    let rest = app.as_user("depot@a.fr");
    assert_eq!(rest.states(signed), ["Préparé", "Envoyé pour signature"]);
    assert_eq!(app.as_user("s1@a.fr").act(signed, "sign", None).status, 200);
    assert_eq!(
        app.as_user("v1@a.fr")
            .act(refused, "reject", Some("Montant erroné"))
            .status,
        200
    );

    let r = php(
        &app,
        depot.clone(),
        json!([
            { "op": "history", "args": { "documentId": signed.to_string() } },
            { "op": "download", "args": { "documentId": signed.to_string() } },
            { "op": "getFdc", "args": { "documentId": signed.to_string() } },
            { "op": "download", "args": { "documentId": signed.to_string(), "fdc": "true" } },
            { "op": "history", "args": { "documentId": refused.to_string() } },
            { "op": "getRefusalMessage", "args": { "documentId": refused.to_string() } },
            { "op": "delete", "args": { "documentId": refused.to_string() } },
            { "op": "history", "args": { "documentId": refused.to_string() } },
            { "op": "getRefusalMessage", "args": { "documentId": signed.to_string() } },
        ]),
    );
    // History: the REST states, in order, each with an ISO date Pastell's strtotime reads.
    let history = ok(&r[0])["return"].as_array().unwrap().clone();
    let states: Vec<&str> = history
        .iter()
        .map(|h| h["stateName"].as_str().unwrap())
        .collect();
    assert_eq!(states, rest.states(signed));
    assert!(states.contains(&"Signé"), "{states:?}");
    assert_eq!(history[0]["userFullName"], "Denise Dépôt");
    let date = history.last().unwrap()["date"].as_str().unwrap();
    assert!(
        date.len() >= 25 && date.as_bytes()[10] == b'T' && date.contains(['+', 'Z']),
        "{date}"
    );
    // download: the signed PDF, byte for byte what REST delivers, with its signature.
    let pdf_bytes = b64(&ok(&r[1])["return"]["content"]);
    assert_eq!(ok(&r[1])["return"]["documentId"], signed.to_string());
    let rest_pdf = rest.get(&format!(
        "/parapheur-ws/rest/v1/documents/v2/{signed}/download"
    ));
    assert_eq!(pdf_bytes, rest_pdf.body);
    assert!(pdf_bytes.starts_with(b"%PDF") && pdf_bytes.len() > signed_src.len());
    assert!(pdf_bytes.windows(10).any(|w| w == b"/ByteRange"));
    // getFdc: the fiche de circulation as a PDF.
    let fiche = b64(&ok(&r[2])["return"]["content"]);
    assert!(fiche.starts_with(b"%PDF"));
    // fdc=true: a ZIP with the document and the fiche, as REST `FdC`.
    let zip = unzip(&b64(&ok(&r[3])["return"]["content"]));
    let names: Vec<&str> = zip.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "deliberation.pdf".to_owned(),
            format!("fiche-de-circulation-{signed}.pdf")
        ]
    );
    // The refused document: "Visa désapprouvé" last, its reason, then deleted (Pastell's order).
    let last = ok(&r[4])["return"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["stateName"], "Visa désapprouvé");
    assert_eq!(ok(&r[5])["return"], "Montant erroné");
    assert_eq!(ok(&r[6]), &json!({}));
    let gone = fault(&r[7]);
    assert_eq!(gone["errorCode"], 103);
    // ESUP-Oasis tells "unknown document" from the message only.
    assert!(
        gone["string"].as_str().unwrap().contains("n'existe pas"),
        "{gone}"
    );
    assert_eq!(gone["code"], "soap:Client");
    assert_eq!(fault(&r[8])["errorCode"], 102);

    // ESUP-Oasis: explicit location, SOAP 1.1, a key the WSDL does not declare (dropped), and
    // download with the string flags 'false' (the document alone, not a ZIP).
    let esup = json!({
        "login": "depot@a.fr", "password": "password-depot",
        "location": format!("{}{SOAP}", app.base), "soap_version": "1.1",
    });
    let r = php(
        &app,
        esup,
        json!([
            { "op": "upload", "args": {
                "label": "Convention", "comment": "", "subscriberId": SIREN_A, "circuitId": "S",
                "email_destinataire": "x@y.fr",
                "dataFileVO": { "filename": "convention.pdf",
                                "dataHandler": { "@file": write_tmp(tmp.path(), "c.pdf", &signed_src) } } } },
            { "op": "download", "args": { "documentId": signed.to_string(), "fdc": "false", "acquit": "false" } },
        ]),
    );
    let esup_id: i64 = ok(&r[0])["return"].as_str().unwrap().parse().unwrap();
    assert_eq!(rest.states(esup_id), ["Préparé", "Envoyé pour signature"]);
    assert_eq!(b64(&ok(&r[1])["return"]["content"]), pdf_bytes);

    // Tenant isolation and authentication, as on REST.
    let b = login("depot@b.fr", "password-depot-b");
    let r = php(
        &app,
        b,
        json!([
            { "op": "history", "args": { "documentId": signed.to_string() } },
            { "op": "download", "args": { "documentId": signed.to_string() } },
            { "op": "getCircuits", "args": { "siren": SIREN_A } },
            { "op": "getCircuits", "args": { "siren": SIREN_B } },
            { "op": "upload", "args": {
                "subscriberId": SIREN_A, "circuitId": "S",
                "dataFileVO": { "filename": "x.pdf",
                                "dataHandler": { "@file": write_tmp(tmp.path(), "d.pdf", &refused_src) } } } },
            { "op": "getCircuits", "args": { "siren": "123" } },
            { "op": "delete", "args": { "documentId": signed.to_string() } },
        ]),
    );
    assert_eq!(fault(&r[0])["errorCode"], 103);
    assert_eq!(fault(&r[1])["errorCode"], 103);
    assert_eq!(fault(&r[2])["errorCode"], 100);
    // Commune B sees its own circuit only (one: PHP makes it an object, not a list).
    assert_eq!(ok(&r[3])["return"]["circuitId"], "VV");
    assert!(!ok(&r[3]).to_string().contains("VVS"));
    assert_eq!(fault(&r[4])["errorCode"], 100);
    assert_eq!(fault(&r[5])["errorCode"], 111);
    assert_eq!(fault(&r[6])["errorCode"], 103);
    assert_eq!(rest.states(signed).last().unwrap(), "Classé");

    let r = php(
        &app,
        login("depot@a.fr", "wrong"),
        json!([{ "op": "getCircuits", "args": { "siren": SIREN_A } }]),
    );
    assert_eq!(fault(&r[0])["errorCode"], 101, "{r:?}");
}

const HELIOS: &str = parapheur_test_utils::HELIOS_CIRCUIT;

#[test]
fn helios_acknowledgements_and_duplicates_as_pastell_reads_them() {
    let app = TestApp::start_with(
        BIN,
        "[jobs]\npoll_ms = 50\nretry_base_ms = 100\n[helios]\npoll_ms = 50\nsimulator_ack_delay_ms = 200\n",
        HELIOS,
        &[],
    );
    let tmp = tempfile::tempdir().unwrap();
    let depot = login("depot@a.fr", "password-depot");
    let pes = write_tmp(tmp.path(), "pes.xml", &pes_aller("PESALR2_SOAP_1"));
    let upload = json!({ "op": "upload", "args": {
        "subscriberId": SIREN_A, "circuitId": "PESAVEC", "label": "", "comment": "",
        "dataFileVO": { "filename": "mandats.xml", "dataHandler": { "@file": pes } } } });
    let r = php(&app, depot.clone(), json!([upload.clone(), upload]));
    let id: i64 = ok(&r[0])["return"].as_str().unwrap().parse().unwrap();
    // The same NomFic again: the words Pastell turns into "Doublon | ...".
    let dup = fault(&r[1]);
    assert_eq!(dup["errorCode"], 126);
    assert!(
        dup["string"]
            .as_str()
            .unwrap()
            .contains("un fichier PES avec le même nomfic a deja ete envoye"),
        "{dup}"
    );

    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    let rest = app.as_user("depot@a.fr");
    wait_for(Duration::from_secs(20), "Classé", || {
        rest.states(id).iter().any(|s| s == "Classé").then_some(())
    });
    let r = php(
        &app,
        depot,
        json!([
            { "op": "listRemainingAcknowledgements", "args": { "siren": SIREN_A } },
            { "op": "downloadAcknowledgement", "args": { "documentId": id.to_string() } },
            { "op": "listRemainingAcknowledgements", "args": { "siren": SIREN_A } },
            { "op": "download", "args": { "documentId": id.to_string(), "acquit": "true" } },
        ]),
    );
    // One acknowledgement: a lone string, which FastTdt wraps into a one-item list.
    assert_eq!(ok(&r[0]), &json!({ "return": id.to_string() }));
    let ack = b64(&ok(&r[1])["return"]["content"]);
    let ack = String::from_utf8(ack).unwrap();
    assert!(
        ack.contains("<PES_ACQUIT>") && ack.contains("ACQUIT_PESALR2_SOAP_1"),
        "{ack}"
    );
    assert_eq!(ok(&r[2]), &json!({}));
    let zip = unzip(&b64(&ok(&r[3])["return"]["content"]));
    assert_eq!(zip.len(), 2, "the PES and its acknowledgement");
}

/// A hand-built request (what Java and .NET stacks send): MTOM/XOP, or broken on purpose.
fn post(app: &TestApp, content_type: &str, body: Vec<u8>) -> (u16, String) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}{SOAP}", app.base))
        .basic_auth("depot@a.fr", Some("password-depot"))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns2="http://sei.ws.fast.cdc.com/"><soap:Body>{body}</soap:Body></soap:Envelope>"#
    )
}

#[test]
fn mtom_uploads_and_malformed_envelopes() {
    let app = TestApp::start(BIN, "max_upload_bytes = 200000\n");
    let doc = pdf::small("Convention MTOM");
    let root = envelope(
        r#"<ns2:upload><label>MTOM</label><comment></comment><subscriberId>200000001</subscriberId><circuitId>S</circuitId><dataFileVO><dataHandler><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:doc-1%40cxf.apache.org"/></dataHandler><filename>convention.pdf</filename></dataFileVO></ns2:upload>"#,
    );
    let mut body = Vec::new();
    body.extend_from_slice(b"--uuid:b1\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"text/xml\"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <root.message@cxf.apache.org>\r\n\r\n");
    body.extend_from_slice(root.as_bytes());
    body.extend_from_slice(b"\r\n--uuid:b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <doc-1@cxf.apache.org>\r\n\r\n");
    body.extend_from_slice(&doc);
    body.extend_from_slice(b"\r\n--uuid:b1--\r\n");
    let (status, text) = post(
        &app,
        "multipart/related; type=\"application/xop+xml\"; boundary=\"uuid:b1\"; start=\"<root.message@cxf.apache.org>\"; start-info=\"text/xml\"",
        body,
    );
    assert_eq!(status, 200, "{text}");
    let id: i64 = text
        .split("<return>")
        .nth(1)
        .and_then(|s| s.split("</return>").next())
        .unwrap()
        .parse()
        .unwrap();
    let rest = app.as_user("depot@a.fr");
    let stored = rest.get(&format!("/parapheur-ws/rest/v1/documents/v2/{id}/download"));
    assert_eq!(stored.body, doc, "the attachment is stored byte for byte");

    // An xop:Include naming a part that is not there.
    let missing = envelope(
        r#"<ns2:upload><subscriberId>200000001</subscriberId><circuitId>S</circuitId><dataFileVO><dataHandler><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:nope"/></dataHandler><filename>a.pdf</filename></dataFileVO></ns2:upload>"#,
    );
    let (status, text) = post(&app, "text/xml; charset=utf-8", missing.into_bytes());
    assert_eq!(status, 500);
    assert!(text.contains("<errorCode>112</errorCode>"), "{text}");

    // Broken or hostile envelopes: a client fault with HTTP 400, and the server stays up.
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><history><documentId>&e;</documentId></history></soap:Body></soap:Envelope>"#;
    for (body, expect) in [
        ("not xml at all <<".to_owned(), "soap:Client"),
        (xxe.to_owned(), "DOCTYPE"),
        (
            "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><history>".to_owned(),
            "soap:Client",
        ),
        (
            r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>"#.to_owned(),
            "soap:VersionMismatch",
        ),
        (envelope(""), "soap:Client"),
    ] {
        let (status, text) = post(&app, "text/xml", body.into_bytes());
        assert_eq!(status, 400, "{text}");
        assert!(text.contains("<soap:Fault>") && text.contains(expect), "{text}");
        assert!(!text.contains("root:"), "no file content may leak: {text}");
    }
    let (status, text) = post(
        &app,
        "text/xml",
        envelope("<ns2:sign><documentId>1</documentId></ns2:sign>").into_bytes(),
    );
    assert_eq!(status, 500);
    assert!(text.contains("<errorCode>112</errorCode>") && text.contains("unknown operation"));
    // Larger than the upload limit allows, even base64-encoded.
    let (status, text) = post(&app, "text/xml", vec![b'A'; 600_000]);
    assert_eq!(status, 500);
    assert!(text.contains("<errorCode>109</errorCode>"), "{text}");
    // The WSDL needs no credentials and gives the public address.
    let wsdl = reqwest::blocking::get(format!("{}{SOAP}?wsdl", app.base))
        .unwrap()
        .text()
        .unwrap();
    assert!(wsdl.contains(&format!("location=\"{}{SOAP}\"", app.base)));
    assert_eq!(
        reqwest::blocking::get(format!("{}/healthz", app.base))
            .unwrap()
            .status(),
        200
    );
}
