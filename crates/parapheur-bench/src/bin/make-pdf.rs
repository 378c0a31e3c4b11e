//! `make-pdf OUT [--size BYTES] [--pages N]`: writes a valid multi-page text PDF of at least
//! BYTES (default 100 KiB) with the server's own generator, so that the upload check accepts it;
//! with `--pages`, exactly N pages of one line each (the tests' lopdf generator), padded to BYTES
//! — many small pages, as a scanned or merged deliberation has.

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
struct Args {
    out: PathBuf,
    #[arg(long, default_value_t = 100 * 1024)]
    size: usize,
    /// Exactly this many pages (else as many as the text of BYTES fills).
    #[arg(long)]
    pages: Option<usize>,
}

/// Lines of pseudo-random words: the content streams are deflated, so plain repeated text would
/// need megabytes of lines to reach the target size.
fn lines(n: usize) -> Vec<String> {
    const WORDS: [&str; 16] = [
        "délibération",
        "conseil",
        "municipal",
        "convention",
        "article",
        "budget",
        "commune",
        "approuve",
        "marché",
        "public",
        "séance",
        "vote",
        "unanimité",
        "annexe",
        "travaux",
        "subvention",
    ];
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..n)
        .map(|i| {
            let mut s = format!("{i:05} ");
            for _ in 0..12 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(WORDS[(x % 16) as usize]);
                s.push(' ');
                s.push_str(&format!("{:x} ", x >> 48));
            }
            s
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let title = "Délibération de test (benchmark)";
    let mut n = 64;
    let pdf = if let Some(pages) = args.pages {
        let bare = parapheur_test_utils::pdf::sample(title, pages, 0).len();
        parapheur_test_utils::pdf::sample(title, pages, args.size.saturating_sub(bare))
    } else {
        loop {
            let body = lines(n);
            let refs: Vec<&str> = body.iter().map(String::as_str).collect();
            let pdf = parapheur_server::pdfgen::text_pdf(title, &refs)?;
            if pdf.len() >= args.size {
                break pdf;
            }
            n = n * args.size / pdf.len().max(1) + 8;
        }
    };
    // The server parses every uploaded PDF: report what that costs for this one.
    let runs = 20;
    let start = std::time::Instant::now();
    for _ in 0..runs {
        parapheur_server::files::check_pdf(&pdf).map_err(anyhow::Error::msg)?;
    }
    let check_ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
    std::fs::write(&args.out, &pdf).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{}: {} bytes, {} pages; check_pdf {check_ms:.2} ms",
        args.out.display(),
        pdf.len(),
        lopdf::Document::load_mem(&pdf)?.get_pages().len()
    );
    Ok(())
}
