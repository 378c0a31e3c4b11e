//! XML signatures (detached XAdES, PES/Hélios) checked by independent validators: xmlsec1, signxml
//! (verify_xades.py) and the PES profile checker (check_pes_xades.py), plus our own verifier.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_sign::Credential;
use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
use parapheur_sign::keys::Algorithm;
use parapheur_sign::pes::{self, PesOptions};
use parapheur_sign::xades::{self, XmlOptions};
use parapheur_sign::xmlverify::{verify_pes, verify_xades_detached};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A validation context trusting `anchors` for signers, now, with the default policy.
fn ctx(anchors: Vec<openssl::x509::X509>) -> parapheur_sign::policy::ValidationContext {
    parapheur_sign::policy::ValidationContext::new(anchors)
}

/// The shared directory beside the checkout (`../shared`), or `PARAPHEUR_SHARED_DIR`.
fn shared(sub: &str) -> std::path::PathBuf {
    let base = std::env::var("PARAPHEUR_SHARED_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared").to_owned());
    Path::new(&base).join(sub)
}

struct Pki {
    dir: tempfile::TempDir,
    ca_pem: PathBuf,
    ca: InternalCa,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca = InternalCa::open_or_create(&dir.path().join("ca"), "parapheur test CA").unwrap();
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, ca.certificate().to_pem().unwrap()).unwrap();
    Pki { dir, ca_pem, ca }
}

fn issue(p: &Pki, kind: KeyKind) -> Credential {
    let s = Subject {
        common_name: "Hélène Dupré".into(),
        email: Some("helene@exemple.fr".into()),
        organization: Some("Commune de Saint-Étienne".into()),
        organization_id: Some("212102181".into()),
    };
    p.ca.issue(&s, kind).unwrap()
}

const XADES_ID: &str = "http://uri.etsi.org/01903/v1.3.2#:SignedProperties";
const PES_ID: &str = "http://uri.etsi.org/01903/v1.1.1#:SignedProperties";
const PES_ALLER: &str = "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller:PES_Aller";

/// xmlsec1, the independent validator this repository always runs: `xades-detached SIG DIR CA`
/// or `pes FILE CA`, as the shared harness calls it.
fn xmlsec1(args: &[&Path]) -> (bool, String) {
    let ok = Command::new("xmlsec1")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "xmlsec1 is required by these tests (apt install xmlsec1)"
    );
    let mut c = Command::new("xmlsec1");
    c.arg("--verify");
    match args {
        [mode, sig, dir, ca] if mode.as_os_str() == "xades-detached" => {
            c.current_dir(dir)
                .arg("--trusted-pem")
                .arg(ca)
                .args(["--id-attr:Id", XADES_ID])
                .args(["--enabled-reference-uris", "same-doc,local,remote"])
                .arg(std::fs::canonicalize(sig).unwrap());
        }
        [mode, file, ca] if mode.as_os_str() == "pes" => {
            c.arg("--trusted-pem").arg(ca);
            for id in ["Bordereau", PES_ID, PES_ALLER] {
                c.args(["--id-attr:Id", id]);
            }
            c.arg(file);
        }
        _ => panic!("unknown validation {args:?}"),
    }
    let out = c.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Whether the shared validator harness is beside the checkout.
fn harness() -> bool {
    shared("tools").join("validate-signature.sh").exists()
}

/// Validates with xmlsec1, then, when the shared harness is beside the checkout
/// (`../shared/tools`), with its signxml XAdES check and PES profile checker too.
fn validate(args: &[&Path]) -> (bool, String) {
    let (ok, text) = xmlsec1(args);
    eprintln!("xmlsec1 {args:?}:\n{text}");
    if !ok {
        return (false, text);
    }
    let script = shared("tools").join("validate-signature.sh");
    if !harness() {
        eprintln!(
            "{} is absent: the signxml and PES profile checks were not run (xmlsec1 was)",
            script.display()
        );
        return (true, text);
    }
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 is required by these tests (pip install signxml lxml)"
    );
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("validate-signature.sh {:?}:\n{text}", args);
    (out.status.success(), text)
}

fn xml_document() -> Vec<u8> {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<deliberation xmlns=\"urn:exemple:acte\">\n  \
     <objet>Budget primitif 2026 — école élémentaire</objet>\n  <montant devise=\"EUR\">12 500,00</montant>\n\
     </deliberation>\n"
        .as_bytes()
        .to_vec()
}

