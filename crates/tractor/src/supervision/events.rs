//! What a supervisor reports: every start, exit (with its reason),
//! restart and escalation, as a `tracing` event carrying the child's name
//! and as a [`SupervisorEvent`] on a broadcast channel for code to watch.

use std::fmt;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::msg::Uid;
use crate::spawn::ExitInfo;

/// How many events a slow subscriber may fall behind before it misses
/// some (it then gets `RecvError::Lagged`).
pub const EVENT_BUFFER: usize = 4096;

/// Why a supervised child ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// Its main function returned `Ok`, or the actor exited cleanly on
    /// its own.
    Normal,
    /// Its main function returned an error (the error's text).
    Failed(String),
    /// The actor died: killed by a signal, a non-zero exit status, or its
    /// thread failed.
    Died(ExitInfo),
    /// The supervisor stopped it (a sibling's restart under one-for-all
    /// or rest-for-one, `stop_child`, `shutdown`, or the supervisor's end).
    Shutdown,
}

impl ExitReason {
    /// True for the ends a [`super::Restart::Transient`] child is
    /// restarted after.
    pub fn is_abnormal(&self) -> bool {
        matches!(self, ExitReason::Failed(_) | ExitReason::Died(_))
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Normal => write!(f, "exited normally"),
            ExitReason::Failed(e) => write!(f, "failed: {e}"),
            ExitReason::Died(info) => write!(f, "died ({info})"),
            ExitReason::Shutdown => write!(f, "was stopped by its supervisor"),
        }
    }
}

/// Something that happened to a supervised child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SupervisorEvent {
    /// An instance of the child started (`restarts` is 0 for the first).
    Started {
        /// The child's name.
        child: String,
        /// This instance's uid.
        uid: Uid,
        /// Its OS pid (process actors).
        pid: Option<u32>,
        /// How many times the child was restarted before this instance.
        restarts: u32,
    },
    /// An instance ended; it has been reaped.
    Exited {
        /// The child's name.
        child: String,
        /// The instance's uid.
        uid: Uid,
        /// Its OS pid (process actors).
        pid: Option<u32>,
        /// Why.
        reason: ExitReason,
    },
    /// The child is about to be started again.
    Restarting {
        /// The child's name.
        child: String,
        /// Its restart count, this one included.
        restarts: u32,
        /// The child whose end caused it (itself under one-for-one).
        because_of: String,
        /// The backoff waited first.
        delay: Duration,
    },
    /// Starting (or restarting) the child failed.
    StartFailed {
        /// The child's name.
        child: String,
        /// The error.
        error: String,
    },
    /// The restart budget ran out: the supervisor gives up and escalates.
    Escalated {
        /// The child whose end could not be answered.
        child: String,
        /// The escalated error's text.
        error: String,
    },
}

impl SupervisorEvent {
    /// The child the event is about.
    pub fn child(&self) -> &str {
        match self {
            SupervisorEvent::Started { child, .. }
            | SupervisorEvent::Exited { child, .. }
            | SupervisorEvent::Restarting { child, .. }
            | SupervisorEvent::StartFailed { child, .. }
            | SupervisorEvent::Escalated { child, .. } => child,
        }
    }
}

/// Publishes events: a `tracing` event each, and the broadcast.
#[derive(Debug, Clone)]
pub(crate) struct Events {
    tx: broadcast::Sender<SupervisorEvent>,
}

impl Events {
    pub(crate) fn new() -> Self {
        Events {
            tx: broadcast::channel(EVENT_BUFFER).0,
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<SupervisorEvent> {
        self.tx.subscribe()
    }

    pub(crate) fn emit(&self, ev: SupervisorEvent) {
        match &ev {
            SupervisorEvent::Started {
                child,
                uid,
                pid,
                restarts,
            } => tracing::info!(
                child = %child, uuid = %uid.uuid, pid = ?pid, restarts,
                "supervised child started"
            ),
            SupervisorEvent::Exited {
                child,
                uid,
                pid,
                reason,
            } => {
                if reason.is_abnormal() {
                    tracing::warn!(child = %child, uuid = %uid.uuid, pid = ?pid, %reason, "supervised child exited")
                } else {
                    tracing::info!(child = %child, uuid = %uid.uuid, pid = ?pid, %reason, "supervised child exited")
                }
            }
            SupervisorEvent::Restarting {
                child,
                restarts,
                because_of,
                delay,
            } => tracing::info!(
                child = %child, restarts, because_of = %because_of, delay = ?delay,
                "restarting supervised child"
            ),
            SupervisorEvent::StartFailed { child, error } => {
                tracing::warn!(child = %child, %error, "supervised child failed to start")
            }
            SupervisorEvent::Escalated { child, error } => {
                tracing::error!(child = %child, %error, "supervisor escalates")
            }
        }
        // No subscriber is fine.
        let _ = self.tx.send(ev);
    }
}
