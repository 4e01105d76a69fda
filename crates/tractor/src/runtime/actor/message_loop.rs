//! The message loop of one connection: read, route by `cid` (a `Start`
//! becomes a task), count undecodable messages, and answer what the
//! runtime itself owes the peer without making the reader wait.
//!
//! Frames are taken a read batch at a time (every frame the last read
//! brought in) and decoded in place ([`msg::decode_ref`]): a payload
//! message's `pld` stays a slice of its frame ([`RawPayload`]) until the
//! dialog's reader deserializes it into its own type. The routable
//! messages of a batch go to their dialogs under one lock of the dialog
//! table ([`Peer::route_batch`]); a `Start` or any other message first
//! delivers what came before it, so order on the connection is kept.

use std::sync::Arc;

use bytes::Bytes;

use crate::errors::pack_error;
use crate::ipc::{ChanError, ChanReceiver};
use crate::msg::{self, Msg, MsgRef, PayloadKind, RawPayload};
use crate::runtime::inbound::Inbound;
use crate::runtime::peer::{Peer, Route, lock};

use super::Actor;

/// A peer whose messages fail to decode this many times in a row is
/// dropped (Python tractor's channel gives up after the same number).
pub const BAD_FRAME_STRIKES: u32 = 5;

/// At most this many frames are routed as one batch.
const MAX_BATCH: usize = 1024;

/// What ended a read batch before it was full or the buffer empty.
enum BatchEnd {
    /// The peer closed the connection.
    Eof,
    /// A frame that could not be read (fatal or not: see
    /// [`ChanError::is_fatal`]).
    Bad(ChanError),
}

/// What the loop does after a batch.
enum Next {
    Read,
    Stop,
}

impl Actor {
    /// The message loop of one connection.
    pub(crate) async fn serve_peer(self, peer: Arc<Peer>, mut rx: ChanReceiver) {
        let stop = self.inner.stop_reading.clone();
        let mut strikes = 0u32;
        // The batch's frames, and what ended it early if anything did (the
        // end of the stream, or a bad frame): kept apart so each frame in
        // the batch is one `Bytes`, not a `Result` the size of an error.
        let mut frames: Vec<Bytes> = Vec::new();
        loop {
            // Biased: no random branch order to draw for every read; the
            // stop token is checked first, as before each batch.
            let first = tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                f = rx.recv_frame() => f,
            };
            let mut tail = match first {
                Ok(Some(frame)) => {
                    frames.push(frame);
                    None
                }
                Ok(None) => Some(BatchEnd::Eof),
                Err(e) => Some(BatchEnd::Bad(e)),
            };
            // The rest of the batch: frames already read (no waiting).
            while tail.is_none() && frames.len() < MAX_BATCH {
                match rx.try_recv_frame() {
                    None => break,
                    Some(Ok(Some(frame))) => frames.push(frame),
                    Some(Ok(None)) => tail = Some(BatchEnd::Eof),
                    Some(Err(e)) => tail = Some(BatchEnd::Bad(e)),
                }
            }
            let next = self
                .handle_batch(&peer, rx.max_depth(), &frames, tail.as_ref(), &mut strikes)
                .await;
            frames.clear();
            if let Next::Stop = next {
                break;
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
            Msg::Start(start) => {
                self.on_start(peer, super::tasks::ServedStart::of_start(peer, start));
            }
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
                match peer.route(&cid, Inbound::from(other)) {
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

/// A read batch's messages waiting to be routed, each with its cid (a
/// slice of its frame). Inline up to a few: most batches on a connection
/// with one call in flight hold one or two.
type Pending<'a> = smallvec::SmallVec<[(&'a str, Inbound); 4]>;

impl Actor {
    /// Decodes and routes one read batch, in order, then what ended it
    /// (`tail`: the end of the stream, or a frame that could not be read).
    async fn handle_batch(
        &self,
        peer: &Arc<Peer>,
        max_depth: usize,
        frames: &[Bytes],
        tail: Option<&BatchEnd>,
        strikes: &mut u32,
    ) -> Next {
        let mut pending = Pending::new();
        for frame in frames {
            let m = match msg::decode_ref_with_depth(frame, max_depth) {
                Ok(m) => m,
                Err(source) => {
                    self.deliver(peer, &mut pending).await;
                    let e = ChanError::Decode {
                        peer: peer.tx.peer().to_owned(),
                        source,
                    };
                    if let Next::Stop = self.on_bad_frame(peer, &e, strikes) {
                        return Next::Stop;
                    }
                    continue;
                }
            };
            *strikes = 0;
            let raw = |kind, p: msg::PayloadRef<'_>| {
                Inbound::Pld(kind, RawPayload::of_frame(frame, p.pld))
            };
            match m {
                MsgRef::Started(p) => pending.push((p.cid, raw(PayloadKind::Started, p))),
                MsgRef::Yield(p) => pending.push((p.cid, raw(PayloadKind::Yield, p))),
                MsgRef::Return(p) => pending.push((p.cid, raw(PayloadKind::Return, p))),
                MsgRef::Stop { cid } => pending.push((cid, Inbound::Stop)),
                MsgRef::StartAck { cid, functype } => {
                    pending.push((cid, Inbound::StartAck(functype)));
                }
                MsgRef::Start(s) => {
                    self.deliver(peer, &mut pending).await;
                    self.on_start(peer, super::tasks::ServedStart::of_frame(peer, frame, &s));
                }
                MsgRef::Other(other) => {
                    self.deliver(peer, &mut pending).await;
                    if let Some(full) = self.dispatch(peer, *other) {
                        self.wait_for_room(peer, full).await;
                    }
                }
            }
        }
        self.deliver(peer, &mut pending).await;
        match tail {
            None => Next::Read,
            Some(BatchEnd::Eof) => {
                tracing::debug!(peer = %peer.aid.name, "peer closed the connection");
                Next::Stop
            }
            Some(BatchEnd::Bad(e)) => self.on_bad_frame(peer, e, strikes),
        }
    }

    /// Routes the messages gathered so far under one lock; an item for a
    /// dialog at its overflow limit waits for room (then the rest go on).
    async fn deliver(&self, peer: &Arc<Peer>, pending: &mut Pending<'_>) {
        let mut batch = pending.drain(..);
        loop {
            let left = peer.route_batch(&mut batch);
            if left.is_empty() {
                return;
            }
            for (cid, route) in left {
                match route {
                    Route::Overrun { cap } => self.reply_overrun(peer, cid, cap),
                    full @ Route::Full { .. } => self.wait_for_room(peer, (cid, full)).await,
                    Route::Delivered | Route::Unknown => {}
                }
            }
        }
    }

    /// A frame that could not be read: counted, answered (when it names
    /// its call), and the connection dropped after too many in a row or
    /// on a fatal error.
    fn on_bad_frame(&self, peer: &Arc<Peer>, e: &ChanError, strikes: &mut u32) -> Next {
        if e.is_fatal() {
            tracing::warn!(error = %e, "connection lost");
            return Next::Stop;
        }
        *strikes += 1;
        if *strikes >= BAD_FRAME_STRIKES {
            tracing::warn!(error = %e, peer = %peer.aid.name, "{} bad messages in a row; dropping the connection", *strikes);
            return Next::Stop;
        }
        tracing::warn!(error = %e, "skipping bad message");
        self.reply_msg_type_error(peer, e);
        Next::Read
    }
}
