//! A connection to another actor, after the handshake.
//!
//! Messages are routed by `cid` (spec §5): replies to calls we made and
//! stream traffic of contexts we serve both land in `dialogs`; the tasks
//! the peer asked us to run are in `served`, so `self._cancel_task` can
//! find them and so they are cancelled when the peer goes away.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::cancel::CancelScope;
use crate::ipc::ChanSender;
use crate::msg::{Aid, Cid, Msg, Uid};

/// One live connection to a peer actor.
#[derive(Debug)]
pub struct Peer {
    /// Unique per connection in this actor.
    pub id: u64,
    /// The peer's handshake identity.
    pub aid: Aid,
    /// Sending half (shared by every task using the connection).
    pub tx: ChanSender,
    /// cid → the local side of a dialog on this connection.
    pub(crate) dialogs: Mutex<HashMap<Cid, DialogTx>>,
    /// cid → the scope of a task this peer started here.
    pub(crate) served: Mutex<HashMap<Cid, CancelScope>>,
    /// Fires when the connection's reader loop has ended.
    pub(crate) gone: CancellationToken,
}

impl Peer {
    pub(crate) fn new(id: u64, aid: Aid, tx: ChanSender) -> Self {
        Peer {
            id,
            aid,
            tx,
            dialogs: Mutex::new(HashMap::new()),
            served: Mutex::new(HashMap::new()),
            gone: CancellationToken::new(),
        }
    }

    /// The peer's uid.
    pub fn uid(&self) -> Uid {
        self.aid.uid()
    }

    /// Opens a dialog for `cid`: messages with that cid arrive on the
    /// returned receiver until [`Peer::close_dialog`]. At most `cap` stream
    /// items (`Yield`) may wait unread; `None` is unbounded (overruns
    /// allowed). Control messages are never refused.
    pub(crate) fn open_dialog(&self, cid: &str, cap: Option<usize>) -> DialogRx {
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(AtomicUsize::new(0));
        let errored = Arc::new(std::sync::OnceLock::new());
        let room = Arc::new(tokio::sync::Notify::new());
        let overrun = Arc::new(std::sync::atomic::AtomicBool::new(false));
        lock(&self.dialogs).insert(
            cid.to_owned(),
            DialogTx {
                tx,
                pending: pending.clone(),
                cap,
                errored: errored.clone(),
                room: room.clone(),
                overrun: overrun.clone(),
            },
        );
        DialogRx {
            rx,
            pending,
            errored,
            room,
            overrun,
        }
    }

    /// Changes how many unread stream items a dialog may hold.
    pub(crate) fn set_dialog_cap(&self, cid: &str, cap: Option<usize>) {
        if let Some(d) = lock(&self.dialogs).get_mut(cid) {
            d.cap = cap;
        }
    }

    pub(crate) fn close_dialog(&self, cid: &str) {
        lock(&self.dialogs).remove(cid);
    }

    /// Delivers a message to its dialog.
    pub(crate) fn route(&self, cid: &str, msg: Msg) -> Route {
        let dialogs = lock(&self.dialogs);
        let Some(d) = dialogs.get(cid) else {
            return Route::Unknown;
        };
        if matches!(msg, Msg::Yield(_)) {
            let waiting = d.pending.load(Ordering::SeqCst);
            if let Some(cap) = d.cap
                && waiting >= cap
            {
                return Route::Full {
                    msg: Box::new(msg),
                    cap,
                    room: d.room.clone(),
                    overrun: d.overrun.clone(),
                };
            }
            d.pending.fetch_add(1, Ordering::SeqCst);
        }
        if let Msg::Error(e) = &msg {
            // Seen at once by senders, even before the receiver reads it.
            let _ = d.errored.set(e.clone());
        }
        if d.tx.send(msg).is_ok() {
            Route::Delivered
        } else {
            Route::Unknown
        }
    }

    /// Ends every dialog (their receivers see the end) and cancels every
    /// task the peer started.
    pub(crate) fn shut(&self) {
        lock(&self.dialogs).clear();
        for (_, scope) in lock(&self.served).drain() {
            scope.cancel(Some(self.uid()));
        }
        self.gone.cancel();
    }
}

/// Locks a std mutex, ignoring poisoning (our critical sections cannot
/// leave the maps inconsistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The routing end of a dialog.
#[derive(Debug)]
pub(crate) struct DialogTx {
    tx: mpsc::UnboundedSender<Msg>,
    pending: Arc<AtomicUsize>,
    cap: Option<usize>,
    errored: Arc<std::sync::OnceLock<crate::msg::ErrorMsg>>,
    room: Arc<tokio::sync::Notify>,
    overrun: Arc<std::sync::atomic::AtomicBool>,
}

/// The receiving end of a dialog.
#[derive(Debug)]
pub(crate) struct DialogRx {
    rx: mpsc::UnboundedReceiver<Msg>,
    pending: Arc<AtomicUsize>,
    errored: Arc<std::sync::OnceLock<crate::msg::ErrorMsg>>,
    room: Arc<tokio::sync::Notify>,
    overrun: Arc<std::sync::atomic::AtomicBool>,
}

impl DialogRx {
    /// The error the peer sent for this dialog, if one arrived (readable
    /// without consuming the queue).
    pub(crate) fn error_slot(&self) -> Arc<std::sync::OnceLock<crate::msg::ErrorMsg>> {
        self.errored.clone()
    }

    /// The next message; `None` once the dialog or connection is gone.
    pub(crate) async fn recv(&mut self) -> Option<Msg> {
        let m = self.rx.recv().await?;
        if matches!(m, Msg::Yield(_)) {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            self.overrun.store(false, Ordering::SeqCst);
            self.room.notify_one();
        }
        Some(m)
    }
}

/// What happened to a routed message.
#[derive(Debug)]
pub(crate) enum Route {
    /// Queued for its dialog.
    Delivered,
    /// No such dialog (finished, or never opened).
    Unknown,
    /// The dialog's stream buffer (of `cap` items) is full; `room` is
    /// notified when its reader takes one. `overrun` is set while the
    /// dialog is refusing items (so a flood is refused at once, not after
    /// a wait per item).
    Full {
        msg: Box<Msg>,
        cap: usize,
        room: Arc<tokio::sync::Notify>,
        overrun: Arc<std::sync::atomic::AtomicBool>,
    },
}
