//! The resident supervisor (contract §10.6): one daemon per repository
//! scope, a `tractor` root actor in its own session that watches every
//! service and dependency of the scope's active runs, restarts them by
//! policy, and answers the CLI over a UDS in the scope's runtime folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::procs::{self, Ident};

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
