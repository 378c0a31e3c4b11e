//! The `parapheur` command line: serve, demo, provision, gen-config.

use clap::{Parser, Subcommand};
use parapheur_server::config::{Config, ConfigFile, EXAMPLE};
use parapheur_server::{bind_early, demo, open_state, provision, serve_on};
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: a request allocates and frees many small
/// objects (headers, the caller, the answer), and glibc's malloc took about a tenth of the
/// history route's samples under load (BENCHMARKS.md, issue 22).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "parapheur",
    version,
    about = "A FAST-compatible parapheur électronique"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (API and background work).
    Serve {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run on embedded defaults with a built-in demo provisioning.
    Demo {
        #[arg(long)]
        listen: Option<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Apply a provisioning file idempotently, then exit.
    Provision {
        file: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print a commented example configuration.
    GenConfig,
    /// Back up the embedded setup (SQLite, the blob directory, a local archive vault) into a
    /// new directory, consistently, while the server runs.
    Backup {
        dir: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Restore a backup into the (empty) database and directories the configuration names.
    Restore {
        dir: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Check the configuration, the files it names and the provisioning (applied to a
    /// throwaway database), and print the effective configuration, secrets redacted. Exits 1
    /// when something is wrong.
    CheckConfig {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

use parapheur_server::telemetry::Telemetry;

fn init_tracing(filter: &str, format: parapheur_server::config::LogFormat) {
    let _ = init_tracing_with(filter, format, None);
}

/// Logs to stderr (text or JSON) and, when `telemetry` names an OTLP endpoint, spans to it.
fn init_tracing_with(
    filter: &str,
    format: parapheur_server::config::LogFormat,
    telemetry: Option<&parapheur_server::config::TelemetryConfig>,
) -> Result<Option<Telemetry>, String> {
    use parapheur_server::config::LogFormat;
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let logs = match format {
        // Colours only for a terminal: a log file or a journal gets plain text.
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .boxed(),
        // One JSON object a line, with the fields of the current span (the request id).
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .boxed(),
    };
    let started = match telemetry {
        Some(t) => parapheur_server::telemetry::start(t)?,
        None => None,
    };
    let (provider, handle) = started.unzip();
    let _ = match provider {
        // `log` filters the logs only: the spans of requests and jobs (info) are exported
        // whatever it says.
        Some(p) => tracing_subscriber::registry()
            .with(logs.with_filter(filter))
            .with(
                parapheur_server::telemetry::layer(&p)
                    .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
            )
            .try_init(),
        // Without export, `log` is the global filter: what it disables is never even built
        // (an absent layer beside a filtered one would enable every callsite).
        None => tracing_subscriber::registry()
            .with(logs)
            .with(filter)
            .try_init(),
    };
    Ok(handle)
}

/// Sends the spans still queued before the process exits.
async fn flush(telemetry: Option<Telemetry>) {
    if let Some(t) = telemetry {
        let _ = tokio::task::spawn_blocking(move || t.shutdown()).await;
    }
}

fn load(config: Option<&std::path::Path>) -> Result<Config, String> {
    Config::load(config).map_err(|e| e.to_string())
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::GenConfig => {
            print!("{EXAMPLE}");
            Ok(())
        }
        Command::Backup { dir, config } => {
            let cfg = load(config.as_deref())?;
            init_tracing(&cfg.log, cfg.log_format);
            let m = parapheur_server::backup::backup(&cfg, &dir)
                .await
                .map_err(|e| format!("backup: {e}"))?;
            println!(
                "backup written to {}: {} document(s), {} file(s), {} bytes{}",
                dir.display(),
                m.documents,
                m.files,
                m.bytes,
                if m.vault { ", the archive vault" } else { "" }
            );
            Ok(())
        }
        Command::Restore { dir, config } => {
            let cfg = load(config.as_deref())?;
            init_tracing(&cfg.log, cfg.log_format);
            let m = parapheur_server::backup::restore(&cfg, &dir)
                .await
                .map_err(|e| format!("restore: {e}"))?;
            println!(
                "restored {} (made by parapheur {} at {}): {} document(s), {} file(s)",
                dir.display(),
                m.version,
                m.created_at,
                m.documents,
                m.files
            );
            Ok(())
        }
        Command::CheckConfig { config } => {
            let cfg = load(config.as_deref())?;
            println!("# effective configuration (secrets redacted)\n{cfg:#?}\n");
            let checked = parapheur_server::check::check(&cfg).await;
            println!("# checks");
            for l in &checked.lines {
                println!("{l}");
            }
            if checked.ok {
                println!("configuration OK");
                Ok(())
            } else {
                Err("the configuration has errors (above)".into())
            }
        }
        Command::Serve { config } => {
            let mut cfg = load(config.as_deref())?;
            let telemetry = init_tracing_with(&cfg.log, cfg.log_format, Some(&cfg.telemetry))?;
            let listener = bind_early(&mut cfg).map_err(|e| format!("{e:#}"))?;
            let provision_file = cfg.provision.clone();
            let state = open_state(cfg).await.map_err(|e| format!("{e:#}"))?;
            if let Some(f) = provision_file {
                provision::apply_file(&state.db, &state.pki, &f)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            // Automatic steps left pending by a crash run beside the server (their transitions
            // are versioned like any other), so a large database does not delay the start.
            let recovering = state.clone();
            tokio::spawn(async move {
                parapheur_server::service::automatic::recover(&recovering).await;
            });
            let listener =
                tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
            let served = serve_on(state, listener).await;
            flush(telemetry).await;
            served.map_err(|e| format!("{e:#}"))
        }
        Command::Demo {
            listen,
            data_dir,
            config,
        } => {
            let mut file = ConfigFile::load(config.as_deref()).map_err(|e| e.to_string())?;
            if let Some(l) = listen {
                file.listen = l;
                file.public_url = String::new();
            }
            if let Some(d) = data_dir {
                // Every path derived from the data directory moves with it.
                file.data_dir = d;
                file.database_url = None;
                file.database_url_file = None;
                file.blob_url = String::new();
                file.mail.outbox_dir = String::new();
                file.sms.outbox_file = String::new();
                file.archive.vault_url = String::new();
                file.deliver.outbox_dir = String::new();
            }
            // The demo timestamps its signatures (PAdES B-T) with the built-in authority.
            if file.signing.tsa_url.is_empty() && file.signing.level.is_empty() {
                file.signing.tsa_url = "internal".into();
            }
            let mut cfg = file.parse().map_err(|e| format!("demo: {e}"))?;
            let telemetry = init_tracing_with(&cfg.log, cfg.log_format, Some(&cfg.telemetry))?;
            // Bind first so that the printed URLs carry the real port (e.g. with --listen :0).
            let listener = bind_early(&mut cfg).map_err(|e| format!("{e:#}"))?;
            let state = open_state(cfg).await.map_err(|e| format!("{e:#}"))?;
            let text = demo::prepare(&state.cfg, &state.db, &state.pki)
                .await
                .map_err(|e| format!("{e:#}"))?;
            println!("{text}");
            let listener =
                tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
            let served = serve_on(state, listener).await;
            flush(telemetry).await;
            served.map_err(|e| format!("{e:#}"))
        }
        Command::Provision { file, config } => {
            let cfg = load(config.as_deref())?;
            init_tracing(&cfg.log, cfg.log_format);
            let state = open_state(cfg).await.map_err(|e| format!("{e:#}"))?;
            provision::apply_file(&state.db, &state.pki, &file)
                .await
                .map_err(|e| e.to_string())?;
            println!("{}: applied", file.display());
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("parapheur: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parapheur: {e}");
            ExitCode::FAILURE
        }
    }
}
