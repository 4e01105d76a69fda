//! Stopping a child for good: wait for a graceful exit, then SIGTERM, then
//! SIGKILL, each after the grace period (spec §5.4, Python's `soft_kill`
//! / `hard_kill`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{ChildControl, ExitInfo};

/// How far stopping a child had to go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Escalation {
    /// It exited on its own after the cancel request.
    None,
    /// It needed SIGTERM.
    Terminated,
    /// It needed SIGKILL.
    Killed,
    /// It could not be stopped (a thread ignoring cancellation) and was
    /// abandoned.
    Abandoned,
}

/// Waits for the child behind `exited` to finish, escalating after each
/// `grace`. Returns how far it went.
pub async fn escalate(
    name: &str,
    control: &Arc<dyn ChildControl>,
    exited: &mut watch::Receiver<Option<ExitInfo>>,
    grace: Duration,
) -> Escalation {
    if wait_exit(exited, grace).await {
        return Escalation::None;
    }
    if control.terminate() {
        tracing::warn!(actor = name, pid = ?control.pid(), "did not exit within {grace:?} of its cancel; sent SIGTERM");
        if wait_exit(exited, grace).await {
            return Escalation::Terminated;
        }
    }
    if control.kill() {
        tracing::warn!(actor = name, pid = ?control.pid(), "still running; sent SIGKILL");
        // SIGKILL cannot be ignored; the wait is only for the reaper.
        wait_exit(exited, Duration::from_secs(30)).await;
        return Escalation::Killed;
    }
    tracing::error!(actor = name, "cannot be stopped; abandoning it");
    Escalation::Abandoned
}

async fn wait_exit(exited: &mut watch::Receiver<Option<ExitInfo>>, limit: Duration) -> bool {
    tokio::time::timeout(limit, exited.wait_for(Option::is_some))
        .await
        .map(|r| r.is_ok())
        .unwrap_or(false)
        || exited.borrow().is_some()
}
