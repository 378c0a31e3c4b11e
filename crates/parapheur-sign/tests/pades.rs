//! PAdES outputs checked by independent validators: pyHanko (integrity, trust, modifications),
//! pdfsig, and qpdf --check.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
use parapheur_sign::pades::{self, Placement, SignOptions};
use parapheur_sign::pdfcheck::{Limits, check_pdf};
use std::path::Path;
use std::process::Command;

/// A validation context trusting `anchors` for signers, now, with the default policy.
fn ctx(anchors: Vec<openssl::x509::X509>) -> parapheur_sign::policy::ValidationContext {
    parapheur_sign::policy::ValidationContext::new(anchors)
}

fn ca(dir: &Path) -> InternalCa {
    InternalCa::open_or_create(&dir.join("ca"), "parapheur test CA").unwrap()
}

fn subject(name: &str) -> Subject {
    Subject {
        common_name: name.into(),
        email: Some("x@exemple.fr".into()),
        organization: Some("Commune".into()),
        organization_id: None,
    }
}

/// pyHanko's count of valid signatures of the file, trusting only `ca_pem` (shared harness).
fn pyhanko_valid(pdf: &Path, ca_pem: &Path) -> (usize, String) {
    parapheur_test_utils::pyhanko_valid(
        &std::fs::read(pdf).unwrap(),
        &std::fs::read(ca_pem).unwrap(),
    )
}

fn qpdf_ok(pdf: &Path) -> bool {
    parapheur_test_utils::qpdf_check(&std::fs::read(pdf).unwrap())
}

#[test]
fn sign_then_countersign_both_valid() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca(dir.path());
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, ca.certificate().to_pem().unwrap()).unwrap();
    let alice = ca.issue(&subject("Alice Martin"), KeyKind::Person).unwrap();
    let seal = ca
        .issue(&subject("Commune de Test"), KeyKind::Seal)
        .unwrap();
    let input = minimal_pdf();
    let mut o = SignOptions::new("Alice Martin");
    o.role = Some("Maire".into());
    o.reason = Some("Approbation de la délibération".into());
    let one = pades::sign(&input, &alice, &o).unwrap();
    let p1 = dir.path().join("one.pdf");
    std::fs::write(&p1, &one).unwrap();
    assert!(qpdf_ok(&p1));
    let (n, text) = pyhanko_valid(&p1, &ca_pem);
    assert_eq!(n, 1, "{text}");

    let mut o2 = SignOptions::new("Commune de Test");
    o2.placement = Some(Placement {
        page: Some(1),
        x: 50.0,
        y: 700.0,
        width: 200.0,
        height: 60.0,
    });
    let two = pades::sign(&one, &seal, &o2).unwrap();
    assert!(
        two.starts_with(&one),
        "incremental: the first revision is untouched"
    );
    let p2 = dir.path().join("two.pdf");
    std::fs::write(&p2, &two).unwrap();
    assert!(qpdf_ok(&p2));
    let (n, text) = pyhanko_valid(&p2, &ca_pem);
    assert_eq!(n, 2, "{text}");
    if let Ok(keep) = std::env::var("PADES_KEEP") {
        for f in ["one.pdf", "two.pdf", "ca.pem"] {
            std::fs::copy(dir.path().join(f), Path::new(&keep).join(f)).unwrap();
        }
    }

    // A byte flipped inside the signed range breaks the last signature.
    let mut bad = two.clone();
    let pos = one.len() + 40;
    bad[pos] ^= 0x01;
    let pb = dir.path().join("bad.pdf");
    std::fs::write(&pb, &bad).unwrap();
    let (n, text) = pyhanko_valid(&pb, &ca_pem);
    assert!(n < 2, "tampered file still valid: {text}");
}

