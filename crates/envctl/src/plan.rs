//! What a `start` will run: the projects selected, their services and the
//! dependencies, from the config.

use std::path::Path;

use crate::config::Config;
use crate::worktrees::{self, Project};

/// `main` or `trees`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The main checkout.
    Main,
    /// The worktrees.
    Trees,
}

impl Mode {
    /// The config key prefix (`MAIN` / `TREES`).
    pub fn prefix(self) -> &'static str {
        match self {
            Mode::Main => "MAIN",
            Mode::Trees => "TREES",
        }
    }
    /// The name in state files.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Main => "main",
            Mode::Trees => "trees",
        }
    }
}

/// The mode from flags or `ENVCTL_DEFAULT_MODE`.
pub fn mode(cfg: &Config, main: bool, trees: bool) -> Mode {
    if trees {
        Mode::Trees
    } else if main {
        Mode::Main
    } else if cfg.get("ENVCTL_DEFAULT_MODE").as_deref() == Some("trees") {
        Mode::Trees
    } else {
        Mode::Main
    }
}

/// The projects of a mode, filtered by `--project` names.
pub fn projects(cfg: &Config, repo: &Path, mode: Mode, only: &[String]) -> Vec<Project> {
    let all = match mode {
        Mode::Main => vec![worktrees::main_project(repo)],
        Mode::Trees => worktrees::trees(
            repo,
            &cfg.get("TREES_DIR_NAME").unwrap_or_else(|| "trees".into()),
        ),
    };
    all.into_iter()
        .filter(|p| only.is_empty() || only.iter().any(|o| o == &p.name))
        .collect()
}

/// An app service to run.
#[derive(Debug, Clone)]
pub struct ServicePlan {
    /// `backend` / `frontend`.
    pub slug: &'static str,
    /// Port base key.
    pub base: u16,
    /// Working folder.
    pub dir: String,
    /// The start command (`{port}` substituted later).
    pub command: Vec<String>,
    /// Whether it must listen.
    pub expect_listener: bool,
}

/// Splits a command line like a shell would for plain words and quotes
/// (no variables, no operators): the contract's "shlex-split, no shell".
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err(format!("unterminated quote in {s:?}"));
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    if out.first().is_some_and(|w| w.contains('=')) {
        return Err(format!(
            "{s:?}: environment assignments before the command are not allowed"
        ));
    }
    Ok(out)
}

/// The app services of a mode.
pub fn services(cfg: &Config, mode: Mode) -> Result<Vec<ServicePlan>, String> {
    let p = mode.prefix();
    let mut out = Vec::new();
    if !cfg.flag(&format!("{p}_STARTUP_ENABLE")) {
        return Ok(out);
    }
    for (slug, key, dir, base) in [
        (
            "backend",
            "ENVCTL_BACKEND_START_CMD",
            "BACKEND_DIR",
            "BACKEND_PORT_BASE",
        ),
        (
            "frontend",
            "ENVCTL_FRONTEND_START_CMD",
            "FRONTEND_DIR",
            "FRONTEND_PORT_BASE",
        ),
    ] {
        if !cfg.flag(&format!("{p}_{}_ENABLE", slug.to_uppercase())) {
            continue;
        }
        let Some(cmd) = cfg.get(key) else {
            return Err(format!(
                "{key} is not set: say how to start the {slug} (e.g. `python3 server.py --port {{port}}`)"
            ));
        };
        out.push(ServicePlan {
            slug,
            base: cfg.num(base) as u16,
            dir: cfg.get(dir).unwrap_or_else(|| slug.into()),
            command: split_command(&cmd)?,
            expect_listener: slug != "backend" || cfg.flag(&format!("{p}_BACKEND_EXPECT_LISTENER")),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_like_a_shell_without_one() {
        assert_eq!(
            split_command("python3 server.py --port {port}").unwrap(),
            ["python3", "server.py", "--port", "{port}"]
        );
        assert_eq!(split_command("a 'b c' \"\"").unwrap(), ["a", "b c", ""]);
        assert!(
            split_command("X=1 run")
                .unwrap_err()
                .contains("not allowed")
        );
        assert!(split_command("a 'b").unwrap_err().contains("unterminated"));
    }
}
