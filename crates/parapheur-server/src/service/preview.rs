//! PDF pages rendered to PNG for the portal's preview, with poppler's `pdftoppm` and `pdfinfo`
//! when they are installed (Debian `poppler-utils`; the Dockerfile installs it): tablets whose
//! browsers show no PDF inline still see the document. Without them the portal falls back to the
//! browser's own viewer. The PDF is piped in and the image piped out (no temporary file); a
//! render is bounded in time and in number at once.

use crate::error::ApiError;
use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

/// Pages shown on the document page; beyond, the PDF itself is offered.
pub const MAX_PAGES: u32 = 50;
/// Resolution of the rendered pages (dots per inch): an A4 page is about 660 × 930 pixels.
const DPI: &str = "80";
const TIMEOUT: Duration = Duration::from_secs(20);

fn renders() -> &'static Semaphore {
    static S: OnceLock<Semaphore> = OnceLock::new();
    S.get_or_init(|| Semaphore::new(2))
}

/// Whether `pdftoppm` and `pdfinfo` can be run (checked once).
pub fn available() -> bool {
    static A: OnceLock<bool> = OnceLock::new();
    *A.get_or_init(|| {
        ["pdftoppm", "pdfinfo"].iter().all(|p| {
            std::process::Command::new(p)
                .arg("-v")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    })
}

/// Memory (address space) and CPU seconds a renderer may use: poppler parses untrusted PDFs.
const RENDER_MEMORY: &str = "--as=2147483648";
const RENDER_CPU: &str = "--cpu=20";

/// Whether util-linux's `prlimit` can put the renderers under those limits (checked once).
fn prlimit() -> bool {
    static P: OnceLock<bool> = OnceLock::new();
    *P.get_or_init(|| {
        std::process::Command::new("prlimit")
            .args([RENDER_MEMORY, RENDER_CPU, "--", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Runs `program args` with `input` on stdin, under the renderers' limits when `prlimit` is
/// there; its stdout.
async fn pipe(program: &str, args: &[&str], input: &[u8]) -> Result<Vec<u8>, ApiError> {
    let _permit = renders()
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let mut command = if prlimit() {
        let mut c = tokio::process::Command::new("prlimit");
        c.args([RENDER_MEMORY, RENDER_CPU, "--", program]);
        c
    } else {
        tokio::process::Command::new(program)
    };
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{program}: {e}")))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("{program}: no stdin")))?;
    let input = input.to_vec();
    // Written while the output is read, so that neither pipe fills up.
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&input).await;
    });
    let out = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("{program}: timed out")))?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{program}: {e}")))?;
    let _ = writer.await;
    if !out.status.success() {
        return Err(ApiError::InvalidFile(format!(
            "{program} could not read the PDF"
        )));
    }
    Ok(out.stdout)
}

/// What the document page needs to lay out a PDF's preview before any image has loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// The PDF's number of pages.
    pub total: u32,
    /// The size in pixels (width, height) of each of the first [`MAX_PAGES`] pages as
    /// [`render`] draws them (rotation applied), so that the page reserves each image's box and
    /// nothing below it moves while the images load.
    pub sizes: Vec<(u32, u32)>,
}

/// The layout of a PDF's preview, read by `pdfinfo`.
pub async fn layout(pdf: &[u8]) -> Result<Layout, ApiError> {
    let last = MAX_PAGES.to_string();
    let info = pipe("pdfinfo", &["-f", "1", "-l", &last, "-"], pdf).await?;
    parse_layout(&String::from_utf8_lossy(&info))
        .ok_or_else(|| ApiError::InvalidFile("no page count".into()))
}

/// `pdfinfo -f 1 -l N`'s answer: `Pages:` and, per page, `Page    2 size:  612 x 792 pts` and
/// `Page    2 rot:   90`. `None` without a page count.
fn parse_layout(info: &str) -> Option<Layout> {
    let dpi: f64 = DPI.parse().ok()?;
    let total: u32 = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").and_then(|n| n.trim().parse().ok()))?;
    let shown = usize::try_from(total.min(MAX_PAGES)).unwrap_or(0);
    let mut sizes: Vec<(u32, u32)> = Vec::with_capacity(shown);
    for line in info.lines() {
        let Some(rest) = line.strip_prefix("Page ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let (Some(n), Some(what)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<usize>() else {
            continue;
        };
        match what {
            "size:" => {
                let w = words.next().and_then(|w| w.parse::<f64>().ok());
                let x = words.next();
                let h = words.next().and_then(|h| h.parse::<f64>().ok());
                let (Some(w), Some("x"), Some(h)) = (w, x, h) else {
                    continue;
                };
                // As poppler sizes its bitmap: rounded up.
                let px = |pts: f64| (pts * dpi / 72.0 - 1e-6).ceil().clamp(1.0, 100_000.0) as u32;
                // Only the pages shown, whatever else the output holds (a title may hold lines).
                if n == sizes.len() + 1 && sizes.len() < shown {
                    sizes.push((px(w), px(h)));
                }
            }
            "rot:" => {
                let quarter = words
                    .next()
                    .and_then(|r| r.parse::<i64>().ok())
                    .is_some_and(|r| r.rem_euclid(180) == 90);
                if quarter && let Some(size) = sizes.get_mut(n.wrapping_sub(1)) {
                    *size = (size.1, size.0);
                }
            }
            _ => {}
        }
    }
    Some(Layout { total, sizes })
}

/// The preview layout of a stored PDF (no pages when it cannot be read), remembered per blob
/// key (a blob never changes); a failure to run `pdfinfo` is not remembered.
pub async fn stored_layout(state: &crate::state::AppState, blob_key: &str) -> Arc<Layout> {
    static LAYOUTS: OnceLock<Mutex<HashMap<String, Arc<Layout>>>> = OnceLock::new();
    let layouts = LAYOUTS.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(l) = layouts.lock().ok().and_then(|m| m.get(blob_key).cloned()) {
        return l;
    }
    let Ok(bytes) = crate::service::get_blob(state, blob_key).await else {
        return Arc::default();
    };
    let l = match layout(&bytes).await {
        Ok(l) => Arc::new(l),
        // A PDF poppler cannot read stays without preview pages.
        Err(ApiError::InvalidFile(_)) => Arc::default(),
        // A timeout or a failure to run pdfinfo is not remembered: the next view tries again.
        Err(e) => {
            tracing::warn!(error = ?e, "the preview's page sizes could not be read");
            return Arc::default();
        }
    };
    if let Ok(mut m) = layouts.lock() {
        if m.len() > 10_000 {
            m.clear();
        }
        m.insert(blob_key.to_owned(), Arc::clone(&l));
    }
    l
}

/// Page `page` (from 1) as a PNG.
pub async fn render(pdf: &[u8], page: u32) -> Result<Vec<u8>, ApiError> {
    let n = page.to_string();
    let png = pipe(
        "pdftoppm",
        &["-png", "-r", DPI, "-f", &n, "-l", &n, "-singlefile", "-"],
        pdf,
    )
    .await?;
    if !png.starts_with(b"\x89PNG") {
        return Err(ApiError::NotFound);
    }
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_are_read_and_rendered_under_the_limits() {
        assert!(
            available(),
            "poppler-utils (pdftoppm, pdfinfo) is required: scripts/test.sh installs it"
        );
        assert!(prlimit(), "util-linux prlimit is expected on Debian");
        let pdf = crate::pdfgen::text_pdf("Aperçu", &["une ligne"]).unwrap_or_default();
        let l = layout(&pdf).await.unwrap_or_default();
        assert_eq!(l.total, 1);
        let png = render(&pdf, 1).await.unwrap_or_default();
        assert!(png.starts_with(b"\x89PNG"));
        // The box the page reserves is the image's own size.
        let drawn = png.get(16..24).map(|b| {
            (
                u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            )
        });
        let (w, h) = drawn.unwrap_or_default();
        let (lw, lh) = l.sizes.first().copied().unwrap_or_default();
        assert!(
            w.abs_diff(lw) <= 1 && h.abs_diff(lh) <= 1,
            "drawn {w}×{h}, laid out {lw}×{lh}"
        );
        assert!(layout(b"%PDF-1.7 not really").await.is_err());
    }

    #[test]
    fn sizes_are_in_pixels_with_the_rotation_applied() {
        let info = "Producer:        qpdf\nPages:           3\nPage    1 size:  612 x 792 pts (letter)\n\
                    Page    1 rot:   0\nPage    2 size:  612 x 792 pts (letter)\nPage    2 rot:   270\n\
                    Page    3 size:  595.276 x 841.89 pts (A4)\nPage    3 rot:   180\nFile size:       1234 bytes\n";
        let l = parse_layout(info).unwrap_or_default();
        assert_eq!(l.total, 3);
        assert_eq!(l.sizes, [(680, 880), (880, 680), (662, 936)]);
        // More pages than shown: only the first MAX_PAGES are laid out.
        let mut many = format!("Pages: {}\n", MAX_PAGES + 5);
        for n in 1..=MAX_PAGES + 5 {
            many.push_str(&format!("Page {n} size: 72 x 144 pts\nPage {n} rot: 0\n"));
        }
        let l = parse_layout(&many).unwrap_or_default();
        assert_eq!(l.total, MAX_PAGES + 5);
        assert_eq!(l.sizes.len(), MAX_PAGES as usize);
        assert_eq!(l.sizes[0], (80, 160));
        assert_eq!(parse_layout("Producer: x\n"), None);
    }
}
