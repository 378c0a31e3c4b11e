//! Hostile PDFs, built here, against the deposit check and the signing and verification paths:
//! each is refused in bounded time and memory. Every call runs on a watchdog thread, so a
//! regression fails the test instead of hanging it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use flate2::write::ZlibEncoder;
use flate2::{Compress, Compression, FlushCompress};
use lopdf::{Document, Object, dictionary};
use parapheur_sign::SignError;
use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
use parapheur_sign::pades::{self, SignOptions};
use parapheur_sign::pdfcheck::{Limits, PdfSummary, check_pdf};
use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs `f` on its own thread; panics if it has not returned within `limit`.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("still running after {limit:?}"))
}

const WATCHDOG: Duration = Duration::from_secs(30);

fn check(pdf: &[u8]) -> Result<PdfSummary, SignError> {
    let pdf = pdf.to_vec();
    within(WATCHDOG, move || check_pdf(&pdf, &Limits::default()))
}

fn check_with(pdf: &[u8], limits: Limits) -> Result<PdfSummary, SignError> {
    let pdf = pdf.to_vec();
    within(WATCHDOG, move || check_pdf(&pdf, &limits))
}

/// Signs `pdf` with a fresh seal (as the server does), on the watchdog.
fn sign(pdf: &[u8]) -> Result<Vec<u8>, SignError> {
    let dir = tempfile::tempdir().unwrap();
    let ca = InternalCa::open_or_create(&dir.path().join("ca"), "budget test CA").unwrap();
    let subject = Subject {
        common_name: "Commune de Test".into(),
        email: None,
        organization: None,
        organization_id: None,
    };
    let cred = ca.issue(&subject, KeyKind::Person).unwrap();
    let pdf = pdf.to_vec();
    within(WATCHDOG, move || {
        pades::sign(&pdf, &cred, &SignOptions::new("Commune de Test"))
    })
}

fn verify(pdf: &[u8]) -> Result<parapheur_sign::verify::Report, SignError> {
    let pdf = pdf.to_vec();
    within(WATCHDOG, move || {
        parapheur_sign::verify::verify_pdf(
            &pdf,
            &parapheur_sign::policy::ValidationContext::new(Vec::new()),
        )
    })
}

