//! `blast-all`: `stop-all`, then kill whatever is left that is provably
//! ours — it carries the scope's ownership marker, or it is a recorded
//! process (pid + start time) — and name every process it kills. Never by
//! working folder or path substring: a shell, an editor or a sibling
//! repository's server is not ours. The indiscriminate port-band sweep of
//! the Python tool is only behind `--ecosystem`.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use serde_json::json;

use super::lock;
use super::runs::all_runs;
use super::stop::stop_all_locked;
use crate::config::Config;
use crate::procs::{self, Ident, Owner, table};
use crate::{Failure, scope, state};

/// Options of `blast-all`.
#[derive(Debug, Default)]
pub struct BlastOpts {
    /// `--remove-volumes`: delete every run's dependency data too.
    pub remove_volumes: bool,
    /// `--force`: no confirmation prompt.
    pub force: bool,
    /// `--ecosystem`: also kill whatever listens on the scope's port bands.
    pub ecosystem: bool,
}

/// Recorded processes of every run of the scope: identity → what it was.
fn recorded(scope: &Path) -> BTreeMap<u32, (Ident, String)> {
    let mut out = BTreeMap::new();
    for run in all_runs(scope).into_iter().chain(state::load_latest(scope)) {
        for s in run.services.values() {
            out.insert(s.pid, (s.ident(), format!("recorded as {}", s.name)));
        }
        for d in &run.dependencies {
            out.insert(
                d.ident.pid,
                (d.ident, format!("recorded as {} ({})", d.id, d.owner)),
            );
        }
    }
    out.remove(&0);
    out
}

/// The port bands of `--ecosystem` (contract §4.4): app bases + 400,
/// dependency bases + 100.
fn bands(cfg: Option<&Config>) -> Vec<(u16, u16)> {
    let get = |k: &str, d: u16| {
        cfg.and_then(|c| c.get(k))
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let mut out = Vec::new();
    for (k, d) in [("BACKEND_PORT_BASE", 8000), ("FRONTEND_PORT_BASE", 9000)] {
        let b = get(k, d);
        out.push((b, b.saturating_add(400)));
    }
    for (k, d) in [("DB_PORT", 5432), ("REDIS_PORT", 6379)] {
        let b = get(k, d);
        out.push((b, b.saturating_add(100)));
    }
    out
}

fn ecosystem_targets(cfg: Option<&Config>) -> Vec<(u32, String)> {
    let mut out: Vec<(u32, String)> = Vec::new();
    for (lo, hi) in bands(cfg) {
        for port in lo..=hi {
            for pid in procs::listener_pids(port) {
                if !out.iter().any(|(p, _)| *p == pid) {
                    out.push((pid, format!("listens on port {port} (--ecosystem)")));
                }
            }
        }
    }
    out
}

fn confirm(targets: &[(u32, String)]) -> bool {
    eprintln!("envctl: blast-all --ecosystem will kill processes envctl did not start:");
    for (pid, why) in targets {
        eprintln!("  pid {pid}: {} — {why}", table::cmdline(*pid));
    }
    eprint!("kill them? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes")
}

/// `blast-all`.
pub fn blast_all(repo: &Path, cfg: Option<&Config>, opts: &BlastOpts) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    let _lock = lock(&scope)?;
    let scope_id = scope::scope_id(repo);
    let record = recorded(&scope);
    let runs = all_runs(&scope);
    // The supervisor goes first: it would restart what we stop.
    crate::daemon::stop_process(&scope);
    if let Err(e) = stop_all_locked(&scope) {
        crate::ui::warn(&format!("stop-all: {e:?}; killing what is left"));
    }
    let spare = table::self_and_ancestors();
    let mut targets: Vec<(u32, String)> = procs::carrying(&Owner::scope_prefix(&scope_id), false)
        .into_iter()
        .map(|(pid, m)| (pid, format!("carries ENVCTL_OWNER={m}")))
        .collect();
    for (pid, (ident, why)) in &record {
        if procs::alive(ident) && !targets.iter().any(|(p, _)| p == pid) {
            targets.push((*pid, why.clone()));
        }
    }
    if opts.ecosystem {
        let mut eco: Vec<(u32, String)> = ecosystem_targets(cfg)
            .into_iter()
            .filter(|(p, _)| !targets.iter().any(|(q, _)| q == p) && !spare.contains(p))
            .collect();
        if !eco.is_empty() && !opts.force && std::io::stdin().is_terminal() && !confirm(&eco) {
            eprintln!("envctl: not killing processes outside envctl's ownership");
            eco.clear();
        }
        targets.extend(eco);
    }
    targets.retain(|(p, _)| !spare.contains(p));
    let mut killed = Vec::new();
    for (pid, why) in &targets {
        let cmd = table::cmdline(*pid);
        procs::kill_now(*pid);
        crate::ui::say(&format!("killed pid {pid}: {cmd} ({why})"));
        killed.push(json!({"pid": pid, "command": cmd, "why": why}));
    }
    if opts.remove_volumes {
        let mut dirs: Vec<std::path::PathBuf> = runs
            .iter()
            .flat_map(|r| r.dependencies.iter().map(|d| d.data_dir.clone()))
            .collect();
        // Everything under the scope's instance roots too, recorded or not
        // (a failed start's server, a run whose record was lost).
        if let Some(pg_root) =
            crate::requirements::postgres_instance_dir(&scope, "postgres-shared").parent()
        {
            dirs.push(pg_root.to_path_buf());
        }
        dirs.push(scope.join("deps"));
        dirs.sort();
        dirs.dedup();
        for d in dirs {
            let _ = std::fs::remove_dir_all(&d);
            // Its per-scope parent goes too once empty.
            if let Some(parent) = d.parent() {
                let _ = std::fs::remove_dir(parent);
            }
        }
    }
    state::event(
        &scope,
        runs.last().map(|r| r.run_id.as_str()).unwrap_or("none"),
        "cleanup.blast",
        json!({"killed": killed, "remove_volumes": opts.remove_volumes, "ecosystem": opts.ecosystem}),
    );
    crate::ui::say(&format!(
        "blasted: {} process(es) killed{}",
        killed.len(),
        if opts.remove_volumes {
            ", data removed"
        } else {
            ""
        }
    ));
    Ok(())
}
