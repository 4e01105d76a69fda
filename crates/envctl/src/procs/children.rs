//! Reaping what this process launched. In the CLI nothing needs it (a
//! launched service outlives the command and is reparented); in the
//! daemon, which is the real parent of every service it starts, an exited
//! child stays a zombie until it is waited for. Only the pids launched
//! here are waited for (never `waitpid(-1)`, which would steal the exit
//! status of a helper command another thread waits on), and an exit code
//! collected by a sweep is kept for the supervisor that asks for it.

use std::collections::HashMap;
use std::sync::Mutex;

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};

/// Launched and not reaped yet: pid → its exit (`Some(code)` once reaped
/// by a sweep, `None` while running).
static LAUNCHED: Mutex<Option<HashMap<u32, Option<Option<i32>>>>> = Mutex::new(None);

fn table<T>(f: impl FnOnce(&mut HashMap<u32, Option<Option<i32>>>) -> T) -> T {
    let mut g = LAUNCHED.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(HashMap::new))
}

/// Remembers a child this process launched.
pub fn launched(pid: u32) {
    table(|t| t.insert(pid, None));
}

/// `Some(exit)` if `pid` has exited and was reaped now (the exit code, or
/// `None` for a signal); `None` while it runs or if it is not our child.
fn try_reap(pid: u32) -> Option<Option<i32>> {
    match waitpid(
        nix::unistd::Pid::from_raw(pid as i32),
        Some(WaitPidFlag::WNOHANG),
    ) {
        Ok(WaitStatus::Exited(_, code)) => Some(Some(code)),
        Ok(WaitStatus::Signaled(..)) => Some(None),
        Ok(_) => None,
        // Not our child (adopted after a daemon restart) or already reaped.
        Err(_) => Some(None),
    }
}

/// Reaps `pid` if it exited; its exit code (`None` for a signal, a
/// process we did not start, or one still running).
pub fn reap(pid: u32) -> Option<i32> {
    if let Some(Some(exit)) = table(|t| t.get(&pid).copied()) {
        table(|t| t.remove(&pid));
        return exit;
    }
    let exit = try_reap(pid);
    if exit.is_some() {
        table(|t| t.remove(&pid));
    }
    exit.flatten()
}

/// Reaps every launched child that exited (no zombie lingers after a
/// failed or cancelled start, or a stop); exit codes are kept for
/// [`reap`]. Returns how many were reaped now.
pub fn sweep() -> usize {
    let pending: Vec<u32> = table(|t| {
        t.iter()
            .filter(|(_, e)| e.is_none())
            .map(|(p, _)| *p)
            .collect()
    });
    let mut n = 0;
    for pid in pending {
        if let Some(exit) = try_reap(pid) {
            n += 1;
            table(|t| t.insert(pid, Some(exit)));
        }
    }
    // Exit codes nobody asked for within a while are dropped: bounded.
    table(|t| {
        if t.len() > 4096 {
            t.retain(|_, e| e.is_none());
        }
    });
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // The point is that `reap` waits for it, not `Child::wait`.
    #[allow(clippy::zombie_processes)]
    fn a_launched_child_is_reaped_with_its_exit_code() {
        let child = std::process::Command::new("sh")
            .args(["-c", "exit 3"])
            .spawn()
            .unwrap();
        let pid = child.id();
        launched(pid);
        assert!(crate::procs::exited_within(
            pid,
            std::time::Duration::from_secs(30)
        ));
        assert_eq!(sweep(), 1);
        // A zombie no more.
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
        assert_eq!(reap(pid), Some(3));
        assert_eq!(reap(pid), None);
    }
}
