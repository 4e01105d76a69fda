//! The supervisor: a [`Supervisor`] handle for the body, and the loop
//! that owns the children, watches them end and restarts them.
//!
//! Everything that starts or stops a child happens in one loop, one step
//! at a time, so one child never has two instances: an instance is
//! stopped (or found dead) and reaped before its successor is spawned.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::budget::{Escalation, RestartBudget, RestartRecord};
use super::events::{Events, ExitReason, SupervisorEvent};
use super::strategy::{ChildSpec, Restart, Strategy, SupervisorSpec};
use crate::errors::Error;
use crate::msg::{Uid, Value};
use crate::nursery::ActorNursery;
use crate::runtime::actor::Actor;
use crate::runtime::peer::lock;
use crate::runtime::portal::Portal;
use crate::spawn::{ExitInfo, SpawnBackend, backend_for};

/// How many restart records a child keeps (for an escalation's history).
const HISTORY: usize = 32;

/// How long to wait for the old connection of a dead instance to be
/// noticed, so calls on its portal fail with `PeerGone` at once.
const PEER_GONE_WAIT: Duration = Duration::from_secs(1);

/// The body's handle on a running supervisor. Cheap to clone; only
/// useful inside its [`super::supervise`] scope (afterwards every call
/// fails or returns nothing).
#[derive(Clone)]
pub struct Supervisor {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("children", &self.children())
            .finish()
    }
}

struct Shared {
    actor: Actor,
    cmds: mpsc::UnboundedSender<Cmd>,
    current: Mutex<HashMap<String, Current>>,
    events: Events,
}

#[derive(Clone)]
struct Current {
    portal: Portal,
    pid: Option<u32>,
    restarts: u32,
}

enum Cmd {
    Start(Box<ChildSpec>, oneshot::Sender<Result<Portal, Error>>),
    Stop(String, oneshot::Sender<bool>),
    Shutdown(oneshot::Sender<()>),
    BodyDone,
}

fn closed() -> Error {
    Error::Cancelled("the supervisor has ended".into())
}

impl Supervisor {
    /// Starts a supervised child and returns the portal of its first
    /// instance. A child whose first start fails is not supervised (the
    /// error is returned, as OTP's `start_child`). Names are unique per
    /// supervisor.
    pub async fn start_child(&self, spec: ChildSpec) -> Result<Portal, Error> {
        let (tx, rx) = oneshot::channel();
        self.shared
            .cmds
            .send(Cmd::Start(Box::new(spec), tx))
            .map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }

    /// The portal of the child's current instance; `None` while it is
    /// being restarted or if there is no such child. A portal kept across
    /// a restart answers every call with `Error::PeerGone` naming the
    /// actor; ask again (or `tractor::wait_for_actor(name)`).
    pub fn portal(&self, name: &str) -> Option<Portal> {
        lock(&self.shared.current)
            .get(name)
            .map(|c| c.portal.clone())
    }

    /// The OS pid of the child's current instance (process actors).
    pub fn pid(&self, name: &str) -> Option<u32> {
        lock(&self.shared.current).get(name).and_then(|c| c.pid)
    }

    /// How many times the child has been restarted so far (while it runs).
    pub fn restarts(&self, name: &str) -> Option<u32> {
        lock(&self.shared.current).get(name).map(|c| c.restarts)
    }

    /// The names of the children running now, sorted.
    pub fn children(&self) -> Vec<String> {
        let mut v: Vec<String> = lock(&self.shared.current).keys().cloned().collect();
        v.sort();
        v
    }

    /// Every event from now on (see [`SupervisorEvent`]).
    pub fn subscribe(&self) -> broadcast::Receiver<SupervisorEvent> {
        self.shared.events.subscribe()
    }

    /// The actor this supervisor runs in.
    pub fn actor(&self) -> &Actor {
        &self.shared.actor
    }

    /// Stops the child gracefully and forgets it (OTP's `terminate_child`
    /// + `delete_child`); false if there was no such child.
    pub async fn stop_child(&self, name: &str) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.shared.cmds.send(Cmd::Stop(name.into(), tx)).is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// Stops every child, last started first, and restarts none from now
    /// on. Once the body has also returned, the supervisor returns.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.shared.cmds.send(Cmd::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    pub(crate) fn body_done(&self) {
        let _ = self.shared.cmds.send(Cmd::BodyDone);
    }
}

type Monitor = Pin<Box<dyn Future<Output = Ended> + Send>>;

/// An instance ended: its actor exited, or its main function returned.
struct Ended {
    name: String,
    generation: u64,
    /// The main function's outcome, when that is what ended it.
    main: Option<Result<Value, Error>>,
}

