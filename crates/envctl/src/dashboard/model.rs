//! What the dashboard shows: one row per service and dependency of the
//! scope's active runs, with the truth from the OS (alive, listening,
//! answering HTTP), read in the background so the screen never waits.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::lifecycle::{active_runs, dep_healthy, reconcile};
use crate::procs;
use crate::state::{self, RunState};

/// A service or a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An app service (backend, frontend, an additional service).
    Service,
    /// Postgres, Redis.
    Dependency,
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The project (`shared` for a shared dependency).
    pub project: String,
    /// The service's slug, or the dependency's id.
    pub service: String,
    /// Service or dependency.
    pub kind: Kind,
    /// `running`, `starting`, `stale`, `failed`, `stopped`, `unreachable`.
    pub status: String,
    /// Its port (0: none).
    pub port: u16,
    /// Its pid (0: none).
    pub pid: u32,
    /// Seconds since it started (services).
    pub uptime_s: Option<u64>,
    /// Restarts by the supervisor in this run.
    pub restarts: u32,
    /// `healthy`, `HTTP 500`, `no answer`, or empty when not probed.
    pub health: String,
    /// Its log file (services).
    pub log: Option<std::path::PathBuf>,
}

impl Row {
    /// The `project service` label.
    pub fn label(&self) -> String {
        format!("{} {}", self.project, self.service)
    }
}

/// The state of the scope at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Active run ids.
    pub runs: Vec<String>,
    /// Every row, projects sorted, services before dependencies.
    pub rows: Vec<Row>,
}

fn runs_of(scope: &Path) -> Vec<RunState> {
    let runs = active_runs(scope);
    if runs.is_empty() {
        state::load_latest(scope).into_iter().collect()
    } else {
        runs
    }
}

/// Health answers are asked for at most this often per URL: a probe is a
/// request in the app's own log, and one a second would drown it.
pub const HEALTH_TTL: Duration = Duration::from_secs(5);

/// The last health answer per URL.
#[derive(Debug, Default)]
pub struct HealthCache(HashMap<String, (Instant, String)>);

impl HealthCache {
    fn get(&mut self, url: &str, pid: u32) -> String {
        let key = format!("{pid} {url}");
        if let Some((at, v)) = self.0.get(&key)
            && at.elapsed() < HEALTH_TTL
        {
            return v.clone();
        }
        let v = match procs::http_status(url, Duration::from_millis(800)) {
            Some(c) if (200..400).contains(&c) => "healthy".to_owned(),
            Some(c) => format!("HTTP {c}"),
            None => "no answer".to_owned(),
        };
        self.0.insert(key, (Instant::now(), v.clone()));
        v
    }
}

/// Reads the record and asks the OS (and each app's health URL, see
/// [`HEALTH_TTL`]).
pub fn collect(scope: &Path, cfg: &Config, health: &mut HealthCache) -> Snapshot {
    let mut snap = Snapshot::default();
    let now = state::now();
    for mut run in runs_of(scope) {
        reconcile(&mut run, cfg);
        snap.runs.push(run.run_id.clone());
        for r in run.services.values() {
            let health = if r.status == "running" && r.listener_expected && !r.health_url.is_empty()
            {
                health.get(&r.health_url, r.pid)
            } else if r.status == "running" {
                "alive".to_owned()
            } else {
                String::new()
            };
            snap.rows.push(Row {
                project: r.project.clone(),
                service: r.service_slug.clone(),
                kind: Kind::Service,
                status: r.status.clone(),
                port: r.actual_port,
                pid: r.pid,
                uptime_s: (r.status == "running").then(|| now.saturating_sub(r.started_at)),
                restarts: r.restarts,
                health,
                log: Some(r.log_path.clone()),
            });
        }
        for d in &run.dependencies {
            if snap
                .rows
                .iter()
                .any(|x| x.kind == Kind::Dependency && x.pid == d.ident.pid && x.service == d.id)
            {
                continue; // a shared server seen in another run
            }
            let alive = procs::alive(&d.ident);
            let (status, health) = if !alive {
                ("stale", "")
            } else if dep_healthy(d) {
                ("running", "healthy")
            } else {
                ("unreachable", "no answer")
            };
            snap.rows.push(Row {
                project: d.owner.clone(),
                service: d.id.clone(),
                kind: Kind::Dependency,
                status: status.into(),
                port: d.port,
                pid: d.ident.pid,
                uptime_s: None,
                restarts: 0,
                health: health.into(),
                log: None,
            });
        }
    }
    snap.rows.sort_by(|a, b| {
        (a.kind == Kind::Dependency, &a.project, &a.service).cmp(&(
            b.kind == Kind::Dependency,
            &b.project,
            &b.service,
        ))
    });
    snap
}

/// `1h02m`, `3m05s`, `42s`.
pub fn human_duration(s: u64) -> String {
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_writes_them() {
        assert_eq!(human_duration(42), "42s");
        assert_eq!(human_duration(185), "3m05s");
        assert_eq!(human_duration(3720), "1h02m");
    }
}
