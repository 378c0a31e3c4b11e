//! Tests of the credential cache, Basic parsing and the throttle helpers.

use super::*;

fn caller() -> Caller {
    CallerData {
        user_id: 1,
        email: "a@b.fr".into(),
        full_name: "A B".into(),
        memberships: vec![],
    }
    .into()
}

#[test]
fn a_busy_credential_is_refreshed_by_one_request_only() {
    let cache = AuthCache::default();
    let k = cache.basic_key(b"Basic YUBiLmZyOnB3");
    assert!(matches!(cache.get(&k), Lookup::Miss));
    cache.put(k, caller());
    assert!(matches!(cache.get(&k), Lookup::Hit(_)));
    // Near the end of its life: one request refreshes, the others keep being served.
    if let Ok(mut m) = cache.entries.lock()
        && let Some(e) = m.get_mut(&k)
    {
        e.at = Instant::now()
            .checked_sub(CACHE_TTL - Duration::from_secs(2))
            .unwrap_or_else(Instant::now);
    }
    assert!(matches!(cache.get(&k), Lookup::Refresh));
    assert!(matches!(cache.get(&k), Lookup::Hit(_)));
    assert!(matches!(cache.get(&k), Lookup::Hit(_)));
    cache.put(k, caller());
    assert!(matches!(cache.get(&k), Lookup::Hit(_)));
    // Expired: a miss; a failed verification removes the entry.
    cache.remove(&k);
    assert!(matches!(cache.get(&k), Lookup::Miss));
    assert_ne!(
        cache.basic_key(b"Basic YUBiLmZyOnB3"),
        cache.basic_key(b"Basic YUBiLmZyOnB3Mg==")
    );
    assert_ne!(
        cache.basic_key(b"Basic YUBiLmZyOnB3"),
        cache.basic_key(b"basic YUBiLmZyOnB3")
    );
}

#[test]
fn a_basic_credential_never_reaches_a_certificate_entry() {
    let cache = AuthCache::default();
    let der = b"certificate DER";
    let k = AuthCache::certificate_key(der);
    cache.put(k, caller());
    // The credentials of the reported attack: the NUL-prefixed namespace and the public
    // certificate's SHA-256 as the password.
    let forged = cache.basic_key(
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "\u{0}certificate:{}",
                hex::encode(Sha256::digest(der))
            ))
        )
        .as_bytes(),
    );
    assert!(matches!(cache.get(&forged), Lookup::Miss));
    assert!(matches!(cache.get(&k), Lookup::Hit(_)));
}

#[test]
fn the_epoch_clears_the_cache_when_it_moves() {
    let cache = AuthCache::default();
    let k = cache.basic_key(b"Basic YUBiLmZyOnB3");
    cache.sync_epoch(3);
    cache.put(k, caller());
    cache.sync_epoch(3);
    assert!(matches!(cache.get(&k), Lookup::Hit(_)));
    cache.sync_epoch(4);
    assert!(matches!(cache.get(&k), Lookup::Miss));
}

fn parts(authorization: &str) -> Parts {
    let (parts, ()) = axum::http::Request::builder()
        .header(AUTHORIZATION, authorization)
        .body(())
        .unwrap_or_default()
        .into_parts();
    parts
}

#[test]
fn basic_credentials_with_control_characters_are_refused() {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    assert!(matches!(
        parse_basic(&parts(&format!("Basic {}", b64("\u{0}certificate:ab12")))),
        BasicHeader::Invalid
    ));
    assert!(matches!(
        parse_basic(&parts(&format!("Basic {}", b64("a@b.fr:pw\nx")))),
        BasicHeader::Invalid
    ));
    assert!(matches!(
        parse_basic(&parts(&format!("Basic {}", b64("A@b.fr :pw")))),
        BasicHeader::Credentials(u, p) if u == "a@b.fr" && p == "pw"
    ));
    assert!(matches!(parse_basic(&parts("Bearer x")), BasicHeader::None));
}

#[test]
fn hash_and_verify() {
    let h = hash_password("s3cret").unwrap_or_else(|e| panic!("{e}"));
    assert!(h.starts_with("$argon2id$"));
    assert!(verify_password(&h, "s3cret"));
    assert!(!verify_password(&h, "S3cret"));
    assert!(!verify_password("garbage", "s3cret"));
}
