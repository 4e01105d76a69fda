//! `envctl`: local development environments for a repository and each of
//! its git worktrees — apps and native Postgres/Redis on ports that never
//! collide, truthful health, and a teardown that leaves nothing running.
//!
//! `main` parses, dispatches, and maps the outcome to an exit code: 0 ok,
//! 1 an actionable failure (the message says what to do), 2 bad usage or
//! interrupted.

mod actions;
mod config;
mod daemon;
mod dashboard;
mod debug;
mod inspect;
mod lifecycle;
mod logscan;
mod opctx;
mod plan;
mod ports;
mod procs;
mod requirements;
mod scope;
mod state;
mod ui;
mod worktrees;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// How a command failed.
#[derive(Debug)]
pub enum Failure {
    /// Something the user can fix; the message says what (exit 1).
    Actionable(String),
    /// Exit 1 with nothing more to say (the output already said it).
    Silent,
    /// Bad usage (exit 2).
    Usage(String),
    /// Ctrl-C (exit 2).
    Interrupted,
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Actionable(e.to_string())
    }
}

/// Local development environments for every git worktree of a repository.
#[derive(Debug, Parser)]
#[command(name = "envctl", version, about)]
struct Cli {
    /// The repository (default: the current directory; a linked worktree
    /// resolves to the repository that owns it).
    #[arg(long, global = true, value_name = "DIR")]
    repo: Option<PathBuf>,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Colour status words: auto (when stdout is a terminal and NO_COLOR
    /// is unset), always, never.
    #[arg(long, global = true, value_name = "WHEN", value_enum, default_value_t)]
    color: ui::ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct Select {
    /// The main checkout.
    #[arg(long)]
    main: bool,
    /// The worktrees under trees/.
    #[arg(long)]
    trees: bool,
    /// Only these projects (repeatable).
    #[arg(long = "project", value_name = "NAME")]
    projects: Vec<String>,
}

/// Which services of the selected projects a `stop` or `restart` acts on
/// (none given: all of them).
#[derive(Debug, clap::Args)]
struct Which {
    /// Only backends.
    #[arg(long)]
    backend: bool,
    /// Only frontends.
    #[arg(long)]
    frontend: bool,
    /// Only this service (backend, frontend, or an additional service's
    /// name; repeatable).
    #[arg(long = "service", value_name = "NAME")]
    services: Vec<String>,
}

impl Which {
    /// The selected service slugs (empty: every service).
    fn slugs(self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let flags = [(self.backend, "backend"), (self.frontend, "frontend")];
        for s in flags
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, s)| (*s).to_owned())
            .chain(self.services.into_iter().map(|s| s.to_ascii_lowercase()))
        {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }
}

impl Select {
    /// From inside a linked worktree, with no scope flags, a command
    /// selects that worktree only.
    fn here(&mut self, repo: &std::path::Path, cwd: &std::path::Path, cfg: &config::Config) {
        if self.main || self.trees || !self.projects.is_empty() || cwd == repo {
            return;
        }
        let dir = cfg.get("TREES_DIR_NAME").unwrap_or_else(|| "trees".into());
        let trees = worktrees::trees(repo, &dir);
        if let Some(p) = worktrees::containing(&trees, cwd) {
            self.trees = true;
            self.projects = vec![p.name.clone()];
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the apps and dependencies of the selected projects (resumes an active run).
    #[command(
        after_help = "Examples:\n  envctl start --trees --headless\n  envctl start --project feat-a-1          # add a worktree to what runs\n  envctl start --main ENVCTL_RESTART_POLICY=always"
    )]
    Start {
        #[command(flatten)]
        select: Select,
        /// One Postgres/Redis per worktree instead of one per repository.
        #[arg(long)]
        isolated_deps: bool,
        /// Always start a new run.
        #[arg(long)]
        no_resume: bool,
        /// No interactive display (the default when not on a terminal).
        #[arg(long)]
        headless: bool,
        /// Config overrides as KEY=VALUE.
        #[arg(value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Restart what died in the active run, reusing live dependencies.
    #[command(after_help = "Example:\n  envctl resume --headless")]
    Resume {
        #[command(flatten)]
        select: Select,
        /// No interactive display.
        #[arg(long)]
        headless: bool,
    },
    /// Stop the selected services and start them again (dependencies are reused).
    #[command(
        after_help = "Examples:\n  envctl restart --project feat-a-1 --backend\n  envctl restart --project feat-a-1 --service worker"
    )]
    Restart {
        /// Only these projects.
        #[arg(long = "project", value_name = "NAME")]
        projects: Vec<String>,
        #[command(flatten)]
        which: Which,
        /// No interactive display.
        #[arg(long)]
        headless: bool,
    },
    /// Stop services (all, or by --project and --backend/--frontend/--service).
    #[command(
        after_help = "Examples:\n  envctl stop --project feat-a-1 --frontend\n  envctl stop --service worker          # an additional service, in every project"
    )]
    Stop {
        /// Only these projects.
        #[arg(long = "project", value_name = "NAME")]
        projects: Vec<String>,
        #[command(flatten)]
        which: Which,
    },
    /// Stop every service and dependency of the repository; keep data.
    #[command(after_help = "Example:\n  envctl stop-all")]
    StopAll,
    /// Stop-all, then kill every process left that envctl started for this
    /// repository (it carries the scope's ownership marker or is recorded);
    /// names each one.
    #[command(
        after_help = "Examples:\n  envctl blast-all --remove-volumes\n  envctl blast-all --ecosystem --force"
    )]
    BlastAll {
        /// Also delete the dependency data of every run.
        #[arg(long)]
        remove_volumes: bool,
        /// Do not ask before an `--ecosystem` sweep.
        #[arg(long)]
        force: bool,
        /// Also kill whatever listens on the scope's port bands (processes
        /// envctl did not start; asks first on a terminal).
        #[arg(long)]
        ecosystem: bool,
    },
    /// Show the saved state, reconciled with what runs now.
    #[command(after_help = "Example:\n  envctl show-state --json | jq .state.services")]
    ShowState,
    /// Show the effective configuration and where each value came from.
    #[command(after_help = "Example:\n  envctl show-config --json")]
    ShowConfig,
    /// List the worktree projects and their ports.
    #[command(after_help = "Example:\n  envctl list-trees --json")]
    ListTrees,
    /// List the projects and services a start would run.
    #[command(after_help = "Example:\n  envctl list-targets --trees --json")]
    ListTargets {
        #[command(flatten)]
        select: Select,
    },
    /// Explain what a start would do (ports, commands, dependencies) without doing it.
    #[command(after_help = "Example:\n  envctl explain-startup --trees")]
    ExplainStartup {
        #[command(flatten)]
        select: Select,
        /// As with --isolated-deps.
        #[arg(long)]
        isolated_deps: bool,
    },
    /// Check that a start can succeed (config, commands, tools); exit 1 if not.
    #[command(after_help = "Example:\n  envctl preflight --trees")]
    Preflight {
        #[command(flatten)]
        select: Select,
    },
    /// Empty the service logs of the latest run.
    #[command(after_help = "Example:\n  envctl clear-logs")]
    ClearLogs,
    /// A live view of every service and dependency (keys: r restart, s stop, S start, l logs, / filter, q quit).
    #[command(
        after_help = "Examples:\n  envctl dashboard             # full screen; q leaves, services keep running\n  envctl dashboard --headless  # the state once, as text"
    )]
    Dashboard {
        /// Print the state once instead (the default when not on a terminal).
        #[arg(long)]
        headless: bool,
    },
    /// Check every service (process, listener, HTTP health); exit 1 if any is not healthy.
    #[command(after_help = "Example:\n  envctl health --json")]
    Health,
    /// Show the last lines of service logs (`-f`: follow them live).
    #[command(
        after_help = "Examples:\n  envctl logs --project feat-a-1 --logs-tail 20\n  envctl logs -f --service backend"
    )]
    Logs {
        /// Only these projects.
        #[arg(long = "project", value_name = "NAME")]
        projects: Vec<String>,
        /// Only this service (`backend`, `frontend`, or a name).
        #[arg(long, value_name = "SERVICE")]
        service: Option<String>,
        /// How many lines per service.
        #[arg(long, default_value_t = 50)]
        logs_tail: usize,
        /// Follow: stream new lines from the daemon until Ctrl-C.
        #[arg(short = 'f', long)]
        follow: bool,
    },
    /// The resident supervisor of this repository: `status`, `stop`.
    #[command(after_help = "Examples:\n  envctl daemon status --json\n  envctl daemon stop")]
    Daemon {
        #[command(subcommand)]
        action: DaemonAction,
    },
    /// Copy stdin to a log file, rotating it at a size cap (what every
    /// launched service writes to; see `procs::relay`).
    #[command(name = "__log-relay", hide = true)]
    LogRelay {
        /// Rotate before the file would pass this size.
        #[arg(long)]
        max_bytes: u64,
        /// Rotated files kept (`log.1` … `log.N`).
        #[arg(long)]
        keep: u32,
        /// The log file.
        log: PathBuf,
    },
    /// List failed services and error lines in logs; exit 1 if any.
    #[command(after_help = "Example:\n  envctl errors")]
    Errors,
    /// Show the URLs of running projects; exit 1 if a requested one is not running.
    #[command(after_help = "Example:\n  envctl endpoints --project feat-a-1 --json")]
    Endpoints {
        /// Only these projects.
        #[arg(long = "project", value_name = "NAME")]
        projects: Vec<String>,
    },
    /// Change the managed block of .envctl (`config --help` lists every key).
    #[command(
        after_help = "Example:\n  envctl config --set ENVCTL_RESTART_POLICY=on-failure --set FRONTEND_RESTART=always",
        after_long_help = config::keys::help_text()
    )]
    Config {
        /// KEY=VALUE to set (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Read a JSON object of KEY: value from stdin.
        #[arg(long)]
        stdin_json: bool,
    },
    /// Check locks, runtime truth and tools.
    #[command(after_help = "Example:\n  envctl doctor --json")]
    Doctor,
    /// Pack a redacted diagnostics bundle (state, events, logs, locks) and print its path.
    #[command(after_help = "Example:\n  envctl debug-pack")]
    DebugPack,
    /// Print the path of the latest diagnostics bundle.
    #[command(after_help = "Example:\n  envctl debug-last")]
    DebugLast,
    /// Print a short diagnosis: doctor, then errors.
    #[command(after_help = "Example:\n  envctl debug-report")]
    DebugReport,
    /// Print a running worktree's projected environment (DATABASE_URL, REDIS_URL, DB_*, service URLs).
    #[command(
        after_help = "Examples:\n  envctl env --project feat-a-1\n  eval \"$(envctl env --shell)\"    # secrets included, for your shell\n  envctl env --json"
    )]
    Env {
        /// The project (default: the worktree you are in, else main).
        #[arg(long, value_name = "NAME")]
        project: Option<String>,
        /// `export KEY='value'` lines for `eval`, secrets included.
        #[arg(long)]
        shell: bool,
    },
    /// Run a command with a running worktree's environment, in its folder; exit with its status.
    #[command(
        after_help = "Examples:\n  envctl exec -- sh -c 'psql \"$DATABASE_URL\"'   # quoted: expanded inside, not by your shell\n  envctl exec --project feat-a-1 --service backend -- python -m pytest"
    )]
    Exec {
        /// The project (default: the worktree you are in, else main).
        #[arg(long, value_name = "NAME")]
        project: Option<String>,
        /// Run in this service's folder with its full launch environment.
        #[arg(long, value_name = "SERVICE")]
        service: Option<String>,
        /// The command and its arguments.
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "CMD"
        )]
        cmd: Vec<String>,
    },
    /// Create the worktree `trees/<feature>/<iter>` on branch `<feature>-<iter>`.
    #[command(
        long_flag = "setup-worktree",
        after_help = "Example:\n  envctl setup-worktree checkout 1 && envctl start --project checkout-1"
    )]
    SetupWorktree {
        /// The feature (folder and branch prefix).
        feature: String,
        /// The iteration (`1`, `2`, …).
        iter: String,
    },
    /// Create worktrees `trees/<feature>/1` … `<count>`.
    #[command(
        long_flag = "setup-worktrees",
        after_help = "Example:\n  envctl setup-worktrees spike 3"
    )]
    SetupWorktrees {
        /// The feature (folder and branch prefix).
        feature: String,
        /// How many iterations.
        count: u32,
    },
    /// Stop a worktree's services, then remove it (`git worktree remove`).
    #[command(after_help = "Example:\n  envctl delete-worktree spike-2 --yes")]
    DeleteWorktree {
        /// The worktree's project name (`envctl list-trees`).
        name: String,
        /// Yes, remove it.
        #[arg(long)]
        yes: bool,
        /// Remove it even with uncommitted changes (they are lost).
        #[arg(long)]
        force: bool,
    },
    /// Run the migration command (ENVCTL_ACTION_MIGRATE_CMD) with a running worktree's environment.
    #[command(
        after_help = "Examples:\n  envctl config --set ENVCTL_ACTION_MIGRATE_CMD='flask db upgrade'\n  envctl migrate --project feat-a-1\n  envctl migrate --all"
    )]
    Migrate {
        /// Only these projects (default: the worktree you are in, else main).
        #[arg(long = "project", value_name = "NAME")]
        projects: Vec<String>,
        /// Every running project.
        #[arg(long, conflicts_with = "projects")]
        all: bool,
    },
    /// Run the test commands of each selected worktree in parallel; exit 1 if any fails.
    #[command(
        after_help = "Examples:\n  envctl test --trees\n  envctl test --failed      # only the worktrees that failed last time\n  envctl test --project feat-a-1 --jobs 1"
    )]
    Test {
        #[command(flatten)]
        select: Select,
        /// Only the worktrees that failed last time.
        #[arg(long)]
        failed: bool,
        /// How many worktrees at once (default: min(4, CPUs)).
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Example:\n  envctl completions bash > ~/.local/share/bash-completion/completions/envctl"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum DaemonAction {
    /// Is it running? (pid, uptime, supervised processes, restarts)
    Status,
    /// Stop the daemon and everything it supervises (data is kept).
    Stop,
    /// Run the daemon in this process (what `start` launches).
    #[command(hide = true)]
    Run,
}

