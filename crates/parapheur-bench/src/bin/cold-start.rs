//! `cold-start --addr HOST:PORT [--runs N] -- COMMAND ARGS...`: launches COMMAND, polls
//! `GET /healthz` on HOST:PORT every millisecond until it answers 200, records the time since the
//! launch, stops the process (SIGTERM, then waits), and repeats. Prints each run and the median.

use anyhow::{Context, bail};
use clap::Parser;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    addr: String,
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Give up on one run after this many milliseconds.
    #[arg(long, default_value_t = 30_000)]
    timeout_ms: u64,
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

fn healthy(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    let mut got = 0;
    while got < 12 {
        match s.read(&mut buf[got..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got += n,
        }
    }
    buf.starts_with(b"HTTP/1.1 200")
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (prog, rest) = args.command.split_first().context("no command")?;
    if healthy(&args.addr) {
        bail!("{} already answers: stop whatever listens there", args.addr);
    }
    let mut samples = Vec::with_capacity(args.runs);
    for run in 1..=args.runs {
        let start = Instant::now();
        let mut child = Command::new(prog)
            .args(rest)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("launching {prog}"))?;
        let ms = loop {
            if healthy(&args.addr) {
                break start.elapsed().as_secs_f64() * 1000.0;
            }
            if let Some(status) = child.try_wait()? {
                bail!("run {run}: {prog} exited before answering ({status})");
            }
            if start.elapsed() > Duration::from_millis(args.timeout_ms) {
                let _ = child.kill();
                bail!("run {run}: no healthy answer within {} ms", args.timeout_ms);
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        println!("run {run}: {ms:.1} ms");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let _ = child.wait();
        samples.push(ms);
    }
    let (min, max) = samples
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    let median = parapheur_bench::median(&mut samples).context("no run")?;
    println!("median_ms={median:.1} min_ms={min:.1} max_ms={max:.1}");
    Ok(())
}
