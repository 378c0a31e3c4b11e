//! The store suite, run on SQLite always and on PostgreSQL when `PARAPHEUR_TEST_DATABASE_URL`
//! is set (e.g. `postgres://postgres@127.0.0.1/postgres`); each run gets a fresh database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_domain::{CircuitType, DocumentStatus, StepKind};
use parapheur_store::accounts::{CircuitRow, UserUpsert};
use parapheur_store::documents::{NewDocument, NewEntry, NewFile, NewStep, TransitionWrite};
use parapheur_store::jobs::{Effects, NewJob, NewLink};
use parapheur_store::{Db, StoreError, now_ms};
use std::collections::BTreeSet;

async fn sqlite() -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    (Db::connect(&url).await.unwrap(), dir)
}

/// A fresh PostgreSQL database, or `None` when no server is configured.
async fn postgres() -> Option<Db> {
    let base = std::env::var("PARAPHEUR_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))?;
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&base)
        .await
        .expect("PARAPHEUR_TEST_DATABASE_URL must answer");
    let name = format!("parapheur_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    Some(Db::connect(&format!("{prefix}/{name}")).await.unwrap())
}

fn step(kind: StepKind, members: Vec<i64>) -> NewStep {
    NewStep {
        kind,
        rule: parapheur_domain::StepRule::Any,
        members,
    }
}

fn doc(label: &str, circuit: Option<&str>) -> NewDocument {
    NewDocument {
        siren: "200000001".into(),
        circuit_id: circuit.map(str::to_owned),
        triplet_circuit: circuit.map(str::to_owned),
        circuit_type: CircuitType::BureautiquePdf,
        label: label.into(),
        file: NewFile {
            filename: "a.pdf".into(),
            blob_key: "ab/cd".into(),
            size: 3,
            sha256: "00".into(),
            digest_state: Some(b"S256 not read by the store".to_vec()),
        },
        depositor_id: 1,
        status: DocumentStatus::InProgress,
        current_step: 0,
        metadata_required: false,
        comment: String::new(),
        email_to: String::new(),
        email_cc: String::new(),
        agents: vec![],
        pictograms: None,
        deadline: None,
        steps: vec![
            step(StepKind::Visa, vec![2]),
            step(StepKind::Signature, vec![2]),
        ],
        annexes: vec![NewFile {
            filename: "n.txt".into(),
            blob_key: "ef/01".into(),
            size: 1,
            sha256: "11".into(),
            digest_state: None,
        }],
        entries: vec![NewEntry {
            state_name: "Préparé",
            user_id: Some(1),
            user_fullname: "A B".into(),
            comment: None,
        }],
        otp_signers: Vec::new(),
        pes_nomfic: None,
        effects: Effects::default(),
    }
}

async fn suite(db: &Db) {
    db.upsert_subscriber("200000001", "Commune").await.unwrap();
    db.upsert_subscriber("200000001", "Commune A")
        .await
        .unwrap();
    assert_eq!(
        db.subscriber_name("200000001").await.unwrap().as_deref(),
        Some("Commune A")
    );
    let user = |email: &'static str| UserUpsert {
        email,
        first_name: "Prénom",
        last_name: "Nom",
        auth_type: "BASIC",
        password_hash: Some("h"),
        certificate: None,
    };
    let depot = db.upsert_user(&user("depot@a.fr")).await.unwrap();
    let member = db.upsert_user(&user("m@a.fr")).await.unwrap();
    assert_eq!(
        db.upsert_user(&UserUpsert {
            password_hash: None,
            ..user("depot@a.fr")
        })
        .await
        .unwrap(),
        depot
    );
    assert_eq!(
        db.user_by_email("depot@a.fr")
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .as_deref(),
        Some("h")
    );
    db.set_membership(depot, "200000001", false).await.unwrap();
    db.set_membership(member, "200000001", true).await.unwrap();
    db.add_group_member("200000001", "Élus", member)
        .await
        .unwrap();
    db.add_group_member("200000001", "Élus", member)
        .await
        .unwrap();
    let found = db
        .members_by_email("200000001", &["m@a.fr".into(), "ghost@a.fr".into()])
        .await
        .unwrap();
    assert_eq!(found, vec![("m@a.fr".to_owned(), member)]);
    let c = CircuitRow {
        siren: "200000001".into(),
        id: "C".into(),
        circuit_type: CircuitType::BureautiquePdf,
        formats: vec!["pdf".into()],
        metadata_required: false,
        steps: vec![],
        depositors: vec![],
        visibility: parapheur_domain::Visibility::Members,
        deadline_days: None,
    };
    db.upsert_circuit(&c).await.unwrap();
    db.upsert_circuit(&c).await.unwrap();
    assert!(db.circuit("200000001", "C").await.unwrap().is_some());

    let mut d = doc("L", Some("C"));
    d.depositor_id = depot;
    d.steps = vec![
        step(StepKind::Visa, vec![member]),
        step(StepKind::Signature, vec![member]),
    ];
    let id = db.insert_document(d.clone()).await.unwrap();
    assert!(matches!(
        db.insert_document(d.clone()).await,
        Err(StoreError::Duplicate)
    ));
    let mut ondemand = d.clone();
    ondemand.circuit_id = None;
    ondemand.triplet_circuit = None;
    let od1 = db.insert_document(ondemand.clone()).await.unwrap();
    let od2 = db.insert_document(ondemand.clone()).await.unwrap();
    assert_ne!(od1, od2, "on-demand circuits have no triplet rule");

    let row = db.document(id).await.unwrap().unwrap();
    assert_eq!(
        (row.version, row.acted, row.status.as_str()),
        (0, false, "in_progress")
    );
    assert_eq!(
        db.document_steps(id).await.unwrap(),
        [StepKind::Visa, StepKind::Signature]
    );
    assert!(db.is_step_member(id, 0, member).await.unwrap());
    assert!(!db.is_step_member(id, 0, depot).await.unwrap());
    assert_eq!(db.tasks(member, "2026-01-01").await.unwrap().len(), 3);
    assert_eq!(db.annexes(id).await.unwrap().len(), 1);

    let t = TransitionWrite {
        expected_version: 0,
        file: None,
        detached: None,
        status: DocumentStatus::InProgress,
        current_step: 1,
        human_action: true,
        acted_member: None,
        entered_step: None,
        entries: vec![NewEntry {
            state_name: "Visa approuvé",
            user_id: Some(member),
            user_fullname: "P N".into(),
            comment: Some("ok".into()),
        }],
        effects: Effects {
            jobs: vec![NewJob {
                kind: "mail".into(),
                payload: "{\"n\":1}".into(),
                delay_ms: 0,
            }],
            ..Effects::default()
        },
    };
    let cached = db.history_with_siren(id).await.unwrap().unwrap();
    assert_eq!(
        (cached.siren.as_str(), cached.entries.len()),
        ("200000001", 1)
    );
    db.apply_transition(id, &t).await.unwrap();
    let fresh = db.history_with_siren(id).await.unwrap().unwrap();
    assert_eq!(
        fresh.entries.len(),
        2,
        "a write invalidates the cached history at once"
    );
    assert!(db.history_with_siren(999_999).await.unwrap().is_none());
    assert!(
        matches!(db.apply_transition(id, &t).await, Err(StoreError::Conflict)),
        "stale version"
    );
    let h = db.history(id).await.unwrap();
    assert_eq!(
        h.iter().map(|e| e.state_name.as_str()).collect::<Vec<_>>(),
        ["Préparé", "Visa approuvé"]
    );
    assert_eq!(h[1].comment.as_deref(), Some("ok"));
    assert!(db.document(id).await.unwrap().unwrap().acted);

    let meta = TransitionWrite {
        expected_version: 1,
        file: None,
        detached: None,
        status: DocumentStatus::InProgress,
        current_step: 1,
        human_action: false,
        acted_member: None,
        entered_step: None,
        entries: vec![],
        effects: Effects::default(),
    };
    db.define_metadata(
        id,
        &[("A".into(), "1".into()), ("B".into(), "é".into())],
        &meta,
    )
    .await
    .unwrap();
    assert_eq!(
        db.metadata(id).await.unwrap(),
        vec![("A".into(), "1".into()), ("B".into(), "é".into())]
    );

    assert_eq!(
        db.search("200000001", None, None, None).await.unwrap(),
        vec![id, od1, od2]
    );
    assert_eq!(
        db.search("200000001", Some(&[DocumentStatus::Refused]), None, None)
            .await
            .unwrap(),
        Vec::<i64>::new()
    );
    assert_eq!(
        db.search(
            "200000001",
            Some(&[DocumentStatus::InProgress, DocumentStatus::Refused]),
            Some("C"),
            None
        )
        .await
        .unwrap(),
        vec![id]
    );

    assert!(matches!(
        db.delete_document(id, 0).await,
        Err(StoreError::Conflict)
    ));
    let keys = db.delete_document(id, 2).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert!(db.document(id).await.unwrap().is_none());
    assert!(
        db.history(id).await.unwrap().is_empty(),
        "history goes with the document"
    );
    triplet_rule(db, depot).await;
    db.ping().await.unwrap();
}