impl Command {
    /// Whether the command cannot do its job without a valid config. The
    /// others (teardown and inspection of what runs) work from the recorded
    /// state when the config file is broken (contract §10.6).
    fn needs_config(&self) -> bool {
        match self {
            Command::Start { .. }
            | Command::Resume { .. }
            | Command::Restart { .. }
            | Command::Config { .. }
            | Command::Preflight { .. }
            | Command::ExplainStartup { .. }
            | Command::ListTargets { .. }
            | Command::ListTrees
            | Command::ShowConfig => true,
            Command::Stop { .. }
            | Command::StopAll
            | Command::BlastAll { .. }
            | Command::ShowState
            | Command::Dashboard { .. }
            | Command::Health
            | Command::Logs { .. }
            | Command::Errors
            | Command::Endpoints { .. }
            | Command::ClearLogs
            | Command::Doctor
            | Command::DebugPack
            | Command::DebugLast
            | Command::DebugReport
            | Command::Daemon { .. }
            | Command::Env { .. }
            | Command::Exec { .. }
            | Command::SetupWorktree { .. }
            | Command::SetupWorktrees { .. }
            | Command::DeleteWorktree { .. }
            | Command::Completions { .. }
            | Command::LogRelay { .. } => false,
            Command::Migrate { .. } | Command::Test { .. } => true,
        }
    }

