//! The portal's first slice driven over HTTP as a browser would (cookies, CSRF tokens,
//! redirects): login (and a wrong password, and throttling), the dashboard's bannettes, the
//! document page, approve as one user, sign as another, download; a rejection needs a reason;
//! forms without the CSRF token are refused; showDoc.action links open the document.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::{Browser, Page, wait_for};
use parapheur_test_utils::{Client, SIREN_A, TestApp, pdf};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");

fn login(app: &TestApp, email: &str, password: &str) -> (Browser, Page) {
    let b = Browser::new(&app.base);
    let p = b.get("/parapheur/login");
    assert_eq!(p.status, 200);
    let r = b.post_form(
        "/parapheur/login",
        &[
            ("csrf", &p.csrf()),
            ("email", email),
            ("password", password),
            ("next", "/parapheur/"),
        ],
    );
    (b, r)
}

pub(crate) fn signed_in(app: &TestApp, email: &str) -> Browser {
    let password = format!("password-{}", email.split('@').next().unwrap());
    let (b, r) = login(app, email, &password);
    assert_eq!(r.status, 303, "{}", r.body);
    let cookie = r.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    b
}

fn act(b: &Browser, id: i64, action: &str, comment: &str) -> Page {
    let page = b.get(&format!("/parapheur/documents/{id}"));
    b.post_form(
        &format!("/parapheur/documents/{id}/action"),
        &[
            ("csrf", &page.csrf()),
            ("action", action),
            ("comment", comment),
        ],
    )
}

#[test]
fn approve_sign_and_download_through_the_portal() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(
            SIREN_A,
            "VVS",
            "budget.pdf",
            pdf::small("budget"),
            "Finances",
        )
        .id();

    // Not signed in: the dashboard and showDoc send to the login page.
    let anon = Browser::new(&app.base);
    let r = anon.get("/parapheur/");
    assert_eq!(r.status, 303);
    assert!(r.location.unwrap().starts_with("/parapheur/login"));
    let r = anon.get(&format!("/parapheur/showDoc.action?documentid={id}"));
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/parapheur/documents/{id}").as_str())
    );

    let v1 = signed_in(&app, "v1@a.fr");
    let dash = v1.get("/parapheur/");
    assert_eq!(dash.status, 200);
    assert!(dash.body.contains("lang=\"fr\"") && dash.body.contains("Tableau de bord"));
    assert!(
        dash.body.contains("À viser <span class=\"count\">1</span>"),
        "{}",
        dash.body
    );
    assert!(dash.body.contains("budget.pdf"));
    // Filters: by name, by circuit.
    assert!(
        !v1.get("/parapheur/?bannette=a-viser&q=autre")
            .body
            .contains("budget.pdf")
    );
    assert!(
        v1.get("/parapheur/?bannette=a-viser&circuit=VVS")
            .body
            .contains("budget.pdf")
    );

    let page = v1.get(&format!("/parapheur/documents/{id}"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("(étape en cours)") && page.body.contains("Viser"));
    assert!(page.body.contains("Envoyé pour visa"));
    let r = act(&v1, id, "visa", "");
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        v1.get(&r.location.unwrap())
            .body
            .contains("Action enregistrée")
    );

    let v2 = signed_in(&app, "v2@a.fr");
    assert_eq!(act(&v2, id, "visa", "").status, 303);
    let s1 = signed_in(&app, "s1@a.fr");
    assert!(
        s1.get("/parapheur/?bannette=a-signer")
            .body
            .contains("budget.pdf")
    );
    assert!(
        s1.get(&format!("/parapheur/documents/{id}"))
            .body
            .contains("Signer")
    );
    let r = act(&s1, id, "sign", "Bon pour accord");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(c.states(id).last().unwrap(), "Classé");

    let (status, bytes) = s1.get_bytes(&format!("/parapheur/documents/{id}/telecharger"));
    assert_eq!(status, 200);
    let ca = Client::new(&app.base, None).get("/api/v1/pki/ca.pem").body;
    assert_eq!(parapheur_test_utils::pyhanko_valid(&bytes, &ca).0, 1);
    let (status, fdc) = s1.get_bytes(&format!("/parapheur/documents/{id}/fiche"));
    assert_eq!(status, 200);
    assert!(fdc.starts_with(b"%PDF-"));
    assert!(
        s1.get("/parapheur/?bannette=termines")
            .body
            .contains("budget.pdf")
    );
    // Another subscriber's user sees nothing of it.
    let (b, r) = login(&app, "depot@b.fr", "password-depot-b");
    assert_eq!(r.status, 303);
    assert_eq!(b.get(&format!("/parapheur/documents/{id}")).status, 404);
    assert_eq!(
        b.get_bytes(&format!("/parapheur/documents/{id}/telecharger"))
            .0,
        404
    );
}

