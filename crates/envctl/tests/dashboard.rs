//! `envctl dashboard` in a real terminal (issue 13 item 1): it runs in a
//! tmux session; the test reads the screen with `capture-pane`, kills a
//! service from outside and sees it come back, restarts a row with `r`,
//! and leaves with `q` with every service still running and the terminal
//! restored.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// A tmux server of our own (its own socket), killed on drop. The pane's
/// output is copied (`pipe-pane`) into a FIFO that a thread reads: every
/// chunk the dashboard draws is an event the test waits on.
struct Tmux {
    socket: String,
    drawn: Option<std::sync::mpsc::Receiver<Vec<u8>>>,
    _fifo_dir: tempfile::TempDir,
}

impl Tmux {
    fn new() -> Tmux {
        Tmux {
            socket: format!("envctl-dash-{}", std::process::id()),
            drawn: None,
            _fifo_dir: tempfile::tempdir().unwrap(),
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

    /// Copies the pane's output into a FIFO and starts reading it.
    fn watch_output(&mut self) {
        let fifo = self._fifo_dir.path().join("pane");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            // Opening blocks until tmux's `cat` opens the other end.
            let Ok(mut f) = std::fs::File::open(&path) else {
                return;
            };
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = f.read(&mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    return;
                }
            }
        });
        let cmd = format!("cat > {}", fifo.display());
        self.run(&["pipe-pane", "-t", "dash", "-o", &cmd]);
        self.drawn = Some(rx);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "dash"])
    }

    /// Waits (30 s) for the screen to satisfy `ok`, looking again each
    /// time the dashboard draws (it redraws at least every second: the
    /// uptime column moves).
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        let drawn = self.drawn.as_ref().expect("watch_output first");
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                drawn.recv_timeout(left).is_ok(),
                "screen never showed {what}:\n{s}"
            );
            // Take every chunk already drawn before looking again.
            while drawn.try_recv().is_ok() {}
        }
    }
}

impl Tmux {
    /// Waits (20 s) until the pane's output contains `seq` (the bytes as
    /// tmux read and parsed them from the pane).
    fn wait_output(&self, seq: &[u8]) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        let drawn = self.drawn.as_ref().expect("watch_output first");
        let mut seen: Vec<u8> = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match drawn.recv_timeout(left) {
                Ok(chunk) => {
                    seen.extend(chunk);
                    if seen.windows(seq.len()).any(|w| w == seq) {
                        return true;
                    }
                    // Keep only what a sequence split across chunks needs.
                    let keep = seen.len().saturating_sub(seq.len());
                    seen.drain(..keep);
                }
                Err(_) => return false,
            }
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

    let mut t = Tmux::new();
    // The pane runs a shell that writes the dashboard's exit status here.
    let status = w.tmp.path().join("dashboard.status");
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
        &format!("{exe} dashboard; echo $? > {}", status.display()),
    ]);
    t.run(&["set-option", "-t", "dash", "remain-on-exit", "on"]);
    t.watch_output();
    let pane_pid: u32 = t
        .run(&["display", "-p", "-t", "dash", "#{pane_pid}"])
        .trim()
        .parse()
        .unwrap();

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

    // `q` detaches: the terminal is restored (the alternate screen is
    // left), the dashboard exits 0, everything still runs.
    t.run(&["send-keys", "-t", "dash", "q"]);
    assert!(
        t.wait_output(b"\x1b[?1049l"),
        "the dashboard never left the alternate screen"
    );
    assert!(
        wait_exit(pane_pid, Duration::from_secs(20)),
        "the dashboard did not leave on q"
    );
    let st = t.run(&["display", "-p", "-t", "dash", "#{alternate_on}"]);
    assert_eq!(st.trim(), "0", "terminal restored");
    assert_eq!(
        std::fs::read_to_string(&status).unwrap().trim(),
        "0",
        "exit 0"
    );
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
