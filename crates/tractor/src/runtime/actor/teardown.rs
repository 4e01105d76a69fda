//! Teardown (spec §8), in two halves so whoever built the actor can
//! unregister it in between: stop serving (cancel tasks, stop listening),
//! then close the connections.

use std::sync::Arc;
use std::time::Duration;

use crate::runtime::peer::{Peer, lock};

use super::Actor;

impl Actor {
    /// First half of shutting the actor down (spec §8): cancel served
    /// tasks, wait for them (within twice the grace period), stop
    /// listening. Whoever built the actor unregisters it next, then calls
    /// [`Actor::close_connections`].
    pub(crate) async fn stop_serving(&self) {
        let grace = self.inner.rtv.cancel_grace();
        self.cancel(None);
        self.inner.rpc_tasks.close();
        if tokio::time::timeout(grace * 2, self.inner.rpc_tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some RPC tasks did not finish within the grace period");
        }
        self.inner.stop_listening.cancel();
    }

    /// Second half of shutting the actor down: close every connection and
    /// stop the connection tasks.
    pub(crate) async fn close_connections(&self) {
        let peers: Vec<Arc<Peer>> = lock(&self.inner.peers).values().cloned().collect();
        for p in &peers {
            p.tx.close().await;
        }
        let all_gone = async {
            for p in &peers {
                p.gone.cancelled().await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(3), all_gone).await;
        self.inner.stop_reading.cancel();
        self.inner.conn_tasks.close();
        let _ = tokio::time::timeout(Duration::from_secs(1), self.inner.conn_tasks.wait()).await;
        lock(&self.inner.peers).clear();
    }
}