/// The FAST triplet holds among unfinished documents only (the index of migration 0014 agrees
/// with `DocumentStatus::holds_triplet`), on-demand deposits that name a circuit included.
async fn triplet_rule(db: &Db, depot: i64) {
    for status in DocumentStatus::ALL {
        let mut first = doc(&format!("T-{}", status.as_str()), Some("C"));
        first.depositor_id = depot;
        first.status = status;
        db.insert_document(first.clone()).await.unwrap();
        let mut again = first.clone();
        again.status = DocumentStatus::InProgress;
        let r = db.insert_document(again).await;
        if status.holds_triplet() {
            assert!(matches!(r, Err(StoreError::Duplicate)), "{status:?}: {r:?}");
        } else {
            assert!(
                r.is_ok(),
                "{status:?}: the finished document frees its triplet"
            );
        }
    }
    // An on-demand deposit naming circuit "C" shares its triplets.
    let mut od = doc("T-in_progress", None);
    od.depositor_id = depot;
    od.triplet_circuit = Some("C".into());
    assert!(matches!(
        db.insert_document(od.clone()).await,
        Err(StoreError::Duplicate)
    ));
    od.label = "T-ondemand".into();
    let od_id = db.insert_document(od.clone()).await.unwrap();
    assert!(matches!(
        db.insert_document(od.clone()).await,
        Err(StoreError::Duplicate)
    ));
    let in_c = db.search("200000001", None, Some("C"), None).await.unwrap();
    assert!(
        in_c.contains(&od_id),
        "search by circuit finds the on-demand deposits that named it"
    );
    let ondemand = db
        .search("200000001", None, Some("circuit-a-la-volee"), None)
        .await
        .unwrap();
    assert!(ondemand.contains(&od_id));
    assert!(in_c.iter().any(|i| !ondemand.contains(i)));
    // A refused document coming back into progress while a newer one holds its triplet.
    let mut refused = doc("T-back", Some("C"));
    refused.depositor_id = depot;
    refused.status = DocumentStatus::Refused;
    let old = db.insert_document(refused.clone()).await.unwrap();
    refused.status = DocumentStatus::InProgress;
    db.insert_document(refused).await.unwrap();
    let t = TransitionWrite {
        expected_version: 0,
        file: None,
        detached: None,
        status: DocumentStatus::InProgress,
        current_step: 0,
        human_action: false,
        acted_member: None,
        entered_step: None,
        entries: vec![],
        effects: Effects::default(),
    };
    assert!(matches!(
        db.apply_transition(old, &t).await,
        Err(StoreError::Duplicate)
    ));
}

#[tokio::test]
async fn store_suite_on_sqlite() {
    let (db, _dir) = sqlite().await;
    suite(&db).await;
}

#[tokio::test]
async fn store_suite_on_postgres() {
    let Some(db) = postgres().await else {
        eprintln!(
            "PARAPHEUR_TEST_DATABASE_URL is not set: the PostgreSQL run is skipped (CI sets it)"
        );
        return;
    };
    suite(&db).await;
}

