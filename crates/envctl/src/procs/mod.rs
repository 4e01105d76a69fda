//! Launching, watching and stopping processes.
//!
//! Every process envctl starts runs in its own session and process group,
//! with stdin null and output appended to its log, and carries an
//! ownership marker in its environment (`ENVCTL_OWNER=<scope>/<run>/<project>/<service>`,
//! [`Owner`]) that everything it forks inherits. "Ours" means: carries
//! the scope's marker, or is recorded by pid *and* start time ([`Ident`],
//! so a recycled pid is never mistaken for ours). Nothing else is ever
//! signalled — not a process whose working folder is in the repository,
//! not one whose environment mentions its path.
//!
//! Listener truth comes from `/proc/net/tcp{,6}` and each process's socket
//! inodes ([`table`]), not `lsof`.

pub mod children;
mod http;
mod launch;
mod listeners;
mod owner;
pub mod relay;
mod stop;
pub mod table;
mod wait;

pub use http::{HealthProbe, http_status, probe_health};
pub use launch::{Launch, launch};
pub use listeners::{listener_pids, owns_listener, port_has_listener};
pub use owner::{OWNER_VAR, Owner, carrying, marker_of};
pub use stop::{Stopped, kill_now, stop_group, stop_owned};
pub use wait::{INTERRUPTED, exited_within, interrupted, pidfd, wait_until};

/// A launched process's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ident {
    /// Its pid (= its process group and session id).
    pub pid: u32,
    /// Clock ticks since boot when it started.
    pub start_time: u64,
}

/// The start time of `pid`.
pub fn start_time(pid: u32) -> Option<u64> {
    table::stat(pid).map(|s| s.start_time)
}

/// True if the process is still the one we started and not a zombie.
pub fn alive(id: &Ident) -> bool {
    id.pid != 0
        && matches!(table::stat(id.pid), Some(p) if p.live() && (id.start_time == 0 || p.start_time == id.start_time))
}

thread_local! {
    static SNAPSHOT: std::cell::RefCell<Option<Vec<table::Proc>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with one reading of the process table for every
/// [`group_members`] inside it: a status pass over many services reads
/// `/proc` once, not once per service. Only for read-only passes (nothing
/// inside waits for a process to change).
pub fn with_snapshot<T>(f: impl FnOnce() -> T) -> T {
    SNAPSHOT.with(|s| *s.borrow_mut() = Some(table::all()));
    let out = table::with_listen_snapshot(f);
    SNAPSHOT.with(|s| *s.borrow_mut() = None);
    out
}

/// Pids of every live process in the group `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let from = |all: &[table::Proc]| -> Vec<u32> {
        all.iter()
            .filter(|p| p.pgid == pgid)
            .map(|p| p.pid)
            .collect()
    };
    SNAPSHOT
        .with(|s| s.borrow().as_deref().map(from))
        .unwrap_or_else(|| from(&table::all()))
}
