//! [`ActorNursery`]: the scope that owns child actors.
//!
//! `open_nursery` does not return until every child it started has
//! finished or been cancelled. An error in the body or in any child
//! cancels the other children and is returned; several at once come back
//! as one [`Error::Multi`]. Cancelling the enclosing scope (the actor is
//! cancelled, Ctrl-C in the root, the caller gave up) tears the children
//! down gracefully: `self.cancel`, a grace period, SIGTERM, SIGKILL.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::task::TaskTracker;

use crate::devx::tasktree::{TaskGuard, TaskKind};
use crate::errors::Error;
use crate::ipc::{Channel, ChildLink};
use crate::msg::{Aid, Msg, SpawnSpec, Uid, payload};
use crate::runtime::actor::{Actor, current_actor};
use crate::runtime::cancel::CancelScope;
use crate::runtime::peer::lock;
use crate::runtime::portal::Portal;
use crate::runtime::rpc::RemoteFn;
use crate::spawn::reap::{Escalation, escalate};
use crate::spawn::{ChildControl, ExitInfo, SpawnBackend, SpawnRequest, backend_for};

/// How long a spawned actor may take to connect back.
const CONNECT_BACK_TIMEOUT: Duration = Duration::from_secs(60);

/// How a child we start reaches us.
enum Reach {
    /// Our end of the socket pair it was handed (an actor in this
    /// process).
    Link(ChildLink),
    /// It dials our address; this is answered with the connection once
    /// its `Aid` arrived.
    Dial(tokio::sync::oneshot::Receiver<(Channel, Aid)>),
}

/// The owner of a set of child actors. Cheap to clone; only valid inside
/// its [`open_nursery`] scope.
#[derive(Clone)]
pub struct ActorNursery {
    inner: Arc<NurseryInner>,
}

impl std::fmt::Debug for ActorNursery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorNursery")
            .field("children", &lock(&self.inner.children).len())
            .finish()
    }
}

struct Child {
    uid: Uid,
    /// Where the child listens when the parent chose it (UDS).
    bind: Option<crate::ipc::Addr>,
    portal: Portal,
    control: Arc<dyn ChildControl>,
    exited: watch::Receiver<Option<ExitInfo>>,
    cancel_requested: Arc<AtomicBool>,
    /// Its line in the task tree (under the nursery's).
    _task: TaskGuard,
}

struct NurseryInner {
    actor: Actor,
    /// The nursery's line in the actor's task tree.
    task: TaskGuard,
    scope: CancelScope,
    backend: Arc<dyn SpawnBackend>,
    children: Mutex<Vec<Child>>,
    errors: mpsc::UnboundedSender<Error>,
    tasks: TaskTracker,
    closing: AtomicBool,
    escalations: AtomicUsize,
}

impl Drop for NurseryInner {
    fn drop(&mut self) {
        // Safety net for a nursery dropped without its scope finishing
        // (a panic in the body): no child may outlive us.
        for c in lock(&self.children).iter() {
            if c.exited.borrow().is_some() {
                continue;
            }
            c.cancel_requested.store(true, Ordering::SeqCst);
            // SIGKILL and reap now (no zombie is left behind), through the
            // child's one reaper: the task waiting for it is not raced.
            if c.control.kill_and_reap() {
                remove_stale_socket(c.bind.as_ref());
            }
        }
    }
}

