//! The portal in a real browser: Debian's headless Chromium driven through chromedriver
//! (WebDriver, `fantoccini`). Login (and a wrong password), the deposit form, the dashboard
//! showing the pending document, approval by one user and signature by another, the download,
//! a rejection that needs a reason, batch signing of three documents, a CSRF-less POST refused,
//! and the screenshots of the README (written to `docs/screenshots/` when
//! `PARAPHEUR_SCREENSHOTS=1`). axe-core (`PARAPHEUR_AXE_JS`, installed by `scripts/test.sh`)
//! audits every page visited: no serious or critical violation. A second test deposits, signs
//! and downloads with the keyboard only; a third (`chromium/work.rs`) is a working week observed
//! from outside.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::{Client, ClientBuilder, Locator};
use parapheur_test_utils::browser::{free_port, wait_for};
use parapheur_test_utils::{SIREN_A, TestApp, pdf};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const PROVISION: &str = r#"
[[circuits]]
siren = "200000001"
id = "VISA-SIGNATURE"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "visa", members = ["v1@a.fr"] }, { step = "signature", members = ["s1@a.fr"] } ]
"#;

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Driver {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian chromium-driver; scripts/test.sh installs it)");
    wait_for(Duration::from_secs(20), "chromedriver", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn browser(driver: &Driver, width: u32, height: u32) -> Client {
    session(driver, width, height, None).await
}

/// A browser that saves downloads into `dir` without asking.
async fn browser_downloading(driver: &Driver, dir: &std::path::Path) -> Client {
    session(driver, 1280, 900, Some(dir)).await
}

async fn session(
    driver: &Driver,
    width: u32,
    height: u32,
    downloads: Option<&std::path::Path>,
) -> Client {
    let mut options = json!({
        "binary": "/usr/bin/chromium",
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--lang=fr-FR", "--hide-scrollbars", format!("--window-size={width},{height}")],
    });
    if let Some(dir) = downloads {
        options["prefs"] = json!({
            "download.default_directory": dir,
            "download.prompt_for_download": false,
        });
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// Waits until the page's text contains `needle` (a navigation may be under way).
async fn wait_text(c: &Client, needle: &str) -> String {
    let started = Instant::now();
    let mut seen = String::new();
    loop {
        if let Ok(body) = c.find(Locator::Css("body")).await
            && let Ok(t) = body.text().await
        {
            if t.contains(needle) {
                return t;
            }
            seen = t;
        }
        // Generous: the browser, the server and other tests share two cores.
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never saw {needle:?} in {:?}; the page said: {seen}",
            c.current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A script true when every image in the window has loaded (the preview's pages load lazily:
/// those further down are fetched only when scrolled to).
const IMAGES_LOADED: &str = "return Array.from(document.images)
     .filter(i => { const r = i.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; })
     .every(i => i.complete && i.naturalWidth > 0)";

/// A script true when every preview image has its box reserved by `width` and `height` before
/// it loads, and each one loaded is drawn at that size (nothing below moves while the pages
/// load: a click aimed at "Rejeter" cannot land elsewhere).
const PAGES_SIZED: &str = "const imgs = Array.from(document.querySelectorAll('section.pages img'));
     const loaded = imgs.filter(i => i.complete && i.naturalWidth > 0);
     return loaded.length > 0 && imgs.every(i => i.hasAttribute('width') && i.hasAttribute('height'))
       && loaded.every(i => Math.abs(Number(i.getAttribute('width')) - i.naturalWidth) <= 1
         && Math.abs(Number(i.getAttribute('height')) - i.naturalHeight) <= 1)";

/// Waits until `script` returns true in the page.
async fn wait_js(c: &Client, script: &str, what: &str) {
    let started = Instant::now();
    while c.execute(script, vec![]).await.ok() != Some(serde_json::Value::Bool(true)) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never saw {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn login(c: &Client, base: &str, email: &str, password: &str) {
    c.goto(&format!("{base}/parapheur/login")).await.unwrap();
    c.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(email)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/parapheur/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn logout(c: &Client) {
    // The page may still be loading after the last action: wait for the button.
    let started = Instant::now();
    let button = loop {
        match c
            .find(Locator::Css("form[action='/parapheur/logout'] button"))
            .await
        {
            Ok(b) => break b,
            Err(e) => {
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "no logout button: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    button.click().await.unwrap();
    wait_text(c, "Connexion").await;
}

async fn click_link(c: &Client, text: &str) {
    // The page may still be loading after the last action: wait for the link.
    let started = Instant::now();
    let link = loop {
        match c.find(Locator::LinkText(text)).await {
            Ok(l) => break l,
            Err(e) => {
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "no link {text:?}: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    link.click().await.unwrap();
}

/// Presses a button as a person would: scrolled to the middle of the window first, and pressed
/// again if the page was still moving (preview images arriving) when the click landed.
async fn press(c: &Client, label: &str) {
    // Double quotes: French labels hold apostrophes.
    let xpath = format!("//button[normalize-space()=\"{label}\"]");
    for attempt in 0..10 {
        let button = c
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button {label:?}: {e}"));
        let arg = serde_json::to_value(&button).unwrap();
        c.execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
            .await
            .unwrap();
        match button.click().await {
            Ok(()) => return,
            Err(e) if attempt < 9 && format!("{e:?}").contains("ElementClickIntercepted") => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot press {label:?}: {e}"),
        }
    }
}

/// Submits a form the page did not render (no CSRF token), as a forged cross-site form would.
async fn post_without_token(c: &Client, path: &str) {
    c.execute(
        "const f = document.createElement('form');
         f.method = 'post'; f.action = arguments[0];
         const i = document.createElement('input');
         i.type = 'hidden'; i.name = 'action'; i.value = 'visa';
         f.appendChild(i); document.body.appendChild(f); f.submit();",
        vec![json!(path)],
    )
    .await
    .unwrap();
}

/// Waits for the browser to finish downloading `name` into `dir`.
async fn downloaded(dir: &std::path::Path, name: &str) -> Vec<u8> {
    let started = Instant::now();
    loop {
        let p = dir.join(name);
        let present: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        // Chromium may reserve `name` (empty) while it writes `name.crdownload`, then renames:
        // the download is complete when no `.crdownload` is left and the file has content.
        let in_progress = present
            .iter()
            .any(|f| f.to_string_lossy().ends_with(".crdownload"));
        if !in_progress
            && let Ok(bytes) = std::fs::read(&p)
            && !bytes.is_empty()
        {
            return bytes;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name} not downloaded; present: {present:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn current_doc(c: &Client) -> i64 {
    let url = c.current_url().await.unwrap();
    url.path()
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a document page: {url}"))
}

/// axe-core's script (`PARAPHEUR_AXE_JS`, else where `scripts/test.sh` installs it).
fn axe_source() -> String {
    let path = std::env::var_os("PARAPHEUR_AXE_JS").map_or_else(
        || {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/axe-core/node_modules/axe-core/axe.min.js")
        },
        std::path::PathBuf::from,
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core at {} ({e}): run scripts/test.sh, or npm install --prefix target/axe-core axe-core",
            path.display()
        )
    })
}

/// Runs axe-core on the current page: no serious or critical violation (RGAA).
async fn audit(c: &Client, axe: &str, what: &str) {
    c.execute(axe, vec![]).await.unwrap();
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document).then(r => done(r.violations
               .filter(v => v.impact === 'serious' || v.impact === 'critical')
               .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' — '
                    + v.nodes.map(n => n.target.join(' ')).join(', '))),
               e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .unwrap();
    let url = c.current_url().await.unwrap();
    assert_eq!(found, json!([]), "{what} ({url})");
}

fn screenshots_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("PARAPHEUR_SCREENSHOTS")
        .map(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots"))
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{name}");
    if let Some(dir) = screenshots_dir() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

#[path = "chromium/work.rs"]
mod work;

#[test]
fn the_portal_in_headless_chromium() {
    let app = TestApp::start_process(BIN, "", PROVISION, &[]);
    let base = app.base.clone();
    let rest = app.as_user("depot@a.fr");
    let tmp = tempfile::tempdir().unwrap();
    let deliberation = tmp.path().join("deliberation-budget.pdf");
    std::fs::write(&deliberation, pdf::sample("Budget primitif 2027", 3, 0)).unwrap();
    let annexe = tmp.path().join("annexe-tableaux.pdf");
    std::fs::write(&annexe, pdf::small("Annexe")).unwrap();
    // Documents for the rejection and the batch, deposited through REST.
    let to_reject = rest
        .upload(
            SIREN_A,
            "VISA-SIGNATURE",
            "arrete-voirie.pdf",
            pdf::small("Arrêté voirie"),
            "Voirie",
        )
        .id();
    let batch: Vec<i64> = (1..=3)
        .map(|i| {
            rest.upload(
                SIREN_A,
                "S",
                &format!("convention-{i}.pdf"),
                pdf::small(&format!("Convention {i}")),
                "Conventions",
            )
            .id()
        })
        .collect();
    let driver = chromedriver();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let axe = &axe_source();

    // The depositor: a wrong password first, then the deposit form.
    let deposited = rt.block_on(async {
        let c = browser(&driver, 1280, 900).await;
        login(&c, &base, "depot@a.fr", "not-the-password").await;
        wait_text(&c, "Adresse e-mail ou mot de passe incorrect.").await;
        audit(&c, axe, "the login page").await;
        login(&c, &base, "depot@a.fr", "password-depot").await;
        wait_text(&c, "Tableau de bord").await;
        audit(&c, axe, "the depositor's dashboard").await;
        click_link(&c, "Déposer un document").await;
        wait_text(&c, "Circuit à la demande").await;
        audit(&c, axe, "the deposit form").await;
        c.find(Locator::Id("circuit"))
            .await
            .unwrap()
            .select_by_value(&format!("{SIREN_A}/VISA-SIGNATURE"))
            .await
            .unwrap();
        c.find(Locator::Id("label"))
            .await
            .unwrap()
            .send_keys("Budget 2027")
            .await
            .unwrap();
        c.find(Locator::Id("doc"))
            .await
            .unwrap()
            .send_keys(deliberation.to_str().unwrap())
            .await
            .unwrap();
        c.find(Locator::Id("annexes"))
            .await
            .unwrap()
            .send_keys(annexe.to_str().unwrap())
            .await
            .unwrap();
        press(&c, "Déposer").await;
        let t = wait_text(&c, "Action enregistrée.").await;
        assert!(t.contains("annexe-tableaux.pdf"), "{t}");
        audit(&c, axe, "the document page of its depositor").await;
        click_link(&c, "Accessibilité : partiellement conforme").await;
        wait_text(&c, "Déclaration d'accessibilité").await;
        audit(&c, axe, "the accessibility statement").await;
        c.back().await.unwrap();
        wait_text(&c, "annexe-tableaux.pdf").await;
        let id = current_doc(&c).await;
        // A POST without the form's token, with the session cookie: refused.
        post_without_token(&c, &format!("/parapheur/documents/{id}/action")).await;
        wait_text(&c, "Formulaire expiré").await;
        c.close().await.unwrap();
        id
    });
    assert_eq!(
        rest.states(deposited),
        ["Préparé", "Envoyé pour visa"],
        "the CSRF-less POST changed nothing"
    );

    // The first user approves; the second rejection needs a reason.
    rt.block_on(async {
        let c = browser(&driver, 1280, 900).await;
        login(&c, &base, "v1@a.fr", "password-v1").await;
        let t = wait_text(&c, "deliberation-budget.pdf").await;
        assert!(t.contains("À viser"), "{t}");
        assert!(t.contains("Viser la sélection"), "{t}");
        audit(&c, axe, "the dashboard on À viser").await;
        click_link(&c, "deliberation-budget.pdf").await;
        assert_eq!(current_doc(&c).await, deposited);
        wait_text(&c, "(étape en cours)").await;
        audit(&c, axe, "the document page at a visa step").await;
        press(&c, "Viser").await;
        // On to the next document of "À viser".
        wait_text(&c, "Voici le document suivant").await;
        assert_eq!(current_doc(&c).await, to_reject);

        c.goto(&format!(
            "{base}/parapheur/showDoc.action?documentid={to_reject}"
        ))
        .await
        .unwrap();
        assert_eq!(current_doc(&c).await, to_reject);
        press(&c, "Rejeter").await;
        wait_text(&c, "Un motif est obligatoire.").await;
        c.find(Locator::Id("comment"))
            .await
            .unwrap()
            .send_keys("Le plan de circulation manque.")
            .await
            .unwrap();
        press(&c, "Rejeter").await;
        let t = wait_text(&c, "Visa désapprouvé").await;
        assert!(t.contains("Le plan de circulation manque."), "{t}");
        audit(&c, axe, "the document page with an error").await;
        logout(&c).await;
        c.close().await.unwrap();
    });
    assert_eq!(rest.states(to_reject).last().unwrap(), "Visa désapprouvé");

    // The signer: dashboard and document page (the screenshots), signature, download, batch.
    let downloads = tempfile::tempdir().unwrap();
    let mut signed_download = Vec::new();
    rt.block_on(async {
        let c = browser_downloading(&driver, downloads.path()).await;
        login(&c, &base, "s1@a.fr", "password-s1").await;
        // The dashboard opens on "À signer", the signer's only non-empty task bannette.
        let t = wait_text(&c, "convention-2.pdf").await;
        assert!(t.contains("deliberation-budget.pdf"), "{t}");
        audit(&c, axe, "the dashboard on À signer").await;
        screenshot(&c, "tableau-de-bord-bureau").await;
        c.set_window_size(820, 1180).await.unwrap();
        screenshot(&c, "tableau-de-bord-tablette").await;
        c.set_window_size(1280, 900).await.unwrap();
        click_link(&c, "deliberation-budget.pdf").await;
        wait_text(&c, "(étape en cours)").await;
        // Let the page images of the preview load before the pictures.
        wait_js(&c, IMAGES_LOADED, "the preview images").await;
        assert_eq!(
            c.execute(PAGES_SIZED, vec![]).await.ok(),
            Some(json!(true)),
            "the preview's images reserve their drawn size"
        );
        audit(&c, axe, "the document page at a signature step").await;
        screenshot(&c, "document-bureau").await;
        c.set_window_size(820, 1180).await.unwrap();
        wait_js(&c, "return window.innerWidth <= 820", "the narrow layout").await;
        wait_js(&c, IMAGES_LOADED, "the preview images").await;
        screenshot(&c, "document-tablette").await;
        c.set_window_size(1280, 900).await.unwrap();
        // Keyboard users see where they are: the focused control is outlined.
        let outline = c
            .execute(
                "const b = document.querySelector('form button[value=sign]'); b.focus();
                 return getComputedStyle(b).outlineStyle;",
                vec![],
            )
            .await
            .unwrap();
        assert_ne!(outline, json!("none"));
        press(&c, "Signer").await;
        // The next document of "À signer" opens; back to the signed one.
        wait_text(&c, "Voici le document suivant").await;
        assert_ne!(current_doc(&c).await, deposited);
        c.goto(&format!("{base}/parapheur/documents/{deposited}"))
            .await
            .unwrap();
        let t = wait_text(&c, "Terminé").await;
        assert!(t.contains("Classé"), "{t}");
        click_link(&c, "Télécharger le document").await;
        signed_download = downloaded(downloads.path(), "deliberation-budget.pdf").await;
        click_link(&c, "Fiche de circulation").await;
        let fiche = downloaded(
            downloads.path(),
            &format!("fiche-de-circulation-{deposited}.pdf"),
        )
        .await;
        assert!(fiche.starts_with(b"%PDF-"));

        // Batch: the three conventions selected in "À signer", signed in one action.
        c.goto(&format!("{base}/parapheur/?bannette=a-signer"))
            .await
            .unwrap();
        for id in &batch {
            c.find(Locator::Id(&format!("sel-{id}")))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        }
        press(&c, "Signer la sélection").await;
        wait_text(&c, "3 document(s) signé(s) sur 3").await;
        audit(&c, axe, "the batch page").await;
        c.goto(&format!("{base}/parapheur/")).await.unwrap();
        wait_text(&c, "Tableau de bord").await;
        click_link(&c, "Mon absence").await;
        wait_text(&c, "Mon absence").await;
        audit(&c, axe, "the absence page").await;
        logout(&c).await;
        audit(&c, axe, "the login page after logout").await;

        // An administrator's pages, the statistics among them.
        login(&c, &base, "admin@a.fr", "password-admin").await;
        wait_text(&c, "Tableau de bord").await;
        click_link(&c, "Administration").await;
        wait_text(&c, "Utilisateurs").await;
        for tab in [
            "Utilisateurs",
            "Groupes",
            "Circuits",
            "Documents",
            "Statistiques",
        ] {
            click_link(&c, tab).await;
            wait_js(
                &c,
                &format!(
                    "return document.querySelector('[aria-current=page]')?.textContent === '{tab}'"
                ),
                tab,
            )
            .await;
            audit(&c, axe, tab).await;
        }
        let t = wait_text(&c, "Documents déposés par circuit et par mois").await;
        assert!(t.contains("Délai médian"), "{t}");
        c.close().await.unwrap();
    });
    let file = rest.get(&format!(
        "/parapheur-ws/rest/v1/documents/v2/{deposited}/download"
    ));
    assert!(file.body.windows(10).any(|w| w == b"/ByteRange"));
    assert_eq!(signed_download, file.body, "the browser got the signed PDF");
    assert_eq!(rest.states(deposited).last().unwrap(), "Classé");
    for id in batch {
        assert_eq!(rest.states(id).last().unwrap(), "Classé", "{id}");
    }
}

/// Presses `key` on whatever has the focus (a keyboard action, as a person's key press).
async fn key(c: &Client, key: fantoccini::key::Key) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let k: char = key.into();
    let press = KeyActions::new("clavier".into())
        .then(KeyAction::Down { value: k })
        .then(KeyAction::Up { value: k });
    c.perform_actions(press).await.unwrap();
}

/// Types `text` into the focused control.
async fn type_text(c: &Client, text: &str) {
    c.active_element()
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// Presses Tab until the focused element matches `test` (a JavaScript expression on `e`).
async fn tab_to(c: &Client, test: &str) {
    let script = format!("const e = document.activeElement; return !!(e && ({test}));");
    for _ in 0..120 {
        key(c, fantoccini::key::Key::Tab).await;
        if c.execute(&script, vec![]).await.unwrap() == json!(true) {
            return;
        }
    }
    panic!("Tab never reached {test}");
}

#[test]
fn deposit_sign_and_download_with_the_keyboard_only() {
    use fantoccini::key::Key;
    let app = TestApp::start_process(BIN, "", PROVISION, &[]);
    let base = app.base.clone();
    let rest = app.as_user("depot@a.fr");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("arrete-clavier.pdf");
    std::fs::write(&file, pdf::small("Arrêté au clavier")).unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let driver = chromedriver();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let by_id = |id: &str| format!("e.id === '{id}'");
    let link = |text: &str| format!("e.tagName === 'A' && e.textContent.trim() === '{text}'");
    let button =
        |text: &str| format!("e.tagName === 'BUTTON' && e.textContent.trim() === '{text}'");
    rt.block_on(async {
        let c = browser_downloading(&driver, downloads.path()).await;
        c.goto(&format!("{base}/")).await.unwrap();
        wait_text(&c, "Connexion").await;
        // The depositor signs in, opens the deposit form and deposits into the signature circuit.
        tab_to(&c, &by_id("email")).await;
        type_text(&c, "depot@a.fr").await;
        tab_to(&c, &by_id("password")).await;
        type_text(&c, "password-depot").await;
        key(&c, Key::Enter).await;
        wait_text(&c, "Tableau de bord").await;
        tab_to(&c, &link("Déposer un document")).await;
        key(&c, Key::Enter).await;
        wait_text(&c, "Circuit à la demande").await;
        tab_to(&c, &by_id("circuit")).await;
        // A focused select changes with the arrow keys until the circuit "S" is chosen.
        for _ in 0..40 {
            let v = c
                .execute("return document.activeElement.value", vec![])
                .await
                .unwrap();
            if v == json!(format!("{SIREN_A}/S")) {
                break;
            }
            key(&c, Key::Down).await;
        }
        let v = c
            .execute("return document.activeElement.value", vec![])
            .await
            .unwrap();
        assert_eq!(v, json!(format!("{SIREN_A}/S")));
        tab_to(&c, &by_id("doc")).await;
        // The file chooser is the system's: WebDriver gives the path to the focused input.
        type_text(&c, file.to_str().unwrap()).await;
        tab_to(&c, &button("Déposer")).await;
        key(&c, Key::Enter).await;
        wait_text(&c, "Action enregistrée.").await;
        tab_to(&c, &button("Se déconnecter")).await;
        key(&c, Key::Enter).await;
        wait_text(&c, "Connexion").await;

        // The signer: the dashboard opens on "À signer"; the document, Signer, the download.
        tab_to(&c, &by_id("email")).await;
        type_text(&c, "s1@a.fr").await;
        tab_to(&c, &by_id("password")).await;
        type_text(&c, "password-s1").await;
        key(&c, Key::Enter).await;
        wait_text(&c, "arrete-clavier.pdf").await;
        tab_to(&c, &link("arrete-clavier.pdf")).await;
        key(&c, Key::Enter).await;
        wait_text(&c, "(étape en cours)").await;
        tab_to(&c, &button("Signer")).await;
        key(&c, Key::Enter).await;
        let t = wait_text(&c, "Action enregistrée.").await;
        assert!(t.contains("Aucun autre document"), "{t}");
        tab_to(&c, &link("Télécharger le document")).await;
        key(&c, Key::Enter).await;
        let signed = downloaded(downloads.path(), "arrete-clavier.pdf").await;
        assert!(signed.windows(10).any(|w| w == b"/ByteRange"));
        c.close().await.unwrap();
    });
    let id: i64 = app
        .query("SELECT id FROM documents WHERE filename = 'arrete-clavier.pdf'")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(rest.states(id).last().unwrap(), "Classé");
}
