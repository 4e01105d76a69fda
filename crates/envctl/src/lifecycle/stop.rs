//! `stop` and `stop-all`: stop what we recorded — a service's whole
//! process group even when its leader is dead, then anything still
//! carrying its marker — and never a process that is not provably ours.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::runs::{active_runs, save_run, set_active};
use super::{dep_by_id, lock};
use crate::ports;
use crate::procs;
use crate::state::{self, RunState, ServiceRecord};
use crate::{Failure, scope};

/// Options of `stop`.
#[derive(Debug, Default)]
pub struct StopOpts {
    /// `--project`.
    pub projects: Vec<String>,
    /// `--backend`, `--frontend`, `--service`: service slugs (empty: every
    /// service).
    pub services: Vec<String>,
}

/// Stops one service if it is provably ours: its recorded process (pid +
/// start time) or processes carrying its marker. A process that merely
/// listens on its old port is someone else's and survives.
pub fn stop_service(scope: &Path, run_id: &str, rec: &mut ServiceRecord) -> bool {
    let id = rec.ident();
    let legacy = rec.marker().is_none();
    // State from before markers: the old rule (it owns its port, or nobody
    // listens there).
    if legacy
        && procs::alive(&id)
        && rec.listener_expected
        && !procs::owns_listener(&id, rec.actual_port)
        && procs::port_has_listener(rec.actual_port)
    {
        state::event(
            scope,
            run_id,
            "cleanup.skip",
            json!({"service": rec.name, "reason": "ownership_mismatch", "pid": rec.pid}),
        );
        ports::release(scope, rec.actual_port);
        rec.status = "stopped".into();
        return true;
    }
    let how = procs::stop_owned(&id, rec.marker(), Duration::from_secs(2));
    let ok = how != procs::Stopped::Failed;
    if procs::port_has_listener(rec.actual_port) && !procs::owns_listener(&id, rec.actual_port) {
        state::event(
            scope,
            run_id,
            "cleanup.skip",
            json!({"service": rec.name, "reason": "ownership_mismatch", "port": rec.actual_port}),
        );
    }
    // The lock is ours either way; a foreign listener keeps its port.
    ports::release(scope, rec.actual_port);
    rec.status = if ok { "stopped" } else { "termination_failed" }.into();
    state::event(
        scope,
        run_id,
        "cleanup.stop",
        json!({"service": rec.name, "status": rec.status, "how": format!("{how:?}")}),
    );
    ok
}

/// Stops every service of a run (and its dependencies with `deps`),
/// releases its ports and deactivates it; returns the names that could
/// not be stopped.
pub fn stop_run(scope: &Path, run: &mut RunState, deps: bool) -> Vec<String> {
    let run_id = run.run_id.clone();
    let mut failed = Vec::new();
    for rec in run.services.values_mut() {
        if rec.status != "stopped" && !stop_service(scope, &run_id, rec) {
            failed.push(rec.name.clone());
        }
    }
    if deps {
        // A shared server another active run still uses stays up.
        let others: Vec<RunState> = active_runs(scope)
            .into_iter()
            .filter(|r| r.run_id != run_id)
            .collect();
        for inst in &run.dependencies {
            let in_use = others
                .iter()
                .any(|r| r.dependencies.iter().any(|d| d.ident == inst.ident));
            if in_use {
                continue;
            }
            dep_by_id(&inst.id).stop(inst);
            ports::release(scope, inst.port);
        }
    }
    for (port, lock, _) in ports::inventory(scope) {
        if lock.session == run_id {
            ports::release(scope, port);
        }
    }
    if failed.is_empty() {
        set_active(scope, run, false);
    }
    failed
}

/// `stop`.
pub fn stop(repo: &Path, opts: &StopOpts) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    let _lock = lock(&scope)?;
    let mut runs = active_runs(&scope);
    if runs.is_empty() {
        if let Some(r) = state::load_latest(&scope) {
            runs.push(r);
        } else {
            crate::ui::say("nothing is running");
            return Ok(());
        }
    }
    check_selection(&runs, opts)?;
    let mut failed = Vec::new();
    let mut n = 0;
    for run in &mut runs {
        let run_id = run.run_id.clone();
        for rec in run.services.values_mut() {
            let by_project = opts.projects.is_empty() || opts.projects.contains(&rec.project);
            let by_kind = opts.services.is_empty() || opts.services.contains(&rec.service_slug);
            if !(by_project && by_kind) || rec.status == "stopped" {
                continue;
            }
            n += 1;
            if !stop_service(&scope, &run_id, rec) {
                failed.push(rec.name.clone());
            }
        }
        save_run(&scope, run)?;
    }
    crate::ui::say(&format!("stopped {n} service(s)"));
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Actionable(format!("could not stop: {failed:?}")))
    }
}

