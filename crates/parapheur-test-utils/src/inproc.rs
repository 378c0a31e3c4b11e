//! The server run inside the test process: its own tokio runtime, the real router and background
//! tasks on a 127.0.0.1 port, stopped when dropped.

use parapheur_server::state::AppState;
use parapheur_server::{bind_early, config::Config, open_state, provision, serve_until};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server started from a configuration file as `parapheur serve --config` does, in this process.
pub struct InProcess {
    rt: Option<Runtime>,
    state: Option<AppState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    /// `http://127.0.0.1:<port>` (or `https://` with `[tls]`).
    pub base: String,
}

impl InProcess {
    /// Loads the configuration (file and `PARAPHEUR_*` variables), opens the state, applies the
    /// provisioning file and serves, as the binary's `serve` command.
    pub fn start(config: &Path) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("parapheur-app")
            .enable_all()
            .build()
            .expect("tokio runtime");
        let mut cfg = Config::load(Some(config)).unwrap_or_else(|e| panic!("configuration: {e}"));
        let listener = bind_early(&mut cfg).unwrap_or_else(|e| panic!("binding: {e:#}"));
        let scheme = if cfg.tls.cert.is_empty() {
            "http"
        } else {
            "https"
        };
        let base = format!("{scheme}://{}", cfg.listen);
        let provision_file = cfg.provision.clone();
        let state = rt.block_on(async move {
            let state = open_state(cfg)
                .await
                .unwrap_or_else(|e| panic!("parapheur did not start: {e:#}"));
            if let Some(f) = provision_file {
                provision::apply_file(&state.db, &state.pki, &f)
                    .await
                    .unwrap_or_else(|e| panic!("provisioning: {e}"));
            }
            state
        });
        let recovering = state.clone();
        rt.spawn(async move {
            parapheur_server::service::automatic::recover(&recovering).await;
        });
        let listener = {
            let _entered = rt.enter();
            tokio::net::TcpListener::from_std(listener).expect("listener")
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = rt.spawn(serve_until(state.clone(), listener, async move {
            let _ = stopped.await;
        }));
        Self {
            rt: Some(rt),
            state: Some(state),
            stop: Some(stop),
            task: Some(task),
            base,
        }
    }

    /// Runs `f` with the server's state on its runtime (to run a periodic task's body now).
    pub fn run<T, F: std::future::Future<Output = T>>(&self, f: impl FnOnce(AppState) -> F) -> T {
        let (Some(rt), Some(state)) = (&self.rt, &self.state) else {
            panic!("the server is stopped");
        };
        rt.block_on(f(state.clone()))
    }

    /// Runs every job due now (and those they enqueue) and waits for jobs the background worker
    /// holds, until no pending job is due. Jobs scheduled later (retries) stay scheduled.
    pub fn run_pending_jobs(&self) {
        let (Some(rt), Some(state)) = (&self.rt, &self.state) else {
            panic!("the server is stopped");
        };
        rt.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                parapheur_server::worker::run_due(state).await;
                if due_or_running(state).await == 0 {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "jobs still due or running after 30 s"
                );
                // Another worker (the background one) holds a job: poll until it finishes.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }
}

/// Pending jobs whose time has come: not yet claimed, or claimed and running.
async fn due_or_running(state: &AppState) -> i64 {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM jobs WHERE status = 'pending' AND run_at <= $1")
            .bind(parapheur_store::now_ms())
            .fetch_one(&state.db.write)
            .await
            .expect("counting jobs");
    n
}

impl Drop for InProcess {
    fn drop(&mut self) {
        let Some(rt) = self.rt.take() else {
            return;
        };
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take();
        let state = self.state.take();
        rt.block_on(async move {
            if let Some(t) = task {
                let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
            }
            if let Some(s) = state {
                s.db.read.close().await;
                s.db.write.close().await;
            }
        });
        rt.shutdown_timeout(Duration::from_secs(5));
    }
}
