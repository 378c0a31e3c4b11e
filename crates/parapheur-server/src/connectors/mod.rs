//! Outgoing transports (connectors): e-mail, SMS, the Helios transmitter and document
//! delivery, each behind a trait chosen from the configuration at start-up.

pub mod delivery;
pub mod ldap;
pub mod mail;
pub mod s2low_answers;
pub mod sms;
pub mod transmitter;

/// A failed delivery. Transient failures are retried; permanent ones (the provider refuses
/// the message itself) are recorded as failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub transient: bool,
    pub message: String,
}

impl SendError {
    pub fn transient(m: impl Into<String>) -> Self {
        Self {
            transient: true,
            message: m.into(),
        }
    }
    pub fn permanent(m: impl Into<String>) -> Self {
        Self {
            transient: false,
            message: m.into(),
        }
    }
    /// Classifies an HTTP answer: 2xx ok; 408, 429 and 5xx transient; other 4xx permanent.
    pub fn from_http(status: reqwest::StatusCode, body: &str) -> Result<(), Self> {
        if status.is_success() {
            return Ok(());
        }
        let m = format!(
            "HTTP {status}: {}",
            body.chars().take(300).collect::<String>()
        );
        if status.is_server_error()
            || status == reqwest::StatusCode::REQUEST_TIMEOUT
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        {
            Err(Self::transient(m))
        } else {
            Err(Self::permanent(m))
        }
    }
}

/// A fresh `Message-ID` (128 random bits).
pub fn new_message_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!("{}@parapheur", hex::encode(b))
}

/// Writes `bytes` to `path` durably: temporary file, fsync, rename, directory fsync.
pub(crate) fn write_durably(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = write_renamed(path, bytes)?;
    std::fs::File::open(dir)?.sync_all()
}

/// `write_durably` but the directory fsync, left to the caller: temporary file, fsync, rename.
/// Gives the directory.
fn write_renamed<'p>(
    path: &'p std::path::Path,
    bytes: &[u8],
) -> std::io::Result<&'p std::path::Path> {
    use std::io::Write;
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent directory"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out")
    ));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(dir)
}

/// Durable writes into one directory whose directory fsyncs are shared by concurrent writers
/// (a group commit of renames): a writer returns once an fsync of the directory that started
/// after its rename has returned; one fsync runs at a time and covers every rename before it.
#[derive(Debug)]
pub(crate) struct SharedDirSync {
    dir: std::path::PathBuf,
    /// Renames done so far.
    renamed: std::sync::atomic::AtomicU64,
    /// How many of them an fsync of the directory covered.
    synced: tokio::sync::Mutex<u64>,
    /// Directory fsyncs run (read by the tests).
    fsyncs: std::sync::atomic::AtomicU64,
}

impl SharedDirSync {
    pub(crate) fn new(dir: std::path::PathBuf) -> Self {
        Self {
            dir,
            renamed: 0.into(),
            synced: tokio::sync::Mutex::new(0),
            fsyncs: 0.into(),
        }
    }

    /// Writes `bytes` to the file `name` of the directory durably.
    pub(crate) async fn write(&self, name: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        let path = self.dir.join(name);
        tokio::task::spawn_blocking(move || write_renamed(&path, &bytes).map(|_| ()))
            .await
            .map_err(std::io::Error::other)??;
        self.after_rename().await
    }

    /// Once a file was renamed into the directory: returns when an fsync of the directory
    /// started after the rename has returned.
    async fn after_rename(&self) -> std::io::Result<()> {
        use std::sync::atomic::Ordering::SeqCst;
        let mine = self.renamed.fetch_add(1, SeqCst) + 1;
        let mut synced = self.synced.lock().await;
        if *synced >= mine {
            return Ok(());
        }
        // Every rename counted here finished before this fsync starts.
        let upto = self.renamed.load(SeqCst);
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
            .await
            .map_err(std::io::Error::other)??;
        self.fsyncs.fetch_add(1, SeqCst);
        *synced = upto;
        Ok(())
    }

    #[cfg(test)]
    pub(crate) fn fsyncs(&self) -> u64 {
        self.fsyncs.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::SharedDirSync;

    #[tokio::test(flavor = "current_thread")]
    async fn concurrent_writers_share_the_directory_fsyncs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        let sync = SharedDirSync::new(dir.path().join("out"));
        // Sixteen renames at once: the first one's fsync covers its own rename; the second's,
        // started once the other fifteen renamed, covers them all.
        let renames = (0..16).map(|_| sync.after_rename());
        for r in futures_util::future::join_all(renames).await {
            r.unwrap();
        }
        assert_eq!(sync.fsyncs(), 2);
        // Whole writes, each durable when it returns, whatever their interleaving.
        let writes = (0..16).map(|i| sync.write_owned(i));
        for r in futures_util::future::join_all(writes).await {
            r.unwrap();
        }
        let after = sync.fsyncs();
        assert!((3..=18).contains(&after), "{after} fsyncs");
        for i in 0..16 {
            let bytes = std::fs::read(dir.path().join(format!("out/m{i}.eml"))).unwrap();
            assert_eq!(bytes, format!("message {i}").into_bytes());
        }
        // A later rename needs a later fsync.
        sync.write("late.eml", b"late".to_vec()).await.unwrap();
        assert_eq!(sync.fsyncs(), after + 1);
        let left: Vec<_> = std::fs::read_dir(dir.path().join("out"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "no temporary file is left");
    }

    impl SharedDirSync {
        async fn write_owned(&self, i: usize) -> std::io::Result<()> {
            self.write(&format!("m{i}.eml"), format!("message {i}").into_bytes())
                .await
        }
    }
}