/// A `--project` or `--service` that names nothing recorded is a mistake
/// (a typo would otherwise stop nothing and say so quietly): the error
/// names what there is.
fn check_selection(runs: &[RunState], opts: &StopOpts) -> Result<(), Failure> {
    let recs = || runs.iter().flat_map(|r| r.services.values());
    let unknown = |wanted: &[String], known: Vec<String>, what: &str| {
        let missing: Vec<&String> = wanted.iter().filter(|w| !known.contains(w)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut known = known;
        known.sort();
        known.dedup();
        Err(Failure::Actionable(format!(
            "no {what} named {} in the recorded runs (known: {})",
            missing
                .iter()
                .map(|m| format!("{m:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            known.join(", ")
        )))
    };
    unknown(
        &opts.projects,
        recs().map(|r| r.project.clone()).collect(),
        "project",
    )?;
    let in_projects = recs()
        .filter(|r| opts.projects.is_empty() || opts.projects.contains(&r.project))
        .map(|r| r.service_slug.clone())
        .collect();
    unknown(&opts.services, in_projects, "service")
}

/// `stop-all`: every service and dependency of every active run of the
/// scope; data is kept.
pub fn stop_all(repo: &Path) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    let _lock = lock(&scope)?;
    stop_all_locked(&scope)
}

/// `stop-all` with the lock already held.
pub fn stop_all_locked(scope: &Path) -> Result<(), Failure> {
    let mut runs = active_runs(scope);
    // The latest view may hold a run from before the run index.
    if let Some(latest) = state::load_latest(scope)
        && latest.is_active()
        && !runs.iter().any(|r| r.run_id == latest.run_id)
    {
        runs.push(latest);
    }
    if runs.is_empty() {
        // A start whose daemon was killed before it recorded anything
        // may have left processes and port locks: nothing recorded runs,
        // so what carries the scope's marker is such a leftover, and no
        // lock is held.
        let strays = stop_strays(scope);
        for (port, _, _) in ports::inventory(scope) {
            ports::release(scope, port);
        }
        if strays == 0 {
            crate::ui::say("nothing is running");
        }
        return Ok(());
    }
    let mut failed = Vec::new();
    let (mut services, mut deps) = (0, 0);
    for run in &mut runs {
        services += run.services.len();
        deps += run.dependencies.len();
        failed.extend(stop_run(scope, run, true));
        state::event(
            scope,
            &run.run_id,
            "cleanup.stop_all",
            json!({"services": run.services.len(), "dependencies": run.dependencies.len()}),
        );
        save_run(scope, run)?;
    }
    stop_strays(scope);
    for (port, _, _) in ports::inventory(scope) {
        ports::release(scope, port);
    }
    crate::ui::say(&format!(
        "stopped everything: {} run(s), {services} service(s), {deps} dependency(ies) (data kept)",
        runs.len()
    ));
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Actionable(format!("could not stop: {failed:?}")))
    }
}

/// Stops every process that carries the scope's ownership marker but that
/// no run records (a start whose daemon was killed before it saved them:
/// a server half-started, a service launched a moment before), naming
/// each; returns how many. The marker proves it is ours; nothing else is
/// touched.
fn stop_strays(scope: &Path) -> usize {
    let Some(scope_id) = scope.file_name().and_then(|n| n.to_str()) else {
        return 0;
    };
    let spare = procs::table::self_and_ancestors();
    let strays: Vec<(u32, String)> = procs::carrying(&procs::Owner::scope_prefix(scope_id), false)
        .into_iter()
        .filter(|(p, _)| !spare.contains(p))
        .collect();
    for (pid, marker) in &strays {
        let Some(start_time) = procs::start_time(*pid) else {
            continue;
        };
        let cmd = procs::table::cmdline(*pid);
        let how = procs::stop_owned(
            &procs::Ident {
                pid: *pid,
                start_time,
            },
            Some(marker),
            Duration::from_secs(2),
        );
        state::event(
            scope,
            marker.split('/').nth(1).unwrap_or("none"),
            "cleanup.stray",
            json!({"pid": pid, "command": cmd, "marker": marker, "how": format!("{how:?}")}),
        );
        crate::ui::say(&format!(
            "stopped pid {pid}: {cmd} (carries ENVCTL_OWNER={marker}; recorded nowhere, left by an interrupted start)"
        ));
    }
    strays.len()
}

/// `delete-worktree`: stops a project's services (and dependencies only it
/// uses) in every active run, then removes it from the records: a later
/// `resume` must not try to bring back a worktree that is gone. A run left
/// with no service ends. Returns how many services were stopped.
pub fn forget_project(repo: &Path, project: &str) -> Result<usize, Failure> {
    let scope = scope::scope_dir(repo)?;
    let _lock = lock(&scope)?;
    let mut stopped = 0;
    let mut failed = Vec::new();
    for mut run in active_runs(&scope) {
        if !run.services.values().any(|s| s.project == project) {
            continue;
        }
        let run_id = run.run_id.clone();
        let mut ports_of = Vec::new();
        for rec in run.services.values_mut().filter(|s| s.project == project) {
            ports_of.push(rec.actual_port);
            if rec.status != "stopped" {
                stopped += 1;
                if !stop_service(&scope, &run_id, rec) {
                    failed.push(rec.name.clone());
                }
            }
        }
        if !failed.is_empty() {
            save_run(&scope, &run)?;
            continue;
        }
        // Its own (isolated) dependencies go with it; shared ones stay.
        let (own, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut run.dependencies)
            .into_iter()
            .partition(|d| d.owner == project);
        for inst in &own {
            dep_by_id(&inst.id).stop(inst);
            ports::release(&scope, inst.port);
        }
        run.dependencies = keep;
        run.services.retain(|_, s| s.project != project);
        run.ports.retain(|p| p.project != project);
        run.requirements.remove(project);
        for port in ports_of.into_iter().filter(|p| *p != 0) {
            ports::release(&scope, port);
        }
        state::event(
            &scope,
            &run_id,
            "project.forgotten",
            json!({"project": project, "reason": "delete-worktree"}),
        );
        if run.services.is_empty() {
            failed.extend(stop_run(&scope, &mut run, true));
        }
        save_run(&scope, &run)?;
    }
    if failed.is_empty() {
        Ok(stopped)
    } else {
        Err(Failure::Actionable(format!(
            "could not stop {failed:?}; the worktree is kept"
        )))
    }
}
