//! Debug mode's tree-wide terminal lock, shared with Python tractor.
//!
//! Only one actor of a tree may own the terminal at a time (to show a
//! crash card and read a key). The lock lives in the root actor, which
//! serves Python's own dialog for it (`tractor.devx.debug._tty_lock`): a
//! peer opens the context `lock_stdio_for_peer(subactor_task_uid)`, gets
//! `started(LockStatus{locked: true})` once it holds the lock, later sends
//! a `LockRelease` on the context's stream, and the context returns
//! `LockStatus{locked: false}`. Because the payloads are Python's
//! (msgspec structs tagged by `msg_type`), Rust and Python actors of one
//! tree queue on one lock.
//!
//! * [`lock`]: the root's side (the FIFO lock, its holder, the context
//!   function);
//! * [`request`]: an actor's side ([`acquire`], [`TtyLock::release`]);
//! * [`hold`](mod@hold): pause on crash (a failed task, in debug mode, shows its
//!   [`card`] holding the lock and waits for a key before its error goes
//!   on);
//! * [`pause`](mod@pause): the same at a chosen point (`tractor::pause!()`);
//! * [`terminal`]: the terminal follows the lock (the root lends its
//!   foreground to the holder's process group; Ctrl-C at a card goes to
//!   the root).

pub mod card;
pub mod hold;
pub mod lock;
pub mod pause;
pub mod request;
pub mod terminal;

pub use card::{Crash, Key};

/// Prints one line to stderr with a single write, so that a line of ours
/// and one a child writes to the same terminal (a Python child's warning,
/// its debugger) cannot interleave mid-line: `eprintln!` writes each piece
/// of its format separately.
macro_rules! say {
    ($($t:tt)*) => {
        $crate::runtime::debug::say_line(::std::format_args!($($t)*))
    };
}
pub(crate) use say;

/// [`say!`]'s body.
pub(crate) fn say_line(args: std::fmt::Arguments<'_>) {
    to_stderr(&format!("{args}\n"));
}

/// Writes `text` to stderr, ignoring a failure (a closed stderr must not
/// panic a runtime task, as `eprint!` would).
pub(crate) fn to_stderr(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
pub use hold::{crash_of, hold};
pub use lock::{LockRelease, LockStatus, TTY_LOCK_NS, holder, lock_stdio_for_peer, queued};
pub use request::{TtyLock, acquire, acquire_from};
