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

use std::future::Future;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::{ChildActor, ChildControl, ExitInfo, SpawnBackend, SpawnRequest};
use crate::errors::Error;

/// Spawns actors as OS processes.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessBackend;

#[derive(Debug)]
struct ProcControl {
    pid: u32,
    exited: AtomicBool,
}

impl ProcControl {
    fn signal(&self, sig: Signal) -> bool {
        if self.exited.load(Ordering::SeqCst) {
            return true;
        }
        killpg(Pid::from_raw(self.pid as i32), sig).is_ok()
    }
}

impl ChildControl for ProcControl {
    fn pid(&self) -> Option<u32> {
        Some(self.pid)
    }
    fn terminate(&self) -> bool {
        self.signal(Signal::SIGTERM)
    }
    fn kill(&self) -> bool {
        self.signal(Signal::SIGKILL)
    }
    fn mark_exited(&self) {
        self.exited.store(true, Ordering::SeqCst);
    }
}

#[derive(Debug)]
pub(super) struct ProcChild {
    child: tokio::process::Child,
    control: Arc<ProcControl>,
}

impl ProcChild {
    /// Wraps a spawned process.
    pub(super) fn boxed(
        child: tokio::process::Child,
        name: &str,
    ) -> Result<Box<dyn ChildActor>, Error> {
        let pid = child.id().ok_or_else(|| Error::Spawn {
            name: name.to_owned(),
            reason: "the process exited immediately".into(),
        })?;
        Ok(Box::new(ProcChild {
            child,
            control: Arc::new(ProcControl {
                pid,
                exited: AtomicBool::new(false),
            }),
        }))
    }
}

/// Asks the kernel to SIGKILL the child when this thread's process dies,
/// and closes the race with a parent that died before the request.
pub(super) fn arm_parent_death_signal(cmd: &mut tokio::process::Command) {
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
        self.control.clone()
    }

    fn wait(self: Box<Self>) -> Pin<Box<dyn Future<Output = ExitInfo> + Send>> {
        let ProcChild { mut child, control } = *self;
        Box::pin(async move {
            let info = match child.wait().await {
                Ok(st) => {
                    use std::os::unix::process::ExitStatusExt;
                    match (st.code(), st.signal()) {
                        (Some(c), _) => ExitInfo::Code(c),
                        (None, Some(s)) => ExitInfo::Signal(s),
                        (None, None) => ExitInfo::Code(-1),
                    }
                }
                Err(e) => ExitInfo::Thread(Err(format!("waitpid failed: {e}"))),
            };
            control.mark_exited();
            info
        })
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
        let mut cmd = tokio::process::Command::new(&exe);
        cmd.args(&req.rtv.child_args)
            .env(k, v)
            .stdin(Stdio::null())
            .process_group(0)
            .kill_on_drop(false);
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
        let child = cmd.spawn().map_err(|e| Error::Spawn {
            name: req.uid.name.clone(),
            reason: format!("cannot execute {}: {e}", exe.display()),
        })?;
        ProcChild::boxed(child, &req.uid.name)
    }
}
