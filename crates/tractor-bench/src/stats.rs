//! Percentiles of a sample.

use std::time::Duration;

/// p50 and p99 of the samples, in microseconds.
pub fn percentiles_us(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort_unstable();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1e6
    };
    (at(0.50), at(0.99))
}
