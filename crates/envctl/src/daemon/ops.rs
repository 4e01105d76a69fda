//! The commands that change what runs, served by the daemon: `start`,
//! `resume`, `restart`, `stop`, `stop-all`. The daemon is the only writer
//! of state and the real parent of what it launches; the CLI opens the
//! [`run_command()`] context, prints the progress lines it streams, and turns
//! the final [`Outcome`] into its exit code. Ctrl-C in the CLI cancels the
//! context: the command gives up its waits and undoes what it launched.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::lifecycle::{self, StartOpts, StopOpts};
use crate::opctx::{self, Served};
use crate::{Failure, procs};

/// What to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Op {
    /// `start` (`resume_only`: `resume`).
    Start {
        /// `--main`.
        main: bool,
        /// `--trees`.
        trees: bool,
        /// `--project` (after the worktree-of-cwd rule).
        projects: Vec<String>,
        /// `--isolated-deps`.
        isolated: bool,
        /// `--no-resume`.
        no_resume: bool,
        /// `resume`: never a fresh run.
        resume_only: bool,
    },
    /// `restart`: stop the selection, then resume it with the config of now.
    Restart {
        /// `--project`.
        projects: Vec<String>,
        /// `--backend`, `--frontend`, `--service`: service slugs (empty:
        /// every service).
        services: Vec<String>,
    },
    /// `stop`.
    Stop {
        /// `--project`.
        projects: Vec<String>,
        /// `--backend`, `--frontend`, `--service`: service slugs (empty:
        /// every service).
        services: Vec<String>,
    },
    /// `stop-all`.
    StopAll,
}

impl Op {
    /// Whether the command needs a valid config (a stop works from state).
    fn needs_config(&self) -> bool {
        matches!(self, Op::Start { .. } | Op::Restart { .. })
    }
}

/// A command and the CLI's view of the world it runs in (sent as JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// What to do.
    pub op: Op,
    /// `start KEY=VALUE` overrides.
    pub overrides: BTreeMap<String, String>,
    /// The CLI's environment (config keys, what services inherit).
    pub env: BTreeMap<String, String>,
}

impl Request {
    /// `op` with this process's environment.
    pub fn here(op: Op, overrides: BTreeMap<String, String>) -> Request {
        let mut env: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        // The daemon writes the report this CLI prints: it colours it as
        // this CLI's terminal wants.
        let colour = if crate::ui::colour() {
            "always"
        } else {
            "never"
        };
        env.insert(crate::ui::COLOR_VAR.into(), colour.into());
        Request { op, overrides, env }
    }
}

/// How a command ended (a [`Failure`] that crosses the socket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Done (exit 0).
    Ok,
    /// Exit 1 with this message.
    Actionable(String),
    /// Exit 1, already said.
    Silent,
    /// Exit 2 with this message.
    Usage(String),
    /// Interrupted (exit 2).
    Interrupted,
}

impl From<Result<(), Failure>> for Outcome {
    fn from(r: Result<(), Failure>) -> Self {
        match r {
            Ok(()) => Outcome::Ok,
            Err(Failure::Actionable(m)) => Outcome::Actionable(m),
            Err(Failure::Silent) => Outcome::Silent,
            Err(Failure::Usage(m)) => Outcome::Usage(m),
            Err(Failure::Interrupted) => Outcome::Interrupted,
        }
    }
}

impl From<Outcome> for Result<(), Failure> {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Ok => Ok(()),
            Outcome::Actionable(m) => Err(Failure::Actionable(m)),
            Outcome::Silent => Err(Failure::Silent),
            Outcome::Usage(m) => Err(Failure::Usage(m)),
            Outcome::Interrupted => Err(Failure::Interrupted),
        }
    }
}

