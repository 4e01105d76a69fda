//! The restart budget (OTP's intensity: at most `MaxR` restarts in `MaxT`),
//! the backoff between restarts, and the history an escalation carries.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use crate::errors::{Escalation, RestartRecord};

/// A pause before a restart: `initial` before a child's first restart
/// within the period, multiplied by `factor` for each further one, at
/// most `max`.
///
/// ```
/// use std::time::Duration;
/// use tractor::supervision::Backoff;
///
/// let b = Backoff::exponential(Duration::from_millis(100), Duration::from_millis(300));
/// assert_eq!(b.delay(1), Duration::from_millis(100));
/// assert_eq!(b.delay(2), Duration::from_millis(200));
/// assert_eq!(b.delay(3), Duration::from_millis(300));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// Before the first restart.
    pub initial: Duration,
    /// The cap.
    pub max: Duration,
    /// Growth per further restart.
    pub factor: f64,
}

impl Backoff {
    /// Doubling from `initial`, capped at `max`.
    pub fn exponential(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            factor: 2.0,
        }
    }

    /// The pause before a child's `nth` recent restart (1-based).
    pub fn delay(&self, nth: u32) -> Duration {
        let exp = i32::try_from(nth.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.initial.as_secs_f64() * self.factor.max(1.0).powi(exp);
        Duration::from_secs_f64(secs.min(self.max.as_secs_f64()).max(0.0))
    }
}

/// The sliding window of recent restarts: at most `intensity` within
/// `period`. Public for supervisors of things that are not actors (envctl
/// restarts OS processes with the same rule).
#[derive(Debug)]
pub struct RestartBudget {
    intensity: u32,
    period: Duration,
    recent: VecDeque<Instant>,
}

impl RestartBudget {
    /// At most `intensity` restarts within `period`.
    pub fn new(intensity: u32, period: Duration) -> Self {
        RestartBudget {
            intensity,
            period,
            recent: VecDeque::new(),
        }
    }

    /// Takes one restart from the budget at `now`; false when the budget
    /// is spent (the restart must not happen: escalate).
    pub fn take(&mut self, now: Instant) -> bool {
        while let Some(t) = self.recent.front() {
            if now.duration_since(*t) > self.period {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() as u64 >= u64::from(self.intensity) {
            return false;
        }
        self.recent.push_back(now);
        true
    }

    /// How many restarts the window holds (as of the last [`Self::take`]).
    pub fn used(&self) -> u32 {
        u32::try_from(self.recent.len()).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_allows_intensity_restarts_per_period() {
        let mut b = RestartBudget::new(3, Duration::from_secs(5));
        let t0 = Instant::now();
        assert!(b.take(t0));
        assert!(b.take(t0 + Duration::from_secs(1)));
        assert!(b.take(t0 + Duration::from_secs(2)));
        assert!(!b.take(t0 + Duration::from_secs(3)), "a 4th within 5 s");
        // The first one leaves the window.
        assert!(b.take(t0 + Duration::from_millis(5_001)));
    }

    #[test]
    fn zero_intensity_never_restarts() {
        let mut b = RestartBudget::new(0, Duration::from_secs(5));
        assert!(!b.take(Instant::now()));
    }

    #[test]
    fn backoff_grows_and_caps() {
        let b = Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
            factor: 3.0,
        };
        assert_eq!(b.delay(0), Duration::from_millis(10));
        assert_eq!(b.delay(2), Duration::from_millis(30));
        assert_eq!(b.delay(9), Duration::from_millis(50));
    }
}
