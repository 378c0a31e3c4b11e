//! The OTP signing loop ("boucle SMS") end to end, through the HTML page as a browser drives
//! it: uploadOTP, the page, the code by SMS (outbox) or e-mail, wrong codes, lockout, expiry,
//! the hourly limit, one link for several documents, and the signed PDF checked by pyHanko.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::{Browser, Page, otp_code, parse_eml, sms_outbox, wait_for};
use parapheur_test_utils::{Client, Part, SIREN_A, TestApp, pdf};
use reqwest::Method;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";
const REFERER: &str = "https://logiciel.example.fr/retour?dossier=42";

fn meta(phone: &str, email: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<meta-data-list>
  <meta-data name="OTP_firstname_0" value="Jeanne"/>
  <meta-data name="OTP_lastname_0" value="Dupont"/>
  <meta-data name="OTP_phonenumber_0" value="{phone}"/>
  <meta-data name="OTP_email_0" value="{email}"/>
</meta-data-list>"#
    )
    .into_bytes()
}

fn upload_otp(
    c: &Client,
    circuit: &str,
    name: &str,
    meta: Vec<u8>,
    referer: &str,
) -> serde_json::Value {
    let r = c.multipart(
        Method::POST,
        &format!("{V1}/documents/v2/otp/{SIREN_A}/{circuit}/upload"),
        vec![
            Part::File("doc", name.to_owned(), pdf::sample(name, 1, 500)),
            Part::File("meta", "meta.xml".into(), meta),
            Part::Text("label", "Conventions".into()),
            Part::Text("comment", "À signer par le prestataire".into()),
            Part::Text("referer", referer.to_owned()),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// The path part of a page URL returned by the API.
fn path_of(url: &str, app: &TestApp) -> String {
    assert!(
        url.starts_with(&app.base),
        "{url} is not under {}",
        app.base
    );
    url[app.base.len()..].to_owned()
}

fn sms_file(app: &TestApp) -> std::path::PathBuf {
    app.data_dir().join("outbox/sms.jsonl")
}

/// Asks for a code through the page and returns it, read from the SMS outbox.
fn request_code(app: &TestApp, b: &Browser, page: &str) -> String {
    let before = sms_outbox(&sms_file(app)).len();
    let p = b.get(page);
    assert_eq!(p.status, 200, "{}", p.body);
    let r = b.post_form(&format!("{page}/code"), &[("csrf", &p.csrf())]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("{page}?sent=1").as_str())
    );
    wait_for(Duration::from_secs(10), "the SMS", || {
        let all = sms_outbox(&sms_file(app));
        (all.len() > before).then(|| otp_code(&all[all.len() - 1].1).expect("a 6-digit code"))
    })
}

fn submit(b: &Browser, page: &str, code: &str) -> Page {
    let p = b.get(page);
    b.post_form(
        &format!("{page}/sign"),
        &[("csrf", &p.csrf()), ("code", code)],
    )
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

#[test]
fn otp_loop_through_the_page_signs_and_returns_to_the_referer() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let out = upload_otp(
        &c,
        "OTP",
        "convention.pdf",
        meta("06 12 34 56 78", "jeanne@exemple.fr"),
        REFERER,
    );
    let id = out["id"].as_i64().expect("integer id");
    let url = out["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/otp/", app.base)), "{url}");
    let token = url.rsplit('/').next().unwrap();
    assert!(token.len() >= 43, "at least 256 bits, URL-safe: {token}");
    assert_eq!(c.states(id), ["Préparé", "Informations OTP définies"]);

    let page = path_of(url, &app);
    let b = Browser::new(&app.base);
    let p = b.get(&page);
    assert_eq!(p.status, 200);
    assert!(p.body.contains("lang=\"fr\""));
    assert!(p.body.contains("convention.pdf") && p.body.contains("Jeanne Dupont"));
    assert!(p.body.contains("Recevoir le code"));
    assert_eq!(p.headers["referrer-policy"], "no-referrer");
    assert_eq!(p.headers["cache-control"], "no-store");
    let cookie = p.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // The preview serves the document inline.
    let (st, preview) = b.get_bytes(&format!("{page}/documents/{id}"));
    assert_eq!(st, 200);
    assert!(preview.starts_with(b"%PDF-"));
    assert_eq!(b.get_bytes(&format!("{page}/documents/999999")).0, 404);

    let code = request_code(&app, &b, &page);
    let sms = sms_outbox(&sms_file(&app));
    assert_eq!(sms.last().unwrap().0, "+33612345678");
    let p = b.get(&page);
    assert!(
        p.body.contains("+336******78"),
        "masked phone shown: {}",
        p.body
    );
    assert!(p.body.contains("name=\"code\""));

    let r = submit(&b, &page, &wrong(&code));
    assert_eq!(r.status, 422);
    assert!(r.body.contains("Il vous reste 2 essais"), "{}", r.body);
    assert_eq!(c.states(id).len(), 2, "a wrong code changes nothing");

    let r = submit(&b, &page, &code);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some(REFERER));
    assert_eq!(
        c.states(id),
        [
            "Préparé",
            "Informations OTP définies",
            "OTP validé",
            "OTP signé",
            "Classé"
        ]
    );
    let h = c.get(&format!("{V1}/documents/v2/{id}/history")).json();
    assert_eq!(h[2]["userFullname"], "Jeanne Dupont");
    // The code is used: it cannot sign again, and the page says nothing is pending.
    let p = b.get(&page);
    assert!(
        p.body.contains("Tous les documents de ce lien sont signés"),
        "{}",
        p.body
    );
    assert!(!p.body.contains("name=\"code\""));
    let csrf = b.cookies.lock().unwrap()["parapheur_csrf"].clone();
    let again = b.post_form(&format!("{page}/sign"), &[("csrf", &csrf), ("code", &code)]);
    assert_eq!(again.status, 409, "{}", again.body);

    let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
    let ca = Client::new(&app.base, None).get("/api/v1/pki/ca.pem").body;
    let (n, report) = parapheur_test_utils::pyhanko_valid(&signed, &ca);
    assert_eq!(n, 1, "{report}");
    assert!(parapheur_test_utils::qpdf_check(&signed));
    // The evidence (signer, masked phone, times, IP) is in the signature and the fiche.
    let text = String::from_utf8_lossy(&signed);
    // PDF text strings of the signature dictionary are UTF-16BE in hex.
    let hex16 = |s: &str| {
        s.encode_utf16()
            .map(|u| format!("{u:04X}"))
            .collect::<String>()
    };
    for needle in ["Jeanne Dupont", "OTP", "+336******78", "127.0.0.1"] {
        assert!(
            text.contains(&hex16(needle)),
            "the signature lacks {needle}"
        );
    }
    for secret in ["0612345678", "+33612345678"] {
        assert!(!text.contains(secret) && !text.contains(&hex16(secret)));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fdc.pdf"),
        c.get(&format!("{V1}/documents/v2/{id}/getFdc")).body,
    )
    .unwrap();
    std::fs::write(dir.path().join("signed.pdf"), &signed).unwrap();
    let (ok, fdc) = parapheur_test_utils::run_tool(dir.path(), "pdftotext", &["fdc.pdf", "-"]);
    assert!(ok, "{fdc}");
    for needle in ["OTP signé", "Jeanne Dupont", "+336******78", "127.0.0.1"] {
        assert!(fdc.contains(needle), "fiche lacks {needle}:\n{fdc}");
    }
    let (ok, sig) = parapheur_test_utils::run_tool(dir.path(), "pdfsig", &["signed.pdf"]);
    assert!(ok || sig.contains("Signature #1"), "{sig}");
    assert!(sig.contains("Signature #1"), "{sig}");
}

