//! The process table, read through the `procfs` crate: the one place envctl
//! looks at other processes (state, parent, group, start time, environment,
//! command line).

use procfs::process::Process;

/// What envctl needs to know of one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    /// Its pid.
    pub pid: u32,
    /// Its parent.
    pub ppid: u32,
    /// Its process group.
    pub pgid: u32,
    /// `R`, `S`, `Z`, …
    pub state: char,
    /// Clock ticks since boot when it started (with the pid, its identity).
    pub start_time: u64,
}

impl Proc {
    /// True unless it is a zombie (exited, not yet reaped) or dead.
    pub fn live(&self) -> bool {
        !matches!(self.state, 'Z' | 'X' | 'x')
    }
}

fn to_proc(p: &Process) -> Option<Proc> {
    let s = p.stat().ok()?;
    Some(Proc {
        pid: u32::try_from(s.pid).ok()?,
        ppid: u32::try_from(s.ppid).ok()?,
        pgid: u32::try_from(s.pgrp).ok()?,
        state: s.state,
        start_time: s.starttime,
    })
}

/// One process, if it exists.
pub fn stat(pid: u32) -> Option<Proc> {
    to_proc(&Process::new(i32::try_from(pid).ok()?).ok()?)
}

/// Every live (non-zombie) process.
pub fn all() -> Vec<Proc> {
    let Ok(it) = procfs::process::all_processes() else {
        return Vec::new();
    };
    it.flatten()
        .filter_map(|p| to_proc(&p))
        .filter(Proc::live)
        .collect()
}

/// The value of `key` in the environment `pid` started with.
pub fn env_var(pid: u32, key: &str) -> Option<String> {
    let p = Process::new(i32::try_from(pid).ok()?).ok()?;
    let env = p.environ().ok()?;
    env.get(std::ffi::OsStr::new(key))
        .map(|v| v.to_string_lossy().into_owned())
}

/// Its command line, joined with spaces (`[name]` for a kernel thread or
/// a process we cannot read).
pub fn cmdline(pid: u32) -> String {
    let Some(p) = i32::try_from(pid).ok().and_then(|p| Process::new(p).ok()) else {
        return format!("[{pid}]");
    };
    match p.cmdline() {
        Ok(v) if !v.is_empty() => v.join(" "),
        _ => p
            .stat()
            .map(|s| format!("[{}]", s.comm))
            .unwrap_or_else(|_| format!("[{pid}]")),
    }
}

/// This process and its ancestors: never to be signalled by us.
pub fn self_and_ancestors() -> Vec<u32> {
    let mut out = vec![std::process::id()];
    let mut cur = std::process::id();
    while let Some(p) = stat(cur) {
        if p.ppid <= 1 || out.contains(&p.ppid) {
            break;
        }
        out.push(p.ppid);
        cur = p.ppid;
    }
    out
}

/// Socket inodes held open by `pid`.
pub fn socket_inodes(pid: u32) -> Vec<u64> {
    let Some(p) = i32::try_from(pid).ok().and_then(|p| Process::new(p).ok()) else {
        return Vec::new();
    };
    let Ok(fds) = p.fd() else {
        return Vec::new();
    };
    fds.flatten()
        .filter_map(|fd| match fd.target {
            procfs::process::FDTarget::Socket(inode) => Some(inode),
            _ => None,
        })
        .collect()
}

/// Every listening TCP socket (IPv4 and IPv6) as (port, inode). The
/// kernel builds these tables on each read (milliseconds on a busy
/// machine), so a pass over many services reads them once.
fn listeners() -> Vec<(u16, u64)> {
    let tables = [procfs::net::tcp(), procfs::net::tcp6()];
    tables
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.state == procfs::net::TcpState::Listen)
        .map(|e| (e.local_address.port(), e.inode))
        .collect()
}

thread_local! {
    static LISTEN_SNAPSHOT: std::cell::RefCell<Option<Vec<(u16, u64)>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with one reading of the listening sockets for every
/// [`listen_inodes`] inside it (see `procs::with_snapshot`).
pub fn with_listen_snapshot<T>(f: impl FnOnce() -> T) -> T {
    LISTEN_SNAPSHOT.with(|s| *s.borrow_mut() = Some(listeners()));
    let out = f();
    LISTEN_SNAPSHOT.with(|s| *s.borrow_mut() = None);
    out
}

/// Socket inodes listening on TCP `port` (IPv4 and IPv6).
pub fn listen_inodes(port: u16) -> Vec<u64> {
    let pick = |all: &[(u16, u64)]| -> Vec<u64> {
        all.iter()
            .filter(|(p, _)| *p == port)
            .map(|(_, i)| *i)
            .collect()
    };
    LISTEN_SNAPSHOT
        .with(|s| s.borrow().as_deref().map(pick))
        .unwrap_or_else(|| pick(&listeners()))
}
