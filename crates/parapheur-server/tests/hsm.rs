//! Seals and a user's key held on a PKCS#11 token (Debian's SoftHSM2, installed by
//! `scripts/test.sh`): the private keys are imported into a token and deleted from disk; the
//! server signs through the token (RSA for one subscriber's seal, ECDSA P-256 for the other's
//! and for a user) and pyHanko validates the result against the test CA; a wrong PIN stops the
//! start with a clear message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509, X509NameBuilder};
use parapheur_test_utils::browser::wait_for;
use parapheur_test_utils::{SIREN_A, SIREN_B, TestApp, pdf, pyhanko_valid, qpdf_check};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PROVISION: &str = r#"
[[circuits]]
siren = "200000001"
id = "CACHET"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "serverSignature" } ]

[[circuits]]
siren = "200000002"
id = "CACHET"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "serverSignature" } ]
"#;

fn cert(cn: &str, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "Tests parapheur")
        .unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map_or(&name, |(c, _)| c.subject_name()))
        .unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(365).unwrap())
        .unwrap();
    if issuer.is_none() {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(KeyUsage::new().key_cert_sign().crl_sign().build().unwrap())
            .unwrap();
    } else {
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .non_repudiation()
                .build()
                .unwrap(),
        )
        .unwrap();
    }
    b.sign(issuer.map_or(key, |(_, k)| k), MessageDigest::sha256())
        .unwrap();
    b.build()
}

