//! The resident supervisor (contract §10.6): one daemon per repository
//! scope, a `tractor` root actor in its own session that watches every
//! service and dependency of the scope's active runs, restarts them by
//! policy, and answers the CLI over a UDS in the scope's runtime folder.

pub mod client;
pub mod ops;
mod policy;
pub mod rpc;
pub mod server;
mod supervisor;
mod tail;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::procs::{self, Ident};

/// The environment variable carrying the fd the daemon writes "ready" to.
pub const READY_FD_VAR: &str = "ENVCTL_DAEMON_READY_FD";

/// The daemon's `tractor` address: a UDS in the scope's runtime folder.
pub fn addr(scope: &Path) -> tractor::ipc::Addr {
    tractor::ipc::Addr::Uds(dir(scope).join("daemon.sock"))
}

/// Rotates the Postgres logs of the active runs that outgrew the cap
/// (`ENVCTL_LOG_MAX_BYTES`): copied to `<log>.1`, then truncated in place.
/// `pg_ctl -l` gives the server the file itself (appending with
/// `O_APPEND`, so it goes on writing at the new end); everything launched
/// by envctl writes through its log relay instead, which rotates by
/// rename ([`procs::relay`]).
pub fn rotate(repo: &Path, scope: &Path) {
    let cap = crate::config::Config::load(repo, Default::default())
        .ok()
        .and_then(|c| c.get("ENVCTL_LOG_MAX_BYTES"))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(procs::relay::DEFAULT_MAX_BYTES);
    for run in crate::lifecycle::active_runs(scope) {
        for d in run.dependencies.iter().filter(|d| d.id == "postgres") {
            let p = d.log_path();
            if std::fs::metadata(&p).is_ok_and(|m| m.len() > cap)
                && std::fs::copy(&p, procs::relay::rotated(&p, 1)).is_ok()
                && let Ok(f) = std::fs::OpenOptions::new().write(true).open(&p)
            {
                let _ = f.set_len(0);
                tracing::info!(log = %p.display(), "rotated");
            }
        }
    }
}

/// The daemon's folder in a scope.
pub fn dir(scope: &Path) -> PathBuf {
    scope.join("daemon")
}

/// What the daemon writes about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DaemonFile {
    /// Its process.
    pub ident: Ident,
    /// Epoch seconds.
    pub started_at: u64,
    /// Its tractor address (the registrar it serves).
    pub addr: String,
}

/// The recorded daemon, if its file is readable.
pub fn read_file(scope: &Path) -> Option<DaemonFile> {
    serde_json::from_str(&std::fs::read_to_string(dir(scope).join("daemon.json")).ok()?).ok()
}

/// Stops the daemon process of `scope` if one runs (SIGTERM, then
/// SIGKILL), without touching what it supervises.
pub fn stop_process(scope: &Path) {
    if let Some(f) = read_file(scope)
        && procs::alive(&f.ident)
    {
        procs::stop_group(&f.ident, Duration::from_secs(3));
    }
}
