//! `seal-file make SIZE OUT.pdf [IMAGES]` writes a PDF of about SIZE bytes (its bulk in IMAGES
//! images, 1 by default); `seal-file seal IN.pdf OUT.pdf`
//! seals it (PAdES B-B, RSA-2048 seal from a throw-away CA) the way the server does: the input
//! is held once in memory and the signed revision is appended to it on disk.

use anyhow::{Context, bail};
use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
use parapheur_sign::pades::{SignOptions, sign_suffix};
use std::io::Write;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("make") if args.len() == 4 || args.len() == 5 => {
            let size: usize = args[2].parse().context("SIZE")?;
            let images: usize = args
                .get(4)
                .map(|n| n.parse())
                .transpose()
                .context("IMAGES")?
                .unwrap_or(1);
            std::fs::write(
                &args[3],
                parapheur_bench::pdf_of_size_with_images(size, images)?,
            )
            .context("writing the PDF")?;
        }
        Some("seal") if args.len() == 4 => {
            let dir = tempfile::tempdir()?;
            let ca = InternalCa::open_or_create(dir.path(), "seal-file CA")?;
            let subject = Subject {
                common_name: "Commune".into(),
                email: None,
                organization: None,
                organization_id: None,
            };
            let seal = ca.issue(&subject, KeyKind::Seal)?;
            let input = std::fs::read(&args[2]).context("reading the input")?;
            let t = std::time::Instant::now();
            let suffix = sign_suffix(&input, &seal, &SignOptions::new("Commune"))?;
            let elapsed = t.elapsed();
            let mut out = std::fs::File::create(&args[3])?;
            out.write_all(&input)?;
            out.write_all(&suffix)?;
            out.sync_all()?;
            println!(
                "sealed {} bytes in {:.1} ms",
                input.len(),
                elapsed.as_secs_f64() * 1000.0
            );
        }
        _ => bail!("usage: seal-file make SIZE OUT.pdf [IMAGES] | seal-file seal IN.pdf OUT.pdf"),
    }
    Ok(())
}
