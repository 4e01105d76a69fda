//! What the daemon answers, as `tractor` functions in the `envctl.daemon`
//! namespace: a status, a shutdown, and a log stream (`logs -f`); the
//! lifecycle commands are in [`super::ops`].

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::supervisor::Supervisor;
use crate::lifecycle::active_runs;

/// The supervisor of this daemon process.
pub static SUPERVISOR: OnceLock<Arc<Supervisor>> = OnceLock::new();

pub(super) fn sup() -> Result<&'static Arc<Supervisor>, tractor::Error> {
    SUPERVISOR
        .get()
        .ok_or_else(|| tractor::Error::Config("the supervisor is not running".into()))
}

/// `envctl daemon status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// Always true when it answers.
    pub running: bool,
    /// Its pid.
    pub pid: u32,
    /// Seconds since it started.
    pub uptime_s: u64,
    /// Processes it watches.
    pub services: usize,
    /// Restarts it did.
    pub restarts: u64,
    /// The scope folder.
    pub scope: PathBuf,
}

/// The daemon's status.
#[tractor::rpc(ns = "envctl.daemon")]
pub async fn status() -> Result<DaemonStatus, tractor::Error> {
    let s = sup()?;
    Ok(DaemonStatus {
        running: true,
        pid: std::process::id(),
        uptime_s: s.started.elapsed().as_secs(),
        services: s.watched_count(),
        restarts: s.restarts(),
        scope: s.scope.clone(),
    })
}

/// Stops the daemon (what it supervises keeps running unless the caller
/// stopped it first).
#[tractor::rpc(ns = "envctl.daemon")]
pub async fn shutdown() -> Result<bool, tractor::Error> {
    sup()?.shutdown.cancel();
    Ok(true)
}

fn selected_logs(scope: &std::path::Path, project: &str, service: &str) -> Vec<PathBuf> {
    let projects: Vec<String> = if project.is_empty() {
        Vec::new()
    } else {
        vec![project.to_owned()]
    };
    let service = (!service.is_empty()).then_some(service);
    active_runs(scope)
        .iter()
        .flat_map(|r| crate::inspect::log_files(r, &projects, service))
        .map(|(_, p)| p)
        .collect()
}

/// Streams the selected services' log lines as they are written, starting
/// with the last `tail` lines of each, from the daemon's in-memory tail
/// ([`super::tail`]). Ends when the caller goes away.
#[tractor::context(ns = "envctl.daemon")]
pub async fn follow_logs(
    ctx: tractor::Context<tractor::Callee<(), String>>,
    project: String,
    service: String,
    tail: u64,
) -> Result<(), tractor::Error> {
    let s = sup()?.clone();
    let select = {
        let s = s.clone();
        move || {
            let s = s.clone();
            let (project, service) = (project.clone(), service.clone());
            async move {
                tokio::task::spawn_blocking(move || {
                    // The tail is fresh before it is shown.
                    s.feed_logs();
                    selected_logs(&s.scope, &project, &service)
                })
                .await
                .unwrap_or_default()
            }
        }
    };
    let mut paths = select().await;
    ctx.started(&()).await?;
    let stream = ctx.open_stream();
    let (head, mut rx) = s.tails.follow(&paths, tail as usize);
    for line in head {
        stream.send(&line).await?;
    }
    // New services (a restart, a joining worktree) are picked up.
    let mut again = tokio::time::interval(Duration::from_secs(2));
    again.tick().await;
    loop {
        tokio::select! {
            r = rx.recv() => match r {
                Ok(line) if paths.contains(&line.path) => stream.send(&line.text).await?,
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    stream.send(&format!("[envctl] {n} line(s) skipped: this reader fell behind")).await?;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
            },
            _ = again.tick() => paths = select().await,
        }
    }
}
