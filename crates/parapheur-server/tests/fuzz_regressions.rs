//! The fuzz targets' findings stay fixed: every input under `fuzz/regressions/<target>/` is run
//! through the target's body. The ignored `write_fuzz_seeds` writes the generated part of the
//! seed corpus (`scripts/fuzz-seeds.sh` runs it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_server::fuzzing::{SEPARATOR, TARGETS};
use parapheur_sign::Credential;
use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
use parapheur_sign::pades::SignOptions;
use parapheur_sign::pes::PesOptions;
use parapheur_sign::xades::XmlOptions;
use parapheur_test_utils::{make_zip, pdf, pes_aller};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

#[test]
fn every_target_takes_an_empty_input() {
    for (_, run) in TARGETS {
        run(b"");
        run(SEPARATOR);
    }
}

#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = fuzz_dir().join("regressions");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        if !entry.file_type().unwrap().is_dir() {
            continue;
        }
        let name = entry.file_name().into_string().unwrap();
        let (_, run) = TARGETS
            .iter()
            .find(|(t, _)| *t == name)
            .unwrap_or_else(|| panic!("fuzz/regressions/{name}: no such target"));
        for input in std::fs::read_dir(entry.path()).unwrap() {
            let path = input.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let started = std::time::Instant::now();
            run(&data);
            // Fuzzing allows 5 s per input in an optimised build; a debug build gets 10 times as
            // much, which still catches a return of a runaway loop.
            let took = started.elapsed();
            assert!(took.as_secs() < 50, "{}: {took:?}", path.display());
        }
    }
}

fn credential(kind: KeyKind) -> (tempfile::TempDir, Credential) {
    let dir = tempfile::tempdir().unwrap();
    let ca = InternalCa::open_or_create(&dir.path().join("ca"), "parapheur fuzz CA").unwrap();
    let cred = ca.issue(&subject("Hélène Dupré"), kind).unwrap();
    (dir, cred)
}

fn subject(name: &str) -> Subject {
    Subject {
        common_name: name.into(),
        email: Some("helene@exemple.fr".into()),
        organization: Some("Commune de Saint-Étienne".into()),
        organization_id: Some("212102181".into()),
    }
}

fn joined(a: &[u8], b: &[u8]) -> Vec<u8> {
    [a, SEPARATOR, b].concat()
}

const SOAP_UPLOAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="http://sei.ws.fast.cdc.com/">
<SOAP-ENV:Header><x:Security xmlns:x="urn:x"><x:t>ignored</x:t></x:Security></SOAP-ENV:Header>
<SOAP-ENV:Body><ns1:upload><label>D&#233;lib &amp; co</label><comment/><subscriberId> 200000001 </subscriberId>
<circuitId>PDF</circuitId><dataFileVO><filename>a.pdf</filename><dataHandler>JVBE
Ri0x</dataHandler></dataFileVO></ns1:upload></SOAP-ENV:Body></SOAP-ENV:Envelope>"#;

const SOAP_XOP: &str = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ns2:upload xmlns:ns2="http://sei.ws.fast.cdc.com/"><subscriberId>200000001</subscriberId><circuitId>S</circuitId><dataFileVO><dataHandler><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:doc%40cxf"/></dataHandler><filename>a.pdf</filename></dataFileVO></ns2:upload></soap:Body></soap:Envelope>"#;

const SOAP_HISTORY: &str = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><history xmlns="http://sei.ws.fast.cdc.com/"><documentId>42</documentId></history></soap:Body></soap:Envelope>"#;

const METADATA: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<meta-data-list>
  <meta-data name="TEXT_001" value="John"/>
  <meta-data name="TEXT_002" value="Doe &amp; fils"/>
  <meta-data name="NUM_001" value="45812"></meta-data>
  <meta-data name="OTP_firstname_1" value="Hélène"/>
  <meta-data name="OTP_phone_1" value="+33600000000"/>
</meta-data-list>"#;

const CIRCUITS: [&str; 3] = [
    r#"{"type":"BUREAUTIQUE_PDF","steps":[{"step":"visa","members":["AAA@domain.fr","BBB@domain.fr"]},{"step":"Signature","members":["DDD@domain.fr"]},{"step":"OTPSignature"}]}"#,
    r#"{"type":"HELIOS_AVEC_TELETRANSMISSION","steps":[{"step":"signature","members":["s1@a.fr"]}]}"#,
    r#"  {"type":"ACTES","steps":[{"step":"visa","members":[]}]}  "#,
];

