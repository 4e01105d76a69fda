//! `envctl dashboard`: a live, full-screen view of every project's
//! services and dependencies, attached to the scope's daemon.
//!
//! The table is refreshed every second from the record and the OS (in
//! the background); the log pane follows the selected service through the
//! daemon's log stream; `r`/`s`/`S` run the same lifecycle command the
//! CLI would. Quitting detaches: what runs keeps running. The terminal is
//! restored on quit, on SIGTERM/SIGHUP and on a panic (ratatui's hook).
//! `--headless`, or no terminal, prints the one-shot text instead.

mod app;
mod feed;
mod model;
mod view;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ratatui::crossterm::event::{self, Event as TermEvent, KeyEventKind};

pub use app::{Action, App};
use feed::{Event, Follower};

use crate::{Failure, scope};

/// `envctl dashboard`.
pub fn run(repo: &Path) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    let (tx, rx) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    feed::poller(repo.to_path_buf(), scope.clone(), tx.clone(), stop.clone());
    let follower = Follower::start(scope, tx.clone());
    let mut app = App::new(repo.display().to_string(), None);
    let pal = view::Palette::from_env();

    let mut term = ratatui::try_init()
        .map_err(|e| Failure::Actionable(format!("cannot take over the terminal: {e}")))?;
    let result = (|| -> std::io::Result<()> {
        let mut dirty = true;
        loop {
            if crate::procs::INTERRUPTED.load(Ordering::SeqCst) {
                return Ok(()); // SIGTERM/SIGHUP: leave cleanly
            }
            while let Ok(ev) = rx.try_recv() {
                dirty = true;
                match ev {
                    Event::Snapshot(snap, daemon) => {
                        app.daemon = daemon;
                        if let Action::Follow(row) = app.set_snapshot(snap) {
                            follower.select(row.as_ref());
                        }
                    }
                    Event::Log(line) => app.push_log(line),
                    Event::Message(m) => app.message = m,
                }
            }
            if dirty {
                term.draw(|f| view::draw(f, &app, pal))?;
                dirty = false;
            }
            if !event::poll(Duration::from_millis(100))? {
                continue;
            }
            match event::read()? {
                TermEvent::Key(k) if k.kind == KeyEventKind::Press => {
                    dirty = true;
                    match app.on_key(k) {
                        Action::Quit => return Ok(()),
                        Action::None => {}
                        Action::Follow(row) => follower.select(row.as_ref()),
                        Action::Restart(row) => {
                            feed::run_action(repo, feed::action_args("restart", &row), tx.clone())
                        }
                        Action::Stop(row) => {
                            feed::run_action(repo, feed::action_args("stop", &row), tx.clone())
                        }
                        Action::Start(row) => {
                            feed::run_action(repo, feed::action_args("start", &row), tx.clone())
                        }
                    }
                }
                TermEvent::Resize(..) => dirty = true,
                _ => {}
            }
        }
    })();
    stop.store(true, Ordering::SeqCst);
    follower.stop();
    ratatui::try_restore()
        .map_err(|e| Failure::Actionable(format!("cannot restore the terminal: {e}")))?;
    result.map_err(|e| Failure::Actionable(format!("dashboard: {e}")))
}

/// Whether the live dashboard can run here (a terminal on both ends).
pub fn interactive() -> bool {
    std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}

#[cfg(test)]
mod snapshots;
