//! Which projects a repository has: `main` (the repository itself) and one
//! per worktree under `trees/<feature>/<iter>` (and `trees-*` siblings),
//! named `<feature>-<iter>`.

use std::path::{Path, PathBuf};

/// One startable copy of the app.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Project {
    /// `main` or `<feature>-<iter>`.
    pub name: String,
    /// Where its checkout is.
    pub root: PathBuf,
    /// True for the main checkout.
    pub is_main: bool,
}

/// The repository root that owns `dir`: a linked worktree's `.git` file
/// points into the owning repository's `.git/worktrees/`, and that
/// repository is the control plane (config, state, locks).
pub fn control_root(dir: &Path) -> PathBuf {
    let git = dir.join(".git");
    if let Ok(text) = std::fs::read_to_string(&git)
        && let Some(gitdir) = text.trim().strip_prefix("gitdir:")
    {
        let gitdir = PathBuf::from(gitdir.trim());
        // <owner>/.git/worktrees/<name>
        if let Some(owner) = gitdir
            .parent()
            .and_then(Path::parent)
            .and_then(Path::parent)
            && owner.join(".envctl").is_file()
        {
            return owner.to_path_buf();
        }
    }
    dir.to_path_buf()
}

/// Every tree project of `repo`, sorted by name.
pub fn trees(repo: &Path, trees_dir_name: &str) -> Vec<Project> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(repo) else {
        return out;
    };
    let mut roots: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n == trees_dir_name || n.starts_with(&format!("{trees_dir_name}-"))
                })
        })
        .collect();
    roots.sort();
    for root in roots {
        let Ok(features) = std::fs::read_dir(&root) else {
            continue;
        };
        for f in features.flatten().filter(|e| e.path().is_dir()) {
            let Ok(iters) = std::fs::read_dir(f.path()) else {
                continue;
            };
            for it in iters.flatten().filter(|e| e.path().join(".git").exists()) {
                out.push(Project {
                    name: format!(
                        "{}-{}",
                        f.file_name().to_string_lossy(),
                        it.file_name().to_string_lossy()
                    ),
                    root: it.path(),
                    is_main: false,
                });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The main project.
pub fn main_project(repo: &Path) -> Project {
    Project {
        name: "main".into(),
        root: repo.to_path_buf(),
        is_main: true,
    }
}
