//! Spawn backends: how a new actor comes into being.
//!
//! A backend starts an actor somewhere (a process, a thread) with a child
//! envelope ([`crate::RuntimeVars`] carrying its uid and its parent's
//! address); the actor then dials its parent, and the rest (Aid exchange,
//! `SpawnSpec`, serving) is the same protocol for every backend. A backend
//! that runs the actor in this process ([`SpawnBackend::in_process`]) is
//! handed a connected socket instead ([`ChildLink`]): no dial, no accept,
//! and the parent's `Aid` and `SpawnSpec` are already queued on it when
//! the actor starts. Each backend is one file behind [`SpawnBackend`];
//! adding one touches this folder only.

mod pool;
mod process;
mod python;
pub mod reap;
mod thread;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub(crate) use pool::take_warm_runtime;
pub use process::{ProcessBackend, kill_all_children, signal_children};
pub use python::PythonBackend;
pub use thread::ThreadBackend;

use crate::errors::Error;
pub use crate::ipc::ChildLink;
use crate::msg::Uid;
pub use crate::runtime::hooks::ChildEntry;
use crate::runtime::state::{RuntimeVars, SpawnMethod};

/// What to start.
#[derive(Debug)]
pub struct SpawnRequest {
    /// The new actor's identity.
    pub uid: Uid,
    /// Its envelope (with `spawn` set).
    pub rtv: RuntimeVars,
    /// What a backend that runs the actor in this process (the thread
    /// backend) calls on the new thread; process backends run a program
    /// whose `main` does the same.
    pub entry: ChildEntry,
    /// The actor's end of its connection to the parent, for a backend
    /// that says it is [`SpawnBackend::in_process`] (`None` otherwise:
    /// the actor dials the parent's address).
    pub link: Option<ChildLink>,
}

/// How an actor ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitInfo {
    /// Exited with a status code.
    Code(i32),
    /// Killed by a signal.
    Signal(i32),
    /// A thread actor finished (or was abandoned, with the reason).
    Thread(Result<(), String>),
}

impl ExitInfo {
    /// True for a clean exit.
    pub fn success(&self) -> bool {
        matches!(self, ExitInfo::Code(0) | ExitInfo::Thread(Ok(())))
    }
}

impl fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitInfo::Code(c) => write!(f, "exit code {c}"),
            ExitInfo::Signal(s) => {
                let name = nix::sys::signal::Signal::try_from(*s)
                    .map(|s| s.as_str())
                    .unwrap_or("unknown signal");
                write!(f, "killed by {name}")
            }
            ExitInfo::Thread(Ok(())) => write!(f, "thread finished"),
            ExitInfo::Thread(Err(e)) => write!(f, "thread failed: {e}"),
        }
    }
}

/// Forceful stops for a started actor, usable while another task waits
/// for it to exit.
pub trait ChildControl: Send + Sync + fmt::Debug {
    /// The OS pid, for process actors.
    fn pid(&self) -> Option<u32>;
    /// First escalation (SIGTERM to the process group). Returns false if
    /// the backend cannot do this.
    fn terminate(&self) -> bool;
    /// Last escalation (SIGKILL to the process group). Returns false if
    /// the backend cannot do this (a thread cannot be killed).
    fn kill(&self) -> bool;
    /// SIGKILL and reap synchronously (a dropped nursery's last resort),
    /// without racing the task that waits for the child: the child is
    /// reaped exactly once. Returns false if the backend cannot kill.
    fn kill_and_reap(&self) -> bool {
        self.kill()
    }
    /// Called once the actor is known to have exited (no more signals).
    fn mark_exited(&self);
}

/// A started actor.
pub trait ChildActor: Send + fmt::Debug {
    /// A handle for stopping it.
    fn control(&self) -> Arc<dyn ChildControl>;
    /// Resolves when it has exited (and reaps it).
    fn wait(self: Box<Self>) -> Pin<Box<dyn Future<Output = ExitInfo> + Send>>;
}

/// A way of starting actors.
pub trait SpawnBackend: Send + Sync + fmt::Debug {
    /// The backend's name.
    fn name(&self) -> &'static str;
    /// Starts the actor described by `req`.
    fn spawn(&self, req: SpawnRequest) -> Result<Box<dyn ChildActor>, Error>;

    /// True if the actor runs in this process and takes
    /// [`SpawnRequest::link`] (handed to [`ChildEntry`]) as its connection
    /// to the parent. A backend saying so must hand the link to the
    /// actor, or drop it if the actor cannot start (the parent then sees
    /// the connection close).
    fn in_process(&self) -> bool {
        false
    }

    /// `SpawnSpec.enable_modules` for these namespaces: (module, source
    /// path). Our own children only need the names.
    fn enable_modules(&self, enable: &[&str]) -> Vec<(String, String)> {
        enable
            .iter()
            .map(|ns| (ns.to_string(), String::new()))
            .collect()
    }
}

/// The backend for a spawn method.
pub fn backend_for(method: SpawnMethod) -> Arc<dyn SpawnBackend> {
    match method {
        SpawnMethod::Process => Arc::new(ProcessBackend),
        SpawnMethod::Thread => Arc::new(ThreadBackend),
    }
}
