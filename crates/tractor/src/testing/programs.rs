//! Running our own programs (examples, binaries) from tests: each gets the
//! test's session envelope, output is captured line by line so a test can
//! wait for a readiness line instead of sleeping, and the program's whole
//! tree is reaped when the test is done.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::runtime::state::RuntimeVars;

/// The path of a built example of this workspace (`cargo test` and
/// `cargo nextest` build examples next to the test binaries).
pub fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test binary> → target/<profile>/examples/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps");
    profile_dir.join("examples").join(name)
}

/// A running program with captured output.
#[derive(Debug)]
pub struct Program {
    child: Child,
    lines: mpsc::Receiver<(bool, String)>,
    /// Every line seen so far, stdout and stderr interleaved.
    pub transcript: Vec<String>,
}

impl Program {
    /// Starts `path` with `args` and `rtv` as its envelope. The test
    /// process becomes a child subreaper first, so the program's
    /// descendants are re-parented to us (and reaped) if it dies.
    pub fn start(path: &Path, args: &[&str], rtv: &RuntimeVars) -> std::io::Result<Program> {
        Self::start_with_env(path, args, rtv, &[])
    }

    /// [`Program::start`] with extra environment variables.
    pub fn start_with_env(
        path: &Path,
        args: &[&str],
        rtv: &RuntimeVars,
        envs: &[(&str, &str)],
    ) -> std::io::Result<Program> {
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer flag
        // and touches no memory of ours.
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
        let (k, v) = rtv.dump();
        let mut child = Command::new(path)
            .args(args)
            .env(k, v)
            .envs(envs.iter().copied())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (tx, rx) = mpsc::channel();
        for (is_err, pipe) in [
            (
                false,
                child
                    .stdout
                    .take()
                    .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            ),
            (
                true,
                child
                    .stderr
                    .take()
                    .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            ),
        ] {
            let tx = tx.clone();
            if let Some(p) = pipe {
                std::thread::spawn(move || {
                    for line in BufReader::new(p).lines().map_while(Result::ok) {
                        if tx.send((is_err, line)).is_err() {
                            break;
                        }
                    }
                });
            }
        }
        Ok(Program {
            child,
            lines: rx,
            transcript: Vec::new(),
        })
    }

    /// The program's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (up to `limit`) for a line containing `needle`; returns it.
    pub fn wait_for_line(&mut self, needle: &str, limit: Duration) -> Result<String, String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((_, line)) => {
                    self.transcript.push(line.clone());
                    if line.contains(needle) {
                        return Ok(line);
                    }
                }
                Err(_) => {
                    return Err(format!(
                        "no line containing {needle:?} within {limit:?}; output so far:\n{}",
                        self.transcript.join("\n")
                    ));
                }
            }
        }
    }

    /// Sends a signal to the program.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid() as i32), sig);
    }

    /// Waits (up to `limit`) for the program to exit, collecting the rest
    /// of its output.
    pub fn wait(&mut self, limit: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                // Drain what is left (the pipes close when it exits).
                while let Ok((_, line)) = self.lines.recv_timeout(Duration::from_secs(5)) {
                    self.transcript.push(line);
                }
                return Ok(st);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "still running after {limit:?}; output so far:\n{}",
                    self.transcript.join("\n")
                ));
            }
            // Either a line arrives or we look again: the timeout only
            // bounds how late we notice the exit.
            if let Ok((_, line)) = self.lines.recv_timeout(left.min(Duration::from_millis(50))) {
                self.transcript.push(line);
            }
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        // Only this program's own tree: other programs of the test live on.
        let tree = super::procs::descendants(self.pid());
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for p in tree.iter().rev() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p.pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            // Re-parented to us (the subreaper) if its parent died first.
            let _ = nix::sys::wait::waitpid(
                nix::unistd::Pid::from_raw(p.pid as i32),
                Some(nix::sys::wait::WaitPidFlag::WNOHANG),
            );
        }
    }
}