struct Instance {
    generation: u64,
    uid: Uid,
    pid: Option<u32>,
    portal: Portal,
    exited: watch::Receiver<Option<ExitInfo>>,
}

struct Slot {
    spec: ChildSpec,
    backend: Arc<dyn SpawnBackend>,
    restarts: u32,
    history: Vec<RestartRecord>,
    live: Option<Instance>,
}

/// The supervisor's loop and everything it owns.
pub(crate) struct Core {
    spec: SupervisorSpec,
    nursery: ActorNursery,
    shared: Arc<Shared>,
    cmds: mpsc::UnboundedReceiver<Cmd>,
    children: Vec<Slot>,
    budget: RestartBudget,
    monitors: FuturesUnordered<Monitor>,
    next_generation: u64,
    body_done: bool,
    shutting_down: bool,
}

/// A supervisor on top of `nursery`: the body's handle and the loop.
pub(crate) fn new(nursery: ActorNursery, spec: SupervisorSpec) -> (Supervisor, Core) {
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        actor: nursery.actor().clone(),
        cmds: tx,
        current: Mutex::new(HashMap::new()),
        events: Events::new(),
    });
    let core = Core {
        budget: RestartBudget::new(spec.intensity, spec.period),
        spec,
        nursery,
        shared: shared.clone(),
        cmds: rx,
        children: Vec::new(),
        monitors: FuturesUnordered::new(),
        next_generation: 0,
        body_done: false,
        shutting_down: false,
    };
    (Supervisor { shared }, core)
}

impl Core {
    /// Supervises until the body is done and no child is left to run
    /// (`Ok`), or the restart budget runs out (the escalation, after every
    /// child was stopped). Dropping it (the scope was cancelled) leaves the
    /// children to the nursery, which cancels them.
    pub(crate) async fn run(mut self) -> Result<(), Error> {
        loop {
            if self.body_done && self.children.is_empty() {
                return Ok(());
            }
            let step = tokio::select! {
                cmd = self.cmds.recv() => match cmd {
                    Some(c) => self.on_cmd(c).await,
                    None => Ok(()),
                },
                Some(ended) = self.monitors.next(), if !self.monitors.is_empty() => {
                    self.on_ended(ended).await
                }
            };
            if let Err(e) = step {
                // Give up gracefully: stop whatever still runs, then
                // escalate (once: this is the loop's only way out).
                // A child that cannot be stopped (an abandoned thread) is
                // reported by the nursery itself.
                self.shutting_down = true;
                let _ = self.stop_all().await;
                return Err(e);
            }
        }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.children.iter().position(|s| s.spec.name == name)
    }

    async fn on_cmd(&mut self, cmd: Cmd) -> Result<(), Error> {
        match cmd {
            Cmd::Start(spec, reply) => {
                let r = self.add_child(*spec).await;
                let _ = reply.send(r);
                Ok(())
            }
            Cmd::Stop(name, reply) => {
                let found = match self.index(&name) {
                    Some(i) => {
                        let r = self.stop_instance(i).await;
                        self.children.remove(i);
                        r?;
                        true
                    }
                    None => false,
                };
                let _ = reply.send(found);
                Ok(())
            }
            Cmd::Shutdown(reply) => {
                self.shutting_down = true;
                let r = self.stop_all().await;
                let _ = reply.send(());
                r
            }
            Cmd::BodyDone => {
                self.body_done = true;
                Ok(())
            }
        }
    }

    async fn add_child(&mut self, spec: ChildSpec) -> Result<Portal, Error> {
        let refuse = |why: &str| Error::Spawn {
            name: spec.name.clone(),
            reason: why.into(),
        };
        if self.shutting_down {
            return Err(refuse("the supervisor is shutting down"));
        }
        if self.index(&spec.name).is_some() {
            return Err(refuse("this supervisor already has a child of that name"));
        }
        let backend = spec
            .backend
            .clone()
            .unwrap_or_else(|| backend_for(self.shared.actor.runtime_vars().spawn_method));
        self.children.push(Slot {
            spec,
            backend,
            restarts: 0,
            history: Vec::new(),
            live: None,
        });
        let i = self.children.len() - 1;
        match self.start_instance(i).await {
            Ok(p) => Ok(p),
            Err(e) => {
                self.children.remove(i);
                Err(e)
            }
        }
    }

