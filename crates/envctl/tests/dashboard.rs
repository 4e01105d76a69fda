//! `envctl dashboard` in a real terminal (issue 13 item 1): it runs in a
//! tmux session; the test reads the screen with `capture-pane`, kills a
//! service from outside and sees it come back, restarts a row with `r`,
//! and leaves with `q` with every service still running and the terminal
//! restored.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// A tmux server of our own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new() -> Tmux {
        Tmux {
            socket: format!("envctl-dash-{}", std::process::id()),
        }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs (scripts/install-deps.sh installs it)");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "dash"])
    }

    /// Waits for the screen to satisfy `ok` (30 s). A terminal's contents
    /// change without an event we could wait on, so this looks every
    /// 100 ms, bounded; the dashboard redraws within a second of a change.
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "screen never showed {what}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// The row of `project service`: its cells, split on blanks.
fn row(screen: &str, project: &str, service: &str) -> Option<Vec<String>> {
    screen.lines().find_map(|l| {
        let cells: Vec<String> = l
            .split(|c: char| c.is_whitespace() || c == '│' || c == '›')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        (cells.first().map(String::as_str) == Some(project)
            && cells.get(1).map(String::as_str) == Some(service))
        .then_some(cells)
    })
}

/// (status, pid, restarts) of a row.
fn cells(screen: &str, project: &str, service: &str) -> Option<(String, u64, u32)> {
    let c = row(screen, project, service)?;
    Some((c[2].clone(), c[4].parse().ok()?, c[6].parse().ok()?))
}

#[test]
fn live_table_restarts_and_detaches() {
    let w = World::new();
    let out = w.envctl_env(
        &["start", "--headless", "--trees"],
        &[("ENVCTL_RESTART_POLICY", "on-failure")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let t = Tmux::new();
    let exe = env!("CARGO_BIN_EXE_envctl");
    let rt = format!("RUN_SH_RUNTIME_DIR={}", w.runtime.display());
    let repo = w.repo.display().to_string();
    t.run(&[
        "new-session",
        "-d",
        "-s",
        "dash",
        "-x",
        "160",
        "-y",
        "45",
        "-e",
        &rt,
        "-c",
        &repo,
        exe,
        "dashboard",
    ]);
    t.run(&["set-option", "-t", "dash", "remain-on-exit", "on"]);

    // Every service and both shared dependencies, running.
    let s = t.wait("six running rows", |s| {
        [
            "feat-a-1 backend",
            "feat-a-1 frontend",
            "feat-b-1 backend",
            "feat-b-1 frontend",
            "shared postgres",
            "shared redis",
        ]
        .iter()
        .all(|l| {
            let (p, sv) = l.split_once(' ').unwrap();
            cells(s, p, sv).is_some_and(|c| c.0 == "running")
        })
    });
    assert!(s.contains("daemon pid"), "{s}");
    assert!(s.contains("q quit"), "the footer shows the keys:\n{s}");

    // Killed from outside: the daemon restarts it, the row shows it.
    let (_, pid, _) = cells(&s, "feat-a-1", "backend").unwrap();
    kill9(pid);
    t.wait("feat-a-1 backend restarted", |s| {
        cells(s, "feat-a-1", "backend")
            .is_some_and(|(st, p, n)| st == "running" && p != pid && n == 1)
    });

    // `r` on a selected row restarts it: its pid changes.
    t.run(&["send-keys", "-t", "dash", "j", "j"]);
    let s = t.wait("feat-b-1 backend selected", |s| {
        s.lines()
            .any(|l| l.contains("› feat-b-1") && l.contains("backend"))
    });
    let (_, before, _) = cells(&s, "feat-b-1", "backend").unwrap();
    t.run(&["send-keys", "-t", "dash", "r"]);
    t.wait("feat-b-1 backend with a new pid", |s| {
        cells(s, "feat-b-1", "backend").is_some_and(|(st, p, _)| st == "running" && p != before)
    });

    // `q` detaches: the terminal is restored, everything still runs.
    t.run(&["send-keys", "-t", "dash", "q"]);
    let start = Instant::now();
    loop {
        let st = t.run(&[
            "display",
            "-p",
            "-t",
            "dash",
            "#{pane_dead} #{alternate_on} #{pane_dead_status}",
        ]);
        if st.trim() == "1 0 0" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "dashboard did not leave cleanly: {st}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = w.envctl(&["health"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "services kept running: {}",
        text(&out)
    );
    drop(t);
    teardown(&w);
}
