//! A sample repository with two worktrees in a temp folder, its own
//! runtime folder, and the `envctl` binary; plus the A13 leak check.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct World {
    pub tmp: tempfile::TempDir,
    pub repo: PathBuf,
    pub runtime: PathBuf,
}

pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

impl World {
    /// The sample repository, committed, with worktrees feat-a/1 and feat-b/1.
    #[allow(clippy::new_without_default)]
    pub fn new() -> World {
        // Services outlive the envctl command that started them; as a
        // subreaper this test reaps them when they are stopped.
        // SAFETY: prctl with an integer flag; no memory is touched.
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("sample");
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/envctl-sample");
        copy_dir(&src, &repo);
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-qm", "sample"]);
        git(
            &repo,
            &["worktree", "add", "-q", "trees/feat-a/1", "-b", "feat-a-1"],
        );
        git(
            &repo,
            &["worktree", "add", "-q", "trees/feat-b/1", "-b", "feat-b-1"],
        );
        let runtime = tmp.path().join("runtime");
        World { tmp, repo, runtime }
    }

    /// Runs `envctl ARGS` in the repository.
    pub fn envctl(&self, args: &[&str]) -> Output {
        self.envctl_env(args, &[])
    }

    pub fn envctl_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_envctl"))
            .args(args)
            .current_dir(&self.repo)
            .env("RUN_SH_RUNTIME_DIR", &self.runtime)
            // The acceptance scenarios kill services and look at what is
            // left; the supervision tests turn restarts back on.
            .env("ENVCTL_RESTART_POLICY", "no")
            .envs(env.iter().copied())
            .output()
            .expect("envctl runs");
        reap_children();
        out
    }

    /// Runs `envctl ARGS` in `dir` (a worktree, a sibling checkout).
    pub fn envctl_in(&self, dir: &Path, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_envctl"))
            .args(args)
            .current_dir(dir)
            .env("RUN_SH_RUNTIME_DIR", &self.runtime)
            .env("ENVCTL_RESTART_POLICY", "no")
            .output()
            .expect("envctl runs");
        reap_children();
        out
    }

    /// `envctl ARGS --json`, parsed.
    pub fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let mut a = args.to_vec();
        a.push("--json");
        let out = self.envctl(&a);
        let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: not JSON ({e}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), v)
    }

    /// The scope folder (one per repository).
    pub fn scope(&self) -> PathBuf {
        std::fs::read_dir(&self.runtime)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("repo-")
            })
            .expect("a scope folder")
    }
}

impl Drop for World {
    /// A test that failed before its teardown still leaves nothing
    /// running: what envctl started (and its daemon) is blasted.
    fn drop(&mut self) {
        if self.runtime.exists() {
            let _ = Command::new(env!("CARGO_BIN_EXE_envctl"))
                .args(["blast-all", "--remove-volumes", "--force"])
                .current_dir(&self.repo)
                .env("RUN_SH_RUNTIME_DIR", &self.runtime)
                .output();
            reap_children();
        }
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Reaps every exited child re-parented to us.
pub fn reap_children() {
    while let Ok(st) = nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
        if st == nix::sys::wait::WaitStatus::StillAlive {
            break;
        }
    }
}

/// Waits until `pid`, killed by the test, has exited (its pidfd turns
/// readable: an event, whoever its parent is — the daemon launches the
/// services now), then reaps it if it happens to be our child.
pub fn wait_dead(pid: u32) -> bool {
    let gone = wait_exit(pid, Duration::from_secs(30));
    let _ = nix::sys::wait::waitpid(
        nix::unistd::Pid::from_raw(pid as i32),
        Some(nix::sys::wait::WaitPidFlag::WNOHANG),
    );
    gone
}

/// Pids of live processes whose cwd or environment mentions `root`.
pub fn processes_of(root: &Path) -> Vec<(u32, String)> {
    let me = std::process::id();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            !stat.contains(") Z ")
        })
        .filter(|pid| {
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
            let env = String::from_utf8_lossy(
                &std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default(),
            )
            .into_owned();
            cwd.is_some_and(|c| c.starts_with(root)) || env.contains(&root.display().to_string())
        })
        .map(|pid| {
            (
                pid,
                std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                    .unwrap_or_default()
                    .replace('\0', " "),
            )
        })
        .collect()
}

/// Waits (up to 30 s) until nothing of `root` runs; returns what is left.
/// Each process found is waited on through its pidfd (an event, whoever
/// its parent is); the table is read again only after one has exited, to
/// catch a child it forked meanwhile.
pub fn wait_clean(root: &Path) -> Vec<(u32, String)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        reap_children();
        let left = processes_of(root);
        let now = Instant::now();
        if left.is_empty() || now >= deadline {
            return left;
        }
        for (pid, _) in &left {
            wait_exit(*pid, deadline.saturating_duration_since(Instant::now()));
        }
    }
}

