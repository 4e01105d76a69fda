//! One [`MsgStream`] consumed by many local tasks, each seeing every item.
//!
//! Whichever subscriber finds nothing buffered pulls the next item from the
//! stream and hands it to all; the others wait for it. A subscriber that
//! falls more than `capacity` items behind gets an error saying how many it
//! missed: nothing is dropped silently.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, broadcast};

use crate::errors::Error;
use crate::runtime::dialog::stream::MsgStream;
use crate::runtime::portal::clone_error;

type Item<T> = Result<Option<T>, Arc<Error>>;

struct Shared<T> {
    source: Mutex<(MsgStream<T>, bool)>,
    tx: broadcast::Sender<Item<T>>,
}

/// A subscriber of a broadcast stream. Clone it with
/// [`BroadcastReceiver::subscribe`].
pub struct BroadcastReceiver<T> {
    shared: Arc<Shared<T>>,
    rx: broadcast::Receiver<Item<T>>,
}

impl<T> std::fmt::Debug for BroadcastReceiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastReceiver")
            .field("subscribers", &self.shared.tx.receiver_count())
            .finish()
    }
}

impl<T> MsgStream<T>
where
    T: Serialize + DeserializeOwned + Clone + Send + 'static,
{
    /// Turns this stream's receiving side into a broadcast: every
    /// subscriber sees every item. Up to `capacity` items are kept for
    /// slow subscribers.
    pub fn broadcast(self, capacity: usize) -> BroadcastReceiver<T> {
        let (tx, rx) = broadcast::channel(capacity.max(1));
        BroadcastReceiver {
            shared: Arc::new(Shared {
                source: Mutex::new((self, false)),
                tx,
            }),
            rx,
        }
    }
}

fn unshare<T>(item: Item<T>) -> Result<Option<T>, Error> {
    item.map_err(|e| clone_error(&e))
}

impl<T> BroadcastReceiver<T>
where
    T: Serialize + DeserializeOwned + Clone + Send + 'static,
{
    /// Another subscriber, starting from the next item.
    pub fn subscribe(&self) -> BroadcastReceiver<T> {
        BroadcastReceiver {
            shared: self.shared.clone(),
            rx: self.shared.tx.subscribe(),
        }
    }

    /// The next item; `Ok(None)` at the end of the stream.
    pub async fn recv(&mut self) -> Result<Option<T>, Error> {
        use broadcast::error::TryRecvError;
        loop {
            match self.rx.try_recv() {
                Ok(item) => return unshare(item),
                Err(TryRecvError::Lagged(n)) => {
                    return Err(Error::Other(
                        format!("broadcast subscriber fell behind and missed {n} items").into(),
                    ));
                }
                Err(TryRecvError::Closed) => return Ok(None),
                Err(TryRecvError::Empty) => {}
            }
            tokio::select! {
                got = self.rx.recv() => match got {
                    Ok(item) => return unshare(item),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        return Err(Error::Other(
                            format!("broadcast subscriber fell behind and missed {n} items").into(),
                        ));
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(None),
                },
                mut src = self.shared.source.lock() => {
                    // Something may have arrived while we waited for the lock.
                    if !self.rx.is_empty() {
                        continue;
                    }
                    let (stream, ended) = &mut *src;
                    if *ended {
                        return Ok(None);
                    }
                    let item = stream.recv().await.map_err(Arc::new);
                    if matches!(item, Ok(None) | Err(_)) {
                        *ended = true;
                    }
                    // Our own receiver gets it too, on the next turn.
                    let _ = self.shared.tx.send(item);
                }
            }
        }
    }
}
