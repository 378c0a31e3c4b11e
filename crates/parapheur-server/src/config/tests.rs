//! Unit tests of the configuration: loading, the environment, transports, secrets.

use super::*;

#[test]
fn example_parses_and_unknown_keys_fail() {
    let dir = std::env::temp_dir().join(format!("cfg-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let ok = dir.join("ok.toml");
    let _ = std::fs::write(&ok, EXAMPLE);
    let c = Config::load(Some(&ok)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.fast.error_status, 200);
    assert_eq!(c.database_url, "sqlite://data/parapheur.db");
    let bad = dir.join("bad.toml");
    let _ = std::fs::write(&bad, "[fast]\nerror_statuz = 400\n");
    let e = Config::load(Some(&bad))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.toml") && e.contains("error_statuz"), "{e}");
}

#[test]
#[expect(
    clippy::result_large_err,
    reason = "figment's Jail API returns its own error type"
)]
fn environment_overrides_nested_keys() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("PARAPHEUR_FAST__ERROR_STATUS", "400");
        jail.set_env("PARAPHEUR_LISTEN", "127.0.0.1:9999");
        jail.set_env("PARAPHEUR_TEST_DATABASE_URL", "postgres://ignored");
        let c = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(c.fast.error_status, 400);
        assert_eq!(c.listen, "127.0.0.1:9999");
        Ok(())
    });
}

/// Loads `toml` from a file, inside a figment `Jail`: the tests that set `PARAPHEUR_*`
/// variables run in one too, so they never run at the same time as this.
#[expect(
    clippy::result_large_err,
    reason = "figment's Jail API returns its own error type"
)]
fn load(toml: &str) -> Result<Config, ConfigError> {
    let mut out = None;
    figment::Jail::expect_with(|jail| {
        jail.create_file("p.toml", toml)?;
        out = Some(Config::load(Some(&jail.directory().join("p.toml"))));
        Ok(())
    });
    out.unwrap_or_else(|| panic!("the jail did not run"))
}

fn ok(toml: &str) -> Config {
    load(toml).unwrap_or_else(|e| panic!("{e}"))
}

/// The key a bad configuration is refused for.
fn bad_key(toml: &str) -> String {
    match load(toml) {
        Err(ConfigError::Key { error, .. }) => error.key,
        other => panic!("expected a key error, got {other:?}"),
    }
}

fn expose(s: &SecretString) -> &str {
    secrecy::ExposeSecret::expose_secret(s)
}

#[test]
fn defaults_derive_paths_from_the_data_directory() {
    let c = ok("data_dir = \"d\"\n");
    assert_eq!(c.database_url, "sqlite://d/parapheur.db");
    assert_eq!(c.blobs, StorageUrl::Directory("d/blobs".into()));
    assert_eq!(c.public_url, "http://127.0.0.1:8080");
    assert!(
        matches!(&c.mail.transport, MailTransport::Outbox { dir } if dir == Path::new("d/outbox/mail"))
    );
    assert!(
        matches!(&c.sms, SmsProvider::Outbox { file } if file == Path::new("d/outbox/sms.jsonl"))
    );
    assert!(matches!(
        c.helios.transmitter,
        HeliosTransmitter::Simulator {
            ack_delay_ms: 1000,
            fail_percent: 0
        }
    ));
    assert_eq!(c.archive.vault, StorageUrl::Directory("d/vault".into()));
    assert_eq!(c.archive.format, ArchiveFormat::Manifest);
    assert_eq!(
        c.deliver,
        DeliverConnector::Outbox {
            dir: "d/outbox/deliveries".into()
        }
    );
    assert_eq!(c.provision, None);
}