fn minimal_pdf() -> Vec<u8> {
    let mut doc = lopdf::Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let content = doc.add_object(lopdf::Stream::new(
        lopdf::Dictionary::new(),
        b"BT /F1 12 Tf 72 720 Td (Bonjour) Tj ET".to_vec(),
    ));
    let font = doc.add_object(
        lopdf::dictionary! {"Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica"},
    );
    let page = doc.add_object(
        lopdf::dictionary! {"Type" => "Page", "Parent" => pages_id, "Contents" => content,
        "Resources" => lopdf::dictionary! {"Font" => lopdf::dictionary! {"F1" => font}}},
    );
    doc.objects.insert(
        pages_id,
        lopdf::Object::Dictionary(
            lopdf::dictionary! {"Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()]},
        ),
    );
    let cat = doc.add_object(lopdf::dictionary! {"Type" => "Catalog", "Pages" => pages_id});
    doc.trailer.set("Root", cat);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[test]
fn our_verifier_agrees_with_the_validators() {
    use parapheur_sign::verify::verify_pdf;
    let dir = tempfile::tempdir().unwrap();
    let ca = ca(dir.path());
    let other_ca = InternalCa::open_or_create(&dir.path().join("other"), "Other CA").unwrap();
    let alice = ca.issue(&subject("Alice Martin"), KeyKind::Person).unwrap();
    let seal = ca
        .issue(&subject("Commune de Test"), KeyKind::Seal)
        .unwrap();
    let input = minimal_pdf();
    let unsigned = verify_pdf(&input, &ctx(vec![ca.certificate().clone()])).unwrap();
    assert!(
        !unsigned.valid && unsigned.signatures.is_empty(),
        "no signature is not valid"
    );
    let one = pades::sign(&input, &alice, &SignOptions::new("Alice Martin")).unwrap();
    let two = pades::sign(&one, &seal, &SignOptions::new("Commune de Test")).unwrap();
    let r = verify_pdf(&two, &ctx(vec![ca.certificate().clone()])).unwrap();
    assert!(r.valid, "{r:?}");
    assert_eq!(r.signatures.len(), 2);
    assert_eq!(r.signatures[0].signer, "Alice Martin");
    assert!(!r.signatures[0].covers_whole_file && r.signatures[1].covers_whole_file);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["signatures"][1]["signer"], "Commune de Test");

    let foreign = verify_pdf(&two, &ctx(vec![other_ca.certificate().clone()])).unwrap();
    assert!(!foreign.valid);
    assert!(
        foreign.signatures.iter().all(|s| s.integrity && !s.trusted),
        "{foreign:?}"
    );

    let mut bad = two.clone();
    let pos = one.len() + 40;
    bad[pos] ^= 0x01;
    let r = verify_pdf(&bad, &ctx(vec![ca.certificate().clone()])).unwrap();
    assert!(!r.valid);
    assert!(r.signatures[0].integrity, "the first revision is intact");
    assert!(!r.signatures[1].integrity, "{r:?}");
}

/// A PDF with a text form field (its own AcroForm, referenced), an image, and three pages.
fn form_and_image_pdf() -> Vec<u8> {
    use lopdf::{Object, Stream, dictionary};
    let mut doc = lopdf::Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(
        dictionary! {"Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica"},
    );
    let image = doc.add_object(Stream::new(
        dictionary! {"Type" => "XObject", "Subtype" => "Image", "Width" => 2, "Height" => 2,
        "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8},
        vec![255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0],
    ));
    let mut kids = Vec::new();
    let mut first_page = None;
    for i in 0..3 {
        let content = doc.add_object(Stream::new(
            lopdf::Dictionary::new(),
            format!(
                "q 100 0 0 100 72 500 cm /Im1 Do Q BT /F1 12 Tf 72 720 Td (Page {}) Tj ET",
                i + 1
            )
            .into_bytes(),
        ));
        let page = doc.add_object(dictionary! {"Type" => "Page", "Parent" => pages_id, "Contents" => content,
            "Resources" => dictionary! {"Font" => dictionary! {"F1" => font}, "XObject" => dictionary! {"Im1" => image}}});
        first_page.get_or_insert(page);
        kids.push(Object::Reference(page));
    }
    let page1 = first_page.unwrap();
    let field = doc.add_object(
        dictionary! {"Type" => "Annot", "Subtype" => "Widget", "FT" => "Tx",
        "T" => Object::string_literal("objet"), "V" => Object::string_literal("Convention"),
        "Rect" => vec![72.into(), 600.into(), 300.into(), 620.into()], "P" => page1},
    );
    let annots = doc.add_object(Object::Array(vec![Object::Reference(field)]));
    if let Ok(Object::Dictionary(d)) = doc.get_object_mut(page1) {
        d.set("Annots", Object::Reference(annots));
    }
    let acroform = doc.add_object(dictionary! {"Fields" => vec![Object::Reference(field)]});
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! {"Type" => "Pages", "Kids" => kids, "Count" => 3,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()]},
        ),
    );
    let cat = doc
        .add_object(dictionary! {"Type" => "Catalog", "Pages" => pages_id, "AcroForm" => acroform});
    doc.trailer.set("Root", cat);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[test]