#[test]
fn forms_without_the_csrf_token_are_refused() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let out = upload_otp(&c, "OTP", "a.pdf", meta("0611111111", ""), "");
    let page = path_of(out["url"].as_str().unwrap(), &app);
    let b = Browser::new(&app.base);
    // No cookie, no token: a cross-site form.
    let r = b.post_form(&format!("{page}/code"), &[("csrf", "x")]);
    assert_eq!(r.status, 403);
    assert!(r.body.contains("Rechargez la page"));
    // The cookie but another token.
    let p = b.get(&page);
    let r = b.post_form(
        &format!("{page}/code"),
        &[("csrf", &format!("{}x", &p.csrf()[1..]))],
    );
    assert_eq!(r.status, 403);
    let r = b.post_form(&format!("{page}/sign"), &[("code", "123456")]);
    assert_eq!(r.status, 403);
    assert!(sms_outbox(&sms_file(&app)).is_empty(), "nothing was sent");
    // Unknown or malformed links say only that.
    assert_eq!(
        b.get("/otp/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .status,
        404
    );
    assert_eq!(b.get("/otp/short").status, 404);
    // Without referer, a successful signature lands on the page with a confirmation.
    let code = request_code(&app, &b, &page);
    let r = submit(&b, &page, &code);
    assert_eq!(r.status, 303);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("{page}?signed=1").as_str())
    );
    assert!(
        b.get(&format!("{page}?signed=1"))
            .body
            .contains("ont été signés")
    );
}

