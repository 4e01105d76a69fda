//! A connection to another actor, after the handshake.
//!
//! Messages are routed by `cid` (spec §5): replies to calls we made and
//! stream traffic of contexts we serve both land in `dialogs`; the tasks
//! the peer asked us to run are in `served`, so `self._cancel_task` can
//! find them and so they are cancelled when the peer goes away.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use tokio_util::sync::CancellationToken;

use super::cancel::CancelScope;
use super::inbound::Inbound;
use super::queue::{Attached, QueueRx, QueueTx, queue};
use crate::ipc::ChanSender;
use crate::msg::{Aid, Uid};

/// A table keyed by call id. Looked up for every routed frame, so hashed
/// with foldhash rather than std's SipHash (several times faster on
/// 36-byte keys). Its seed is random per process, so a peer cannot pick
/// colliding cids without seeing our table; and the peers are actors of
/// our own tree or the hosts mutual TLS let in. Keyed by the shared
/// `Arc<str>` the call and its task hold too (looked up by `&str`).
pub(crate) type CidMap<V> = HashMap<Arc<str>, V, foldhash::fast::RandomState>;

/// One live connection to a peer actor.
#[derive(Debug)]
pub struct Peer {
    /// Unique per connection in this actor.
    pub id: u64,
    /// The peer's handshake identity.
    pub aid: Aid,
    /// The peer's name (`aid.name`), shared by the task-tree entries of
    /// the calls it makes here.
    pub(crate) name: Arc<str>,
    /// Sending half (shared by every task using the connection).
    pub tx: ChanSender,
    /// cid → the local side of a dialog on this connection.
    pub(crate) dialogs: Mutex<CidMap<DialogTx>>,
    /// cid → the scope of a task this peer started here.
    pub(crate) served: Mutex<CidMap<CancelScope>>,
    /// Fires when the connection's reader loop has ended.
    pub(crate) gone: CancellationToken,
    /// Runtime replies (errors for bad frames, refused `Start`s,
    /// overruns) on their way to this peer.
    pub(crate) replies: ReplyBudget,
}

/// Counts runtime replies in flight to one peer, up to
/// [`MAX_REPLIES_IN_FLIGHT`].
#[derive(Debug, Default)]
pub(crate) struct ReplyBudget(AtomicUsize);