fn softhsm(conf: &Path, args: &[&str]) {
    let out = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", conf)
        .args(args)
        .output()
        .expect("softhsm2-util (Debian softhsm2; scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "softhsm2-util {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn seal_config(siren: &str, label: &str, pin: &str, certificate: &Path) -> String {
    format!(
        "[[signing.hsm_seals]]\nsiren = \"{siren}\"\nmodule = \"{MODULE}\"\ntoken = \"parapheur\"\npin = \"{pin}\"\nkey_label = \"{label}\"\ncertificate = \"{}\"\n",
        certificate.display()
    )
}

#[test]
fn seals_on_a_pkcs11_token_sign_documents() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    softhsm(
        &conf,
        &[
            "--init-token",
            "--free",
            "--label",
            "parapheur",
            "--so-pin",
            "5678",
            "--pin",
            "1234",
        ],
    );
    let ca_key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let ca = cert("Autorité de test HSM", &ca_key, None);
    let rsa = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let ec = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let agent = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let mut chains = Vec::new();
    for (label, key, cn) in [
        ("cachet-a", &rsa, "Cachet HSM Commune A"),
        ("cachet-b", &ec, "Cachet HSM Commune B"),
        ("agent-s1", &agent, "Sophie Signe (carte HSM)"),
    ] {
        let key_file = dir.path().join(format!("{label}.key"));
        std::fs::write(&key_file, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        softhsm(
            &conf,
            &[
                "--import",
                key_file.to_str().unwrap(),
                "--token",
                "parapheur",
                "--label",
                label,
                "--id",
                match label {
                    "cachet-a" => "01",
                    "cachet-b" => "02",
                    _ => "03",
                },
                "--pin",
                "1234",
            ],
        );
        // The private key now lives on the token only.
        std::fs::remove_file(&key_file).unwrap();
        let mut chain = cert(cn, key, Some((&ca, &ca_key))).to_pem().unwrap();
        chain.extend(ca.to_pem().unwrap());
        let chain_file = dir.path().join(format!("{label}.pem"));
        std::fs::write(&chain_file, chain).unwrap();
        chains.push(chain_file);
    }
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.to_pem().unwrap()).unwrap();
    let env = vec![("SOFTHSM2_CONF".to_owned(), conf.display().to_string())];
    let config = format!(
        "[signing]\ntrust_anchors = \"{}\"\n{}{}[[signing.hsm_users]]\nemail = \"S1@a.fr\"\nmodule = \"{MODULE}\"\ntoken = \"parapheur\"\npin = \"1234\"\nkey_label = \"agent-s1\"\ncertificate = \"{}\"\n",
        ca_file.display(),
        seal_config(SIREN_A, "cachet-a", "1234", &chains[0]),
        seal_config(SIREN_B, "cachet-b", "1234", &chains[1]),
        chains[2].display(),
    );
    let app = TestApp::start_env(BIN, &config, PROVISION, &[], &env);

    for (siren, user, cn) in [
        (SIREN_A, "depot@a.fr", "Cachet HSM Commune A"),
        (SIREN_B, "depot@b.fr", "Cachet HSM Commune B"),
    ] {
        let c = app.as_user(user);
        let id = c
            .upload(
                siren,
                "CACHET",
                "arrete.pdf",
                pdf::sample("Arrêté", 2, 0),
                "",
            )
            .id();
        wait_for(Duration::from_secs(20), "the seal", || {
            c.states(id).iter().any(|s| s == "Classé").then_some(())
        });
        let signed = c
            .get(&format!("/parapheur-ws/rest/v1/documents/v2/{id}/download"))
            .body;
        let (valid, report) = pyhanko_valid(&signed, &ca.to_pem().unwrap());
        assert_eq!(valid, 1, "{report}");
        // The signer is the token's key, named by its certificate (poppler's pdfsig).
        let file = dir.path().join(format!("signed-{siren}.pdf"));
        std::fs::write(&file, &signed).unwrap();
        let out = Command::new("pdfsig").arg(&file).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("Signer Certificate Common Name: {cn}")),
            "{text}"
        );
        assert!(qpdf_check(&signed));
    }
    // A user's key on the token: s1 signs the first step of "SS" with it, v2 the second with a
    // key of the internal CA; both signatures are valid, each trusted to its own CA.
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(
            SIREN_A,
            "SS",
            "convention.pdf",
            pdf::sample("Convention", 1, 0),
            "",
        )
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    assert_eq!(app.as_user("v2@a.fr").act(id, "sign", None).status, 200);
    let signed = c
        .get(&format!("/parapheur-ws/rest/v1/documents/v2/{id}/download"))
        .body;
    let mut both = ca.to_pem().unwrap();
    both.extend(app.as_user("depot@a.fr").get("/api/v1/pki/ca.pem").body);
    let (valid, report) = pyhanko_valid(&signed, &both);
    assert_eq!(valid, 2, "{report}");
    let file = dir.path().join("signed-user.pdf");
    std::fs::write(&file, &signed).unwrap();
    let out = Command::new("pdfsig").arg(&file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.split("Signature #2").next().unwrap_or_default();
    assert!(
        first.contains("Signer Certificate Common Name: Sophie Signe (carte HSM)"),
        "{text}"
    );
    assert!(
        !text
            .split("Signature #2")
            .nth(1)
            .unwrap_or_default()
            .contains("HSM"),
        "{text}"
    );
    // No seal key of these subscribers was written by the internal CA, nor s1's key.
    let issued: Vec<String> = app
        .query("SELECT name FROM pki_credentials")
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(!issued.iter().any(|f| f.starts_with("seal-")), "{issued:?}");
    assert!(
        issued.iter().any(|f| f.starts_with("user-")),
        "v2's key was issued: {issued:?}"
    );
    // Only v2's (one user): s1 signed with the token's key.
    let users: std::collections::BTreeSet<&str> = issued
        .iter()
        .filter(|f| f.starts_with("user-"))
        .filter_map(|f| f.split('.').next())
        .collect();
    assert_eq!(users.len(), 1, "{issued:?}");
    // A wrong PIN: the server refuses to start and says why.
    let data = dir.path().join("bad-data");
    let err = start_error(
        dir.path(),
        &conf,
        &seal_config(SIREN_A, "cachet-a", "0000", &chains[0]),
        &data,
    );
    assert!(
        err.contains("hsm_seals") && err.contains("logging in to the token"),
        "{err}"
    );
    // A user's key that is not on the token: the same, naming the user.
    let user = format!(
        "[[signing.hsm_users]]\nemail = \"s1@a.fr\"\nmodule = \"{MODULE}\"\ntoken = \"parapheur\"\npin = \"1234\"\nkey_label = \"absent\"\n"
    );
    let err = start_error(dir.path(), &conf, &user, &data);
    assert!(
        err.contains("hsm_users") && err.contains("s1@a.fr") && err.contains("absent"),
        "{err}"
    );
}

/// Starts the server with `extra` configuration, expects it to stop, and returns what it said.
fn start_error(dir: &Path, softhsm_conf: &Path, extra: &str, data: &Path) -> String {
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n{extra}",
            data.display()
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&bad)
        .env("SOFTHSM2_CONF", softhsm_conf)
        .output()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const AGENT: &str = env!("CARGO_BIN_EXE_parapheur-agent");

/// Runs `parapheur-agent` with the SoftHSM configuration `conf`, the password and the PIN in
/// the environment.
fn agent(conf: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(AGENT)
        .env("SOFTHSM2_CONF", conf)
        .env("PARAPHEUR_PASSWORD", "password-s1")
        .env("CARD_PIN", "4321")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Issue 20 §4: a signer's own key on a card (SoftHSM2 standing in for it). The key is made
/// here and imported into the token, its file deleted; its certificate, from an authority the
/// server trusts, names the signer's e-mail. `parapheur-agent` signs the user's pending
/// documents through the two-phase API; the server adds the timestamps and validation data
/// (B-LTA); the result validates with the card's certificate. Refusals: another user's
/// certificate, a value that does not match, a stale preparation.
#[test]
fn parapheur_agent_signs_with_the_users_own_card() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    softhsm(
        &conf,
        &[
            "--init-token",
            "--free",
            "--label",
            "carte-s1",
            "--so-pin",
            "8765",
            "--pin",
            "4321",
        ],
    );
    let ca_key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let ca = cert("Autorité de certification des agents", &ca_key, None);
    let key = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let with_email = |email: &str| {
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_nid(Nid::COMMONNAME, "Sophie Signe (carte)")
            .unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        let mut serial = BigNum::new().unwrap();
        serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
        b.set_serial_number(&serial.to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(ca.subject_name()).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(365).unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .non_repudiation()
                .build()
                .unwrap(),
        )
        .unwrap();
        let san = openssl::x509::extension::SubjectAlternativeName::new()
            .email(email)
            .build(&b.x509v3_context(Some(&ca), None))
            .unwrap();
        b.append_extension(san).unwrap();
        b.sign(&ca_key, MessageDigest::sha256()).unwrap();
        b.build()
    };
    let card_cert = with_email("s1@a.fr");
    let key_file = dir.path().join("card.key");
    std::fs::write(&key_file, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    softhsm(
        &conf,
        &[
            "--import",
            key_file.to_str().unwrap(),
            "--token",
            "carte-s1",
            "--label",
            "signature",
            "--id",
            "01",
            "--pin",
            "4321",
        ],
    );
    std::fs::remove_file(&key_file).unwrap();
    let cert_file = dir.path().join("card.pem");
    std::fs::write(&cert_file, card_cert.to_pem().unwrap()).unwrap();
    let module = [MODULE].concat();
    let (ok, out) = agent(
        &conf,
        &[
            "store-certificate",
            "--pkcs11-module",
            &module,
            "--token-label",
            "carte-s1",
            "--pin-env",
            "CARD_PIN",
            "--label",
            "signature",
            "--file",
            cert_file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");

    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.to_pem().unwrap()).unwrap();
    // A circuit whose signature step is made with the member's own card.
    let app = TestApp::start_with(
        BIN,
        &format!(
            "[signing]\ntrust_anchors = \"{}\"\ntsa_url = \"internal\"\nlevel = \"B-LTA\"\n",
            ca_file.display()
        ),
        &["CARTE:BUREAUTIQUE_PDF", "CARTEXML:BUREAUTIQUE_XML", "CARTEPES:HELIOS_SANS_TELETRANSMISSION"]
            .iter()
            .map(|c| {
                let (id, kind) = c.split_once(':').unwrap();
                format!(
                    "[[circuits]]\nsiren = \"200000001\"\nid = \"{id}\"\ntype = \"{kind}\"\n\
                     steps = [ {{ step = \"signature\", members = [\"s1@a.fr\"], key = \"token\" }} ]\n"
                )
            })
            .collect::<String>(),
        &[],
    );
    let depot = app.as_user("depot@a.fr");
    let ids: Vec<i64> = ["S", "CARTE"]
        .iter()
        .enumerate()
        .map(|(i, circuit)| {
            depot
                .upload(
                    SIREN_A,
                    circuit,
                    &format!("carte-{i}.pdf"),
                    pdf::small("carte"),
                    "",
                )
                .id()
        })
        .collect();
    // On the CARTE circuit the server refuses to sign with a key of its own.
    let r = app.as_user("s1@a.fr").act(ids[1], "sign", None);
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("parapheur-agent"), "{}", r.text());
    // The portal tells the signer how to sign it, and offers no "Signer" button.
    let b = crate::portal::signed_in(&app, "s1@a.fr");
    let page = b.get(&format!("/parapheur/documents/{}", ids[1]));
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Signer avec votre carte"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("parapheur-agent sign --server {}", app.base)),
        "{}",
        page.body
    );
    assert!(!page.body.contains("value=\"sign\""), "{}", page.body);
    let other = b.get(&format!("/parapheur/documents/{}", ids[0]));
    assert!(other.body.contains("value=\"sign\""), "{}", other.body);

    // The agent signs both.
    let sign_all = [
        "sign",
        "--server",
        &app.base,
        "--user",
        "s1@a.fr",
        "--password-env",
        "PARAPHEUR_PASSWORD",
        "--pkcs11-module",
        &module,
        "--token-label",
        "carte-s1",
        "--pin-env",
        "CARD_PIN",
        "--all",
    ];
    let (ok, out) = agent(&conf, &sign_all);
    assert!(ok, "{out}\n{}", app.server_log());
    assert_eq!(out.matches("signé : document").count(), 2, "{out}");
    for id in &ids {
        assert_eq!(
            depot.states(*id),
            ["Préparé", "Envoyé pour signature", "Signé", "Classé"],
            "{}",
            app.server_log()
        );
        let signed = depot
            .get(&format!("/parapheur-ws/rest/v1/documents/v2/{id}/download"))
            .body;
        // The card's certificate signed it, trusted through the agents' authority (and the
        // built-in timestamp authority through the server's CA).
        let mut trust = ca.to_pem().unwrap();
        trust.extend(
            parapheur_test_utils::Client::new(&app.base, None)
                .get("/api/v1/pki/ca.pem")
                .body,
        );
        let (n, report) = pyhanko_valid(&signed, &trust);
        assert_eq!(n, 1, "{report}");
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("s.pdf"), &signed).unwrap();
        let (ok, out) = parapheur_test_utils::run_tool(tmp.path(), "pdfsig", &["s.pdf"]);
        assert!(
            ok && out.contains("Common Name: Sophie Signe (carte)"),
            "{out}"
        );
        assert!(qpdf_check(&signed));
        let v = verify_json(&app, signed);
        assert_eq!(v["signatures"][0]["level"], "PAdES-BASELINE-LTA", "{v:#}");
        assert_eq!(
            v["signatures"][0]["signer"], "Sophie Signe (carte)",
            "{v:#}"
        );
    }
    // Nothing left: the agent says so.
    let (ok, out) = agent(&conf, &sign_all);
    assert!(ok && out.contains("aucun document à signer"), "{out}");

    // XML circuits too: a detached XAdES and a PES (one signature per Bordereau), with the
    // chain found on the card (its issuer's certificate stored beside the holder's).
    let ca_on_card = dir.path().join("ca-card.pem");
    std::fs::write(&ca_on_card, ca.to_pem().unwrap()).unwrap();
    let (ok, out) = agent(
        &conf,
        &[
            "store-certificate",
            "--pkcs11-module",
            &module,
            "--token-label",
            "carte-s1",
            "--pin-env",
            "CARD_PIN",
            "--label",
            "autorite",
            "--file",
            ca_on_card.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
    let acte = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<deliberation><objet>Carte</objet></deliberation>\n";
    let xml_id = depot
        .upload(
            SIREN_A,
            "CARTEXML",
            "deliberation.xml",
            acte.as_bytes().to_vec(),
            "",
        )
        .id();
    let pes_id = depot
        .upload(
            SIREN_A,
            "CARTEPES",
            "pes.xml",
            parapheur_test_utils::pes_aller("PESALR2_CARTE"),
            "",
        )
        .id();
    let (ok, out) = agent(&conf, &sign_all);
    assert!(ok, "{out}\n{}", app.server_log());
    assert_eq!(out.matches("signé : document").count(), 2, "{out}");
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("ca.pem"), ca.to_pem().unwrap()).unwrap();
    // The XAdES: xmlsec1 accepts it with the card's authority as the only trust, and it carries
    // both certificates.
    let zip = depot
        .get(&format!(
            "/parapheur-ws/rest/v1/documents/v2/{xml_id}/download"
        ))
        .body;
    for (name, bytes) in parapheur_test_utils::unzip(&zip) {
        std::fs::write(work.path().join(&name), bytes).unwrap();
    }
    let sig = std::fs::read_to_string(work.path().join("deliberation-signature-1.xml")).unwrap();
    assert_eq!(sig.matches("<ds:X509Certificate>").count(), 2, "{sig}");
    // B-LTA asks for XAdES T: the server stamped the card's signature value.
    assert!(sig.contains("SignatureTimeStamp"), "{sig}");
    let (ok, out) = parapheur_test_utils::run_tool(
        work.path(),
        "xmlsec1",
        &[
            "--verify",
            "--trusted-pem",
            "ca.pem",
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            "--enabled-reference-uris",
            "same-doc,local,remote",
            "deliberation-signature-1.xml",
        ],
    );
    assert!(ok, "{out}");
    // The PES: two Bordereaux, each signed by the card; xmlsec1 accepts each signature.
    let pes = depot
        .get(&format!(
            "/parapheur-ws/rest/v1/documents/v2/{pes_id}/download"
        ))
        .body;
    std::fs::write(work.path().join("pes.xml"), &pes).unwrap();
    let text = String::from_utf8_lossy(&pes).into_owned();
    assert_eq!(text.matches("</ds:Signature>").count(), 2, "{text}");
    for id in text.match_indices("<ds:Signature ").filter_map(|(at, _)| {
        let rest = &text[at..];
        let start = rest.find("Id=\"")? + 4;
        Some(rest[start..start + rest[start..].find('"')?].to_owned())
    }) {
        let (ok, out) = parapheur_test_utils::run_tool(
            work.path(),
            "xmlsec1",
            &[
                "--verify",
                "--trusted-pem",
                "ca.pem",
                "--id-attr:Id",
                "Bordereau",
                "--id-attr:Id",
                "http://uri.etsi.org/01903/v1.1.1#:SignedProperties",
                "--id-attr:Id",
                "http://www.w3.org/2000/09/xmldsig#:Signature",
                "--node-id",
                &id,
                "pes.xml",
            ],
        );
        assert!(ok, "{id}: {out}");
    }
    for id in [xml_id, pes_id] {
        assert_eq!(
            depot.states(id),
            ["Préparé", "Envoyé pour signature", "Signé", "Classé"]
        );
    }

    // Refusals, through the API directly.
    let s1 = app.as_user("s1@a.fr");
    let id = depot
        .upload(SIREN_A, "S", "refus.pdf", pdf::small("refus"), "")
        .id();
    let b64 = |c: &X509| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(c.to_der().unwrap())
    };
    // A certificate naming someone else.
    let r = s1.post_json(
        &format!("/api/v1/documents/{id}/sign/prepare"),
        serde_json::json!({ "certificates": [b64(&with_email("autre@a.fr"))] }),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("does not name s1@a.fr"), "{}", r.text());
    // A value that is not a signature of the data to sign.
    let r = s1.post_json(
        &format!("/api/v1/documents/{id}/sign/prepare"),
        serde_json::json!({ "certificates": [b64(&card_cert)] }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let time = r.json()["signing_time"].as_str().unwrap().to_owned();
    let bogus = {
        use base64::Engine;
        let other = PKey::from_ec_key(
            EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
        )
        .unwrap();
        let mut s = openssl::sign::Signer::new(MessageDigest::sha256(), &other).unwrap();
        s.update(b"autre chose").unwrap();
        base64::engine::general_purpose::STANDARD.encode(s.sign_to_vec().unwrap())
    };
    let r = s1.post_json(
        &format!("/api/v1/documents/{id}/sign/complete"),
        serde_json::json!({ "certificates": [b64(&card_cert)], "signing_time": time, "signature": bogus }),
    );
    assert!(r.status >= 400, "{}", r.text());
    // A preparation of long ago.
    let r = s1.post_json(
        &format!("/api/v1/documents/{id}/sign/complete"),
        serde_json::json!({ "certificates": [b64(&card_cert)], "signing_time": "2020-01-01T00:00:00Z", "signature": bogus }),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // Nothing was signed.
    assert_eq!(depot.states(id), ["Préparé", "Envoyé pour signature"]);
    // The user who is not the step's signer cannot prepare.
    let r = app.as_user("v1@a.fr").post_json(
        &format!("/api/v1/documents/{id}/sign/prepare"),
        serde_json::json!({ "certificates": [b64(&card_cert)] }),
    );
    assert!(r.status >= 400, "{}", r.text());
}

/// `POST /verifier` (JSON) of `file`.
fn verify_json(app: &TestApp, file: Vec<u8>) -> serde_json::Value {
    let r = parapheur_test_utils::Client::new(&app.base, None).multipart(
        reqwest::Method::POST,
        "/verifier",
        vec![
            parapheur_test_utils::Part::File("file", "f.pdf".into(), file),
            parapheur_test_utils::Part::Text("format", "json".into()),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}
