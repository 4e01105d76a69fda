//! Launching, watching and stopping processes: the one module a resident
//! supervisor would take over.
//!
//! Every service runs in its own session and process group, stdin null,
//! output appended to its log. A process is identified by pid *and* start
//! time (`/proc/PID/stat` field 22), so a recycled pid is never mistaken
//! for ours; listener truth comes from `/proc/net/tcp{,6}` and
//! `/proc/PID/fd` socket inodes, not `lsof`.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// A launched process's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ident {
    /// Its pid (= its process group and session id).
    pub pid: u32,
    /// Clock ticks since boot when it started.
    pub start_time: u64,
}

/// Starts `argv` in `cwd` with extra `env`, in a new session, output
/// appended to `log`.
pub fn launch(
    argv: &[String],
    cwd: &Path,
    env: &[(String, String)],
    log: &Path,
) -> std::io::Result<Ident> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty command"))?;
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    // SAFETY: setsid is async-signal-safe; the closure touches nothing else.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot run {prog:?} in {}: {e}", cwd.display()),
        )
    })?;
    let pid = child.id();
    // We do not wait for it: it outlives this command, by design. The
    // `Child` handle is dropped without killing it.
    drop(child);
    Ok(Ident {
        pid,
        start_time: start_time(pid).unwrap_or(0),
    })
}

/// `/proc/PID/stat`: (state, start time).
fn stat(pid: u32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f.first()?.chars().next()?, f.get(19)?.parse().ok()?))
}

/// The start time of `pid`.
pub fn start_time(pid: u32) -> Option<u64> {
    stat(pid).map(|s| s.1)
}

/// True if the process is still the one we started and not a zombie.
pub fn alive(id: &Ident) -> bool {
    matches!(stat(id.pid), Some((state, st)) if state != 'Z' && (id.start_time == 0 || st == id.start_time))
}

/// Pids of every live process in the group `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = s[s.rfind(')')? + 2..].to_owned();
                    let f: Vec<&str> = rest.split_whitespace().collect();
                    Some(f.first()? != &"Z" && f.get(2)?.parse::<u32>().ok()? == pgid)
                })
                .unwrap_or(false)
        })
        .collect()
}

/// Socket inodes listening on TCP `port` (IPv4 and IPv6).
fn listen_inodes(port: u16) -> Vec<u64> {
    let mut out = Vec::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 || cols[3] != "0A" {
                continue;
            }
            let Some(p) = cols[1]
                .rsplit(':')
                .next()
                .and_then(|h| u16::from_str_radix(h, 16).ok())
            else {
                continue;
            };
            if p == port
                && let Ok(inode) = cols[9].parse()
            {
                out.push(inode);
            }
        }
    }
    out
}

/// Pids holding a socket that listens on `port`.
pub fn listener_pids(port: u16) -> Vec<u32> {
    let inodes = listen_inodes(port);
    if inodes.is_empty() {
        return Vec::new();
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/fd"))
                .map(|fds| {
                    fds.flatten().any(|fd| {
                        std::fs::read_link(fd.path())
                            .map(|l| wanted.iter().any(|w| l.as_os_str() == w.as_str()))
                            .unwrap_or(false)
                    })
                })
                .unwrap_or(false)
        })
        .collect()
}

/// True if something listens on `port`.
pub fn port_has_listener(port: u16) -> bool {
    !listen_inodes(port).is_empty()
}

/// True if the process group of `id` (the service or a child of it) owns
/// the listener on `port`.
pub fn owns_listener(id: &Ident, port: u16) -> bool {
    let members = group_members(id.pid);
    listener_pids(port).iter().any(|p| members.contains(p))
}

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

fn wait_gone(pgid: u32, limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        reap(pgid);
        if group_members(pgid).is_empty() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        // Nothing notifies us of another session's exit; poll /proc.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reaps `pid` if it is our child (a no-op otherwise).
fn reap(pid: u32) {
    let _ = nix::sys::wait::waitpid(
        Pid::from_raw(pid as i32),
        Some(nix::sys::wait::WaitPidFlag::WNOHANG),
    );
}

/// Stops the whole group of `id`: SIGTERM, `grace`, then SIGKILL — only if
/// the leader is still the process we started.
pub fn stop_group(id: &Ident, grace: Duration) -> Stopped {
    if !alive(id) && group_members(id.pid).is_empty() {
        return Stopped::AlreadyGone;
    }
    if alive(id) || !group_members(id.pid).is_empty() {
        let _ = killpg(Pid::from_raw(id.pid as i32), Signal::SIGTERM);
    }
    if wait_gone(id.pid, grace) {
        return Stopped::Terminated;
    }
    let _ = killpg(Pid::from_raw(id.pid as i32), Signal::SIGKILL);
    if wait_gone(id.pid, Duration::from_secs(2)) {
        Stopped::Killed
    } else {
        Stopped::Failed
    }
}

/// Sends SIGKILL to one pid (blast).
pub fn kill_pid(pid: u32) {
    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
    reap(pid);
}

/// `GET url` over HTTP/1.0; the status code, or `None` if unreachable.
pub fn http_status(url: &str, timeout: Duration) -> Option<u16> {
    let rest = url.strip_prefix("http://")?;
    let (hostport, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let (host, port) = hostport
        .rsplit_once(':')
        .map(|(h, p)| (h, p.parse().ok()))
        .unwrap_or((hostport, Some(80)));
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    let addr: std::net::SocketAddr = format!("{host}:{}", port?).parse().ok()?;
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {hostport}\r\n\r\n").ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    let line = String::from_utf8_lossy(&buf[..n]);
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Set by Ctrl-C: waits give up at once.
pub static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True once Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Waits up to `limit` for `cond`, checking every 50 ms (and giving up on
/// Ctrl-C).
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() >= limit || interrupted() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
