//! Bounded waits: poll a condition at a short interval until it holds or a deadline passes.

use std::time::{Duration, Instant};

/// Polls `f` until it returns `Some`, or panics after `timeout` with `what`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A local TCP port nothing listens on now, for a server a test starts itself.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// Waits until something accepts connections on 127.0.0.1:`port` (10 s at most).
pub fn wait_for_port(port: u16, what: &str) {
    wait_for(Duration::from_secs(10), what, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
}
