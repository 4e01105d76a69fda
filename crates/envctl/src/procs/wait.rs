//! Waiting: for a condition (bounded, giving up on Ctrl-C), and for a
//! process to exit (a pidfd, so any process can be watched, not only our
//! children).

use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Set by Ctrl-C: waits give up at once.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// True once Ctrl-C was pressed (or the CLI a command is served for was).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst) || crate::opctx::cancelled()
}

/// Waits up to `limit` for `cond` (giving up on Ctrl-C). For conditions
/// nothing notifies us of (a port starts listening, an HTTP probe
/// answers): looks at once, then after 5 ms, 10 ms, 20 ms, … at most every
/// 50 ms — a quick service is seen ready within a few ms, a slow one costs
/// no more looks than before.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() >= limit || interrupted() {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// A pidfd for `pid` (Linux ≥ 5.3).
pub fn pidfd(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1;
    // no memory is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// True if `pid` exits (or is already gone) within `limit`: the pidfd
/// becomes readable at its exit, an event, not a poll of /proc.
pub fn exited_within(pid: u32, limit: Duration) -> bool {
    all_exited_within(&[pid], limit)
}

/// True if every one of `pids` exits (or is already gone) within `limit`:
/// one poll over all their pidfds, woken by each exit — whoever the
/// parent is, so it also works for a process in another session.
pub fn all_exited_within(pids: &[u32], limit: Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    let mut fds: Vec<OwnedFd> = pids.iter().filter_map(|p| pidfd(*p)).collect();
    while !fds.is_empty() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
        let mut polled: Vec<nix::poll::PollFd<'_>> = fds
            .iter()
            .map(|fd| nix::poll::PollFd::new(fd.as_fd(), nix::poll::PollFlags::POLLIN))
            .collect();
        match nix::poll::poll(&mut polled, ms) {
            Ok(0) => continue,
            Ok(_) => {
                let done: Vec<bool> = polled
                    .iter()
                    .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
                    .collect();
                drop(polled);
                let mut i = 0;
                fds.retain(|_| {
                    i += 1;
                    !done[i - 1]
                });
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
    true
}
