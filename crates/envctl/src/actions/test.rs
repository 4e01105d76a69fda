//! `envctl test`: the configured test commands of each selected worktree,
//! worktrees in parallel (at most `min(4, CPUs)` at once, `--jobs` to
//! change), each with its projected environment when it runs. A line per
//! worktree shows progress; a table, then the failing output, ends it.
//! Which worktrees failed is recorded, so `--failed` reruns only those.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::env::projected;
use super::running_project;
use crate::config::Config;
use crate::worktrees::Project;
use crate::{Failure, plan};

/// One test command of a project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// What it tests (`tests`, `backend`, `frontend`).
    pub what: String,
    /// The command.
    pub command: Vec<String>,
    /// Where it runs.
    pub dir: PathBuf,
    /// Its exit code (`None`: killed by a signal, or not run).
    pub exit: Option<i32>,
}

/// One worktree's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    /// The project.
    pub project: String,
    /// Every command passed.
    pub ok: bool,
    /// Wall time.
    pub duration_s: f64,
    /// Its output, all commands.
    pub log: PathBuf,
    /// Whether its services ran (the tests got its environment).
    pub with_services: bool,
    /// The commands, in order (a failure stops the rest).
    pub steps: Vec<Step>,
}

/// The test commands of a project: `ENVCTL_ACTION_TEST_CMD` in its folder,
/// else the backend's and the frontend's in theirs.
fn steps(cfg: &Config, root: &Path) -> Result<Vec<Step>, Failure> {
    let mut out = Vec::new();
    let split = |key: &str, v: String| {
        plan::split_command(&v).map_err(|e| Failure::Actionable(format!("{key}: {e}")))
    };
    if let Some(c) = cfg.get("ENVCTL_ACTION_TEST_CMD") {
        out.push(Step {
            what: "tests".into(),
            command: split("ENVCTL_ACTION_TEST_CMD", c)?,
            dir: root.to_path_buf(),
            exit: None,
        });
        return Ok(out);
    }
    for (what, key, dir_key) in [
        ("backend", "ENVCTL_BACKEND_TEST_CMD", "BACKEND_DIR"),
        ("frontend", "ENVCTL_FRONTEND_TEST_CMD", "FRONTEND_DIR"),
    ] {
        if let Some(c) = cfg.get(key) {
            out.push(Step {
                what: what.into(),
                command: split(key, c)?,
                dir: root.join(cfg.get(dir_key).unwrap_or_else(|| what.into())),
                exit: None,
            });
        }
    }
    if out.is_empty() {
        return Err(Failure::Actionable(
            "no test command: set ENVCTL_ACTION_TEST_CMD (or ENVCTL_BACKEND_TEST_CMD / ENVCTL_FRONTEND_TEST_CMD)".into(),
        ));
    }
    Ok(out)
}

/// Where test output and the last results live.
fn dir(scope: &Path) -> PathBuf {
    scope.join("tests")
}

fn last_path(scope: &Path) -> PathBuf {
    dir(scope).join("last.json")
}

/// The projects that failed last time.
fn failed_last(scope: &Path) -> Vec<String> {
    std::fs::read_to_string(last_path(scope))
        .ok()
        .and_then(|t| serde_json::from_str::<Vec<Outcome>>(&t).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|o| !o.ok)
        .map(|o| o.project)
        .collect()
}

