//! The process backend: re-execute the current program with the child
//! envelope as its only input (test binaries also get the filter that
//! routes libtest to the right test; see `RuntimeVars::child_args`).
//!
//! The child runs in its own process group, so terminal Ctrl-C reaches
//! only the root (which then cancels the tree in order) and escalation can
//! signal the child's whole group. On Linux the child also asks the kernel
//! for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`), checked against
//! the expected parent pid right after, which closes the race where the
//! parent died before the request took effect.
//!
//! Two OS details shape how a child is started and ended:
//!
//! * `PR_SET_PDEATHSIG` fires when the *thread* that forked the child
//!   exits, not the process. Actors run on threads that end before the
//!   process does (thread actors, `#[tractor::test]` bodies), so every
//!   child is forked by one forker thread that lives as long as the
//!   process ([`spawn_command`]); the signal then means "the parent
//!   process died", as documented.
//! * Each child is reaped exactly once, through a pidfd
//!   ([`Reaper`]): the waiting task and the synchronous kill of a dropped
//!   nursery share it, whoever reaps first records the status, and a pid
//!   the kernel has reused can never be waited for or signalled by
//!   mistake (a group is signalled only while its leader is unreaped).

use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::unix::AsyncFd;

use super::{ChildActor, ChildControl, ExitInfo, SpawnBackend, SpawnRequest};
use crate::errors::Error;

/// A poisoned lock still guards plain data here (a status, a sender).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Spawns actors as OS processes.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessBackend;

/// A job for the forker thread: a command to spawn and where to answer.
type ForkJob = (Command, mpsc::SyncSender<io::Result<std::process::Child>>);

/// Spawns `cmd` from the process's forker thread, a thread started on
/// first use that never exits, so a child's `PR_SET_PDEATHSIG` (which the
/// kernel ties to the forking thread) fires only when this process dies.
/// The caller blocks for the length of a `fork` + `exec`, as it would
/// spawning the command itself.
pub(super) fn spawn_command(cmd: Command) -> io::Result<std::process::Child> {
    static FORKER: OnceLock<Mutex<mpsc::Sender<ForkJob>>> = OnceLock::new();
    let forker = FORKER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<ForkJob>();
        let started = std::thread::Builder::new()
            .name("tractor-forker".into())
            .spawn(move || {
                // The sender lives in a static, so this loop never ends.
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            });
        if let Err(e) = started {
            // Without a forker every spawn fails below with this reason.
            tracing::error!(error = %e, "cannot start the forker thread");
        }
        Mutex::new(tx)
    });
    let (reply, answer) = mpsc::sync_channel(1);
    lock(forker)
        .send((cmd, reply))
        .map_err(|_| io::Error::other("the forker thread is not running"))?;
    answer
        .recv()
        .map_err(|_| io::Error::other("the forker thread is not running"))?
}

/// `pidfd_open(2)`: a file descriptor that refers to exactly this process,
/// immune to pid reuse.
fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1;
    // it touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a fresh descriptor that nothing else
    // owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `waitid(P_PIDFD, fd, WEXITED | extra)`: the exit status if the process
/// was reaped now, `None` if `WNOHANG` was given and it still runs.
fn waitid_pidfd(fd: RawFd, extra: libc::c_int) -> io::Result<Option<ExitInfo>> {
    loop {
        // SAFETY: an all-zero siginfo_t is a valid value (plain data).
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable siginfo_t for the call's
        // duration; the fd is open (owned by the caller).
        let r = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                fd as libc::id_t,
                &mut info,
                libc::WEXITED | extra,
            )
        };
        if r != 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        // SAFETY: waitid filled `info` for a child (SIGCHLD layout), or
        // left it zeroed under WNOHANG; si_pid/si_status read that layout.
        let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
        if pid == 0 {
            return Ok(None);
        }
        return Ok(Some(match info.si_code {
            libc::CLD_EXITED => ExitInfo::Code(status),
            _ => ExitInfo::Signal(status),
        }));
    }
}

/// One child process and the one place it is reaped. Shared by the task
/// that waits for the child and by [`ChildControl`] (signals, the
/// synchronous kill of a dropped nursery): whoever reaps first records the
/// status under the lock, the other reads it. Signals go to the child's
/// process group only while the leader is unreaped, so its pgid cannot
/// have been reused.
#[derive(Debug)]
pub(super) struct Reaper {
    pid: u32,
    fd: OwnedFd,
    status: Mutex<Option<ExitInfo>>,
}

/// Every child process of this process that may still run (from any
/// actor in it), for [`kill_all_children`].
static LIVE: Mutex<Vec<std::sync::Weak<Reaper>>> = Mutex::new(Vec::new());

