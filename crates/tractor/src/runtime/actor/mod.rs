//! [`Actor`]: one actor's runtime state; how it runs is split by idea.
//!
//! An actor listens on its accept addresses and does the Aid handshake on
//! every connection (`listen`), and runs one reader task per
//! connection that routes each message (spec §5; `message_loop`): `Start`
//! becomes a task (`tasks`) or a runtime `self.*` call (`self_service`),
//! everything else goes to the dialog waiting on its `cid`, slowed or
//! refused when that dialog is full (`flow`). Cancelling the actor cancels
//! every task it serves and stops its listeners; whoever built it then
//! unregisters it, and it closes its connections (`teardown`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::cancel::CancelScope;
use super::hooks::{ChildEntry, Hooks, SelfService};
use crate::devx::tasktree::TaskRegistry;
use crate::ipc::{Addr, Channel};
use crate::msg::{Aid, Uid};
use crate::runtime::peer::{Peer, lock};
use crate::runtime::state::RuntimeVars;
use cids::CidSource;

mod cids;
mod dump;
mod flow;
mod listen;
mod message_loop;
mod self_service;
mod tasks;
mod teardown;

pub use dump::{DUMP_BANNER, DUMP_DIR, connected_peer_pids, dump_task_trees};
pub use flow::OVERRUN_STALL;
pub use message_loop::BAD_FRAME_STRIKES;

/// A handle to the actor running in this process or thread. Cheap to clone.
#[derive(Clone)]
pub struct Actor {
    pub(crate) inner: Arc<ActorInner>,
}

impl std::fmt::Debug for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Actor")
            .field("uid", &self.inner.uid)
            .finish()
    }
}

pub(crate) struct ActorInner {
    pub uid: Uid,
    pub rtv: RuntimeVars,
    pub is_registrar: bool,
    /// What the layers above installed (see [`Hooks`]).
    pub hooks: Hooks,
    pub enabled: RwLock<Vec<String>>,
    pub accept_addrs: RwLock<Vec<Addr>>,
    pub peers: Mutex<HashMap<u64, Arc<Peer>>>,
    pub parent: OnceLock<Arc<Peer>>,
    pub expecting: Mutex<HashMap<Uid, oneshot::Sender<(Channel, Aid)>>>,
    /// The actor-wide scope: cancelling it cancels everything served here.
    pub scope: CancelScope,
    /// Stops the accept loops.
    pub stop_listening: CancellationToken,
    /// Stops the reader loops (last step of teardown).
    pub stop_reading: CancellationToken,
    /// RPC tasks served here.
    pub rpc_tasks: TaskTracker,
    /// Fired each time a served task has ended (after `rpc_tasks` counts
    /// it gone), so a caller can wait for the count to drop.
    pub served_ended: tokio::sync::Notify,
    /// Accept loops, handshakes and reader loops.
    pub conn_tasks: TaskTracker,
    /// Named tasks for task-tree dumps (see [`crate::devx::tasktree`]).
    pub tasks: TaskRegistry,
    next_id: AtomicU64,
    /// Call ids this actor hands out (see [`Actor::next_cid`]).
    cids: CidSource,
}

thread_local! {
    static CURRENT: RefCell<Option<Actor>> = const { RefCell::new(None) };
}

/// The actor of each tokio runtime that runs one (one per process actor,
/// one per thread actor), so threads of that runtime other than the
/// actor's own (`spawn_blocking`) find their actor. Entries are removed
/// when their actor exits.
static BY_RUNTIME: Mutex<Vec<(tokio::runtime::Id, Actor)>> = Mutex::new(Vec::new());

/// Every actor of this process that may still be alive, with whether its
/// parent abandoned it (a thread actor that ignored its cancellation).
static LIVE: Mutex<Vec<(Uid, std::sync::Weak<ActorInner>, bool)>> = Mutex::new(Vec::new());

/// The actors of this process still alive (their state not freed), except
/// those abandoned and reported ([`crate::Error::Abandoned`]). After a
/// root has shut down this is empty unless something leaked an actor: a
/// thread actor still running, a task or a handle keeping it. Used by the
/// test harness's leak check (the `/proc` checks cannot see threads).
pub fn live_actors() -> Vec<Uid> {
    still_live(&mut lock(&LIVE))
}

fn still_live(all: &mut Vec<(Uid, std::sync::Weak<ActorInner>, bool)>) -> Vec<Uid> {
    all.retain(|(_, w, _)| w.strong_count() > 0);
    all.iter()
        .filter(|(_, _, abandoned)| !abandoned)
        .map(|(u, _, _)| u.clone())
        .collect()
}

/// Signalled (under [`LIVE`]'s lock) each time an actor's state is freed.
static FREED: Condvar = Condvar::new();