#[test]
fn each_transport_parses_into_its_variant() {
    let c = ok(
        "blob_url = \"s3://b/p\"\n[mail]\ntransport = \"smtp\"\nsmtp_url = \"smtps://mx:465\"\n\
         smtp_user = \"u\"\nsmtp_password = \"pw\"\n[sms]\nprovider = \"webhook\"\n\
         webhook_url = \"https://sms.example/send\"\n[helios]\ntransmitter = \"s2low\"\n\
         s2low_url = \"https://s2low.example\"\ns2low_login = \"l\"\ns2low_password = \"p2\"\n\
         [archive]\nvault_url = \"s3://vault\"\nformat = \"seda\"\n",
    );
    assert_eq!(c.blobs, StorageUrl::S3("s3://b/p".into()));
    let MailTransport::Smtp(smtp) = &c.mail.transport else {
        panic!("{:?}", c.mail.transport)
    };
    assert_eq!(expose(&smtp.url), "smtps://mx:465");
    let (user, password) = smtp
        .credentials
        .as_ref()
        .unwrap_or_else(|| panic!("no credentials"));
    assert_eq!((user.as_str(), expose(password)), ("u", "pw"));
    let SmsProvider::Webhook { url } = &c.sms else {
        panic!("{:?}", c.sms)
    };
    assert_eq!(expose(url), "https://sms.example/send");
    let HeliosTransmitter::S2low(s) = &c.helios.transmitter else {
        panic!("{:?}", c.helios.transmitter)
    };
    assert_eq!(s.url, "https://s2low.example");
    assert_eq!(
        (s.cert.clone(), s.key.clone(), s.ca.clone()),
        (None, None, None)
    );
    let login = s.login.as_ref().unwrap_or_else(|| panic!("no login"));
    assert_eq!((login.user.as_str(), expose(&login.password)), ("l", "p2"));
    assert_eq!(c.archive.vault, StorageUrl::S3("s3://vault".into()));
    assert_eq!(c.archive.format, ArchiveFormat::Seda);

    let c = ok("[sms]\nprovider = \"ovh\"\novh_application_key = \"AK\"\n\
         ovh_application_secret = \"AS\"\novh_consumer_key = \"CK\"\novh_service_name = \"sms-1\"\n");
    let SmsProvider::Ovh(o) = &c.sms else {
        panic!("{:?}", c.sms)
    };
    assert_eq!(
        [
            expose(&o.application_key),
            expose(&o.application_secret),
            expose(&o.consumer_key)
        ],
        ["AK", "AS", "CK"]
    );
    assert_eq!(
        (o.service_name.as_str(), o.sender.as_deref()),
        ("sms-1", None)
    );
    assert_eq!(o.endpoint, "https://eu.api.ovh.com/1.0");
}

#[test]
fn bad_values_name_their_key() {
    for (toml, key) in [
        ("listen = \"nowhere\"\n", "listen"),
        ("blob_url = \"ftp://x\"\n", "blob_url"),
        ("[mail]\ntransport = \"pigeon\"\n", "mail.transport"),
        (
            "[mail]\ntransport = \"smtp\"\nsmtp_url = \"http://x\"\n",
            "mail.smtp_url",
        ),
        (
            "[mail]\ntransport = \"smtp\"\nsmtp_user = \"u\"\n",
            "mail.smtp_password",
        ),
        ("[mail]\nfrom = \"not an address\"\n", "mail.from"),
        ("[sms]\nprovider = \"carrier-pigeon\"\n", "sms.provider"),
        ("[sms]\nprovider = \"webhook\"\n", "sms.webhook_url"),
        (
            "[sms]\nprovider = \"ovh\"\novh_application_key = \"a\"\novh_application_secret = \"b\"\n",
            "sms.ovh_consumer_key",
        ),
        ("[helios]\ntransmitter = \"fax\"\n", "helios.transmitter"),
        (
            "[helios]\nsimulator_fail_percent = 101\n",
            "helios.simulator_fail_percent",
        ),
        ("[helios]\ntransmitter = \"s2low\"\n", "helios.s2low_url"),
        ("[archive]\nformat = \"zip\"\n", "archive.format"),
        ("[archive]\nvault_url = \"s3://\"\n", "archive.vault_url"),
        (
            "[deliver]\nconnector = \"digiposte\"\n",
            "deliver.connector",
        ),
        ("[fast]\nerror_status = 42\n", "fast.error_status"),
        (
            "[tls]\ntrusted_proxies = [\"proxy\"]\n",
            "tls.trusted_proxies",
        ),
        (
            "[[signing.hsm_seals]]\nsiren = \"12\"\n",
            "signing.hsm_seals[0].siren",
        ),
        (
            "[[signing.hsm_users]]\nemail = \"x\"\n",
            "signing.hsm_users[0].email",
        ),
    ] {
        assert_eq!(bad_key(toml), key, "{toml}");
    }
    let e = load("[mail]\ntransport = \"pigeon\"\n")
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("p.toml: key `mail.transport`: \"pigeon\" is not"),
        "{e}"
    );
}

#[test]
fn secrets_are_read_from_their_file_sibling() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let f = dir.path().join("pw");
    std::fs::write(&f, "  from-a-file\n").unwrap_or_else(|e| panic!("{e}"));
    let f = f.display();
    let c = ok(&format!(
        "database_url_file = \"{f}\"\n[mail]\ntransport = \"smtp\"\nsmtp_user = \"u\"\n\
         smtp_password_file = \"{f}\"\n[[signing.hsm_users]]\nemail = \"a@b.fr\"\npin_file = \"{f}\"\n"
    ));
    assert_eq!(c.database_url, "from-a-file");
    let MailTransport::Smtp(smtp) = &c.mail.transport else {
        panic!()
    };
    assert_eq!(
        smtp.credentials.as_ref().map(|(_, p)| expose(p)),
        Some("from-a-file")
    );
    assert_eq!(expose(&c.signing.hsm_users[0].key.pin), "from-a-file");
    assert_eq!(
        bad_key(&format!(
            "[helios]\ntransmitter = \"s2low\"\ns2low_url = \"https://s\"\ns2low_password = \"x\"\n\
             s2low_password_file = \"{f}\"\n"
        )),
        "helios.s2low_password_file"
    );
    assert_eq!(
        bad_key("[mail]\ntransport = \"smtp\"\nsmtp_url_file = \"/nonexistent/secret\"\n"),
        "mail.smtp_url_file"
    );
}

