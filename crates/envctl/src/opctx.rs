//! The command being served: what a lifecycle command run *inside the
//! daemon* on behalf of a CLI needs from that CLI.
//!
//! The daemon is the only writer of state, so `start`, `stop` and the
//! others run in its process, but they must behave as if they ran in the
//! CLI: read the CLI's environment (config keys, `ENVCTL_CONFIG_FILE`, the
//! fault hooks of the tests), give launched services that environment,
//! report progress to the CLI's terminal, and give up when the CLI is
//! interrupted. The daemon serves one lifecycle command at a time (they
//! hold the lifecycle lock), and a command fans out over scoped threads
//! (one layer of services starts in parallel), so the served command is
//! process-wide, not thread-local. Outside the daemon nothing is installed
//! and every function here falls back to the process's own environment.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// One line of progress for the CLI's terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Progress {
    /// A step (`ui::step`).
    Step(String),
    /// A warning (`ui::warn`).
    Warn(String),
    /// A line of the command's report on stdout (`ui::say`).
    Say(String),
    /// The steps are over (`ui::done`).
    Done,
}

/// A command served for a CLI.
#[derive(Debug)]
pub struct Served {
    env: BTreeMap<String, String>,
    progress: tokio::sync::mpsc::UnboundedSender<Progress>,
    cancelled: AtomicBool,
}

impl Served {
    /// A command with the CLI's environment, reporting into `progress`.
    pub fn new(
        env: BTreeMap<String, String>,
        progress: tokio::sync::mpsc::UnboundedSender<Progress>,
    ) -> Arc<Self> {
        Arc::new(Served {
            env,
            progress,
            cancelled: AtomicBool::new(false),
        })
    }

    /// The CLI went away or was interrupted: waits give up, the command
    /// undoes what it launched.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }
}

static CURRENT: Mutex<Option<Arc<Served>>> = Mutex::new(None);

fn current() -> Option<Arc<Served>> {
    CURRENT.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Runs `f` (blocking) as the served command `s`.
pub fn serve<T>(s: Arc<Served>, f: impl FnOnce() -> T) -> T {
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(s);
    let _clear = Clear;
    f()
}

/// The value of environment variable `name` for the command: the CLI's
/// when serving one, else this process's.
pub fn var(name: &str) -> Option<String> {
    match current() {
        Some(s) => s.env.get(name).cloned(),
        None => std::env::var(name).ok(),
    }
}

/// Every environment variable of the command (see [`var`]).
pub fn vars() -> Vec<(String, String)> {
    match current() {
        Some(s) => s.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        None => std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect(),
    }
}

/// The CLI's whole environment when serving a command (what a launched
/// service inherits), `None` in the CLI itself.
pub fn served_env() -> Option<BTreeMap<String, String>> {
    current().map(|s| s.env.clone())
}

/// Sends `p` to the CLI being served; false when none is (the caller
/// prints it itself).
pub fn report(p: Progress) -> bool {
    match current() {
        Some(s) => {
            // A CLI that went away no longer reads: the command goes on.
            let _ = s.progress.send(p);
            true
        }
        None => false,
    }
}

/// True when the served command was cancelled.
pub fn cancelled() -> bool {
    current().is_some_and(|s| s.cancelled.load(Ordering::SeqCst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_served_command_sees_the_cli_environment_and_reports_to_it() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let env = BTreeMap::from([("ENVCTL_OPCTX_PROBE".to_owned(), "cli".to_owned())]);
        let s = Served::new(env, tx);
        let seen = serve(s.clone(), || {
            assert!(report(Progress::Step("one".into())));
            assert!(!cancelled());
            s.cancel();
            (var("ENVCTL_OPCTX_PROBE"), var("PATH"), cancelled())
        });
        assert_eq!(seen, (Some("cli".into()), None, true));
        assert_eq!(rx.try_recv().ok(), Some(Progress::Step("one".into())));
        // Outside: the process's own environment, nothing reported.
        assert!(!report(Progress::Done));
        assert_eq!(var("ENVCTL_OPCTX_PROBE"), None);
        assert!(!cancelled());
    }
}