fn xades_round_trip(kind: KeyKind, expected: Algorithm) {
    let p = pki();
    let cred = issue(&p, kind);
    assert_eq!(cred.algorithm(), expected);
    let data = xml_document();
    let docdir = p.dir.path().join("docs");
    std::fs::create_dir_all(&docdir).unwrap();
    std::fs::write(docdir.join("deliberation.xml"), &data).unwrap();
    let opts = XmlOptions {
        signer_role: Some("Maire".into()),
        mime_type: Some("text/xml".into()),
        ..Default::default()
    };
    let sig = xades::sign_detached("deliberation.xml", &data, &cred, &opts).unwrap();
    let sig_path = docdir.join("deliberation.xml.sig.xml");
    std::fs::write(&sig_path, &sig).unwrap();

    let (ok, out) = validate(&[Path::new("xades-detached"), &sig_path, &docdir, &p.ca_pem]);
    assert!(ok, "validators rejected our detached XAdES:\n{out}");
    // signxml's XAdES check, from the shared harness when it is there.
    assert!(!harness() || out.contains("XADES OK"), "{out}");

    let report = verify_xades_detached(&sig, &data, &ctx(vec![p.ca.certificate().clone()]));
    assert!(report.valid, "{report:?}");
    assert_eq!(report.signatures[0].signer, "Hélène Dupré");

    // Tampered data: every verifier must refuse.
    let mut bad = data.clone();
    let at = bad.iter().position(|&b| b == b'5').unwrap();
    bad[at] = b'6';
    std::fs::write(docdir.join("deliberation.xml"), &bad).unwrap();
    let (ok, out) = validate(&[Path::new("xades-detached"), &sig_path, &docdir, &p.ca_pem]);
    assert!(!ok, "validators accepted a tampered file:\n{out}");
    let report = verify_xades_detached(&sig, &bad, &ctx(vec![p.ca.certificate().clone()]));
    assert!(
        !report.valid && !report.signatures[0].integrity,
        "{report:?}"
    );
}

#[test]
fn xades_detached_rsa_validates() {
    xades_round_trip(KeyKind::Seal, Algorithm::RsaSha256);
}

#[test]
fn xades_detached_ecdsa_validates() {
    xades_round_trip(KeyKind::Person, Algorithm::EcdsaP256Sha256);
}

#[test]
fn xades_two_phase_matches() {
    let p = pki();
    let cred = issue(&p, KeyKind::Person);
    let data = xml_document();
    let prepared = xades::prepare(
        "a.xml",
        &data,
        &cred.chain,
        cred.algorithm(),
        &XmlOptions::default(),
    )
    .unwrap();
    assert!(
        prepared
            .data_to_sign()
            .starts_with(b"<ds:SignedInfo xmlns:ds=")
    );
    let value = cred.sign(prepared.data_to_sign()).unwrap();
    let sig = prepared.complete(&value).unwrap();
    let report = verify_xades_detached(&sig, &data, &ctx(vec![p.ca.certificate().clone()]));
    assert!(report.valid, "{report:?}");
    // Untrusted anchors: integrity stays true, trust false.
    let other = pki();
    let report = verify_xades_detached(&sig, &data, &ctx(vec![other.ca.certificate().clone()]));
    assert!(
        report.signatures[0].integrity && !report.signatures[0].trusted,
        "{report:?}"
    );
    let json = serde_json::to_value(&report).unwrap();
    for k in [
        "id",
        "signer",
        "signing_time",
        "integrity",
        "trusted",
        "errors",
    ] {
        assert!(
            json["signatures"][0].get(k).is_some(),
            "{k} missing in {json}"
        );
    }
    assert_eq!(json["valid"], false);
}

