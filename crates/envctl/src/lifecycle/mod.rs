//! The commands that change what runs: `start` / `resume` ([`mod@start`]),
//! `stop` / `stop-all` ([`mod@stop`]), `blast-all` ([`blast`]). One at a time
//! per repository: each holds the lifecycle lock for its whole run.
//!
//! What is started is recorded before anything waits on it, and carries
//! the scope's ownership marker, so that no later command (nor a crash of
//! this one) can lose track of it; a run becomes *active* (what `resume`
//! and the supervisor keep alive) only once every critical service is
//! healthy.

mod blast;
pub(crate) mod launch;
mod runs;
mod start;
mod stop;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use blast::{BlastOpts, blast_all};
pub use launch::relaunch;
#[allow(unused_imports)] // the supervisor's entry points
pub use runs::{active_runs, save_run};
#[allow(unused_imports)]
pub use start::restart_dep;
pub use start::{StartOpts, start};
pub use stop::{StopOpts, forget_project, stop, stop_all};

use crate::config::Config;
use crate::plan::Mode;
use crate::procs::{self, Owner};
use crate::requirements::{Dependency, Postgres, Redis};
use crate::state::{RunState, ServiceRecord};
use crate::{Failure, state};

/// Holds `.lifecycle_operation.lock` (flock) for the command's lifetime.
#[derive(Debug)]
pub struct LifecycleLock(#[allow(dead_code)] nix::fcntl::Flock<std::fs::File>);

fn lock_file(scope: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(scope.join(".lifecycle_operation.lock"))
}

/// Records who holds the lock (`<pid> <role>`), for those who find it taken.
fn mark(l: &nix::fcntl::Flock<std::fs::File>, role: &str) {
    use std::io::{Seek, Write};
    let mut f: &std::fs::File = l;
    let _ = f.set_len(0);
    let _ = f.seek(std::io::SeekFrom::Start(0));
    let _ = write!(f, "{} {role}", std::process::id());
}

/// How long a command waits for the lock's holder: the supervisor only
/// ever holds it for one restart decision or one restart (wait it out); a
/// holder that has not yet written its name (the file still names a
/// previous holder that is gone, or us) is about to; anyone else is a
/// concurrent command (fail at once with the busy message).
fn patience(scope: &Path) -> Duration {
    let text = std::fs::read_to_string(scope.join(".lifecycle_operation.lock")).unwrap_or_default();
    let mut it = text.split_whitespace();
    let pid: u32 = it.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    if it.next() == Some("daemon") {
        Duration::from_secs(120)
    } else if pid == 0
        || pid == std::process::id()
        || !crate::procs::table::stat(pid).is_some_and(|p| p.live())
    {
        Duration::from_secs(2)
    } else {
        Duration::ZERO
    }
}

/// Takes the lifecycle lock, or fails with the busy message when another
/// command holds it. The supervisor's brief holds are waited out.
pub fn lock(scope: &Path) -> Result<LifecycleLock, Failure> {
    let busy = || {
        Failure::Actionable(
            "Another envctl lifecycle operation is already active for this repository; wait for it to finish (or stop it) and try again".into(),
        )
    };
    let start = std::time::Instant::now();
    loop {
        match nix::fcntl::Flock::lock(
            lock_file(scope)?,
            nix::fcntl::FlockArg::LockExclusiveNonblock,
        ) {
            Ok(l) => {
                mark(&l, "cli");
                return Ok(LifecycleLock(l));
            }
            Err(_) if start.elapsed() < patience(scope) => {
                // A restart in progress: bounded wait, no event to wait on
                // across processes but the lock itself.
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => return Err(busy()),
        }
    }
}

/// Takes the lifecycle lock, waiting for the command holding it (the
/// supervisor, which must never fail a restart because a CLI command is
/// busy).
pub fn lock_wait(scope: &Path) -> std::io::Result<LifecycleLock> {
    let l = nix::fcntl::Flock::lock(lock_file(scope)?, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| std::io::Error::from(e))?;
    mark(&l, "daemon");
    Ok(LifecycleLock(l))
}

/// `<project> Backend`.
pub fn service_name(project: &str, slug: &str) -> String {
    let mut c = slug.chars();
    let cap: String = c
        .next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default();
    format!("{project} {cap}")
}

/// The ownership marker of something a run starts.
pub fn owner(run: &RunState, project: &str, service: &str) -> Owner {
    Owner {
        scope: run
            .metadata
            .get("repo_scope_id")
            .and_then(|v| v.as_str())
            .unwrap_or("repo-unknown")
            .to_owned(),
        run: run.run_id.clone(),
        project: project.to_owned(),
        service: service.to_owned(),
    }
}

fn deps_for(cfg: &Config, mode: Mode) -> Vec<Box<dyn Dependency>> {
    let p = mode.prefix();
    let mut out: Vec<Box<dyn Dependency>> = Vec::new();
    if cfg.flag(&format!("{p}_POSTGRES_ENABLE")) {
        out.push(Box::new(Postgres));
    }
    if cfg.flag(&format!("{p}_REDIS_ENABLE")) {
        out.push(Box::new(Redis));
    }
    out
}

/// The dependency implementation of a recorded instance.
pub fn dep_by_id(id: &str) -> Box<dyn Dependency> {
    match id {
        "postgres" => Box::new(Postgres),
        _ => Box::new(Redis),
    }
}

fn instance_dir(scope: &Path, key: &str) -> PathBuf {
    if key.starts_with("postgres") {
        crate::requirements::postgres_instance_dir(scope, key)
    } else {
        scope.join("deps").join(key)
    }
}

/// Status from the OS, now (contract §4.2).
pub fn truth(rec: &ServiceRecord, grace: Duration) -> &'static str {
    match rec.status.as_str() {
        "stopped" => return "stopped",
        // The supervisor gave up on it (crash loop); only a start clears it.
        "failed" => return "failed",
        _ => {}
    }
    let id = rec.ident();
    if rec.pid == 0 || !procs::alive(&id) {
        return "stale";
    }
    if !rec.listener_expected || procs::owns_listener(&id, rec.actual_port) {
        return "running";
    }
    if state::now().saturating_sub(rec.started_at) < grace.as_secs() {
        "starting"
    } else {
        "unreachable"
    }
}

/// True if a dependency server is alive and answers.
pub fn dep_healthy(inst: &crate::requirements::Instance) -> bool {
    procs::alive(&inst.ident) && dep_by_id(&inst.id).ready(inst)
}

/// Refreshes every record's status.
pub fn reconcile(run: &mut RunState, cfg: &Config) {
    let grace = Duration::from_secs(u64::from(cfg.num("ENVCTL_SERVICE_STARTUP_GRACE_SECONDS")));
    procs::with_snapshot(|| {
        for rec in run.services.values_mut() {
            rec.status = truth(rec, grace).into();
        }
    });
}
