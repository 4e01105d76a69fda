//! The message loop of one connection: read, route by `cid` (a `Start`
//! becomes a task), count undecodable messages, and answer what the
//! runtime itself owes the peer without making the reader wait.

use std::sync::Arc;

use crate::errors::pack_error;
use crate::ipc::ChanReceiver;
use crate::msg::Msg;
use crate::runtime::peer::{Peer, Route, lock};

use super::Actor;

/// A peer whose messages fail to decode this many times in a row is
/// dropped (Python tractor's channel gives up after the same number).
pub const BAD_FRAME_STRIKES: u32 = 5;

impl Actor {
    /// The message loop of one connection.
    pub(crate) async fn serve_peer(self, peer: Arc<Peer>, mut rx: ChanReceiver) {
        let stop = self.inner.stop_reading.clone();
        let mut strikes = 0u32;
        loop {
            // Biased: no random branch order to draw for every message;
            // the stop token is checked first, as before the read.
            let m = tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                m = rx.recv() => m,
            };
            match m {
                Ok(Some(msg)) => {
                    strikes = 0;
                    if let Some(full) = self.dispatch(&peer, msg) {
                        self.wait_for_room(&peer, full).await;
                    }
                }
                Ok(None) => {
                    tracing::debug!(peer = %peer.aid.name, "peer closed the connection");
                    break;
                }
                Err(e) if !e.is_fatal() => {
                    strikes += 1;
                    if strikes >= BAD_FRAME_STRIKES {
                        tracing::warn!(error = %e, peer = %peer.aid.name, "{strikes} bad messages in a row; dropping the connection");
                        break;
                    }
                    tracing::warn!(error = %e, "skipping bad message");
                    self.reply_msg_type_error(&peer, &e);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "connection lost");
                    break;
                }
            }
        }
        peer.shut();
        // Close our direction too, so the peer's reader sees EOF as well.
        peer.tx.close().await;
        lock(&self.inner.peers).remove(&peer.id);
        let is_parent = self
            .inner
            .parent
            .get()
            .is_some_and(|p| Arc::ptr_eq(p, &peer));
        if is_parent && !self.is_cancelled() {
            // Stricter than Python (spec §8): a child whose parent is gone
            // has no one to report to, so it shuts down instead of
            // lingering as an orphan.
            tracing::warn!("lost the connection to our parent; cancelling");
            self.cancel(Some(peer.uid()));
        }
    }

    fn reply_msg_type_error(&self, peer: &Arc<Peer>, e: &crate::ipc::ChanError) {
        let crate::ipc::ChanError::Decode { source, .. } = e else {
            return;
        };
        let Some(cid) = source.cid.clone() else {
            return;
        };
        let mut err = pack_error(
            self.uid(),
            "MsgTypeError",
            source.to_string(),
            String::new(),
            Some(cid),
        );
        err.sender = Some(peer.uid());
        self.send_runtime_reply(peer, Msg::Error(err));
    }

    /// Sends a reply the runtime itself owes a peer (an error for a bad
    /// message, a refused `Start`, an overrun) without making the reader
    /// wait, within the peer's [`MAX_REPLIES_IN_FLIGHT`] budget: past it
    /// the reply is dropped and logged (the peer is not reading them).
    ///
    /// [`MAX_REPLIES_IN_FLIGHT`]: crate::runtime::peer::MAX_REPLIES_IN_FLIGHT
    pub(super) fn send_runtime_reply(&self, peer: &Arc<Peer>, msg: Msg) {
        if !peer.replies.reserve() {
            tracing::warn!(
                peer = %peer.aid.name,
                msg = msg.msg_type(),
                "too many replies in flight to this peer; dropping one"
            );
            return;
        }
        let peer = peer.clone();
        self.inner.conn_tasks.spawn(async move {
            let _ = peer.tx.send(&msg).await;
            peer.replies.done();
        });
    }

    /// Routes one message. Only a stream item for a dialog at its
    /// overflow limit comes back, to wait for room (see [`Peer::route`]).
    fn dispatch(&self, peer: &Arc<Peer>, msg: Msg) -> Option<(String, Route)> {
        match msg {
            Msg::Start(start) => self.on_start(peer, start),
            Msg::Aid(_) | Msg::SpawnSpec(_) => {
                tracing::warn!(peer = %peer.aid.name, msg = msg.msg_type(), "unexpected message; ignored");
            }
            other => {
                let Some(cid) = other.cid().map(str::to_owned) else {
                    if let Msg::Error(e) = &other {
                        tracing::warn!(error = %crate::errors::RemoteActorError::from_msg(e.clone()), "runtime error from peer");
                    }
                    return None;
                };
                match peer.route(&cid, other) {
                    Route::Delivered => {}
                    Route::Unknown => {
                        tracing::debug!(%cid, "message for an unknown or finished dialog; dropped");
                    }
                    Route::Overrun { cap } => self.reply_overrun(peer, cid, cap),
                    full @ Route::Full { .. } => return Some((cid, full)),
                }
            }
        }
        None
    }
}
