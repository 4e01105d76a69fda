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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePlan {
    /// `backend`, `frontend`, or an additional service's name (lowercase).
    pub slug: String,
    /// Port base; `None` for a service with no port (a worker).
    pub base: Option<u16>,
    /// Working folder, relative to the project.
    pub dir: String,
    /// The start command (`{port}` substituted later).
    pub command: Vec<String>,
    /// Whether it must listen on its port.
    pub expect_listener: bool,
    /// Services that must be healthy before it starts.
    pub depends_on: Vec<String>,
    /// A failure of a critical service fails the start; of another, warns.
    pub critical: bool,
}

/// The config key of a per-service setting: `BACKEND_<suffix>` for the
/// two built-in services, `ENVCTL_SERVICE_<S>_<suffix>` for additional ones.
pub fn service_key(slug: &str, suffix: &str) -> String {
    match slug {
        "backend" | "frontend" => format!("{}_{suffix}", slug.to_ascii_uppercase()),
        other => format!(
            "ENVCTL_SERVICE_{}_{suffix}",
            other.to_ascii_uppercase().replace('-', "_")
        ),
    }
}

/// Splits a command line with `shlex` (quotes and escapes like a POSIX
/// shell, no variables or operators): the contract's "shlex-split, no
/// shell"; an environment assignment before the command is refused.
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    let out = shlex::split(s).ok_or_else(|| format!("unterminated quote or escape in {s:?}"))?;
    if out.is_empty() {
        return Err("an empty command".into());
    }
    if out.first().is_some_and(|w| w.contains('=')) {
        return Err(format!(
            "{s:?}: environment assignments before the command are not allowed"
        ));
    }
    Ok(out)
}

/// The names in `ENVCTL_ADDITIONAL_SERVICES` (comma or space separated).
pub fn additional_names(cfg: &Config) -> Vec<String> {
    cfg.get("ENVCTL_ADDITIONAL_SERVICES")
        .unwrap_or_default()
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|n| !n.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

fn flag_or(cfg: &Config, key: &str, default: bool) -> bool {
    match cfg.get(key) {
        Some(_) => cfg.flag(key),
        None => default,
    }
}

/// The app services of a mode, in start order (see [`layers`]).
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
            slug: slug.into(),
            base: Some(cfg.num(base) as u16),
            dir: cfg.get(dir).unwrap_or_else(|| slug.into()),
            command: split_command(&cmd).map_err(|e| format!("{key}: {e}"))?,
            expect_listener: slug != "backend" || cfg.flag(&format!("{p}_BACKEND_EXPECT_LISTENER")),
            // The frontend is told its backend's URL: it starts after it.
            depends_on: if slug == "frontend"
                && out.iter().any(|s: &ServicePlan| s.slug == "backend")
            {
                vec!["backend".into()]
            } else {
                Vec::new()
            },
            critical: true,
        });
    }
    for name in additional_names(cfg) {
        let k = |suffix: &str| service_key(&name, suffix);
        if !flag_or(cfg, &k("ENABLE"), true) || !flag_or(cfg, &k(&format!("{p}_ENABLE")), true) {
            continue;
        }
        if let Some(path) = cfg.get(&k("ENABLE_IF_PATH"))
            && !cfg.repo.join(&path).exists()
        {
            continue;
        }
        let Some(cmd) = cfg.get(&k("START_CMD")) else {
            return Err(format!(
                "ENVCTL_ADDITIONAL_SERVICES names {name:?} but {} is not set: say how to start it",
                k("START_CMD")
            ));
        };
        let base = match cfg.get(&k("PORT_BASE")) {
            Some(v) => Some(v.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                format!("{}={v:?}: expected a port number (1-65535)", k("PORT_BASE"))
            })?),
            None => None,
        };
        let expect_listener = flag_or(cfg, &k("EXPECT_LISTENER"), base.is_some());
        if expect_listener && base.is_none() {
            return Err(format!(
                "{} is true but {} is not set: a service that listens needs a port base",
                k("EXPECT_LISTENER"),
                k("PORT_BASE")
            ));
        }
        out.push(ServicePlan {
            dir: cfg.get(&k("DIR")).unwrap_or_else(|| ".".into()),
            command: split_command(&cmd).map_err(|e| format!("{}: {e}", k("START_CMD")))?,
            base,
            expect_listener,
            depends_on: cfg
                .get(&k("DEPENDS_ON"))
                .unwrap_or_default()
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|n| !n.is_empty())
                .map(str::to_ascii_lowercase)
                .collect(),
            critical: flag_or(cfg, &k("CRITICAL"), true),
            slug: name,
        });
    }
    layers(&out)?;
    Ok(out)
}

/// Start layers: each layer's services depend only on earlier layers and
/// start in parallel. Unknown names and cycles are errors that name them,
/// found before anything starts.
pub fn layers(services: &[ServicePlan]) -> Result<Vec<Vec<usize>>, String> {
    let index = |n: &str| services.iter().position(|s| s.slug == n);
    for s in services {
        for d in &s.depends_on {
            if index(d).is_none() {
                let known: Vec<&str> = services.iter().map(|s| s.slug.as_str()).collect();
                return Err(format!(
                    "{} names {d:?}, which is not a service of this start (known: {})",
                    service_key(&s.slug, "DEPENDS_ON"),
                    known.join(", ")
                ));
            }
        }
    }
    let mut placed: Vec<Option<usize>> = vec![None; services.len()];
    let mut out: Vec<Vec<usize>> = Vec::new();
    while placed.iter().any(Option::is_none) {
        let layer: Vec<usize> = (0..services.len())
            .filter(|&i| placed[i].is_none())
            .filter(|&i| {
                services[i]
                    .depends_on
                    .iter()
                    .all(|d| index(d).is_some_and(|j| placed[j].is_some()))
            })
            .collect();
        if layer.is_empty() {
            let stuck: Vec<&str> = (0..services.len())
                .filter(|&i| placed[i].is_none())
                .map(|i| services[i].slug.as_str())
                .collect();
            return Err(format!(
                "the DEPENDS_ON settings form a cycle among: {}",
                stuck.join(", ")
            ));
        }
        for &i in &layer {
            placed[i] = Some(out.len());
        }
        out.push(layer);
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

    fn svc(slug: &str, deps: &[&str]) -> ServicePlan {
        ServicePlan {
            slug: slug.into(),
            base: None,
            dir: ".".into(),
            command: vec!["true".into()],
            expect_listener: false,
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            critical: true,
        }
    }

    #[test]
    fn depends_on_forms_layers_and_refuses_cycles_and_unknown_names() {
        let s = [
            svc("backend", &[]),
            svc("worker", &["backend"]),
            svc("mailer", &[]),
            svc("frontend", &["backend", "worker"]),
        ];
        assert_eq!(layers(&s).unwrap(), vec![vec![0, 2], vec![1], vec![3]]);
        let cyc = [svc("a", &["b"]), svc("b", &["a"]), svc("c", &[])];
        assert_eq!(
            layers(&cyc).unwrap_err(),
            "the DEPENDS_ON settings form a cycle among: a, b"
        );
        let unknown = [svc("a", &["nope"])];
        assert!(
            layers(&unknown)
                .unwrap_err()
                .contains("ENVCTL_SERVICE_A_DEPENDS_ON names \"nope\"")
        );
    }
}
