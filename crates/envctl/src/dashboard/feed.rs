//! The dashboard's background work, so the screen never waits on the OS,
//! an HTTP probe or the daemon: a poller that takes a snapshot every
//! second, a follower that streams the selected service's log from the
//! daemon, and one thread per action (`envctl restart …`, run as the CLI
//! would run it, so the dashboard does exactly what the command does).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

use super::model::{self, Row, Snapshot};
use crate::config::Config;

/// What the background sends the screen.
#[derive(Debug)]
pub enum Event {
    /// A fresh snapshot and the daemon's pid (if one runs).
    Snapshot(Snapshot, Option<u32>),
    /// A line of the followed log.
    Log(String),
    /// The outcome of an action, for the status line.
    Message(String),
}

/// How often the table is refreshed.
pub const REFRESH: Duration = Duration::from_secs(1);

/// Starts the poller; it stops when `stop` is set or the screen is gone.
pub fn poller(repo: PathBuf, scope: PathBuf, tx: Sender<Event>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let cfg = Config::load(&repo, Default::default())
            .unwrap_or_else(|e| Config::without_file(&repo, e.to_string()));
        let mut health = model::HealthCache::default();
        while !stop.load(Ordering::SeqCst) {
            let snap = model::collect(&scope, &cfg, &mut health);
            let daemon = crate::daemon::read_file(&scope)
                .filter(|f| crate::procs::alive(&f.ident))
                .map(|f| f.ident.pid);
            if tx.send(Event::Snapshot(snap, daemon)).is_err() {
                return;
            }
            // A condition-variable wait would end this sooner; a one-second
            // refresh is the design, and quitting does not wait for it.
            std::thread::sleep(REFRESH);
        }
    });
}

/// The log follower: `select` switches what it follows.
pub struct Follower {
    sel: tokio::sync::watch::Sender<Option<(String, String)>>,
}

impl Follower {
    /// Starts following nothing yet; lines go to `tx`.
    pub fn start(scope: PathBuf, tx: Sender<Event>) -> Follower {
        let (sel, rx) = tokio::sync::watch::channel(None::<(String, String)>);
        std::thread::spawn(move || {
            let mut rx = rx;
            // Wait for a first selection (the table's first row).
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let Ok(rt) = rt else { return };
            if rt.block_on(rx.wait_for(Option::is_some)).is_err() {
                return;
            }
            let log_tx = tx.clone();
            let r = crate::daemon::client::follow_with(&scope, 200, rx, move |line| {
                log_tx.send(Event::Log(line)).is_ok()
            });
            if let Err(crate::Failure::Actionable(m)) = r {
                let _ = tx.send(Event::Message(format!("live log ended: {m}")));
            }
        });
        Follower { sel }
    }

    /// Follows `row`'s log (a dependency has none in the daemon's stream).
    pub fn select(&self, row: Option<&Row>) {
        if let Some(r) = row.filter(|r| r.kind == model::Kind::Service) {
            let _ = self.sel.send(Some((r.project.clone(), r.service.clone())));
        }
    }

    /// Ends the stream.
    pub fn stop(&self) {
        let _ = self.sel.send(None);
    }
}

/// The CLI arguments that do `what` to `row`.
pub fn action_args(what: &str, row: &Row) -> Vec<String> {
    let mut args = vec![what.to_owned(), "--headless".to_owned()];
    if what == "start" {
        args.push(
            if row.project == "main" {
                "--main"
            } else {
                "--trees"
            }
            .into(),
        );
    }
    args.push("--project".into());
    args.push(row.project.clone());
    if what != "start" {
        args.push("--service".into());
        args.push(row.service.clone());
    }
    if what == "stop" {
        args.retain(|a| a != "--headless");
    }
    args
}

/// Runs `envctl ARGS` in `repo` on its own thread; reports how it went.
pub fn run_action(repo: &Path, args: Vec<String>, tx: Sender<Event>) {
    let repo = repo.to_path_buf();
    std::thread::spawn(move || {
        let exe = std::env::current_exe().unwrap_or_else(|_| "envctl".into());
        let shown = format!("envctl {}", args.join(" "));
        let _ = tx.send(Event::Message(format!("{shown} …")));
        let out = std::process::Command::new(exe)
            .args(&args)
            .current_dir(&repo)
            .stdin(std::process::Stdio::null())
            .output();
        let msg = match out {
            Ok(o) if o.status.success() => format!("{shown}: done"),
            Ok(o) => {
                let err = String::from_utf8_lossy(&o.stderr);
                let last = err
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                format!("{shown}: failed: {last}")
            }
            Err(e) => format!("{shown}: cannot run: {e}"),
        };
        let _ = tx.send(Event::Message(msg));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::model::Kind;

    fn row(project: &str, service: &str) -> Row {
        Row {
            project: project.into(),
            service: service.into(),
            kind: Kind::Service,
            status: "running".into(),
            port: 0,
            pid: 0,
            uptime_s: None,
            restarts: 0,
            health: String::new(),
            log: None,
        }
    }

    #[test]
    fn a_key_acts_on_the_selected_service_only() {
        let w = row("feat-a-1", "worker");
        assert_eq!(
            action_args("stop", &w),
            ["stop", "--project", "feat-a-1", "--service", "worker"]
        );
        assert_eq!(
            action_args("restart", &row("feat-b-1", "backend")),
            [
                "restart",
                "--headless",
                "--project",
                "feat-b-1",
                "--service",
                "backend"
            ]
        );
        assert_eq!(
            action_args("start", &row("main", "frontend")),
            ["start", "--headless", "--main", "--project", "main"]
        );
    }
}