fn forms_images_and_a_pdf_signed_by_pyhanko_first() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca(dir.path());
    let other = InternalCa::open_or_create(&dir.path().join("other"), "Autre autorité").unwrap();
    let both = dir.path().join("both.pem");
    let mut pem = ca.certificate().to_pem().unwrap();
    pem.extend(other.certificate().to_pem().unwrap());
    std::fs::write(&both, &pem).unwrap();

    // 1. A form with an image: our signature keeps the existing field and is valid.
    let input = form_and_image_pdf();
    let alice = ca.issue(&subject("Alice Martin"), KeyKind::Person).unwrap();
    let signed = pades::sign(&input, &alice, &SignOptions::new("Alice Martin")).unwrap();
    let p = dir.path().join("form.pdf");
    std::fs::write(&p, &signed).unwrap();
    assert!(qpdf_ok(&p));
    let (n, text) = pyhanko_valid(&p, &both);
    assert_eq!(n, 1, "{text}");
    let doc = lopdf::Document::load_mem(&signed).unwrap();
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    let af = doc
        .get_dictionary(root)
        .unwrap()
        .get(b"AcroForm")
        .unwrap()
        .as_reference()
        .unwrap();
    let fields = doc
        .get_dictionary(af)
        .unwrap()
        .get(b"Fields")
        .unwrap()
        .as_array()
        .unwrap()
        .len();
    assert_eq!(fields, 2, "the text field stays beside the signature field");

    // 2. The same file signed first by pyHanko, then by us: both signatures valid.
    let signer = other.issue(&subject("Bob Externe"), KeyKind::Seal).unwrap();
    let mut chain = openssl::stack::Stack::new().unwrap();
    chain.push(other.certificate().clone()).unwrap();
    let p12 = openssl::pkcs12::Pkcs12::builder()
        .name("bob")
        .pkey(signer.key.soft().unwrap())
        .cert(signer.certificate())
        .ca(chain)
        .build2("pw")
        .unwrap();
    std::fs::write(dir.path().join("bob.p12"), p12.to_der().unwrap()).unwrap();
    std::fs::write(dir.path().join("pass.txt"), "pw").unwrap();
    std::fs::write(dir.path().join("in.pdf"), &input).unwrap();
    let out = Command::new("pyhanko")
        .current_dir(dir.path())
        .args([
            "sign",
            "addsig",
            "--field",
            "1/50,700,250,760/Sig1",
            "--use-pades",
            "pkcs12",
            "--passfile",
            "pass.txt",
        ])
        .args(["in.pdf", "by-pyhanko.pdf", "bob.p12"])
        .output()
        .expect("pyhanko is required by these tests");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = std::fs::read(dir.path().join("by-pyhanko.pdf")).unwrap();
    // The deposit check accepts another tool's signed output.
    let summary = check_pdf(&theirs, &Limits::default()).unwrap();
    assert_eq!(summary.pages, 3);
    assert!(summary.form_fields >= 1);
    let ours = pades::sign(&theirs, &alice, &SignOptions::new("Alice Martin")).unwrap();
    let p2 = dir.path().join("two-tools.pdf");
    std::fs::write(&p2, &ours).unwrap();
    assert!(qpdf_ok(&p2));
    let (n, text) = pyhanko_valid(&p2, &both);
    assert_eq!(n, 2, "{text}");
    let report = parapheur_sign::verify::verify_pdf(
        &ours,
        &ctx(vec![ca.certificate().clone(), other.certificate().clone()]),
    )
    .unwrap();
    assert!(report.valid, "{report:?}");
}

