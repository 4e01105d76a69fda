//! What one round of a measurement yields, and the rounds of one figure
//! (or floor) in one placement, summarized by their median.

use std::time::Duration;

use crate::affinity::Mode;
use crate::report::{Figure, Floor, Goal};
use crate::stats::{median, percentiles_us};

/// One round of a latency measurement.
#[derive(Debug)]
pub struct Latency {
    /// One duration per operation.
    pub samples: Vec<Duration>,
    /// CPU time of both processes over those operations.
    pub cpu: Duration,
}

/// One round of a throughput measurement.
#[derive(Debug)]
pub struct Rate {
    /// Operations per second.
    pub per_sec: f64,
    /// Operations done.
    pub ops: u64,
    /// CPU time of both processes over those operations.
    pub cpu: Duration,
}

/// The rounds of one figure or floor in one placement.
#[derive(Debug, Default)]
pub struct Rounds {
    p50: Vec<f64>,
    p99: Vec<f64>,
    cpu_us: Vec<f64>,
}

impl Rounds {
    /// Adds a latency round.
    pub fn latency(&mut self, mut l: Latency) {
        let n = l.samples.len().max(1) as f64;
        let (p50, p99) = percentiles_us(&mut l.samples);
        self.p50.push(p50);
        self.p99.push(p99);
        self.cpu_us.push(l.cpu.as_secs_f64() * 1e6 / n);
    }

    /// Adds a throughput round (its "p99" is the round's rate; the
    /// summary's is the slowest round).
    pub fn rate(&mut self, r: Rate) {
        self.p50.push(r.per_sec);
        self.p99.push(r.per_sec);
        self.cpu_us
            .push(r.cpu.as_secs_f64() * 1e6 / r.ops.max(1) as f64);
    }

    /// Median over rounds of each round's p50.
    pub fn p50(&self) -> f64 {
        median(&self.p50)
    }

    fn cpu(&self) -> Option<f64> {
        (!self.cpu_us.is_empty()).then(|| median(&self.cpu_us))
    }

    /// These rounds as a floor measured in `mode`.
    pub fn floor(&self, name: &str, mode: Mode) -> Floor {
        Floor {
            value: self.p50(),
            name: name.to_owned(),
            mode: Some(mode),
            cpu_per_op_us: self.cpu(),
        }
    }

    /// These rounds as a figure measured in `mode`, held to `floor`.
    pub fn figure(
        &self,
        name: &str,
        mode: Mode,
        unit: &'static str,
        floor: Floor,
        goal: Goal,
    ) -> Figure {
        let is_rate = unit.ends_with("/s");
        Figure {
            name: name.to_owned(),
            mode: Some(mode),
            p50: self.p50(),
            p99: if is_rate {
                self.p99.iter().copied().fold(f64::INFINITY, f64::min)
            } else {
                median(&self.p99)
            },
            unit,
            cpu_per_op_us: self.cpu(),
            rounds: self.p50.clone(),
            floor: Some(floor),
            goal,
            note: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_report_medians_and_cpu_per_operation() {
        let mut r = Rounds::default();
        for us in [10u64, 30, 20] {
            r.latency(Latency {
                samples: vec![Duration::from_micros(us); 4],
                cpu: Duration::from_micros(us * 8),
            });
        }
        let floor = r.floor("raw", Mode::Pinned);
        assert_eq!(floor.value, 20.0);
        assert_eq!(floor.cpu_per_op_us, Some(40.0));
        let f = r.figure("x", Mode::Pinned, "us", floor, Goal::AtMost(2.0));
        assert_eq!(f.rounds, vec![10.0, 30.0, 20.0]);
        assert_eq!(f.ratio().unwrap(), Some(1.0));
    }
}
