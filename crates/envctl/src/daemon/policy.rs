//! Restart policy (`no | on-failure | always`), exponential backoff and
//! the crash-loop rule, read from the config (issue 12 item 3):
//! `ENVCTL_RESTART_POLICY` (default `on-failure`) with per-service
//! overrides `BACKEND_RESTART`, `FRONTEND_RESTART`, `POSTGRES_RESTART`,
//! `REDIS_RESTART`, `ENVCTL_SERVICE_<S>_RESTART`.

use std::time::{Duration, Instant};

use tractor::supervision::{Backoff, RestartBudget};

use crate::config::Config;

/// When a process that exited is started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Never: it is recorded as exited.
    No,
    /// After a crash: a non-zero exit or a signal (or an exit we cannot
    /// observe the status of: a process we adopted, not our child).
    OnFailure,
    /// After any exit.
    Always,
}

impl Policy {
    fn parse(s: &str) -> Option<Policy> {
        match s.trim().to_ascii_lowercase().as_str() {
            "no" | "never" => Some(Policy::No),
            "on-failure" | "on_failure" => Some(Policy::OnFailure),
            "always" => Some(Policy::Always),
            _ => None,
        }
    }

    /// Whether an exit with `status` (None: unknown) is restarted.
    pub fn restarts(self, status: Option<i32>) -> bool {
        match self {
            Policy::No => false,
            Policy::Always => true,
            Policy::OnFailure => status != Some(0),
        }
    }
}

/// The config key overriding the policy of `service`.
pub fn key_for(service: &str) -> String {
    match service {
        "backend" | "frontend" | "postgres" | "redis" => {
            format!("{}_RESTART", service.to_ascii_uppercase())
        }
        other => format!(
            "ENVCTL_SERVICE_{}_RESTART",
            other.to_ascii_uppercase().replace('-', "_")
        ),
    }
}

/// The policy of `service` (a service slug or dependency id).
pub fn policy_for(cfg: &Config, service: &str) -> Policy {
    cfg.get(&key_for(service))
        .and_then(|v| Policy::parse(&v))
        .or_else(|| {
            cfg.get("ENVCTL_RESTART_POLICY")
                .and_then(|v| Policy::parse(&v))
        })
        .unwrap_or(Policy::OnFailure)
}

/// At most this many restarts within [`WINDOW`]; one more is a crash loop
/// and the service is marked `failed`.
pub const MAX_RESTARTS: usize = 5;
/// The crash-loop window.
pub const WINDOW: Duration = Duration::from_secs(60);

/// The backoff: 250 ms before the second restart within the window,
/// doubling, at most 8 s (the first restart is immediate).
const BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(250),
    max: Duration::from_secs(8),
    factor: 2.0,
};

/// The restart history of one service: tractor's restart budget (OTP's
/// intensity window) and backoff. A service is an OS process, not a
/// tractor actor, so the rest of tractor's supervision (a supervisor
/// actor owning child actors, strategies over siblings, escalation to a
/// parent actor) does not apply: each service is restarted on its own and
/// a crash loop is recorded, not escalated.
#[derive(Debug)]
pub struct History {
    budget: RestartBudget,
}

impl Default for History {
    fn default() -> Self {
        History {
            budget: RestartBudget::new(MAX_RESTARTS as u32, WINDOW),
        }
    }
}

/// What to do about one exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Restart after this delay.
    Restart(Duration),
    /// Too many restarts in the window: give up.
    CrashLoop(usize),
}

impl History {
    /// Records a restart attempt now and decides: the first restart is
    /// immediate, then 250 ms, 500 ms, … up to 8 s.
    pub fn next(&mut self, now: Instant) -> Decision {
        if !self.budget.take(now) {
            return Decision::CrashLoop(self.budget.used() as usize);
        }
        match self.budget.used() {
            // This one is the first in the window.
            1 => Decision::Restart(Duration::ZERO),
            n => Decision::Restart(BACKOFF.delay(n - 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_a_crash_loop_stops_it() {
        let mut h = History::default();
        let t = Instant::now();
        let delays: Vec<Decision> = (0..6).map(|_| h.next(t)).collect();
        assert_eq!(delays[0], Decision::Restart(Duration::ZERO));
        assert_eq!(delays[1], Decision::Restart(Duration::from_millis(250)));
        assert_eq!(delays[2], Decision::Restart(Duration::from_millis(500)));
        assert_eq!(delays[4], Decision::Restart(Duration::from_millis(2000)));
        assert_eq!(delays[5], Decision::CrashLoop(MAX_RESTARTS));
        // Outside the window the slate is clean.
        assert_eq!(h.next(t + WINDOW * 2), Decision::Restart(Duration::ZERO));
    }

    #[test]
    fn policies_parse_and_decide() {
        assert_eq!(Policy::parse("on-failure"), Some(Policy::OnFailure));
        assert!(Policy::OnFailure.restarts(None));
        assert!(Policy::OnFailure.restarts(Some(1)));
        assert!(!Policy::OnFailure.restarts(Some(0)));
        assert!(Policy::Always.restarts(Some(0)));
        assert!(!Policy::No.restarts(Some(1)));
        assert_eq!(key_for("backend"), "BACKEND_RESTART");
        assert_eq!(key_for("worker"), "ENVCTL_SERVICE_WORKER_RESTART");
    }
}