/// A realistic PES_Aller in ISO-8859-1 with two Bordereaux.
fn pes_document(with_ids: bool) -> Vec<u8> {
    let bordereau = |n: u32| {
        let id = if with_ids {
            format!(" Id=\"BORD{n}\"")
        } else {
            String::new()
        };
        format!(
            "\t\t<Bordereau{id}>\n\t\t\t<BlocBordereau>\n\t\t\t\t<Exer V=\"2026\"/>\n\t\t\t\t<IdBord V=\"{n}\"/>\n\
             \t\t\t\t<DteBordEm V=\"2026-03-0{n}\"/>\n\t\t\t\t<TypBord V=\"01\"/>\n\t\t\t\t<NbrPce V=\"1\"/>\n\
             \t\t\t\t<MtBordHT V=\"1{n}34.50\"/>\n\t\t\t</BlocBordereau>\n\t\t\t<Piece>\n\t\t\t\t<BlocPiece>\n\
             \t\t\t\t\t<InfoPce><IdPce V=\"{n}\"/><Obj V=\"Fournitures scolaires école Jean-Jaurès\"/></InfoPce>\n\
             \t\t\t\t</BlocPiece>\n\t\t\t\t<LigneDePiece><Tiers><InfoTiers><Nom V=\"Société Générale d'Équipement\"/>\
             </InfoTiers><Adresse><Adr2 V=\"6 boulevard du Général Leclerc\"/><Ville V=\"SAINT-ÉTIENNE\"/></Adresse>\
             </Tiers></LigneDePiece>\n\t\t\t</Piece>\n\t\t</Bordereau>\n"
        )
    };
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<!-- généré pour les tests -->\n\
         <n:PES_Aller xmlns:n=\"http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller\" \
         xmlns:xad=\"http://uri.etsi.org/01903/v1.1.1#\" xmlns:cm=\"http://www.minefi.gouv.fr/cp/helios/pes_v2/commun\" \
         xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n\
         \t<Enveloppe><Parametres><Version V=\"2\"/><TypFic V=\"PESALR2\"/><NomFic V=\"PESALR2_dépenses\"/></Parametres></Enveloppe>\n\
         \t<EnTetePES><DteStr V=\"2026-03-02\"/><IdPost V=\"042000\"/><LibelleColBud V=\"Budget annexe de l'eau - régie\"/></EnTetePES>\n\
         \t<PES_DepenseAller>\n\t\t<EnTeteDepense><IdVer V=\"2\"/></EnTeteDepense>\n{}{}\t</PES_DepenseAller>\n</n:PES_Aller>\n",
        bordereau(1),
        bordereau(2)
    );
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect()
}

fn pes_options() -> PesOptions {
    PesOptions {
        city: Some("Saint-Étienne".into()),
        postal_code: Some("42000".into()),
        country_name: Some("France".into()),
        ..Default::default()
    }
}

