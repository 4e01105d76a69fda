//! The ownership marker: `ENVCTL_OWNER=<scope-id>/<run-id>/<project>/<service>`
//! in the environment of every process envctl starts, inherited by all it
//! forks. It is how `stop` finds a service's workers after their leader
//! died and how `blast-all` tells our processes from the user's.

use std::fmt;

use super::table;

/// The environment variable holding the marker.
pub const OWNER_VAR: &str = "ENVCTL_OWNER";

/// Who a process belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The repository scope (`repo-<hex>`).
    pub scope: String,
    /// The run that started it.
    pub run: String,
    /// The project (`shared` for shared dependencies).
    pub project: String,
    /// The service or dependency (`backend`, `postgres`, …).
    pub service: String,
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.scope, self.run, self.project, self.service
        )
    }
}

impl Owner {
    /// The prefix every marker of `scope` starts with.
    pub fn scope_prefix(scope: &str) -> String {
        format!("{scope}/")
    }
}

/// The marker `pid` carries, if any.
pub fn marker_of(pid: u32) -> Option<String> {
    table::env_var(pid, OWNER_VAR)
}

/// Live processes whose marker is exactly `marker` (`exact`) or starts
/// with it, as (pid, marker).
pub fn carrying(marker: &str, exact: bool) -> Vec<(u32, String)> {
    table::all()
        .into_iter()
        .filter_map(|p| {
            let m = marker_of(p.pid)?;
            let hit = if exact {
                m == marker
            } else {
                m.starts_with(marker)
            };
            hit.then_some((p.pid, m))
        })
        .collect()
}