    /// Spawns a new instance of child `i` (which has none running).
    async fn start_instance(&mut self, i: usize) -> Result<Portal, Error> {
        let slot = &self.children[i];
        let name = slot.spec.name.clone();
        let enable: Vec<&str> = slot.spec.enable.iter().map(String::as_str).collect();
        let started = self
            .nursery
            .start_supervised(&name, &enable, slot.backend.clone())
            .await;
        let c = match started {
            Ok(c) => c,
            Err(e) => {
                self.shared.events.emit(SupervisorEvent::StartFailed {
                    child: name,
                    error: e.to_string(),
                });
                return Err(e);
            }
        };
        self.next_generation += 1;
        let generation = self.next_generation;
        let uid = c.portal.uid();
        let main = slot.spec.main.clone();
        let restarts = slot.restarts;
        {
            let portal = c.portal.clone();
            let mut exited = c.exited.clone();
            let name = name.clone();
            self.monitors.push(Box::pin(async move {
                let main = match main {
                    Some(m) => tokio::select! {
                        r = portal.run_from_ns(&m.ns, &m.func, m.kwargs) => Some(r),
                        _ = exited.wait_for(Option::is_some) => None,
                    },
                    None => {
                        let _ = exited.wait_for(Option::is_some).await;
                        None
                    }
                };
                Ended {
                    name,
                    generation,
                    main,
                }
            }));
        }
        lock(&self.shared.current).insert(
            name.clone(),
            Current {
                portal: c.portal.clone(),
                pid: c.pid,
                restarts,
            },
        );
        self.children[i].live = Some(Instance {
            generation,
            uid: uid.clone(),
            pid: c.pid,
            portal: c.portal.clone(),
            exited: c.exited,
        });
        self.shared.events.emit(SupervisorEvent::Started {
            child: name,
            uid,
            pid: c.pid,
            restarts,
        });
        Ok(c.portal)
    }

    async fn on_ended(&mut self, ended: Ended) -> Result<(), Error> {
        let Some(i) = self.index(&ended.name) else {
            return Ok(());
        };
        let current = self.children[i].live.as_ref().map(|l| l.generation);
        if current != Some(ended.generation) {
            return Ok(()); // an instance we stopped ourselves
        }
        let Some(inst) = self.children[i].live.take() else {
            return Ok(());
        };
        if inst.exited.borrow().is_none() {
            // Its main function returned: the instance is done.
            self.nursery.stop_child(&inst.uid).await;
        }
        let info = self.confirm_reaped(&inst)?;
        let reason = match ended.main {
            Some(Ok(_)) => ExitReason::Normal,
            Some(Err(Error::PeerGone { .. } | Error::Chan(_))) if !info.success() => {
                ExitReason::Died(info.clone())
            }
            Some(Err(e)) => ExitReason::Failed(e.to_string()),
            None if info.success() => ExitReason::Normal,
            None => ExitReason::Died(info.clone()),
        };
        self.cleanup(
            &self.children[i].spec.name.clone(),
            inst,
            &info,
            reason.clone(),
        )
        .await;
        let restart = !self.shutting_down
            && match self.children[i].spec.restart {
                Restart::Permanent => true,
                Restart::Transient => reason.is_abnormal(),
                Restart::Temporary => false,
            };
        if !restart {
            self.children.remove(i);
            return Ok(());
        }
        self.restart_after(i, reason).await
    }

    /// The instance must have exited and been reaped; a thread actor that
    /// ignored its cancellation was abandoned, and a second instance
    /// beside it is not allowed: the supervisor gives up.
    fn confirm_reaped(&self, inst: &Instance) -> Result<ExitInfo, Error> {
        inst.exited.borrow().clone().ok_or_else(|| Error::Spawn {
            name: inst.uid.name.clone(),
            reason: "its previous instance could not be stopped (abandoned), so it is not \
                     restarted: two instances must never run at once"
                .into(),
        })
    }

    /// After an instance is gone: the nursery and the registrar forget
    /// it, its old connection is seen closed, the event goes out.
    async fn cleanup(&mut self, name: &str, inst: Instance, info: &ExitInfo, reason: ExitReason) {
        self.nursery.forget_child(&inst.uid);
        if !info.success() {
            // A killed actor cannot unregister itself.
            unregister(&self.shared.actor, &inst.uid).await;
        }
        let _ = tokio::time::timeout(PEER_GONE_WAIT, inst.portal.peer.gone.cancelled()).await;
        {
            let mut cur = lock(&self.shared.current);
            if cur.get(name).is_some_and(|c| c.portal.uid() == inst.uid) {
                cur.remove(name);
            }
        }
        self.shared.events.emit(SupervisorEvent::Exited {
            child: name.to_owned(),
            uid: inst.uid,
            pid: inst.pid,
            reason,
        });
    }

