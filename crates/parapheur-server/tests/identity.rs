//! Identity: HTTPS with client certificates (mTLS) verified against a generated CA, with
//! expired, foreign, revoked and unknown certificates refused and Basic still accepted; the
//! trusted-proxy header; exportUsersData and synchronizationUsers; invitations and password
//! reset through their pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509, X509NameBuilder};
use parapheur_test_utils::browser::{Browser, parse_eml, php_soap, wait_for};
use parapheur_test_utils::{SIREN_A, SIREN_B, TestApp};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";

struct Issued {
    cert: X509,
    key: PKey<Private>,
}

impl Issued {
    fn pem(&self) -> Vec<u8> {
        let mut v = self.cert.to_pem().unwrap();
        v.extend(self.key.private_key_to_pem_pkcs8().unwrap());
        v
    }
}

/// Issues a certificate (self-signed when `issuer` is `None`). `valid` is (from, to) in days
/// relative to now.
fn issue(
    cn: &str,
    email: Option<&str>,
    issuer: Option<&Issued>,
    kind: &str,
    valid: (i64, i64),
) -> Issued {
    let key = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    if let Some(e) = email {
        name.append_entry_by_nid(Nid::PKCS9_EMAILADDRESS, e)
            .unwrap();
    }
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map_or(&name, |i| i.cert.subject_name()))
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    b.set_not_before(&Asn1Time::from_unix(now + valid.0 * 86_400).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(now + valid.1 * 86_400).unwrap())
        .unwrap();
    b.set_pubkey(&key).unwrap();
    match kind {
        "ca" => {
            b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
                .unwrap();
            b.append_extension(KeyUsage::new().key_cert_sign().crl_sign().build().unwrap())
                .unwrap();
        }
        "server" => {
            let san = SubjectAlternativeName::new()
                .ip("127.0.0.1")
                .build(&b.x509v3_context(issuer.map(|i| i.cert.as_ref()), None))
                .unwrap();
            b.append_extension(san).unwrap();
            b.append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap())
                .unwrap();
        }
        _ => {
            if let Some(e) = email {
                let san = SubjectAlternativeName::new()
                    .email(e)
                    .build(&b.x509v3_context(issuer.map(|i| i.cert.as_ref()), None))
                    .unwrap();
                b.append_extension(san).unwrap();
            }
            b.append_extension(ExtendedKeyUsage::new().client_auth().build().unwrap())
                .unwrap();
        }
    }
    b.sign(issuer.map_or(&key, |i| &i.key), MessageDigest::sha256())
        .unwrap();
    Issued {
        cert: b.build(),
        key,
    }
}

/// A CRL of `ca` revoking `revoked`, made with `openssl ca` (the openssl crate cannot build CRLs).
fn crl(dir: &Path, ca: &Issued, revoked: &Issued) -> std::path::PathBuf {
    std::fs::write(dir.join("ca.pem"), ca.cert.to_pem().unwrap()).unwrap();
    std::fs::write(
        dir.join("ca.key"),
        ca.key.private_key_to_pem_pkcs8().unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("revoked.pem"), revoked.cert.to_pem().unwrap()).unwrap();
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("crlnumber"), "01\n").unwrap();
    std::fs::write(
        dir.join("ca.cnf"),
        "[ ca ]\ndefault_ca = d\n[ d ]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n",
    )
    .unwrap();
    for args in [
        &[
            "ca",
            "-config",
            "ca.cnf",
            "-keyfile",
            "ca.key",
            "-cert",
            "ca.pem",
            "-revoke",
            "revoked.pem",
        ][..],
        &[
            "ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-gencrl", "-out",
            "crl.pem",
        ][..],
    ] {
        let (ok, out) = parapheur_test_utils::run_tool(dir, "openssl", args);
        assert!(ok, "openssl {args:?}: {out}");
    }
    dir.join("crl.pem")
}

fn https(ca: &Issued, identity: Option<&Issued>) -> reqwest::blocking::Client {
    let mut b = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca.cert.to_pem().unwrap()).unwrap())
        .timeout(Duration::from_secs(30));
    if let Some(i) = identity {
        b = b.identity(reqwest::Identity::from_pem(&i.pem()).unwrap());
    }
    b.build().unwrap()
}