impl Drop for ActorInner {
    fn drop(&mut self) {
        // Taking the lock orders this with a waiter's check: it is either
        // before the check (which then sees the actor gone) or while the
        // waiter waits (which this wakes).
        let _live = lock(&LIVE);
        FREED.notify_all();
    }
}

/// Waits (up to `limit`) until [`live_actors`] is empty, woken each time
/// an actor's state is freed; returns what is still alive.
pub fn wait_live_actors_gone(limit: Duration) -> Vec<Uid> {
    let deadline = Instant::now() + limit;
    let mut all = lock(&LIVE);
    loop {
        let live = still_live(&mut all);
        let left = deadline.saturating_duration_since(Instant::now());
        if live.is_empty() || left.is_zero() {
            return live;
        }
        all = match FREED.wait_timeout(all, left) {
            Ok((g, _)) => g,
            Err(poisoned) => poisoned.into_inner().0,
        };
    }
}

/// Every actor of this process still alive and not abandoned, as
/// handles (for task-tree dumps of the whole process).
pub fn live_actor_handles() -> Vec<Actor> {
    let mut all = lock(&LIVE);
    all.retain(|(_, w, _)| w.strong_count() > 0);
    all.iter()
        .filter(|(_, _, abandoned)| !abandoned)
        .filter_map(|(_, w, _)| w.upgrade())
        .map(|inner| Actor { inner })
        .collect()
}

/// Spawns `fut` as a tokio task recorded in the current actor's task
/// tree under `name` (and under the task that spawned it, while that one
/// is recorded). Outside an actor it is a plain `tokio::spawn`.
pub fn spawn_task<F>(name: impl Into<String>, fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let Some(actor) = current_actor() else {
        return tokio::spawn(fut);
    };
    let entry = actor
        .tasks()
        .enter(crate::devx::tasktree::TaskKind::Task, name.into());
    tokio::spawn(entry.run(fut))
}

/// Records that the actor `uid` was abandoned (reported, not a leak).
pub(crate) fn mark_abandoned(uid: &Uid) {
    for (u, _, abandoned) in lock(&LIVE).iter_mut() {
        if u == uid {
            *abandoned = true;
        }
    }
}

/// The actor running on this thread, or on the tokio runtime this thread
/// belongs to (a `spawn_blocking` thread of an actor's runtime), if any.
/// `None` once that actor has exited, and on threads of no actor.
pub fn current_actor() -> Option<Actor> {
    CURRENT.with(|c| c.borrow().clone()).or_else(|| {
        let id = tokio::runtime::Handle::try_current().ok()?.id();
        lock(&BY_RUNTIME)
            .iter()
            .find(|(r, _)| *r == id)
            .map(|(_, a)| a.clone())
    })
}

impl Actor {
    /// A new actor; nothing runs until it binds and serves.
    pub(crate) fn new(
        uid: Uid,
        rtv: RuntimeVars,
        is_registrar: bool,
        enabled: Vec<String>,
        hooks: Hooks,
    ) -> Actor {
        // Every listener and dialer of this process follows its vars' TLS policy.
        crate::ipc::tls::install(crate::ipc::tls::TlsSettings::from_vars(&rtv));
        let uid_for_cids = uid.uuid.clone();
        let a = Actor {
            inner: Arc::new(ActorInner {
                uid,
                rtv,
                is_registrar,
                hooks,
                enabled: RwLock::new(enabled),
                accept_addrs: RwLock::new(Vec::new()),
                peers: Mutex::new(HashMap::new()),
                parent: OnceLock::new(),
                expecting: Mutex::new(HashMap::new()),
                scope: CancelScope::new(),
                stop_listening: CancellationToken::new(),
                stop_reading: CancellationToken::new(),
                rpc_tasks: TaskTracker::new(),
                served_ended: tokio::sync::Notify::new(),
                conn_tasks: TaskTracker::new(),
                tasks: TaskRegistry::new(),
                next_id: AtomicU64::new(1),
                cids: CidSource::new(&uid_for_cids),
            }),
        };
        let mut live = lock(&LIVE);
        live.retain(|(_, w, _)| w.strong_count() > 0);
        live.push((a.inner.uid.clone(), Arc::downgrade(&a.inner), false));
        drop(live);
        a
    }