impl ReplyBudget {
    /// Reserves room for one reply; false when [`MAX_REPLIES_IN_FLIGHT`]
    /// are already on their way. Give it back with [`ReplyBudget::done`].
    pub(crate) fn reserve(&self) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < MAX_REPLIES_IN_FLIGHT).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives back a reservation.
    pub(crate) fn done(&self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How many runtime replies may be in flight to one peer. A peer that
/// provokes replies faster than it reads them gets the excess dropped
/// (logged) instead of making us hold unbounded tasks and buffers.
pub(crate) const MAX_REPLIES_IN_FLIGHT: usize = 64;

impl Peer {
    pub(crate) fn new(id: u64, aid: Aid, tx: ChanSender) -> Self {
        Peer {
            id,
            name: aid.name.as_str().into(),
            aid,
            tx,
            dialogs: Mutex::new(CidMap::default()),
            served: Mutex::new(CidMap::default()),
            gone: CancellationToken::new(),
            replies: ReplyBudget::default(),
        }
    }

    /// The peer's uid.
    pub fn uid(&self) -> Uid {
        self.aid.uid()
    }

    /// Opens a dialog for `cid`: messages with that cid arrive on the
    /// returned receiver until [`Peer::close_dialog`]. `cap` is its stream
    /// buffer (see [`Peer::route`] for what happens past it); `None` is
    /// unbounded (overruns allowed). Control messages are never refused.
    pub(crate) fn open_dialog(&self, cid: Arc<str>, cap: Option<usize>) -> DialogRx {
        // The flow state rides in the queue's allocation.
        let (tx, rx) = queue(Flow::opened());
        lock(&self.dialogs).insert(cid, DialogTx { tx, cap });
        DialogRx { rx }
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

    /// Delivers a message to its dialog. One dialog's full buffer does
    /// not hold up the connection's other dialogs:
    ///
    /// * up to `cap` unread stream items (`Yield`) are the buffer;
    /// * past it the dialog is full, and items are still queued, up to
    ///   [`overflow_limit`] more, while the connection keeps being read;
    /// * a full dialog whose reader has taken nothing for
    ///   [`OVERRUN_STALL`] refuses further items at once
    ///   ([`Route::Overrun`]: only its sender gets `StreamOverrun`);
    /// * at the overflow limit, a reader that took an item within the last
    ///   [`OVERRUN_STALL`] is draining a flood: the item comes back as
    ///   [`Route::Full`] and the connection's reader waits for room (the
    ///   socket then slows the sender down), at most until that reader
    ///   has been idle for [`OVERRUN_STALL`]; an idle reader's item is
    ///   refused instead.
    ///
    /// [`OVERRUN_STALL`]: super::actor::OVERRUN_STALL
    pub(crate) fn route(&self, cid: &str, msg: Inbound) -> Route {
        Self::route_locked(&lock(&self.dialogs), cid, msg)
    }

    /// Routes a read batch under one lock of the dialog table: each
    /// message as [`Peer::route`] would, in order. A dialog's receiver is
    /// woken at most once per batch (its queue's waker is taken by the
    /// first message; the rest find none registered). Stops at the first
    /// item that must wait for room and returns it with what is left.
    pub(crate) fn route_batch<'a, I>(&self, batch: &mut I) -> Vec<(String, Route)>
    where
        I: Iterator<Item = (&'a str, Inbound)>,
    {
        let dialogs = lock(&self.dialogs);
        let mut out = Vec::new();
        for (cid, msg) in batch.by_ref() {
            match Self::route_locked(&dialogs, cid, msg) {
                Route::Delivered => {}
                Route::Unknown => {
                    tracing::debug!(%cid, "message for an unknown or finished dialog; dropped");
                }
                full @ Route::Full { .. } => {
                    out.push((cid.to_owned(), full));
                    break;
                }
                other => out.push((cid.to_owned(), other)),
            }
        }
        out
    }

    fn route_locked(dialogs: &CidMap<DialogTx>, cid: &str, msg: Inbound) -> Route {
        let Some(d) = dialogs.get(cid) else {
            return Route::Unknown;
        };
        let is_yield = msg.is_yield();
        if is_yield && let Some(cap) = d.cap {
            match d.tx.attached().admit(cap) {
                Admit::Queue => {}
                Admit::Refuse => return Route::Overrun { cap },
                Admit::Wait => {
                    return Route::Full {
                        msg: Box::new(msg),
                        cap,
                        flow: d.tx.attach(),
                    };
                }
            }
        }
        if let Inbound::Error(e) = &msg {
            // Seen at once by senders, even before the receiver reads it.
            let _ = d.tx.attached().errored.set((**e).clone());
        }
        if is_yield {
            d.tx.attached().pending.fetch_add(1, Ordering::SeqCst);
        }
        if d.tx.push(msg).is_ok() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_that_has_not_started_reading_is_waited_for_until_the_stall() {
        let cap = 4;
        let at_limit = cap + overflow_limit(cap);
        let flow = Flow::opened();
        flow.pending.store(at_limit, Ordering::SeqCst);
        assert!(
            matches!(flow.admit(cap), Admit::Wait),
            "a dialog opened just now refused an item before its reader's first recv"
        );
        // Idle past the stall since it opened: refused.
        let long_ago = clock_ms().saturating_sub(stall_ms() + 100).max(1);
        flow.last_take.store(long_ago, Ordering::SeqCst);
        assert!(matches!(flow.admit(cap), Admit::Refuse));
        // Under the limit an item is queued whatever the reader does.
        flow.pending.store(cap + 1, Ordering::SeqCst);
        assert!(matches!(flow.admit(cap), Admit::Queue));
    }

    #[test]
    fn runtime_replies_in_flight_are_bounded() {
        let budget = ReplyBudget::default();
        for _ in 0..MAX_REPLIES_IN_FLIGHT {
            assert!(budget.reserve());
        }
        assert!(!budget.reserve(), "one past the bound is refused");
        budget.done();
        assert!(budget.reserve(), "a finished reply frees its room");
    }

    #[test]
    fn an_ended_receiver_reads_the_end_at_once() {
        use futures_util::FutureExt;
        // What a context made a second time for one call is given.
        let mut rx = DialogRx::ended();
        assert!(matches!(rx.recv().now_or_never(), Some(None)));
    }
}

/// How many stream items past its `cap` a full dialog may still queue
/// while the connection keeps being read: as many again as the buffer,
/// and at least 16 Ki (about the slack a connection's socket buffers give
/// a fast sender).
pub(crate) fn overflow_limit(cap: usize) -> usize {
    cap.max(16 * 1024)
}

/// Milliseconds on the coarse monotonic clock (a few milliseconds of
/// resolution, against a one-second stall: plenty), never 0 (0 means
/// "never"). Read for every stream item taken: the coarse clock is a
/// load from the vDSO page, where `Instant::now` reads the TSC.
fn clock_ms() -> u64 {
    use nix::time::{ClockId, clock_gettime};
    let Ok(t) = clock_gettime(ClockId::CLOCK_MONOTONIC_COARSE) else {
        // Not on this kernel: the precise clock.
        static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let base = *BASE.get_or_init(std::time::Instant::now);
        return base.elapsed().as_millis() as u64 + 1;
    };
    t.tv_sec() as u64 * 1000 + t.tv_nsec() as u64 / 1_000_000 + 1
}

fn stall_ms() -> u64 {
    super::actor::OVERRUN_STALL.as_millis() as u64
}

/// The flow-control state of one dialog, shared by its routing end (the
/// connection's reader) and its receiving end.
#[derive(Debug, Default)]
pub(crate) struct Flow {
    /// Stream items queued and not yet taken.
    pending: AtomicUsize,
    /// When the dialog was found full with nothing taken since
    /// ([`clock_ms`]); 0 while it is not.
    full_since: AtomicU64,
    /// When the receiver last took a stream item, or else when the
    /// dialog opened ([`clock_ms`]; 0 only for a `Flow` never opened).
    last_take: AtomicU64,
    /// Notified when the receiver takes a stream item, if a router is
    /// waiting for room ([`Flow::waiting`]).
    room: tokio::sync::Notify,
    /// Routers in [`Flow::wait_for_room`]: the receiver only takes
    /// `room`'s lock to wake one when there is one.
    waiting: AtomicUsize,
    /// The error the peer sent for this dialog, if any (read by a
    /// context's senders through an [`ErrorSlot`]; inline, so a call's
    /// dialog costs no allocation for it).
    errored: std::sync::OnceLock<crate::msg::ErrorMsg>,
}

/// Where a dialog's error from the peer lands: readable by whoever holds
/// it, without the dialog's receiver.
#[derive(Debug, Clone)]
pub(crate) struct ErrorSlot(Attached<Flow>);

impl ErrorSlot {
    /// The error the peer sent for this dialog, once one arrived.
    pub(crate) fn get(&self) -> Option<&crate::msg::ErrorMsg> {
        self.0.errored.get()
    }
}

/// What to do with a stream item for a dialog with a bounded buffer.
enum Admit {
    Queue,
    Refuse,
    Wait,
}

impl Flow {
    /// The state of a dialog opening now. Its receiver counts as active
    /// from this moment: one that has not taken its first item yet is
    /// starting, not idle, until [`OVERRUN_STALL`] has passed. (Counted
    /// as idle from the start, a receiver that was a few milliseconds
    /// late to its first `recv` saw a fast sender's items past the
    /// overflow limit refused as overruns.)
    ///
    /// [`OVERRUN_STALL`]: super::actor::OVERRUN_STALL
    fn opened() -> Flow {
        let flow = Flow::default();
        flow.last_take.store(clock_ms(), Ordering::SeqCst);
        flow
    }

    fn admit(&self, cap: usize) -> Admit {
        let waiting = self.pending.load(Ordering::SeqCst);
        if waiting < cap {
            return Admit::Queue;
        }
        let now = clock_ms();
        let since =
            match self
                .full_since
                .compare_exchange(0, now, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => now,
                Err(earlier) => earlier,
            };
        if now.saturating_sub(since) >= stall_ms() {
            return Admit::Refuse;
        }
        if waiting < cap.saturating_add(overflow_limit(cap)) {
            return Admit::Queue;
        }
        if self.reader_active(now) {
            Admit::Wait
        } else {
            Admit::Refuse
        }
    }

    /// True if the receiver took an item within the last OVERRUN_STALL.
    fn reader_active(&self, now: u64) -> bool {
        let last = self.last_take.load(Ordering::SeqCst);
        last != 0 && now.saturating_sub(last) < stall_ms()
    }

    /// Waits until the receiver takes an item (true), or until it has
    /// been idle for OVERRUN_STALL (false).
    pub(crate) async fn wait_for_room(&self) -> bool {
        /// Counts this waiter out however the wait ends (dropped too).
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _counted = Waiting(&self.waiting);
        self.wait_for_a_take().await
    }

    /// [`Flow::wait_for_room`] while counted in `waiting`.
    ///
    /// A take shows as a drop of `pending`: the waiter is the connection's
    /// reader, the only router of the dialog, so nothing raises `pending`
    /// while it waits. A take between reading `pending` and registering
    /// with `room` is seen by the second read; one after it finds
    /// `waiting` raised (both are SeqCst) and wakes the registered waiter.
    async fn wait_for_a_take(&self) -> bool {
        loop {
            let seen = self.pending.load(Ordering::SeqCst);
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.pending.load(Ordering::SeqCst) != seen {
                return true;
            }
            let now = clock_ms();
            if !self.reader_active(now) {
                return false;
            }
            let last = self.last_take.load(Ordering::SeqCst);
            let left = (last + stall_ms()).saturating_sub(now);
            if tokio::time::timeout(std::time::Duration::from_millis(left), notified)
                .await
                .is_ok()
            {
                return true;
            }
        }
    }

    /// Counts one stream item taken. One locked instruction per item (the
    /// `pending` decrement); the clock is written only when it moved (a
    /// few times a second at most, it is the coarse clock).
    fn took_one(&self) {
        self.pending.fetch_sub(1, Ordering::SeqCst);
        let now = clock_ms();
        if self.last_take.load(Ordering::Relaxed) != now {
            self.last_take.store(now, Ordering::SeqCst);
        }
        // Progress: a full dialog's stall clock starts again.
        if self.full_since.load(Ordering::SeqCst) != 0 {
            self.full_since.store(0, Ordering::SeqCst);
        }
        if self.waiting.load(Ordering::SeqCst) != 0 {
            self.room.notify_waiters();
        }
    }
}

/// Locks a std mutex, ignoring poisoning (our critical sections cannot
/// leave the maps inconsistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The routing end of a dialog (its queue carries the dialog's [`Flow`]).
#[derive(Debug)]
pub(crate) struct DialogTx {
    tx: QueueTx<Flow>,
    cap: Option<usize>,
}

/// The receiving end of a dialog.
#[derive(Debug)]
pub(crate) struct DialogRx {
    rx: QueueRx<Flow>,
}

impl DialogRx {
    /// A receiver with no dialog behind it: it reads the end at once.
    pub(crate) fn ended() -> DialogRx {
        let (_, rx) = queue(Flow::opened());
        DialogRx { rx }
    }

    /// The error the peer sent for this dialog, if one arrived (readable
    /// without consuming the queue).
    pub(crate) fn error_slot(&self) -> ErrorSlot {
        ErrorSlot(self.rx.attach())
    }

    /// The next message; `None` once the dialog or connection is gone.
    /// Cancel safe.
    pub(crate) async fn recv(&mut self) -> Option<Inbound> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`DialogRx::recv`] as a poll, for a receiver kept behind a lock
    /// that is only held while polling.
    pub(crate) fn poll_recv(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<Inbound>> {
        let m = std::task::ready!(self.rx.poll_recv(cx));
        if let Some(m) = &m
            && m.is_yield()
        {
            self.rx.attached().took_one();
        }
        Poll::Ready(m)
    }
}

/// What happened to a routed message.
#[derive(Debug)]
pub(crate) enum Route {
    /// Queued for its dialog.
    Delivered,
    /// No such dialog (finished, or never opened).
    Unknown,
    /// A stream item refused: the dialog (with a buffer of `cap` items)
    /// is full and its reader idle or too far behind. Its sender must be
    /// told (`StreamOverrun`).
    Overrun { cap: usize },
    /// A stream item for a dialog at its overflow limit whose reader is
    /// draining: wait ([`Flow::wait_for_room`]) and route it again.
    Full {
        msg: Box<Inbound>,
        cap: usize,
        flow: Attached<Flow>,
    },
}
