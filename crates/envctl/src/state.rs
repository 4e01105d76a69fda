//! The durable record: `run_state.json` and the artifacts derived from it
//! (`runtime_map.json`, `ports_manifest.json`, `error_report.json`), in
//! the latest view and in `runs/<run-id>/`, written atomically; and the
//! append-only `events.jsonl` (contract §3).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::ports::PortPlan;
use crate::procs::Ident;
use crate::requirements::Instance;

/// One app service (contract `ServiceRecord`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceRecord {
    /// `<project> Backend`.
    pub name: String,
    /// `backend` / `frontend`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Working folder.
    pub cwd: PathBuf,
    /// Process id (its process group and session).
    pub pid: u32,
    /// Start time of that pid (identity).
    pub start_time: u64,
    /// Planned port.
    pub requested_port: u16,
    /// Port it listens on.
    pub actual_port: u16,
    /// Its log.
    pub log_path: PathBuf,
    /// `starting/running/stale/unreachable/stopped/termination_failed`.
    pub status: String,
    /// Epoch seconds.
    pub started_at: u64,
    /// Who listens on its port.
    pub listener_pids: Vec<u32>,
    /// False for workers (no port).
    pub listener_expected: bool,
    /// The project.
    pub project: String,
    /// `backend` / `frontend`.
    pub service_slug: String,
    /// What a browser opens.
    pub public_url: String,
    /// What `health` probes.
    pub health_url: String,
    /// Why it is not running.
    pub failure_detail: Option<String>,
    /// Always `process` here.
    pub runtime_kind: String,
    /// The command line.
    pub command: Vec<String>,
    /// The command line before `{port}` was substituted (to move it to
    /// another port).
    #[serde(default)]
    pub command_template: Vec<String>,
    /// The environment we gave it (projected keys only).
    pub env: Vec<(String, String)>,
    /// The projection before the user's launch-env templates: what
    /// `restart` builds a fresh environment from after `.envctl` changed.
    #[serde(default)]
    pub base_env: Vec<(String, String)>,
    /// Its ownership marker (`ENVCTL_OWNER`); empty in state written
    /// before markers existed.
    #[serde(default)]
    pub owner: String,
    /// How often the supervisor restarted it in this run.
    #[serde(default)]
    pub restarts: u32,
}

impl ServiceRecord {
    /// Its marker, if it has one.
    pub fn marker(&self) -> Option<&str> {
        (!self.owner.is_empty()).then_some(self.owner.as_str())
    }

    /// Its process identity.
    pub fn ident(&self) -> Ident {
        Ident {
            pid: self.pid,
            start_time: self.start_time,
        }
    }
}

/// Ports of one project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectPorts {
    /// The project.
    pub project: String,
    /// Its checkout.
    pub root: PathBuf,
    /// service → plan.
    pub ports: BTreeMap<String, PortPlan>,
}

/// One run (contract `RunState`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// Always 1.
    pub schema_version: u32,
    /// `run-<UTC yyyymmddHHMMSS>-<8 hex>`.
    pub run_id: String,
    /// `main` / `trees`.
    pub mode: String,
    /// `rust`.
    pub backend_mode: String,
    /// name → record.
    pub services: BTreeMap<String, ServiceRecord>,
    /// project → dependency results.
    pub requirements: BTreeMap<String, Value>,
    /// The dependency servers this run owns.
    pub dependencies: Vec<Instance>,
    /// Port plans.
    pub ports: Vec<ProjectPorts>,
    /// command, repo_scope_id, dependency_mode, project_roots, active...
    pub metadata: BTreeMap<String, Value>,
    /// Errors seen.
    pub errors: Vec<String>,
}

/// A fresh run id.
pub fn new_run_id() -> String {
    let ts = compact_now();
    let rand: u32 = {
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(std::time::SystemTime::now()) as u32
    };
    format!("run-{ts}-{rand:08x}")
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The UTC time now, e.g. `2026-11-24T03:14:15Z` (RFC 3339, seconds).
pub fn iso_now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Compact UTC, e.g. `20261124031415`.
pub fn compact_now() -> String {
    jiff::Timestamp::now().strftime("%Y%m%d%H%M%S").to_string()
}

/// Writes `text` to `path` atomically (temp + fsync + rename).
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(tmp, path)
}

impl RunState {
    /// True while the run is one `resume`, `stop-all` and the supervisor
    /// act on.
    pub fn is_active(&self) -> bool {
        self.metadata.get("active") == Some(&Value::Bool(true))
    }

    /// The run's own folder.
    pub fn run_dir(&self, scope: &Path) -> PathBuf {
        scope.join("runs").join(&self.run_id)
    }