    /// Whether the command only reads: a closed stdout may end it at once
    /// (the default action of SIGPIPE). A command that changes what runs
    /// must not die half way, so it keeps SIGPIPE ignored.
    fn only_reads(&self) -> bool {
        matches!(
            self,
            Command::ShowState
                | Command::ShowConfig
                | Command::ListTrees
                | Command::ListTargets { .. }
                | Command::ExplainStartup { .. }
                | Command::Preflight { .. }
                | Command::Dashboard { .. }
                | Command::Health
                | Command::Logs { .. }
                | Command::Errors
                | Command::Endpoints { .. }
                | Command::Doctor
                | Command::DebugLast
                | Command::DebugReport
                | Command::Env { .. }
                | Command::Completions { .. }
                | Command::Daemon {
                    action: DaemonAction::Status
                }
        )
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    ui::init_colour(cli.color);
    let cwd = match &cli.repo {
        Some(r) => r.clone(),
        None => std::env::current_dir()?,
    };
    let cwd = cwd
        .canonicalize()
        .map_err(|e| Failure::Actionable(format!("{}: {e}", cwd.display())))?;
    let repo = worktrees::control_root(&cwd);
    let overrides: BTreeMap<String, String> = match &cli.command {
        Command::Start { overrides, .. } => overrides
            .iter()
            .map(|o| {
                o.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .ok_or_else(|| Failure::Usage(format!("expected KEY=VALUE, got {o:?}")))
            })
            .collect::<Result<_, _>>()?,
        _ => BTreeMap::new(),
    };
    let cfg = match config::Config::load(&repo, overrides) {
        Ok(cfg) => cfg,
        // `config --set` may be how the user repairs the file: it checks
        // what it writes and what the file becomes.
        Err(e) if matches!(cli.command, Command::Config { .. }) => {
            config::Config::without_file(&repo, e.to_string())
        }
        Err(e) if cli.command.needs_config() => return Err(Failure::Actionable(e.to_string())),
        Err(e) => {
            eprintln!("envctl: warning: config file ignored, working from the recorded state: {e}");
            config::Config::without_file(&repo, e.to_string())
        }
    };
    let json = cli.json;
    match cli.command {
        Command::Start {
            select,
            isolated_deps,
            no_resume,
            headless,
            ..
        } => {
            ui::init(headless);
            if !cfg.has_file() {
                return Err(Failure::Actionable(format!(
                    "{} has no .envctl: create one (see examples/envctl-sample/.envctl) or run `envctl config --set ENVCTL_BACKEND_START_CMD=...`",
                    repo.display()
                )));
            }
            let mut select = select;
            select.here(&repo, &cwd, &cfg);
            let op = daemon::ops::Op::Start {
                main: select.main,
                trees: select.trees,
                projects: select.projects,
                isolated: isolated_deps,
                no_resume,
                resume_only: false,
            };
            through_daemon(&repo, op, cfg.overrides())
        }
        Command::Resume { select, .. } => {
            let op = daemon::ops::Op::Start {
                main: select.main,
                trees: select.trees,
                projects: select.projects,
                isolated: false,
                no_resume: false,
                resume_only: true,
            };
            through_daemon(&repo, op, BTreeMap::new())
        }
        Command::Restart {
            projects, which, ..
        } => through_daemon(
            &repo,
            daemon::ops::Op::Restart {
                projects,
                services: which.slugs(),
            },
            BTreeMap::new(),
        ),
        Command::ListTargets { select } => inspect::list_targets(
            &repo,
            &cwd,
            &cfg,
            plan::mode(&cfg, select.main, select.trees),
            &select.projects,
            json,
        ),
        Command::ExplainStartup {
            select,
            isolated_deps,
        } => inspect::explain_startup(
            &repo,
            &cfg,
            plan::mode(&cfg, select.main, select.trees),
            isolated_deps,
            json,
        ),
        Command::Preflight { select } => inspect::preflight(
            &repo,
            &cfg,
            plan::mode(&cfg, select.main, select.trees),
            json,
        ),
        Command::ClearLogs => inspect::clear_logs(&repo),
        Command::Dashboard { headless } => {
            if headless || json || !dashboard::interactive() {
                inspect::show_state(&repo, &cfg, json)
            } else {
                dashboard::run(&repo)
            }
        }
        Command::Stop { projects, which } => stop_through_daemon(
            &repo,
            daemon::ops::Op::Stop {
                projects,
                services: which.slugs(),
            },
        ),
        Command::StopAll => {
            stop_through_daemon(&repo, daemon::ops::Op::StopAll)?;
            // Nothing is left to supervise.
            daemon::client::stop(&scope::scope_dir(&repo)?);
            Ok(())
        }
        // Handled in `main` before anything else.
        Command::LogRelay { .. } => Ok(()),
        Command::Daemon { action } => match action {
            DaemonAction::Run => daemon::server::run(&repo),
            DaemonAction::Status => daemon_status(&repo, json),
            DaemonAction::Stop => {
                let scope = scope::scope_dir(&repo)?;
                let was = daemon::client::alive(&scope);
                stop_through_daemon(&repo, daemon::ops::Op::StopAll)?;
                daemon::client::stop(&scope);
                println!(
                    "{}",
                    if was {
                        "daemon stopped"
                    } else {
                        "no daemon was running"
                    }
                );
                Ok(())
            }
        },
        Command::BlastAll {
            remove_volumes,
            force,
            ecosystem,
        } => lifecycle::blast_all(
            &repo,
            Some(&cfg),
            &lifecycle::BlastOpts {
                remove_volumes,
                force,
                ecosystem,
            },
        ),
        Command::ShowState => inspect::show_state(&repo, &cfg, json),
        Command::ShowConfig => inspect::show_config(&cfg, json),
        Command::ListTrees => inspect::list_trees(&repo, &cwd, &cfg, json),
        Command::Health => inspect::health(&repo, &cfg, json),
        Command::Logs {
            projects,
            service,
            logs_tail,
            follow,
        } => {
            if follow {
                daemon::client::follow(
                    &scope::scope_dir(&repo)?,
                    projects.first().map(String::as_str).unwrap_or(""),
                    service.as_deref().unwrap_or(""),
                    logs_tail,
                )
            } else {
                inspect::logs(&repo, &projects, service.as_deref(), logs_tail)
            }
        }
        Command::Errors => inspect::errors(&repo, &cfg, json),
        Command::Endpoints { projects } => inspect::endpoints(&repo, &cfg, &projects, json),
        Command::Config { sets, stdin_json } => inspect::config_set(&cfg, &sets, stdin_json),
        Command::Doctor => inspect::doctor(&repo, &cfg, json),
        Command::DebugPack => debug::pack(&repo, &cfg).map(|_| ()),
        Command::DebugLast => debug::last(&repo),
        Command::DebugReport => {
            inspect::doctor(&repo, &cfg, json)?;
            inspect::errors(&repo, &cfg, json)
        }
        Command::Env { project, shell } => {
            let dir = cfg.get("TREES_DIR_NAME").unwrap_or_else(|| "trees".into());
            let p = actions::resolve(&repo, &cwd, &dir, project.as_deref())?;
            let format = match (shell, json) {
                (true, _) => actions::env::Format::Shell,
                (false, true) => actions::env::Format::Json,
                (false, false) => actions::env::Format::Text,
            };
            actions::env::print(&p, format)
        }
        Command::Exec {
            project,
            service,
            cmd,
        } => {
            let dir = cfg.get("TREES_DIR_NAME").unwrap_or_else(|| "trees".into());
            let p = actions::resolve(&repo, &cwd, &dir, project.as_deref())?;
            Err(actions::env::exec(&p, service.as_deref(), &cmd))
        }
        Command::SetupWorktree { feature, iter } => {
            actions::worktree::setup(&repo, &cfg, &feature, &iter).map(|_| ())
        }
        Command::SetupWorktrees { feature, count } => {
            actions::worktree::setup_many(&repo, &cfg, &feature, count)
        }
        Command::DeleteWorktree { name, yes, force } => {
            actions::worktree::delete(&repo, &cfg, &name, yes, force)
        }
        Command::Migrate { projects, all } => {
            actions::migrate::migrate(&repo, &cwd, &cfg, &projects, all)
        }
        Command::Test {
            select,
            failed,
            jobs,
        } => {
            let mut select = select;
            select.here(&repo, &cwd, &cfg);
            let mode = plan::mode(&cfg, select.main, select.trees);
            let projects = plan::projects(&cfg, &repo, mode, &select.projects);
            if let Some(missing) = select
                .projects
                .iter()
                .find(|n| !projects.iter().any(|p| &p.name == *n))
            {
                return Err(Failure::Actionable(format!(
                    "no {} project named {missing:?} (`envctl list-trees`)",
                    mode.name()
                )));
            }
            actions::test::test(
                &repo,
                &scope::scope_dir(&repo)?,
                &cfg,
                projects,
                failed,
                jobs,
                json,
            )
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "envctl", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// A command that changes what runs: served by the daemon, which is
/// started when none runs (the only writer of state, and the parent of
/// what it launches).
fn through_daemon(
    repo: &std::path::Path,
    op: daemon::ops::Op,
    overrides: BTreeMap<String, String>,
) -> Result<(), Failure> {
    use daemon::client::{self, Unserved};
    let scope = scope::scope_dir(repo)?;
    let mut why = String::new();
    // Twice: a daemon that was exiting (idle) when we called is waited
    // for, and a new one serves the command.
    for _ in 0..2 {
        client::ensure_running(repo)?;
        match client::serve(
            &scope,
            daemon::ops::Request::here(op.clone(), overrides.clone()),
        ) {
            Ok(o) => return o.into(),
            Err(Unserved::Failed(f)) => return Err(f),
            Err(Unserved::Unreachable(w)) => {
                why = w;
                if let Some(f) = daemon::read_file(&scope) {
                    procs::exited_within(f.ident.pid, std::time::Duration::from_secs(10));
                }
            }
        }
    }
    Err(Failure::Actionable(format!(
        "the envctl daemon does not answer: {why} (see {})",
        daemon::dir(&scope).join("daemon.log").display()
    )))
}

/// `stop`, `stop-all`: served by the daemon when one runs; otherwise (none
/// runs, or it does not answer) done here from the recorded state, so a
/// teardown never depends on a working daemon or config.
fn stop_through_daemon(repo: &std::path::Path, op: daemon::ops::Op) -> Result<(), Failure> {
    use daemon::client::{self, Unserved};
    let scope = scope::scope_dir(repo)?;
    if client::alive(&scope) {
        match client::serve(
            &scope,
            daemon::ops::Request::here(op.clone(), BTreeMap::new()),
        ) {
            Ok(o) => return o.into(),
            Err(Unserved::Failed(f)) => return Err(f),
            Err(Unserved::Unreachable(why)) => ui::warn(&format!(
                "the envctl daemon does not answer ({why}); working from the recorded state here"
            )),
        }
    }
    daemon::ops::execute(repo, &op, BTreeMap::new())
}

/// `daemon status`.
fn daemon_status(repo: &std::path::Path, json: bool) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    let st = daemon::client::status_of(&scope)?;
    let v = match &st {
        Some(s) => serde_json::to_value(s).unwrap_or_default(),
        None => serde_json::json!({"running": false, "pid": null, "uptime_s": 0, "services": 0}),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        match st {
            Some(s) => println!(
                "daemon running: pid {}, up {} s, supervising {} process(es), {} restart(s)",
                s.pid, s.uptime_s, s.services, s.restarts
            ),
            None => println!("no daemon running for {}", repo.display()),
        }
    }
    Ok(())
}

extern "C" fn on_sigint(_: libc::c_int) {
    procs::INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Sets what SIGPIPE does: `SIG_DFL` ends a reader quietly when its stdout
/// is closed (`envctl logs | head -1`); `SIG_IGN` (Rust's default) turns it
/// into an error for the writer to handle.
fn sigpipe(action: nix::sys::signal::SigHandler) {
    // SAFETY: installs a default or ignore disposition, no handler code.
    unsafe {
        let _ = nix::sys::signal::signal(nix::sys::signal::Signal::SIGPIPE, action);
    }
}

fn main() -> ExitCode {
    sigpipe(nix::sys::signal::SigHandler::SigDfl);
    let cli = Cli::parse();
    if let Command::LogRelay {
        max_bytes,
        keep,
        log,
    } = &cli.command
    {
        return match procs::relay::run(log, *max_bytes, *keep) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("envctl: log relay for {}: {e}", log.display());
                ExitCode::from(1)
            }
        };
    }
    if !cli.command.only_reads() {
        sigpipe(nix::sys::signal::SigHandler::SigIgn);
    }
    // Ctrl-C, SIGTERM and SIGHUP (a closed terminal) end waits early;
    // what started so far stays recorded (every pid is saved before it is
    // waited on), and the command exits 2 saying so.
    for sig in [
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGHUP,
    ] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe.
        unsafe {
            let _ = nix::sys::signal::signal(sig, nix::sys::signal::SigHandler::Handler(on_sigint));
        }
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Silent) => ExitCode::from(1),
        Err(Failure::Actionable(m)) => {
            eprintln!("envctl: {m}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(m)) => {
            eprintln!("envctl: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Interrupted) => {
            eprintln!(
                "envctl: interrupted; what this command launched was stopped (nothing half-started is left running)"
            );
            ExitCode::from(2)
        }
    }
}
