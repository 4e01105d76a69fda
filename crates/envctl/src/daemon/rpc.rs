//! What the daemon answers, as `tractor` functions in the `envctl.daemon`
//! namespace: a status, a shutdown, and a log stream (`logs -f`); the
//! lifecycle commands are in [`super::ops`].

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
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

/// One log file being followed.
struct Followed {
    label: String,
    offset: u64,
    partial: String,
}

fn selected_logs(project: &str, service: &str) -> Vec<(String, PathBuf)> {
    let Some(s) = SUPERVISOR.get() else {
        return Vec::new();
    };
    let projects: Vec<String> = if project.is_empty() {
        Vec::new()
    } else {
        vec![project.to_owned()]
    };
    let service = (!service.is_empty()).then_some(service);
    active_runs(&s.scope)
        .iter()
        .flat_map(|r| crate::inspect::log_files(r, &projects, service))
        .collect()
}

/// New complete lines of `path` since `f.offset` (a truncated file, after
/// a rotation, is read from its start).
fn read_new(path: &std::path::Path, f: &mut Followed) -> Vec<String> {
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len < f.offset {
        f.offset = 0;
        f.partial.clear();
    }
    if len == f.offset || file.seek(SeekFrom::Start(f.offset)).is_err() {
        return Vec::new();
    }
    let mut buf = Vec::new();
    let n = file.take(1 << 20).read_to_end(&mut buf).unwrap_or_default();
    f.offset += n as u64;
    f.partial.push_str(&String::from_utf8_lossy(&buf));
    let mut out = Vec::new();
    while let Some(i) = f.partial.find('\n') {
        let line: String = f.partial.drain(..=i).collect();
        out.push(format!("[{}] {}", f.label, line.trim_end_matches('\n')));
    }
    out
}

/// Streams the selected services' log lines as they are written, starting
/// with the last `tail` lines of each. Ends when the caller goes away.
#[tractor::context(ns = "envctl.daemon")]
pub async fn follow_logs(
    ctx: tractor::Context,
    project: String,
    service: String,
    tail: u64,
) -> Result<(), tractor::Error> {
    let mut followed: HashMap<PathBuf, Followed> = HashMap::new();
    ctx.started(&()).await?;
    let stream = ctx.open_stream::<String>();
    loop {
        for (name, path) in selected_logs(&project, &service) {
            let f = followed.entry(path.clone()).or_insert_with(|| {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let skip = lines.len().saturating_sub(tail as usize);
                let head: usize = lines[..skip].iter().map(|l| l.len() + 1).sum();
                Followed {
                    label: name.clone(),
                    offset: head.min(text.len()) as u64,
                    partial: String::new(),
                }
            });
            for line in read_new(&path, f) {
                stream.send(&line).await?;
            }
        }
        // Files give no event we can wait on portably; look again shortly
        // (like `tail -f`). A caller that goes away cancels this task here
        // or makes the next send fail.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
