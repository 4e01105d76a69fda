//! What a supervisor escalates when its restart budget is spent: the
//! error value ([`Escalation`], carried by [`super::Error::Escalated`]) and
//! the restart history in it. Defined here, with the other errors, so the
//! error type does not depend on the supervision layer that raises it.

use std::fmt;
use std::time::{Duration, SystemTime};

/// One restart, as remembered by the supervisor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestartRecord {
    /// The child whose end caused the restart.
    pub child: String,
    /// When (wall clock).
    pub at: SystemTime,
    /// How it had ended.
    pub reason: String,
}

impl fmt::Display for RestartRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self
            .at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        write!(f, "{} at {t:.3}: {}", self.child, self.reason)
    }
}

/// A supervisor ran out of restart budget: more than `intensity` restarts
/// were needed within `period`. It stopped its children and escalates
/// this, once, to its parent.
#[derive(Debug, thiserror::Error)]
#[error(
    "supervisor in '{supervisor}' gave up on child '{child}': more than {intensity} restart(s) within {period:?}; it {last_reason}; restart history of '{child}': [{}]",
    fmt_history(.history)
)]
pub struct Escalation {
    /// The actor running the supervisor.
    pub supervisor: String,
    /// The child whose end could not be answered with a restart.
    pub child: String,
    /// How it ended last.
    pub last_reason: String,
    /// The supervisor's intensity.
    pub intensity: u32,
    /// The supervisor's period.
    pub period: Duration,
    /// That child's restarts, oldest first (at most the last 32).
    pub history: Vec<RestartRecord>,
}

fn fmt_history(h: &[RestartRecord]) -> String {
    h.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
