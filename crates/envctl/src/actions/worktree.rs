//! Worktree actions (contract §1.6): create worktrees where envctl finds
//! them, and delete one after stopping exactly its services.
//!
//! Creation runs git with repository hooks off (`core.hooksPath=/dev/null`)
//! unless `ENVCTL_WORKTREE_GIT_HOOKS=inherit`: a checkout hook of the
//! user's must not run unasked for every iteration envctl creates.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::Config;
use crate::{Failure, lifecycle, worktrees};

fn git(repo: &Path, args: &[&str], hooks: bool) -> Result<String, Failure> {
    let mut cmd = Command::new("git");
    if !hooks {
        cmd.args(["-c", "core.hooksPath=/dev/null"]);
    }
    let out = cmd
        .args(args)
        .current_dir(repo)
        .output()
        .map_err(|e| Failure::Actionable(format!("cannot run git: {e}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Failure::Actionable(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn branch_exists(repo: &Path, branch: &str) -> bool {
    Command::new("git")
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("refs/heads/{branch}"))
        .current_dir(repo)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn valid_part(what: &str, s: &str) -> Result<(), Failure> {
    let ok = !s.is_empty()
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Failure::Usage(format!(
            "{what} {s:?} must be letters, digits, '-', '_' or '.'"
        )))
    }
}

/// `setup-worktree <feature> <iter>`: `trees/<feature>/<iter>` on branch
/// `<feature>-<iter>` (reused when it exists). Returns its folder.
pub fn setup(repo: &Path, cfg: &Config, feature: &str, iter: &str) -> Result<PathBuf, Failure> {
    valid_part("feature", feature)?;
    valid_part("iteration", iter)?;
    let trees = cfg.get("TREES_DIR_NAME").unwrap_or_else(|| "trees".into());
    let rel = format!("{trees}/{feature}/{iter}");
    let dir = repo.join(&rel);
    if dir.exists() {
        println!("exists: {rel} (project {feature}-{iter})");
        return Ok(dir);
    }
    let hooks = cfg.get("ENVCTL_WORKTREE_GIT_HOOKS").as_deref() == Some("inherit");
    let branch = format!("{feature}-{iter}");
    if branch_exists(repo, &branch) {
        git(repo, &["worktree", "add", "-q", &rel, &branch], hooks)?;
    } else {
        git(repo, &["worktree", "add", "-q", &rel, "-b", &branch], hooks)?;
    }
    println!("created: {rel} on branch {branch} (project {feature}-{iter})");
    Ok(dir)
}

/// `setup-worktrees <feature> <count>`: iterations 1..=count.
pub fn setup_many(repo: &Path, cfg: &Config, feature: &str, count: u32) -> Result<(), Failure> {
    if count == 0 {
        return Err(Failure::Usage("count must be at least 1".into()));
    }
    for i in 1..=count {
        setup(repo, cfg, feature, &i.to_string())?;
    }
    Ok(())
}

/// `delete-worktree <name> --yes`: stops the worktree's services, forgets
/// them, then `git worktree remove` (which refuses a dirty worktree unless
/// `force`).
pub fn delete(
    repo: &Path,
    cfg: &Config,
    name: &str,
    yes: bool,
    force: bool,
) -> Result<(), Failure> {
    let trees = cfg.get("TREES_DIR_NAME").unwrap_or_else(|| "trees".into());
    let all = worktrees::trees(repo, &trees);
    let Some(p) = all.iter().find(|p| p.name == name) else {
        let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
        return Err(Failure::Actionable(format!(
            "no worktree named {name:?} (worktrees: {})",
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        )));
    };
    if !yes {
        return Err(Failure::Usage(format!(
            "delete-worktree stops {name}'s services and removes {}: pass --yes",
            p.root.display()
        )));
    }
    if !force {
        let dirty = git(&p.root, &["status", "--porcelain"], true)?;
        let n = dirty.lines().count();
        if n > 0 {
            return Err(Failure::Actionable(format!(
                "worktree {name} has {n} uncommitted change(s): commit them, or pass --force to discard them (nothing was stopped)"
            )));
        }
    }
    let n = lifecycle::forget_project(repo, name)?;
    println!("stopped {n} service(s) of {name}");
    let path = p.root.to_string_lossy().into_owned();
    let mut args = vec!["worktree", "remove"];
    if force {
        args.push("--force");
    }
    args.push(&path);
    git(repo, &args, true)?;
    // An emptied `trees/<feature>/` goes too.
    if let Some(parent) = p.root.parent()
        && parent != repo
    {
        let _ = std::fs::remove_dir(parent);
    }
    println!("removed worktree {name} ({path})");
    Ok(())
}