#[test]
#[expect(
    clippy::result_large_err,
    reason = "figment's Jail API returns its own error type"
)]
fn debug_output_never_shows_a_secret() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let f = dir.path().join("k");
    std::fs::write(&f, "SECRET-file").unwrap_or_else(|e| panic!("{e}"));
    let toml = format!(
        "database_url = \"postgres://u:SECRET-db@h/db\"\n[mail]\ntransport = \"smtp\"\n\
         smtp_url = \"smtp://u:SECRET-url@mx\"\nsmtp_user = \"u\"\nsmtp_password = \"SECRET-smtp\"\n\
         [sms]\nprovider = \"ovh\"\novh_application_key = \"SECRET-ak\"\n\
         ovh_application_secret = \"SECRET-as\"\novh_consumer_key_file = \"{}\"\n\
         ovh_service_name = \"s\"\n[helios]\ntransmitter = \"s2low\"\ns2low_url = \"https://s\"\n\
         s2low_login = \"l\"\ns2low_password = \"SECRET-s2low\"\n[[signing.hsm_seals]]\n\
         siren = \"123456782\"\npin = \"SECRET-pin\"\n",
        f.display()
    );
    let c = ok(&toml);
    let shown = format!("{c:?} {:#?}", c);
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(shown.contains("postgres://[REDACTED]"), "{shown}");
    let mut raw = None;
    figment::Jail::expect_with(|jail| {
        jail.create_file("c.toml", &toml)?;
        let file = jail.directory().join("c.toml");
        raw = Some(ConfigFile::load(Some(&file)).map_err(|e| e.to_string())?);
        Ok(())
    });
    assert!(!format!("{raw:?}").contains("SECRET"));
}

#[test]
#[expect(
    clippy::result_large_err,
    reason = "figment's Jail API returns its own error type"
)]
fn secret_files_may_be_named_by_environment_variables() {
    figment::Jail::expect_with(|jail| {
        // The default's value: a test loading at the same time outside a jail sees no change.
        jail.create_file("db", "sqlite://data/parapheur.db\n")?;
        let db = jail.directory().join("db");
        jail.set_env("PARAPHEUR_DATABASE_URL_FILE", db.display());
        let raw = ConfigFile::load(None).map_err(|e| e.to_string())?;
        assert_eq!(raw.database_url_file.as_deref(), Some(db.as_path()));
        let c = raw.parse().map_err(|e| e.to_string())?;
        assert_eq!(c.database_url, "sqlite://data/parapheur.db");
        Ok(())
    });
}

/// The whole message a bad configuration is refused with.
fn refusal(toml: &str) -> String {
    match load(toml) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("accepted: {toml}"),
    }
}

#[test]
fn the_signature_level_follows_the_timestamp_authority_and_says_what_is_missing() {
    assert_eq!(ok("").signing.level, SignatureLevel::BB);
    let c = ok("[signing]\ntsa_url = \"internal\"\n");
    assert_eq!(
        (c.signing.level, c.signing.tsa_url.as_str()),
        (SignatureLevel::BT, "internal")
    );
    let c = ok("[signing]\ntsa_url = \"https://tsa.example\"\nlevel = \"B-B\"\n");
    assert_eq!(
        c.signing.level,
        SignatureLevel::BB,
        "B-B asked: no timestamps"
    );
    let e = refusal("[signing]\nlevel = \"B-T\"\n");
    assert!(e.contains("signing.tsa_url") && e.contains("B-T"), "{e}");
    let c = ok("[signing]\ntsa_url = \"internal\"\nlevel = \"B-LTA\"\n");
    assert_eq!(c.signing.level, SignatureLevel::BLTA);
    let e = refusal("[signing]\nlevel = \"B-LT\"\n");
    assert!(e.contains("signing.tsa_url"), "{e}");
    let e = refusal("[signing]\nlevel = \"AdES\"\n");
    assert!(e.contains("signing.level") && e.contains("AdES"), "{e}");
    let e = refusal("[signing]\ntsa_url = \"tsa.example\"\n");
    assert!(e.contains("signing.tsa_url"), "{e}");
}

#[test]
fn every_top_level_key_of_the_example_can_come_from_the_environment() {
    let table: toml::Table = toml::from_str(EXAMPLE).unwrap_or_default();
    assert!(table.len() > 20, "{table:?}");
    for key in table.keys() {
        assert!(
            super::file::TOP_KEYS.contains(&key.as_str()),
            "{key} is not overridable by PARAPHEUR_{}",
            key.to_uppercase()
        );
    }
}