    /// `runtime_map.json`.
    pub fn runtime_map(&self) -> Value {
        let mut projects = serde_json::Map::new();
        let mut projection = serde_json::Map::new();
        let mut port_to_service = serde_json::Map::new();
        for s in self.services.values() {
            let live = matches!(s.status.as_str(), "running" | "starting");
            let url = live.then(|| format!("http://127.0.0.1:{}", s.actual_port));
            let entry = projects
                .entry(s.project.clone())
                .or_insert_with(|| json!({"services": {}}));
            entry[format!("{}_port", s.service_slug)] = json!(s.actual_port);
            entry["services"][&s.service_slug] = json!({
                "name": s.name, "type": s.kind, "service_slug": s.service_slug,
                "port": s.actual_port, "url": url, "public_url": s.public_url,
                "health_url": s.health_url, "status": s.status, "cwd": s.cwd,
                "requested_port": s.requested_port, "actual_port": s.actual_port,
                "log_path": s.log_path, "failure_detail": s.failure_detail,
                "runtime_kind": s.runtime_kind,
            });
            let p = projection
                .entry(s.project.clone())
                .or_insert_with(|| json!({}));
            p[format!("{}_port", s.service_slug)] = json!(s.actual_port);
            p[format!("{}_url", s.service_slug)] = json!(url);
            p[format!("{}_status", s.service_slug)] = json!(s.status);
            port_to_service.insert(s.actual_port.to_string(), json!(s.name));
        }
        json!({
            "schema_version": "1.0",
            "backend_mode": self.backend_mode,
            "run_id": self.run_id,
            "mode": self.mode,
            "projects": projects,
            "port_to_service": port_to_service,
            "projection": projection,
        })
    }

    /// `ports_manifest.json`.
    pub fn ports_manifest(&self) -> Value {
        let projects: Vec<Value> = self
            .ports
            .iter()
            .map(|p| {
                let ports: serde_json::Map<String, Value> = p
                    .ports
                    .iter()
                    .map(|(svc, plan)| {
                        (svc.clone(), json!({
                            "requested": plan.requested, "assigned": plan.assigned,
                            "final": plan.final_port, "source": plan.source, "retries": plan.retries,
                        }))
                    })
                    .collect();
                json!({"project": p.project, "root": p.root, "ports": ports})
            })
            .collect();
        json!({"run_id": self.run_id, "mode": self.mode, "projects": projects})
    }

    /// Saves every artifact to the latest view and the run's folder.
    pub fn save(&self, scope: &Path) -> std::io::Result<()> {
        let state = serde_json::to_string_pretty(self)?;
        let map = serde_json::to_string_pretty(&self.runtime_map())?;
        let ports = serde_json::to_string_pretty(&self.ports_manifest())?;
        let errors = serde_json::to_string_pretty(&json!({
            "run_id": self.run_id, "errors": self.errors, "generated_at": iso_now(),
        }))?;
        for dir in [scope.to_path_buf(), self.run_dir(scope)] {
            write_atomic(&dir.join("run_state.json"), &state)?;
            write_atomic(&dir.join("runtime_map.json"), &map)?;
            write_atomic(&dir.join("ports_manifest.json"), &ports)?;
            write_atomic(&dir.join("error_report.json"), &errors)?;
            let ev = dir.join("events.jsonl");
            if !ev.exists() {
                write_atomic(&ev, "")?;
            }
        }
        Ok(())
    }
}

/// The latest run of the scope, if any.
pub fn load_latest(scope: &Path) -> Option<RunState> {
    serde_json::from_str(&std::fs::read_to_string(scope.join("run_state.json")).ok()?).ok()
}

fn phase(event: &str) -> &'static str {
    if event.starts_with("process.")
        || event.starts_with("service.")
        || event.starts_with("requirements.")
    {
        "lifecycle"
    } else if event.starts_with("state.") || event.starts_with("runtime_map.") {
        "state"
    } else if event == "command.route" {
        "route"
    } else {
        "runtime"
    }
}

/// Appends one event (contract §3.5: keys sorted, schema_version 2) to the
/// latest view and to the run's folder.
pub fn event(scope: &Path, run_id: &str, name: &str, fields: Value) {
    let mut obj: BTreeMap<String, Value> = BTreeMap::new();
    obj.insert("event".into(), json!(name));
    obj.insert("timestamp".into(), json!(iso_now()));
    obj.insert("schema_version".into(), json!(2));
    obj.insert("trace_id".into(), json!(run_id));
    obj.insert("phase".into(), json!(phase(name)));
    if let Value::Object(m) = fields {
        obj.extend(m);
    }
    let line = format!("{}\n", serde_json::to_string(&obj).unwrap_or_default());
    for dir in [scope.to_path_buf(), scope.join("runs").join(run_id)] {
        if std::fs::create_dir_all(&dir).is_ok()
            && let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("events.jsonl"))
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_matches_date() {
        let ours = super::iso_now();
        let theirs = std::process::Command::new("date")
            .args(["-u", "+%Y-%m-%dT%H:%M"])
            .output()
            .unwrap();
        let theirs = String::from_utf8_lossy(&theirs.stdout).trim().to_owned();
        assert!(
            ours.starts_with(&theirs) || ours[..16] > *theirs,
            "{ours} vs {theirs}"
        );
    }
}
