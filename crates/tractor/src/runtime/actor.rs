//! [`Actor`]: one actor's runtime state and its message loop.
//!
//! An actor listens on its accept addresses, does the Aid handshake on every
//! connection, and runs one reader task per connection that routes each
//! message (spec §5): `Start` becomes a task (or a runtime `self.*` call),
//! everything else goes to the dialog waiting on its `cid`. Cancelling the
//! actor cancels every task it serves, stops its listeners, unregisters it
//! and closes its connections (`Actor::teardown`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::cancel::CancelScope;
use super::peer::{Peer, Route, lock};
use super::portal::Caller;
use super::rpc::{self, RpcFailure};
use crate::discovery::registry::Registry;
use crate::errors::{Error, pack_error};
use crate::ipc::{Addr, ChanReceiver, Channel, Listener};
use crate::msg::{Aid, CancelAck, ErrorMsg, FuncType, Msg, Payload, Start, StartAck, StrMap, Uid};
use crate::runtime::state::RuntimeVars;

/// How long a dialog may stay full (its stream buffer at capacity with no
/// item taken) before further items for it are refused with a
/// `StreamOverrun` error. The connection keeps being read meanwhile, and
/// only that dialog's sender is refused (see `Peer::route`).
pub const OVERRUN_STALL: Duration = Duration::from_secs(1);

/// A peer whose messages fail to decode this many times in a row is
/// dropped (Python tractor's channel gives up after the same number).
pub const BAD_FRAME_STRIKES: u32 = 5;