    /// Stops child `i`'s instance (if any) on the supervisor's behalf.
    async fn stop_instance(&mut self, i: usize) -> Result<(), Error> {
        let Some(inst) = self.children[i].live.take() else {
            return Ok(());
        };
        self.nursery.stop_child(&inst.uid).await;
        let info = self.confirm_reaped(&inst)?;
        let name = self.children[i].spec.name.clone();
        self.cleanup(&name, inst, &info, ExitReason::Shutdown).await;
        Ok(())
    }

    /// Stops every child, last started first, and forgets them all.
    async fn stop_all(&mut self) -> Result<(), Error> {
        let mut first_err = None;
        for i in (0..self.children.len()).rev() {
            if let Err(e) = self.stop_instance(i).await {
                first_err.get_or_insert(e);
            }
        }
        self.children.clear();
        first_err.map_or(Ok(()), Err)
    }

    /// Takes one restart from the budget for child `i`, which ended with
    /// `reason`; the pause to wait first, or the escalation.
    fn charge(&mut self, i: usize, reason: String) -> Result<Duration, Error> {
        let now = Instant::now();
        let period = self.spec.period;
        let slot = &mut self.children[i];
        slot.history.push(RestartRecord {
            child: slot.spec.name.clone(),
            at: SystemTime::now(),
            reason: reason.clone(),
        });
        if slot.history.len() > HISTORY {
            slot.history.remove(0);
        }
        if !self.budget.take(now) {
            let esc = Escalation {
                supervisor: self.shared.actor.name().to_owned(),
                child: slot.spec.name.clone(),
                last_reason: reason,
                intensity: self.spec.intensity,
                period,
                history: slot.history.clone(),
            };
            self.shared.events.emit(SupervisorEvent::Escalated {
                child: slot.spec.name.clone(),
                error: esc.to_string(),
            });
            return Err(Error::Escalated(Box::new(esc)));
        }
        let recent = slot
            .history
            .iter()
            .filter(|r| r.at.elapsed().map_or(true, |d| d <= period))
            .count();
        Ok(self
            .spec
            .backoff
            .map(|b| b.delay(u32::try_from(recent).unwrap_or(u32::MAX)))
            .unwrap_or_default())
    }

    /// Child `i` ended with `reason` and must be restarted: apply the
    /// strategy.
    async fn restart_after(&mut self, i: usize, reason: ExitReason) -> Result<(), Error> {
        let failed = self.children[i].spec.name.clone();
        let delay = self.charge(i, reason.to_string())?;
        let group: Vec<usize> = match self.spec.strategy {
            Strategy::OneForOne => vec![i],
            Strategy::OneForAll => (0..self.children.len()).collect(),
            Strategy::RestForOne => (i..self.children.len()).collect(),
        };
        // Siblings go down last-started first, as OTP does.
        for &j in group.iter().rev() {
            if j != i {
                self.stop_instance(j).await?;
            }
        }
        let names: Vec<String> = group
            .iter()
            .map(|&j| self.children[j].spec.name.clone())
            .collect();
        // Temporary siblings are not restarted: they are forgotten.
        self.children.retain(|s| {
            s.spec.name == failed
                || s.spec.restart != Restart::Temporary
                || !names.contains(&s.spec.name)
        });
        for name in names {
            if let Some(j) = self.index(&name) {
                self.restart_one(
                    j,
                    &failed,
                    if name == failed {
                        delay
                    } else {
                        Duration::ZERO
                    },
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Starts child `j` again; a failed start counts against the budget
    /// and is retried until it succeeds or the budget runs out.
    async fn restart_one(
        &mut self,
        j: usize,
        because_of: &str,
        delay: Duration,
    ) -> Result<(), Error> {
        let mut delay = delay;
        loop {
            self.children[j].restarts += 1;
            self.shared.events.emit(SupervisorEvent::Restarting {
                child: self.children[j].spec.name.clone(),
                restarts: self.children[j].restarts,
                because_of: because_of.to_owned(),
                delay,
            });
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            match self.start_instance(j).await {
                Ok(_) => return Ok(()),
                Err(e) => delay = self.charge(j, format!("failed to restart: {e}"))?,
            }
        }
    }
}

/// Removes a dead instance from the registry (it cannot do it itself),
/// so a lookup by name never finds it beside its successor.
async fn unregister(actor: &Actor, uid: &Uid) {
    crate::discovery::backend::for_actor(actor)
        .unregister(actor, uid)
        .await
}