#[test]
fn rejection_needs_a_reason_and_forms_need_their_token() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let id = c.upload(SIREN_A, "VV", "r.pdf", pdf::small("r"), "").id();
    let v1 = signed_in(&app, "v1@a.fr");
    let r = act(&v1, id, "reject", "  ");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("Un motif est obligatoire"), "{}", r.body);
    // A POST without the token (a cross-site form) is refused and changes nothing.
    let r = v1.post_form(
        &format!("/parapheur/documents/{id}/action"),
        &[("action", "visa")],
    );
    assert_eq!(r.status, 403);
    assert_eq!(c.states(id).len(), 2);
    let r = act(&v1, id, "reject", "Montant erroné");
    assert_eq!(r.status, 303);
    assert_eq!(c.states(id).last().unwrap(), "Visa désapprouvé");
    assert!(
        v1.get("/parapheur/?bannette=refuses")
            .body
            .contains("r.pdf")
    );
    // Logout ends the session.
    let p = v1.get("/parapheur/");
    let r = v1.post_form("/parapheur/logout", &[("csrf", &p.csrf())]);
    assert_eq!(r.status, 303);
    assert_eq!(v1.get("/parapheur/").status, 303);
}

#[test]
fn a_wrong_password_is_refused_and_repeated_failures_are_throttled() {
    let mut app = TestApp::start(BIN, "");
    let (_, r) = login(&app, "v1@a.fr", "wrong");
    assert_eq!(r.status, 401);
    assert!(r.body.contains("mot de passe incorrect"));
    for _ in 0..4 {
        login(&app, "v2@a.fr", "wrong");
    }
    let (_, r) = login(&app, "v2@a.fr", "password-v2");
    assert_eq!(r.status, 303, "four failures do not lock");
    for _ in 0..5 {
        login(&app, "s1@a.fr", "wrong");
    }
    let (_, r) = login(&app, "s1@a.fr", "password-s1");
    assert_eq!(
        r.status, 429,
        "locked after five failures, even with the right password"
    );
    assert!(r.body.contains("Trop de tentatives"));
    // A success clears the count: four more failures do not lock.
    for _ in 0..4 {
        login(&app, "v2@a.fr", "wrong");
    }
    assert_eq!(login(&app, "v2@a.fr", "password-v2").1.status, 303);
    // The count is in the database: a restart (or another instance) keeps the pause...
    app.restart();
    assert_eq!(login(&app, "s1@a.fr", "password-s1").1.status, 429);
    // ...which ends after fifteen minutes.
    app.sql("UPDATE auth_failures SET first_at = first_at - 16 * 60 * 1000");
    assert_eq!(login(&app, "s1@a.fr", "password-s1").1.status, 303);
}

