//! A working week in the portal, in Chromium, observed from outside as well: a real SMTP server
//! receives the reminders and the OTP signer's invitation, a Standard Webhooks receiver every
//! state of a document. The deposit form with an on-demand circuit, recipients, a deadline and
//! annexes, then with an OTP signer; comment, annex and replacement on the document page; the
//! OTP signer's page; a list searched and sorted by deadline whose "Document suivant" follows
//! that order; batch visa with "Tout sélectionner"; an absence declared on "Mon absence" and the
//! delegate acting, and the daily digest chosen; an administrator reassigning a step and reading
//! the webhook deliveries, the user and circuit pages and forms; a page not found; a forgotten
//! password from the form to the e-mailed link. axe-core audits each page on the way.

use super::*;
use parapheur_test_utils::browser::{
    SmtpSink, WebhookReceiver, otp_code, parse_eml, reserved_port, sms_outbox,
};
use parapheur_test_utils::{Client as Rest, Part};
use reqwest::Method;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn day(offset: i64) -> String {
    (parapheur_server::clock::now().date_naive() + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

/// A FAST upload into `circuit` with an optional `date_limite`.
fn upload(rest: &Rest, circuit: &str, name: &str, date_limite: Option<&str>) -> i64 {
    let mut parts = vec![Part::File("doc", name.into(), pdf::small(name))];
    if let Some(d) = date_limite {
        parts.push(Part::Text("date_limite", d.into()));
    }
    rest.multipart(
        Method::POST,
        &format!("/parapheur-ws/rest/v1/documents/v2/{SIREN_A}/{circuit}/upload"),
        parts,
    )
    .id()
}

/// Sets a form control's value the way its browser widget (a date picker) would.
async fn set_value(c: &Client, id: &str, value: &str) {
    c.execute(
        "document.getElementById(arguments[0]).value = arguments[1];",
        vec![json!(id), json!(value)],
    )
    .await
    .unwrap();
}

async fn fill(c: &Client, id: &str, text: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("no field {id}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

async fn choose(c: &Client, id: &str, value: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

/// The file names of the dashboard's list, in the order shown.
async fn rows(c: &Client) -> Vec<String> {
    let v = c
        .execute(
            "return Array.from(document.querySelectorAll('tbody tr'))
                .map(r => r.querySelector('a').textContent.trim());",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

/// The messages the SMTP server accepted for `to` whose subject starts with `subject`.
fn mails_to(sink: &SmtpSink, to: &str, subject: &str) -> Vec<serde_json::Value> {
    sink.received()
        .into_iter()
        .filter(|m| m.envelope_to.iter().any(|t| t == to))
        .map(|m| parse_eml(&m.raw))
        .filter(|m| {
            m["subject"]
                .as_str()
                .unwrap_or_default()
                .starts_with(subject)
        })
        .collect()
}

#[test]
fn a_working_week_in_chromium_observed_from_outside() {
    let hooks = tempfile::tempdir().unwrap();
    let rx = WebhookReceiver::start(hooks.path(), SECRET, 0);
    let smtp_dir = tempfile::tempdir().unwrap();
    let port = reserved_port();
    let sink = SmtpSink::start(port, smtp_dir.path(), 0);
    let config = format!(
        "[jobs]\npoll_ms = 50\n[reminders]\ncheck_interval_s = 1\nbefore_days = [2]\nafter_days = [1]\n\
         [mail]\ntransport = \"smtp\"\nsmtp_url = \"smtp://127.0.0.1:{port}\"\nfrom = \"parapheur@commune.fr\"\n"
    );
    let provisioning = format!(
        "[[webhooks]]\nsiren = \"{SIREN_A}\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
        rx.url
    );
    let app = TestApp::start_process(BIN, &config, &provisioning, &[]);
    let base = app.base.clone();
    let rest = app.as_user("depot@a.fr");
    // Three documents waiting for v1's visa: one overdue, one due in three days, one without
    // a deadline, deposited in that order.
    let alpha = upload(&rest, "VV", "alpha.pdf", Some(&day(1)));
    app.sql(&format!(
        "UPDATE documents SET deadline = '{}' WHERE id = {alpha}",
        day(-1)
    ));
    let beta = upload(&rest, "VV", "beta.pdf", Some(&day(3)));
    let gamma = upload(&rest, "VV", "gamma.pdf", None);
    let tmp = tempfile::tempdir().unwrap();
    let file = |name: &str, title: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, pdf::small(title)).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let travaux_pdf = file("travaux.pdf", "Travaux de voirie");
    let devis_pdf = file("devis.pdf", "Devis");
    let plan_pdf = file("plan.pdf", "Plan");
    let travaux_v2 = file("travaux-v2.pdf", "Travaux de voirie, version 2");
    let contrat_pdf = file("contrat-otp.pdf", "Contrat");
    let driver = chromedriver();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let axe = &axe_source();

    // The depositor: an on-demand circuit (v1's visa, then s1's signature) with a recipient, a
    // deadline tomorrow and an annex; then a comment, another annex and a replacement.
    let travaux = rt.block_on(async {
        let c = browser(&driver, 1280, 900).await;
        login(&c, &base, "depot@a.fr", "password-depot").await;
        wait_text(&c, "Tableau de bord").await;
        click_link(&c, "Déposer un document").await;
        wait_text(&c, "Circuit à la demande").await;
        choose(&c, "circuit", &format!("{SIREN_A}/circuit-a-la-volee")).await;
        fill(&c, "label", "Voirie 2027").await;
        fill(&c, "doc", &travaux_pdf).await;
        fill(&c, "annexes", &devis_pdf).await;
        set_value(&c, "date_limite", &day(1)).await;
        fill(&c, "email_destinataire", "archives@exemple.fr").await;
        choose(&c, "etape_0", "visa").await;
        fill(&c, "membres_0", "v1@a.fr").await;
        choose(&c, "etape_1", "signature").await;
        fill(&c, "membres_1", "s1@a.fr").await;
        press(&c, "Déposer").await;
        let t = wait_text(&c, "Action enregistrée.").await;
        assert!(t.contains("devis.pdf") && t.contains("à la demande"), "{t}");
        let id = current_doc(&c).await;
        audit(&c, axe, "the page of an on-demand deposit").await;

        fill(&c, "commentaire-texte", "Le devis est joint.").await;
        press(&c, "Ajouter le commentaire").await;
        wait_text(&c, "Commentaire ajouté.").await;
        fill(&c, "annexe-fichier", &plan_pdf).await;
        press(&c, "Ajouter l'annexe").await;
        let t = wait_text(&c, "Annexe ajoutée.").await;
        assert!(
            t.contains("plan.pdf") && t.contains("Le devis est joint."),
            "{t}"
        );
        fill(&c, "remplacement-fichier", &travaux_v2).await;
        press(&c, "Remplacer").await;
        wait_text(&c, "Document remplacé").await;
        audit(&c, axe, "the document page after the changes").await;

        // An OTP circuit: the signer gets the link by e-mail, the code by SMS.
        click_link(&c, "← Tableau de bord").await;
        wait_text(&c, "Tableau de bord").await;
        click_link(&c, "Déposer un document").await;
        wait_text(&c, "Circuit à la demande").await;
        choose(&c, "circuit", &format!("{SIREN_A}/OTP")).await;
        fill(&c, "doc", &contrat_pdf).await;
        fill(&c, "otp_prenom", "Jeanne").await;
        fill(&c, "otp_nom", "Dupont").await;
        fill(&c, "otp_telephone", "06 12 34 56 78").await;
        fill(&c, "otp_email", "jeanne@exemple.fr").await;
        press(&c, "Déposer").await;
        wait_text(&c, "Le lien de signature a été envoyé au signataire").await;
        logout(&c).await;
        c.close().await.unwrap();
        id
    });
    let tasks = app.as_user("v1@a.fr").get("/api/v1/tasks").json();
    let task = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == travaux)
        .unwrap_or_else(|| panic!("{tasks}"));
    assert_eq!(task["deadline"], day(1), "{task}");
    let contrat: i64 = app
        .query("SELECT id FROM documents WHERE filename = 'contrat-otp.pdf'")
        .trim()
        .parse()
        .unwrap();

    // Outside: the OTP signer's invitation and v1's reminder (the deadline is tomorrow) arrive
    // at the SMTP server, once.
    let invitation = wait_for(Duration::from_secs(30), "the OTP invitation", || {
        mails_to(
            &sink,
            "jeanne@exemple.fr",
            "Document à signer : contrat-otp.pdf",
        )
        .into_iter()
        .next()
    });
    let text = invitation["text"].as_str().unwrap();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/otp/"))
        .unwrap_or_else(|| panic!("no link in {text}"))
        .trim_matches(|c: char| c == '<' || c == '>' || c == '(' || c == ')')
        .to_owned();
    assert!(link.starts_with(&base), "{link}");
    wait_for(Duration::from_secs(30), "v1's reminder", || {
        (!mails_to(&sink, "v1@a.fr", "Rappel : travaux").is_empty()).then_some(())
    });

    // The OTP signer: the page from the e-mail, a code by SMS, the signature.
    rt.block_on(async {
        let c = browser(&driver, 1280, 900).await;
        c.goto(&link).await.unwrap();
        wait_text(&c, "contrat-otp.pdf").await;
        audit(&c, axe, "the OTP page").await;
        press(&c, "Recevoir le code").await;
        wait_text(&c, "Le code a été envoyé.").await;
        let code = wait_for(Duration::from_secs(30), "the SMS", || {
            sms_outbox(&app.data_dir().join("outbox/sms.jsonl"))
                .last()
                .and_then(|(to, text)| (to == "+33612345678").then(|| otp_code(text)).flatten())
        });
        audit(&c, axe, "the OTP page with the code field").await;
        fill(&c, "code", &code).await;
        press(&c, "Signer").await;
        wait_text(&c, "Merci : les documents ont été signés.").await;
        audit(&c, axe, "the OTP page once signed").await;
        c.close().await.unwrap();
    });
    assert_eq!(rest.states(contrat).last().unwrap(), "Classé");

    // Anyone (no account) checks the signed contract on /verifier, then by its code.
    let signed = rest
        .get(&format!(
            "/parapheur-ws/rest/v1/documents/v2/{contrat}/download"
        ))
        .body;
    let tmp = tempfile::tempdir().unwrap();
    let signed_path = tmp.path().join("contrat-signe.pdf");
    std::fs::write(&signed_path, &signed).unwrap();
    let code = app.query(&format!(
        "SELECT code FROM verification_codes WHERE document_id = {contrat}"
    ));
    rt.block_on(async {
        let c = browser(&driver, 1280, 900).await;
        c.goto(&format!("{base}/verifier")).await.unwrap();
        wait_text(&c, "Vérifier un document signé").await;
        audit(&c, axe, "the verification page").await;
        fill(&c, "file", signed_path.to_str().unwrap()).await;
        press(&c, "Vérifier").await;
        wait_text(&c, "Résultat").await;
        wait_text(&c, "Signatures du fichier").await;
        audit(&c, axe, "a verification report").await;
        c.goto(&format!("{base}/verifier/{}", code.trim()))
            .await
            .unwrap();
        wait_text(&c, "Vérification d'un document").await;
        audit(&c, axe, "a document's verification page").await;
        c.close().await.unwrap();
    });

    // v1: the list searched, then sorted by deadline (the overdue document first, marked); the
    // next document after a visa follows that order; then the others in one batch.
    rt.block_on(async {
        let c = browser(&driver, 1280, 900).await;
        login(&c, &base, "v1@a.fr", "password-v1").await;
        wait_text(&c, "travaux").await;
        assert_eq!(
            rows(&c).await,
            ["travaux-v2.pdf", "gamma.pdf", "beta.pdf", "alpha.pdf"],
            "newest deposit first"
        );
        fill(&c, "q", "bet").await;
        press(&c, "Rechercher").await;
        wait_js(
            &c,
            "return document.querySelectorAll('tbody tr').length === 1",
            "the search",
        )
        .await;
        assert_eq!(rows(&c).await, ["beta.pdf"]);
        audit(&c, axe, "a searched list").await;
        c.goto(&format!("{base}/parapheur/?bannette=a-viser"))
            .await
            .unwrap();
        wait_text(&c, "alpha.pdf").await;
        click_link(&c, "Échéance").await;
        wait_js(
            &c,
            "return !!document.querySelector('th[aria-sort=ascending]')",
            "the sorted list",
        )
        .await;
        assert_eq!(
            rows(&c).await,
            ["alpha.pdf", "travaux-v2.pdf", "beta.pdf", "gamma.pdf"],
            "nearest deadline first, none last"
        );
        let t = wait_text(&c, "En retard").await;
        assert_eq!(t.matches("En retard").count(), 1, "{t}");
        audit(&c, axe, "a list sorted by deadline").await;
        click_link(&c, "travaux-v2.pdf").await;
        wait_text(&c, "(étape en cours)").await;
        assert_eq!(current_doc(&c).await, travaux);
        press(&c, "Viser").await;
        wait_text(&c, "Voici le document suivant").await;
        assert_eq!(
            current_doc(&c).await,
            alpha,
            "the first of the list as sorted (by deposit it would be gamma)"
        );
        // Back to the list: still sorted by deadline.
        click_link(&c, "← À viser").await;
        wait_js(
            &c,
            "return !!document.querySelector('th[aria-sort=ascending]')",
            "the sorted list again",
        )
        .await;
        assert_eq!(rows(&c).await, ["alpha.pdf", "beta.pdf", "gamma.pdf"]);
        click_link(&c, "Tout sélectionner").await;
        wait_text(&c, "Tout désélectionner").await;
        press(&c, "Viser la sélection").await;
        wait_text(&c, "3 document(s) visé(s) sur 3").await;
        audit(&c, axe, "the batch visa page").await;
        logout(&c).await;
        c.close().await.unwrap();
    });
    for id in [alpha, beta, gamma] {
        let states = rest.states(id);
        assert_eq!(states[2..], ["Visa approuvé", "Envoyé pour visa"], "{id}");
    }

    // v2 is away: "Mon absence" names Aline Agent, who then sees and approves v2's documents.
    rt.block_on(async {
        let c = browser(&driver, 1280, 900).await;
        login(&c, &base, "v2@a.fr", "password-v2").await;
        wait_text(&c, "Tableau de bord").await;
        click_link(&c, "Mon absence").await;
        wait_text(&c, "Aucune absence enregistrée.").await;
        set_value(&c, "from", &day(0)).await;
        set_value(&c, "until", &day(7)).await;
        fill(&c, "delegate", "agent@a.fr").await;
        press(&c, "Enregistrer").await;
        let t = wait_text(&c, "Vous êtes absent(e)").await;
        assert!(t.contains("Aline Agent"), "{t}");
        audit(&c, axe, "the absence page with an absence").await;
        // And one e-mail a day rather than one per document.
        c.find(Locator::Id("digest_1"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        press(&c, "Enregistrer ma préférence").await;
        wait_text(&c, "Préférence enregistrée.").await;
        wait_js(
            &c,
            "return document.getElementById('digest_1').checked && !document.getElementById('digest_0').checked",
            "the saved preference",
        )
        .await;
        logout(&c).await;

        login(&c, &base, "agent@a.fr", "password-agent").await;
        wait_text(&c, "beta.pdf").await;
        click_link(&c, "beta.pdf").await;
        wait_text(&c, "(étape en cours)").await;
        press(&c, "Viser").await;
        wait_text(&c, "Action enregistrée.").await;
        logout(&c).await;
        c.close().await.unwrap();
    });
    let history = rest
        .get(&format!(
            "/parapheur-ws/rest/v1/documents/v2/{beta}/history"
        ))
        .json();
    let visas: Vec<&serde_json::Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["stateName"] == "Visa approuvé")
        .map(|h| &h["userFullname"])
        .collect();
    assert_eq!(
        visas,
        ["Victor Un", "Aline Agent (pour Véra Deux)"],
        "{history}"
    );
    assert_eq!(rest.states(beta).last().unwrap(), "Classé");
    let digest = app.query("SELECT daily_digest FROM users WHERE email = 'v2@a.fr'");
    assert!(matches!(digest.trim(), "1" | "t" | "true"), "{digest}");

    // The administrator: gamma's step reassigned to Victor Un on its page, then the webhook
    // deliveries, a user's page and a circuit's page.
    rt.block_on(async {
        let c = browser(&driver, 1280, 900).await;
        login(&c, &base, "admin@a.fr", "password-admin").await;
        wait_text(&c, "Tableau de bord").await;
        c.goto(&format!("{base}/parapheur/documents/{gamma}"))
            .await
            .unwrap();
        wait_text(&c, "Réattribuer l'étape en cours").await;
        audit(&c, axe, "a document page with the reassignment form").await;
        fill(&c, "members", "v1@a.fr").await;
        press(&c, "Réattribuer").await;
        wait_text(&c, "L'étape en cours a été réattribuée").await;
        audit(&c, axe, "the administration's documents page").await;
        c.goto(&format!("{base}/parapheur/admin/{SIREN_A}/webhooks"))
            .await
            .unwrap();
        wait_text(&c, "Remis").await;
        audit(&c, axe, "the webhook deliveries").await;
        click_link(&c, "Utilisateurs").await;
        wait_js(
            &c,
            "return document.querySelector('[aria-current=page]')?.textContent === 'Utilisateurs'",
            "the users tab",
        )
        .await;
        click_link(&c, "Véra Deux").await;
        wait_text(&c, "Retirer de la collectivité").await;
        audit(&c, axe, "a user's page").await;
        click_link(&c, "Circuits").await;
        wait_js(
            &c,
            "return document.querySelector('[aria-current=page]')?.textContent === 'Circuits'",
            "the circuits tab",
        )
        .await;
        click_link(&c, "VVS").await;
        wait_text(&c, "Circuit VVS").await;
        audit(&c, axe, "a circuit's page").await;
        for (path, text, what) in [
            (
                "utilisateurs/nouveau",
                "Ajouter un utilisateur",
                "the new user form",
            ),
            (
                "circuits/nouveau",
                "Créer un circuit",
                "the new circuit form",
            ),
        ] {
            c.goto(&format!("{base}/parapheur/admin/{SIREN_A}/{path}"))
                .await
                .unwrap();
            wait_text(&c, text).await;
            audit(&c, axe, what).await;
        }
        c.goto(&format!("{base}/parapheur/documents/999999"))
            .await
            .unwrap();
        wait_text(&c, "introuvable").await;
        audit(&c, axe, "the not-found page").await;
        c.goto(&format!("{base}/parapheur/")).await.unwrap();
        wait_text(&c, "Tableau de bord").await;
        logout(&c).await;

        // A forgotten password: the form, the link from the e-mail, the new password page.
        c.goto(&format!("{base}/motdepasse/oubli")).await.unwrap();
        wait_text(&c, "Mot de passe oublié").await;
        audit(&c, axe, "the forgotten password form").await;
        fill(&c, "email", "agent@a.fr").await;
        press(&c, "Recevoir un lien").await;
        let mail = wait_for(Duration::from_secs(30), "the reset e-mail", || {
            mails_to(
                &sink,
                "agent@a.fr",
                "Réinitialisation de votre mot de passe",
            )
            .into_iter()
            .next()
        });
        let text = mail["text"].as_str().unwrap();
        let reset = text
            .split_whitespace()
            .find(|w| w.contains("/motdepasse/"))
            .unwrap_or_else(|| panic!("no link in {text}"))
            .trim_matches(|c: char| c == '<' || c == '>' || c == '(' || c == ')')
            .to_owned();
        c.goto(&reset).await.unwrap();
        wait_text(&c, "Choisir un mot de passe").await;
        audit(&c, axe, "the new password page").await;
        c.close().await.unwrap();
    });
    let r = app.as_user("v1@a.fr").act(gamma, "visa", None);
    assert_eq!(
        r.status,
        200,
        "Victor Un acts on the reassigned step: {}",
        r.text()
    );

    // Outside again: the webhook receiver saw every state of the on-demand document, in order,
    // each delivery verified and once; the reminder went once.
    let states = rest.states(travaux);
    let received = wait_for(Duration::from_secs(30), "travaux's states", || {
        let mine: Vec<_> = rx
            .received()
            .into_iter()
            .filter(|(_, b)| b["data"]["id"] == travaux)
            .collect();
        (mine.len() >= states.len()).then_some(mine)
    });
    let got: Vec<&str> = received
        .iter()
        .map(|(_, b)| b["data"]["stateName"].as_str().unwrap())
        .collect();
    assert_eq!(got, states);
    let ids: std::collections::BTreeSet<&str> = received.iter().map(|(i, _)| i.as_str()).collect();
    assert_eq!(ids.len(), received.len(), "one delivery per id");
    assert_eq!(mails_to(&sink, "v1@a.fr", "Rappel : travaux").len(), 1);
    assert_eq!(
        mails_to(&sink, "jeanne@exemple.fr", "Document à signer").len(),
        1
    );
}