const CERT_USERS: &str = r#"
[[users]]
email = "registered@a.fr"
first_name = "Rémi"
last_name = "Registered"
authentication = "CERTIFICAT"
certificate = "registered.pem"
subscribers = ["200000001"]

[[users]]
email = "byemail@a.fr"
first_name = "Eve"
last_name = "Email"
authentication = "CERTIFICAT"
subscribers = ["200000001"]
"#;

#[test]
fn client_certificates_authenticate_certificat_users_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = issue("Test client CA", None, None, "ca", (-1, 30));
    let server_ca = issue("Test server CA", None, None, "ca", (-1, 30));
    let server = issue("127.0.0.1", None, Some(&server_ca), "server", (-1, 30));
    // The registered certificate carries no e-mail: it matches by its bytes.
    let registered = issue("Rémi Registered", None, Some(&ca), "client", (-1, 30));
    let by_email = issue(
        "Eve Email",
        Some("byemail@a.fr"),
        Some(&ca),
        "client",
        (-1, 30),
    );
    let unknown = issue("Nobody", Some("nobody@a.fr"), Some(&ca), "client", (-1, 30));
    let expired = issue(
        "Eve Email",
        Some("byemail@a.fr"),
        Some(&ca),
        "client",
        (-30, -1),
    );
    let foreign_ca = issue("Another CA", None, None, "ca", (-1, 30));
    let foreign = issue(
        "Eve Email",
        Some("byemail@a.fr"),
        Some(&foreign_ca),
        "client",
        (-1, 30),
    );
    let revoked = issue(
        "Eve Email",
        Some("byemail@a.fr"),
        Some(&ca),
        "client",
        (-1, 30),
    );
    let crl_path = crl(dir.path(), &ca, &revoked);
    let w = |name: &str, bytes: Vec<u8>| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    };
    let config = format!(
        "[tls]\ncert = \"{}\"\nkey = \"{}\"\nclient_ca = \"{}\"\ncrl = \"{}\"\n",
        w("server.pem", server.cert.to_pem().unwrap()),
        w("server.key", server.key.private_key_to_pem_pkcs8().unwrap()),
        w("client-ca.pem", ca.cert.to_pem().unwrap()),
        crl_path.display()
    );
    let app = TestApp::start_with(
        BIN,
        &config,
        CERT_USERS,
        &[("registered.pem", registered.cert.to_pem().unwrap())],
    );
    assert!(app.base.starts_with("https://"), "{}", app.base);
    let tasks = format!("{}/api/v1/tasks", app.base);
    // A certificate and no Basic header: authenticated as its CERTIFICAT user.
    for (who, id) in [
        (&registered, "registered@a.fr"),
        (&by_email, "byemail@a.fr"),
    ] {
        let r = https(&server_ca, Some(who)).get(&tasks).send().unwrap();
        assert_eq!(r.status(), 200, "{id}");
        let r = https(&server_ca, Some(who))
            .post(format!("{}{V1}/documents/search", app.base))
            .json(&json!({"siren": SIREN_A}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{id}: {}", r.text().unwrap());
    }
    // The reported attack on the credential cache: the certificate was just verified (its
    // user is cached); Basic credentials naming the cache's certificate namespace and the
    // public certificate's SHA-256, sent without any certificate, are refused.
    {
        use base64::Engine;
        use sha2::Digest;
        let der = by_email.cert.to_der().unwrap();
        let forged = format!(
            "\u{0}certificate:{}",
            hex::encode(sha2::Sha256::digest(&der))
        );
        let r = https(&server_ca, None)
            .get(&tasks)
            .header(
                "authorization",
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(forged)
                ),
            )
            .send()
            .unwrap();
        assert_eq!(
            r.status(),
            401,
            "a forged Basic credential must not authenticate"
        );
    }
    // SOAP as Pastell calls it: the certificate, an empty login (PHP then sends `Basic Og==`
    // beside it), peer checks off.
    let pastell = w("pastell.pem", by_email.pem());
    let r = php_soap(
        &format!("{}/parapheur-soap/soap/v1/Documents?wsdl", app.base),
        json!({
            "login": "", "password": "", "local_cert": pastell,
            "stream_context": { "ssl": { "verify_peer": false, "verify_peer_name": false } },
        }),
        json!([
            { "op": "listRemainingAcknowledgements", "args": { "siren": SIREN_A } },
            { "op": "getCircuits", "args": { "siren": SIREN_A } },
            { "op": "getCircuits", "args": { "siren": SIREN_B } },
        ]),
    );
    assert_eq!(r[0], json!({ "ok": {} }), "{r:?}");
    assert!(
        r[1]["ok"]["return"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{r:?}"
    );
    assert_eq!(r[2]["fault"]["errorCode"], 100, "{r:?}");
    // The portal: "Se connecter avec mon certificat" opens a session for the certificate's user.
    let portal_login = |client: &reqwest::blocking::Client| {
        let page = client
            .get(format!("{}/parapheur/login", app.base))
            .send()
            .unwrap();
        let cookie = page
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("parapheur_csrf="))
            .map(|v| v.split(';').next().unwrap().to_owned())
            .unwrap();
        let body = page.text().unwrap();
        assert!(body.contains("Se connecter avec mon certificat"), "{body}");
        let token = cookie.trim_start_matches("parapheur_csrf=").to_owned();
        client
            .post(format!("{}/parapheur/login/certificat", app.base))
            .header("cookie", &cookie)
            .form(&[("csrf", token.as_str()), ("next", "/parapheur/")])
            .send()
            .unwrap()
    };
    let no_redirect = |who: Option<&Issued>| {
        let mut b = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .add_root_certificate(
                reqwest::Certificate::from_pem(&server_ca.cert.to_pem().unwrap()).unwrap(),
            );
        if let Some(i) = who {
            b = b.identity(reqwest::Identity::from_pem(&i.pem()).unwrap());
        }
        b.build().unwrap()
    };
    let with_cert = no_redirect(Some(&by_email));
    let r = portal_login(&with_cert);
    assert_eq!(r.status(), 303);
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("parapheur_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .expect("a session cookie");
    let dash = with_cert
        .get(format!("{}/parapheur/", app.base))
        .header("cookie", &session)
        .send()
        .unwrap();
    assert_eq!(dash.status(), 200);
    assert!(dash.text().unwrap().contains("Eve Email"));
    let r = portal_login(&no_redirect(None));
    assert_eq!(r.status(), 401);
    assert!(r.text().unwrap().contains("Aucun certificat reconnu"));
    // A valid certificate of nobody: 401.
    let r = https(&server_ca, Some(&unknown))
        .get(&tasks)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    // Expired, signed by another CA, revoked: the handshake fails.
    for (what, bad) in [
        ("expired", &expired),
        ("foreign", &foreign),
        ("revoked", &revoked),
    ] {
        let r = https(&server_ca, Some(bad)).get(&tasks).send();
        assert!(
            r.is_err(),
            "{what} certificate accepted: {:?}",
            r.map(|r| r.status())
        );
    }
    // Without a certificate, Basic still works; without either, 401.
    let plain = https(&server_ca, None);
    let r = plain
        .get(&tasks)
        .basic_auth("v1@a.fr", Some("password-v1"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(plain.get(&tasks).send().unwrap().status(), 401);
    // Plain HTTP on the HTTPS port gets nothing.
    let http = tasks.replacen("https://", "http://", 1);
    assert!(!reqwest::blocking::get(http).is_ok_and(|r| r.status().is_success()));
}

#[test]
fn a_trusted_proxy_may_forward_the_certificate_others_may_not() {
    let dir = tempfile::tempdir().unwrap();
    let ca = issue("Test client CA", None, None, "ca", (-1, 30));
    let eve = issue(
        "Eve Email",
        Some("byemail@a.fr"),
        Some(&ca),
        "client",
        (-1, 30),
    );
    let foreign_ca = issue("Another CA", None, None, "ca", (-1, 30));
    let forged = issue(
        "Eve Email",
        Some("byemail@a.fr"),
        Some(&foreign_ca),
        "client",
        (-1, 30),
    );
    let registered = issue("Rémi Registered", None, Some(&ca), "client", (-1, 30));
    let revoked = issue(
        "Eve Email",
        Some("byemail@a.fr"),
        Some(&ca),
        "client",
        (-1, 30),
    );
    // Writes ca.pem (the client CA) and crl.pem (revoking `revoked`).
    let crl_path = crl(dir.path(), &ca, &revoked);
    let files = [("registered.pem", registered.cert.to_pem().unwrap())];
    let escaped = |c: &Issued| {
        String::from_utf8(c.cert.to_pem().unwrap())
            .unwrap()
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let base = format!(
        "[tls]\nclient_ca = \"{}\"\ncrl = \"{}\"\nproxy_cert_header = \"X-SSL-Client-Cert\"\n",
        dir.path().join("ca.pem").display(),
        crl_path.display()
    );
    let trusted = TestApp::start_with(
        BIN,
        &format!("{base}trusted_proxies = [\"127.0.0.1\"]\n"),
        CERT_USERS,
        &files,
    );
    let c = reqwest::blocking::Client::new();
    let get = |app: &TestApp, cert: &Issued| {
        c.get(format!("{}/api/v1/tasks", app.base))
            .header("X-SSL-Client-Cert", escaped(cert))
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(get(&trusted, &eve), 200);
    assert_eq!(
        get(&trusted, &forged),
        401,
        "the forwarded certificate is verified too"
    );
    assert_eq!(get(&trusted, &revoked), 401, "and checked against the CRL");
    let untrusted = TestApp::start_with(
        BIN,
        &format!("{base}trusted_proxies = [\"10.9.9.9\"]\n"),
        CERT_USERS,
        &files,
    );
    assert_eq!(get(&untrusted, &eve), 401, "not from a trusted proxy");
}

#[test]
fn export_and_synchronisation_round_trip_with_invitations() {
    let app = TestApp::start(BIN, "");
    let admin = app.as_user("admin@a.fr");
    let export = || {
        admin
            .get(&format!("{V1}/exportUsersData?siren={SIREN_A}"))
            .json()
    };
    let users = export();
    let v1 = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "v1@a.fr")
        .unwrap()
        .clone();
    assert_eq!(v1["authenticationType"], "BASIC");
    assert!(v1["nom"].is_string() && v1["prenom"].is_string());
    assert!(
        v1["circuits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["circuit"] == "VVS" && c["role"] == "visa"),
        "{v1}"
    );
    // Only administrators, and only of their subscriber.
    assert_eq!(
        app.as_user("depot@a.fr")
            .get(&format!("{V1}/exportUsersData?siren={SIREN_A}"))
            .error_code(),
        Some(100)
    );
    assert_eq!(
        admin
            .get(&format!("{V1}/exportUsersData?siren={SIREN_B}"))
            .error_code(),
        Some(100)
    );

    // Everybody of SIREN A is listed again except v2@a.fr; v1 is renamed and grouped; a new
    // BASIC user arrives; two entries are invalid.
    let keep = ["depot@a.fr", "admin@a.fr", "s1@a.fr", "agent@a.fr"];
    let mut body: Vec<serde_json::Value> = keep
        .iter()
        .map(|e| json!({"authenticationType": "BASIC", "email": e, "firstName": "P", "lastName": "N", "groups": []}))
        .collect();
    body.push(json!({"authenticationType": "BASIC", "email": "v1@a.fr", "firstName": "Valérie", "lastName": "Nouvelle", "groups": ["Finances", "Élus"]}));
    body.push(json!({"authenticationType": "BASIC", "email": "nouveau@a.fr", "firstName": "Noé", "lastName": "Nouveau", "groups": ["Finances"]}));
    body.push(json!({"authenticationType": "LDAP", "email": "bad@a.fr", "firstName": "B", "lastName": "A"}));
    body.push(json!({"authenticationType": "BASIC", "email": "not-an-email", "lastName": "X"}));
    // v2 is a member now (and its credentials are cached by this request).
    let v2 = app.as_user("v2@a.fr");
    let search = format!("{V1}/documents/search");
    assert_eq!(v2.post_json(&search, json!({"siren": SIREN_A})).status, 200);
    let r = app.as_user("admin@a.fr").put_json(
        &format!("{V1}/synchronization/{SIREN_A}/users"),
        json!(body),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let problems = r.json();
    let problems = problems.as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["email"] == "bad@a.fr"
            && p["errors"][0]
                .as_str()
                .unwrap()
                .contains("authenticationType")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p["index"] == 7 && p["errors"].as_array().unwrap().len() >= 2),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p["circuit"] == "VVS" && p["errors"][0].as_str().unwrap().contains("step 2")),
        "{problems:?}"
    );

    let users = export();
    let emails: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert!(
        emails.contains(&"nouveau@a.fr") && !emails.contains(&"v2@a.fr"),
        "{emails:?}"
    );
    let v1 = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "v1@a.fr")
        .unwrap();
    assert_eq!(
        (v1["nom"].as_str(), v1["prenom"].as_str()),
        (Some("Nouvelle"), Some("Valérie"))
    );
    assert_eq!(v1["groups"], json!(["Finances", "Élus"]));
    // v2 can no longer reach subscriber A's documents (at once: cached credentials are
    // dropped); its past stays.
    assert_eq!(v2.get("/api/v1/tasks").status, 200);
    assert_eq!(
        v2.post_json(&search, json!({"siren": SIREN_A}))
            .error_code(),
        Some(100)
    );
    // Another subscriber is refused.
    let r = admin.put_json(&format!("{V1}/synchronization/{SIREN_B}/users"), json!([]));
    assert_eq!(r.error_code(), Some(100));
    // A non-array body is a clear error.
    let r = admin.put_json(
        &format!("{V1}/synchronization/{SIREN_A}/users"),
        json!({"users": []}),
    );
    assert_eq!(r.error_code(), Some(112));

    // The new BASIC user is invited to choose a password.
    let mail_dir = app.data_dir().join("outbox/mail");
    let invitation = wait_for(Duration::from_secs(10), "the invitation", || {
        std::fs::read_dir(&mail_dir).ok()?.flatten().find_map(|e| {
            let raw = std::fs::read_to_string(e.path()).ok()?;
            raw.contains("To: nouveau@a.fr").then(|| parse_eml(&raw))
        })
    });
    let text = invitation["text"].as_str().unwrap();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/motdepasse/"))
        .unwrap();
    let b = Browser::new(&app.base);
    let page = b.get(link);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("nouveau@a.fr"));
    let r = b.post_form(
        link,
        &[
            ("csrf", &page.csrf()),
            ("password", "court"),
            ("confirmation", "court"),
        ],
    );
    assert_eq!(r.status, 422);
    let pw = "un mot de passe long";
    let r = b.post_form(
        link,
        &[
            ("csrf", &page.csrf()),
            ("password", pw),
            ("confirmation", pw),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let c = parapheur_test_utils::Client::new(&app.base, Some(("nouveau@a.fr".into(), pw.into())));
    assert_eq!(c.get("/api/v1/tasks").status, 200);
    assert_eq!(b.get(link).status, 404, "the link works once");

    // Forgotten password: a reset link by e-mail, the same answer for unknown addresses.
    let p = b.get("/motdepasse/oubli");
    for email in ["nouveau@a.fr", "inconnu@a.fr"] {
        let r = b.post_form(
            "/motdepasse/oubli",
            &[("csrf", &p.csrf()), ("email", email)],
        );
        assert_eq!(r.status, 303);
    }
    let reset = wait_for(Duration::from_secs(10), "the reset e-mail", || {
        std::fs::read_dir(&mail_dir).ok()?.flatten().find_map(|e| {
            let raw = std::fs::read_to_string(e.path()).ok()?;
            (raw.contains("To: nouveau@a.fr") && raw.contains("initialisation"))
                .then(|| parse_eml(&raw))
        })
    });
    let link = reset["text"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .find(|w| w.contains("/motdepasse/"))
        .unwrap()
        .to_owned();
    let page = b.get(&link);
    let pw2 = "un autre mot de passe";
    assert_eq!(
        b.post_form(
            &link,
            &[
                ("csrf", &page.csrf()),
                ("password", pw2),
                ("confirmation", pw2)
            ]
        )
        .status,
        200
    );
    let c2 =
        parapheur_test_utils::Client::new(&app.base, Some(("nouveau@a.fr".into(), pw2.into())));
    assert_eq!(c2.get("/api/v1/tasks").status, 200);
    assert!(!std::fs::read_dir(&mail_dir).unwrap().flatten().any(|e| {
        std::fs::read_to_string(e.path())
            .unwrap_or_default()
            .contains("To: inconnu@a.fr")
    }));
}
