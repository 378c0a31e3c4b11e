//! PDF pages rendered to PNG for the portal's preview, with poppler's `pdftoppm` and `pdfinfo`
//! when they are installed (Debian `poppler-utils`; the Dockerfile installs it): tablets whose
//! browsers show no PDF inline still see the document. Without them the portal falls back to the
//! browser's own viewer. The PDF is piped in and the image piped out (no temporary file); a
//! render is bounded in time and in number at once.

use crate::error::ApiError;
use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
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

/// The number of pages of a PDF.
pub async fn page_count(pdf: &[u8]) -> Result<u32, ApiError> {
    let info = pipe("pdfinfo", &["-"], pdf).await?;
    String::from_utf8_lossy(&info)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").and_then(|n| n.trim().parse().ok()))
        .ok_or_else(|| ApiError::InvalidFile("no page count".into()))
}

/// The page count of a stored PDF (0 when it cannot be read), remembered per blob key (a blob
/// never changes).
pub async fn page_total(state: &crate::state::AppState, blob_key: &str) -> u32 {
    static COUNTS: OnceLock<Mutex<HashMap<String, u32>>> = OnceLock::new();
    let counts = COUNTS.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(n) = counts.lock().ok().and_then(|m| m.get(blob_key).copied()) {
        return n;
    }
    let Ok(bytes) = crate::service::get_blob(state, blob_key).await else {
        return 0;
    };
    let n = page_count(&bytes).await.unwrap_or(0);
    if let Ok(mut m) = counts.lock() {
        if m.len() > 10_000 {
            m.clear();
        }
        m.insert(blob_key.to_owned(), n);
    }
    n
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
        assert_eq!(page_count(&pdf).await.ok(), Some(1));
        let png = render(&pdf, 1).await.unwrap_or_default();
        assert!(png.starts_with(b"\x89PNG"));
        assert!(page_count(b"%PDF-1.7 not really").await.is_err());
    }
}