/// xmlsec1 on one given signature (the CLI otherwise checks only the first one of a file).
fn xmlsec1_pes_signature(f: &Path, ca_pem: &Path, sig_id: &str) -> bool {
    let out = Command::new("xmlsec1")
        .args(["--verify", "--trusted-pem"])
        .arg(ca_pem)
        .args(["--id-attr:Id", "Bordereau", "--id-attr:Id"])
        .arg("http://uri.etsi.org/01903/v1.1.1#:SignedProperties")
        .args([
            "--id-attr:Id",
            "http://www.w3.org/2000/09/xmldsig#:Signature",
        ])
        .args(["--node-id", sig_id])
        .arg(f)
        .output()
        .expect("xmlsec1 is required by these tests (apt install xmlsec1)");
    eprintln!(
        "xmlsec1 --node-id {sig_id}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    out.status.success()
}

fn pes_round_trip(kind: KeyKind) {
    let p = pki();
    let cred = issue(&p, kind);
    let original = pes_document(true);
    let signed = pes::sign_pes(&original, &cred, &pes_options()).unwrap();
    // Still ISO-8859-1, untouched outside the two insertions.
    assert!(signed.windows(5).any(|w| w == b"\xe9cole"));
    assert!(signed.starts_with(&original[..original.len() / 4]));
    assert_eq!(
        signed.iter().filter(|&&b| b >= 0x80).count(),
        original.iter().filter(|&&b| b >= 0x80).count()
    );
    assert_eq!(
        String::from_utf8_lossy(&signed)
            .matches("</ds:Signature></Bordereau>")
            .count(),
        2
    );
    let f = p.dir.path().join("pes.xml");
    std::fs::write(&f, &signed).unwrap();
    let (ok, out) = validate(&[Path::new("pes"), &f, &p.ca_pem]);
    assert!(ok, "validators rejected our PES:\n{out}");
    // The PES profile checker, from the shared harness when it is there.
    assert!(!harness() || out.contains("PES XAdES profile OK"), "{out}");

    let report = verify_pes(&signed, &ctx(vec![p.ca.certificate().clone()]));
    assert!(report.valid && report.signatures.len() == 2, "{report:?}");
    let ids: Vec<String> = report
        .signatures
        .iter()
        .map(|s| s.id.clone().unwrap())
        .collect();
    for id in &ids {
        assert!(
            xmlsec1_pes_signature(&f, &p.ca_pem, id),
            "xmlsec1 rejected {id}"
        );
    }

    // Flip one character inside the second Bordereau: only its signature breaks.
    let mut bad2 = signed.clone();
    let at = bad2.windows(6).position(|w| w == b"\"1234.").unwrap();
    bad2[at + 2] = b'9';
    let f3 = p.dir.path().join("pes-bad2.xml");
    std::fs::write(&f3, &bad2).unwrap();
    assert!(xmlsec1_pes_signature(&f3, &p.ca_pem, &ids[0]));
    assert!(!xmlsec1_pes_signature(&f3, &p.ca_pem, &ids[1]));
    let report = verify_pes(&bad2, &ctx(vec![p.ca.certificate().clone()]));
    assert!(
        report.signatures[0].integrity && !report.signatures[1].integrity,
        "{report:?}"
    );

    // Flip one character inside the first Bordereau.
    let mut bad = signed.clone();
    let at = bad.windows(6).position(|w| w == b"\"1134.").unwrap();
    bad[at + 2] = b'9';
    let f2 = p.dir.path().join("pes-bad.xml");
    std::fs::write(&f2, &bad).unwrap();
    let (ok, out) = validate(&[Path::new("pes"), &f2, &p.ca_pem]);
    assert!(!ok, "validators accepted an altered PES:\n{out}");
    let report = verify_pes(&bad, &ctx(vec![p.ca.certificate().clone()]));
    assert!(!report.valid, "{report:?}");
    assert!(
        !report.signatures[0].integrity && report.signatures[1].integrity,
        "{report:?}"
    );
}

#[test]
fn pes_rsa_seal_validates() {
    pes_round_trip(KeyKind::Seal);
}

#[test]
fn pes_ecdsa_validates() {
    pes_round_trip(KeyKind::Person);
}

#[test]
fn pes_without_bordereau_ids_signs_the_root() {
    let p = pki();
    let cred = issue(&p, KeyKind::Seal);
    // Also without the ds/xad declarations on the root: the signature then declares them.
    let mut doc = pes_document(false);
    for decl in [
        " xmlns:xad=\"http://uri.etsi.org/01903/v1.1.1#\"",
        " xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"",
    ] {
        let at = doc
            .windows(decl.len())
            .position(|w| w == decl.as_bytes())
            .unwrap();
        doc.drain(at..at + decl.len());
    }
    let signed = pes::sign_pes(&doc, &cred, &PesOptions::default()).unwrap();
    let s = String::from_utf8_lossy(&signed);
    assert!(s.contains("<ds:Signature xmlns:ds="), "{s}");
    assert!(s.contains("</ds:Signature></n:PES_Aller>"), "{s}");
    let f = p.dir.path().join("pes-root.xml");
    std::fs::write(&f, &signed).unwrap();
    let (ok, out) = validate(&[Path::new("pes"), &f, &p.ca_pem]);
    assert!(ok, "{out}");
    assert!(verify_pes(&signed, &ctx(vec![p.ca.certificate().clone()])).valid);
    // Already signed: refused.
    assert!(pes::sign_pes(&signed, &cred, &PesOptions::default()).is_err());
}

#[test]
fn pes_two_phase_and_doctype_refused() {
    let p = pki();
    let cred = issue(&p, KeyKind::Seal);
    let prepared = pes::prepare(
        &pes_document(true),
        &cred.chain,
        cred.algorithm(),
        &PesOptions::default(),
    )
    .unwrap();
    assert_eq!(prepared.data_to_sign().len(), 2);
    assert!(
        prepared
            .signature_ids()
            .iter()
            .all(|i| i.starts_with("IDC"))
    );
    let values: Vec<Vec<u8>> = prepared
        .data_to_sign()
        .iter()
        .map(|d| cred.sign(d).unwrap())
        .collect();
    assert!(prepared.complete(&values[..1]).is_err());
    let signed = prepared.complete(&values).unwrap();
    assert!(verify_pes(&signed, &ctx(vec![p.ca.certificate().clone()])).valid);

    let evil = b"<?xml version=\"1.0\"?><!DOCTYPE n [<!ENTITY x \"y\">]><PES_Aller Id=\"a\">&x;</PES_Aller>";
    assert!(pes::sign_pes(evil, &cred, &PesOptions::default()).is_err());
    assert!(!verify_pes(evil, &ctx(vec![])).valid);
}

fn fixture(name: &str) -> Option<Vec<u8>> {
    let path = shared("fixtures/pes").join(name);
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(_) => {
            eprintln!("SKIPPED: fixture {} not found", path.display());
            None
        }
    }
}

#[test]
fn dgfip_fixture_core_verifies() {
    let Some(good) = fixture("test-perime-04-04-2016.xml") else {
        return;
    };
    let report = verify_pes(&good, &ctx(vec![]));
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(report.signatures.len(), 1);
    let s = &report.signatures[0];
    assert!(s.integrity && !s.trusted && !report.valid, "{report:?}");
    assert_eq!(s.signing_time.as_deref(), Some("2018-03-08T08:22:25.819Z"));

    let Some(bad) = fixture("test-alteree.xml") else {
        return;
    };
    let report = verify_pes(&bad, &ctx(vec![]));
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert!(!report.valid && !report.signatures.is_empty() && !report.signatures[0].integrity);
}
