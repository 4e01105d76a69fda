//! `envctl migrate`: the project's migration command
//! (`ENVCTL_ACTION_MIGRATE_CMD`, contract §1.5), run in its backend folder
//! with its projected environment, so it migrates that worktree's own
//! database. Without the key, a backend with `alembic.ini` gets
//! `python3 -m alembic upgrade head`, as the Python tool does.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::env::projected;
use super::{Running, running_project};
use crate::config::Config;
use crate::{Failure, plan, scope};

/// The migration command of a project and the folder it runs in.
fn command(cfg: &Config, root: &Path) -> Result<(Vec<String>, PathBuf), Failure> {
    let dir = root.join(cfg.get("BACKEND_DIR").unwrap_or_else(|| "backend".into()));
    match cfg.get("ENVCTL_ACTION_MIGRATE_CMD") {
        Some(c) => Ok((
            plan::split_command(&c)
                .map_err(|e| Failure::Actionable(format!("ENVCTL_ACTION_MIGRATE_CMD: {e}")))?,
            dir,
        )),
        None if dir.join("alembic.ini").is_file() => Ok((
            ["python3", "-m", "alembic", "upgrade", "head"]
                .map(String::from)
                .to_vec(),
            dir,
        )),
        None => Err(Failure::Actionable(
            "no migration command: set ENVCTL_ACTION_MIGRATE_CMD (e.g. `envctl config --set ENVCTL_ACTION_MIGRATE_CMD='flask db upgrade'`)".into(),
        )),
    }
}

/// Runs the migration of one running project; its output goes to ours.
/// Returns the failure text (with the command's output) if it failed.
pub fn run_one(cfg: &Config, p: &Running) -> Result<(), Failure> {
    run_with(cfg, &p.name, &p.root, projected(p).into_iter().collect())
}

/// Runs the migration of project `name` at `root` with `env` (the start
/// path calls this before launching the project's services).
pub fn run_with(
    cfg: &Config,
    name: &str,
    root: &Path,
    env: Vec<(String, String)>,
) -> Result<(), Failure> {
    let (cmd, dir) = command(cfg, root)?;
    let Some((prog, args)) = cmd.split_first() else {
        return Err(Failure::Actionable(
            "ENVCTL_ACTION_MIGRATE_CMD is empty".into(),
        ));
    };
    crate::ui::step(&format!("migrating {name}: {}", cmd.join(" ")));
    let out = Command::new(prog)
        .args(args)
        .envs(env)
        .current_dir(&dir)
        .output()
        .map_err(|e| {
            Failure::Actionable(format!(
                "migration of {name}: cannot run {prog:?} in {}: {e}",
                dir.display()
            ))
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        crate::ui::say(&format!("migrated {name}"));
        for line in text.lines() {
            crate::ui::say(&format!("  {line}"));
        }
        Ok(())
    } else {
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(Failure::Actionable(format!(
            "migration of {name} failed ({}): {}\n{}",
            out.status,
            cmd.join(" "),
            tail.join("\n")
        )))
    }
}

/// `envctl migrate [--project P … | --all]`: the named projects, every
/// running one, or the one you are in.
pub fn migrate(
    repo: &Path,
    cwd: &Path,
    cfg: &Config,
    projects: &[String],
    all: bool,
) -> Result<(), Failure> {
    let trees = cfg.get("TREES_DIR_NAME").unwrap_or_else(|| "trees".into());
    let selected: Vec<Running> = if all {
        let scope = scope::scope_dir(repo)?;
        let names = super::running_names(&scope);
        if names.is_empty() {
            return Err(Failure::Actionable(
                "nothing is running: `envctl start` first (a migration needs the project's database)".into(),
            ));
        }
        names
            .iter()
            .filter_map(|n| running_project(repo, &scope, n))
            .collect()
    } else if projects.is_empty() {
        vec![super::resolve(repo, cwd, &trees, None)?]
    } else {
        projects
            .iter()
            .map(|p| super::resolve(repo, cwd, &trees, Some(p)))
            .collect::<Result<_, _>>()?
    };
    let mut failed = Vec::new();
    for p in &selected {
        if let Err(Failure::Actionable(m)) = run_one(cfg, p) {
            eprintln!("envctl: {m}");
            failed.push(p.name.clone());
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Actionable(format!(
            "migration failed for: {}",
            failed.join(", ")
        )))
    }
}
