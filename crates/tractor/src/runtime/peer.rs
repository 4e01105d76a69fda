//! A connection to another actor, after the handshake.
//!
//! Messages are routed by `cid` (spec §5): replies to calls we made and
//! stream traffic of contexts we serve both land in `dialogs`; the tasks
//! the peer asked us to run are in `served`, so `self._cancel_task` can
//! find them and so they are cancelled when the peer goes away.

use std::collections::HashMap;
use std::sync::Mutex;

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
    pub(crate) dialogs: Mutex<HashMap<Cid, mpsc::UnboundedSender<Msg>>>,
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
    /// returned receiver until [`Peer::close_dialog`].
    pub(crate) fn open_dialog(&self, cid: &str) -> mpsc::UnboundedReceiver<Msg> {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.dialogs).insert(cid.to_owned(), tx);
        rx
    }

    pub(crate) fn close_dialog(&self, cid: &str) {
        lock(&self.dialogs).remove(cid);
    }

    /// Delivers a message to its dialog; false if none is open.
    pub(crate) fn route(&self, cid: &str, msg: Msg) -> bool {
        match lock(&self.dialogs).get(cid) {
            Some(tx) => tx.send(msg).is_ok(),
            None => false,
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
