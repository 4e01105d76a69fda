//! The crash card: what an actor in debug mode prints, holding the
//! terminal lock, when one of its tasks failed (or at `tractor::pause!()`),
//! and the key it waits for.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicI32, Ordering};

use crate::runtime::actor::Actor;

/// What happened, for the card.
#[derive(Clone, Debug)]
pub struct Crash {
    /// Where: the task (`ns.func cid=… caller=…`, or `pause!() at file:line`).
    pub task: String,
    /// The error's type name (`Panic`, `ValueError`, `RemoteActorError`…),
    /// empty for a pause.
    pub error_type: String,
    /// The error or panic message.
    pub message: String,
    /// Its backtrace or traceback text (may be empty).
    pub traceback: String,
    /// Actors the error came through, from its source on (a relayed
    /// error).
    pub relayed_from: Vec<String>,
}

/// The key pressed on a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// `c`: continue (the error goes on to the parent).
    Continue,
    /// `q`: quit the tree.
    Quit,
}

/// The card's text.
pub fn render(actor: &Actor, crash: &Crash) -> String {
    let mut s = String::new();
    let thread = std::thread::current();
    let pid = std::process::id();
    let _ = writeln!(s, "\n======== tractor debug: crash card ========");
    let _ = writeln!(
        s,
        "actor:   '{}' uid ('{}', '{}')",
        actor.name(),
        actor.name(),
        actor.uid().uuid
    );
    let _ = writeln!(
        s,
        "pid:     {pid}   thread: {}",
        thread.name().unwrap_or("(unnamed)")
    );
    let _ = writeln!(s, "task:    {}", crash.task);
    if !crash.error_type.is_empty() {
        let _ = writeln!(s, "error:   {}: {}", crash.error_type, crash.message);
    } else {
        let _ = writeln!(s, "paused:  {}", crash.message);
    }
    if !crash.relayed_from.is_empty() {
        let _ = writeln!(s, "relayed: from {}", crash.relayed_from.join(" -> "));
    }
    if !crash.traceback.trim().is_empty() {
        let _ = writeln!(s, "--- backtrace ---\n{}", crash.traceback.trim_end());
    }
    let _ = writeln!(s, "--- task tree ---\n{}", actor.task_tree().trim_end());
    let _ = writeln!(
        s,
        "--- attach a debugger ---\nrust-gdb -p {pid}    (or: lldb -p {pid})"
    );
    let _ = writeln!(
        s,
        "keys: [c] continue (the error goes to the parent)  [q] quit the tree  [t] task tree"
    );
    s
}

/// Waits for `c` or `q` on the controlling terminal (`t` reprints the
/// task tree). Without a terminal it continues at once.
pub fn wait_for_key(actor: &Actor) -> Key {
    let mut tty = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tractor debug: no terminal to read a key from ({e}): continuing");
            return Key::Continue;
        }
    };
    let _fg = Foreground::take(tty.as_raw_fd());
    let _raw = RawMode::set(tty.as_raw_fd());
    let mut b = [0u8; 1];
    loop {
        match tty.read(&mut b) {
            Ok(0) | Err(_) => return Key::Continue,
            Ok(_) => match b[0] {
                b'c' | b'C' => return Key::Continue,
                b'q' | b'Q' => return Key::Quit,
                b't' | b'T' => {
                    let _ = write!(tty, "{}", actor.task_tree().replace('\n', "\r\n"));
                }
                _ => {}
            },
        }
    }
}

/// The process group the terminal belonged to before a card of this
/// process took it (0: no card of ours holds the terminal).
static TERMINAL_OWNER: AtomicI32 = AtomicI32::new(0);

/// Passes a Ctrl-C (SIGINT) this process got on to the process group the
/// terminal belonged to before our crash card took it (the root's), if a
/// card of ours holds the terminal now; returns whether it did. The line
/// discipline sends a Ctrl-C typed on the terminal to its foreground
/// group, which is ours while the card reads its key: passed on, it
/// reaches the root, which shields it (a card is up) or, the second time,
/// kills the tree, as if the card had never taken the terminal.
pub fn pass_interrupt_on() -> bool {
    let owner = TERMINAL_OWNER.load(Ordering::SeqCst);
    if owner <= 0 {
        return false;
    }
    // SAFETY: killpg takes two integers; `owner` is a live group (the
    // terminal's foreground group until our card took it).
    let sent = unsafe { libc::killpg(owner, libc::SIGINT) } == 0;
    if sent {
        eprint!("tractor debug: Ctrl-C passed to the root (process group {owner})\r\n");
    }
    sent
}

/// Makes this process's group the terminal's foreground group while a
/// key is read (an actor runs in its own process group; reading from a
/// background group would stop it with SIGTTIN), and gives the terminal
/// back afterwards. Meanwhile a Ctrl-C on the terminal reaches this
/// process, which passes it on ([`pass_interrupt_on`]).
struct Foreground {
    fd: i32,
    prev: libc::pid_t,
}

impl Foreground {
    fn take(fd: i32) -> Option<Foreground> {
        // SAFETY: tcgetpgrp/getpgrp/tcsetpgrp take integers; signal()
        // installs SIG_IGN for SIGTTOU so that tcsetpgrp from a background
        // group is not stopped (as shells do).
        unsafe {
            let prev = libc::tcgetpgrp(fd);
            let me = libc::getpgrp();
            if prev < 0 || prev == me {
                return None;
            }
            libc::signal(libc::SIGTTOU, libc::SIG_IGN);
            if libc::tcsetpgrp(fd, me) != 0 {
                return None;
            }
            TERMINAL_OWNER.store(prev, Ordering::SeqCst);
            Some(Foreground { fd, prev })
        }
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        TERMINAL_OWNER.store(0, Ordering::SeqCst);
        // SAFETY: as above; SIGTTOU is still ignored.
        unsafe {
            libc::tcsetpgrp(self.fd, self.prev);
        }
    }
}

/// Non-canonical, no-echo input while a key is read.
struct RawMode {
    fd: i32,
    prev: libc::termios,
}

impl RawMode {
    fn set(fd: i32) -> Option<RawMode> {
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
