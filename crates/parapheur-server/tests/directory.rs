//! LDAP synchronisation (issue 21, CONTRACT §13) against Debian's `slapd`, run by the test with
//! its own configuration: users added, changed and removed in the directory are added, changed
//! and removed in the subscriber, through the job queue, on the configured interval.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::wait_for;
use parapheur_test_utils::{SIREN_B, TestApp};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const SUFFIX: &str = "dc=commune-b,dc=fr";
const ADMIN: &str = "cn=admin,dc=commune-b,dc=fr";
const PASSWORD: &str = "secret-annuaire";

/// slapd on a free local port, with an mdb database under `dir`.
struct Slapd {
    child: Child,
    url: String,
}

impl Slapd {
    fn start(dir: &Path) -> Self {
        let slapd = ["/usr/sbin/slapd", "/usr/bin/slapd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("slapd is required by this test (apt install slapd ldap-utils; scripts/test.sh does)");
        std::fs::create_dir_all(dir.join("db")).unwrap();
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             modulepath /usr/lib/ldap\nmoduleload back_mdb\n\
             pidfile {dir}/slapd.pid\n\
             database mdb\nmaxsize 10485760\nsuffix \"{SUFFIX}\"\nrootdn \"{ADMIN}\"\n\
             rootpw {PASSWORD}\ndirectory {dir}/db\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("slapd.conf"), conf).unwrap();
        let port = parapheur_test_utils::wait::free_port();
        let url = format!("ldap://127.0.0.1:{port}");
        let child = Command::new(slapd)
            .arg("-f")
            .arg(dir.join("slapd.conf"))
            .args(["-h", &format!("{url}/"), "-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        parapheur_test_utils::wait::wait_for_port(port, "slapd");
        Self { child, url }
    }

    /// Runs `ldapadd`/`ldapmodify`/`ldapdelete` (`tool`) with `input` as LDIF.
    fn run(&self, tool: &str, args: &[&str], input: &str) {
        use std::io::Write;
        let mut c = Command::new(tool)
            .args(["-x", "-H", &self.url, "-D", ADMIN, "-w", PASSWORD])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{tool}: {e} (apt install ldap-utils)"));
        c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn person(uid: &str, given: &str, sn: &str, mail: &str) -> String {
    format!(
        "dn: uid={uid},ou=agents,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\n\
         cn: {given} {sn}\ngivenName: {given}\nsn: {sn}\nmail: {mail}\n\n"
    )
}

/// The subscriber's members: `email|first name|last name`, sorted.
fn members(app: &TestApp) -> Vec<String> {
    let mut v: Vec<String> = app
        .query(&format!(
            "SELECT u.email || '|' || u.first_name || '|' || u.last_name FROM users u \
             JOIN memberships m ON m.user_id = u.id WHERE m.siren = '{SIREN_B}'"
        ))
        .lines()
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

#[test]
fn a_directory_is_synchronised_into_its_subscriber_on_its_interval() {
    let dir = tempfile::tempdir().unwrap();
    let slapd = Slapd::start(&dir.path().join("slapd"));
    slapd.run(
        "ldapadd",
        &[],
        &format!(
            "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: commune-b\no: Commune B\n\n\
             dn: ou=agents,{SUFFIX}\nobjectClass: organizationalUnit\nou: agents\n\n{}{}{}",
            person("depot", "Denis", "Dépôt", "depot@b.fr"),
            person("v", "Valérie", "Viseuse", "v@b.fr"),
            person("nouveau", "Noé", "Nouveau", "nouveau@b.fr"),
        ),
    );
    let app = TestApp::start_process(
        BIN,
        &format!(
            "[jobs]\npoll_ms = 50\n[[ldap]]\nurl = \"{}\"\nbind_dn = \"{ADMIN}\"\n\
             bind_password = \"{PASSWORD}\"\nbase_dn = \"ou=agents,{SUFFIX}\"\n\
             user_filter = \"(objectClass=inetOrgPerson)\"\nsiren = \"{SIREN_B}\"\ninterval_s = 1\n",
            slapd.url
        ),
        "",
        &[],
    );
    // Added: the new agent is a member, with the directory's names.
    wait_for(Duration::from_secs(20), "the first synchronisation", || {
        members(&app)
            .iter()
            .any(|m| m == "nouveau@b.fr|Noé|Nouveau")
            .then_some(())
    });
    let m = members(&app);
    assert!(
        m.iter().any(|m| m.starts_with("depot@b.fr|Denis|Dépôt")),
        "{m:?}"
    );

    // Changed and removed in the directory: so in the subscriber, at the next interval.
    slapd.run(
        "ldapmodify",
        &[],
        &format!(
            "dn: uid=nouveau,ou=agents,{SUFFIX}\nchangetype: modify\nreplace: sn\nsn: Renommé\n\n"
        ),
    );
    slapd.run("ldapdelete", &[&format!("uid=v,ou=agents,{SUFFIX}")], "");
    wait_for(Duration::from_secs(20), "the next synchronisation", || {
        let m = members(&app);
        (m.iter().any(|m| m == "nouveau@b.fr|Noé|Renommé")
            && !m.iter().any(|m| m.starts_with("v@b.fr|")))
        .then_some(())
    });
    // One row in the queue for the directory, rescheduled (not one per run).
    let rows = app.query("SELECT COUNT(*) FROM jobs WHERE kind = 'ldap_sync'");
    assert_eq!(rows, "1");
}
