//! The portal for people who act on many documents a day (issue 19): `/` leads to the portal,
//! the dashboard opens where there is work, lists carry deposit date, depositor, circuit and
//! deadline (sortable, searchable, overdue badges), select all and batch visa, "document
//! suivant" after an action, and the document page's replace / comment / annex forms.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::{Browser, Page, parse_eml, sms_outbox, wait_for};
use parapheur_test_utils::{SIREN_A, TestApp, pdf};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");

fn portal(app: &TestApp, email: &str) -> Browser {
    let b = Browser::new(&app.base);
    let p = b.get("/parapheur/login");
    let password = format!("password-{}", email.split('@').next().unwrap());
    let r = b.post_form(
        "/parapheur/login",
        &[
            ("csrf", &p.csrf()),
            ("email", email),
            ("password", &password),
            ("next", "/parapheur/"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    b
}

/// The file names of the list, in order.
fn listed(page: &Page, names: &[&str]) -> Vec<String> {
    let mut found: Vec<(usize, String)> = names
        .iter()
        .filter_map(|n| {
            page.body
                .find(&format!(">{n}</a>"))
                .map(|i| (i, n.to_string()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, n)| n).collect()
}

#[test]
fn the_dashboard_opens_on_work_sorts_searches_and_approves_in_batch() {
    let app = TestApp::start(BIN, "");
    // `/` leads to the portal.
    let anon = Browser::new(&app.base);
    let r = anon.get("/");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/parapheur/"));

    let c = app.as_user("depot@a.fr");
    let alpha = c
        .upload(SIREN_A, "VVS", "alpha.pdf", pdf::small("a"), "Finances")
        .id();
    let beta = c
        .upload(SIREN_A, "VVS", "beta.pdf", pdf::small("b"), "Urbanisme")
        .id();
    let gamma = c
        .upload(SIREN_A, "VV", "gamma.pdf", pdf::small("g"), "Écoles")
        .id();
    let delta = c
        .upload(SIREN_A, "S", "delta.pdf", pdf::small("d"), "Finances")
        .id();
    app.sql(&format!(
        "UPDATE documents SET deadline = '2000-01-02' WHERE id = {alpha}"
    ));
    app.sql(&format!(
        "UPDATE documents SET deadline = '2999-12-31' WHERE id = {beta}"
    ));

    // s1 has nothing to approve: the dashboard opens on "À signer", where delta waits.
    let s1 = portal(&app, "s1@a.fr");
    let dash = s1.get("/parapheur/");
    assert!(
        dash.body
            .contains("aria-current=\"page\" class=\"current\">À signer"),
        "{}",
        dash.body
    );
    assert!(dash.body.contains("delta.pdf"));
    assert!(dash.body.contains("Signer la sélection"));

    let v1 = portal(&app, "v1@a.fr");
    let names = ["alpha.pdf", "beta.pdf", "gamma.pdf"];
    let dash = v1.get("/parapheur/");
    assert!(
        dash.body
            .contains("aria-current=\"page\" class=\"current\">À viser")
    );
    for col in [
        "Déposé le",
        "Déposant",
        "Circuit",
        "Échéance",
        "Denise Dépôt",
    ] {
        assert!(dash.body.contains(col), "{col}: {}", dash.body);
    }
    // Newest deposit first by default; the overdue document carries the badge, once.
    assert_eq!(
        listed(&dash, &names),
        ["gamma.pdf", "beta.pdf", "alpha.pdf"]
    );
    assert_eq!(dash.body.matches("En retard").count(), 1, "{}", dash.body);
    assert!(dash.body.contains("02/01/2000") && dash.body.contains("31/12/2999"));
    assert!(dash.body.contains("Viser la sélection"));
    let sorted = |q: &str| {
        listed(
            &v1.get(&format!("/parapheur/?bannette=a-viser&{q}")),
            &names,
        )
    };
    assert_eq!(
        sorted("tri=date&ordre=asc"),
        ["alpha.pdf", "beta.pdf", "gamma.pdf"]
    );
    // Without a deadline, last whatever the direction.
    assert_eq!(
        sorted("tri=echeance&ordre=asc"),
        ["alpha.pdf", "beta.pdf", "gamma.pdf"]
    );
    assert_eq!(
        sorted("tri=echeance&ordre=desc"),
        ["beta.pdf", "alpha.pdf", "gamma.pdf"]
    );
    assert_eq!(
        sorted("tri=circuit&ordre=asc"),
        ["gamma.pdf", "beta.pdf", "alpha.pdf"]
    );
    assert_eq!(sorted("tri=circuit&ordre=desc")[0], "beta.pdf");
    assert_eq!(sorted("tri=depositaire&ordre=asc").len(), 3);
    // The sorted column's header says so, and its link reverses the order.
    let page = v1.get("/parapheur/?bannette=a-viser&tri=echeance&ordre=asc");
    assert!(
        page.body.contains("aria-sort=\"ascending\""),
        "{}",
        page.body
    );
    let links = page.body.replace("&#38;", "&");
    assert!(links.contains("tri=echeance&ordre=desc"), "{links}");
    // One search box over the name, the label (dossier) and the circuit.
    assert_eq!(sorted("q=urba"), ["beta.pdf"]);
    assert_eq!(sorted("q=GAMMA"), ["gamma.pdf"]);
    assert_eq!(sorted("q=vvs"), ["beta.pdf", "alpha.pdf"]);
    // The list's total: the bannette's count without a search, counted with the page with one.
    let caption = |q: &str| {
        let body = v1.get(&format!("/parapheur/?bannette=a-viser&{q}")).body;
        match body.find("<caption") {
            Some(at) => body[at..]
                .split("</caption>")
                .next()
                .unwrap_or_default()
                .to_owned(),
            None => body,
        }
    };
    assert!(
        caption("tri=date").contains(">3 document(s)"),
        "{}",
        caption("tri=date")
    );
    assert!(
        caption("q=vvs").contains(">2 document(s)"),
        "{}",
        caption("q=vvs")
    );
    assert!(
        caption("q=zzz").contains("Aucun document."),
        "{}",
        caption("q=zzz")
    );

    // Select all: the page again with every box checked.
    let dash = v1.get("/parapheur/");
    assert!(dash.body.contains("Tout sélectionner"));
    assert_eq!(dash.body.matches(" checked").count(), 0);
    let all = v1.get("/parapheur/?bannette=a-viser&tout=1");
    assert_eq!(all.body.matches(" checked").count(), 3, "{}", all.body);
    assert!(all.body.contains("Tout désélectionner"));

    // Batch visa: each document's outcome; another subscriber's or unknown ids are left out.
    let csrf = all.csrf();
    let r = v1.post_form(
        "/parapheur/viser-lot",
        &[("id", &alpha.to_string()), ("id", &beta.to_string())],
    );
    assert_eq!(r.status, 403, "without the CSRF token");
    let r = v1.post_form(
        "/parapheur/viser-lot",
        &[
            ("csrf", &csrf),
            ("id", &alpha.to_string()),
            ("id", &beta.to_string()),
            ("id", &delta.to_string()),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("2 document(s) visé(s) sur"), "{}", r.body);
    assert_eq!(
        r.body.matches("<strong>Visé</strong>").count(),
        2,
        "{}",
        r.body
    );
    for id in [alpha, beta] {
        assert_eq!(c.states(id).last().unwrap(), "Envoyé pour visa");
        assert!(c.states(id).iter().any(|s| s == "Visa approuvé"));
    }
    assert_eq!(c.states(gamma).last().unwrap(), "Envoyé pour visa");
    let dash = v1.get("/parapheur/");
    assert_eq!(listed(&dash, &names), ["gamma.pdf"]);
    let r = v1.post_form("/parapheur/viser-lot", &[("csrf", &csrf)]);
    assert_eq!(r.status, 400);
}

/// HTML with its `&` entities back as `&` (askama escapes them in attributes).
fn unescaped(html: &str) -> String {
    html.replace("&#38;", "&").replace("&amp;", "&")
}

#[test]
fn after_an_action_the_next_document_of_the_bannette_opens() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let first = c
        .upload(SIREN_A, "VV", "premier.pdf", pdf::small("1"), "")
        .id();
    let second = c
        .upload(SIREN_A, "VV", "second.pdf", pdf::small("2"), "")
        .id();
    let v1 = portal(&app, "v1@a.fr");
    let dash = v1.get("/parapheur/");
    // Links carry the list: its bannette, search and order (the default one here).
    let link = format!("/parapheur/documents/{second}?suivant=a-viser&tri=date&ordre=desc");
    assert!(unescaped(&dash.body).contains(&link), "{}", dash.body);
    let page = v1.get(&link);
    assert!(
        unescaped(&page.body).contains(&format!(
            "href=\"/parapheur/documents/{first}?suivant=a-viser&tri=date&ordre=desc\" rel=\"next\">Document suivant"
        )),
        "{}",
        page.body
    );
    let r = v1.post_form(
        &format!("/parapheur/documents/{second}/action"),
        &[
            ("csrf", &page.csrf()),
            ("action", "visa"),
            ("comment", ""),
            ("suivant", "a-viser"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let to = r.location.unwrap();
    assert_eq!(
        to,
        format!("/parapheur/documents/{first}?suivant=a-viser&tri=date&ordre=desc&fait={second}")
    );
    let page = v1.get(&to);
    assert!(
        page.body
            .contains("Voici le document suivant de la bannette « À viser »"),
        "{}",
        page.body
    );
    assert!(page.body.contains("premier.pdf"));
    // The last one: the page stays, saying the bannette is empty.
    let r = v1.post_form(
        &format!("/parapheur/documents/{first}/action"),
        &[
            ("csrf", &page.csrf()),
            ("action", "visa"),
            ("comment", ""),
            ("suivant", "a-viser"),
        ],
    );
    let to = r.location.unwrap();
    assert_eq!(
        to,
        format!("/parapheur/documents/{first}?suivant=a-viser&tri=date&ordre=desc&fait={first}")
    );
    let page = v1.get(&to);
    assert!(page.body.contains("Action enregistrée."));
    assert!(
        page.body.contains("Aucun autre document dans « À viser »"),
        "{}",
        page.body
    );
    // Without `suivant`, the document page as before.
    let r = c
        .upload(SIREN_A, "VV", "troisieme.pdf", pdf::small("3"), "")
        .id();
    let page = v1.get(&format!("/parapheur/documents/{r}"));
    let r2 = v1.post_form(
        &format!("/parapheur/documents/{r}/action"),
        &[("csrf", &page.csrf()), ("action", "visa"), ("comment", "")],
    );
    assert_eq!(
        r2.location.as_deref(),
        Some(format!("/parapheur/documents/{r}?fait=1").as_str())
    );
}

#[test]
fn the_document_page_replaces_comments_and_adds_annexes_for_those_allowed() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(SIREN_A, "VV", "budget.pdf", pdf::small("v1"), "Finances")
        .id();
    let depot = portal(&app, "depot@a.fr");
    let url = format!("/parapheur/documents/{id}");
    let page = depot.get(&url);
    for form in [
        "Remplacer le document",
        "Ajouter une annexe",
        "Ajouter un commentaire",
    ] {
        assert!(page.body.contains(form), "{form}: {}", page.body);
    }
    // A member of a later step comments and adds annexes, but does not replace.
    let v2 = portal(&app, "v2@a.fr");
    let other = v2.get(&url);
    assert!(
        other.body.contains("Ajouter un commentaire"),
        "{}",
        other.body
    );
    assert!(!other.body.contains("Remplacer le document"));

    // Comments: the CSRF token is required, an empty one is refused in French.
    let r = depot.post_form(&format!("{url}/commentaires"), &[("text", "Voir p. 2")]);
    assert_eq!(r.status, 403);
    let r = depot.post_form(
        &format!("{url}/commentaires"),
        &[("csrf", &page.csrf()), ("text", "  ")],
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("class=\"alert error\""), "{}", r.body);
    let r = depot.post_form(
        &format!("{url}/commentaires"),
        &[
            ("csrf", &page.csrf()),
            ("text", "Voir la page 2"),
            ("suivant", "mes-depots"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let to = r.location.unwrap();
    assert_eq!(
        to,
        format!("{url}?suivant=mes-depots&tri=date&ordre=desc&ok=commentaire")
    );
    let page = depot.get(&to);
    assert!(page.body.contains("Commentaire ajouté."));
    assert!(page.body.contains("Voir la page 2"));

    // An annex.
    let r = depot.post_multipart(
        &format!("{url}/annexes"),
        &[("csrf", &page.csrf())],
        vec![("file", "plan.pdf", pdf::small("plan"))],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = depot.get(&r.location.unwrap());
    assert!(page.body.contains("Annexe ajoutée.") && page.body.contains("plan.pdf"));

    // A replacement in another format is refused; a PDF restarts the circuit.
    let r = depot.post_multipart(
        &format!("{url}/remplacer"),
        &[("csrf", &page.csrf())],
        vec![("file", "budget.txt", b"texte".to_vec())],
    );
    assert!(
        r.status >= 400 && r.status < 500,
        "{}: {}",
        r.status,
        r.body
    );
    assert!(r.body.contains("class=\"alert error\""), "{}", r.body);
    let r = depot.post_multipart(
        &format!("{url}/remplacer"),
        &[("csrf", &page.csrf())],
        vec![("file", "budget-v2.pdf", pdf::small("v2"))],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = depot.get(&r.location.unwrap());
    assert!(page.body.contains("Document remplacé"), "{}", page.body);
    assert!(page.body.contains("budget-v2.pdf"));

    // Once someone has acted, the file can no longer be replaced.
    let v1 = portal(&app, "v1@a.fr");
    let vp = v1.get(&url);
    let r = v1.post_form(
        &format!("{url}/action"),
        &[("csrf", &vp.csrf()), ("action", "visa"), ("comment", "")],
    );
    assert_eq!(r.status, 303);
    let page = depot.get(&url);
    assert!(
        !page.body.contains("Remplacer le document"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Ajouter une annexe"));
}

/// Deposits through the portal's form; the answer (a redirect to the new document, or the
/// form again with the reason).
fn deposit(b: &Browser, fields: &[(&str, &str)], files: Vec<(&str, &str, Vec<u8>)>) -> Page {
    let form = b.get("/parapheur/deposer");
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.csrf();
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    b.post_multipart("/parapheur/deposer", &all, files)
}

fn new_id(r: &Page) -> i64 {
    let to = r
        .location
        .clone()
        .unwrap_or_else(|| panic!("{}: {}", r.status, r.body));
    to.trim_start_matches("/parapheur/documents/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn the_deposit_form_covers_on_demand_and_otp_circuits_recipients_and_deadlines() {
    let app = TestApp::start(BIN, "");
    let depot = portal(&app, "depot@a.fr");
    let c = app.as_user("depot@a.fr");
    let form = depot.get("/parapheur/deposer");
    for field in [
        "name=\"date_limite\"",
        "name=\"email_destinataire\"",
        "name=\"email_cc\"",
        "name=\"etape_0\"",
        "name=\"membres_0\"",
        "name=\"otp_telephone\"",
        "200000001/circuit-a-la-volee",
    ] {
        assert!(form.body.contains(field), "{field}: {}", form.body);
    }

    // An on-demand circuit: a visa then a signature, with recipients, a deadline and an annex.
    let r = deposit(
        &depot,
        &[
            ("circuit", "200000001/circuit-a-la-volee"),
            ("type", "BUREAUTIQUE_PDF"),
            ("etape_0", "visa"),
            ("membres_0", "v2@a.fr"),
            ("etape_1", ""),
            ("etape_2", "signature"),
            ("membres_2", "s1@a.fr, v1@a.fr"),
            ("label", "Conseil"),
            ("date_limite", "2999-01-31"),
            (
                "email_destinataire",
                "prefecture@example.org, archives@example.org",
            ),
            ("email_cc", "copie@example.org"),
        ],
        vec![
            ("doc", "deliberation.pdf", pdf::small("d")),
            ("annexes", "annexe.pdf", pdf::small("a")),
        ],
    );
    let id = new_id(&r);
    let row = app.query(&format!(
        "SELECT circuit_id, deadline, email_to, email_cc FROM documents WHERE id = {id}"
    ));
    assert!(row.contains("2999-01-31"), "{row}");
    assert!(row.contains("prefecture@example.org") && row.contains("archives@example.org"));
    assert!(row.contains("copie@example.org"), "{row}");
    let page = depot.get(&format!("/parapheur/documents/{id}"));
    assert!(page.body.contains("annexe.pdf"));
    assert!(page.body.contains("Véra Deux"), "{}", page.body);
    assert!(page.body.contains("Sophie Signe"), "{}", page.body);
    let v2 = portal(&app, "v2@a.fr");
    assert!(
        v2.get("/parapheur/?bannette=a-viser")
            .body
            .contains("deliberation.pdf")
    );

    // A step without a member, or a member from elsewhere, is refused with the form again.
    let r = deposit(
        &depot,
        &[
            ("circuit", "200000001/circuit-a-la-volee"),
            ("etape_0", "signature"),
            ("membres_0", ""),
        ],
        vec![("doc", "x.pdf", pdf::small("x"))],
    );
    assert!(
        r.status >= 400 && r.status < 500,
        "{}: {}",
        r.status,
        r.body
    );
    assert!(r.body.contains("class=\"alert error\""), "{}", r.body);
    // A deadline in the past is refused.
    let r = deposit(
        &depot,
        &[("circuit", "200000001/VV"), ("date_limite", "2001-01-01")],
        vec![("doc", "x.pdf", pdf::small("x"))],
    );
    assert!(
        r.status >= 400 && r.status < 500,
        "{}: {}",
        r.status,
        r.body
    );

    // An OTP circuit with its signer: the information is defined at the deposit.
    let r = deposit(
        &depot,
        &[
            ("circuit", "200000001/OTP"),
            ("otp_prenom", "Jeanne"),
            ("otp_nom", "D'Arc & fils"),
            ("otp_telephone", "0606060606"),
            ("otp_email", "jeanne@example.org"),
        ],
        vec![("doc", "contrat.pdf", pdf::small("c"))],
    );
    let id = new_id(&r);
    assert!(
        c.states(id)
            .iter()
            .any(|s| s == "Informations OTP définies"),
        "{:?}",
        c.states(id)
    );
    let signers = app.query(&format!(
        "SELECT first_name, last_name FROM otp_signers WHERE document_id = {id}"
    ));
    assert!(
        signers.contains("Jeanne") && signers.contains("D'Arc & fils"),
        "{signers}"
    );
    // The signer is sent the signing link: by e-mail when there is an address...
    let mail = wait_for(Duration::from_secs(10), "the invitation e-mail", || {
        std::fs::read_dir(app.data_dir().join("outbox/mail"))
            .ok()?
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .map(|raw| parse_eml(&raw))
            .find(|m| m["subject"] == "Document à signer : contrat.pdf")
    });
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains("Bonjour Jeanne D'Arc & fils"), "{text}");
    assert!(text.contains(&format!("{}/otp/", app.base)), "{text}");
    // ...by SMS with a phone only, and the depositor is told either way.
    let r = deposit(
        &depot,
        &[
            ("circuit", "200000001/OTP"),
            ("otp_prenom", "Paul"),
            ("otp_nom", "Martin"),
            ("otp_telephone", "0707070707"),
        ],
        vec![("doc", "bail.pdf", pdf::small("b"))],
    );
    let id = new_id(&r);
    let page = depot.get(&format!("/parapheur/documents/{id}?fait=1&invitation=1"));
    assert!(
        page.body
            .contains("Le lien de signature a été envoyé au signataire"),
        "{}",
        page.body
    );
    let sms = wait_for(Duration::from_secs(10), "the invitation SMS", || {
        sms_outbox(&app.data_dir().join("outbox/sms.jsonl"))
            .into_iter()
            .find(|(to, _)| to == "+33707070707")
    });
    assert!(
        sms.1.contains("bail.pdf") && sms.1.contains("/otp/"),
        "{}",
        sms.1
    );
    // One message each: no code is sent before the signer asks for one.
    assert_eq!(
        sms_outbox(&app.data_dir().join("outbox/sms.jsonl")).len(),
        1
    );
}

#[test]
fn administrators_see_statistics_as_svg_charts_with_their_figures() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let signed = c
        .upload(SIREN_A, "S", "signe.pdf", pdf::small("s"), "")
        .id();
    let refused = c
        .upload(SIREN_A, "VV", "refuse.pdf", pdf::small("r"), "")
        .id();
    let late = c
        .upload(SIREN_A, "VV", "retard.pdf", pdf::small("l"), "")
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(signed, "sign", None).status, 200);
    let r = app
        .as_user("v1@a.fr")
        .act(refused, "reject", Some("Incomplet"));
    assert_eq!(r.status, 200, "{}", r.text());
    app.sql(&format!(
        "UPDATE documents SET deadline = '2000-01-02' WHERE id = {late}"
    ));

    // Only the subscriber's administrators.
    let v1 = portal(&app, "v1@a.fr");
    assert_eq!(
        v1.get("/parapheur/admin/200000001/statistiques").status,
        403
    );
    let admin = portal(&app, "admin@a.fr");
    let page = admin.get("/parapheur/admin/200000001/statistiques");
    assert_eq!(page.status, 200, "{}", page.body);
    let b = &page.body;
    assert!(b.contains("aria-current=\"page\" class=\"current\">Statistiques"));
    // Four charts, each named and followed by its table; no script.
    assert_eq!(b.matches("<svg").count(), 4, "{b}");
    assert_eq!(b.matches("role=\"img\"").count(), 4);
    assert_eq!(b.matches("<caption>").count(), 4, "{b}");
    assert!(!b.contains("<script"));
    // The figures: this month's deposits per circuit (the last column), the overdue count,
    // a refusal, a median delay.
    let row = |name: &str| -> Vec<String> {
        let start = b
            .find(&format!("<th scope=\"row\">{name}</th>"))
            .unwrap_or_else(|| panic!("{name}: {b}"));
        let end = start + b[start..].find("</tr>").unwrap();
        b[start..end]
            .split("<td>")
            .skip(1)
            .map(|c| c.trim_end_matches("</td>").to_owned())
            .collect()
    };
    assert_eq!(row("VV").last().unwrap(), "2");
    assert_eq!(row("S").last().unwrap(), "1");
    assert_eq!(row("VV").len(), 12);
    assert!(
        b.contains("Documents en cours dont la date limite est passée : 1."),
        "{b}"
    );
    assert_eq!(row("Refus").last().unwrap(), "1");
    assert!(b.contains("Délai médian sur la période : "), "{b}");
    assert!(!b.contains("aucun document signé"), "{b}");
    assert_ne!(row("Délai médian").last().unwrap(), "—");
}
