//! The CLI's side: start the daemon when a command needs it, and call it
//! over `tractor` (one-shot calls; a context with a stream for `logs -f`).

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use tractor::msg::Value;

use super::ops::{Outcome, Request, run_command};
use super::rpc::{DaemonStatus, follow_logs, status};
use super::{READY_FD_VAR, addr, dir, read_file};
use crate::opctx::Progress;
use crate::procs::{self, OWNER_VAR};
use crate::{Failure, scope};

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// True if a daemon process of `scope` is alive.
pub fn alive(scope: &Path) -> bool {
    read_file(scope).is_some_and(|f| procs::alive(&f.ident))
}

/// Calls `envctl.daemon.<func>` once; `None` if no daemon answers.
fn call(scope: &Path, func: &str) -> Result<Option<Value>, Failure> {
    if !alive(scope) {
        return Ok(None);
    }
    let rt = runtime()?;
    let (me, max) = tractor::discovery::api::my_aid();
    let a = addr(scope);
    let out = rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(30),
            tractor::discovery::api::call_once_ns(&a, &me, status::NS, func, Vec::new(), max),
        )
        .await
    });
    match out {
        Ok(Ok(v)) => Ok(Some(v)),
        Ok(Err(e)) => Err(Failure::Actionable(format!(
            "the envctl daemon at {a} failed {func}: {e}"
        ))),
        Err(_) => Err(Failure::Actionable(format!(
            "the envctl daemon at {a} did not answer {func} within 30 s (see {})",
            dir(scope).join("daemon.log").display()
        ))),
    }
}

/// The daemon's status, or `None` when none runs.
pub fn status_of(scope: &Path) -> Result<Option<DaemonStatus>, Failure> {
    match call(scope, "status")? {
        Some(v) => rmpv::ext::from_value(v)
            .map(Some)
            .map_err(|e| Failure::Actionable(format!("a daemon status we cannot read: {e}"))),
        None => Ok(None),
    }
}

/// Asks the daemon to exit and waits for it (falls back to signals).
pub fn stop(scope: &Path) -> bool {
    let Some(f) = read_file(scope).filter(|f| procs::alive(&f.ident)) else {
        return false;
    };
    let asked = call(scope, "shutdown").is_ok();
    if !(asked && procs::exited_within(f.ident.pid, Duration::from_secs(10))) {
        super::stop_process(scope);
    }
    true
}

