//! Reference binaries and helpers for `bench/run.sh`; the figures are in `BENCHMARKS.md`.
//!
//! - `bare-axum`: an axum server with one static GET handler (reference for history reads);
//! - `raw-durable`: file write + fsync + rename + directory fsync + one committed SQLite
//!   insert per operation (reference for durable uploads);
//! - `make-pdf`: writes a valid PDF of about the requested size;
//! - `cold-start`: launches a command repeatedly and times its first successful `/healthz`.

/// The median of a non-empty list of samples (the mean of the two middle ones when even).
pub fn median(samples: &mut [f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    Some(if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