/// SIGKILLs the process group of every child actor process this process
/// started and has not reaped (their own children follow through
/// `PR_SET_PDEATHSIG`). The last resort of a root whose teardown was
/// interrupted again. Returns how many groups were signalled.
pub fn kill_all_children() -> usize {
    let live: Vec<Arc<Reaper>> = {
        let mut all = lock(&LIVE);
        all.retain(|w| w.strong_count() > 0);
        all.iter().filter_map(std::sync::Weak::upgrade).collect()
    };
    live.iter()
        .filter(|r| lock(&r.status).is_none() && r.kill())
        .count()
}

/// Sends `sig` to each child actor process this process started, has
/// not reaped, and whose pid is in `only` (the children known to be
/// ready for it). Returns the pids signalled.
pub fn signal_children(sig: Signal, only: &[u32]) -> Vec<u32> {
    let live: Vec<Arc<Reaper>> = {
        let mut all = lock(&LIVE);
        all.retain(|w| w.strong_count() > 0);
        all.iter().filter_map(std::sync::Weak::upgrade).collect()
    };
    live.iter()
        .filter(|r| lock(&r.status).is_none() && only.contains(&r.pid))
        .filter(|r| nix::sys::signal::kill(Pid::from_raw(r.pid as i32), sig).is_ok())
        .map(|r| r.pid)
        .collect()
}

impl Reaper {
    fn open(pid: u32) -> io::Result<Arc<Reaper>> {
        let r = Arc::new(Reaper {
            pid,
            fd: pidfd_open(pid)?,
            status: Mutex::new(None),
        });
        let mut all = lock(&LIVE);
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&r));
        Ok(r)
    }

    /// Reaps the child if it has exited (`block`: waits until it has).
    /// Returns its status, also on later calls.
    fn reap(&self, block: bool) -> io::Result<Option<ExitInfo>> {
        let mut st = lock(&self.status);
        if let Some(s) = &*st {
            return Ok(Some(s.clone()));
        }
        let got = waitid_pidfd(self.fd.as_raw_fd(), if block { 0 } else { libc::WNOHANG })?;
        if let Some(s) = &got {
            *st = Some(s.clone());
        }
        Ok(got)
    }

    /// The recorded status when reaping failed (the pid is not our child:
    /// another reaper in the process took it).
    fn record_failure(&self, e: &io::Error) -> ExitInfo {
        let mut st = lock(&self.status);
        st.get_or_insert_with(|| ExitInfo::Thread(Err(format!("waitid failed: {e}"))))
            .clone()
    }

    /// Waits for the child without blocking the runtime (a pidfd is
    /// readable once its process exits), then reaps it.
    async fn wait(self: Arc<Self>) -> ExitInfo {
        // SAFETY: the fd is owned by `self`, which this future holds (an
        // `Arc`) for longer than `afd` lives; it is never closed or
        // replaced meanwhile.
        let registered = unsafe {
            AsyncFd::register_with_interest(self.fd.as_raw_fd(), tokio::io::Interest::READABLE)
        };
        let afd = match registered {
            Ok(a) => a,
            Err(e) => {
                let e = io::Error::other(e.to_string());
                // No reactor registration: wait on a blocking thread.
                let me = self.clone();
                return match tokio::task::spawn_blocking(move || me.reap(true)).await {
                    Ok(Ok(Some(s))) => s,
                    Ok(Ok(None)) => self.record_failure(&io::Error::other("no status")),
                    Ok(Err(e2)) => self.record_failure(&e2),
                    Err(_) => self.record_failure(&e),
                };
            }
        };
        loop {
            match self.reap(false) {
                Ok(Some(s)) => return s,
                Ok(None) => {}
                Err(e) => return self.record_failure(&e),
            }
            match afd.readable().await {
                Ok(mut guard) => guard.clear_ready(),
                Err(e) => return self.record_failure(&e),
            }
        }
    }

    /// Sends `sig` to the child's process group, unless it is reaped.
    /// True if the child is gone or the signal was delivered.
    fn signal_group(&self, sig: Signal) -> bool {
        let st = lock(&self.status);
        if st.is_some() {
            return true;
        }
        // The leader is unreaped while we hold the lock (only `reap`
        // reaps, under the same lock), so the pgid is still its own.
        killpg(Pid::from_raw(self.pid as i32), sig).is_ok()
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        // Nobody waits any more (the runtime shut down under the waiting
        // task): reap the child if it is already gone, so no zombie stays.
        let _ = self.reap(false);
    }
}

impl ChildControl for Reaper {
    fn pid(&self) -> Option<u32> {
        Some(self.pid)
    }
    fn terminate(&self) -> bool {
        self.signal_group(Signal::SIGTERM)
    }
    fn kill(&self) -> bool {
        self.signal_group(Signal::SIGKILL)
    }
    fn kill_and_reap(&self) -> bool {
        if !self.kill() {
            return false;
        }
        // SIGKILL cannot be ignored, so this wait is short.
        if let Err(e) = self.reap(true) {
            self.record_failure(&e);
        }
        true
    }
    fn mark_exited(&self) {
        // The reaper records the exit itself; nothing to do.
    }
}

#[derive(Debug)]
pub(super) struct ProcChild {
    reaper: Arc<Reaper>,
}

