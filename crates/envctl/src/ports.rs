//! Ports that never collide: the project-slot plan, one JSON lock file per
//! reserved port, and upward rebinding on conflict (contract §4.1).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

/// Span of the slot rule: the smallest gap between the distinct default
/// bases {5432, 5678, 6379, 8000, 9000}.
pub const SLOT_SPAN: u32 = 246;

/// The slot of a project: 0 for main, else
/// `int(sha1("<scope-id>:<project>")[:8], 16) % 246`.
pub fn slot(scope_id: &str, project: &str, is_main: bool) -> u32 {
    if is_main {
        return 0;
    }
    let d = Sha1::digest(format!("{scope_id}:{}", project.trim().to_lowercase()).as_bytes());
    let hex: String = d.iter().take(4).map(|b| format!("{b:02x}")).collect();
    u32::from_str_radix(&hex, 16).unwrap_or(0) % SLOT_SPAN
}

/// How a port was chosen (`PortPlan` of the contract).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PortPlan {
    /// The project.
    pub project: String,
    /// base + slot.
    pub requested: u16,
    /// What was reserved first.
    pub assigned: u16,
    /// What the service got.
    pub final_port: u16,
    /// `planner`, `retry`, `restart`.
    pub source: String,
    /// How many times it moved.
    pub retries: u32,
}

/// A port lock's contents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PortLock {
    /// `<project>:<service>`.
    pub owner: String,
    /// The run that holds it.
    pub session: String,
    /// The owning service's pid (0 until it runs).
    pub pid: u32,
    /// When (epoch seconds).
    pub created_at: u64,
}

/// The lock folder of a scope.
pub fn locks_dir(scope: &Path) -> PathBuf {
    scope.join("locks")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// True if nothing listens on 127.0.0.1:`port` and we can bind it.
pub fn is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

fn read_lock(path: &Path) -> Option<PortLock> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// True if `pid` runs (a zombie is dead: it only waits to be reaped).
fn pid_alive(pid: u32) -> bool {
    pid != 0 && crate::procs::table::stat(pid).is_some_and(|p| p.live())
}

/// Reserves the first port from `from` upward that has no live lock and
/// is free; writes its lock atomically (create-new). A lock whose pid is
/// dead is stale and reclaimed when its port is free.
pub fn reserve_next(scope: &Path, from: u16, owner: &str, session: &str) -> std::io::Result<u16> {
    let dir = locks_dir(scope);
    std::fs::create_dir_all(&dir)?;
    for port in from..=65000 {
        let path = dir.join(format!("{port}.lock"));
        if let Some(l) = read_lock(&path) {
            let mine = l.owner == owner && l.session == session;
            let stale = l.pid != 0 && !pid_alive(l.pid);
            if !(mine || stale) || !is_free(port) {
                continue;
            }
            let _ = std::fs::remove_file(&path);
        }
        if !is_free(port) {
            continue;
        }
        let lock = PortLock {
            owner: owner.to_owned(),
            session: session.to_owned(),
            pid: 0,
            created_at: now(),
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(serde_json::to_string(&lock)?.as_bytes())?;
                return Ok(port);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!(
        "no free port at or above {from}"
    )))
}

/// Records the owning service's pid in its port lock.
pub fn set_lock_pid(scope: &Path, port: u16, pid: u32) {
    let path = locks_dir(scope).join(format!("{port}.lock"));
    if let Some(mut l) = read_lock(&path) {
        l.pid = pid;
        if let Ok(text) = serde_json::to_string(&l) {
            let tmp = path.with_extension("tmp");
            if std::fs::write(&tmp, text).is_ok() {
                let _ = std::fs::rename(tmp, &path);
            }
        }
    }
}

/// Releases a port lock.
pub fn release(scope: &Path, port: u16) {
    let _ = std::fs::remove_file(locks_dir(scope).join(format!("{port}.lock")));
}

/// Every lock of the scope: (port, lock, stale).
pub fn inventory(scope: &Path) -> Vec<(u16, PortLock, bool)> {
    let Ok(rd) = std::fs::read_dir(locks_dir(scope)) else {
        return Vec::new();
    };
    let mut out: Vec<(u16, PortLock, bool)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let port: u16 = name.strip_suffix(".lock")?.parse().ok()?;
            let l = read_lock(&e.path())?;
            let stale = l.pid != 0 && !pid_alive(l.pid);
            Some((port, l, stale))
        })
        .collect();
    out.sort_by_key(|x| x.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_rule_is_stable_and_main_is_zero() {
        assert_eq!(slot("repo-abc", "main", true), 0);
        let a = slot("repo-abc", "feat-a-1", false);
        assert_eq!(a, slot("repo-abc", "FEAT-A-1", false), "normalised");
        assert!(a < SLOT_SPAN);
        // sha1("repo-abc:feat-a-1")[:8] computed independently:
        let d = Sha1::digest(b"repo-abc:feat-a-1");
        let want = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % SLOT_SPAN;
        assert_eq!(a, want);
    }

    #[test]
    fn a_busy_port_is_skipped_and_locks_are_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let busy = held.local_addr().unwrap().port();
        let got = reserve_next(dir.path(), busy, "p:backend", "run-1").unwrap();
        assert!(got > busy, "rebinds upward");
        let other = reserve_next(dir.path(), got, "q:backend", "run-1").unwrap();
        assert_ne!(other, got, "a live lock is not shared");
        release(dir.path(), got);
        assert!(!locks_dir(dir.path()).join(format!("{got}.lock")).exists());
    }
}