#[test]
fn a_pdf_with_object_streams_and_an_xref_stream() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca(dir.path());
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, ca.certificate().to_pem().unwrap()).unwrap();
    let mut doc = lopdf::Document::load_mem(&form_and_image_pdf()).unwrap();
    let mut modern = Vec::new();
    doc.save_modern(&mut modern).unwrap();
    let tail = String::from_utf8_lossy(&modern[modern.len().saturating_sub(400)..]).into_owned();
    assert!(
        !tail.contains("trailer"),
        "the input must end with an xref stream: {tail}"
    );
    let alice = ca.issue(&subject("Alice Martin"), KeyKind::Person).unwrap();
    let one = pades::sign(&modern, &alice, &SignOptions::new("Alice Martin")).unwrap();
    let two = pades::sign(&one, &alice, &SignOptions::new("Alice Martin")).unwrap();
    let p = dir.path().join("modern.pdf");
    std::fs::write(&p, &two).unwrap();
    assert!(qpdf_ok(&p));
    let (n, text) = pyhanko_valid(&p, &ca_pem);
    assert_eq!(n, 2, "{text}");
    // Our verifier reads the revision after the first signature (an xref stream) as allowed.
    let r = parapheur_sign::verify::verify_pdf(&two, &ctx(vec![ca.certificate().clone()])).unwrap();
    assert!(r.valid && r.signatures[0].unmodified, "{r:?}");
}

#[test]
fn b_t_signature_with_an_rfc3161_timestamp() {
    use parapheur_sign::tsa;
    let dir = tempfile::tempdir().unwrap();
    let ca = ca(dir.path());
    let tsa_server = parapheur_test_utils::tsa::TestTsa::new();
    let trust = dir.path().join("trust.pem");
    let mut pem = ca.certificate().to_pem().unwrap();
    pem.extend(tsa_server.cert_pem());
    std::fs::write(&trust, &pem).unwrap();
    let seal = ca
        .issue(&subject("Commune de Test"), KeyKind::Seal)
        .unwrap();
    let input = minimal_pdf();
    let chain: Vec<Vec<u8>> = seal.chain.iter().map(|c| c.to_der().unwrap()).collect();
    let mut opts = SignOptions::new("Commune de Test");
    opts.timestamped = true;
    let prepared = pades::prepare(&input, &chain, seal.algorithm(), &opts).unwrap();
    let value = seal.sign(prepared.data_to_sign()).unwrap();
    let req = tsa::request(&value).unwrap();
    let resp = tsa_server.reply(&req.der);
    // A token for another request is refused.
    let other = tsa::request(b"another signature").unwrap();
    assert!(tsa::token_attributes(&other, &resp).is_err());
    let attrs = tsa::token_attributes(&req, &resp).unwrap();
    let mut signed = input.clone();
    signed.extend(prepared.complete(&value, Some(attrs)).unwrap());
    let p = dir.path().join("bt.pdf");
    std::fs::write(&p, &signed).unwrap();
    assert!(qpdf_ok(&p));
    let (n, text) = pyhanko_valid(&p, &trust);
    assert_eq!(n, 1, "{text}");
    let out = Command::new("pyhanko")
        .args(["sign", "adesverify", "--trust"])
        .arg(&trust)
        .args(["--trust-replace", "--no-revocation-check"])
        .arg(&p)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // pyHanko sees the signature timestamp token, intact and trusted.
    assert!(
        text.contains("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>"),
        "{text}"
    );
    let mut c = ctx(vec![ca.certificate().clone()]);
    c.tsa_anchors = vec![openssl::x509::X509::from_pem(&tsa_server.cert_pem()).unwrap()];
    let report = parapheur_sign::verify::verify_pdf(&signed, &c).unwrap();
    assert!(
        report.valid && report.signatures[0].timestamped,
        "{report:?}"
    );
    // Without trusting the TSA, the timestamp does not verify: an error, not a silent B-B.
    let report =
        parapheur_sign::verify::verify_pdf(&signed, &ctx(vec![ca.certificate().clone()])).unwrap();
    assert!(
        !report.valid && !report.signatures[0].timestamped,
        "{report:?}"
    );
}

