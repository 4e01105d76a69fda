//! Flow control: a context whose stream buffer is full slows its sender
//! down (the connection stops being read) and, past [`OVERRUN_STALL`],
//! refuses the item with a `StreamOverrun` error instead of losing it.

use std::sync::Arc;
use std::time::Duration;

use crate::errors::pack_error;
use crate::msg::Msg;
use crate::runtime::peer::{Peer, Route};

use super::Actor;

/// How long a dialog may stay full (its stream buffer at capacity with no
/// item taken) before further items for it are refused with a
/// `StreamOverrun` error. The connection keeps being read meanwhile, and
/// only that dialog's sender is refused (see `Peer::route`).
pub const OVERRUN_STALL: Duration = Duration::from_secs(1);

impl Actor {
    /// A stream item arrived for a context whose buffer is full: the item
    /// is refused and its sender told, never silently lost.
    pub(super) fn reply_overrun(&self, peer: &Arc<Peer>, cid: String, cap: usize) {
        tracing::warn!(%cid, cap, peer = %peer.aid.name, "stream overrun");
        let mut err = pack_error(
            self.uid(),
            "StreamOverrun",
            format!(
                "stream overrun: actor '{}' has {cap} unread messages in this context; \
                 the message was refused (open the stream with allow_overruns to buffer without bound)",
                self.name()
            ),
            String::new(),
            Some(cid),
        );
        err.sender = Some(peer.uid());
        self.send_runtime_reply(peer, Msg::Error(err));
    }

    /// A stream item for a dialog at its overflow limit whose reader is
    /// draining it: stop reading this connection until that reader takes
    /// an item (the sender's socket fills and it slows down), or refuse
    /// the item once the reader has been idle for [`OVERRUN_STALL`].
    pub(super) async fn wait_for_room(&self, peer: &Arc<Peer>, full: (String, Route)) {
        let (cid, mut route) = full;
        while let Route::Full { msg, cap, flow } = route {
            let room = tokio::select! {
                r = flow.wait_for_room() => r,
                _ = self.inner.stop_reading.cancelled() => return,
            };
            if !room {
                return self.reply_overrun(peer, cid, cap);
            }
            route = peer.route(&cid, *msg);
        }
        if let Route::Overrun { cap } = route {
            self.reply_overrun(peer, cid, cap);
        }
    }
}