fn save(doc: &mut Document) -> Vec<u8> {
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// Refused because a node of the page tree (or of the form) is reached twice.
fn not_a_tree<T>(r: &Result<T, SignError>) -> bool {
    matches!(r, Err(SignError::Pdf(m)) if m.contains("not a tree"))
}

fn is_budget<T: std::fmt::Debug>(r: &Result<T, SignError>) -> bool {
    matches!(r, Err(SignError::Budget(_)))
}

// --- (a) a deflate bomb in an object stream ------------------------------------------------

fn adler32(data: &[u8]) -> (u64, u64) {
    data.iter().fold((1, 0), |(a, b), x| {
        let a = (a + u64::from(*x)) % 65521;
        (a, (b + a) % 65521)
    })
}

/// A zlib stream of `prefix` followed by `mib` MiB of zeros, built without compressing the
/// zeros more than once: 1 MiB of zeros compressed alone, flushed to a byte boundary, is
/// repeated (each copy decodes to the same MiB whatever precedes it).
fn zlib_then_zeros(prefix: &[u8], mib: u64) -> Vec<u8> {
    let deflate = |data: &[u8]| {
        let mut c = Compress::new(Compression::best(), false);
        let mut out = Vec::with_capacity(data.len() / 64 + 4096);
        c.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
        assert_eq!(c.total_in(), data.len() as u64);
        out
    };
    let zeros = deflate(&vec![0u8; 1 << 20]);
    let mut out = vec![0x78, 0xDA];
    out.extend(deflate(prefix));
    for _ in 0..mib {
        out.extend_from_slice(&zeros);
    }
    // An empty final block, then the checksum of prefix + zeros.
    out.extend_from_slice(&[0x03, 0x00]);
    let (a, b) = adler32(prefix);
    let b = (b + ((mib << 20) % 65521) * a) % 65521;
    out.extend_from_slice(&(((b << 16) | a) as u32).to_be_bytes());
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A one-page PDF whose catalog, page tree and page are in an object stream compressed twice
/// (`[/FlateDecode /FlateDecode]`) and padded with `mib` MiB of zeros.
fn object_stream_bomb(mib: u64) -> Vec<u8> {
    let objects = [
        "<</Type/Catalog/Pages 2 0 R>>",
        "<</Type/Pages/Kids[3 0 R]/Count 1>>",
        "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>",
    ];
    let mut header = String::new();
    let mut body = String::new();
    for (i, o) in objects.iter().enumerate() {
        header.push_str(&format!("{} {} ", i + 1, body.len()));
        body.push_str(o);
        body.push('\n');
    }
    let plain = format!("{header}\n{body}");
    let first = header.len() + 1;
    let data = zlib(&zlib_then_zeros(plain.as_bytes(), mib));
    let mut pdf = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let stm_at = pdf.len();
    pdf.extend_from_slice(
        format!(
            "4 0 obj\n<</Type/ObjStm/N 3/First {first}/Filter[/FlateDecode/FlateDecode]/Length {}>>\nstream\n",
            data.len()
        )
        .as_bytes(),
    );
    pdf.extend_from_slice(&data);
    pdf.extend_from_slice(b"\nendstream\nendobj\n");
    let xref_at = pdf.len();
    let mut rows = Vec::new();
    let mut row = |kind: u8, f2: usize, f3: u16| {
        rows.push(kind);
        rows.extend_from_slice(&(f2 as u32).to_be_bytes());
        rows.extend_from_slice(&f3.to_be_bytes());
    };
    row(0, 0, 0xFFFF);
    for i in 0..3 {
        row(2, 4, i);
    }
    row(1, stm_at, 0);
    row(1, xref_at, 0);
    pdf.extend_from_slice(
        format!(
            "5 0 obj\n<</Type/XRef/Size 6/Root 1 0 R/W[1 4 2]/Length {}>>\nstream\n",
            rows.len()
        )
        .as_bytes(),
    );
    pdf.extend_from_slice(&rows);
    pdf.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
    pdf
}

#[test]
fn a_small_twice_deflated_object_stream_reads() {
    // The bomb's construction, below the limits: a valid file.
    let pdf = object_stream_bomb(2);
    let s = check(&pdf).unwrap();
    assert_eq!(s.pages, 1);
    assert!(sign(&pdf).is_ok());
}

#[test]
fn a_deflate_bomb_in_an_object_stream_is_refused_quickly() {
    let pdf = object_stream_bomb(1024);
    assert!(pdf.len() < 8 * 1024, "{} bytes", pdf.len());
    let t = Instant::now();
    let r = check(&pdf);
    assert!(is_budget(&r), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    let r = sign(&pdf);
    assert!(is_budget(&r), "{r:?}");
    // The verifier reports what it can read: here, no signature.
    match verify(&pdf) {
        Err(SignError::Budget(_)) => {}
        Ok(report) => assert!(report.signatures.is_empty() && !report.valid),
        Err(e) => panic!("{e}"),
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The bomb's cost in memory, measured in a process of its own (peak RSS), limited to 2 GiB of
/// address space so that a regression fails there rather than weighing on the machine.
#[test]
fn a_deflate_bomb_costs_bounded_memory() {
    const CHILD: &str = "PARAPHEUR_BOMB_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let pdf = object_stream_bomb(1024);
        let before = peak_rss_kib();
        let t = Instant::now();
        let r = check_pdf(&pdf, &Limits::default());
        let ms = t.elapsed().as_millis();
        println!(
            "bomb: before={before} after={} ms={ms} {r:?}",
            peak_rss_kib()
        );
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("sh")
        .args(["-c", r#"ulimit -v 2097152 && exec "$0" "$@""#])
        .arg(exe)
        .args([
            "--exact",
            "a_deflate_bomb_costs_bounded_memory",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.find("bomb: ").map(|at| &l[at..]))
        .unwrap_or_else(|| panic!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    eprintln!("{line}");
    let field = |k: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    assert!(line.contains("Budget"), "{line}");
    // Default limits: 16 MiB a stream; a Vec grown past it may hold 32 MiB.
    let grown = field("after=").saturating_sub(field("before="));
    assert!(grown < 80 * 1024, "peak RSS grew by {grown} KiB: {line}");
}

// --- (b), (c) page trees that are not trees -------------------------------------------------

/// A page tree of `levels` nodes above one page, each node's /Kids naming the next node twice:
/// 2^levels paths to the same page. /Count is what the unfolded tree would hold.
fn dag_pdf(levels: u32) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let mut child = doc.add_object(dictionary! {
        "Type" => "Page", "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    for i in 1..=levels {
        child = doc.add_object(dictionary! {
            "Type" => "Pages", "Kids" => vec![child.into(), child.into()], "Count" => 1i64 << i,
        });
    }
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => child });
    doc.trailer.set("Root", catalog);
    save(&mut doc)
}

#[test]
fn a_page_tree_dag_of_40_levels_is_refused_quickly_by_the_check_and_by_signing() {
    let pdf = dag_pdf(40);
    let t = Instant::now();
    let r = check(&pdf);
    assert!(not_a_tree(&r), "{r:?}");
    let r = sign(&pdf);
    assert!(not_a_tree(&r), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}

/// The same DAG without any /Count: counting the pages must not unfold it either.
#[test]
fn a_page_tree_dag_without_counts_is_refused_by_signing() {
    let mut doc = Document::load_mem(&dag_pdf(40)).unwrap();
    for o in doc.objects.values_mut() {
        if let Object::Dictionary(d) = o {
            d.remove(b"Count");
        }
    }
    let pdf = save(&mut doc);
    assert!(check(&pdf).is_err());
    let r = sign(&pdf);
    assert!(not_a_tree(&r), "{r:?}");
}

#[test]
fn a_page_tree_cycle_is_refused() {
    let mut doc = Document::with_version("1.7");
    let root = doc.new_object_id();
    let inner = doc.add_object(dictionary! {
        "Type" => "Pages", "Parent" => root, "Kids" => vec![root.into()], "Count" => 1,
    });
    let page = doc.add_object(dictionary! { "Type" => "Page", "Parent" => root });
    doc.objects.insert(
        root,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into(), inner.into()], "Count" => 2,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => root });
    doc.trailer.set("Root", catalog);
    let pdf = save(&mut doc);
    let r = check(&pdf);
    assert!(not_a_tree(&r), "{r:?}");
    // Signing the last page descends into the cycle.
    let r = sign(&pdf);
    assert!(not_a_tree(&r), "{r:?}");
}

#[test]
fn a_form_field_cycle_is_refused_by_the_check() {
    let mut doc = Document::load_mem(&parapheur_test_utils::pdf::small("form")).unwrap();
    let a = doc.new_object_id();
    let b = doc
        .add_object(dictionary! { "T" => Object::string_literal("b"), "Kids" => vec![a.into()] });
    doc.objects.insert(
        a,
        Object::Dictionary(
            dictionary! { "T" => Object::string_literal("a"), "Kids" => vec![b.into()] },
        ),
    );
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    if let Ok(Object::Dictionary(c)) = doc.get_object_mut(root) {
        c.set("AcroForm", dictionary! { "Fields" => vec![a.into()] });
    }
    let r = check(&save(&mut doc));
    assert!(not_a_tree(&r), "{r:?}");
}

// --- (d) too many objects, too deep ------------------------------------------------------------

#[test]
fn too_many_objects_or_entries_and_too_little_time_are_budget_errors() {
    let pdf = parapheur_test_utils::pdf::sample("many", 300, 0);
    assert_eq!(check(&pdf).unwrap().pages, 300);
    let few = |l: Limits| check_with(&pdf, l);
    assert!(is_budget(&few(Limits {
        objects: 100,
        ..Limits::default()
    })));
    assert!(is_budget(&few(Limits {
        xref_entries: 100,
        ..Limits::default()
    })));
    assert!(is_budget(&few(Limits {
        time: Duration::ZERO,
        ..Limits::default()
    })));
}

#[test]
fn a_page_tree_too_deep_is_a_budget_error() {
    let mut doc = Document::with_version("1.7");
    let mut child = doc.add_object(dictionary! { "Type" => "Page" });
    for _ in 0..100 {
        child = doc.add_object(dictionary! {
            "Type" => "Pages", "Kids" => vec![child.into()], "Count" => 1,
        });
    }
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => child });
    doc.trailer.set("Root", catalog);
    let pdf = save(&mut doc);
    assert!(is_budget(&check(&pdf)));
    assert!(is_budget(&sign(&pdf)));
    assert_eq!(
        check_with(
            &pdf,
            Limits {
                depth: 128,
                ..Limits::default()
            }
        )
        .unwrap()
        .pages,
        1
    );
}

#[test]
fn objects_nested_deeply_are_refused_without_overflowing_the_stack() {
    let mut pdf = parapheur_test_utils::pdf::small("deep");
    // An update whose catalog holds an array nested 100,000 deep.
    let doc = Document::load_mem(&pdf).unwrap();
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    let pages = doc
        .get_dictionary(root)
        .unwrap()
        .get(b"Pages")
        .unwrap()
        .as_reference()
        .unwrap();
    let startxref = pdf.len()
        - pdf
            .windows(9)
            .rev()
            .position(|w| w == b"startxref")
            .unwrap()
        - 9;
    let prev: usize = String::from_utf8_lossy(&pdf[startxref + 9..])
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let at = pdf.len();
    let depth = 100_000;
    let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    pdf.extend_from_slice(
        format!(
            "{} 0 obj\n<</Type/Catalog/Pages {} 0 R/X {deep}>>\nendobj\n",
            root.0, pages.0
        )
        .as_bytes(),
    );
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!(
            "xref\n{} 1\n{at:010} 00000 n \ntrailer\n<</Size {}/Root {} 0 R/Prev {prev}>>\nstartxref\n{xref}\n%%EOF\n",
            root.0,
            doc.max_id + 1,
            root.0
        )
        .as_bytes(),
    );
    assert!(check(&pdf).is_err());
    assert!(sign(&pdf).is_err());
}

// --- (e) valid files pass ---------------------------------------------------------------------

#[test]
fn valid_files_pass_the_check_before_and_after_signing() {
    let mut modern = Vec::new();
    Document::load_mem(&parapheur_test_utils::pdf::sample("modern", 12, 0))
        .unwrap()
        .save_modern(&mut modern)
        .unwrap();
    for (name, pdf, pages) in [
        ("small", parapheur_test_utils::pdf::small("small"), 1),
        (
            "sample",
            parapheur_test_utils::pdf::sample("s", 40, 5000),
            40,
        ),
        ("object streams", modern, 12),
    ] {
        let s = check(&pdf).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.pages, pages, "{name}");
        assert!(!s.encrypted);
        let signed = sign(&pdf).unwrap();
        let s = check(&signed).unwrap_or_else(|e| panic!("{name} signed: {e}"));
        assert_eq!(s.pages, pages, "{name} signed");
        assert_eq!(s.form_fields, 1, "{name} signed");
        let signed = sign(&signed).unwrap();
        assert_eq!(
            check(&signed).unwrap().form_fields,
            2,
            "{name} signed twice"
        );
    }
}

#[test]
fn not_pdfs_and_truncated_pdfs_are_refused() {
    let pdf = parapheur_test_utils::pdf::small("x");
    assert!(check(b"hello, not a pdf").is_err());
    assert!(check(&pdf[..pdf.len() / 2]).is_err());
    assert!(check(b"%PDF-1.7\n%%EOF\n").is_err());
}

/// A file encrypted with an owner password only (qpdf, AES-256), its objects in object streams or
/// not: the check decrypts the object streams and reads the page tree.
#[test]
fn owner_password_only_encrypted_files_pass_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.pdf");
    std::fs::write(&src, parapheur_test_utils::pdf::sample("enc", 3, 0)).unwrap();
    for streams in ["disable", "generate"] {
        let out = dir.path().join(format!("{streams}.pdf"));
        let st = std::process::Command::new("qpdf")
            .args(["--encrypt", "", "owner", "256", "--"])
            .arg(format!("--object-streams={streams}"))
            .arg(&src)
            .arg(&out)
            .status()
            .expect("qpdf (Debian qpdf) is required by these tests");
        assert!(st.success());
        let s = check(&std::fs::read(&out).unwrap()).unwrap_or_else(|e| panic!("{streams}: {e}"));
        assert_eq!((s.pages, s.encrypted), (3, true), "{streams}");
    }
}
