//! Sealing benchmarks: PAdES B-B of a 100 KB and a 5 MB PDF with an RSA-2048 seal (the
//! references, `openssl speed` and pyHanko, are measured beside them by `bench/signing.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use parapheur_bench::pdf_of_size;
use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
use parapheur_sign::pades::{self, SignOptions};
use sha2_11::Digest;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let ca = InternalCa::open_or_create(dir.path(), "bench CA").unwrap();
    let seal = ca
        .issue(
            &Subject {
                common_name: "Commune de Test".into(),
                email: None,
                organization: Some("Commune".into()),
                organization_id: None,
            },
            KeyKind::Seal,
        )
        .unwrap();
    for (name, size) in [("seal_100k", 100 * 1024), ("seal_5m", 5 * 1024 * 1024)] {
        let pdf = pdf_of_size(size).unwrap();
        if let Ok(out) = std::env::var("SEAL_BENCH_WRITE_DIR") {
            std::fs::write(std::path::Path::new(&out).join(format!("{name}.pdf")), &pdf).unwrap();
        }
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(pdf.len() as u64));
        g.sample_size(if size > 1_000_000 { 20 } else { 50 });
        g.bench_function("pades_b_b_rsa2048", |b| {
            b.iter(|| {
                pades::sign_suffix(black_box(&pdf), &seal, &SignOptions::new("Commune de Test"))
                    .unwrap()
            })
        });
        // A stored document: the blob store kept the SHA-256 state of its bytes when it wrote
        // them, so the seal hashes only the revision it appends. The second variant also brings
        // that state over the appended revision, as the store does when it writes the result.
        let stored = pades::FileHasher::new().chain_update(&pdf);
        g.bench_function("pades_b_b_rsa2048_stored", |b| {
            b.iter(|| {
                pades::sign_suffix_continuing(
                    black_box(&pdf),
                    Some(stored.clone()),
                    &seal,
                    &SignOptions::new("Commune de Test"),
                )
                .unwrap()
            })
        });
        g.bench_function("pades_b_b_rsa2048_stored_next_state", |b| {
            b.iter(|| {
                let suffix = pades::sign_suffix_continuing(
                    black_box(&pdf),
                    Some(stored.clone()),
                    &seal,
                    &SignOptions::new("Commune de Test"),
                )
                .unwrap();
                stored.clone().chain_update(&suffix)
            })
        });
        g.finish();
    }
    let digest = [7u8; 32];
    c.bench_function("rsa2048_sign_only", |b| {
        b.iter(|| seal.sign(black_box(&digest)).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
