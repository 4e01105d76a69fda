//! Panics inside RPC functions become error replies; this keeps the
//! location and backtrace of the last panic on each thread so the reply can
//! carry them as its traceback text.
//!
//! The backtrace is captured lazily: [`Backtrace::capture`] honours
//! `RUST_BACKTRACE` / `RUST_LIB_BACKTRACE` (without them it records
//! nothing, which costs nothing), and its frames are resolved to symbols
//! only when a reply is built ([`take_last_backtrace`]), not at every
//! panic. Without a backtrace the text says how to get one.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::RefCell;
use std::sync::Once;

/// What the reply says when no backtrace was captured.
pub const BACKTRACE_HINT: &str = "set RUST_BACKTRACE=1 for a backtrace";

/// The last panic of a thread: its message and location, and the
/// backtrace as captured (unresolved).
struct LastPanic {
    info: String,
    backtrace: Backtrace,
}

thread_local! {
    static LAST: RefCell<Option<LastPanic>> = const { RefCell::new(None) };
}

/// Wraps the panic hook once per process: record, then defer to the
/// previous hook (which prints as usual).
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let last = LastPanic {
                info: info.to_string(),
                backtrace: Backtrace::capture(),
            };
            LAST.with(|l| *l.borrow_mut() = Some(last));
            prev(info);
        }));
    });
}

/// The last panic's text on this thread, taken: where it happened and its
/// backtrace, or how to get one.
pub fn take_last_backtrace() -> String {
    let Some(last) = LAST.with(|l| l.borrow_mut().take()) else {
        return String::new();
    };
    match last.backtrace.status() {
        BacktraceStatus::Captured => {
            format!("{}\n\nstack backtrace:\n{}", last.info, last.backtrace)
        }
        _ => format!("{}\n\n({BACKTRACE_HINT})", last.info),
    }
}
