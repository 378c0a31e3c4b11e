//! Provisioned data directories shared by the in-process apps of one test binary (SQLite): the
//! first app of a configuration and provisioning is provisioned as usual, then its database (the
//! internal CA's keys included) is copied; the next ones start from the copy, without migrating
//! again or hashing every provisioned password with argon2 again.

use crate::inproc::InProcess;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Saved templates by key (configuration, provisioning and its files).
static TEMPLATES: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

/// The key of an app's starting state.
pub fn key(extra_config: &str, provisioning: &str, files: &[(&str, Vec<u8>)]) -> String {
    let mut k = format!("{extra_config}\u{0}{provisioning}");
    for (name, bytes) in files {
        k.push_str(&format!(
            "\u{0}{name}\u{0}{}",
            String::from_utf8_lossy(bytes)
        ));
    }
    k
}

/// Copies the template of `key` into `data_dir`, if there is one.
pub fn restore(key: &str, data_dir: &Path) -> bool {
    let Some(from) = TEMPLATES
        .lock()
        .ok()
        .and_then(|t| t.as_ref().and_then(|m| m.get(key).cloned()))
    else {
        return false;
    };
    copy_dir(&from, data_dir);
    true
}

/// Saves the state of a freshly provisioned app (nothing done on it yet) as the template of `key`:
/// its database, which holds the internal CA's keys too.
pub fn save(key: &str, _data_dir: &Path, app: &InProcess) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = root().join(NEXT.fetch_add(1, Ordering::Relaxed).to_string());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("template dir");
    let db = dir.join("parapheur.db");
    let into = db.display().to_string().replace('\'', "''");
    app.run(|s| async move {
        sqlx::query(&format!("VACUUM INTO '{into}'"))
            .execute(&s.db.write)
            .await
            .expect("copying the template database");
    });
    if let Ok(mut t) = TEMPLATES.lock() {
        t.get_or_insert_with(HashMap::new)
            .insert(key.to_owned(), dir);
    }
}

/// `<tmp>/parapheur-test-templates/<pid>`, after removing those of finished processes.
fn root() -> PathBuf {
    let base = std::env::temp_dir().join("parapheur-test-templates");
    if let Ok(d) = std::fs::read_dir(&base) {
        for e in d.flatten() {
            let pid = e.file_name().to_string_lossy().into_owned();
            if !Path::new("/proc").join(&pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    base.join(std::process::id().to_string())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    for e in entries.flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy template file");
        }
    }
}
