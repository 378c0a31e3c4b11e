//! The built-in time-stamping authority checked by an independent implementation: OpenSSL's
//! `ts` command makes the request and verifies the reply (token signature, certificate chain to
//! the internal CA, the critical timeStamping usage, imprint and nonce).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_sign::ca::InternalCa;
use parapheur_sign::tsa_authority::Authority;
use parapheur_test_utils::run_tool;

#[test]
fn openssl_verifies_the_internal_authoritys_replies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = InternalCa::open_or_create(&d.join("ca"), "parapheur test CA").unwrap();
    let cred = ca.tsa_credential().unwrap();
    std::fs::write(d.join("ca.pem"), ca.certificate().to_pem().unwrap()).unwrap();
    std::fs::write(d.join("tsa.pem"), cred.certificate().to_pem().unwrap()).unwrap();
    std::fs::write(d.join("data.txt"), "Délibération n° 2026-42").unwrap();
    let tsa = Authority::new(cred);
    // The same credential on the next use: issued once.
    let again = ca.tsa_credential().unwrap();
    assert_eq!(
        again.certificate().to_der().unwrap(),
        tsa.certificate().to_der().unwrap()
    );

    for (query, with_cert) in [("-cert", true), ("-no_nonce", false)] {
        let (ok, out) = run_tool(
            d,
            "openssl",
            &[
                "ts", "-query", "-data", "data.txt", "-sha256", query, "-out", "q.der",
            ],
        );
        assert!(ok, "{out}");
        let reply = tsa
            .respond(&std::fs::read(d.join("q.der")).unwrap(), 1_800_000_000_000)
            .unwrap();
        std::fs::write(d.join("r.der"), &reply).unwrap();
        let (ok, text) = run_tool(d, "openssl", &["ts", "-reply", "-in", "r.der", "-text"]);
        assert!(ok, "{text}");
        assert!(text.contains("Status: Granted."), "{text}");
        assert!(
            text.contains("Policy OID: 1.3.6.1.4.1.32473.3161.1"),
            "{text}"
        );
        assert!(
            text.contains("Time stamp: Jan 15 08:00:00 2027 GMT"),
            "{text}"
        );
        assert!(text.contains("horodatage interne"), "{text}");
        // The chain: the TSA certificate given when the token does not carry it.
        let mut args = vec![
            "ts", "-verify", "-data", "data.txt", "-in", "r.der", "-CAfile", "ca.pem",
        ];
        if !with_cert {
            args.extend(["-untrusted", "tsa.pem"]);
        }
        let (ok, out) = run_tool(d, "openssl", &args);
        assert!(ok && out.contains("Verification: OK"), "{query}: {out}");
        // Other data: refused.
        std::fs::write(d.join("other.txt"), "Délibération n° 2026-43").unwrap();
        let mut args = vec![
            "ts",
            "-verify",
            "-data",
            "other.txt",
            "-in",
            "r.der",
            "-CAfile",
            "ca.pem",
            "-untrusted",
            "tsa.pem",
        ];
        let (ok, out) = run_tool(d, "openssl", &args);
        assert!(!ok, "{out}");
        args.clear();
    }

    // Signed by a credential without the timeStamping usage (a seal): OpenSSL refuses it.
    let seal = ca
        .issue(
            &parapheur_sign::ca::Subject {
                common_name: "Commune".into(),
                email: None,
                organization: None,
                organization_id: None,
            },
            parapheur_sign::ca::KeyKind::Seal,
        )
        .unwrap();
    let impostor = Authority::new(seal);
    let (ok, out) = run_tool(
        d,
        "openssl",
        &[
            "ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "q.der",
        ],
    );
    assert!(ok, "{out}");
    let reply = impostor
        .respond(&std::fs::read(d.join("q.der")).unwrap(), 1_800_000_000_000)
        .unwrap();
    std::fs::write(d.join("r.der"), &reply).unwrap();
    let (ok, out) = run_tool(
        d,
        "openssl",
        &[
            "ts", "-verify", "-data", "data.txt", "-in", "r.der", "-CAfile", "ca.pem",
        ],
    );
    assert!(!ok, "a token of a signer without timeStamping usage: {out}");
}
