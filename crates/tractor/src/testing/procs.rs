//! `/proc` helpers: who descends from a process, what each is doing, and
//! whether anything (a process, a zombie, a socket file) was left behind.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

/// One process as `/proc/PID/stat` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcInfo {
    /// Its pid.
    pub pid: u32,
    /// Its parent's pid.
    pub ppid: u32,
    /// The kernel's short name (our actors set it to their name).
    pub comm: String,
    /// State letter (R, S, D, Z, ...).
    pub state: char,
}

/// Reads `/proc/PID/stat`.
pub fn proc_info(pid: u32) -> Option<ProcInfo> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let comm = s[open + 1..close].to_owned();
    let mut rest = s[close + 2..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some(ProcInfo {
        pid,
        ppid,
        comm,
        state,
    })
}

fn all_procs() -> Vec<ProcInfo> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(proc_info)
        .collect()
}

/// Every live process (zombies included) descending from `root`.
pub fn descendants(root: u32) -> Vec<ProcInfo> {
    let procs = all_procs();
    let mut kids: HashMap<u32, Vec<&ProcInfo>> = HashMap::new();
    for p in &procs {
        kids.entry(p.ppid).or_default().push(p);
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        for k in kids.get(&pid).into_iter().flatten() {
            out.push((*k).clone());
            stack.push(k.pid);
        }
    }
    out
}

/// Socket files left in `dir`.
pub fn socket_files(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_socket()).unwrap_or(false))
        .map(|e| e.path().display().to_string())
        .collect()
}

/// Waits up to `limit` for `root` to have no descendants and `bind_dir` no
/// socket files; `None` when clean, else a report of what is left.
pub fn leak_report(root: u32, bind_dir: &Path, limit: Duration) -> Option<String> {
    let start = Instant::now();
    loop {
        let procs = descendants(root);
        let socks = socket_files(bind_dir);
        if procs.is_empty() && socks.is_empty() {
            return None;
        }
        if start.elapsed() >= limit {
            let mut r = String::new();
            for p in &procs {
                let _ = writeln!(r, "  process {} ({}) state {}", p.pid, p.comm, p.state);
            }
            for s in &socks {
                let _ = writeln!(r, "  socket file {s}");
            }
            kill_descendants(root);
            return Some(r);
        }
        // Polling /proc is the only way to observe another process's exit
        // that we are not the parent of; the interval only bounds latency.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits up to `limit` until none of `pids` is alive (zombies count as
/// gone); returns those still alive.
pub fn wait_all_gone(pids: &[u32], limit: Duration) -> Vec<u32> {
    let alive = |pid: &u32| proc_info(*pid).is_some_and(|i| i.state != 'Z');
    let start = Instant::now();
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(alive).collect();
        if left.is_empty() || start.elapsed() >= limit {
            return left;
        }
        // No event exists for "a process that is not our child exited".
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A report of every descendant of `root`: name, pid, state, and (when
/// `gdb` is installed) a backtrace of every thread.
pub fn diagnose_tree(root: u32) -> String {
    let mut r = String::new();
    let me = proc_info(root);
    let mut all: Vec<ProcInfo> = me.into_iter().collect();
    all.extend(descendants(root));
    let gdb = which("gdb");
    for p in &all {
        let _ = writeln!(
            r,
            "== {} pid {} (parent {}) state {}",
            p.comm, p.pid, p.ppid, p.state
        );
        if let Ok(rv) = crate::RuntimeVars::get(p.pid)
            && let Some(rv) = rv
            && let Some(s) = rv.spawn
        {
            let _ = writeln!(r, "   actor {:?} uuid {}", s.uid.0, s.uid.1);
        }
        if p.pid != root
            && let Some(gdb) = &gdb
        {
            let out = std::process::Command::new(gdb)
                .args([
                    "-batch",
                    "-p",
                    &p.pid.to_string(),
                    "-ex",
                    "thread apply all bt",
                ])
                .output();
            if let Ok(o) = out {
                for line in String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter(|l| l.starts_with('#') || l.starts_with("Thread"))
                {
                    let _ = writeln!(r, "   {line}");
                }
            }
        }
    }
    r
}

fn which(bin: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.is_file())
}

/// SIGKILLs every descendant of `root` (deepest first) and reaps our own
/// children.
pub fn kill_descendants(root: u32) {
    let mut d = descendants(root);
    d.reverse();
    for p in &d {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p.pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    for p in d.iter().filter(|p| p.ppid == root) {
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(p.pid as i32), None);
    }
}