async fn columns(db: &Db) -> BTreeSet<(String, String)> {
    let q = match db.engine {
        parapheur_store::Engine::Sqlite => {
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'"
        }
        parapheur_store::Engine::Postgres => {
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'"
        }
    };
    sqlx::query_as::<_, (String, String)>(q)
        .fetch_all(&db.read)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

#[tokio::test]
async fn migrations_give_the_same_schema_on_both_engines() {
    let (lite, _dir) = sqlite().await;
    let lite_cols = columns(&lite).await;
    assert!(lite_cols.contains(&("history".into(), "state_name".into())));
    let Some(pg) = postgres().await else {
        eprintln!(
            "PARAPHEUR_TEST_DATABASE_URL is not set: schema comparison with PostgreSQL skipped (CI sets it)"
        );
        return;
    };
    assert_eq!(lite_cols, columns(&pg).await);
}

/// Concurrent deposits share transactions (group commit on SQLite): a duplicate fails alone and
/// every acknowledged id is there. A duplicate triplet is refused by the deposit's first
/// statement; a duplicate PES name by a later one (on SQLite the group is then written again,
/// a savepoint per deposit): neither leaves anything behind. Deposits of a subscriber with a
/// webhook endpoint queue a delivery per entry, those of another subscriber none.
async fn concurrent_deposits(db: &Db) {
    db.upsert_subscriber("200000001", "Commune A")
        .await
        .unwrap();
    db.upsert_subscriber("200000002", "Commune B")
        .await
        .unwrap();
    db.upsert_webhook(&parapheur_store::webhooks::NewWebhook {
        siren: "200000002".into(),
        url: "https://hooks.example/b".into(),
        secret: "whsec_AAAA".into(),
        events: vec![],
    })
    .await
    .unwrap();
    let depot = db
        .upsert_user(&UserUpsert {
            email: "d@a.fr",
            first_name: "D",
            last_name: "D",
            auth_type: "BASIC",
            password_hash: Some("h"),
            certificate: None,
        })
        .await
        .unwrap();
    let signer = db
        .upsert_user(&UserUpsert {
            email: "s@a.fr",
            first_name: "S",
            last_name: "S",
            auth_type: "BASIC",
            password_hash: Some("h"),
            certificate: None,
        })
        .await
        .unwrap();
    // Three waves, each sent at once so that the group commit writes it in few groups: the
    // deposits written by multi-row statements (a taken triplet among them), those sharing a
    // blob (written one by one in their group), and those naming the same PES file (a failure
    // of a later statement: the savepoint path).
    let mut waves: [Vec<_>; 3] = Default::default();
    for i in 0..40 {
        // Every fifth label is used twice.
        let label = if i % 5 == 0 {
            "same".to_owned()
        } else {
            format!("l{i}")
        };
        let mut d = doc(&label, Some("C"));
        d.depositor_id = depot;
        // Each deposit has its own files (as deposits do), but a few share one: the rows a
        // group's statement returns are told apart by blob key, these are written one by one.
        d.file.blob_key = if i % 7 == 6 {
            "shared/main".into()
        } else {
            format!("main/{i}")
        };
        d.annexes[0].blob_key = format!("annex/{i}");
        d.steps = vec![
            step(StepKind::Visa, vec![signer]),
            step(StepKind::Signature, vec![signer, depot]),
        ];
        d.entries[0].user_id = Some(depot);
        d.effects.jobs = vec![NewJob {
            kind: "mail".into(),
            payload: format!(
                "{{\"document\":{}}}",
                parapheur_store::jobs::NEW_DOCUMENT_ID
            ),
            delay_ms: 0,
        }];
        // Four deposits (none with the shared label) name the same PES file.
        if i % 10 == 1 {
            d.pes_nomfic = Some("PES_1.xml".into());
        }
        // Eight others are of the subscriber with a webhook endpoint.
        if i % 5 == 3 {
            d.siren = "200000002".into();
        }
        let submitted = (
            d.label.clone(),
            d.file.blob_key.clone(),
            d.annexes[0].blob_key.clone(),
            d.siren.clone(),
        );
        let wave = if d.pes_nomfic.is_some() {
            2
        } else if d.file.blob_key == "shared/main" {
            1
        } else {
            0
        };
        waves[wave].push((submitted, d));
    }
    let mut answers = Vec::new();
    for wave in waves {
        let handles: Vec<_> = wave
            .into_iter()
            .map(|(submitted, d)| {
                let db = db.clone();
                (
                    submitted,
                    tokio::spawn(async move { db.insert_document(d).await }),
                )
            })
            .collect();
        for (submitted, h) in handles {
            answers.push((submitted, h.await.unwrap()));
        }
    }
    let mut ok = Vec::new();
    let (mut dup, mut dup_pes) = (0, 0);
    for ((label, blob_key, annex_key, siren), answer) in answers {
        match answer {
            Ok(id) => {
                // Each caller gets the id of its own document.
                let row = db.document(id).await.unwrap().unwrap();
                assert_eq!(
                    (row.label, row.blob_key, row.siren),
                    (label, blob_key, siren),
                    "document {id}"
                );
                let annexes = db.annexes(id).await.unwrap();
                assert_eq!(annexes.len(), 1);
                assert_eq!(annexes[0].blob_key, annex_key, "annex of document {id}");
                ok.push(id)
            }
            Err(StoreError::Duplicate) => dup += 1,
            Err(StoreError::DuplicatePes(n)) => {
                assert_eq!(n, "PES_1.xml");
                dup_pes += 1
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((ok.len(), dup, dup_pes), (30, 7, 3));
    let count = |sql: &'static str| async move {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&db.read).await.unwrap();
        n
    };
    // Nothing of a refused deposit is left: no row, no step, no history, no PES name.
    assert_eq!(count("SELECT COUNT(*) FROM documents").await, 30);
    assert_eq!(count("SELECT COUNT(*) FROM annexes").await, 30);
    assert_eq!(count("SELECT COUNT(*) FROM history").await, 30);
    assert_eq!(count("SELECT COUNT(*) FROM pes_files").await, 1);
    let mut with_endpoint = 0;
    for &id in &ok {
        assert_eq!(db.history(id).await.unwrap().len(), 1);
        let row = db.document(id).await.unwrap().unwrap();
        let (deliveries,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM webhook_deliveries WHERE document_id = $1")
                .bind(id)
                .fetch_one(&db.read)
                .await
                .unwrap();
        let expected = i64::from(row.siren == "200000002");
        assert_eq!(deliveries, expected, "deliveries of document {id}");
        with_endpoint += expected;
    }
    assert_eq!(with_endpoint, 8);
    assert_eq!(
        count("SELECT COUNT(*) FROM jobs WHERE kind = 'webhook'").await,
        with_endpoint
    );
    // Steps, members and the deposit's own job, each of its own document.
    assert_eq!(count("SELECT COUNT(*) FROM document_steps").await, 60);
    assert_eq!(
        count("SELECT COUNT(*) FROM document_step_members").await,
        90
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM jobs WHERE kind = 'mail'").await,
        30
    );
    for id in &ok {
        assert_eq!(
            db.document_steps(*id).await.unwrap(),
            vec![StepKind::Visa, StepKind::Signature]
        );
        let members: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT idx, user_id FROM document_step_members WHERE document_id = $1 \
             ORDER BY idx, user_id",
        )
        .bind(id)
        .fetch_all(&db.read)
        .await
        .unwrap();
        let mut expected = vec![(0, signer), (1, signer), (1, depot)];
        expected.sort_unstable();
        assert_eq!(members, expected, "members of document {id}");
        let (jobs,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM jobs WHERE kind = 'mail' AND payload = $1")
                .bind(format!("{{\"document\":{id}}}"))
                .fetch_one(&db.read)
                .await
                .unwrap();
        assert_eq!(jobs, 1, "the job of document {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deposits_on_sqlite() {
    let (db, _dir) = sqlite().await;
    concurrent_deposits(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deposits_on_postgres() {
    let Some(db) = postgres().await else {
        eprintln!(
            "PARAPHEUR_TEST_DATABASE_URL is not set: the PostgreSQL run is skipped (CI sets it)"
        );
        return;
    };
    concurrent_deposits(&db).await;
}

/// The job queue: effects are written with their transition (and not without it), claimed
/// once under a lease, retried after a failure, completed once; OTP codes and links.
async fn jobs_suite(db: &Db) {
    db.upsert_subscriber("200000001", "Commune").await.unwrap();
    let depositor = db
        .upsert_user(&UserUpsert {
            email: "j@a.fr",
            first_name: "J",
            last_name: "D",
            auth_type: "BASIC",
            password_hash: Some("x"),
            certificate: None,
        })
        .await
        .unwrap();
    let mut d = doc("jobs", None);
    d.depositor_id = depositor;
    d.steps = vec![step(StepKind::OtpSignature, vec![])];
    d.effects = Effects {
        jobs: vec![NewJob {
            kind: "sms".into(),
            payload: format!("{{\"doc\":\"{}\"}}", parapheur_store::jobs::NEW_DOCUMENT_ID),
            delay_ms: 0,
        }],
        links: vec![NewLink {
            token_hash: "h1".into(),
            purpose: "otp".into(),
            siren: "200000001".into(),
            document_ids: vec![0],
            referer: Some("https://x.fr/".into()),
            expires_at: now_ms() + 60_000,
        }],
        ..Effects::default()
    };
    let id = db.insert_document(d).await.unwrap();
    let link = db.link("h1").await.unwrap().unwrap();
    assert_eq!(link.document_ids, vec![id], "0 stands for the new document");
    assert_eq!(link.referer.as_deref(), Some("https://x.fr/"));
    assert!(db.link("nope").await.unwrap().is_none());

    let job = db.claim_job(60_000).await.unwrap().unwrap();
    assert_eq!(job.payload, format!("{{\"doc\":\"{id}\"}}"));
    assert_eq!(job.attempts, 1);
    assert!(
        db.claim_job(60_000).await.unwrap().is_none(),
        "a leased job is not claimed twice"
    );
    db.fail_job(&job, "gateway down", Some(now_ms() - 1))
        .await
        .unwrap();
    let again = db.claim_job(60_000).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (job.id, 2));
    assert!(
        !db.complete_job(&job, true).await.unwrap(),
        "the first attempt lost its lease"
    );
    assert!(db.complete_job(&again, true).await.unwrap());
    assert!(db.claim_job(60_000).await.unwrap().is_none());
    let c = db.job_counts().await.unwrap();
    assert_eq!((c.pending, c.done, c.failed), (0, 1, 0));
    let (payload,): (String,) = sqlx::query_as("SELECT payload FROM jobs WHERE id = $1")
        .bind(job.id)
        .fetch_one(&db.read)
        .await
        .unwrap();
    assert_eq!(payload, "{}", "a delivered SMS forgets its text (the code)");

    // A conflicting transition writes none of its effects.
    let stale = TransitionWrite {
        expected_version: 42,
        file: None,
        detached: None,
        status: DocumentStatus::Classified,
        current_step: 1,
        human_action: false,
        acted_member: None,
        entered_step: None,
        entries: vec![],
        effects: Effects {
            jobs: vec![NewJob {
                kind: "mail".into(),
                payload: "{}".into(),
                delay_ms: 0,
            }],
            ..Effects::default()
        },
    };
    assert!(matches!(
        db.apply_transition(id, &stale).await,
        Err(StoreError::Conflict)
    ));
    assert!(db.claim_job(60_000).await.unwrap().is_none());

    // A permanent failure is recorded and not retried.
    db.enqueue(&Effects {
        jobs: vec![NewJob {
            kind: "mail".into(),
            payload: "{}".into(),
            delay_ms: 0,
        }],
        ..Effects::default()
    })
    .await
    .unwrap();
    let j = db.claim_job(60_000).await.unwrap().unwrap();
    db.fail_job(&j, "550 no such user", None).await.unwrap();
    assert!(db.claim_job(60_000).await.unwrap().is_none());
    assert_eq!(db.job_counts().await.unwrap().failed, 1);

    // OTP codes: a new code retires the previous one; failures lock; one use only.
    let sms = Effects {
        jobs: vec![NewJob {
            kind: "sms".into(),
            payload: "{}".into(),
            delay_ms: 0,
        }],
        ..Effects::default()
    };
    let exp = now_ms() + 60_000;
    assert!(
        db.new_otp_code("h1", "c1", "sms", exp, &[id], (5, now_ms() - 60_000), &sms)
            .await
            .unwrap()
    );
    let first = db.latest_otp_code("h1").await.unwrap().unwrap();
    assert!(
        db.new_otp_code("h1", "c2", "sms", exp, &[id], (5, now_ms() - 60_000), &sms)
            .await
            .unwrap()
    );
    let second = db.latest_otp_code("h1").await.unwrap().unwrap();
    assert_eq!(second.code_hash, "c2");
    assert!(!db.use_otp_code(first.id, 3).await.unwrap(), "replaced");
    assert_eq!(db.otp_code_failed(second.id).await.unwrap(), 1);
    assert_eq!(db.otp_code_failed(second.id).await.unwrap(), 2);
    assert_eq!(db.otp_code_failed(second.id).await.unwrap(), 3);
    assert!(!db.use_otp_code(second.id, 3).await.unwrap(), "locked");
    assert!(
        db.new_otp_code("h1", "c3", "sms", exp, &[id], (5, now_ms() - 60_000), &sms)
            .await
            .unwrap()
    );
    let third = db.latest_otp_code("h1").await.unwrap().unwrap();
    assert!(db.use_otp_code(third.id, 3).await.unwrap());
    assert!(!db.use_otp_code(third.id, 3).await.unwrap(), "used once");
    assert_eq!(
        db.otp_sends_since(&[id], now_ms() - 60_000).await.unwrap(),
        3
    );
    assert_eq!(db.otp_sends_since(&[id], now_ms() + 1).await.unwrap(), 0);
    assert_eq!(
        db.job_counts().await.unwrap().pending,
        3,
        "one SMS per code"
    );
    // The hourly limit holds under parallel requests: 3 sent, 20 more asked at once, 2 pass.
    let since = now_ms() - 60_000;
    let tries = (0..20).map(|i| {
        let (db, sms) = (db.clone(), sms.clone());
        async move {
            db.new_otp_code("h1", &format!("p{i}"), "sms", exp, &[id], (5, since), &sms)
                .await
                .unwrap()
        }
    });
    let passed = futures_util::future::join_all(tries)
        .await
        .into_iter()
        .filter(|ok| *ok)
        .count();
    assert_eq!(passed, 2);
    assert_eq!(db.otp_sends_since(&[id], since).await.unwrap(), 5);
    assert_eq!(db.job_counts().await.unwrap().pending, 5);
    // Housekeeping: delivered jobs are pruned once old enough, pending ones never.
    let before = db.job_counts().await.unwrap();
    let claimed = db.claim_jobs(60_000, 16).await.unwrap();
    assert!(!claimed.is_empty());
    let first = &claimed[0];
    assert!(db.complete_job(first, false).await.unwrap());
    assert_eq!(
        db.prune_done_jobs(now_ms() - 60_000).await.unwrap(),
        0,
        "too recent"
    );
    let pruned = db.prune_done_jobs(now_ms() + 1).await.unwrap();
    assert!(pruned >= 1, "{pruned}");
    let after = db.job_counts().await.unwrap();
    assert_eq!(after.done, 0);
    assert_eq!(
        after.pending,
        before.pending - 1,
        "the pending jobs are kept"
    );
    // Portal batches: a running one is kept whatever its age; a finished one goes.
    let job = NewJob {
        kind: "batch_sign".into(),
        payload: "{}".into(),
        delay_ms: 0,
    };
    let items = [(id, "a.pdf".to_owned()), (id, "b.pdf".to_owned())];
    db.create_batch("lot-1", depositor, &items, job)
        .await
        .unwrap();
    db.record_batch_outcome("lot-1", 0, "Signé", true)
        .await
        .unwrap();
    assert_eq!(
        db.prune_batches(now_ms() + 1).await.unwrap(),
        0,
        "still running"
    );
    assert_eq!(
        db.batch_items("lot-1", Some(depositor))
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        db.batch_items("lot-1", Some(depositor + 1))
            .await
            .unwrap()
            .is_empty()
    );
    db.record_batch_outcome("lot-1", 1, "Refusé", false)
        .await
        .unwrap();
    assert_eq!(
        db.prune_batches(now_ms() - 60_000).await.unwrap(),
        0,
        "too recent"
    );
    assert_eq!(db.prune_batches(now_ms() + 1).await.unwrap(), 2);
}

#[tokio::test]
async fn jobs_on_sqlite() {
    let (db, _dir) = sqlite().await;
    jobs_suite(&db).await;
}

#[tokio::test]
async fn jobs_on_postgres() {
    let Some(db) = postgres().await else {
        eprintln!(
            "PARAPHEUR_TEST_DATABASE_URL is not set: the PostgreSQL run is skipped (CI sets it)"
        );
        return;
    };
    jobs_suite(&db).await;
}

/// Helios: a NomFic once per subscriber (in the deposit's transaction), transmissions upserted
/// with their transition, return flows listed until fetched, their blobs returned on deletion.
async fn helios_suite(db: &Db) {
    use parapheur_store::helios::{NewReturnFlow, TransmissionRecord};
    db.upsert_subscriber("200000001", "Commune").await.unwrap();
    db.upsert_subscriber("200000002", "Autre").await.unwrap();
    let depositor = db
        .upsert_user(&UserUpsert {
            email: "h@a.fr",
            first_name: "H",
            last_name: "D",
            auth_type: "BASIC",
            password_hash: Some("x"),
            certificate: None,
        })
        .await
        .unwrap();
    let pes = |label: &str, siren: &str| {
        let mut d = doc(label, None);
        d.siren = siren.into();
        d.depositor_id = depositor;
        d.steps = vec![];
        d.pes_nomfic = Some("PESALR2_X".into());
        d
    };
    let id = db.insert_document(pes("a", "200000001")).await.unwrap();
    assert!(db.pes_name_taken("200000001", "PESALR2_X").await.unwrap());
    assert!(!db.pes_name_taken("200000002", "PESALR2_X").await.unwrap());
    assert!(matches!(
        db.insert_document(pes("b", "200000001")).await,
        Err(StoreError::DuplicatePes(n)) if n == "PESALR2_X"
    ));
    db.insert_document(pes("c", "200000002")).await.unwrap();

    let flow = |kind: &str, document_id: Option<i64>, key: &str| NewReturnFlow {
        siren: "200000001".into(),
        kind: kind.into(),
        document_id,
        filename: format!("{kind}.xml"),
        blob_key: key.into(),
        size: 3,
    };
    let t = TransitionWrite {
        expected_version: 0,
        file: None,
        detached: None,
        status: DocumentStatus::Classified,
        current_step: 0,
        human_action: false,
        acted_member: None,
        entered_step: None,
        entries: vec![],
        effects: Effects {
            transmission: Some(TransmissionRecord {
                transmitter: "simulator".into(),
                remote_id: "r1".into(),
                state: "acknowledged".into(),
            }),
            returns: vec![flow("ack", Some(id), "ack-key")],
            ..Effects::default()
        },
    };
    db.apply_transition(id, &t).await.unwrap();
    let tr = db.transmission(id).await.unwrap().unwrap();
    assert_eq!(
        (tr.remote_id.as_str(), tr.state.as_str()),
        ("r1", "acknowledged")
    );
    let retour = db
        .insert_return_flow(&flow("pes-retour", None, "r-key"))
        .await
        .unwrap();
    // The same PES Retour again (another instance polling at the same time): refused, once kept.
    assert!(matches!(
        db.insert_return_flow(&flow("pes-retour", None, "r-key-2"))
            .await,
        Err(StoreError::Duplicate)
    ));
    assert_eq!(
        db.remaining_returns("200000001", "ack", None)
            .await
            .unwrap(),
        vec![id]
    );
    assert_eq!(
        db.remaining_returns("200000001", "pes-retour", None)
            .await
            .unwrap(),
        vec![retour]
    );
    assert!(
        db.remaining_returns("200000002", "pes-retour", None)
            .await
            .unwrap()
            .is_empty()
    );
    let ack = db.acknowledgement(id).await.unwrap().unwrap();
    db.mark_fetched(&[ack.id, retour]).await.unwrap();
    assert!(
        db.remaining_returns("200000001", "ack", None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.remaining_returns("200000001", "pes-retour", None)
            .await
            .unwrap()
            .is_empty()
    );
    let keys = db.delete_document(id, 1).await.unwrap();
    assert!(keys.contains(&"ack-key".to_owned()), "{keys:?}");
    assert!(db.return_flow(ack.id).await.unwrap().is_none());
    assert!(
        !db.pes_name_taken("200000001", "PESALR2_X").await.unwrap(),
        "freed by deletion"
    );
}

#[tokio::test]
async fn helios_on_sqlite() {
    let (db, _dir) = sqlite().await;
    helios_suite(&db).await;
}

#[tokio::test]
async fn helios_on_postgres() {
    let Some(db) = postgres().await else {
        eprintln!(
            "PARAPHEUR_TEST_DATABASE_URL is not set: the PostgreSQL run is skipped (CI sets it)"
        );
        return;
    };
    helios_suite(&db).await;
}

/// Webhooks: a delivery and a job per history entry and endpoint, written with the entries;
/// order and outcome recorded; failed ones replayed; delivered ones pruned.
async fn webhooks_suite(db: &Db) {
    use parapheur_store::webhooks::NewWebhook;
    db.upsert_subscriber("200000001", "A").await.unwrap();
    db.upsert_subscriber("200000002", "B").await.unwrap();
    let depot = db
        .upsert_user(&UserUpsert {
            email: "d@a.fr",
            first_name: "D",
            last_name: "P",
            auth_type: "BASIC",
            password_hash: None,
            certificate: None,
        })
        .await
        .unwrap();
    let hook = |siren: &str, url: &str, events: Vec<String>| NewWebhook {
        siren: siren.into(),
        url: url.into(),
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        events,
    };
    db.upsert_webhook(&hook("200000001", "http://a/1", vec![]))
        .await
        .unwrap();
    db.upsert_webhook(&hook("200000001", "http://a/2", vec!["other.event".into()]))
        .await
        .unwrap();
    db.upsert_webhook(&hook(
        "200000001",
        "http://a/1",
        vec!["document.state_changed".into()],
    ))
    .await
    .unwrap();
    let mut d = doc("W", None);
    d.depositor_id = depot;
    d.entries = vec![
        NewEntry {
            state_name: "Préparé",
            user_id: Some(depot),
            user_fullname: "D P".into(),
            comment: None,
        },
        NewEntry {
            state_name: "Envoyé pour visa",
            user_id: None,
            user_fullname: String::new(),
            comment: None,
        },
    ];
    d.steps = vec![step(StepKind::Visa, vec![depot])];
    let id = db.insert_document(d.clone()).await.unwrap();
    let mut other = d.clone();
    other.siren = "200000002".into();
    other.label = "B".into();
    db.insert_document(other).await.unwrap();
    // Two entries, one endpoint listening (the other wants another event; B has none).
    let recent = db.recent_deliveries("200000001", 10).await.unwrap();
    assert_eq!(recent.len(), 2);
    assert!(
        recent
            .iter()
            .all(|r| r.url == "http://a/1" && r.status == "pending")
    );
    let (second, first) = (&recent[0], &recent[1]);
    assert!(first.id < second.id);
    assert_eq!(first.document_id, Some(id));
    let jobs: Vec<_> = db.claim_jobs(60_000, 10).await.unwrap();
    let webhook_jobs: Vec<_> = jobs.iter().filter(|j| j.kind == "webhook").collect();
    assert_eq!(webhook_jobs.len(), 2);
    assert_eq!(
        webhook_jobs[0].payload,
        format!("{{\"delivery_id\":{}}}", first.id)
    );
    // The second waits for the first.
    assert!(db.earlier_pending(second).await.unwrap());
    assert!(!db.earlier_pending(first).await.unwrap());
    let src = db
        .event_source(first.history_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (src.state_name.as_str(), src.siren.as_str()),
        ("Préparé", "200000001")
    );
    // The body is kept once built.
    assert_eq!(db.set_delivery_body(first.id, "one").await.unwrap(), "one");
    assert_eq!(db.set_delivery_body(first.id, "two").await.unwrap(), "one");
    db.record_delivery_attempt(first.id, Ok(()), 3)
        .await
        .unwrap();
    assert!(!db.earlier_pending(second).await.unwrap());
    for _ in 0..3 {
        db.record_delivery_attempt(second.id, Err("down"), 3)
            .await
            .unwrap();
    }
    let after = db.delivery(second.id).await.unwrap().unwrap();
    assert_eq!((after.status.as_str(), after.attempts), ("failed", 3));
    assert!(!db.replay_delivery("200000002", second.id).await.unwrap());
    assert!(db.replay_delivery("200000001", second.id).await.unwrap());
    let again = db.delivery(second.id).await.unwrap().unwrap();
    assert_eq!((again.status.as_str(), again.attempts), ("pending", 0));
    // Delivered ones go with the housekeeping; the pending one stays.
    let pruned = db
        .prune_webhooks_and_digests(now_ms() + 1, "2000-01-01")
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    assert_eq!(
        db.recent_deliveries("200000001", 10).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn webhooks_on_sqlite() {
    let (db, _dir) = sqlite().await;
    webhooks_suite(&db).await;
}

#[tokio::test]
async fn webhooks_on_postgres() {
    let Some(db) = postgres().await else {
        eprintln!(
            "PARAPHEUR_TEST_DATABASE_URL is not set: the PostgreSQL run is skipped (CI sets it)"
        );
        return;
    };
    webhooks_suite(&db).await;
}

/// The orphan sweep walks the store a chunk at a time (here 2 keys, over several prefix
/// directories) and deletes exactly the files no row refers to: a document's main file and
/// annex, an annex added later, survive; the rest goes; files younger than the cutoff stay.
async fn sweep_suite(db: &Db) {
    use parapheur_store::{Blobs, LocalBlobStore, sweep};
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::local(LocalBlobStore::open(dir.path()).unwrap());
    db.upsert_subscriber("200000001", "Commune").await.unwrap();
    for email in ["depot@a.fr", "m@a.fr"] {
        let u = db
            .upsert_user(&UserUpsert {
                email,
                first_name: "Prénom",
                last_name: "Nom",
                auth_type: "BASIC",
                password_hash: Some("h"),
                certificate: None,
            })
            .await
            .unwrap();
        db.set_membership(u, "200000001", false).await.unwrap();
    }
    let mut keys = Vec::new();
    for i in 0..9u8 {
        keys.push(blobs.put(vec![i; 10]).await.unwrap().key);
    }
    let mut d = doc("Balayage", None);
    d.file.blob_key = keys[0].clone();
    d.annexes[0].blob_key = keys[1].clone();
    let id = db.insert_document(d).await.unwrap();
    db.add_annex(
        id,
        &NewFile {
            filename: "b.txt".into(),
            blob_key: keys[2].clone(),
            size: 10,
            sha256: "22".into(),
            digest_state: None,
        },
    )
    .await
    .unwrap();
    // Nothing is older than an hour ago: nothing is even a candidate.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let r = sweep::sweep_orphans(db, &blobs, past, 2).await.unwrap();
    assert_eq!((r.candidates, r.deleted), (0, 0));
    // Everything written so far is older than a minute from now.
    let future = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    let r = sweep::sweep_orphans(db, &blobs, future, 2).await.unwrap();
    assert_eq!((r.candidates, r.deleted, r.failed), (9, 6, 0));
    for (i, k) in keys.iter().enumerate() {
        let kept = blobs.get(k).await.is_ok();
        assert_eq!(kept, i < 3, "file {i} ({k})");
    }
    // A second run finds the three referenced files and deletes nothing.
    let r = sweep::sweep_orphans(db, &blobs, future, 2).await.unwrap();
    assert_eq!((r.candidates, r.deleted), (3, 0));
    assert_eq!(
        db.unreferenced_blob_keys(&[keys[0].clone(), "00/not-a-row".into()])
            .await
            .unwrap(),
        vec!["00/not-a-row".to_owned()]
    );
    // The same references walked a page at a time (as backups do): each key once, in order,
    // with a key shared by two rows counted once.
    let mut shared = doc("Partage", None);
    shared.file.blob_key = keys[2].clone();
    shared.annexes.clear();
    db.insert_document(shared).await.unwrap();
    let mut walked = Vec::new();
    let mut after = String::new();
    loop {
        let page = db.referenced_blob_keys_after(&after, 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last().cloned() else {
            break;
        };
        walked.extend(page);
        after = last;
    }
    let mut all: Vec<String> = db
        .referenced_blob_keys()
        .await
        .unwrap()
        .into_iter()
        .collect();
    all.sort();
    assert_eq!(walked, all);
    let mut first_three = keys[..3].to_vec();
    first_three.sort();
    assert_eq!(walked, first_three);
}

#[tokio::test]
async fn sweep_on_sqlite() {
    let (db, _dir) = sqlite().await;
    sweep_suite(&db).await;
}

#[tokio::test]
async fn sweep_on_postgres() {
    let Some(db) = postgres().await else {
        eprintln!(
            "PARAPHEUR_TEST_DATABASE_URL is not set: the PostgreSQL run is skipped (CI sets it)"
        );
        return;
    };
    sweep_suite(&db).await;
}

/// The bannettes of finished and running documents read by deposit date (walked on the
/// date-ordered indexes, `Total::Known`) give exactly the pages of the reference statement
/// (every visible document filtered and sorted, `Total::Count`), for every part of the
/// visibility rule: step member (of two steps of one document), depositor, agent, delegate of
/// an absent member, open circuit, administrator, and a subscriber the user left.
async fn by_date_suite(db: &Db) {
    use parapheur_domain::Visibility;
    use parapheur_store::portal::{Bannette, ListFilter, Page, SortKey, Total, Viewer};
    let sirens = ["200000001", "200000002"];
    for s in sirens {
        db.upsert_subscriber(s, "Commune").await.unwrap();
    }
    let mut ids = Vec::new();
    for email in [
        "depot@a.fr",
        "m@a.fr",
        "other@a.fr",
        "delegate@a.fr",
        "admin@a.fr",
    ] {
        let u = db
            .upsert_user(&UserUpsert {
                email,
                first_name: "Prénom",
                last_name: "Nom",
                auth_type: "BASIC",
                password_hash: Some("h"),
                certificate: None,
            })
            .await
            .unwrap();
        db.set_membership(u, sirens[0], email == "admin@a.fr")
            .await
            .unwrap();
        ids.push(u);
    }
    let [depot, member, other, delegate, admin] = ids[..] else {
        unreachable!()
    };
    // The depositor also belongs to the second subscriber, the others do not: its documents,
    // steps included, stay out of their lists.
    db.set_membership(depot, sirens[1], false).await.unwrap();
    db.upsert_circuit(&CircuitRow {
        siren: sirens[0].into(),
        id: "OUVERT".into(),
        circuit_type: CircuitType::BureautiquePdf,
        formats: vec!["pdf".into()],
        metadata_required: false,
        steps: Vec::new(),
        depositors: Vec::new(),
        visibility: Visibility::Subscriber,
        deadline_days: None,
    })
    .await
    .unwrap();
    let statuses = [
        DocumentStatus::Classified,
        DocumentStatus::InProgress,
        DocumentStatus::Refused,
        DocumentStatus::VisaDisapproved,
        DocumentStatus::Classified,
    ];
    for i in 0..60i64 {
        let mut d = doc(&format!("Acte {i}"), (i % 9 == 0).then_some("OUVERT"));
        d.siren = sirens[usize::from(i % 13 == 0)].into();
        d.depositor_id = if i % 7 == 0 { member } else { depot };
        d.steps = match i % 4 {
            // Member of both steps: two membership rows for one document.
            0 => vec![
                step(StepKind::Visa, vec![member]),
                step(StepKind::Signature, vec![member, other]),
            ],
            1 => vec![step(StepKind::Signature, vec![member])],
            2 => vec![step(StepKind::Visa, vec![other])],
            _ => vec![step(StepKind::Signature, vec![other, member])],
        };
        if i % 11 == 0 {
            d.agents = vec!["m@a.fr".into()];
        }
        let id = db.insert_document(d).await.unwrap();
        // Deposit dates out of id order, with ties (broken by the id).
        let at = 1_700_000_000_000 + (i * 7919) % 23 * 1000;
        let status = statuses[(i as usize) % statuses.len()];
        sqlx::query("UPDATE documents SET created_at = $1, status = $2 WHERE id = $3")
            .bind(at)
            .bind(status.as_str())
            .bind(id)
            .execute(&db.write)
            .await
            .unwrap();
        sqlx::query(
            "UPDATE document_step_members SET doc_created_at = $1, doc_status = $2 \
             WHERE document_id = $3",
        )
        .bind(at)
        .bind(status.as_str())
        .bind(id)
        .execute(&db.write)
        .await
        .unwrap();
    }
    let today = "2030-01-15";
    db.set_absence(other, "2030-01-01", "2030-01-31", delegate)
        .await
        .unwrap();
    let viewers = [
        (member, false),
        (depot, false),
        (other, false),
        (delegate, false),
        (admin, true),
    ];
    let mut compared = 0;
    let mut longest = 0;
    for (user_id, administers) in viewers {
        let v = Viewer {
            user_id,
            today,
            administers,
        };
        for b in [Bannette::InProgress, Bannette::Done, Bannette::Refused] {
            // Without a filter, and with each kind of filter (the next document of a filtered
            // list is read by date too).
            let filters = [
                ListFilter::default(),
                ListFilter {
                    name: Some("acte 1".into()),
                    ..ListFilter::default()
                },
                ListFilter {
                    circuit: Some("OUVERT".into()),
                    ..ListFilter::default()
                },
                ListFilter {
                    label: Some("Acte 20".into()),
                    ..ListFilter::default()
                },
            ];
            for (descending, filter) in [true, false]
                .into_iter()
                .flat_map(|d| filters.iter().map(move |f| (d, f)))
            {
                let f = ListFilter {
                    sort: SortKey::Deposit,
                    descending,
                    ..filter.clone()
                };
                for (offset, limit) in [(0, 5), (5, 5), (3, 7), (10, 4), (0, 200), (40, 10)] {
                    let page = |total| Page {
                        offset,
                        limit,
                        total,
                    };
                    let (want, total) = db.bannette(&v, b, &f, page(Total::Count)).await.unwrap();
                    let (got, told) = db
                        .bannette(&v, b, &f, page(Total::Known(total)))
                        .await
                        .unwrap();
                    let ids = |rows: &[parapheur_store::portal::BannetteEntry]| {
                        rows.iter().map(|r| r.doc.id).collect::<Vec<_>>()
                    };
                    assert_eq!(
                        ids(&got),
                        ids(&want),
                        "user {user_id} {b:?} desc={descending} {filter:?} offset {offset} limit {limit}"
                    );
                    assert_eq!(told, total);
                    compared += usize::from(!want.is_empty());
                    longest = longest.max(total);
                }
            }
        }
    }
    // The comparison covered real lists: most pages hold documents, some lists span pages.
    assert!(compared > 100, "{compared} non-empty pages compared");
    assert!(longest > 20, "the longest list holds {longest} documents");
    // The member's own list, checked without the reference: 60 documents of which the 4 of the
    // second subscriber are out; "terminés" holds the classified ones the member takes part in.
    let v = Viewer {
        user_id: member,
        today,
        administers: false,
    };
    let f = ListFilter {
        sort: SortKey::Deposit,
        descending: true,
        ..ListFilter::default()
    };
    // Document i has status `statuses[i % 5]`; the member takes part unless only `other` is on
    // its steps (i % 4 == 2) and it is neither the member's deposit, an agent's nor open.
    for (b, residues) in [
        (Bannette::Done, &[0, 4][..]),
        (Bannette::InProgress, &[1][..]),
        (Bannette::Refused, &[2, 3][..]),
    ] {
        let (rows, _) = db
            .bannette(
                &v,
                b,
                &f,
                Page {
                    offset: 0,
                    limit: 200,
                    total: Total::Known(0),
                },
            )
            .await
            .unwrap();
        let dates: Vec<(i64, i64)> = rows.iter().map(|r| (r.doc.created_at, r.doc.id)).collect();
        let mut sorted = dates.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(
            dates, sorted,
            "{b:?}: newest deposit first, ties by the newest id"
        );
        let expected = (0..60i64)
            .filter(|i| i % 13 != 0 && residues.contains(&(i % 5)))
            .filter(|i| i % 4 != 2 || i % 7 == 0 || i % 11 == 0 || i % 9 == 0)
            .count();
        assert!(expected > 3);
        assert_eq!(rows.len(), expected, "{b:?}");
    }
    // A document deposited then refused by a transition moves from "en cours" to "refusés"
    // (the members' copy of its status follows the transition).
    let mut d = doc("Refusé ensuite", None);
    d.steps = vec![step(StepKind::Signature, vec![member])];
    let id = db.insert_document(d).await.unwrap();
    let first = |b| {
        let (v, f) = (&v, &f);
        async move {
            let page = Page {
                offset: 0,
                limit: 200,
                total: Total::Known(0),
            };
            let (rows, _) = db.bannette(v, b, f, page).await.unwrap();
            rows.iter().any(|r| r.doc.id == id)
        }
    };
    assert!(first(Bannette::InProgress).await);
    assert!(!first(Bannette::Refused).await);
    let version = db.document(id).await.unwrap().unwrap().version;
    db.apply_transition(
        id,
        &TransitionWrite {
            expected_version: version,
            file: None,
            detached: None,
            status: DocumentStatus::Refused,
            current_step: 0,
            human_action: true,
            acted_member: Some((0, member)),
            entered_step: None,
            entries: Vec::new(),
            effects: Effects::default(),
        },
    )
    .await
    .unwrap();
    assert!(!first(Bannette::InProgress).await);
    assert!(
        first(Bannette::Refused).await,
        "refused: in the member's list"
    );
}

#[tokio::test]
async fn bannettes_by_date_on_sqlite() {
    let (db, _dir) = sqlite().await;
    by_date_suite(&db).await;
}

#[tokio::test]
async fn bannettes_by_date_on_postgres() {
    let Some(db) = postgres().await else {
        eprintln!(
            "PARAPHEUR_TEST_DATABASE_URL is not set: the PostgreSQL run is skipped (CI sets it)"
        );
        return;
    };
    by_date_suite(&db).await;
}

/// The worker completes a batch in one statement: each job kept by its own lease (a job taken
/// over since counts for nothing and stays pending), payloads erased only where asked.
async fn completing_a_batch_of_jobs(db: &Db) {
    let jobs: Vec<NewJob> = (0..5)
        .map(|i| NewJob {
            kind: "mail".into(),
            payload: format!("{{\"n\":{i}}}"),
            delay_ms: 0,
        })
        .collect();
    db.enqueue(&Effects {
        jobs,
        ..Default::default()
    })
    .await
    .unwrap();
    let claimed = db.claim_jobs(0, 16).await.unwrap();
    assert_eq!(claimed.len(), 5);
    // A zero lease: the fifth job is claimed again by another worker before the batch ends.
    let taken_over = db.claim_jobs(60_000, 16).await.unwrap();
    assert_eq!(taken_over.len(), 5);
    let done: Vec<_> = claimed[..4]
        .iter()
        .enumerate()
        .map(|(i, j)| (j, i % 2 == 0))
        .collect();
    // Four of the first attempts: every one lost its lease to the second claim.
    assert_eq!(db.complete_jobs(&done).await.unwrap(), 0);
    let done: Vec<_> = taken_over[..4]
        .iter()
        .enumerate()
        .map(|(i, j)| (j, i % 2 == 0))
        .collect();
    assert_eq!(db.complete_jobs(&done).await.unwrap(), 4);
    assert_eq!(db.complete_jobs(&done).await.unwrap(), 0, "done already");
    assert_eq!(db.complete_jobs(&[]).await.unwrap(), 0);
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, status, payload FROM jobs ORDER BY id")
            .fetch_all(&db.read)
            .await
            .unwrap();
    let expect: Vec<(i64, String, String)> = taken_over
        .iter()
        .enumerate()
        .map(|(i, j)| {
            let (status, payload) = match i {
                4 => ("pending", j.payload.clone()),
                _ if i % 2 == 0 => ("done", "{}".to_owned()),
                _ => ("done", j.payload.clone()),
            };
            (j.id, status.to_owned(), payload)
        })
        .collect();
    assert_eq!(rows, expect);
}

#[tokio::test]
async fn completing_a_batch_of_jobs_on_sqlite() {
    let (db, _dir) = sqlite().await;
    completing_a_batch_of_jobs(&db).await;
}

#[tokio::test]
async fn completing_a_batch_of_jobs_on_postgres() {
    let Some(db) = postgres().await else {
        eprintln!(
            "PARAPHEUR_TEST_DATABASE_URL is not set: the PostgreSQL run is skipped (CI sets it)"
        );
        return;
    };
    completing_a_batch_of_jobs(&db).await;
}

/// PostgreSQL connections cut while idle in the pool (a server restart, a proxy's idle
/// timeout) are noticed before use and replaced: the next statement succeeds.
#[tokio::test]
async fn idle_connections_cut_by_the_server_are_replaced() {
    let Ok(base) = std::env::var("PARAPHEUR_TEST_DATABASE_URL") else {
        eprintln!(
            "PARAPHEUR_TEST_DATABASE_URL is not set: the PostgreSQL run is skipped (CI sets it)"
        );
        return;
    };
    let db = postgres().await.unwrap();
    let (name,): (String,) = sqlx::query_as("SELECT current_database()::text")
        .fetch_one(&db.read)
        .await
        .unwrap();
    let admin = sqlx::AnyPool::connect(&base).await.unwrap();
    let cut: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&name)
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(!cut.is_empty(), "the pool had connections to cut");
    tokio::time::sleep(
        parapheur_store::db::PING_IF_IDLE_FOR + std::time::Duration::from_millis(200),
    )
    .await;
    for _ in 0..4 {
        db.ping()
            .await
            .expect("a live connection replaces the cut one");
    }
}

/// The statistics page's signature delays and refusals: each document of the window counts once
/// with its first signature (by a person or by OTP), the refusals of every kind in the window
/// count (the OTP one has a quote in its name), another subscriber's rows never do.
async fn statistics_suite(db: &Db) {
    for siren in ["200000001", "200000002"] {
        db.upsert_subscriber(siren, "Commune").await.unwrap();
    }
    let depot = db
        .upsert_user(&UserUpsert {
            email: "depot@a.fr",
            first_name: "Prénom",
            last_name: "Nom",
            auth_type: "BASIC",
            password_hash: Some("h"),
            certificate: None,
        })
        .await
        .unwrap();
    let hour = 3_600_000_i64;
    // Three months from t0; a document of each month, one before the window, one elsewhere.
    let t0 = 1_700_000_000_000_i64;
    let months = [t0, t0 + 720 * hour, t0 + 1440 * hour];
    let mut ids = Vec::new();
    for (siren, created) in [
        ("200000001", t0 + hour),        // month 0
        ("200000001", t0 + 721 * hour),  // month 1
        ("200000001", t0 + 1500 * hour), // month 2
        ("200000001", t0 - 10 * hour),   // before the window
        ("200000002", t0 + 2 * hour),    // another subscriber
    ] {
        let mut d = doc("Statistiques", None);
        d.siren = siren.into();
        d.depositor_id = depot;
        d.steps = vec![step(StepKind::Signature, vec![depot])];
        let id = db.insert_document(d).await.unwrap();
        sqlx::query("UPDATE documents SET created_at = $1 WHERE id = $2")
            .bind(created)
            .bind(id)
            .execute(&db.write)
            .await
            .unwrap();
        ids.push((id, created));
    }
    let history = |id: i64, at: i64, state: HistoryState| async move {
        sqlx::query(
            "INSERT INTO history (document_id, at_ms, user_id, user_fullname, state_name, comment) \
             VALUES ($1, $2, NULL, 'X', $3, NULL)",
        )
        .bind(id)
        .bind(at)
        .bind(state.as_str())
        .execute(&db.write)
        .await
        .unwrap();
    };
    use parapheur_domain::HistoryState;
    let [(a, ca), (b, cb), (c, _), (old, cold), (other, cother)] = ids[..] else {
        unreachable!()
    };
    // a: signed after 5 h, then again after 9 h (the first counts).
    history(a, ca + 9 * hour, HistoryState::Signed).await;
    history(a, ca + 5 * hour, HistoryState::Signed).await;
    history(a, ca + 6 * hour, HistoryState::Classified).await;
    // b: signed by OTP after 3 h, refused at the OTP step before that.
    history(b, cb + 3 * hour, HistoryState::OtpSigned).await;
    history(b, cb + hour, HistoryState::RefusedAtOtp).await;
    // c: a visa disapproved, a refusal, a rejected signature; never signed.
    history(c, t0 + 1500 * hour + 1, HistoryState::VisaDisapproved).await;
    history(c, t0 + 1500 * hour + 2, HistoryState::Refused).await;
    history(c, t0 + 1500 * hour + 3, HistoryState::SignatureRejected).await;
    // Before the window: signed (not in the delays), refused in month 0 (counted).
    history(old, cold + hour, HistoryState::Signed).await;
    history(old, t0 + 2 * hour, HistoryState::Refused).await;
    // Another subscriber: signed and refused, never counted here.
    history(other, cother + hour, HistoryState::Signed).await;
    history(other, cother + 2 * hour, HistoryState::Refused).await;

    let mut delays = db
        .stats_signature_delays("200000001", &months)
        .await
        .unwrap();
    delays.sort_unstable();
    assert_eq!(delays, vec![(0, 5 * hour), (1, 3 * hour)]);
    assert_eq!(
        db.stats_refusals("200000001", &months).await.unwrap(),
        vec![(0, 1), (1, 1), (2, 3)]
    );
    assert_eq!(
        db.stats_signature_delays("200000002", &months)
            .await
            .unwrap(),
        vec![(0, hour)]
    );
    assert_eq!(
        db.stats_refusals("200000002", &months).await.unwrap(),
        vec![(0, 1)]
    );
}

#[tokio::test]
async fn statistics_on_sqlite() {
    let (db, _dir) = sqlite().await;
    statistics_suite(&db).await;
}

#[tokio::test]
async fn statistics_on_postgres() {
    let Some(db) = postgres().await else {
        eprintln!(
            "PARAPHEUR_TEST_DATABASE_URL is not set: the PostgreSQL run is skipped (CI sets it)"
        );
        return;
    };
    statistics_suite(&db).await;
}