/// Runs one project's commands, its output to its log.
fn run_project(
    repo: &Path,
    scope: &Path,
    p: &Project,
    mut steps: Vec<Step>,
    show: &dyn Fn(&str),
) -> Outcome {
    let started = Instant::now();
    let log = dir(scope).join(format!("{}.log", p.name));
    let running = running_project(repo, scope, &p.name);
    let mut env: Vec<(String, String)> = match &running {
        Some(r) => projected(r).into_iter().collect(),
        None => Vec::new(),
    };
    env.push(("ENVCTL_PROJECT".into(), p.name.clone()));
    env.push(("ENVCTL_PROJECT_ROOT".into(), p.root.display().to_string()));
    let mut ok = true;
    let file = std::fs::File::create(&log);
    for step in &mut steps {
        if !ok {
            break;
        }
        show(&format!("{} {}", step.what, step.command.join(" ")));
        let Some((prog, args)) = step.command.split_first() else {
            ok = false;
            continue;
        };
        let pair = file
            .as_ref()
            .ok()
            .and_then(|f| Some((f.try_clone().ok()?, f.try_clone().ok()?)));
        let (out, err) = match pair {
            Some((a, b)) => (Stdio::from(a), Stdio::from(b)),
            None => (Stdio::null(), Stdio::null()),
        };
        let status = Command::new(prog)
            .args(args)
            .envs(env.iter().cloned())
            .current_dir(&step.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .status();
        match status {
            Ok(s) => {
                step.exit = s.code();
                ok = s.success();
            }
            Err(e) => {
                if let Ok(f) = file.as_ref() {
                    use std::io::Write;
                    let _ = writeln!(
                        &*f,
                        "envctl: cannot run {prog:?} in {}: {e}",
                        step.dir.display()
                    );
                }
                ok = false;
            }
        }
    }
    Outcome {
        project: p.name.clone(),
        ok,
        duration_s: started.elapsed().as_secs_f64(),
        log,
        with_services: running.is_some(),
        steps,
    }
}

/// The last `n` lines of a file.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `envctl test`.
pub fn test(
    repo: &Path,
    scope: &Path,
    cfg: &Config,
    mut projects: Vec<Project>,
    only_failed: bool,
    jobs: Option<usize>,
    json_out: bool,
) -> Result<(), Failure> {
    if only_failed {
        let failed = failed_last(scope);
        projects.retain(|p| failed.contains(&p.name));
        if projects.is_empty() {
            println!("nothing failed last time");
            return Ok(());
        }
    }
    if projects.is_empty() {
        return Err(Failure::Actionable("no project selected to test".into()));
    }
    let mut work = VecDeque::new();
    for p in &projects {
        work.push_back((p.clone(), steps(cfg, &p.root)?));
    }
    std::fs::create_dir_all(dir(scope))?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = jobs.unwrap_or(cpus.min(4)).clamp(1, projects.len());
    let width = projects.iter().map(|p| p.name.len()).max().unwrap_or(0);

    let bars = (std::io::stderr().is_terminal() && !json_out).then(indicatif::MultiProgress::new);
    let queue = Mutex::new(
        work.into_iter()
            .map(|(p, s)| {
                let bar = bars.as_ref().map(|m| {
                    let b = m.add(indicatif::ProgressBar::new_spinner());
                    b.set_message(format!("{:<width$}  waiting", p.name));
                    b.enable_steady_tick(Duration::from_millis(120));
                    b
                });
                (p, s, bar)
            })
            .collect::<VecDeque<_>>(),
    );
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..cap {
            s.spawn(|| {
                while let Some((p, st, bar)) =
                    queue.lock().map(|mut q| q.pop_front()).ok().flatten()
                {
                    let name = p.name.clone();
                    let show = |what: &str| match &bar {
                        Some(b) => b.set_message(format!("{name:<width$}  running {what}")),
                        None => eprintln!("envctl: test {name}: running {what}"),
                    };
                    let o = run_project(repo, scope, &p, st, &show);
                    let verdict = format!(
                        "{} in {:.1} s",
                        if o.ok { "passed" } else { "FAILED" },
                        o.duration_s
                    );
                    match &bar {
                        Some(b) => b.finish_with_message(format!("{name:<width$}  {verdict}")),
                        None => eprintln!("envctl: test {name}: {verdict}"),
                    }
                    if let Ok(mut r) = results.lock() {
                        r.push(o);
                    }
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by(|a, b| a.project.cmp(&b.project));
    let _ = crate::state::write_atomic(
        &last_path(scope),
        &serde_json::to_string_pretty(&results).unwrap_or_default(),
    );
    if crate::procs::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(Failure::Interrupted);
    }
    let failed: Vec<&Outcome> = results.iter().filter(|o| !o.ok).collect();
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "ok": failed.is_empty(), "results": results,
            }))
            .unwrap_or_default()
        );
    } else {
        println!("{:<width$}  {:<7} {:>8}  LOG", "PROJECT", "RESULT", "TIME");
        for o in &results {
            println!(
                "{:<width$}  {:<7} {:>7.1}s  {}{}",
                o.project,
                if o.ok { "passed" } else { "FAILED" },
                o.duration_s,
                o.log.display(),
                if o.with_services {
                    ""
                } else {
                    "  (not running: no projected env)"
                }
            );
        }
        for o in &failed {
            let step = o.steps.iter().find(|s| s.exit != Some(0));
            println!();
            match step {
                Some(s) => println!(
                    "--- {} ({}: {}) exit {} ---",
                    o.project,
                    s.what,
                    s.command.join(" "),
                    s.exit.map_or("by signal".into(), |c| c.to_string())
                ),
                None => println!("--- {} ---", o.project),
            }
            println!("{}", tail(&o.log, 40));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Actionable(format!(
            "tests failed in {} of {} worktree(s): {} (`envctl test --failed` reruns them)",
            failed.len(),
            results.len(),
            failed
                .iter()
                .map(|o| o.project.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}
