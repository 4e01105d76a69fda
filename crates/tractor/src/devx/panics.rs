//! Panics inside RPC functions become error replies; this keeps the
//! location and backtrace of the last panic on each thread so the reply can
//! carry them as its traceback text.

use std::cell::RefCell;
use std::sync::Once;

thread_local! {
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Wraps the panic hook once per process: record, then defer to the
/// previous hook (which prints as usual).
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let bt = std::backtrace::Backtrace::force_capture();
            let text = format!("{info}\n\nstack backtrace:\n{bt}");
            LAST.with(|l| *l.borrow_mut() = Some(text));
            prev(info);
        }));
    });
}

/// The last panic's text on this thread, taken.
pub fn take_last_backtrace() -> String {
    LAST.with(|l| l.borrow_mut().take()).unwrap_or_default()
}