/// Opens a nursery, runs `body` with it, and returns only when every child
/// has finished or been cancelled.
///
/// ```no_run
/// mod workers {
///     /// Adds two numbers, in whichever actor serves it.
///     #[tractor::rpc]
///     pub async fn add(x: i64, y: i64) -> i64 {
///         x + y
///     }
/// }
///
/// #[tractor::main]
/// async fn main() -> Result<(), tractor::Error> {
///     let sum = tractor::open_nursery(|n| async move {
///         let p = n.start_actor("worker", &[workers::add::NS]).await?;
///         let sum: i64 = p.run(workers::add { x: 1, y: 2 }).await?;
///         p.cancel_actor().await?;
///         Ok(sum)
///     })
///     .await?;
///     assert_eq!(sum, 3);
///     Ok(())
/// }
/// ```
pub async fn open_nursery<F, Fut, T>(body: F) -> Result<T, Error>
where
    F: FnOnce(ActorNursery) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let actor = current_actor().ok_or_else(|| {
        Error::Config("open_nursery needs a running actor: open a root actor first".into())
    })?;
    let outer = CancelScope::current().unwrap_or_else(|| actor.scope().clone());
    let _graceful = outer.graceful_guard();
    let scope = CancelScope::child_of(outer.token());
    let (etx, mut erx) = mpsc::unbounded_channel();
    let task = actor.tasks().enter(
        TaskKind::Nursery,
        format!("actor nursery ({} backend)", backend_name(&actor)),
    );
    let n = ActorNursery {
        inner: Arc::new(NurseryInner {
            backend: backend_for(actor.runtime_vars().spawn_method),
            task,
            actor,
            scope: scope.clone(),
            children: Mutex::new(Vec::new()),
            errors: etx,
            tasks: TaskTracker::new(),
            closing: AtomicBool::new(false),
            escalations: AtomicUsize::new(0),
        }),
    };
    let mut errors: Vec<Error> = Vec::new();
    // Boxed so it can be dropped as soon as we stop polling it: a body cut
    // short mid-`start_actor` must release the half-started child at once.
    let mut fut = Box::pin(n.inner.task.scope(body(n.clone())));
    let value = tokio::select! {
        r = &mut fut => match r {
            Ok(v) => Some(v),
            Err(e) => { errors.push(e); None }
        },
        Some(e) = erx.recv() => { errors.push(e); None }
        _ = scope.token().cancelled() => None,
    };
    drop(fut);
    if value.is_some() {
        // The body is done: wait for the children to finish, unless one
        // fails or we are cancelled meanwhile.
        tokio::select! {
            _ = n.all_exited() => {}
            Some(e) = erx.recv() => errors.push(e),
            _ = scope.token().cancelled() => {}
        }
    }
    n.inner.closing.store(true, Ordering::SeqCst);
    n.cancel().await;
    n.inner.tasks.close();
    n.inner.tasks.wait().await;
    while let Ok(e) = erx.try_recv() {
        if !e.is_cancelled() && !matches!(e, Error::PeerGone { .. }) {
            errors.push(e);
        }
    }
    if let Some(e) = Error::collect(errors) {
        return Err(e);
    }
    match value {
        Some(v) if !scope.is_cancelled() => Ok(v),
        _ => Err(Error::Cancelled(format!(
            "actor nursery in '{}' was cancelled{}",
            n.inner.actor.name(),
            outer
                .canceller()
                .map(|u| format!(" by '{}'", u.name))
                .unwrap_or_default()
        ))),
    }
}

impl ActorNursery {
    fn check_open(&self, name: &str) -> Result<(), Error> {
        if self.inner.closing.load(Ordering::SeqCst) || self.inner.scope.is_cancelled() {
            return Err(Error::Spawn {
                name: name.to_owned(),
                reason: "the nursery is closing".into(),
            });
        }
        Ok(())
    }

    /// The actor this nursery belongs to.
    pub fn actor(&self) -> &Actor {
        &self.inner.actor
    }

    /// How many children needed SIGTERM or SIGKILL so far.
    pub fn escalations(&self) -> usize {
        self.inner.escalations.load(Ordering::SeqCst)
    }

    /// Starts a long-lived actor named `name` in which the namespaces
    /// `enable` are callable. It runs until cancelled. The spawn backend is
    /// the nursery's (from `RuntimeVars::spawn_method`).
    pub async fn start_actor(&self, name: &str, enable: &[&str]) -> Result<Portal, Error> {
        let backend = self.inner.backend.clone();
        self.start_actor_with(name, enable, backend).await
    }

