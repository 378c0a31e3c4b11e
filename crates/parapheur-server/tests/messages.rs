//! E-mail and SMS delivery through the durable job queue: a real SMTP server (aiosmtpd) that
//! is down, then refuses, then accepts; an SMS webhook that fails then recovers; the OVHcloud
//! API signature; a permanent refusal recorded as failed. Every message arrives exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::{
    Browser, FlakyEndpoint, SmtpSink, otp_code, parse_eml, reserved_port, wait_for,
};
use parapheur_test_utils::{Client, Part, SIREN_A, TestApp, pdf};
use reqwest::Method;
use sha1::Digest;
use std::collections::BTreeSet;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";
const FAST_RETRIES: &str = "[jobs]\npoll_ms = 100\nretry_base_ms = 100\nretry_max_ms = 400\n";

fn deposit(c: &Client, circuit: &str, name: &str, to: &str, cc: &str) -> i64 {
    let r = c.multipart(
        Method::POST,
        &format!("{V1}/documents/v2/{SIREN_A}/{circuit}/upload"),
        vec![
            Part::File("doc", name.into(), pdf::sample(name, 1, 300)),
            Part::Text("label", "Marchés".into()),
            Part::Text("emailDestinataire", to.into()),
            Part::Text("email_cc", cc.into()),
        ],
    );
    r.id()
}

fn find<'a>(mails: &'a [(Vec<String>, serde_json::Value)], to: &str) -> Vec<&'a serde_json::Value> {
    mails
        .iter()
        .filter(|(env, _)| env.iter().any(|e| e == to))
        .map(|(_, m)| m)
        .collect()
}

