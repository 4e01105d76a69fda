//! Who owns the terminal while a crash card is up.
//!
//! Every actor process runs in its own process group, and only the
//! terminal's foreground group may read it (a background reader is
//! stopped with SIGTTIN). So the terminal follows the lock:
//!
//! * the root, serving the lock, lends the terminal's foreground to the
//!   holder's process group for as long as it holds the lock (`Loan`):
//!   a Python child's debugger (pdb on its stdin) can then read it, as in
//!   a Python tree whose actors share one group;
//! * a card takes the foreground itself when nobody lent it
//!   (`Foreground`: a Rust actor under a Python root), and reads its key
//!   in non-canonical, no-echo mode (`RawMode`);
//! * a Ctrl-C typed meanwhile reaches the holder (the foreground group),
//!   which passes it on to the root ([`pass_interrupt_on`]); the root
//!   shields it, and kills the tree on a second one.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicI32, Ordering};

/// The process group a Ctrl-C is passed to while a card of this process
/// is up (0: no card).
static INTERRUPT_TARGET: AtomicI32 = AtomicI32::new(0);

/// Passes a Ctrl-C (SIGINT) this process got on to the root's process
/// group if a crash card of this process is up; returns whether it did.
/// The line discipline sends a Ctrl-C typed on the terminal to the
/// terminal's foreground group, which is the card holder's while it reads
/// its key: passed on, it reaches the root, which shields it (a card is
/// up) or, the second time, kills the tree.
pub fn pass_interrupt_on() -> bool {
    let target = INTERRUPT_TARGET.load(Ordering::SeqCst);
    if target <= 0 {
        return false;
    }
    // SAFETY: killpg takes two integers.
    let sent = unsafe { libc::killpg(target, libc::SIGINT) } == 0;
    if sent {
        // The card's terminal is in raw mode: end the line by hand.
        super::say!("tractor debug: Ctrl-C passed to the root (process group {target})\r");
    }
    sent
}

/// The process group of `pid` (a local process), if it exists.
pub(crate) fn process_group_of(pid: i64) -> Option<libc::pid_t> {
    let pid = libc::pid_t::try_from(pid).ok().filter(|p| *p > 0)?;
    // SAFETY: getpgid takes an integer.
    let g = unsafe { libc::getpgid(pid) };
    (g > 0).then_some(g)
}

/// Sets where Ctrl-C goes while a card is up; cleared when dropped.
pub(crate) struct InterruptTarget;

impl InterruptTarget {
    pub(crate) fn set(group: Option<libc::pid_t>) -> InterruptTarget {
        INTERRUPT_TARGET.store(group.unwrap_or(0), Ordering::SeqCst);
        InterruptTarget
    }
}

impl Drop for InterruptTarget {
    fn drop(&mut self) {
        INTERRUPT_TARGET.store(0, Ordering::SeqCst);
    }
}

/// Ignores SIGTTOU, so that a process in a background group may hand the
/// terminal's foreground on (`tcsetpgrp`), as shells do.
fn ignore_sigttou() {
    // SAFETY: installs SIG_IGN, no handler code.
    unsafe {
        libc::signal(libc::SIGTTOU, libc::SIG_IGN);
    }
}

/// The root's controlling terminal, lent to the lock holder's process
/// group; given back to the root's group when dropped.
pub(crate) struct Loan {
    tty: std::fs::File,
    back_to: libc::pid_t,
}

impl Loan {
    /// Lends the terminal to the process group of `pid` (the holder), if
    /// this process has a controlling terminal, its group is in the
    /// foreground, and the holder is in another group.
    pub(crate) fn to(pid: Option<i64>) -> Option<Loan> {
        let theirs = process_group_of(pid?)?;
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        let fd = tty.as_raw_fd();
        // SAFETY: getpgrp takes nothing and cannot fail.
        let me = unsafe { libc::getpgrp() };
        // SAFETY: tcgetpgrp takes an integer.
        if unsafe { libc::tcgetpgrp(fd) } != me || theirs == me {
            return None;
        }
        ignore_sigttou();
        // SAFETY: tcsetpgrp takes integers.
        if unsafe { libc::tcsetpgrp(fd, theirs) } != 0 {
            return None;
        }
        Some(Loan { tty, back_to: me })
    }
}

impl Drop for Loan {
    fn drop(&mut self) {
        // SAFETY: tcsetpgrp takes integers; SIGTTOU is ignored (we are in
        // the background now).
        unsafe {
            libc::tcsetpgrp(self.tty.as_raw_fd(), self.back_to);
        }
    }
}

/// Makes this process's group the terminal's foreground group while a
/// key is read, unless it already is (the root lent it), and gives the
/// terminal back afterwards.
pub(crate) struct Foreground {
    fd: i32,
    prev: libc::pid_t,
}

impl Foreground {
    pub(crate) fn take(fd: i32) -> Option<Foreground> {
        // SAFETY: tcgetpgrp/getpgrp/tcsetpgrp take integers.
        unsafe {
            let prev = libc::tcgetpgrp(fd);
            let me = libc::getpgrp();
            if prev < 0 || prev == me {
                return None;
            }
            ignore_sigttou();
            (libc::tcsetpgrp(fd, me) == 0).then_some(Foreground { fd, prev })
        }
    }

    /// The group that had the terminal before.
    pub(crate) fn previous(&self) -> libc::pid_t {
        self.prev
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        // SAFETY: as above; SIGTTOU is ignored.
        unsafe {
            libc::tcsetpgrp(self.fd, self.prev);
        }
    }
}

/// Non-canonical, no-echo input while a key is read (Ctrl-C still
/// signals: ISIG stays on).
pub(crate) struct RawMode {
    fd: i32,
    prev: libc::termios,
}

impl RawMode {
    pub(crate) fn set(fd: i32) -> Option<RawMode> {
        // SAFETY: termios is plain data; tcgetattr fills it, tcsetattr
        // reads it.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut t) != 0 {
                return None;
            }
            let prev = t;
            t.c_lflag &= !(libc::ICANON | libc::ECHO);
            t.c_cc[libc::VMIN] = 1;
            t.c_cc[libc::VTIME] = 0;
            libc::tcsetattr(fd, libc::TCSANOW, &t);
            Some(RawMode { fd, prev })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `set`.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSANOW, &self.prev);
        }
    }
}