#[test]
fn wrong_codes_lock_codes_expire_and_at_most_five_per_hour() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let out = upload_otp(&c, "OTP", "b.pdf", meta("0622222222", ""), REFERER);
    let id = out["id"].as_i64().unwrap();
    let page = path_of(out["url"].as_str().unwrap(), &app);
    let b = Browser::new(&app.base);

    // 1: three wrong tries lock the code; the right one is then refused.
    let code = request_code(&app, &b, &page);
    assert!(submit(&b, &page, &wrong(&code)).body.contains("2 essais"));
    assert!(submit(&b, &page, &wrong(&code)).body.contains("1 essai."));
    let r = submit(&b, &page, &wrong(&code));
    assert!(r.body.contains("bloqué"), "{}", r.body);
    let r = submit(&b, &page, &code);
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains("Demandez un nouveau code") || r.body.contains("demandez un nouveau code"),
        "{}",
        r.body
    );
    // 2: an expired code is refused.
    let code = request_code(&app, &b, &page);
    app.sql("UPDATE otp_codes SET expires_at = 0");
    let r = submit(&b, &page, &code);
    assert_eq!(r.status, 422);
    assert!(r.body.contains("expiré"), "{}", r.body);
    // 3: a new code replaces the previous one.
    let old = request_code(&app, &b, &page);
    let _new = request_code(&app, &b, &page);
    let r = submit(&b, &page, &old);
    assert_eq!(r.status, 422, "a replaced code no longer works");
    // Five codes within the hour: the sixth is refused.
    assert_eq!(sms_outbox(&sms_file(&app)).len(), 4);
    request_code(&app, &b, &page);
    let p = b.get(&page);
    let r = b.post_form(&format!("{page}/code"), &[("csrf", &p.csrf())]);
    assert_eq!(r.status, 429);
    assert!(r.body.contains("Trop de codes"), "{}", r.body);
    app.run_pending_jobs();
    assert_eq!(sms_outbox(&sms_file(&app)).len(), 5);
    assert_eq!(c.states(id).len(), 2, "nothing was signed");
    // An hour later, codes can be sent again and the document signed.
    app.sql("UPDATE otp_sends SET at_ms = at_ms - 3600001");
    let code = request_code(&app, &b, &page);
    assert_eq!(submit(&b, &page, &code).status, 303);
    assert_eq!(c.states(id).last().unwrap(), "Classé");
}