/// How long an accepted connection may take to send its `Aid`.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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
    pub registry: Option<Registry>,
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
    /// Accept loops, handshakes and reader loops.
    pub conn_tasks: TaskTracker,
    next_id: AtomicU64,
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
    let mut all = lock(&LIVE);
    all.retain(|(_, w, _)| w.strong_count() > 0);
    all.iter()
        .filter(|(_, _, abandoned)| !abandoned)
        .map(|(u, _, _)| u.clone())
        .collect()
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
    ) -> Actor {
        // Every listener and dialer of this process follows its vars' TLS policy.
        crate::ipc::tls::install(crate::ipc::tls::TlsSettings::from_vars(&rtv));
        let a = Actor {
            inner: Arc::new(ActorInner {
                uid,
                rtv,
                is_registrar,
                registry: is_registrar.then(Registry::default),
                enabled: RwLock::new(enabled),
                accept_addrs: RwLock::new(Vec::new()),
                peers: Mutex::new(HashMap::new()),
                parent: OnceLock::new(),
                expecting: Mutex::new(HashMap::new()),
                scope: CancelScope::new(),
                stop_listening: CancellationToken::new(),
                stop_reading: CancellationToken::new(),
                rpc_tasks: TaskTracker::new(),
                conn_tasks: TaskTracker::new(),
                next_id: AtomicU64::new(1),
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

    // ------------------------------------------------------------ listening

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
                    let chan = Channel::new(conn, self.max_frame());
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
        self.inner
            .conn_tasks
            .spawn(async move { me.serve_peer(p, rx).await });
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
        let mut chan = Channel::connect(addr, self.max_frame()).await?;
        let aid = chan.handshake(&self.aid(), HANDSHAKE_TIMEOUT).await?;
        Ok(self.spawn_peer(aid, chan))
    }

    // ------------------------------------------------------------ serving

    /// The message loop of one connection.
    pub(crate) async fn serve_peer(self, peer: Arc<Peer>, mut rx: ChanReceiver) {
        let stop = self.inner.stop_reading.clone();
        let mut strikes = 0u32;
        loop {
            let m = tokio::select! {
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
    /// [`MAX_REPLIES_IN_FLIGHT`]: super::peer::MAX_REPLIES_IN_FLIGHT
    fn send_runtime_reply(&self, peer: &Arc<Peer>, msg: Msg) {
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

    /// A stream item arrived for a context whose buffer is full: the item
    /// is refused and its sender told, never silently lost.
    fn reply_overrun(&self, peer: &Arc<Peer>, cid: String, cap: usize) {
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
    async fn wait_for_room(&self, peer: &Arc<Peer>, full: (String, Route)) {
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

    fn on_start(&self, peer: &Arc<Peer>, start: Start) {
        let me = self.clone();
        let peer = peer.clone();
        if start.uid != peer.uid() {
            let err = pack_error(
                self.uid(),
                "RuntimeError",
                format!(
                    "Start.uid {} does not match the connection's peer {}",
                    start.uid,
                    peer.uid()
                ),
                String::new(),
                Some(start.cid.clone()),
            );
            self.send_runtime_reply(&peer, Msg::Error(err));
            return;
        }
        if start.ns == "self" {
            self.inner
                .rpc_tasks
                .spawn(async move { me.run_self(peer, start).await });
            return;
        }
        let def = match self.resolve(&start.ns, &start.func) {
            Ok(def) => def,
            Err((ty, text)) => {
                let err = pack_error(self.uid(), ty, text, String::new(), Some(start.cid));
                self.send_runtime_reply(&peer, Msg::Error(err));
                return;
            }
        };
        let scope = CancelScope::child_of(self.inner.scope.token());
        lock(&peer.served).insert(start.cid.clone(), scope.clone());
        // A context's inbox must exist before its StartAck goes out: the
        // opener may stream at once.
        let dialog = (def.functype == FuncType::Context).then(|| {
            let cap = (!def.allow_overruns).then_some(super::portal::DEFAULT_STREAM_BUFFER);
            peer.open_dialog(&start.cid, cap)
        });
        self.inner
            .rpc_tasks
            .spawn(async move { me.run_rpc(peer, start, def, scope, dialog).await });
    }

    fn resolve(
        &self,
        ns: &str,
        func: &str,
    ) -> Result<&'static rpc::RpcFnDef, (&'static str, String)> {
        let enabled = self.enabled_namespaces();
        if !enabled.iter().any(|e| e == ns) {
            return Err((
                "ModuleNotExposed",
                format!(
                    "namespace {ns:?} is not enabled in actor '{}' (enabled: {})",
                    self.name(),
                    if enabled.is_empty() {
                        "none".to_owned()
                    } else {
                        enabled.join(", ")
                    }
                ),
            ));
        }
        rpc::lookup(ns, func).ok_or_else(|| {
            (
                "AttributeError",
                format!(
                    "no function {func:?} in namespace {ns:?} of actor '{}'",
                    self.name()
                ),
            )
        })
    }

    async fn run_rpc(
        self,
        peer: Arc<Peer>,
        start: Start,
        def: &'static rpc::RpcFnDef,
        scope: CancelScope,
        dialog: Option<super::peer::DialogRx>,
    ) {
        let cid = start.cid.clone();
        let ack = Msg::StartAck(StartAck {
            cid: cid.clone(),
            functype: def.functype,
        });
        if peer.tx.send(&ack).await.is_err() {
            lock(&peer.served).remove(&cid);
            return;
        }
        let caller = Caller::new(
            self.clone(),
            peer.clone(),
            cid.clone(),
            scope.clone(),
            dialog,
        );
        let fut = scope
            .clone()
            .scope(std::panic::AssertUnwindSafe((def.call)(caller, start.kwargs)).catch_unwind());
        let outcome = self.run_cancellable(fut, &scope).await;
        lock(&peer.served).remove(&cid);
        peer.close_dialog(&cid);
        let reply = match outcome {
            Some(Ok(Ok(v))) => Msg::Return(Payload { cid, pld: v }),
            Some(Ok(Err(f))) => Msg::Error(self.pack_failure(f, &cid)),
            Some(Err(panic)) => Msg::Error(pack_error(
                self.uid(),
                "Panic",
                panic_message(&panic),
                crate::devx::panics::take_last_backtrace(),
                Some(cid),
            )),
            None => Msg::Error(self.context_cancelled(&scope, &cid, &start.func)),
        };
        if let Err(e) = peer.tx.send(&reply).await {
            tracing::debug!(error = %e, "could not deliver a result; the caller is gone");
        }
    }

    /// Polls `fut` until it finishes or the scope is cancelled. On cancel,
    /// a scope with open nurseries keeps being polled so they can tear
    /// their children down; `None` means the task was cancelled.
    pub(crate) async fn run_cancellable<F: std::future::Future>(
        &self,
        fut: F,
        scope: &CancelScope,
    ) -> Option<F::Output> {
        tokio::pin!(fut);
        tokio::select! {
            biased;
            out = &mut fut => return Some(out),
            _ = scope.token().cancelled() => {}
        }
        if scope.is_graceful() {
            // Nurseries inside see the same token and wind down; their
            // own escalation bounds how long this takes.
            let out = fut.await;
            // A body that still produced a value after its cancel is
            // reported as cancelled: nobody may rely on it.
            drop(out);
        }
        None
    }

    pub(crate) fn context_cancelled(&self, scope: &CancelScope, cid: &str, func: &str) -> ErrorMsg {
        let canceller = scope
            .canceller()
            .or_else(|| self.inner.scope.canceller())
            .unwrap_or_else(|| self.uid().clone());
        let mut e = pack_error(
            self.uid(),
            "ContextCancelled",
            format!(
                "'{}'-side task {func:?} was cancelled by '{}'",
                self.name(),
                canceller.name
            ),
            String::new(),
            Some(cid.to_owned()),
        );
        e.canceller = Some(canceller);
        e
    }

    pub(crate) fn pack_failure(&self, f: RpcFailure, cid: &str) -> ErrorMsg {
        match f {
            RpcFailure::Raised {
                type_name,
                message,
                tb,
            } => pack_error(self.uid(), &type_name, message, tb, Some(cid.to_owned())),
            RpcFailure::Relay(m) => crate::errors::RemoteActorError::from_msg(*m)
                .relayed(self.uid(), Some(cid.to_owned())),
        }
    }

    /// The runtime's own `self` namespace (spec §5.4, §6).
    async fn run_self(self, peer: Arc<Peer>, start: Start) {
        let cid = start.cid.clone();
        let result: Result<Msg, (&'static str, String)> = match start.func.as_str() {
            "cancel" => {
                ack_asyncfunc(&peer, &cid).await;
                let _ = peer
                    .tx
                    .send(&Msg::CancelAck(CancelAck {
                        cid: cid.clone(),
                        pld: true,
                    }))
                    .await;
                tracing::info!(by = %peer.aid.name, "cancel requested");
                self.cancel(Some(peer.uid()));
                return;
            }
            "_cancel_task" => {
                let target = kwarg_str(&start.kwargs, "cid");
                let found = target
                    .as_deref()
                    .and_then(|t| lock(&peer.served).get(t).cloned());
                ack_asyncfunc(&peer, &cid).await;
                if let Some(scope) = &found {
                    scope.cancel(Some(peer.uid()));
                }
                Ok(Msg::CancelAck(CancelAck {
                    cid: cid.clone(),
                    pld: found.is_some(),
                }))
            }
            "_actor_info" => {
                // Ours (not Python's): who we are and who our parent is, for
                // `tractor tree`.
                ack_asyncfunc(&peer, &cid).await;
                let parent = self
                    .inner
                    .parent
                    .get()
                    .map(|p| crate::msg::uid_to_value(&p.uid()))
                    .unwrap_or(crate::msg::Value::Nil);
                let info = crate::msg::Value::Map(vec![
                    ("name".into(), self.name().into()),
                    ("uuid".into(), self.uid().uuid.as_str().into()),
                    ("pid".into(), std::process::id().into()),
                    ("parent".into(), parent),
                    ("registrar".into(), self.is_registrar().into()),
                ]);
                Ok(Msg::Return(Payload {
                    cid: cid.clone(),
                    pld: info,
                }))
            }
            f => match &self.inner.registry {
                Some(reg) if Registry::serves(f) => {
                    let ack = Msg::StartAck(StartAck {
                        cid: cid.clone(),
                        functype: FuncType::AsyncFunc,
                    });
                    let _ = peer.tx.send(&ack).await;
                    // Served like any task of this peer: a waiter
                    // (`wait_for_actor`) ends when its caller's connection
                    // does, or on `_cancel_task`, not only at shutdown.
                    let scope = CancelScope::child_of(self.inner.scope.token());
                    lock(&peer.served).insert(cid.clone(), scope.clone());
                    if peer.gone.is_cancelled() {
                        scope.cancel(Some(peer.uid()));
                    }
                    let out = reg.call(f, &start.kwargs, scope.token()).await;
                    lock(&peer.served).remove(&cid);
                    match out {
                        Ok(v) => Ok(Msg::Return(Payload {
                            cid: cid.clone(),
                            pld: v,
                        })),
                        Err(e) => Err(("ValueError", e)),
                    }
                }
                _ => Err((
                    "AttributeError",
                    format!("actor '{}' has no runtime method {f:?}", self.name()),
                )),
            },
        };
        let reply = result.unwrap_or_else(|(ty, text)| {
            Msg::Error(pack_error(self.uid(), ty, text, String::new(), Some(cid)))
        });
        let _ = peer.tx.send(&reply).await;
    }

    // ------------------------------------------------------------ teardown

    /// Shuts the actor down: cancel served tasks, stop listening,
    /// unregister, close connections (spec §8).
    pub(crate) async fn teardown(&self) {
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
        if !self.is_registrar() {
            crate::discovery::api::unregister_self(self).await;
        }
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

/// The `StartAck` of a runtime function (they all answer like plain async
/// functions).
async fn ack_asyncfunc(peer: &Peer, cid: &str) {
    let ack = Msg::StartAck(StartAck {
        cid: cid.to_owned(),
        functype: FuncType::AsyncFunc,
    });
    let _ = peer.tx.send(&ack).await;
}

fn kwarg_str(kwargs: &StrMap, name: &str) -> Option<String> {
    kwargs
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.as_str().map(str::to_owned))
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}
