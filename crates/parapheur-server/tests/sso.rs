//! OpenID Connect sign-in for the portal (issue 21, CONTRACT §13) against a real provider: the
//! certified `oidc-provider` (npm, installed under `target/` by scripts/test.sh), with its
//! development login and consent pages, code flow with PKCE. A known user signs in; an unknown
//! one is refused (never created); a replayed callback is refused; the provider's keys change
//! (a new process) and sign-in still works; logout ends the portal session.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::TestApp;
use parapheur_test_utils::browser::{Browser, Page};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");

fn provider_module() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/oidc-provider/node_modules/oidc-provider/lib/index.js")
}

const PROVIDER: &str = r#"
const [module, port, redirect] = process.argv.slice(2);
const { default: Provider } = await import(module);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'parapheur',
    client_secret: 'secret-oidc-de-test',
    redirect_uris: [redirect],
    response_types: ['code'],
    grant_types: ['authorization_code'],
  }],
  async findAccount(ctx, sub) {
    return { accountId: sub, async claims() { return { sub, email: sub, email_verified: true }; } };
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: [] },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ['une-cle-de-cookies-de-test'] },
});
provider.listen(port, '127.0.0.1', () => console.log('ready'));
"#;

/// oidc-provider on `port`, sending users back to `redirect`.
struct OpenIdProvider {
    child: Child,
}

impl OpenIdProvider {
    fn start(dir: &Path, port: u16, redirect: &str) -> Self {
        let module = provider_module();
        assert!(
            module.exists(),
            "oidc-provider is required by this test: scripts/test.sh installs it with npm into target/oidc-provider"
        );
        let script = dir.join("provider.mjs");
        std::fs::write(&script, PROVIDER).unwrap();
        let child = Command::new("node")
            .arg(&script)
            .arg(format!("file://{}", module.display()))
            .arg(port.to_string())
            .arg(redirect)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node (apt install nodejs)");
        parapheur_test_utils::wait::wait_for_port(port, "oidc-provider");
        Self { child }
    }
}

impl Drop for OpenIdProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The hidden fields and the action of the page's first form.
fn form_of(page: &Page) -> (String, Vec<(String, String)>) {
    let body = &page.body;
    let form = body
        .find("<form")
        .unwrap_or_else(|| panic!("no form in {body}"));
    let action_at = body[form..].find("action=\"").unwrap() + form + 8;
    let action = body[action_at..action_at + body[action_at..].find('"').unwrap()].to_owned();
    let end = body[form..]
        .find("</form>")
        .map_or(body.len(), |e| e + form);
    let mut fields = Vec::new();
    for (at, _) in body[form..end].match_indices("<input") {
        let tag_end = body[form + at..].find('>').unwrap() + form + at;
        let tag = &body[form + at..tag_end];
        let attr = |name: &str| {
            let key = format!("{name}=\"");
            tag.find(&key).map(|i| {
                let v = &tag[i + key.len()..];
                v[..v.find('"').unwrap()].to_owned()
            })
        };
        if attr("type").as_deref() == Some("hidden")
            && let (Some(n), Some(v)) = (attr("name"), attr("value"))
        {
            fields.push((n, v));
        }
    }
    (action, fields)
}

/// The origin (`http://host:port`) of `url`.
fn origin(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or_default();
    format!("http://{host}")
}

/// Signs in through the provider as `login` (its development login page takes any name, and
/// asks for consent once): the portal's answer to the callback, and the callback's URL.
fn sign_in(b: &Browser, provider: &str, login: &str) -> (Page, String) {
    let mut at = format!("{}/parapheur/oidc/login?next=/parapheur/", b.base);
    let mut page = b.get(&at);
    for _ in 0..12 {
        if at.contains("/parapheur/oidc/callback") {
            return (page, at);
        }
        match page.location.clone() {
            Some(loc) if page.status / 100 == 3 => {
                at = if loc.starts_with("http") {
                    loc
                } else {
                    format!("{}{loc}", origin(&at))
                };
                page = b.get(&at);
            }
            _ if page.status == 200 && page.body.contains("<form") => {
                let (action, mut fields) = form_of(&page);
                if page.body.contains("name=\"login\"") {
                    fields.push(("login".into(), login.into()));
                    fields.push(("password".into(), "peu-importe".into()));
                }
                at = if action.starts_with("http") {
                    action
                } else {
                    format!("{}{action}", origin(&at))
                };
                let f: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                page = b.post_form(&at, &f);
            }
            _ => panic!("stuck at {at} ({}): {}", page.status, page.body),
        }
    }
    panic!("no callback after 12 steps (last {at}); provider {provider}")
}

