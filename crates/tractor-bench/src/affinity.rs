//! Where the two ends of a measurement run: the two CPU placements every
//! latency and throughput figure is measured in.
//!
//! An unpinned ping-pong on a shared 2-vCPU machine is bimodal (the two
//! processes sometimes share a CPU, sometimes not), which lets a noisy
//! floor hide the runtime's own cost. So both ends are placed with
//! `sched_setaffinity`, every thread of each process, and each figure is
//! only ever compared with a floor placed the same way (see
//! [`crate::report::Figure::ratio`]).

use std::fmt;

/// How the two processes of a measurement are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Both ends on one CPU: every message is a context switch.
    Pinned,
    /// One CPU each: every message is a cross-CPU wake-up.
    Spread,
}

impl Mode {
    /// Both modes, in the order they are measured.
    pub const ALL: [Mode; 2] = [Mode::Pinned, Mode::Spread];

    /// The mode's name in figure names and the JSON document.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Pinned => "pinned",
            Mode::Spread => "spread",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The CPUs this program may use, read once at start-up (before any
/// pinning), so that it can be restored.
#[derive(Debug, Clone, Copy)]
pub struct Cpus {
    original: libc::cpu_set_t,
    first: usize,
    second: Option<usize>,
}

impl Cpus {
    /// Reads this process's allowed CPUs.
    pub fn read() -> std::io::Result<Cpus> {
        // SAFETY: cpu_set_t is plain old data; all zeroes is an empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid, writable cpu_set_t of the size passed.
        let rc = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: CPU_ISSET only reads `set`, with an index below CPU_SETSIZE.
        let mut allowed =
            (0..libc::CPU_SETSIZE as usize).filter(|c| unsafe { libc::CPU_ISSET(*c, &set) });
        let first = allowed
            .next()
            .ok_or_else(|| std::io::Error::other("no CPU in this process's affinity mask"))?;
        Ok(Cpus {
            original: set,
            first,
            second: allowed.next(),
        })
    }

    /// The modes this machine can measure (`spread` needs two CPUs).
    pub fn modes(&self) -> Vec<Mode> {
        Mode::ALL
            .into_iter()
            .filter(|m| *m == Mode::Pinned || self.second.is_some())
            .collect()
    }

    /// The bench's own CPU in every mode.
    pub fn here(&self) -> usize {
        self.first
    }

    /// The peer's CPU in `mode`.
    pub fn peer(&self, mode: Mode) -> usize {
        match mode {
            Mode::Pinned => self.first,
            Mode::Spread => self.second.unwrap_or(self.first),
        }
    }

    /// Pins every thread of this process to its CPU (children spawned
    /// from now on inherit it).
    pub fn pin_self(&self) -> std::io::Result<()> {
        pin_pid(std::process::id(), &one(self.here()))
    }

    /// Pins every thread of `pid` to the peer CPU of `mode`.
    pub fn pin_peer(&self, pid: u32, mode: Mode) -> std::io::Result<()> {
        pin_pid(pid, &one(self.peer(mode)))
    }

    /// Gives this process back the CPUs it started with.
    pub fn restore_self(&self) -> std::io::Result<()> {
        pin_pid(std::process::id(), &self.original)
    }
}

fn one(cpu: usize) -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is plain old data; all zeroes is an empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET writes one bit of `set`; `cpu` came from CPU_ISSET
    // over 0..CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set
}

/// Sets the affinity of every thread of `pid` (a process's threads each
/// have their own mask; threads created later inherit their creator's).
fn pin_pid(pid: u32, set: &libc::cpu_set_t) -> std::io::Result<()> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))?;
    for t in tasks {
        let Some(tid) = t?.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        // SAFETY: `set` is a valid cpu_set_t of the size passed.
        let rc = unsafe { libc::sched_setaffinity(tid, size_of::<libc::cpu_set_t>(), set) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            // A thread that exited meanwhile is not an error.
            if e.raw_os_error() != Some(libc::ESRCH) {
                return Err(std::io::Error::other(format!(
                    "sched_setaffinity of thread {tid} of pid {pid}: {e}"
                )));
            }
        }
    }
    Ok(())
}

/// CPU time (user + system) this process has used so far, in all its
/// threads, from `getrusage(RUSAGE_SELF)`.
pub fn cpu_self() -> std::time::Duration {
    // SAFETY: rusage is plain old data; all zeroes is valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| {
        std::time::Duration::from_secs(t.tv_sec as u64)
            + std::time::Duration::from_micros(t.tv_usec as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinning_is_seen_by_the_kernel_and_restored() {
        let cpus = Cpus::read().unwrap();
        cpus.pin_self().unwrap();
        let now = Cpus::read().unwrap();
        assert_eq!(now.first, cpus.here());
        assert_eq!(now.second, None, "pinned to exactly one CPU");
        cpus.restore_self().unwrap();
        let back = Cpus::read().unwrap();
        assert_eq!((back.first, back.second), (cpus.first, cpus.second));
    }

    #[test]
    fn spread_puts_the_peer_elsewhere_when_there_are_two_cpus() {
        let cpus = Cpus::read().unwrap();
        assert_eq!(cpus.peer(Mode::Pinned), cpus.here());
        if cpus.modes().contains(&Mode::Spread) {
            assert_ne!(cpus.peer(Mode::Spread), cpus.here());
        }
    }
}
