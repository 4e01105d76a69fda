//! The daemon process (`envctl daemon run`, started by the CLI): a
//! `tractor` root actor that is the registrar at the scope's socket and
//! serves `envctl.daemon`, with the supervisor inside it.

use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use tractor::ipc::Proto;
use tractor::{RootConfig, RuntimeVars};

use super::ops::run_command;
use super::rpc::{SUPERVISOR, follow_logs, shutdown, status};
use super::supervisor::Supervisor;
use super::{DaemonFile, READY_FD_VAR, addr, dir, rotate};
use crate::procs;
use crate::{Failure, scope, state};

/// Writes "ready" to the CLI that started us (the fd it handed down).
fn signal_ready() {
    let Some(fd) = std::env::var(READY_FD_VAR)
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return;
    };
    // SAFETY: the CLI passed this fd to us for this one write; nothing else
    // in this process uses it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut f = std::fs::File::from(owned);
    let _ = writeln!(f, "ready {}", std::process::id());
}

/// Runs the daemon for `repo` until `daemon stop`, SIGTERM or SIGINT.
pub fn run(repo: &Path) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    let d = dir(&scope);
    std::fs::create_dir_all(&d)?;
    tractor::devx::logging::init("info");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut rv = RuntimeVars::for_session();
        rv.transport = Proto::Uds;
        rv.bind_dir = d.join("tractor");
        rv.registry_addrs = vec![addr(&scope)];
        let root = tractor::open_root_actor(
            RootConfig::named("envctl-daemon")
                .enable(&[status::NS, shutdown::NS, follow_logs::NS, run_command::NS])
                .with_vars(rv),
        )
        .await
        .map_err(|e| Failure::Actionable(format!("the daemon cannot listen: {e}")))?;
        if !root.actor().is_registrar() {
            root.shutdown().await;
            return Err(Failure::Actionable(format!(
                "another envctl daemon already serves {}",
                addr(&scope)
            )));
        }
        let sup = Supervisor::new(repo, &scope);
        let _ = SUPERVISOR.set(sup.clone());
        let me = procs::Ident {
            pid: std::process::id(),
            start_time: procs::start_time(std::process::id()).unwrap_or(0),
        };
        let file = DaemonFile {
            ident: me,
            started_at: state::now(),
            addr: addr(&scope).to_string(),
        };
        state::write_atomic(
            &d.join("daemon.json"),
            &serde_json::to_string_pretty(&file).unwrap_or_default(),
        )?;
        sup.sync();
        tracing::info!(scope = %scope.display(), watched = sup.watched_count(), "envctl daemon up");
        signal_ready();
        // Housekeeping every 5 s: rotate logs; exit when there is nothing
        // left to supervise (no active run twice in a row, or the scope's
        // folder is gone) — a daemon never outlives its purpose.
        let rotation = {
            let sup = sup.clone();
            tokio::spawn(async move {
                let mut idle = 0;
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    let s = sup.clone();
                    let active = tokio::task::spawn_blocking(move || {
                        rotate(&s.repo, &s.scope);
                        procs::children::sweep();
                        s.is_busy()
                            || s.scope.exists()
                                && !crate::lifecycle::active_runs(&s.scope).is_empty()
                    })
                    .await
                    .unwrap_or(true);
                    idle = if active { 0 } else { idle + 1 };
                    if idle >= 2 {
                        tracing::info!("nothing left to supervise; exiting");
                        sup.shutdown.cancel();
                        return;
                    }
                }
            })
        };
        // The in-memory tail: new log lines are read a few times a second
        // (the relays write the files; a file gives no event we can wait
        // on without inotify).
        let feeder = {
            let sup = sup.clone();
            tokio::spawn(async move {
                loop {
                    let s = sup.clone();
                    let _ = tokio::task::spawn_blocking(move || s.feed_logs()).await;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            })
        };
        let out = root
            .run(async {
                sup.shutdown.cancelled().await;
                Ok::<(), tractor::Error>(())
            })
            .await;
        sup.shutdown.cancel();
        rotation.abort();
        feeder.abort();
        // Only our own file: a daemon that lost the race must not remove
        // the winner's.
        if super::read_file(&scope).is_some_and(|f| f.ident == me) {
            let _ = std::fs::remove_file(d.join("daemon.json"));
        }
        root.shutdown().await;
        tracing::info!("envctl daemon stopped ({:?})", out.err());
        Ok(())
    })
}