#[test]
fn deposit_through_the_form_and_sign_three_documents_in_one_action() {
    let app = TestApp::start(BIN, "");
    let depot = signed_in(&app, "depot@a.fr");
    let form = depot.get("/parapheur/deposer");
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("value=\"200000001/VVS\""),
        "{}",
        form.body
    );
    assert!(
        !form.body.contains("200000001/RESTRICTED"),
        "not an allowed depositor"
    );
    let r = depot.post_multipart(
        "/parapheur/deposer",
        &[
            ("csrf", &form.csrf()),
            ("circuit", "200000001/VVS"),
            ("label", "Conseil"),
            ("comment", ""),
        ],
        vec![
            ("doc", "arrete.pdf", pdf::small("arrêté")),
            ("annexes", "plan.txt", b"plan".to_vec()),
            ("annexes", "", Vec::new()),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = depot.get(&r.location.unwrap());
    assert!(
        page.body.contains("arrete.pdf") && page.body.contains("plan.txt"),
        "{}",
        page.body
    );
    // Bad input comes back on the form with a French message, nothing stored.
    let blobs = app.blob_count();
    let form = depot.get("/parapheur/deposer");
    let r = depot.post_multipart(
        "/parapheur/deposer",
        &[
            ("csrf", &form.csrf()),
            ("circuit", "200000001/VVS"),
            ("label", "x"),
        ],
        vec![("doc", "faux.pdf", b"not a pdf".to_vec())],
    );
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("Le fichier est vide, illisible"),
        "{}",
        r.body
    );
    assert_eq!(app.blob_count(), blobs);
    // Without the token: refused.
    let r = depot.post_multipart(
        "/parapheur/deposer",
        &[("circuit", "200000001/VVS")],
        vec![("doc", "a.pdf", pdf::small("a"))],
    );
    assert_eq!(r.status, 403);

    let c = app.as_user("depot@a.fr");
    let ids: Vec<i64> = (0..3)
        .map(|i| {
            c.upload(SIREN_A, "S", &format!("lot-{i}.pdf"), pdf::small("lot"), "")
                .id()
        })
        .collect();
    let s1 = signed_in(&app, "s1@a.fr");
    let list = s1.get("/parapheur/?bannette=a-signer");
    assert!(list.body.contains("Signer la sélection"));
    let csrf = list.csrf();
    let mut fields = vec![("csrf", csrf.as_str())];
    let id_strings: Vec<String> = ids.iter().map(i64::to_string).collect();
    fields.extend(id_strings.iter().map(|s| ("id", s.as_str())));
    let r = s1.post_form("/parapheur/signer-lot", &fields);
    assert_eq!(r.status, 303, "{}", r.body);
    let progress = r.location.unwrap();
    assert!(progress.starts_with("/parapheur/lots/"), "{progress}");
    // The progress page refreshes itself while documents remain, then gives the outcome.
    let done = wait_for(Duration::from_secs(30), "the batch to end", || {
        let p = s1.get(&progress);
        assert_eq!(p.status, 200, "{}", p.body);
        if p.body.contains("Signature en cours") {
            assert!(p.body.contains("http-equiv=\"refresh\""));
            None
        } else {
            Some(p.body)
        }
    });
    assert!(done.contains("3 document(s) signé(s) sur 3"), "{done}");
    assert!(!done.contains("http-equiv=\"refresh\""));
    // Another user does not see this batch; an empty selection is refused.
    let other = signed_in(&app, "v1@a.fr");
    assert_eq!(other.get(&progress).status, 404);
    let list = s1.get("/parapheur/?bannette=a-signer");
    let r = s1.post_form("/parapheur/signer-lot", &[("csrf", list.csrf().as_str())]);
    assert_eq!(r.status, 400);
    for id in ids {
        assert_eq!(c.states(id).last().unwrap(), "Classé");
    }
}

