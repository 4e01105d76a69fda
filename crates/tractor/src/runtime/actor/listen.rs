//! Listening: binding the actor's accept addresses, accepting and
//! handshaking connections (the `Aid` exchange), handing a spawned child's
//! connection to the nursery that waits for it, and dialling out.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::errors::Error;
use crate::ipc::{Addr, ChanReceiver, Channel, Listener};
use crate::msg::{Aid, Msg, Uid};
use crate::runtime::peer::{Peer, lock};

use super::Actor;

/// How long an accepted connection may take to send its `Aid`.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl Actor {
    /// Binds every address and starts accepting.
    pub(crate) async fn bind(&self, addrs: &[Addr]) -> Result<(), Error> {
        for a in addrs {
            let l = Listener::bind(a).await?;
            let bound = l.local_addr().clone();
            tracing::debug!(addr = %bound, "listening");
            self.inner
                .accept_addrs
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .push(bound);
            let me = self.clone();
            self.inner
                .conn_tasks
                .spawn(async move { me.accept_loop(l).await });
        }
        Ok(())
    }

    async fn accept_loop(self, l: Listener) {
        let stop = self.inner.stop_listening.clone();
        loop {
            let conn = tokio::select! {
                _ = stop.cancelled() => break,
                c = l.accept() => c,
            };
            match conn {
                Ok(conn) => {
                    let chan = Channel::new(conn, self.inner.rtv.wire_limits());
                    let me = self.clone();
                    self.inner
                        .conn_tasks
                        .spawn(async move { me.on_accepted(chan).await });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    // Back off briefly on resource exhaustion (EMFILE...).
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                    }
                }
            }
        }
        drop(l);
    }

    async fn on_accepted(self, mut chan: Channel) {
        let aid = match chan.handshake(&self.aid(), HANDSHAKE_TIMEOUT).await {
            Ok(aid) => aid,
            Err(e) => {
                tracing::info!(error = %e, "dropping connection");
                return;
            }
        };
        if aid.is_probe {
            chan.tx.close().await;
            return;
        }
        let waiter = lock(&self.inner.expecting).remove(&aid.uid());
        if let Some(w) = waiter {
            let _ = w.send((chan, aid));
            return;
        }
        let (peer, rx) = self.add_peer(aid, chan);
        self.serve_peer(peer, rx).await;
    }

    /// Registers a handshaken connection as a peer.
    pub(crate) fn add_peer(&self, aid: Aid, chan: Channel) -> (Arc<Peer>, ChanReceiver) {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let Channel { tx, rx } = chan;
        let peer = Arc::new(Peer::new(id, aid, tx));
        lock(&self.inner.peers).insert(id, peer.clone());
        (peer, rx)
    }

    /// Registers a peer and serves it in a tracked task.
    pub(crate) fn spawn_peer(&self, aid: Aid, chan: Channel) -> Arc<Peer> {
        let (peer, rx) = self.add_peer(aid, chan);
        let me = self.clone();
        let p = peer.clone();
        let entry = self.inner.tasks.enter_under(
            None,
            crate::devx::tasktree::TaskKind::Connection,
            format!(
                "reader peer={} pid={}",
                peer.aid.name,
                peer.aid.pid.unwrap_or_default()
            ),
        );
        self.inner
            .conn_tasks
            .spawn(entry.run(async move { me.serve_peer(p, rx).await }));
        peer
    }

    /// Serves a connection to a child we started in this process over a
    /// socket pair (`spawn::ChildLink`): its `Aid` is known (we made its
    /// uid), so the peer is usable at once, and the reader checks that the
    /// first frame is that `Aid` before serving the rest. Anything else
    /// (or the link closing first) ends the connection, as a failed
    /// handshake does.
    pub(crate) fn spawn_linked_peer(&self, aid: Aid, chan: Channel) -> Arc<Peer> {
        let (peer, mut rx) = self.add_peer(aid, chan);
        let me = self.clone();
        let p = peer.clone();
        let entry = self.inner.tasks.enter_under(
            None,
            crate::devx::tasktree::TaskKind::Connection,
            format!("reader peer={} (linked)", peer.aid.name),
        );
        self.inner.conn_tasks.spawn(entry.run(async move {
            let why = match rx.recv().await {
                Ok(Some(Msg::Aid(a))) if a.uid() == p.uid() => {
                    return me.serve_peer(p, rx).await;
                }
                Ok(Some(Msg::Aid(a))) => format!("it said it is {}", a.uid()),
                Ok(Some(other)) => format!("expected its Aid first, got {}", other.msg_type()),
                Ok(None) => "it closed the connection before sending its Aid".into(),
                Err(e) => e.to_string(),
            };
            tracing::warn!(child = %p.aid.name, "dropping the link to a child: {why}");
            p.shut();
            p.tx.close().await;
            lock(&me.inner.peers).remove(&p.id);
        }));
        peer
    }

    /// Marks `peer` as our parent.
    pub(crate) fn set_parent(&self, peer: Arc<Peer>) {
        let _ = self.inner.parent.set(peer);
    }

    /// Expects a spawned child with `uid` to connect back.
    pub(crate) fn expect_child(&self, uid: &Uid) -> oneshot::Receiver<(Channel, Aid)> {
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.expecting).insert(uid.clone(), tx);
        rx
    }

    pub(crate) fn unexpect_child(&self, uid: &Uid) {
        lock(&self.inner.expecting).remove(uid);
    }

    /// Dials `addr`, does the handshake and serves the connection.
    pub(crate) async fn dial(&self, addr: &Addr) -> Result<Arc<Peer>, Error> {
        let mut chan = Channel::connect(addr, self.inner.rtv.wire_limits()).await?;
        let aid = chan.handshake(&self.aid(), HANDSHAKE_TIMEOUT).await?;
        Ok(self.spawn_peer(aid, chan))
    }
}
