//! The crash card: what an actor in debug mode prints, holding the
//! terminal lock, when one of its tasks failed (or at `tractor::pause!()`),
//! and the key it waits for.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;

use crate::runtime::actor::Actor;

use super::terminal::{Foreground, InterruptTarget, RawMode};

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
/// task tree). Without a terminal it continues at once. Meanwhile a
/// Ctrl-C this process gets is passed to the process group `root`
/// (the root's, when the lock is the root's), or else to the group that
/// had the terminal before the card took it.
pub fn wait_for_key(actor: &Actor, root: Option<libc::pid_t>) -> Key {
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
    let fg = Foreground::take(tty.as_raw_fd());
    let _ctrl_c = InterruptTarget::set(root.or(fg.as_ref().map(Foreground::previous)));
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