    /// Makes this the current actor of this thread and of the tokio
    /// runtime it runs on.
    pub(crate) fn set_current(&self) {
        CURRENT.with(|c| *c.borrow_mut() = Some(self.clone()));
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            let id = h.id();
            let mut all = lock(&BY_RUNTIME);
            all.retain(|(r, _)| *r != id);
            all.push((id, self.clone()));
        }
        crate::devx::logging::set_actor_name(&self.inner.uid.name);
    }

    /// Clears the current actor of this thread and of its tokio runtime
    /// (the actor has exited).
    pub(crate) fn clear_current() {
        let me = CURRENT.with(|c| c.borrow_mut().take());
        let rt = tokio::runtime::Handle::try_current().ok().map(|h| h.id());
        lock(&BY_RUNTIME).retain(|(r, a)| {
            Some(*r) != rt && !me.as_ref().is_some_and(|m| Arc::ptr_eq(&m.inner, &a.inner))
        });
    }

    /// This actor's uid.
    pub fn uid(&self) -> &Uid {
        &self.inner.uid
    }

    /// This actor's name.
    pub fn name(&self) -> &str {
        &self.inner.uid.name
    }

    /// The runtime vars this actor runs with.
    pub fn runtime_vars(&self) -> &RuntimeVars {
        &self.inner.rtv
    }

    /// True if this actor is a registrar.
    pub fn is_registrar(&self) -> bool {
        self.inner.is_registrar
    }

    /// Where this actor listens.
    pub fn accept_addrs(&self) -> Vec<Addr> {
        self.inner
            .accept_addrs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// True if functions of namespace `ns` may be called here.
    pub(crate) fn is_enabled(&self, ns: &str) -> bool {
        self.inner
            .enabled
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|e| e == ns)
    }

    /// The namespaces callable here.
    pub fn enabled_namespaces(&self) -> Vec<String> {
        self.inner
            .enabled
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many tasks this actor is serving for its peers right now (RPC
    /// calls, context functions, runtime `self.*` calls). For leak checks
    /// and diagnostics.
    pub fn served_tasks(&self) -> usize {
        self.inner.rpc_tasks.len()
    }

    /// Waits until this actor serves at most `n` tasks (woken as each
    /// served task ends, no polling).
    pub async fn served_tasks_at_most(&self, n: usize) {
        loop {
            let ended = self.inner.served_ended.notified();
            tokio::pin!(ended);
            // Registered before the check, so an end in between wakes us.
            ended.as_mut().enable();
            if self.served_tasks() <= n {
                return;
            }
            ended.await;
        }
    }

    /// A fresh call id for a dialog this actor opens: this actor's uuid
    /// and a counter (see [`CidSource`]).
    pub(crate) fn next_cid(&self) -> std::sync::Arc<str> {
        self.inner.cids.next()
    }

    /// Runs a task served for a peer: counted by `rpc_tasks` (teardown
    /// waits for it) and announced on `served_ended` once it has ended.
    ///
    /// The task is polled once right here, on the connection's reader: a
    /// handler that completes without pending (most plain calls) is
    /// answered in that poll, without a task spawn and the scheduler hop
    /// that comes with it. One that pends is spawned and goes on as its
    /// own task (see [`poll_once_then_spawn`]).
    pub(super) fn spawn_served(
        &self,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let tracked = self.inner.rpc_tasks.track_future(task);
        let inner = self.inner.clone();
        poll_once_then_spawn(async move {
            // The tracker's token goes with `tracked` here, before the
            // notification.
            tracked.await;
            inner.served_ended.notify_waiters();
        });
    }

    /// This actor's task registry: what a task-tree dump shows. Record a
    /// task of your own with [`TaskRegistry::enter`] (or spawn one with
    /// `tractor::spawn_task`).
    pub fn tasks(&self) -> &TaskRegistry {
        &self.inner.tasks
    }

    /// This actor's task tree as text: a header naming the actor (name,
    /// uuid, pid, parent) and one line per recorded task.
    pub fn task_tree(&self) -> String {
        let parent = self
            .inner
            .parent
            .get()
            .map(|p| format!(", parent '{}'", p.aid.name))
            .unwrap_or_default();
        format!(
            "actor '{}' (uuid {}, pid {}{parent}) tasks:\n{}",
            self.name(),
            self.uid().uuid,
            std::process::id(),
            self.inner.tasks.render()
        )
    }

    /// The `self.*` service this actor was built with, if it is a `T`.
    pub(crate) fn service<T: SelfService>(&self) -> Option<&T> {
        self.inner.hooks.service.as_deref()?.as_any().downcast_ref()
    }

    /// How a child thread actor of this actor runs.
    pub(crate) fn child_entry(&self) -> ChildEntry {
        self.inner.hooks.child_entry
    }

    /// The actor's cancel scope.
    pub fn scope(&self) -> &CancelScope {
        &self.inner.scope
    }

    /// Our handshake identity.
    pub(crate) fn aid(&self) -> Aid {
        Aid {
            name: self.inner.uid.name.clone(),
            uuid: self.inner.uid.uuid.clone(),
            pid: Some(i64::from(std::process::id())),
            is_registrar: Some(self.inner.is_registrar),
            is_probe: false,
        }
    }

    pub(crate) fn max_frame(&self) -> usize {
        self.inner.rtv.max_frame_bytes
    }

    /// Asks the actor to shut down; `by` is recorded as the canceller.
    pub fn cancel(&self, by: Option<Uid>) {
        self.inner.scope.cancel(by);
    }

    /// Resolves once the actor has been asked to shut down.
    pub async fn cancelled(&self) {
        self.inner.scope.token().cancelled().await
    }

    /// True once the actor has been asked to shut down.
    pub fn is_cancelled(&self) -> bool {
        self.inner.scope.is_cancelled()
    }

    /// Live peers with this uid.
    pub(crate) fn peers_named(&self, name: &str) -> Vec<Arc<Peer>> {
        lock(&self.inner.peers)
            .values()
            .filter(|p| p.aid.name == name && !p.gone.is_cancelled())
            .cloned()
            .collect()
    }
}

/// Polls `fut` once in place; if it is not finished, spawns it on the
/// current runtime. True when it finished in place.
///
/// The first poll runs with a [`Relay`] waker: a wake-up that arrives
/// before the spawned task exists is not needed (a new task is always
/// polled once), and every later one through a waker `fut` kept from that
/// first poll is passed on to the task. So even a future that registers
/// its waker only once loses no wake-up, and a future that finishes at
/// once costs no task.
pub(crate) fn poll_once_then_spawn(
    fut: impl std::future::Future<Output = ()> + Send + 'static,
) -> bool {
    let mut fut = Box::pin(fut);
    let relay = Arc::new(Relay::default());
    let waker = std::task::Waker::from(relay.clone());
    let mut cx = std::task::Context::from_waker(&waker);
    if fut.as_mut().poll(&mut cx).is_ready() {
        return true;
    }
    tokio::spawn(std::future::poll_fn(move |cx| {
        relay.set(cx.waker());
        fut.as_mut().poll(cx)
    }));
    false
}

/// The waker of a served task's first, in-place poll: passes wake-ups on
/// to the task it was spawned as, once there is one.
#[derive(Default)]
struct Relay {
    task: Mutex<Option<std::task::Waker>>,
}

impl Relay {
    /// Records the task's waker (the first time, or if it changed).
    fn set(&self, w: &std::task::Waker) {
        let mut slot = lock(&self.task);
        if !slot.as_ref().is_some_and(|t| t.will_wake(w)) {
            *slot = Some(w.clone());
        }
    }
}

impl std::task::Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(w) = lock(&self.task).as_ref() {
            w.wake_by_ref();
        }
    }
}