/// Starts the daemon of `repo` unless one runs; waits until it serves.
pub fn ensure_running(repo: &Path) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    if alive(&scope) {
        return Ok(());
    }
    let d = dir(&scope);
    std::fs::create_dir_all(&d)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(d.join("daemon.log"))?;
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Failure::Actionable(format!("pipe: {e}")))?;
    let wr_fd = wr.as_raw_fd();
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.args(["daemon", "run", "--repo"])
        .arg(repo)
        .current_dir("/")
        .env_remove("_TRACTOR_RT_VARS")
        .env(
            OWNER_VAR,
            format!("{}/daemon/-/daemon", scope::scope_id(repo)),
        )
        .env(READY_FD_VAR, wr_fd.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: setsid and fcntl are async-signal-safe; the closure touches
    // only the fd number copied into it.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            // Keep the ready fd open across exec (it was O_CLOEXEC).
            if libc::fcntl(wr_fd, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    drop(wr);
    // The daemon outlives us by design; whoever reaps orphans reaps it.
    drop(child);
    let mut f = std::fs::File::from(rd);
    let mut fds = [nix::poll::PollFd::new(
        std::os::fd::AsFd::as_fd(&f),
        nix::poll::PollFlags::POLLIN,
    )];
    let _ = nix::poll::poll(&mut fds, 15_000u16);
    let mut buf = [0u8; 64];
    let n = f.read(&mut buf).unwrap_or(0);
    if String::from_utf8_lossy(&buf[..n]).starts_with("ready") {
        return Ok(());
    }
    let tail = crate::lifecycle::launch::last_lines(&d.join("daemon.log"), 5).join("\n    ");
    Err(Failure::Actionable(format!(
        "the envctl daemon did not start; last lines of {}:\n    {tail}",
        d.join("daemon.log").display()
    )))
}

/// Why a command could not be served.
#[derive(Debug)]
pub enum Unserved {
    /// No daemon answered before the command began: nothing was done, the
    /// caller may start one or do the work itself.
    Unreachable(String),
    /// The command began in the daemon and then the link failed.
    Failed(Failure),
}

fn session_vars(scope: &Path) -> tractor::RuntimeVars {
    let mut rv = tractor::RuntimeVars::for_session();
    rv.transport = tractor::ipc::Proto::Uds;
    rv.bind_dir = dir(scope).join("tractor");
    rv.registry_addrs = vec![addr(scope)];
    rv.loglevel = "error".into();
    rv
}

/// Shows one progress line the daemon sent.
fn show(p: Progress) {
    match p {
        Progress::Step(m) => crate::ui::step(&m),
        Progress::Warn(m) => crate::ui::warn(&m),
        Progress::Say(m) => crate::ui::say(&m),
        Progress::Done => crate::ui::done(),
    }
}

/// Has the daemon of `scope` run `req`: its progress lines are shown here
/// as they come, and its outcome is returned. Ctrl-C (SIGINT, SIGTERM,
/// SIGHUP) cancels the command in the daemon, which undoes what it
/// launched; then this returns [`Outcome::Interrupted`].
pub fn serve(scope: &Path, req: Request) -> Result<Outcome, Unserved> {
    if !alive(scope) {
        return Err(Unserved::Unreachable("no daemon runs".into()));
    }
    let rt = runtime().map_err(Unserved::Failed)?;
    let began = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let began2 = began.clone();
    let out = rt.block_on(tractor::run_root(
        tractor::RootConfig::named(format!("envctl-cli-{}", std::process::id()))
            .with_vars(session_vars(scope)),
        || async move {
            // A signal cancels the root's scope; stay polled so that the
            // daemon's undo is waited for (see `Root::run`).
            let scope = tractor::CancelScope::current().unwrap_or_default();
            let _graceful = scope.graceful_guard();
            let portal = tractor::find_actor("envctl-daemon").await?.ok_or_else(|| {
                tractor::Error::Discovery("the envctl daemon is not registered".into())
            })?;
            let (ctx, ()): (_, ()) = portal.open_context(run_command {
                    request: super::ops::wire(&req),
                }).await?;
            began2.store(true, std::sync::atomic::Ordering::SeqCst);
            let mut stream = ctx.open_stream();
            let mut cancelled = false;
            loop {
                tokio::select! {
                    p = stream.recv() => match p {
                        Ok(Some(p)) => match serde_json::from_str::<Progress>(&p) {
                            Ok(p) => show(p),
                            Err(e) => tracing::debug!(error = %e, "a progress line we cannot read"),
                        },
                        Ok(None) => break,
                        Err(e) if cancelled => {
                            tracing::debug!(error = %e, "stream ended by the cancel");
                            break;
                        }
                        Err(e) => return Err(e),
                    },
                    _ = scope.token().cancelled(), if !cancelled => {
                        cancelled = true;
                        crate::ui::step("interrupted: the daemon undoes what this command launched");
                        ctx.cancel().await?;
                    }
                }
            }
            match ctx.result().await {
                Ok(o) if !cancelled => serde_json::from_str::<Outcome>(&o).map_err(|e| {
                    tractor::Error::Config(format!("an outcome we cannot read: {e}"))
                }),
                // Cancelled: whatever it says, the command did not finish.
                Ok(_) => Ok(Outcome::Interrupted),
                Err(_) if cancelled => Ok(Outcome::Interrupted),
                Err(e) => Err(e),
            }
        },
    ));
    match out {
        Ok(o) => Ok(o),
        Err(tractor::Error::Cancelled(_)) => Ok(Outcome::Interrupted),
        Err(e) if !began.load(std::sync::atomic::Ordering::SeqCst) => {
            Err(Unserved::Unreachable(e.to_string()))
        }
        Err(e) => Err(Unserved::Failed(Failure::Actionable(format!(
            "the envctl daemon failed during the command: {e} (see {})",
            dir(scope).join("daemon.log").display()
        )))),
    }
}

/// `logs -f`: streams the daemon's log lines to stdout until Ctrl-C.
pub fn follow(scope: &Path, project: &str, service: &str, tail: usize) -> Result<(), Failure> {
    if !alive(scope) {
        return Err(Failure::Actionable(
            "no envctl daemon runs for this repository (it starts with `envctl start`)".into(),
        ));
    }
    let (tx, rx) = tokio::sync::watch::channel(Some((project.to_owned(), service.to_owned())));
    // Kept alive while we follow: a closed channel would end the stream.
    let _keep = tx;
    follow_with(scope, tail, rx, |line| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").and_then(|_| out.flush()).is_ok()
    })
}

/// Streams log lines of the selection `sel` holds (`(project, service)`,
/// empty = all) from the daemon to `on_line`, starting with the last
/// `tail` lines; a new selection switches the stream (the old context is
/// cancelled), `None` or a dropped sender ends it, as does `on_line`
/// returning false. The dashboard's log pane and `logs -f` both use it.
pub fn follow_with(
    scope: &Path,
    tail: usize,
    mut sel: tokio::sync::watch::Receiver<Option<(String, String)>>,
    mut on_line: impl FnMut(String) -> bool,
) -> Result<(), Failure> {
    let rt = runtime()?;
    let rv = session_vars(scope);
    let out = rt.block_on(tractor::run_root(
        tractor::RootConfig::named(format!("envctl-logs-{}", std::process::id())).with_vars(rv),
        || async move {
            let portal = tractor::find_actor("envctl-daemon").await?.ok_or_else(|| {
                tractor::Error::Discovery("the envctl daemon is not registered".into())
            })?;
            loop {
                let Some((project, service)) = sel.borrow_and_update().clone() else {
                    return Ok(());
                };
                let (ctx, ()): (_, ()) = portal
                    .open_context(follow_logs {
                        project,
                        service,
                        tail: tail as u64,
                    })
                    .await?;
                let mut stream = ctx.open_stream();
                let switched = loop {
                    tokio::select! {
                        changed = sel.changed() => break changed.is_ok(),
                        line = stream.recv() => match line? {
                            Some(line) => {
                                if !on_line(line) {
                                    break false;
                                }
                            }
                            None => break false,
                        },
                    }
                };
                let _ = ctx.cancel().await;
                if !switched {
                    return Ok(());
                }
            }
        },
    ));
    match out {
        Ok(()) | Err(tractor::Error::Cancelled(_)) => Ok(()),
        Err(e) => Err(Failure::Actionable(format!("logs -f: {e}"))),
    }
}
