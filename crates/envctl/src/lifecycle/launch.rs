//! Launching one app service and waiting until it is *healthy*: alive,
//! listening on its port (unless it is a worker), and answering HTTP. A
//! process that listens but then dies, or never answers, is a failure
//! with its last log lines, never "running".

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::config::Config;
use crate::procs::{self, HealthProbe, Launch, Owner};
use crate::state::{self, ServiceRecord};

/// How long to wait for each readiness stage.
#[derive(Debug, Clone, Copy)]
pub struct Readiness {
    /// For the port to listen.
    pub listener: Duration,
    /// For HTTP health after that.
    pub health: Duration,
    /// How long a worker (no port) must stay up to count as started.
    pub settle: Duration,
}

impl Readiness {
    /// From the config's tuning knobs.
    pub fn from_config(cfg: &Config) -> Self {
        Readiness {
            listener: Duration::from_secs(u64::from(
                cfg.num("ENVCTL_SERVICE_LISTENER_TIMEOUT").max(1),
            )),
            health: Duration::from_secs(u64::from(
                cfg.num("ENVCTL_SERVICE_STARTUP_PROGRESS_TIMEOUT").max(1),
            )),
            settle: Duration::from_secs(1),
        }
    }
}

/// The last `n` lines of a log.
pub fn last_lines(log: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// Why a launch did not become healthy.
#[derive(Debug)]
pub struct NotHealthy {
    /// What happened, one line.
    pub why: String,
    /// True if the log says the port was taken (worth a retry elsewhere).
    pub bind_conflict: bool,
}

/// Launches `rec.command` as `rec` describes (cwd, env + `PORT`, log,
/// marker) and waits until it is healthy. On success the record holds the
/// new pid and `running`; on failure the process group is stopped.
pub fn launch_and_wait(
    scope: &Path,
    run_id: &str,
    rec: &mut ServiceRecord,
    configured_health: Option<&str>,
    ready: Readiness,
) -> Result<(), NotHealthy> {
    let port = rec.actual_port;
    let mut env = rec.env.clone();
    if port != 0 {
        env.push(("PORT".into(), port.to_string()));
    }
    let owner: Owner = parse_owner(&rec.owner);
    state::event(
        scope,
        run_id,
        "service.start",
        json!({"project": rec.project, "service": rec.service_slug, "port": port}),
    );
    let id = procs::launch(&Launch {
        argv: &rec.command,
        cwd: &rec.cwd,
        env: &env,
        log: &rec.log_path,
        owner: &owner,
    })
    .map_err(|e| NotHealthy {
        why: e.to_string(),
        bind_conflict: false,
    })?;
    rec.pid = id.pid;
    rec.start_time = id.start_time;
    rec.started_at = state::now();
    rec.status = "starting".into();
    let fail = |rec: &mut ServiceRecord, why: String| {
        procs::stop_owned(&rec.ident(), rec.marker(), Duration::from_secs(1));
        let tail = last_lines(&rec.log_path, 40).join("\n").to_lowercase();
        Err(NotHealthy {
            bind_conflict: tail.contains("address already in use"),
            why,
        })
    };
    if !rec.listener_expected {
        if procs::exited_within(id.pid, ready.settle) {
            return fail(rec, format!("exited within {:?} of starting", ready.settle));
        }
        rec.status = "running".into();
        return Ok(());
    }
    let listening = procs::wait_until(ready.listener, || {
        procs::owns_listener(&id, port) || !procs::alive(&id)
    });
    if !procs::alive(&id) {
        return fail(rec, format!("exited before listening on port {port}"));
    }
    if !listening {
        return fail(
            rec,
            format!("no listener on port {port} within {:?}", ready.listener),
        );
    }
    state::event(
        scope,
        run_id,
        "service.bind.actual",
        json!({"project": rec.project, "service": rec.service_slug, "port": port, "pid": id.pid}),
    );
    let mut last = HealthProbe::NoAnswer;
    let healthy = procs::wait_until(ready.health, || {
        last = procs::probe_health(port, configured_health, Duration::from_secs(2));
        last.ok() || !procs::alive(&id)
    });
    if !procs::alive(&id) {
        return fail(rec, format!("exited after listening on port {port}"));
    }
    if !healthy {
        let why = match &last {
            HealthProbe::Failing(url, code) => format!("{url} answered {code}"),
            _ => format!("port {port} listens but no HTTP answer"),
        };
        return fail(rec, format!("not healthy within {:?}: {why}", ready.health));
    }
    if let HealthProbe::Healthy(url, _) = last {
        rec.health_url = url;
    }
    rec.listener_pids = procs::listener_pids(port);
    rec.status = "running".into();
    rec.failure_detail = None;
    state::event(
        scope,
        run_id,
        "service.healthy",
        json!({"project": rec.project, "service": rec.service_slug, "port": port, "pid": id.pid, "health_url": rec.health_url}),
    );
    Ok(())
}

/// Reads a marker back (`scope/run/project/service`).
pub fn parse_owner(s: &str) -> Owner {
    let mut it = s.splitn(4, '/');
    let mut next = || it.next().unwrap_or_default().to_owned();
    Owner {
        scope: next(),
        run: next(),
        project: next(),
        service: next(),
    }
}

/// Launches a recorded service again on its port (resume, restart, the
/// supervisor). The record says everything: command, folder, environment,
/// marker.
pub fn relaunch(
    scope: &Path,
    run_id: &str,
    rec: &mut ServiceRecord,
    cfg: &Config,
) -> Result<(), String> {
    let configured = configured_health(cfg, &rec.service_slug, rec.actual_port);
    launch_and_wait(
        scope,
        run_id,
        rec,
        configured.as_deref(),
        Readiness::from_config(cfg),
    )
    .map_err(|e| failure_text(rec, &e.why))
}

/// The configured health URL of a service, if any (`BACKEND_HEALTH_URL`,
/// `ENVCTL_SERVICE_<S>_HEALTH_URL`, `{port}` substituted).
pub fn configured_health(cfg: &Config, slug: &str, port: u16) -> Option<String> {
    cfg.get(&crate::plan::service_key(slug, "HEALTH_URL"))
        .map(|u| u.replace("{port}", &port.to_string()))
}

/// `why` plus the last log lines, as a person reads it.
pub fn failure_text(rec: &ServiceRecord, why: &str) -> String {
    let tail = last_lines(&rec.log_path, 10);
    let mut s = format!("{}: {why}", rec.name);
    if tail.is_empty() {
        s.push_str(&format!(" (log {} is empty)", rec.log_path.display()));
    } else {
        s.push_str(&format!(
            "; last lines of {}:\n{}",
            rec.log_path.display(),
            tail.iter()
                .map(|l| format!("    | {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    s
}
