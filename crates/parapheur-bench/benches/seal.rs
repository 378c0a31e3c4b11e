//! Sealing benchmarks: PAdES B-B of a 100 KB and a 5 MB PDF with an RSA-2048 seal (the
//! references, `openssl speed` and pyHanko, are measured beside them by `bench/signing.sh`),
//! and the cost of each PAdES level on the 100 KB file: B-T (a token of the built-in
//! authority), B-LT (then the DSS: chains, OCSP answers of the internal CA, its CRL), B-LTA
//! (then a document timestamp) — the work the server does with `tsa_url = "internal"`, without
//! its database and blob store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use parapheur_bench::pdf_of_size;
use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
use parapheur_sign::pades::{self, SignOptions};
use sha2_11::Digest;
use std::hint::black_box;

/// The server's allocator (`parapheur` sets mimalloc as its global allocator): the seal is
/// measured with the allocator it runs with there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    levels(c, &ca, &seal);
    // Where the time of a seal from the bytes alone goes: one SHA-256 pass over the file
    // (RustCrypto's, which keeps a resumable state, and OpenSSL's) and the PDF work alone.
    let pdf = pdf_of_size(100 * 1024).unwrap();
    let mut g = c.benchmark_group("parts_100k");
    g.bench_function("sha256_rustcrypto", |b| {
        b.iter(|| sha2_11::Sha256::digest(black_box(&pdf)))
    });
    g.bench_function("sha256_openssl", |b| {
        b.iter(|| openssl::sha::sha256(black_box(&pdf)))
    });
    let chain: Vec<Vec<u8>> = seal.chain.iter().map(|c| c.to_der().unwrap()).collect();
    g.bench_function("prepare", |b| {
        b.iter(|| {
            pades::prepare(
                black_box(&pdf),
                &chain,
                seal.algorithm(),
                &SignOptions::new("Commune de Test"),
            )
            .unwrap()
        })
    });
    g.finish();
    let digest = [7u8; 32];
    c.bench_function("rsa2048_sign_only", |b| {
        b.iter(|| seal.sign(black_box(&digest)).unwrap())
    });
}

/// One seal at `level` ("B-B", "B-T", "B-LT", "B-LTA") of `pdf`: the whole file.
fn seal_at(
    pdf: &[u8],
    ca: &InternalCa,
    seal: &parapheur_sign::Credential,
    authority: &parapheur_sign::tsa_authority::Authority,
    level: &str,
) -> Vec<u8> {
    use parapheur_sign::tsa;
    let now = || 1_800_000_000_000i64;
    let mut opts = SignOptions::new("Commune de Test");
    if level == "B-B" {
        let mut out = pdf.to_vec();
        out.extend(pades::sign_suffix(pdf, seal, &opts).unwrap());
        return out;
    }
    opts.timestamped = true;
    let chain: Vec<Vec<u8>> = seal.chain.iter().map(|c| c.to_der().unwrap()).collect();
    let prepared = pades::prepare(pdf, &chain, seal.algorithm(), &opts).unwrap();
    let value = seal.sign(prepared.data_to_sign()).unwrap();
    let request = tsa::request(&value).unwrap();
    let reply = authority.respond(&request.der, now()).unwrap();
    let attrs = tsa::token_attributes(&request, &reply).unwrap();
    let mut out = pdf.to_vec();
    out.extend(prepared.complete(&value, Some(attrs)).unwrap());
    if level == "B-T" {
        return out;
    }
    let mut data = pades::ValidationData::default();
    for c in seal
        .chain
        .iter()
        .chain([authority.certificate(), ca.certificate()])
    {
        data.certificates.push(c.to_der().unwrap());
        if ca.issued(c) && c.to_der().unwrap() != ca.certificate().to_der().unwrap() {
            let id = openssl::ocsp::OcspCertId::from_cert(
                openssl::hash::MessageDigest::sha1(),
                c,
                ca.certificate(),
            )
            .unwrap();
            let mut req = openssl::ocsp::OcspRequest::new().unwrap();
            req.add_id(id).unwrap();
            data.ocsp_responses.push(parapheur_sign::ocsp::respond(
                ca,
                &req.to_der().unwrap(),
                |_| None,
                now() / 1000,
            ));
        }
    }
    data.crls.push(ca.crl(&[], 1, 86_400).unwrap());
    let limits = parapheur_sign::pdfcheck::Limits::default();
    let dss = pades::dss_suffix(&out, &data, &limits).unwrap();
    out.extend(dss);
    if level == "B-LT" {
        return out;
    }
    let stamp = pades::prepare_document_timestamp(&out, &limits).unwrap();
    let request = tsa::request_for_digest(stamp.digest()).unwrap();
    let reply = authority.respond(&request.der, now()).unwrap();
    let token = tsa::checked_token(&request, &reply).unwrap();
    out.extend(stamp.complete(&token).unwrap());
    out
}

/// The cost of each level on the 100 KB file (issue 20: B-LT and B-LTA beside B-B).
fn levels(c: &mut Criterion, ca: &InternalCa, seal: &parapheur_sign::Credential) {
    let pdf = pdf_of_size(100 * 1024).unwrap();
    let authority = parapheur_sign::tsa_authority::Authority::new(ca.tsa_credential().unwrap());
    let mut g = c.benchmark_group("seal_100k_level");
    g.sample_size(30);
    for level in ["B-B", "B-T", "B-LT", "B-LTA"] {
        let out = seal_at(&pdf, ca, seal, &authority, level);
        if let Ok(dir) = std::env::var("SEAL_BENCH_WRITE_DIR") {
            std::fs::write(
                std::path::Path::new(&dir).join(format!("seal_100k_{level}.pdf")),
                &out,
            )
            .unwrap();
        }
        g.bench_function(level, |b| {
            b.iter(|| seal_at(black_box(&pdf), ca, seal, &authority, level))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