/// The A13 leak check: blast-all, then no process, no listener on a
/// planned port, no lock of ours is left.
pub fn teardown(w: &World) {
    let planned: Vec<u64> = std::fs::read_to_string(w.scope().join("ports_manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .map(|m| {
            m["projects"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|p| {
                    p["ports"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter_map(|(_, v)| v["final"].as_u64())
                })
                .collect()
        })
        .unwrap_or_default();
    let out = w.envctl(&["blast-all", "--remove-volumes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let left = wait_clean(w.tmp.path());
    assert!(left.is_empty(), "left running: {left:?}");
    for port in planned {
        // Another test's repository may have been given the same port
        // after we released it; only a listener of ours is a leak.
        let ours = listeners_of(port as u16)
            .into_iter()
            .filter(|pid| {
                std::fs::read_link(format!("/proc/{pid}/cwd"))
                    .is_ok_and(|c| c.starts_with(w.tmp.path()))
            })
            .collect::<Vec<_>>();
        assert!(
            ours.is_empty(),
            "something of ours still listens on planned port {port}: {ours:?}"
        );
    }
    if let Ok(rd) = std::fs::read_dir(w.scope().join("locks")) {
        let locks: Vec<_> = rd
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "lock"))
            .collect();
        assert!(locks.is_empty(), "locks left: {locks:?}");
    }
}

/// GET a URL (HTTP/1.0) and return the body.
pub fn http_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (hp, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut s = std::net::TcpStream::connect(hp).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {hp}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

impl World {
    /// The scope id (the scope folder's name), the prefix of every
    /// ownership marker of this repository.
    pub fn scope_id(&self) -> String {
        self.scope()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }
}

/// `kill -9 pid`.
pub fn kill9(pid: u64) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
}

/// Waits (bounded by `limit`) until `done()`, reaping our orphans between
/// looks; returns whether it happened. For what another process changes
/// and nothing here can wait on (its record, a grandchild's exit).
pub fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        reap_children();
        if done() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Pids holding a socket that listens on TCP `port` (from /proc).
pub fn listeners_of(port: u16) -> Vec<u32> {
    let mut inodes = Vec::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(f)
            .unwrap_or_default()
            .lines()
            .skip(1)
        {
            let c: Vec<&str> = line.split_whitespace().collect();
            let p = c
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|h| u16::from_str_radix(h, 16).ok());
            if c.get(3) == Some(&"0A") && p == Some(port) {
                inodes.push(format!("socket:[{}]", c[9]));
            }
        }
    }
    if inodes.is_empty() {
        return Vec::new();
    }
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.flatten().any(|fd| {
                    std::fs::read_link(fd.path())
                        .is_ok_and(|l| inodes.iter().any(|i| l.as_os_str() == i.as_str()))
                })
            })
        })
        .collect()
}

/// Waits until `pid` exits (true), or `limit` passes (false): the pidfd
/// becomes readable at its exit — an event, for any process, ours or not.
pub fn wait_exit(pid: u32, limit: Duration) -> bool {
    use std::os::fd::{AsFd, FromRawFd, OwnedFd};
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return true; // already gone
    }
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let mut fds = [nix::poll::PollFd::new(
        fd.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    let ms = u16::try_from(limit.as_millis()).unwrap_or(u16::MAX);
    matches!(nix::poll::poll(&mut fds, ms), Ok(n) if n > 0)
}

/// Whether `pid` is a live process (not gone, not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

/// A running `envctl logs -f …` with its stdout read line by line.
pub struct Follow {
    child: std::process::Child,
    /// The lines it prints.
    pub lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Follow {
    /// Starts `envctl ARGS` (a `logs -f`) in the repository and waits for
    /// its first line (the tail), which must start with `first`: then it
    /// is attached and what the service prints from now on streams.
    pub fn start(w: &World, args: &[&str], first: &str) -> Follow {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_envctl"))
            .args(args)
            .current_dir(&w.repo)
            .env("RUN_SH_RUNTIME_DIR", &w.runtime)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("envctl logs -f runs");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let line = lines
            .next()
            .expect("a first line")
            .expect("readable output");
        assert!(line.starts_with(first), "{line}");
        Follow { child, lines }
    }

    /// Ctrl-C, as a person ends it, and waits for it to exit.
    pub fn stop(mut self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .expect("signal envctl logs -f");
        let _ = self.child.wait();
    }
}