/// `multipart/related` MTOM request: root envelope and one attachment.
fn mtom(envelope: &str, attachment: &[u8]) -> Vec<u8> {
    let ct = "multipart/related; type=\"application/xop+xml\"; boundary=\"uuid:b1\"; \
              start=\"<root.message@cxf.apache.org>\"; start-info=\"text/xml\"";
    let mut body = format!(
        "--uuid:b1\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"text/xml\"\r\n\
         Content-Transfer-Encoding: binary\r\nContent-ID: <root.message@cxf.apache.org>\r\n\r\n\
         {envelope}\r\n--uuid:b1\r\nContent-Type: application/pdf\r\n\
         Content-Transfer-Encoding: binary\r\nContent-ID: <doc@cxf>\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(attachment);
    body.extend_from_slice(b"\r\n--uuid:b1--\r\n");
    joined(ct.as_bytes(), &body)
}

/// A FAST `multipart/form-data` upload.
fn form(pdf: &[u8]) -> Vec<u8> {
    let mut body =
        b"--XyZ\r\nContent-Disposition: form-data; name=\"Label\"\r\n\r\nD\xc3\xa9lib\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"circuitId\"\r\n\r\nPDF\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"acte.pdf\"\r\n\
Content-Type: application/pdf\r\n\r\n"
            .to_vec();
    body.extend_from_slice(pdf);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    joined(b"multipart/form-data; boundary=XyZ", &body)
}

/// Writes generated seeds to `$PARAPHEUR_FUZZ_SEEDS/<target>/`.
#[test]
#[ignore = "writes the fuzz seed corpus; run by scripts/fuzz-seeds.sh"]
fn write_fuzz_seeds() {
    let out = PathBuf::from(std::env::var("PARAPHEUR_FUZZ_SEEDS").expect("PARAPHEUR_FUZZ_SEEDS"));
    let put = |target: &str, name: &str, data: &[u8]| {
        let d = out.join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), data).unwrap();
    };
    let (_dir, seal) = credential(KeyKind::Seal);
    let (_dir2, person) = credential(KeyKind::Person);

    // PDFs: one and several pages, signed once (visible or not) and twice.
    let one = pdf::sample("Délibération", 1, 0);
    let three = pdf::sample("Arrêté", 3, 200);
    let many = pdf::sample("Budget", 40, 0);
    let mut invisible = SignOptions::new("Hélène Dupré");
    invisible.visible = false;
    let signed = parapheur_sign::pades::sign(&three, &seal, &SignOptions::new("Maire")).unwrap();
    let twice = parapheur_sign::pades::sign(&signed, &person, &invisible).unwrap();
    let pdfs = [
        ("one.pdf", &one),
        ("three.pdf", &three),
        ("many.pdf", &many),
        ("signed.pdf", &signed),
        ("twice.pdf", &twice),
    ];
    for (name, data) in pdfs {
        put("pdf_reader", name, data);
        put("pdf_deposit_check", name, data);
    }

    // PES: plain and signed.
    let pes = pes_aller("PESALR2_fuzz");
    let signed_pes = parapheur_sign::pes::sign_pes(&pes, &seal, &PesOptions::default()).unwrap();
    put("pes", "pes_aller.xml", &pes);
    put("pes", "pes_signed.xml", &signed_pes);

    // A detached XAdES signature and its data.
    let data =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<deliberation xmlns=\"urn:exemple:acte\">\
                <objet>Budget 2026 — école</objet></deliberation>\n"
            .as_bytes();
    for (name, cred) in [("xades_rsa", &seal), ("xades_ec", &person)] {
        let opts = XmlOptions {
            signer_role: Some("Maire".into()),
            mime_type: Some("text/xml".into()),
            ..Default::default()
        };
        let sig =
            parapheur_sign::xades::sign_detached("deliberation.xml", data, cred, &opts).unwrap();
        put("xades_verify", name, &joined(&sig, data));
    }

    // SOAP envelopes, MTOM and form-data bodies.
    for (i, e) in [SOAP_UPLOAD, SOAP_XOP, SOAP_HISTORY].iter().enumerate() {
        put("soap_envelope", &format!("envelope{i}.xml"), e.as_bytes());
    }
    put("mtom_multipart", "mtom", &mtom(SOAP_XOP, &one));
    put("mtom_multipart", "form", &form(&one));
    put(
        "mtom_multipart",
        "plain",
        &joined(b"text/xml", SOAP_UPLOAD.as_bytes()),
    );

    // Deposit archives.
    put(
        "zip_unpack",
        "deposit.zip",
        &make_zip(&[
            ("acte.pdf", &one),
            ("annexes/budget.xml", &pes),
            ("__MACOSX/._acte.pdf", b"x"),
            ("note.txt", b"annexe"),
        ]),
    );
    put(
        "zip_unpack",
        "signed.zip",
        &make_zip(&[("ACTE.PDF", &signed)]),
    );

    put("metadata_xml", "list.xml", METADATA.as_bytes());
    put("trusted_list", "tl.xml", TRUSTED_LIST.as_bytes());
    for (i, c) in CIRCUITS.iter().enumerate() {
        put("circuit_json", &format!("circuit{i}.json"), c.as_bytes());
    }

    // OCSP requests for certificates of a CA (one id, two ids, SHA-256 ids) and of another CA.
    let ca_dir = tempfile::tempdir().unwrap();
    let ca = InternalCa::open_or_create(&ca_dir.path().join("ca"), "parapheur fuzz CA").unwrap();
    let issued = ca.issue(&subject("Hélène Dupré"), KeyKind::Person).unwrap();
    let other = ca.issue(&subject("Jean Martin"), KeyKind::Seal).unwrap();
    let id = |c: &Credential, md| {
        openssl::ocsp::OcspCertId::from_cert(md, c.certificate(), ca.certificate()).unwrap()
    };
    let sha1 = openssl::hash::MessageDigest::sha1;
    let sha256 = openssl::hash::MessageDigest::sha256;
    let requests: [(&str, Vec<openssl::ocsp::OcspCertId>); 4] = [
        ("one", vec![id(&issued, sha1())]),
        ("two", vec![id(&issued, sha1()), id(&other, sha1())]),
        ("sha256", vec![id(&issued, sha256())]),
        (
            "foreign",
            vec![
                openssl::ocsp::OcspCertId::from_cert(
                    sha1(),
                    seal.certificate(),
                    person.certificate(),
                )
                .unwrap(),
            ],
        ),
    ];
    for (name, ids) in requests {
        let mut req = openssl::ocsp::OcspRequest::new().unwrap();
        for i in ids {
            req.add_id(i).unwrap();
        }
        put("ocsp_request", name, &req.to_der().unwrap());
    }

    // Timestamp requests: ours, and OpenSSL's with other hashes, without nonce or certificate.
    let req = parapheur_sign::tsa::request(b"a signature value").unwrap();
    put("tsa_request", "ours", &req.der);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data"), b"data").unwrap();
    for (name, args) in [
        ("sha512_cert", &["-sha512", "-cert"][..]),
        ("sha384_no_nonce", &["-sha384", "-no_nonce"][..]),
        ("sha256_policy", &["-sha256", "-tspolicy", "1.2.3.4"][..]),
    ] {
        let (ok, out) = parapheur_test_utils::run_tool(
            dir.path(),
            "openssl",
            &[
                &["ts", "-query", "-data", "data", "-out", "q.der"][..],
                args,
            ]
            .concat(),
        );
        assert!(ok, "{out}");
        put(
            "tsa_request",
            name,
            &std::fs::read(dir.path().join("q.der")).unwrap(),
        );
    }
}