#[test]
fn emails_survive_an_smtp_outage_and_arrive_once_with_a_working_download_link() {
    let port = reserved_port();
    let app = TestApp::start(
        BIN,
        &format!(
            "{FAST_RETRIES}[mail]\ntransport = \"smtp\"\nsmtp_url = \"smtp://127.0.0.1:{port}\"\nfrom = \"parapheur@commune.fr\"\n"
        ),
    );
    let c = app.as_user("depot@a.fr");
    let id = deposit(
        &c,
        "VVS",
        "marche.pdf",
        "titulaire@exemple.fr",
        "copie@exemple.fr",
    );
    // The SMTP server is down: the message waits in the queue, retried.
    app.run_pending_jobs();
    let metrics = Client::new(&app.base, None).get("/metrics").text();
    assert!(
        metrics.contains("parapheur_jobs{status=\"pending\"} 1"),
        "{metrics}"
    );
    // It comes up, refuses the next two messages (451), then accepts.
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(port, sink_dir.path(), 2);
    let v1 = wait_for(Duration::from_secs(20), "the mail to v1", || {
        sink.received()
            .into_iter()
            .find(|m| m.envelope_to == ["v1@a.fr"])
    });
    let m = parse_eml(&v1.raw);
    assert_eq!(m["subject"], "Document à viser : marche.pdf");
    let text = m["text"].as_str().unwrap();
    assert!(
        text.contains("« marche.pdf » (dossier Marchés) attend votre visa"),
        "{text}"
    );
    assert!(
        text.contains(&format!("/parapheur/showDoc.action?documentid={id}")),
        "{text}"
    );
    assert!(m["html"].as_str().unwrap().contains("<a href="));

    assert_eq!(app.as_user("v1@a.fr").act(id, "visa", None).status, 200);
    assert_eq!(app.as_user("v2@a.fr").act(id, "visa", None).status, 200);
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    // A refusal tells the depositor why.
    let refused = deposit(&c, "S", "refus.pdf", "", "");
    let r = app
        .as_user("s1@a.fr")
        .act(refused, "refuse", Some("Montant erroné"));
    assert_eq!(r.status, 200);

    // v1, v2, s1 (twice: both deposits), the recipients, the depositor.
    let all = wait_for(Duration::from_secs(20), "six messages", || {
        let r = sink.received();
        (r.len() >= 6).then_some(r)
    });
    // Every job delivered or given up: a duplicate would be in the sink by now.
    app.settle_jobs();
    let all_now = sink.received();
    assert_eq!(all_now.len(), 6, "no duplicate after the retries");
    let parsed: Vec<(Vec<String>, serde_json::Value)> = all
        .iter()
        .map(|m| (m.envelope_to.clone(), parse_eml(&m.raw)))
        .collect();
    let ids: BTreeSet<String> = parsed
        .iter()
        .map(|(_, m)| m["message_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 6, "distinct Message-IDs");
    assert_eq!(find(&parsed, "v2@a.fr").len(), 1);
    assert_eq!(find(&parsed, "s1@a.fr").len(), 2);
    assert!(
        find(&parsed, "s1@a.fr")[0]["subject"]
            .as_str()
            .unwrap()
            .starts_with("Document à signer")
    );

    let signed_mail = find(&parsed, "titulaire@exemple.fr");
    assert_eq!(signed_mail.len(), 1);
    let sm = signed_mail[0];
    assert_eq!(sm["subject"], "Document signé : marche.pdf");
    assert_eq!(sm["to"], "titulaire@exemple.fr");
    assert_eq!(sm["cc"], "copie@exemple.fr");
    assert_eq!(
        find(&parsed, "copie@exemple.fr").len(),
        1,
        "cc is a recipient of the same message"
    );
    let text = sm["text"].as_str().unwrap();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/public/download/"))
        .unwrap_or_else(|| panic!("no link in {text}"));
    assert!(sm["html"].as_str().unwrap().contains(link));
    // The link downloads the signed file without an account.
    let b = Browser::new(&app.base);
    let (status, bytes) = b.get_bytes(link);
    assert_eq!(status, 200);
    assert_eq!(
        bytes,
        c.get(&format!("{V1}/documents/v2/{id}/download")).body
    );
    assert!(bytes.starts_with(b"%PDF-"));
    let tampered = format!("{}A", &link[..link.len() - 1]);
    let tampered = if tampered == link {
        format!("{}B", &link[..link.len() - 1])
    } else {
        tampered
    };
    assert_eq!(b.get_bytes(&tampered).0, 404);
    // Expired links stop working.
    app.sql("UPDATE access_links SET expires_at = 0 WHERE purpose = 'download'");
    assert_eq!(b.get_bytes(link).0, 404);

    let refusal = find(&parsed, "depot@a.fr");
    assert_eq!(refusal.len(), 1);
    assert_eq!(refusal[0]["subject"], "Document refusé : refus.pdf");
    assert!(
        refusal[0]["text"]
            .as_str()
            .unwrap()
            .contains("Motif : Montant erroné")
    );
    let metrics = Client::new(&app.base, None).get("/metrics").text();
    assert!(
        metrics.contains("parapheur_mails_sent_total 6"),
        "{metrics}"
    );
    assert!(
        metrics.contains("parapheur_jobs{status=\"done\"} 6"),
        "{metrics}"
    );
}

fn meta(phone: &str) -> Vec<u8> {
    format!(
        r#"<meta-data-list><meta-data name="OTP_firstname_0" value="Léa"/><meta-data name="OTP_lastname_0" value="Martin"/><meta-data name="OTP_phonenumber_0" value="{phone}"/></meta-data-list>"#
    )
    .into_bytes()
}

/// uploadOTP, then asks for a code on the page; returns the page path.
fn otp_page_with_code(app: &TestApp, name: &str, phone: &str) -> (String, Browser) {
    let r = app.as_user("depot@a.fr").multipart(
        Method::POST,
        &format!("{V1}/documents/v2/otp/{SIREN_A}/OTP/upload"),
        vec![
            Part::File("doc", name.into(), pdf::small(name)),
            Part::File("meta", "m.xml".into(), meta(phone)),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let url = r.json()["url"].as_str().unwrap().to_owned();
    let page = url[app.base.len()..].to_owned();
    let b = Browser::new(&app.base);
    let p = b.get(&page);
    let r = b.post_form(&format!("{page}/code"), &[("csrf", &p.csrf())]);
    assert_eq!(r.status, 303, "{}", r.body);
    (page, b)
}

#[test]
fn sms_webhook_that_fails_then_recovers_gets_each_message_once() {
    let hook = FlakyEndpoint::start(3, 503);
    let app = TestApp::start(
        BIN,
        &format!(
            "{FAST_RETRIES}[sms]\nprovider = \"webhook\"\nwebhook_url = \"{}\"\n",
            hook.url
        ),
    );
    let (page_a, b_a) = otp_page_with_code(&app, "a.pdf", "0611111111");
    let (_page_b, _b_b) = otp_page_with_code(&app, "b.pdf", "0622222222");
    let ok = wait_for(Duration::from_secs(20), "two delivered SMS", || {
        let all = hook.requests.lock().unwrap().clone();
        let ok: Vec<_> = all.into_iter().filter(|r| r.status == 200).collect();
        (ok.len() >= 2).then_some(ok)
    });
    app.settle_jobs();
    let all = hook.requests.lock().unwrap().clone();
    assert_eq!(
        all.iter().filter(|r| r.status == 200).count(),
        2,
        "each SMS delivered once"
    );
    assert_eq!(all.len(), 5, "three failures, then two deliveries: {all:?}");
    let keys: BTreeSet<&str> = ok
        .iter()
        .map(|r| r.headers["idempotency-key"].as_str())
        .collect();
    assert_eq!(keys.len(), 2);
    for failed in all.iter().filter(|r| r.status != 200) {
        assert!(
            keys.contains(failed.headers["idempotency-key"].as_str()),
            "a retry reuses its key"
        );
    }
    let to_a = ok
        .iter()
        .map(|r| serde_json::from_str::<serde_json::Value>(&r.body).unwrap())
        .find(|v| v["to"] == "+33611111111")
        .expect("SMS to the first signer");
    let code = otp_code(to_a["text"].as_str().unwrap()).unwrap();
    let p = b_a.get(&page_a);
    let r = b_a.post_form(
        &format!("{page_a}/sign"),
        &[("csrf", &p.csrf()), ("code", &code)],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let metrics = Client::new(&app.base, None).get("/metrics").text();
    assert!(metrics.contains("parapheur_sms_sent_total 2"), "{metrics}");
    assert!(
        metrics.contains("parapheur_job_failures_total 3"),
        "{metrics}"
    );
}

#[test]
fn a_permanent_refusal_is_recorded_as_failed_and_not_retried() {
    let hook = FlakyEndpoint::start(usize::MAX, 400);
    let app = TestApp::start(
        BIN,
        &format!(
            "{FAST_RETRIES}[sms]\nprovider = \"webhook\"\nwebhook_url = \"{}\"\n",
            hook.url
        ),
    );
    otp_page_with_code(&app, "a.pdf", "0611111111");
    wait_for(Duration::from_secs(10), "the refusal", || {
        let m = Client::new(&app.base, None).get("/metrics").text();
        m.contains("parapheur_jobs{status=\"failed\"} 1")
            .then_some(())
    });
    app.settle_jobs();
    assert_eq!(hook.requests.lock().unwrap().len(), 1, "not retried");
}

#[test]
fn ovhcloud_sms_requests_are_signed_as_the_api_requires() {
    let api = FlakyEndpoint::start(0, 500);
    let endpoint = api.url.trim_end_matches("/sms").to_owned() + "/1.0";
    let app = TestApp::start(
        BIN,
        &format!(
            "{FAST_RETRIES}[sms]\nprovider = \"ovh\"\novh_endpoint = \"{endpoint}\"\novh_application_key = \"AK\"\novh_application_secret = \"AS\"\novh_consumer_key = \"CK\"\novh_service_name = \"sms-xy12345-1\"\novh_sender = \"MAIRIE\"\n"
        ),
    );
    otp_page_with_code(&app, "a.pdf", "0699999999");
    let req = wait_for(Duration::from_secs(10), "the OVHcloud call", || {
        api.requests.lock().unwrap().first().cloned()
    });
    assert_eq!(req.path, "/1.0/sms/sms-xy12345-1/jobs");
    assert_eq!(req.headers["x-ovh-application"], "AK");
    assert_eq!(req.headers["x-ovh-consumer"], "CK");
    let ts = &req.headers["x-ovh-timestamp"];
    let url = format!("{endpoint}/sms/sms-xy12345-1/jobs");
    let expected = format!(
        "$1${}",
        hex::encode(sha1::Sha1::digest(format!(
            "AS+CK+POST+{url}+{}+{ts}",
            req.body
        )))
    );
    assert_eq!(req.headers["x-ovh-signature"], expected);
    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(body["receivers"], serde_json::json!(["+33699999999"]));
    assert_eq!(body["sender"], "MAIRIE");
    assert!(otp_code(body["message"].as_str().unwrap()).is_some());
}
