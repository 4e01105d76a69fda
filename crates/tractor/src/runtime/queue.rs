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
//!
//! Allocations: a queue carries a value of its user's beside its state
//! (a dialog's flow control, [`Attached`]), so both live in one
//! allocation; the first waiting task's waker is kept inline; and one item
//! alone in the shared queue is taken without trading the two `VecDeque`s,
//! so a call's acknowledgement and its answer, arriving apart, are queued
//! in one buffer rather than two.

use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::inbound::Inbound;
use super::peer::lock;

/// What both ends share: the queue's state and the user's value `E`.
#[derive(Debug)]
struct Shared<E> {
    state: Mutex<State>,
    attached: E,
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<Inbound>,
    /// Tasks waiting for an item (usually one).
    waiting: Wakers,
    /// The routing end is gone: no more items after `items`.
    tx_gone: bool,
    /// The receiving end is gone: nothing more is kept.
    rx_gone: bool,
}

/// The tasks waiting on a queue: the first inline (there is rarely a
/// second), so a dialog's first wait allocates nothing.
#[derive(Debug, Default)]
struct Wakers {
    first: Option<Waker>,
    more: Vec<Waker>,
}

impl Wakers {
    /// Adds `w` unless a waker that wakes the same task is already in.
    fn add(&mut self, w: &Waker) {
        match &self.first {
            None => self.first = Some(w.clone()),
            Some(f) if f.will_wake(w) => {}
            Some(_) => {
                if !self.more.iter().any(|m| m.will_wake(w)) {
                    self.more.push(w.clone());
                }
            }
        }
    }

    /// Wakes every task in.
    fn wake_all(self) {
        if let Some(f) = self.first {
            f.wake();
        }
        for w in self.more {
            w.wake();
        }
    }
}

/// A new queue carrying `attached`: its routing and receiving ends.
pub(crate) fn queue<E>(attached: E) -> (QueueTx<E>, QueueRx<E>) {
    let shared = Arc::new(Shared {
        state: Mutex::default(),
        attached,
    });
    (
        QueueTx(shared.clone()),
        QueueRx {
            shared,
            local: VecDeque::new(),
        },
    )
}

/// A queue's attached value, held apart from either end (it keeps the
/// queue's allocation, not its items: those go with the receiving end).
#[derive(Debug)]
pub(crate) struct Attached<E>(Arc<Shared<E>>);

impl<E> Clone for Attached<E> {
    fn clone(&self) -> Self {
        Attached(self.0.clone())
    }
}

impl<E> Deref for Attached<E> {
    type Target = E;
    fn deref(&self) -> &E {
        &self.0.attached
    }
}

/// The routing end, held by the connection's dialog table.
#[derive(Debug)]
pub(crate) struct QueueTx<E = ()>(Arc<Shared<E>>);

impl<E> QueueTx<E> {
    /// The value the queue carries.
    pub(crate) fn attached(&self) -> &E {
        &self.0.attached
    }

    /// A handle on the value the queue carries.
    pub(crate) fn attach(&self) -> Attached<E> {
        Attached(self.0.clone())
    }

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
        waiting.wake_all();
        Ok(())
    }
}

impl<E> Drop for QueueTx<E> {
    fn drop(&mut self) {
        let waiting = {
            let mut st = lock(&self.0.state);
            st.tx_gone = true;
            std::mem::take(&mut st.waiting)
        };
        waiting.wake_all();
    }
}

/// The receiving end, held by the dialog.
#[derive(Debug)]
pub(crate) struct QueueRx<E = ()> {
    shared: Arc<Shared<E>>,
    /// Items already taken from the shared queue, in order; only this end
    /// touches them, without a lock.
    local: VecDeque<Inbound>,
}

impl<E> QueueRx<E> {
    /// The value the queue carries.
    pub(crate) fn attached(&self) -> &E {
        &self.shared.attached
    }

    /// A handle on the value the queue carries.
    pub(crate) fn attach(&self) -> Attached<E> {
        Attached(self.shared.clone())
    }

    /// The next item: `Ready(None)` once the routing end is gone and
    /// everything queued was taken. Cancel safe: an item is taken only
    /// when it is returned.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Inbound>> {
        if let Some(m) = self.local.pop_front() {
            return Poll::Ready(Some(m));
        }
        let mut st = lock(&self.shared.state);
        match st.items.len() {
            0 => {}
            // Taken in place: the shared buffer stays where the next push
            // finds it (a swap would hand it this end's, maybe unallocated).
            1 => return Poll::Ready(st.items.pop_front()),
            _ => {
                std::mem::swap(&mut st.items, &mut self.local);
                drop(st);
                return Poll::Ready(self.local.pop_front());
            }
        }
        if st.tx_gone {
            return Poll::Ready(None);
        }
        st.waiting.add(cx.waker());
        Poll::Pending
    }
}

impl<E> Drop for QueueRx<E> {
    fn drop(&mut self) {
        let items = {
            let mut st = lock(&self.shared.state);
            st.rx_gone = true;
            st.waiting = Wakers::default();
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

    impl<E> QueueRx<E> {
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
        let (tx, mut rx) = queue(());
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
        let (tx, mut rx) = queue(());
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
        let (tx, rx) = queue(());
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

    #[tokio::test]
    async fn single_items_and_batches_interleave_in_order() {
        let (tx, mut rx) = queue(());
        // One alone (taken in place), two at once (traded), one pushed
        // while the receiver still holds the second of those.
        tx.push(item(0)).unwrap();
        assert_eq!(number(rx.recv().await.unwrap()), 0);
        tx.push(item(1)).unwrap();
        tx.push(item(2)).unwrap();
        assert_eq!(number(rx.recv().await.unwrap()), 1);
        tx.push(item(3)).unwrap();
        for n in 2..4 {
            assert_eq!(number(rx.recv().await.unwrap()), n);
        }
        drop(tx);
        assert!(rx.recv().await.is_none());
    }

    #[test]
    fn both_ends_and_a_handle_share_the_attached_value() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (tx, rx) = queue(AtomicUsize::new(0));
        let handle = rx.attach();
        tx.attached().fetch_add(1, Ordering::SeqCst);
        rx.attached().fetch_add(1, Ordering::SeqCst);
        drop(tx);
        drop(rx);
        assert_eq!(
            handle.load(Ordering::SeqCst),
            2,
            "the handle outlives both ends"
        );
    }

    #[test]
    fn pushes_are_refused_once_the_receiver_is_gone() {
        let (tx, rx) = queue(());
        tx.push(item(1)).unwrap();
        drop(rx);
        assert!(tx.push(item(2)).is_err());
    }
}