#[test]
fn the_portal_signs_in_through_a_real_openid_provider() {
    let dir = tempfile::tempdir().unwrap();
    let port = parapheur_test_utils::wait::free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let app = TestApp::start(
        BIN,
        &format!(
            "[oidc]\nissuer = \"{issuer}\"\nclient_id = \"parapheur\"\n\
             client_secret = \"secret-oidc-de-test\"\n"
        ),
    );
    let redirect = format!("{}/parapheur/oidc/callback", app.base);
    let provider = OpenIdProvider::start(dir.path(), port, &redirect);

    // The login page offers it.
    let b = Browser::new(&app.base);
    let login = b.get("/parapheur/login");
    assert!(
        login
            .body
            .contains("Se connecter avec l'authentification unique"),
        "{}",
        login.body
    );
    // A known user: signed in, on the dashboard.
    let (page, callback) = sign_in(&b, &issuer, "s1@a.fr");
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/parapheur/"));
    let dashboard = b.get("/parapheur/");
    assert_eq!(dashboard.status, 200, "{}", dashboard.body);
    assert!(dashboard.body.contains("Sophie"), "{}", dashboard.body);
    // Logout ends the portal session.
    let csrf = dashboard.csrf();
    let out = b.post_form("/parapheur/logout", &[("csrf", &csrf)]);
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(b.get("/parapheur/").status, 303, "signed out");

    // Someone the provider knows and the parapheur does not: refused, not created.
    let stranger = Browser::new(&app.base);
    let (page, _) = sign_in(&stranger, &issuer, "inconnu@a.fr");
    assert_eq!(page.status, 401, "{}", page.body);
    assert!(
        page.body.contains("Aucun compte du parapheur"),
        "{}",
        page.body
    );
    assert_eq!(
        app.query("SELECT COUNT(*) FROM users WHERE email = 'inconnu@a.fr'"),
        "0"
    );

    // The provider restarts with new signing keys: discovery at each sign-in follows them.
    drop(provider);
    let _provider = OpenIdProvider::start(dir.path(), port, &redirect);
    let again = Browser::new(&app.base);
    let (page, _) = sign_in(&again, &issuer, "v1@a.fr");
    assert_eq!(
        page.location.as_deref(),
        Some("/parapheur/"),
        "{}",
        page.body
    );

    // The first callback played again (its state was used once) is refused, and opens no
    // session.
    let replay = Browser::new(&app.base);
    let r = replay.get(&callback);
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(replay.get("/parapheur/").status, 303);
}

#[test]
fn sign_on_starts_are_throttled_per_client_address() {
    // Each start asks the provider for its configuration and stores a row: past
    // `[limits] sign_ons_per_ip` a minute, the login page answers 429 without doing either.
    let port = parapheur_test_utils::wait::free_port();
    let app = TestApp::start(
        BIN,
        &format!(
            "[oidc]\nissuer = \"http://127.0.0.1:{port}\"\nclient_id = \"parapheur\"\n\
             client_secret = \"secret-oidc-de-test\"\n[limits]\nsign_ons_per_ip = 3\n"
        ),
    );
    let browser = Browser::new(&app.base);
    for _ in 0..3 {
        // No provider listens: the start is refused as unreachable (502), and counted.
        let page = browser.get("/parapheur/oidc/login");
        assert_eq!(page.status, 502, "{}", page.body);
    }
    let page = browser.get("/parapheur/oidc/login");
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.body.contains("Trop de tentatives"), "{}", page.body);
    assert_eq!(
        app.query("SELECT COUNT(*) FROM auth_failures WHERE kind = 'sign-on-ip'"),
        "1"
    );
    // Password sign-in from the same address is not affected.
    assert_ne!(browser.get("/parapheur/login").status, 429);
}
