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

/// Shows the card `text` on the controlling terminal and waits for `c`
/// or `q` (`t` reprints the task tree). The terminal is made ready
/// (foreground, no echo) before the card is printed, so a key or a Ctrl-C
/// typed as soon as it shows is the card's. Without a terminal it prints
/// the card and continues at once. When the card has to take the
/// terminal itself and `root` is unknown, a Ctrl-C meanwhile goes to the
/// group that had the terminal.
pub fn show_and_wait(actor: &Actor, text: &str, root: Option<libc::pid_t>) -> Key {
    let mut tty = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    {
        Ok(t) => t,
        Err(e) => {
            crate::runtime::debug::to_stderr(text);
            crate::runtime::debug::say!(
                "tractor debug: no terminal to read a key from ({e}): continuing"
            );
            return Key::Continue;
        }
    };
    let fg = Foreground::take(tty.as_raw_fd());
    let _ctrl_c = match (root, &fg) {
        (None, Some(fg)) => Some(InterruptTarget::set(Some(fg.previous()))),
        _ => None,
    };
    let _raw = RawMode::set(tty.as_raw_fd());
    crate::runtime::debug::to_stderr(text);
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