    /// [`ActorNursery::start_actor`] with a chosen spawn backend (per
    /// actor), e.g. `Arc::new(tractor::spawn::ThreadBackend)`.
    pub async fn start_actor_with(
        &self,
        name: &str,
        enable: &[&str],
        backend: Arc<dyn SpawnBackend>,
    ) -> Result<Portal, Error> {
        self.start_inner(name, enable, backend, false)
            .await
            .map(|c| c.portal)
    }

    /// Hook for `crate::supervision`: starts a child whose unrequested
    /// exit is *not* an error of this nursery (its supervisor decides),
    /// and hands back its exit watch and pid.
    pub(crate) async fn start_supervised(
        &self,
        name: &str,
        enable: &[&str],
        backend: Arc<dyn SpawnBackend>,
    ) -> Result<StartedChild, Error> {
        self.start_inner(name, enable, backend, true).await
    }

    /// Hook for `crate::supervision`: stops one child gracefully (cancel,
    /// grace, SIGTERM, SIGKILL) and returns once it has exited and been
    /// reaped (or was abandoned).
    pub(crate) async fn stop_child(&self, uid: &Uid) {
        self.cancel_child(uid).await;
    }

    /// Hook for `crate::supervision`: drops an exited child from the
    /// nursery's list (a restarted child would otherwise pile up).
    pub(crate) fn forget_child(&self, uid: &Uid) {
        lock(&self.inner.children).retain(|c| &c.uid != uid || c.exited.borrow().is_none());
    }

