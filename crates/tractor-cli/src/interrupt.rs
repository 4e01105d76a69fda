//! How a `tractor` command that runs until interrupted ends when a
//! termination signal stops it: by that same signal.
//!
//! `tractor registrar` catches SIGINT, SIGTERM and SIGHUP (through its root
//! actor) to shut down cleanly. Once it has, the process re-raises the
//! signal with its default action, so whoever started it sees what
//! happened: a shell reports status 130 (SIGINT) or 143 (SIGTERM), Python's
//! `subprocess` a return code of -2 or -15. That is what a Python tractor
//! daemon stopped by Ctrl-C does (it dies of `KeyboardInterrupt`), which
//! Python tractor's `test_abort_on_sigint` checks, and what shells and
//! process supervisors expect of a program that cleaned up after a signal.

use nix::sys::signal::{SigHandler, Signal, raise, signal};
use tractor::devx::signals::{Signals, Termination};

/// Which termination signal arrived first, recorded by a task started
/// before the command's root actor (so it cannot miss the signal that
/// cancels that actor).
pub struct FirstSignal(tokio::task::JoinHandle<Option<Termination>>);

impl FirstSignal {
    /// Starts listening. tokio delivers each signal to every listener, so
    /// this one sees the same signal as the root actor's own.
    pub fn listen() -> FirstSignal {
        let signals = Signals::new();
        FirstSignal(tokio::spawn(async move {
            match signals {
                Ok(mut s) => Some(s.next().await),
                Err(_) => None,
            }
        }))
    }

    /// The signal that stopped the command. Call it only once the
    /// command's actor was cancelled locally (no remote canceller): then a
    /// signal did it and this resolves at once.
    pub async fn wait(mut self) -> Option<Termination> {
        (&mut self.0).await.ok().flatten()
    }
}

impl Drop for FirstSignal {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The signal number of a termination.
pub fn signal_of(t: Termination) -> Signal {
    match t {
        Termination::Interrupt => Signal::SIGINT,
        Termination::Terminate => Signal::SIGTERM,
        Termination::Hangup => Signal::SIGHUP,
    }
}

/// Ends the process by `t`'s signal (default action), after saying so on
/// stderr (Python's daemon prints a `KeyboardInterrupt` traceback there).
/// Falls back to exiting with `128 + signal number` should the signal not
/// end the process.
pub fn die_of(t: Termination) -> ! {
    let sig = signal_of(t);
    match t {
        Termination::Interrupt => {
            eprintln!("tractor: stopped by SIGINT (KeyboardInterrupt); exiting by that signal")
        }
        other => eprintln!("tractor: stopped by {other}; exiting by that signal"),
    }
    // SAFETY: restoring the default action installs no Rust handler; the
    // runtime that owned the handler has been shut down.
    let _ = unsafe { signal(sig, SigHandler::SigDfl) };
    let _ = raise(sig);
    std::process::exit(128 + sig as i32)
}