/// The text of a page as people read it (askama escapes apostrophes).
fn html(body: &str) -> String {
    body.replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn admin_post(b: &Browser, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
    let page = b.get(form_page);
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.csrf();
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    b.post_form(action, &all)
}

#[test]
fn administrators_manage_users_groups_circuits_and_see_every_document() {
    let app = TestApp::start(BIN, "");
    const U: &str = "/parapheur/admin/200000001/utilisateurs";
    const C: &str = "/parapheur/admin/200000001/circuits";
    let admin = signed_in(&app, "admin@a.fr");
    assert!(admin.get("/parapheur/").body.contains("Administration"));
    let r = admin.get("/parapheur/admin");
    assert_eq!(r.location.as_deref(), Some(U));
    let users = admin.get(U);
    assert!(
        users.body.contains("Victor Un") && users.body.contains("v1@a.fr"),
        "{}",
        users.body
    );

    // A new user, with groups: invited by e-mail, listed, in the groups page.
    let new_user = [
        ("email", "Nadia.Nouvelle@a.fr"),
        ("first_name", "Nadia"),
        ("last_name", "Nouvelle"),
        ("auth", "BASIC"),
        ("groups", "Finances, Élus"),
    ];
    let r = admin_post(&admin, &format!("{U}/nouveau"), U, &new_user);
    assert_eq!(r.status, 303, "{}", r.body);
    let users = admin.get(r.location.as_deref().unwrap());
    assert!(
        users.body.contains("Utilisateur enregistré.")
            && users.body.contains("nadia.nouvelle@a.fr"),
        "{}",
        users.body
    );
    let groups = admin.get("/parapheur/admin/200000001/groupes").body;
    assert!(
        groups.contains("Finances") && groups.contains("Nadia Nouvelle"),
        "{groups}"
    );
    let mail_dir = app.data_dir().join("outbox/mail");
    wait_for(Duration::from_secs(10), "the invitation", || {
        std::fs::read_dir(&mail_dir).ok()?.flatten().find(|e| {
            std::fs::read_to_string(e.path()).is_ok_and(|m| m.contains("To: nadia.nouvelle@a.fr"))
        })
    });
    // The same address again is refused; so are a bad address and missing names.
    let r = admin_post(&admin, &format!("{U}/nouveau"), U, &new_user);
    assert_eq!(r.status, 400);
    assert!(
        html(&r.body).contains("Cet utilisateur existe déjà"),
        "{}",
        r.body
    );
    let r = admin_post(
        &admin,
        &format!("{U}/nouveau"),
        U,
        &[
            ("email", "pas-une-adresse"),
            ("first_name", "A"),
            ("last_name", "B"),
        ],
    );
    assert!(r.status == 400 && html(&r.body).contains("L'adresse e-mail est invalide."));
    let r = admin_post(
        &admin,
        &format!("{U}/nouveau"),
        U,
        &[("email", "x@a.fr"), ("first_name", ""), ("last_name", "B")],
    );
    assert!(r.status == 400 && html(&r.body).contains("Le prénom et le nom sont obligatoires."));

    // Editing: one group now, and the administrator role; visible in exportUsersData.
    let export = || {
        app.as_user("admin@a.fr")
            .get("/parapheur-ws/rest/v1/exportUsersData?siren=200000001")
            .json()["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == "nadia.nouvelle@a.fr")
            .cloned()
            .unwrap()
    };
    assert_eq!(export()["groups"], serde_json::json!(["Finances", "Élus"]));
    let nadia_id = {
        let list = admin.get(U).body;
        let at = list.find("nadia.nouvelle").unwrap();
        let before = &list[..at];
        let href = before.rfind("/utilisateurs/").unwrap();
        before[href + 14..].split('"').next().unwrap().to_owned()
    };
    let r = admin_post(
        &admin,
        &format!("{U}/{nadia_id}"),
        U,
        &[
            ("existing", &nadia_id),
            ("email", "nadia.nouvelle@a.fr"),
            ("first_name", "Nadia"),
            ("last_name", "Nouvelle-Nom"),
            ("auth", "BASIC"),
            ("groups", "Finances"),
            ("admin", "on"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let e = export();
    assert_eq!(e["groups"], serde_json::json!(["Finances"]));
    assert_eq!(e["roles"], serde_json::json!(["admin"]));
    assert_eq!(e["nom"], "Nouvelle-Nom");
    // An administrator cannot drop their own role.
    let me = {
        let list = admin.get(U).body;
        let at = list.find("\">Adam Admin</a>").unwrap();
        let href = list[..at].rfind("/utilisateurs/").unwrap();
        list[href + 14..at + 1]
            .split('"')
            .next()
            .unwrap()
            .to_owned()
    };
    let r = admin_post(
        &admin,
        &format!("{U}/{me}"),
        U,
        &[
            ("existing", &me),
            ("email", "admin@a.fr"),
            ("first_name", "Adam"),
            ("last_name", "Admin"),
        ],
    );
    assert!(
        r.status == 400 && html(&r.body).contains("votre propre rôle d'administrateur"),
        "{}",
        r.body
    );

    // A circuit made in the page works for deposits at once.
    let circuit = [
        ("id", "ADMIN-VS"),
        ("type", "BUREAUTIQUE_PDF"),
        ("depositors", "depot@a.fr"),
        ("step_0", "visa"),
        ("members_0", "v1@a.fr"),
        ("step_1", "signature"),
        ("members_1", "nadia.nouvelle@a.fr, s1@a.fr"),
    ];
    let r = admin_post(&admin, &format!("{C}/nouveau"), C, &circuit);
    assert_eq!(r.status, 303, "{}", r.body);
    let list = admin.get(r.location.as_deref().unwrap()).body;
    assert!(
        list.contains("Circuit enregistré.") && list.contains("ADMIN-VS"),
        "{list}"
    );
    let depot = app.as_user("depot@a.fr");
    let id = depot
        .upload(SIREN_A, "ADMIN-VS", "convention.pdf", pdf::small("c"), "")
        .id();
    assert_eq!(depot.states(id), ["Préparé", "Envoyé pour visa"]);
    // Checked like the provisioning file, with French messages.
    for (fields, expected) in [
        (
            vec![
                ("id", "ADMIN-VS"),
                ("type", "BUREAUTIQUE_PDF"),
                ("step_0", "visa"),
                ("members_0", "v1@a.fr"),
            ],
            "Un circuit porte déjà cet identifiant.",
        ),
        (
            vec![
                ("id", "X1"),
                ("type", "BUREAUTIQUE_PDF"),
                ("step_0", "visa"),
                ("members_0", "inconnu@a.fr"),
            ],
            "inconnu@a.fr n'est pas un utilisateur de la collectivité.",
        ),
        (
            vec![("id", "X2"), ("type", "BUREAUTIQUE_PDF")],
            "Un circuit a besoin d'au moins une étape.",
        ),
        (
            vec![
                ("id", "X3"),
                ("type", "BUREAUTIQUE_PDF"),
                ("step_0", "signature"),
            ],
            "L'étape 1 a besoin d'au moins un membre.",
        ),
        (
            vec![
                ("id", "X4"),
                ("type", "BUREAUTIQUE_PDF"),
                ("depositors", "v1@a.fr"),
                ("step_0", "visa"),
                ("members_0", "v1@a.fr"),
            ],
            "ne peut pas y viser ni y signer",
        ),
    ] {
        let r = admin_post(&admin, &format!("{C}/nouveau"), C, &fields);
        assert_eq!(r.status, 400, "{expected}");
        assert!(html(&r.body).contains(expected), "{expected}: {}", r.body);
    }

    // Removing a user takes them out of the circuits (a warning names the circuit whose step
    // lost its only member: here none, s1 remains).
    let r = admin_post(
        &admin,
        &format!("{U}/{nadia_id}"),
        &format!("{U}/{nadia_id}/retirer"),
        &[],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(!admin.get(U).body.contains("nadia.nouvelle@a.fr"));
    let edit = admin.get(&format!("{C}/ADMIN-VS")).body;
    assert!(
        edit.contains("value=\"s1@a.fr\"") && !edit.contains("nadia"),
        "{edit}"
    );
    // Editing the steps.
    let r = admin_post(
        &admin,
        &format!("{C}/ADMIN-VS"),
        C,
        &[
            ("existing", "1"),
            ("id", "ADMIN-VS"),
            ("type", "BUREAUTIQUE_PDF"),
            ("step_0", "signature"),
            ("members_0", "s1@a.fr"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let id2 = depot
        .upload(SIREN_A, "ADMIN-VS", "convention-2.pdf", pdf::small("c"), "")
        .id();
    assert_eq!(depot.states(id2), ["Préparé", "Envoyé pour signature"]);
    // Every document of the subscriber, whoever deposited it.
    let docs = admin.get("/parapheur/admin/200000001/documents").body;
    assert!(
        docs.contains("convention.pdf") && docs.contains("convention-2.pdf"),
        "{docs}"
    );
    // Deleting: new deposits are refused (107), documents in progress go on.
    let r = admin_post(
        &admin,
        &format!("{C}/ADMIN-VS"),
        &format!("{C}/ADMIN-VS/supprimer"),
        &[],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let r = depot.upload(SIREN_A, "ADMIN-VS", "c3.pdf", pdf::small("c"), "");
    assert_eq!(r.error_code(), Some(107));
    assert_eq!(app.as_user("s1@a.fr").act(id2, "sign", None).status, 200);

    // Others: not an administrator, another subscriber, no CSRF token.
    let v1 = signed_in(&app, "v1@a.fr");
    assert!(!v1.get("/parapheur/").body.contains("Administration"));
    assert_eq!(v1.get(U).status, 403);
    assert_eq!(v1.get("/parapheur/admin").status, 403);
    assert_eq!(
        admin.get("/parapheur/admin/200000002/utilisateurs").status,
        403
    );
    let r = admin.post_form(
        U,
        &[("email", "z@a.fr"), ("first_name", "Z"), ("last_name", "Z")],
    );
    assert_eq!(r.status, 403);
    let r = v1.post_form(
        C,
        &[
            ("csrf", v1.get("/parapheur/").csrf().as_str()),
            ("id", "V1"),
            ("type", "BUREAUTIQUE_PDF"),
        ],
    );
    assert_eq!(r.status, 403, "a member who is not an administrator");
}

#[test]
fn the_preview_shows_the_pages_as_images() {
    let app = TestApp::start(BIN, "");
    let id = app
        .as_user("depot@a.fr")
        .upload(
            SIREN_A,
            "VVS",
            "budget.pdf",
            pdf::sample("Budget", 3, 0),
            "",
        )
        .id();
    let v1 = signed_in(&app, "v1@a.fr");
    let page = v1.get(&format!("/parapheur/documents/{id}")).body;
    for n in 1..=3 {
        assert!(
            page.contains(&format!("src=\"/parapheur/documents/{id}/pages/{n}\"")),
            "{page}"
        );
    }
    assert!(!page.contains(&format!("/parapheur/documents/{id}/pages/4\"")));
    let (status, png) = v1.get_bytes(&format!("/parapheur/documents/{id}/pages/2"));
    assert_eq!(status, 200);
    assert!(png.starts_with(b"\x89PNG"), "a PNG image");
    // An A4 page at 80 dpi: 661 × 935 pixels (IHDR width and height).
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert!(
        (600..700).contains(&w) && (900..1000).contains(&h),
        "{w}×{h}"
    );
    // The page reserves each image's box at the size drawn: nothing moves while they load.
    assert!(
        page.contains(&format!(
            "src=\"/parapheur/documents/{id}/pages/2\" width=\"{w}\" height=\"{h}\""
        )),
        "drawn {w}×{h}: {page}"
    );
    for bad in ["0", "4", "x"] {
        let (status, _) = v1.get_bytes(&format!("/parapheur/documents/{id}/pages/{bad}"));
        assert_eq!(status, 404, "page {bad}");
    }
    // Not visible from another subscriber; not without a session.
    let (b, _) = login(&app, "depot@b.fr", "password-depot-b");
    assert_eq!(
        b.get_bytes(&format!("/parapheur/documents/{id}/pages/1")).0,
        404
    );
    let anonymous = Browser::new(&app.base);
    assert_eq!(
        anonymous
            .get(&format!("/parapheur/documents/{id}/pages/1"))
            .status,
        303
    );
}

#[test]
fn the_document_page_shows_the_metadata() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let id = c.upload(SIREN_A, "META", "m.pdf", pdf::small("m"), "").id();
    let r = c.multipart(
        reqwest::Method::PUT,
        &format!("/parapheur-ws/rest/v1/documents/v2/{id}/metadata/define"),
        vec![parapheur_test_utils::Part::File(
            "metadata",
            "meta.xml".into(),
            br#"<meta-data-list><meta-data name="NUM_MARCHE" value="2026-042 &lt;lot 3&gt;"/></meta-data-list>"#
                .to_vec(),
        )],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v1 = signed_in(&app, "v1@a.fr");
    let page = v1.get(&format!("/parapheur/documents/{id}")).body;
    assert!(page.contains("<h2>Métadonnées</h2>"), "{page}");
    assert!(
        page.contains("<dt>NUM_MARCHE</dt><dd>2026-042 &#60;lot 3&#62;</dd>")
            || page.contains("<dt>NUM_MARCHE</dt><dd>2026-042 &lt;lot 3&gt;</dd>"),
        "the value, escaped: {page}"
    );
}
