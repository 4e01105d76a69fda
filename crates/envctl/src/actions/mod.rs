//! Daily workflows on a running worktree: its projected environment for
//! your own shell and tools (`env`, `exec`), and the worktree actions that
//! create and delete worktrees.
//!
//! These commands read the recorded runs; none of them launches a service.

pub mod env;
pub mod migrate;
pub mod test;
pub mod worktree;

use std::path::Path;

use crate::lifecycle::active_runs;
use crate::state::{RunState, ServiceRecord};
use crate::worktrees;
use crate::{Failure, scope};

/// One running project as the records describe it.
#[derive(Debug)]
pub struct Running {
    /// Its name.
    pub name: String,
    /// Its checkout.
    pub root: std::path::PathBuf,
    /// Its services, by name.
    pub services: Vec<ServiceRecord>,
}

/// The projects of every active run, by name.
fn running(scope: &Path) -> Vec<(RunState, Vec<String>)> {
    active_runs(scope)
        .into_iter()
        .map(|r| {
            let mut names: Vec<String> = r.services.values().map(|s| s.project.clone()).collect();
            names.sort();
            names.dedup();
            (r, names)
        })
        .collect()
}

/// The names of every project of the active runs.
pub fn running_names(scope: &Path) -> Vec<String> {
    let mut all: Vec<String> = running(scope).into_iter().flat_map(|(_, n)| n).collect();
    all.sort();
    all.dedup();
    all
}

/// Project `name` as the active runs record it, if it runs.
pub fn running_project(repo: &Path, scope: &Path, name: &str) -> Option<Running> {
    let runs = running(scope);
    let (run, _) = runs.iter().find(|(_, n)| n.iter().any(|x| x == name))?;
    Some(from_run(repo, run, name, None))
}

fn from_run(repo: &Path, run: &RunState, name: &str, trees_dir: Option<&str>) -> Running {
    let services: Vec<ServiceRecord> = run
        .services
        .values()
        .filter(|s| s.project == name)
        .cloned()
        .collect();
    let root = run
        .ports
        .iter()
        .find(|p| p.project == name)
        .map(|p| p.root.clone())
        .or_else(|| (name == "main").then(|| repo.to_path_buf()))
        .or_else(|| {
            worktrees::trees(repo, trees_dir.unwrap_or("trees"))
                .into_iter()
                .find(|p| p.name == name)
                .map(|p| p.root)
        })
        .unwrap_or_else(|| repo.to_path_buf());
    Running {
        name: name.to_owned(),
        root,
        services,
    }
}

/// Finds the project the user means: `--project`, else the worktree the
/// current folder is in, else `main` when it runs, else the only running
/// project.
pub fn resolve(
    repo: &Path,
    cwd: &Path,
    trees_dir: &str,
    asked: Option<&str>,
) -> Result<Running, Failure> {
    let scope = scope::scope_dir(repo)?;
    let runs = running(&scope);
    let all: Vec<String> = runs.iter().flat_map(|(_, n)| n.clone()).collect();
    let wanted = match asked {
        Some(p) => p.to_owned(),
        None => {
            let trees = worktrees::trees(repo, trees_dir);
            match worktrees::containing(&trees, cwd) {
                Some(p) => p.name.clone(),
                None if cwd.starts_with(repo) && all.iter().any(|n| n == "main") => "main".into(),
                None if all.len() == 1 => all[0].clone(),
                None if all.is_empty() => {
                    return Err(Failure::Actionable(
                        "nothing is running: start a project first (`envctl start`)".into(),
                    ));
                }
                None => {
                    return Err(Failure::Actionable(format!(
                        "several projects run ({}): choose one with --project",
                        all.join(", ")
                    )));
                }
            }
        }
    };
    let Some((run, _)) = runs.iter().find(|(_, n)| n.contains(&wanted)) else {
        let hint = if all.is_empty() {
            "nothing is running".to_owned()
        } else {
            format!("running: {}", all.join(", "))
        };
        return Err(Failure::Actionable(format!(
            "project {wanted:?} is not running ({hint}): start it with `envctl start --project {wanted}`"
        )));
    };
    Ok(from_run(repo, run, &wanted, Some(trees_dir)))
}
