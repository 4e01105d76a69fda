//! The process's termination signals: SIGINT (Ctrl-C), SIGTERM and SIGHUP.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Which signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
    /// SIGHUP (the terminal went away).
    Hangup,
}

impl std::fmt::Display for Termination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Termination::Interrupt => "SIGINT",
            Termination::Terminate => "SIGTERM",
            Termination::Hangup => "SIGHUP",
        })
    }
}

/// Listens for the termination signals, one after another. While it
/// exists (and once it has existed: tokio keeps its handlers installed)
/// these signals no longer end the process by default, so its owner must
/// keep listening for as long as the process runs.
#[derive(Debug)]
pub struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl Signals {
    /// Installs the handlers.
    pub fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// The next termination signal.
    pub async fn next(&mut self) -> Termination {
        tokio::select! {
            Some(()) = self.int.recv() => Termination::Interrupt,
            Some(()) = self.term.recv() => Termination::Terminate,
            Some(()) = self.hup.recv() => Termination::Hangup,
            else => std::future::pending().await,
        }
    }
}

/// Resolves at the first SIGINT, SIGTERM or SIGHUP (never, if the
/// handlers cannot be installed).
pub async fn terminated() -> Termination {
    match Signals::new() {
        Ok(mut s) => s.next().await,
        Err(_) => std::future::pending().await,
    }
}