    async fn start_inner(
        &self,
        name: &str,
        enable: &[&str],
        backend: Arc<dyn SpawnBackend>,
        supervised: bool,
    ) -> Result<StartedChild, Error> {
        self.check_open(name)?;
        let actor = &self.inner.actor;
        let uid = Uid::random(name);
        let parent_addr = actor
            .accept_addrs()
            .first()
            .cloned()
            .ok_or_else(|| Error::Spawn {
                name: name.to_owned(),
                reason: "this actor has no accept address for the child to dial".into(),
            })?;
        let mut rtv = actor.runtime_vars().for_child(&uid, &parent_addr);
        rtv.root_addrs = if actor.runtime_vars().is_root {
            actor.accept_addrs()
        } else {
            actor.runtime_vars().root_addrs.clone()
        };
        // On UDS the parent names the child's socket, unique per actor (so
        // thread actors of one process never collide) and known to us (so
        // we can remove it if the child cannot: killed, crashed).
        let bind = (rtv.transport == crate::ipc::Proto::Uds)
            .then(|| crate::ipc::Addr::uds_for(&rtv.bind_dir, name, &uid.uuid[..8]));
        // An actor in this process gets a connected socket; any other
        // dials our address, and we wait for it.
        let (reach, child_link) = if backend.in_process() {
            let (ours, theirs) = ChildLink::pair().map_err(|e| Error::Spawn {
                name: name.to_owned(),
                reason: format!("cannot make a socket pair for it: {e}"),
            })?;
            (Reach::Link(ours), Some(theirs))
        } else {
            (Reach::Dial(actor.expect_child(&uid)), None)
        };
        let linked = matches!(reach, Reach::Link(_));
        let bind_dir = rtv.bind_dir.clone();
        // A child in this process takes `rtv` itself (its `SpawnSpec`
        // carries none, see below); any other child reads them from the
        // spec, serialized from the copy kept here once it is on its way.
        let (rtv, wire_rtv) = if linked {
            (rtv, None)
        } else {
            (rtv.clone(), Some(rtv))
        };
        let child = match backend.spawn(SpawnRequest {
            uid: uid.clone(),
            rtv,
            entry: actor.child_entry(),
            link: child_link,
        }) {
            Ok(c) => c,
            Err(e) => {
                actor.unexpect_child(&uid);
                return Err(e);
            }
        };
        let control = child.control();
        let (exit_tx, mut exited) = watch::channel(None);
        let cancel_requested = Arc::new(AtomicBool::new(false));
        {
            let errors = self.inner.errors.clone();
            let requested = cancel_requested.clone();
            let name = name.to_owned();
            let pid = control.pid().unwrap_or(0);
            let wait = child.wait();
            let bind = bind.clone();
            let uuid8 = uid.uuid[..8].to_owned();
            self.inner.tasks.spawn(async move {
                let status = wait.await;
                if !status.success() {
                    remove_stale_socket(bind.as_ref());
                    remove_shm_offers(&bind_dir, &uuid8);
                }
                let expected = requested.load(Ordering::SeqCst) || supervised;
                if !expected && !status.success() {
                    let _ = errors.send(Error::ChildDied {
                        name,
                        pid,
                        status: status.to_string(),
                    });
                }
                let _ = exit_tx.send(Some(status));
            });
        }
        let connected = match reach {
            Reach::Link(link) => {
                // Our `Aid` and its `SpawnSpec` go out at once, without
                // waiting for its `Aid` (the reader checks that one).
                let conn = link
                    .into_conn(format!("child {name}"))
                    .map_err(|e| Error::Spawn {
                        name: name.to_owned(),
                        reason: format!("cannot use its socket pair: {e}"),
                    })?;
                let chan = Channel::new(conn, actor.runtime_vars().wire_limits());
                chan.send(&Msg::Aid(actor.aid())).await?;
                Some((chan, Aid::of_this_process(&uid)))
            }
            Reach::Dial(waiter) => tokio::select! {
                r = waiter => r.ok(),
                _ = exited.wait_for(Option::is_some) => None,
                _ = tokio::time::sleep(CONNECT_BACK_TIMEOUT) => None,
            },
        };
        let Some((chan, aid)) = connected else {
            actor.unexpect_child(&uid);
            cancel_requested.store(true, Ordering::SeqCst);
            control.kill();
            let status = exited
                .wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|s| s.clone())
                .map(|s| s.to_string())
                .unwrap_or_else(|| "unknown status".into());
            return Err(Error::Spawn {
                name: name.to_owned(),
                reason: format!("it exited before connecting back ({status})"),
            });
        };
        let spec = Msg::SpawnSpec(SpawnSpec {
            parent_main_data: Vec::new(),
            // A child in this process was handed `rtv` itself with its
            // entry (`SpawnRequest`); a wire copy would only be merged back
            // into the same values, at tens of microseconds a spawn.
            runtime_vars: wire_rtv.map(|r| r.to_wire()).unwrap_or_default(),
            enable_modules: backend.enable_modules(enable),
            reg_addrs: actor
                .runtime_vars()
                .registrars()
                .iter()
                .map(|a| a.to_wire())
                .collect(),
            bind_addrs: bind.as_ref().map(|a| vec![a.to_wire()]),
        });
        chan.send(&spec).await?;
        let peer = if linked {
            actor.spawn_linked_peer(aid, chan)
        } else {
            actor.spawn_peer(aid, chan)
        };
        let mut portal = Portal::new(actor.clone(), peer);
        portal.cancel_flag = Some(cancel_requested.clone());
        let pid = control.pid();
        let task = self.inner.actor.tasks().enter_under(
            Some(self.inner.task.key()),
            TaskKind::Actor,
            match pid {
                Some(p) => format!("{} pid={p}", uid.name),
                None => format!("{} (thread)", uid.name),
            },
        );
        lock(&self.inner.children).push(Child {
            _task: task,
            uid,
            bind,
            portal: portal.clone(),
            control,
            exited: exited.clone(),
            cancel_requested,
        });
        Ok(StartedChild {
            portal,
            exited,
            pid,
        })
    }

    /// Starts a one-shot actor that runs `call`, then is cancelled. The
    /// result comes back through [`Portal::result`]; an error cancels the
    /// nursery.
    pub async fn run_in_actor<F: RemoteFn + 'static>(
        &self,
        name: &str,
        call: F,
    ) -> Result<Portal, Error> {
        let kwargs = payload::to_kwargs(&call)?;
        let mut portal = self.start_actor(name, &[F::NS]).await?;
        let (tx, rx) = watch::channel(None);
        portal.result = Some(rx);
        let p = portal.clone();
        let errors = self.inner.errors.clone();
        let me = self.clone();
        self.inner.tasks.spawn(async move {
            let r = p.run_from_ns(F::NS, F::NAME, kwargs).await;
            me.cancel_child(&p.uid()).await;
            match r {
                Ok(v) => {
                    let _ = tx.send(Some(Ok(v)));
                }
                Err(e) => {
                    let shared = Arc::new(crate::runtime::portal::clone_error(&e));
                    let _ = tx.send(Some(Err(shared)));
                    let _ = errors.send(e);
                }
            }
        });
        Ok(portal)
    }

    /// Cancels every child: `self.cancel`, then escalation after the grace
    /// period. Returns when all have exited.
    pub async fn cancel(&self) {
        let uids: Vec<Uid> = lock(&self.inner.children)
            .iter()
            .map(|c| c.uid.clone())
            .collect();
        let all = uids.iter().map(|u| self.cancel_child(u));
        futures_util::future::join_all(all).await;
    }

    async fn cancel_child(&self, uid: &Uid) {
        let found = lock(&self.inner.children)
            .iter()
            .find(|c| &c.uid == uid)
            .map(|c| {
                (
                    c.bind.clone(),
                    c.portal.clone(),
                    c.control.clone(),
                    c.exited.clone(),
                    c.cancel_requested.clone(),
                )
            });
        let Some((bind, portal, control, mut exited, requested)) = found else {
            return;
        };
        if exited.borrow().is_some() {
            return;
        }
        requested.store(true, Ordering::SeqCst);
        if let Err(e) = portal.cancel_actor().await {
            tracing::debug!(actor = portal.name(), error = %e, "cancel request failed");
        }
        let grace = self.inner.actor.runtime_vars().cancel_grace();
        let how = escalate(portal.name(), &control, &mut exited, grace).await;
        if how != Escalation::None {
            self.inner.escalations.fetch_add(1, Ordering::SeqCst);
        }
        if matches!(how, Escalation::Killed | Escalation::Abandoned) {
            remove_stale_socket(bind.as_ref());
        }
        if how == Escalation::Abandoned {
            crate::runtime::actor::mark_abandoned(&portal.uid());
            let _ = self.inner.errors.send(Error::Abandoned {
                name: portal.name().to_owned(),
                secs: grace.as_secs_f64(),
            });
        }
    }

    /// Actors started but not yet exited (abandoned ones count as gone).
    pub fn live_children(&self) -> usize {
        lock(&self.inner.children)
            .iter()
            .filter(|c| c.exited.borrow().is_none())
            .count()
    }

    async fn all_exited(&self) {
        let mut waits: Vec<watch::Receiver<Option<ExitInfo>>> = lock(&self.inner.children)
            .iter()
            .map(|c| c.exited.clone())
            .collect();
        for w in waits.iter_mut() {
            let _ = w.wait_for(Option::is_some).await;
        }
    }
}