#[cfg(test)]
mod inline_poll_tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::Poll;

    const WAIT: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn a_future_that_is_ready_at_once_finishes_in_place() {
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let in_place = poll_once_then_spawn(async move { d.store(true, Ordering::SeqCst) });
        assert!(in_place);
        assert!(done.load(Ordering::SeqCst), "finished before returning");
    }

    #[tokio::test]
    async fn a_pending_future_goes_on_as_a_task() {
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let in_place = poll_once_then_spawn(async move {
            let _ = go_rx.await;
            let _ = done_tx.send(());
        });
        assert!(!in_place);
        go_tx.send(()).unwrap();
        tokio::time::timeout(WAIT, done_rx)
            .await
            .expect("the spawned task finished")
            .unwrap();
    }

    /// Registers the waker of its first poll only, and is ready once that
    /// waker has been woken (legal within one tokio task, whose waker does
    /// not change; the first in-place poll must not lose it).
    struct RegistersOnce {
        slot: Arc<Mutex<Option<std::task::Waker>>>,
        woken: Arc<AtomicBool>,
    }

    impl std::future::Future for RegistersOnce {
        type Output = ();
        fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
            if self.woken.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            let mut slot = lock(&self.slot);
            if slot.is_none() {
                *slot = Some(cx.waker().clone());
            }
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_waker_kept_from_the_first_poll_still_wakes_the_task() {
        let slot = Arc::new(Mutex::new(None));
        let woken = Arc::new(AtomicBool::new(false));
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let fut = RegistersOnce {
            slot: slot.clone(),
            woken: woken.clone(),
        };
        assert!(!poll_once_then_spawn(async move {
            fut.await;
            let _ = done_tx.send(());
        }));
        // Let the spawned task take its first poll (it stays pending).
        tokio::task::yield_now().await;
        woken.store(true, Ordering::SeqCst);
        let kept = lock(&slot)
            .take()
            .expect("the first poll registered a waker");
        kept.wake();
        tokio::time::timeout(WAIT, done_rx)
            .await
            .expect("the wake-up reached the task")
            .unwrap();
    }
}