#[test]
fn a_large_pdf_with_object_streams_signs_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca(dir.path());
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, ca.certificate().to_pem().unwrap()).unwrap();
    let mut doc = lopdf::Document::load_mem(&form_and_image_pdf()).unwrap();
    // 17 MiB of incompressible image data in an object-stream file: signing and verification
    // read neither it nor any content stream.
    let mut x: u32 = 0x9e37_79b9;
    let data: Vec<u8> = (0..17 * 1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let big = doc.add_object(lopdf::Stream::new(
        lopdf::dictionary! {"Type" => "XObject", "Subtype" => "Image", "Width" => 2048, "Height" => 2901,
        "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8},
        data,
    ));
    let page = *doc.get_pages().values().next().unwrap();
    if let Ok(lopdf::Object::Dictionary(p)) = doc.get_object_mut(page) {
        p.set("Big", lopdf::Object::Reference(big));
    }
    let mut modern = Vec::new();
    doc.save_modern(&mut modern).unwrap();
    assert!(modern.len() > 16 * 1024 * 1024);
    let alice = ca.issue(&subject("Alice Martin"), KeyKind::Person).unwrap();
    let signed = pades::sign(&modern, &alice, &SignOptions::new("Alice Martin")).unwrap();
    assert!(signed.starts_with(&modern));
    check_pdf(&signed, &Limits::default()).unwrap();
    let p = dir.path().join("large.pdf");
    std::fs::write(&p, &signed).unwrap();
    let (n, text) = pyhanko_valid(&p, &ca_pem);
    assert_eq!(n, 1, "{text}");
    let report =
        parapheur_sign::verify::verify_pdf(&signed, &ctx(vec![ca.certificate().clone()])).unwrap();
    assert!(report.valid, "{report:?}");
}

/// A PDF/A-2b made by another tool (Ghostscript's `-dPDFA=2`, Debian `ghostscript`): signed by
/// incremental update, it keeps its PDF/A identification (XMP `pdfaid`, the catalog's
/// `/Metadata` and `/OutputIntents`) and validates. (Conformance itself needs veraPDF, which
/// Debian does not ship: what is checked is that signing changes nothing PDF/A declares.)
#[test]
fn a_pdfa_made_by_ghostscript_keeps_its_pdfa_identification_when_signed() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca(dir.path());
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, ca.certificate().to_pem().unwrap()).unwrap();
    let src = dir.path().join("src.pdf");
    std::fs::write(&src, form_and_image_pdf()).unwrap();
    let pdfa = dir.path().join("pdfa.pdf");
    // The output intent PDF/A requires, with Ghostscript's own sRGB profile (pdfmark).
    let def = dir.path().join("pdfa_def.ps");
    std::fs::write(
        &def,
        "%!\n/ICCProfile (/usr/share/color/icc/ghostscript/default_rgb.icc) def\n\
         [/_objdef {icc} /type /stream /OBJ pdfmark\n[{icc} <</N 3>> /PUT pdfmark\n\
         [{icc} ICCProfile (r) file /PUT pdfmark\n[/_objdef {intent} /type /dict /OBJ pdfmark\n\
         [{intent} << /Type /OutputIntent /S /GTS_PDFA1 /DestOutputProfile {icc} \
         /OutputConditionIdentifier (sRGB) >> /PUT pdfmark\n\
         [{Catalog} <</OutputIntents [ {intent} ]>> /PUT pdfmark\n",
    )
    .unwrap();
    let out = Command::new("gs")
        .args([
            // The profile is read by the definition file; the inputs are the test's own.
            "-dNOSAFER",
            "-dPDFA=2",
            "-dBATCH",
            "-dNOPAUSE",
            "-dQUIET",
            "-dPDFACompatibilityPolicy=1",
            "-sColorConversionStrategy=RGB",
            "-sDEVICE=pdfwrite",
        ])
        .arg(format!("-sOutputFile={}", pdfa.display()))
        .arg(&def)
        .arg(&src)
        .output()
        .expect("gs (Debian ghostscript; scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let input = std::fs::read(&pdfa).unwrap();
    check_pdf(&input, &Limits::default()).unwrap();
    let declares = |pdf: &[u8]| {
        let doc = lopdf::Document::load_mem(pdf).unwrap();
        let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
        let catalog = doc.get_dictionary(root).unwrap();
        let metadata = catalog.get(b"Metadata").unwrap().as_reference().unwrap();
        let stream = doc.get_object(metadata).unwrap().as_stream().unwrap();
        let xmp = stream
            .decompressed_content()
            .unwrap_or_else(|_| stream.content.clone());
        let xmp = String::from_utf8_lossy(&xmp).into_owned();
        (
            xmp.contains("pdfaid:part") && xmp.contains('2'),
            catalog.has(b"OutputIntents"),
            metadata,
        )
    };
    let before = declares(&input);
    assert!(
        before.0 && before.1,
        "Ghostscript made no PDF/A-2 declaration"
    );

    let alice = ca.issue(&subject("Alice Martin"), KeyKind::Person).unwrap();
    let signed = pades::sign(&input, &alice, &SignOptions::new("Alice Martin")).unwrap();
    assert!(signed.starts_with(&input), "an incremental update");
    assert_eq!(declares(&signed), before, "the PDF/A declaration is kept");
    let p = dir.path().join("signed.pdf");
    std::fs::write(&p, &signed).unwrap();
    assert!(qpdf_ok(&p));
    let (n, text) = pyhanko_valid(&p, &ca_pem);
    assert_eq!(n, 1, "{text}");
}