fn backend_name(actor: &Actor) -> &'static str {
    match actor.runtime_vars().spawn_method {
        crate::runtime::state::SpawnMethod::Process => "process",
        crate::runtime::state::SpawnMethod::Thread => "thread",
    }
}

/// A child started through [`ActorNursery::start_supervised`].
pub(crate) struct StartedChild {
    /// Its portal.
    pub portal: Portal,
    /// Set once it has exited and been reaped.
    pub exited: watch::Receiver<Option<ExitInfo>>,
    /// Its OS pid (process actors).
    pub pid: Option<u32>,
}

/// A killed (or abandoned) child cannot unlink its own UDS socket file;
/// its parent chose the path and removes it (only if it is a socket).
fn remove_stale_socket(bind: Option<&crate::ipc::Addr>) {
    let Some(crate::ipc::Addr::Uds(path)) = bind else {
        return;
    };
    use std::os::unix::fs::FileTypeExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

/// Offer sockets (see `crate::shm`) a crashed child left behind.
fn remove_shm_offers(bind_dir: &std::path::Path, uuid8: &str) {
    let prefix = format!("{}{uuid8}-", crate::ipc::ringbuf::SHM_OFFER_PREFIX);
    let Ok(rd) = std::fs::read_dir(bind_dir) else {
        return;
    };
    for e in rd.flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
