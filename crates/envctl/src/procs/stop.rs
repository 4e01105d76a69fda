//! Stopping what we started: the whole process group (even when its
//! leader already died), then every straggler still carrying the
//! service's marker (a worker that left the group).

use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use super::{Ident, alive, carrying, group_members, marker_of};

/// How a stop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It was already gone.
    AlreadyGone,
    /// It exited on SIGTERM.
    Terminated,
    /// It needed SIGKILL.
    Killed,
    /// It is still there (termination failed).
    Failed,
}

/// Reaps `pid` if it is our child (a no-op otherwise).
fn reap(pid: u32) {
    let _ = nix::sys::wait::waitpid(
        Pid::from_raw(pid as i32),
        Some(nix::sys::wait::WaitPidFlag::WNOHANG),
    );
}

fn pid(p: u32) -> Pid {
    Pid::from_raw(p as i32)
}

/// Waits up to `limit` until every one of `pids` has exited (their
/// pidfds wake us, whoever their parent is), then reaps those that are
/// our children.
fn all_gone(pids: &[u32], limit: Duration) -> bool {
    let gone = super::wait::all_exited_within(pids, limit);
    for p in pids {
        reap(*p);
    }
    gone
}

/// The members of `id`'s group, if the group is provably ours: its leader
/// is the process we started, or a member carries our `marker` (a pgid is
/// not reused while its group has members, but once empty a stranger
/// could lead a group of the same number).
fn our_group(id: &Ident, marker: Option<&str>) -> Vec<u32> {
    let members = group_members(id.pid);
    if members.is_empty() {
        return members;
    }
    let ours = alive(id)
        || marker.is_some_and(|m| members.iter().any(|p| marker_of(*p).as_deref() == Some(m)));
    if ours { members } else { Vec::new() }
}

/// Stops the whole group of `id`: SIGTERM, `grace`, then SIGKILL. Only a
/// group that is provably ours is signalled (see [`stop_owned`]).
pub fn stop_group(id: &Ident, grace: Duration) -> Stopped {
    stop_owned(id, None, grace)
}

/// Stops a service: its group (even when the leader is dead, if a member
/// carries `marker`), then every process still carrying exactly `marker`.
pub fn stop_owned(id: &Ident, marker: Option<&str>, grace: Duration) -> Stopped {
    let stragglers = || -> Vec<u32> {
        marker
            .map(|m| carrying(m, true).into_iter().map(|(p, _)| p).collect())
            .unwrap_or_default()
    };
    let group = our_group(id, marker);
    let mut targets: Vec<u32> = group.clone();
    for p in stragglers() {
        if !targets.contains(&p) {
            targets.push(p);
        }
    }
    if targets.is_empty() {
        reap(id.pid);
        return Stopped::AlreadyGone;
    }
    if !group.is_empty() {
        let _ = killpg(pid(id.pid), Signal::SIGTERM);
    }
    for p in &targets {
        if !group.contains(p) {
            let _ = kill(pid(*p), Signal::SIGTERM);
        }
    }
    if all_gone(&targets, grace) {
        return Stopped::Terminated;
    }
    if !our_group(id, marker).is_empty() {
        let _ = killpg(pid(id.pid), Signal::SIGKILL);
    }
    for p in &targets {
        // Only the very processes we saw carrying the marker (same pid, and
        // checked again now: a pid reused in 2 s would not carry it).
        if marker.is_some() && marker_of(*p).as_deref() == marker {
            let _ = kill(pid(*p), Signal::SIGKILL);
        }
    }
    if all_gone(&targets, Duration::from_secs(2)) {
        Stopped::Killed
    } else {
        Stopped::Failed
    }
}

/// Sends SIGKILL to one pid now and reaps it if it is our child.
pub fn kill_now(p: u32) {
    let _ = kill(pid(p), Signal::SIGKILL);
    reap(p);
}