/// Runs `op` for `repo` here, with the lifecycle lock: in the daemon
/// (as a served command) or, when no daemon can serve it, in the CLI.
pub fn execute(repo: &Path, op: &Op, overrides: BTreeMap<String, String>) -> Result<(), Failure> {
    let cfg = match Config::load(repo, overrides) {
        Ok(c) => c,
        Err(e) if op.needs_config() => return Err(Failure::Actionable(e.to_string())),
        Err(e) => Config::without_file(repo, e.to_string()),
    };
    set_log_cap(&cfg);
    match op {
        Op::Start {
            main,
            trees,
            projects,
            isolated,
            no_resume,
            resume_only,
        } => lifecycle::start(
            repo,
            &cfg,
            &StartOpts {
                main: *main,
                trees: *trees,
                projects: projects.clone(),
                isolated: *isolated,
                no_resume: *no_resume,
                ..Default::default()
            },
            *resume_only,
        ),
        Op::Restart { projects, services } => {
            lifecycle::stop(
                repo,
                &StopOpts {
                    projects: projects.clone(),
                    services: services.clone(),
                },
            )?;
            let opts = StartOpts {
                projects: projects.clone(),
                refresh: true,
                ..Default::default()
            };
            lifecycle::start(repo, &cfg, &opts, true)
        }
        Op::Stop { projects, services } => lifecycle::stop(
            repo,
            &StopOpts {
                projects: projects.clone(),
                services: services.clone(),
            },
        ),
        Op::StopAll => lifecycle::stop_all(repo),
    }
}

/// The log cap launches use: `ENVCTL_LOG_MAX_BYTES` of `cfg`.
pub fn set_log_cap(cfg: &Config) {
    if let Some(b) = cfg
        .get("ENVCTL_LOG_MAX_BYTES")
        .and_then(|v| v.parse::<u64>().ok())
    {
        procs::relay::set_cap(b);
    }
}

/// Runs a lifecycle command for the CLI on the other end: streams its
/// progress, and returns its outcome. A cancel from the CLI (Ctrl-C, or the
/// CLI going away) is passed on to the command, which is then waited for:
/// what it launched is undone before the context ends.
#[tractor::context(ns = "envctl.daemon")]
pub async fn run_command(
    ctx: tractor::Context<tractor::Callee<(), String>>,
    request: String,
) -> Result<String, tractor::Error> {
    let sup = super::rpc::sup()?.clone();
    let request: Request = serde_json::from_str(&request)
        .map_err(|e| tractor::Error::Config(format!("a command we cannot read: {e}")))?;
    // Keeps the runtime polling us after a cancel, so the command can
    // finish its undo (and the lock is released) before the context ends.
    let _graceful = ctx.scope().map(tractor::CancelScope::graceful_guard);
    let cancelled = ctx.scope().map(|s| s.token().clone()).unwrap_or_default();
    let _busy = sup.busy();
    tracing::info!(op = ?request.op, "serving a command");
    ctx.started(&()).await?;
    let stream = ctx.open_stream();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let served = Served::new(request.env.clone(), tx);
    let job = {
        let (served, repo) = (served.clone(), sup.repo.clone());
        tokio::task::spawn_blocking(move || {
            let out = opctx::serve(served, || {
                execute(&repo, &request.op, request.overrides.clone())
            });
            Outcome::from(out)
        })
    };
    tokio::pin!(job);
    let mut told = false;
    let mut stream_ok = true;
    let outcome = loop {
        tokio::select! {
            Some(p) = rx.recv() => {
                if stream_ok && stream.send(&wire(&p)).await.is_err() {
                    // The CLI is gone; its cancel arrives as the scope's.
                    stream_ok = false;
                }
            }
            _ = cancelled.cancelled(), if !told => {
                tracing::info!("the CLI cancelled its command; undoing it");
                served.cancel();
                told = true;
            }
            out = &mut job => {
                break out.unwrap_or_else(|e| Outcome::Actionable(format!("the command failed in the daemon: {e}")));
            }
        }
    };
    while let Ok(p) = rx.try_recv() {
        if stream_ok && stream.send(&wire(&p)).await.is_err() {
            stream_ok = false;
        }
    }
    // What the command changed is watched now; what it stopped is reaped.
    sup.sync();
    procs::children::sweep();
    Ok(wire(&outcome))
}

/// What crosses the socket: JSON text (the msgpack codec carries Rust
/// enums with data poorly; a string it carries as is).
pub fn wire<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