/// A small trusted list in the shape of the French one: a granted CA, a granted timestamp
/// authority with its history (the certificates are truncated: the reader leaves them out).
const TRUSTED_LIST: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<tsl:TrustServiceStatusList xmlns:tsl=\"http://uri.etsi.org/02231/v2#\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Id=\"TrustServiceStatusList\" TSLTag=\"http://uri.etsi.org/19612/TSLTag\">
 <tsl:SchemeInformation><tsl:TSLVersionIdentifier>5</tsl:TSLVersionIdentifier><tsl:SchemeTerritory>FR</tsl:SchemeTerritory></tsl:SchemeInformation>
 <tsl:TrustServiceProviderList><tsl:TrustServiceProvider>
  <tsl:TSPInformation><tsl:TSPName><tsl:Name xml:lang=\"fr\">Prestataire &amp; fils</tsl:Name></tsl:TSPName></tsl:TSPInformation>
  <tsl:TSPServices>
   <tsl:TSPService><tsl:ServiceInformation>
    <tsl:ServiceTypeIdentifier>http://uri.etsi.org/TrstSvc/Svctype/CA/QC</tsl:ServiceTypeIdentifier>
    <tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>MIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdA==</tsl:X509Certificate></tsl:DigitalId></tsl:ServiceDigitalIdentity>
    <tsl:ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted</tsl:ServiceStatus>
   </tsl:ServiceInformation></tsl:TSPService>
   <tsl:TSPService><tsl:ServiceInformation>
    <tsl:ServiceTypeIdentifier>http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST</tsl:ServiceTypeIdentifier>
    <tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate><![CDATA[MIIB]]></tsl:X509Certificate></tsl:DigitalId></tsl:ServiceDigitalIdentity>
    <tsl:ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted</tsl:ServiceStatus>
   </tsl:ServiceInformation>
   <tsl:ServiceHistory><tsl:ServiceHistoryInstance><tsl:ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn</tsl:ServiceStatus></tsl:ServiceHistoryInstance></tsl:ServiceHistory>
   </tsl:TSPService>
  </tsl:TSPServices>
 </tsl:TrustServiceProvider></tsl:TrustServiceProviderList>
</tsl:TrustServiceStatusList>
";