/// The hole left for the CMS fits the signer's chain (a B-B signature adds a few KiB, not a fixed
/// 32 KiB of hex), leaves room for a timestamp when asked, and what does not fit is refused.
#[test]
fn the_signature_hole_fits_the_chain_and_refuses_what_does_not_fit() {
    use der::Encode;
    let dir = tempfile::tempdir().unwrap();
    let ca = ca(dir.path());
    let seal = ca
        .issue(&subject("Commune de Test"), KeyKind::Seal)
        .unwrap();
    let chain_len: usize = seal.chain.iter().map(|c| c.to_der().unwrap().len()).sum();
    let input = minimal_pdf();
    let mut invisible = SignOptions::new("Commune de Test");
    invisible.visible = false;
    let plain = pades::sign_suffix(&input, &seal, &invisible).unwrap();
    // The hex hole (twice the reserve) plus a few hundred bytes of objects and xref.
    assert!(
        plain.len() < 2 * (chain_len + 2048 + 512) + 2048,
        "{}",
        plain.len()
    );
    let mut stamped = invisible.clone();
    stamped.timestamped = true;
    let with_room = pades::sign_suffix(&input, &seal, &stamped).unwrap();
    assert!(with_room.len() >= plain.len() + 2 * 12 * 1024);
    // An unsigned attribute larger than the room left: a clear error, nothing written.
    let chain: Vec<Vec<u8>> = seal.chain.iter().map(|c| c.to_der().unwrap()).collect();
    let prepared = pades::prepare(&input, &chain, seal.algorithm(), &invisible).unwrap();
    let value = seal.sign(prepared.data_to_sign()).unwrap();
    let big = x509_cert::attr::Attribute {
        oid: const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14"),
        values: der::asn1::SetOfVec::try_from(vec![
            der::asn1::Any::encode_from(&der::asn1::OctetString::new(vec![7u8; 20_000]).unwrap())
                .unwrap(),
        ])
        .unwrap(),
    };
    assert!(big.to_der().unwrap().len() > 20_000);
    let attrs = der::asn1::SetOfVec::try_from(vec![big]).unwrap();
    match prepared.complete(&value, Some(attrs)) {
        Err(parapheur_sign::SignError::SignatureTooLarge { needed, reserved }) => {
            assert!(needed > reserved, "{needed} {reserved}")
        }
        other => panic!("{:?}", other.map(|v| v.len())),
    }
}