#[test]
fn one_link_for_several_documents_of_the_same_signer() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let a = upload_otp(&c, "OTP", "a.pdf", meta("0633333333", "x@exemple.fr"), "")["id"]
        .as_i64()
        .unwrap();
    let b_id = upload_otp(
        &c,
        "OTP",
        "b.pdf",
        meta("06 33 33 33 33", "X@exemple.fr"),
        "",
    )["id"]
        .as_i64()
        .unwrap();
    let other = upload_otp(&c, "OTP", "c.pdf", meta("0644444444", "x@exemple.fr"), "")["id"]
        .as_i64()
        .unwrap();

    let r = c.get(&format!("{V1}/documents/v2/otp/url?id={a}&id={other}"));
    assert_eq!(r.error_code(), Some(125), "{}", r.text());
    assert!(
        r.json()["userFriendlyMessage"]
            .as_str()
            .unwrap()
            .contains("même signataire")
    );
    let r = c.get(&format!("{V1}/documents/v2/otp/url?id={a}&id=999999999"));
    assert_eq!(r.error_code(), Some(103));
    // Another subscriber's user cannot build a link to these documents.
    let r = app
        .as_user("depot@b.fr")
        .get(&format!("{V1}/documents/v2/otp/url?id={a}"));
    assert_eq!(r.error_code(), Some(103));

    let r = c.get(&format!("{V1}/documents/v2/otp/url?id={a}&id={b_id}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let page = path_of(r.json()["url"].as_str().unwrap(), &app);
    let br = Browser::new(&app.base);
    let p = br.get(&page);
    assert!(p.body.contains("a.pdf") && p.body.contains("b.pdf") && !p.body.contains("c.pdf"));
    let code = request_code(&app, &br, &page);
    assert_eq!(sms_outbox(&sms_file(&app)).len(), 1, "one code for both");
    assert_eq!(submit(&br, &page, &code).status, 303);
    for id in [a, b_id] {
        assert_eq!(c.states(id).last().unwrap(), "Classé");
    }
    assert_eq!(c.states(other).len(), 2, "the third document is untouched");
}

#[test]
fn otp_information_defined_later_and_code_by_email_without_phone() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    // A visa first, then the OTP step; the information comes after the deposit.
    let id = c.upload(SIREN_A, "VOTP", "d.pdf", pdf::small("d"), "").id();
    let define = |xml: Vec<u8>| {
        c.multipart(
            Method::PUT,
            &format!("{V1}/documents/v2/otp/{id}/metadata/define"),
            vec![Part::File("otpinformation", "otp.xml".into(), xml)],
        )
    };
    let r = define(
        b"<meta-data-list><meta-data name=\"OTP_firstname_0\" value=\"A\"/></meta-data-list>"
            .to_vec(),
    );
    assert_eq!(
        r.error_code(),
        Some(110),
        "no phone nor e-mail: {}",
        r.text()
    );
    let r = define(meta("", "signataire@exemple.fr"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body.is_empty());
    assert_eq!(
        c.states(id),
        ["Préparé", "Envoyé pour visa", "Informations OTP définies"]
    );
    // Not in an OTP circuit: refused.
    let plain = c.upload(SIREN_A, "S", "e.pdf", pdf::small("e"), "").id();
    let r = c.multipart(
        Method::PUT,
        &format!("{V1}/documents/v2/otp/{plain}/metadata/define"),
        vec![Part::File(
            "otpinformation",
            "otp.xml".into(),
            meta("0611111111", ""),
        )],
    );
    assert_eq!(r.error_code(), Some(115), "{}", r.text());

    let r = c.get(&format!("{V1}/documents/v2/otp/url?id={id}"));
    let page = path_of(r.json()["url"].as_str().unwrap(), &app);
    let b = Browser::new(&app.base);
    // Waiting for the visa: nothing to sign yet.
    let p = b.get(&page);
    assert!(
        p.body.contains("En attente d&#39;une autre étape"),
        "{}",
        p.body
    );
    assert!(!p.body.contains("Recevoir le code"));
    assert_eq!(app.as_user("v1@a.fr").act(id, "visa", None).status, 200);
    let p = b.get(&page);
    assert!(p.body.contains("par e-mail"), "{}", p.body);
    let r = b.post_form(&format!("{page}/code"), &[("csrf", &p.csrf())]);
    assert_eq!(r.status, 303);
    let mail_dir = app.data_dir().join("outbox/mail");
    let code = wait_for(Duration::from_secs(10), "the code by e-mail", || {
        std::fs::read_dir(&mail_dir).ok()?.flatten().find_map(|e| {
            let raw = std::fs::read_to_string(e.path()).ok()?;
            (raw.contains("To: signataire@exemple.fr") && raw.contains("Subject: Votre code"))
                .then_some(raw)
        })
    });
    let mail = parse_eml(&code);
    let code = otp_code(mail["text"].as_str().unwrap()).expect("code in the e-mail");
    assert!(sms_outbox(&sms_file(&app)).is_empty());
    assert_eq!(submit(&b, &page, &code).status, 303);
    assert_eq!(c.states(id).last().unwrap(), "Classé");
}

#[test]
fn on_demand_circuits_accept_otp_steps_with_an_address_member() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let circuit = r#"{"type":"BUREAUTIQUE_PDF","steps":[{"step":"visa","members":["v1@a.fr"]},{"step":"OTPSignature","members":["externe@exemple.fr"]}]}"#;
    let r = c.multipart(
        Method::POST,
        &format!("{V1}/documents/ondemand/{SIREN_A}/upload"),
        vec![
            Part::File("doc", "f.pdf".into(), pdf::small("f")),
            Part::Text("circuit", circuit.into()),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.id();
    let r = c.multipart(
        Method::PUT,
        &format!("{V1}/documents/v2/otp/{id}/metadata/define"),
        vec![Part::File(
            "otpinformation",
            "otp.xml".into(),
            meta("0655555555", "externe@exemple.fr"),
        )],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(app.as_user("v1@a.fr").act(id, "visa", None).status, 200);
    let url = c.get(&format!("{V1}/documents/v2/otp/url?id={id}")).json()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = path_of(&url, &app);
    let b = Browser::new(&app.base);
    let code = request_code(&app, &b, &page);
    assert_eq!(submit(&b, &page, &code).status, 303);
    assert_eq!(c.states(id).last().unwrap(), "Classé");
}

#[test]
fn the_signer_may_refuse_with_a_reason() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let out = upload_otp(
        &c,
        "OTP",
        "devis.pdf",
        meta("+33612345678", "jeanne@exemple.fr"),
        "",
    );
    let id = out["id"].as_i64().expect("integer id");
    let page = path_of(out["url"].as_str().unwrap(), &app);
    let b = Browser::new(&app.base);
    let p = b.get(&page);
    assert!(p.body.contains("Refuser de signer"), "{}", p.body);
    // A reason is required; nothing changes without it.
    let r = b.post_form(
        &format!("{page}/refus"),
        &[("csrf", &p.csrf()), ("reason", "  ")],
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("Indiquez pourquoi"), "{}", r.body);
    assert!(!c.states(id).iter().any(|s| s.starts_with("Refusé")));
    // Without the form's token: refused.
    let r = b.post_form(&format!("{page}/refus"), &[("reason", "non")]);
    assert_eq!(r.status, 403);
    let p = b.get(&page);
    let r = b.post_form(
        &format!("{page}/refus"),
        &[
            ("csrf", &p.csrf()),
            ("reason", "Le montant du devis est faux"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("{page}?refused=1").as_str())
    );
    assert_eq!(c.states(id).last().unwrap(), "Refusé à l'étape OTP");
    assert_eq!(
        c.get(&format!("{V1}/documents/v2/{id}/comments/refusal"))
            .json()["comment"],
        "Le montant du devis est faux"
    );
    // The depositor is told, with the reason; the link has nothing left to sign.
    let mail = wait_for(Duration::from_secs(10), "the refusal e-mail", || {
        std::fs::read_dir(app.data_dir().join("outbox/mail"))
            .ok()?
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .find(|m| m.contains("To: depot@a.fr") && m.contains("refus"))
    });
    let parsed = parse_eml(&mail);
    assert!(
        parsed["text"]
            .as_str()
            .unwrap()
            .contains("Le montant du devis est faux"),
        "{parsed}"
    );
    let p = b.get(&page);
    assert!(!p.body.contains("Refuser de signer"));
    // A refused document can be deleted by its depositor, as after any refusal.
    assert_eq!(c.delete(&format!("{V1}/documents/v2/{id}")).status, 200);
}

/// Issue 21: the OTP evidence (legal weight) names the signer's address, not the proxy's: a
/// real nginx in front, trusted (`trusted_proxies`), forwards the address the signer's browser
/// connects from (127.0.0.2 here).
#[test]
fn the_otp_evidence_names_the_address_a_trusted_proxy_forwards() {
    let app = TestApp::start(BIN, "trusted_proxies = [\"127.0.0.1\"]\n");
    let c = app.as_user("depot@a.fr");
    let out = upload_otp(
        &c,
        "OTP",
        "mandat.pdf",
        meta("06 12 34 56 78", "jeanne@exemple.fr"),
        REFERER,
    );
    let id = out["id"].as_i64().expect("integer id");
    let page = path_of(out["url"].as_str().unwrap(), &app);
    let dir = tempfile::tempdir().unwrap();
    let upstream = app.base.trim_start_matches("http://").to_owned();
    let nginx = crate::observability::Nginx::start(dir.path(), &upstream)
        .expect("nginx is required by this test (apt install nginx-light; scripts/test.sh does)");
    let b = Browser::from_address(
        &format!("http://127.0.0.1:{}", nginx.port),
        Some([127, 0, 0, 2].into()),
    );
    let code = request_code(&app, &b, &page);
    let r = submit(&b, &page, &code);
    assert_eq!(r.status, 303, "{}", r.body);
    let evidence = app.query(&format!(
        "SELECT comment FROM history WHERE document_id = {id} AND state_name = 'OTP signé'"
    ));
    assert!(
        evidence.contains("depuis l'adresse IP 127.0.0.2"),
        "{evidence}"
    );
}
