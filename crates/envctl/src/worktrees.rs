//! Which projects a repository has: `main` (the repository itself) and one
//! per linked worktree.
//!
//! Worktrees are found two ways and merged: every worktree `git worktree
//! list` knows (wherever it lives: `trees/hotfix`, or a sibling checkout
//! made with `git worktree add ../x`), and every checkout found under the
//! trees folder (`trees/<feature>/<iter>`, and `trees-*` siblings), which
//! catches copies git does not list. Names are stable — derived from the
//! path alone, never from the order of discovery — because the port slot
//! and the database name are derived from the name:
//!
//! * under a trees folder: the path below it joined with `-`
//!   (`trees/feat-a/1` → `feat-a-1`, `trees/hotfix` → `hotfix`);
//! * elsewhere: the folder's name, or, if that name is taken by a project
//!   under the trees folder or is `main`, the folder's name with a short
//!   hash of its path (`x-3f2a9c`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// One startable copy of the app.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Project {
    /// `main` or the worktree's stable name.
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

/// The trees folders of `repo`: `<name>` and `<name>-*`.
fn tree_roots(repo: &Path, trees_dir_name: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(repo) else {
        return Vec::new();
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
    roots
}

/// Checkouts (a folder with `.git`) under a trees folder, at most two
/// levels down (`<feature>/<iter>` or `<name>`).
fn scanned(root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(level1) = std::fs::read_dir(root) else {
        return;
    };
    for a in level1.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
        if a.join(".git").exists() {
            out.push(a);
            continue;
        }
        let Ok(level2) = std::fs::read_dir(&a) else {
            continue;
        };
        out.extend(
            level2
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join(".git").exists()),
        );
    }
}

/// The linked worktrees `git worktree list` knows (not the main one, not
/// those whose folder is gone).
fn listed(repo: &Path) -> Vec<PathBuf> {
    let Ok(out) = std::process::Command::new("git")
        .args(["worktree", "list", "--porcelain"])
        .current_dir(repo)
        .stderr(std::process::Stdio::null())
        .output()
    else {
        return Vec::new();
    };
    if !out.status.success() {
        return Vec::new();
    }
    parse_porcelain(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .skip(1) // the main worktree comes first
        .filter(|p| p.is_dir())
        .collect()
}

/// The `worktree <path>` lines of `git worktree list --porcelain`, bare
/// repositories left out.
fn parse_porcelain(text: &str) -> Vec<PathBuf> {
    text.split("\n\n")
        .filter(|block| !block.lines().any(|l| l == "bare"))
        .filter_map(|block| {
            block
                .lines()
                .find_map(|l| l.strip_prefix("worktree "))
                .map(PathBuf::from)
        })
        .collect()
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// The stable name of a worktree under one of `roots`, if it is under one.
fn name_under(roots: &[PathBuf], path: &Path) -> Option<String> {
    roots.iter().find_map(|r| {
        let rel = path.strip_prefix(r).ok()?;
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        (!parts.is_empty()).then(|| parts.join("-"))
    })
}

/// A short hash of a path, to tell two same-named folders apart.
fn short_hash(path: &Path) -> String {
    let d = Sha256::digest(path.as_os_str().as_encoded_bytes());
    d.iter().take(3).map(|b| format!("{b:02x}")).collect()
}

/// Every worktree project of `repo`, sorted by name.
pub fn trees(repo: &Path, trees_dir_name: &str) -> Vec<Project> {
    let repo = canonical(repo);
    let roots: Vec<PathBuf> = tree_roots(&repo, trees_dir_name)
        .iter()
        .map(|r| canonical(r))
        .collect();
    let mut paths: Vec<PathBuf> = listed(&repo).iter().map(|p| canonical(p)).collect();
    let mut found = Vec::new();
    for r in &roots {
        scanned(r, &mut found);
    }
    paths.extend(found.iter().map(|p| canonical(p)));
    paths.retain(|p| *p != repo);
    paths.sort();
    paths.dedup();
    name_all(&roots, paths)
}

/// Names every worktree path (see the module doc for the rule).
fn name_all(roots: &[PathBuf], paths: Vec<PathBuf>) -> Vec<Project> {
    let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut outside = Vec::new();
    for p in paths {
        match name_under(roots, &p) {
            Some(n) => {
                by_name.insert(n, p);
            }
            None => outside.push(p),
        }
    }
    for p in outside {
        let base = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "worktree".into());
        let name = if base == "main" || by_name.contains_key(&base) {
            format!("{base}-{}", short_hash(&p))
        } else {
            base
        };
        by_name.insert(name, p);
    }
    by_name
        .into_iter()
        .map(|(name, root)| Project {
            name,
            root,
            is_main: false,
        })
        .collect()
}

/// The project whose checkout holds `dir`: the deepest matching root.
pub fn containing<'a>(projects: &'a [Project], dir: &Path) -> Option<&'a Project> {
    projects
        .iter()
        .filter(|p| dir.starts_with(&p.root))
        .max_by_key(|p| p.root.components().count())
}

/// The main project.
pub fn main_project(repo: &Path) -> Project {
    Project {
        name: "main".into(),
        root: repo.to_path_buf(),
        is_main: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_skips_bare_and_reads_paths() {
        let text = "worktree /r\nHEAD abc\nbranch refs/heads/main\n\nworktree /r/trees/hotfix\nHEAD def\ndetached\n\nworktree /b\nbare\n";
        assert_eq!(
            parse_porcelain(text),
            vec![PathBuf::from("/r"), PathBuf::from("/r/trees/hotfix")]
        );
    }

    #[test]
    fn names_are_stable_and_unique() {
        let roots = vec![PathBuf::from("/r/trees")];
        let got = name_all(
            &roots,
            vec![
                PathBuf::from("/r/trees/feat-a/1"),
                PathBuf::from("/r/trees/hotfix"),
                PathBuf::from("/x/hotfix"),
                PathBuf::from("/y/main"),
                PathBuf::from("/y/side"),
            ],
        );
        let names: Vec<&str> = got.iter().map(|p| p.name.as_str()).collect();
        assert!(names.contains(&"feat-a-1"));
        assert!(names.contains(&"hotfix"));
        assert!(names.contains(&"side"));
        let other = got
            .iter()
            .find(|p| p.root == Path::new("/x/hotfix"))
            .unwrap();
        assert!(other.name.starts_with("hotfix-") && other.name.len() == "hotfix-".len() + 6);
        let m = got.iter().find(|p| p.root == Path::new("/y/main")).unwrap();
        assert_ne!(m.name, "main");
        // A sibling keeps its plain name when no tree project takes it.
        let again = name_all(&roots, vec![PathBuf::from("/x/hotfix")]);
        assert_ne!(again[0].name, other.name, "alone it keeps its plain name");
        assert_eq!(again[0].name, "hotfix");
    }
}
