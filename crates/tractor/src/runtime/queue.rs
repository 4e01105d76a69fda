//! The queue between a connection's reader and one dialog.
//!
//! Why not a `tokio::sync::mpsc` channel (what this replaced): a stream
//! item is pushed by the reader and taken by the dialog's receiver, and
//! the channel paid for that per item — a slot in its block list, its
//! semaphore, and on the receiving side a `tokio::sync::Mutex` around the
//! receiver (the semaphore's lock again on every release). The profile of
//! `stream_throughput_64b` had that machinery at 17 % of the whole run,
//! more than the receiver's decoding of the items.
//!
//! Here the reader appends to a `VecDeque` under a plain mutex (once per
//! message, uncontended almost always), and the receiver, when its own
//! local queue is empty, swaps the whole shared queue out under that lock
//! once: a read batch of a thousand items costs the receiver one lock, not
//! a thousand. The two `VecDeque`s trade places, so neither end allocates
//! once both have grown.
//!
//! Ends, as the channel had them: when the routing end ([`QueueTx`]) is
//! dropped (the dialog closed, or the connection gone) the receiver gets
//! what is queued and then `None`; when the receiving end ([`QueueRx`])
//! is dropped, pushes are refused and what was queued is dropped.
//!
//! More than one task may wait on one receiver at a time (a context's
//! stream and its `result()` in two tasks, say; the caller keeps the
//! receiver behind a lock): every waiting task is woken by the next push.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::inbound::Inbound;
use super::peer::lock;

/// What both ends share.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<Inbound>,
    /// Tasks waiting for an item (usually one).
    waiting: Vec<Waker>,
    /// The routing end is gone: no more items after `items`.
    tx_gone: bool,
    /// The receiving end is gone: nothing more is kept.
    rx_gone: bool,
}

/// A new queue: its routing and receiving ends.
pub(crate) fn queue() -> (QueueTx, QueueRx) {
    let shared = Arc::new(Shared::default());
    (
        QueueTx(shared.clone()),
        QueueRx {
            shared,
            local: VecDeque::new(),
        },
    )
}

/// The routing end, held by the connection's dialog table.
#[derive(Debug)]
pub(crate) struct QueueTx(Arc<Shared>);

impl QueueTx {
    /// Appends `m`, waking the receiver if it waits; hands `m` back when
    /// the receiving end is gone.
    pub(crate) fn push(&self, m: Inbound) -> Result<(), Inbound> {
        let waiting = {
            let mut st = lock(&self.0.state);
            if st.rx_gone {
                return Err(m);
            }
            st.items.push_back(m);
            // Taken by the first push after the receiver went to sleep;
            // the rest of a read batch finds none to wake.
            std::mem::take(&mut st.waiting)
        };
        for w in waiting {
            w.wake();
        }
        Ok(())
    }
}

impl Drop for QueueTx {
    fn drop(&mut self) {
        let waiting = {
            let mut st = lock(&self.0.state);
            st.tx_gone = true;
            std::mem::take(&mut st.waiting)
        };
        for w in waiting {
            w.wake();
        }
    }
}

/// The receiving end, held by the dialog.
#[derive(Debug)]
pub(crate) struct QueueRx {
    shared: Arc<Shared>,
    /// Items already taken from the shared queue, in order; only this end
    /// touches them, without a lock.
    local: VecDeque<Inbound>,
}

impl QueueRx {
    /// The next item: `Ready(None)` once the routing end is gone and
    /// everything queued was taken. Cancel safe: an item is taken only
    /// when it is returned.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Inbound>> {
        if let Some(m) = self.local.pop_front() {
            return Poll::Ready(Some(m));
        }
        let mut st = lock(&self.shared.state);
        if !st.items.is_empty() {
            std::mem::swap(&mut st.items, &mut self.local);
            drop(st);
            return Poll::Ready(self.local.pop_front());
        }
        if st.tx_gone {
            return Poll::Ready(None);
        }
        if !st.waiting.iter().any(|w| w.will_wake(cx.waker())) {
            st.waiting.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for QueueRx {
    fn drop(&mut self) {
        let items = {
            let mut st = lock(&self.shared.state);
            st.rx_gone = true;
            st.waiting.clear();
            std::mem::take(&mut st.items)
        };
        // Dropped outside the lock (they may hold the last reference to a
        // read buffer).
        drop(items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{PayloadKind, RawPayload};

    fn item(n: u8) -> Inbound {
        Inbound::Pld(PayloadKind::Yield, RawPayload::encoded(&n).unwrap())
    }

    impl QueueRx {
        async fn recv(&mut self) -> Option<Inbound> {
            std::future::poll_fn(|cx| self.poll_recv(cx)).await
        }
    }

    fn number(m: Inbound) -> u8 {
        match m {
            Inbound::Pld(_, p) => p.decode::<u8>().expect("a number"),
            other => panic!("not an item: {other:?}"),
        }
    }

    #[tokio::test]
    async fn items_arrive_in_order_across_swaps_then_the_end() {
        let (tx, mut rx) = queue();
        for n in 0..3 {
            tx.push(item(n)).unwrap();
        }
        assert_eq!(number(rx.recv().await.unwrap()), 0);
        // Pushed while the receiver still holds 1 and 2 locally.
        tx.push(item(3)).unwrap();
        for n in 1..4 {
            assert_eq!(number(rx.recv().await.unwrap()), n);
        }
        tx.push(item(4)).unwrap();
        drop(tx);
        assert_eq!(number(rx.recv().await.unwrap()), 4, "queued before the end");
        assert!(rx.recv().await.is_none());
        assert!(rx.recv().await.is_none(), "the end stays the end");
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_by_a_push_from_another_task() {
        let (tx, mut rx) = queue();
        let got = tokio::spawn(async move { rx.recv().await.map(number) });
        tokio::task::yield_now().await;
        tx.push(item(7)).unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(30), got)
            .await
            .expect("woken")
            .unwrap();
        assert_eq!(got, Some(7));
    }

    #[tokio::test]
    async fn every_waiting_task_is_woken() {
        let (tx, rx) = queue();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        // Two tasks poll one receiver (through a std-style short lock per
        // poll, as a context does); one gets the item, the other the end.
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    std::future::poll_fn(|cx| match rx.try_lock() {
                        Ok(mut rx) => rx.poll_recv(cx),
                        Err(_) => {
                            cx.waker().wake_by_ref();
                            Poll::Pending
                        }
                    })
                    .await
                    .map(number)
                })
            })
            .collect();
        tokio::task::yield_now().await;
        tx.push(item(1)).unwrap();
        drop(tx);
        let mut got = Vec::new();
        for w in waiters {
            got.push(
                tokio::time::timeout(std::time::Duration::from_secs(30), w)
                    .await
                    .expect("woken")
                    .unwrap(),
            );
        }
        got.sort();
        assert_eq!(got, vec![None, Some(1)]);
    }

    #[test]
    fn pushes_are_refused_once_the_receiver_is_gone() {
        let (tx, rx) = queue();
        tx.push(item(1)).unwrap();
        drop(rx);
        assert!(tx.push(item(2)).is_err());
    }
}