impl ProcChild {
    /// Spawns `cmd` (from the forker thread) and wraps the process.
    pub(super) fn spawn(cmd: Command, name: &str) -> Result<Box<dyn ChildActor>, Error> {
        let program = cmd.get_program().to_string_lossy().into_owned();
        let child = spawn_command(cmd).map_err(|e| Error::Spawn {
            name: name.to_owned(),
            reason: format!("cannot execute {program}: {e}"),
        })?;
        // Nobody reaps the child before its pidfd is open: std's `Child`
        // does not reap on drop and no one else waits for this pid.
        let reaper = match Reaper::open(child.id()) {
            Ok(r) => r,
            Err(e) => {
                let pid = Pid::from_raw(child.id() as i32);
                let _ = killpg(pid, Signal::SIGKILL);
                let _ = nix::sys::wait::waitpid(pid, None);
                return Err(Error::Spawn {
                    name: name.to_owned(),
                    reason: format!("cannot open a pidfd for it (Linux 5.4 or later needed): {e}"),
                });
            }
        };
        Ok(Box::new(ProcChild { reaper }))
    }
}

/// Asks the kernel to SIGKILL the child when the forking thread's process
/// dies (children are forked by the forker thread, see [`spawn_command`]),
/// and closes the race with a parent that died before the request.
pub(super) fn arm_parent_death_signal(cmd: &mut Command) {
    let parent_pid = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec and only
    // calls async-signal-safe functions (prctl, getppid, _exit).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent_pid {
                // The parent died before PDEATHSIG was armed.
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

impl ChildActor for ProcChild {
    fn control(&self) -> Arc<dyn ChildControl> {
        self.reaper.clone()
    }

    fn wait(self: Box<Self>) -> Pin<Box<dyn Future<Output = ExitInfo> + Send>> {
        Box::pin(self.reaper.wait())
    }
}

impl SpawnBackend for ProcessBackend {
    fn name(&self) -> &'static str {
        "process"
    }

    fn spawn(&self, req: SpawnRequest) -> Result<Box<dyn ChildActor>, Error> {
        let exe = std::env::current_exe().map_err(|e| Error::Spawn {
            name: req.uid.name.clone(),
            reason: format!("cannot find our own executable: {e}"),
        })?;
        let (k, v) = req.rtv.dump();
        let mut cmd = Command::new(&exe);
        cmd.args(&req.rtv.child_args)
            .env(k, v)
            .stdin(Stdio::null())
            .process_group(0);
        match &req.rtv.child_log_dir {
            None => {
                cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
            }
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join(format!("{}.log", req.uid.name)))?;
                cmd.stdout(f.try_clone()?).stderr(f);
            }
        }
        arm_parent_death_signal(&mut cmd);
        ProcChild::spawn(cmd, &req.uid.name)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::time::{Duration, Instant};

    use super::*;

    fn shell(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .process_group(0);
        cmd
    }

    #[test]
    fn a_child_is_reaped_once_and_its_status_reaches_the_waiter() {
        let child = spawn_command(shell("read line")).expect("sh starts");
        let reaper = Reaper::open(child.id()).expect("pidfd");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let waiting = tokio::spawn(reaper.clone().wait());
            // Let the waiter register on the pidfd before the kill.
            tokio::task::yield_now().await;
            // A dropped nursery's path: kill and reap synchronously while
            // the waiting task still holds the child.
            assert!(reaper.kill_and_reap());
            let signalled = ExitInfo::Signal(libc::SIGKILL);
            assert_eq!(
                tokio::time::timeout(Duration::from_secs(10), waiting)
                    .await
                    .expect("the waiter is woken")
                    .unwrap(),
                signalled,
                "the waiter gets the real status, not a failed second reap"
            );
            assert_eq!(reaper.reap(false).unwrap(), Some(signalled));
            // Signals after the reap never reach a (reused) pid.
            assert!(reaper.terminate());
        });
        drop(child);
    }

    #[test]
    fn a_child_survives_the_exit_of_the_thread_that_asked_for_it() {
        // Spawned from a short-lived thread: PR_SET_PDEATHSIG would kill
        // the child when that thread exits, unless the fork happened on
        // the long-lived forker thread.
        let (child, tid) = std::thread::spawn(|| {
            let mut cmd = shell("read line; echo alive; read line");
            arm_parent_death_signal(&mut cmd);
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::gettid() };
            (spawn_command(cmd).expect("sh starts"), tid)
        })
        .join()
        .unwrap();
        // The thread is fully gone (and any death signal sent) once its
        // /proc entry is.
        let task = format!("/proc/self/task/{tid}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::path::Path::new(&task).exists() {
            assert!(Instant::now() < deadline, "thread {tid} did not go away");
            std::thread::yield_now();
        }
        let mut child = child;
        let mut stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        // A killed child never reads this; a live one answers.
        let _ = stdin.write_all(b"go\n");
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "alive", "the child died with the thread");
        drop(stdin);
        child.wait().unwrap();
    }
}
