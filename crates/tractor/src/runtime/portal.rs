//! [`Portal`]: calling functions in another actor, and [`Caller`]: what a
//! function running in this actor knows about its call.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::actor::Actor;
use super::cancel::CancelScope;
use super::peer::{DialogRx, Peer};
use super::rpc::RemoteFn;
use crate::errors::{Error, RemoteActorError};
use crate::msg::{self, ANY_PLD_SPEC, FuncType, Msg, Start, StrMap, Uid, Value, payload};

/// How many stream items may wait unread in one context before the sender
/// gets a `StreamOverrun` error (unless overruns are allowed).
pub const DEFAULT_STREAM_BUFFER: usize = 4096;

/// How long `cancel_actor` waits for the `CancelAck` (Python's
/// `Portal.cancel_timeout`).
pub const CANCEL_ACK_TIMEOUT: Duration = Duration::from_millis(500);

/// Where a `run_in_actor` portal's result lands (errors are shared by
/// everyone waiting on it).
pub(crate) type ResultSlot = watch::Receiver<Option<Result<Value, Arc<Error>>>>;

/// A handle for calling into one remote actor over one connection.
#[derive(Clone)]
pub struct Portal {
    pub(crate) actor: Actor,
    pub(crate) peer: Arc<Peer>,
    pub(crate) result: Option<ResultSlot>,
    /// Set for a nursery's child: marks its exit as requested.
    pub(crate) cancel_flag: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl std::fmt::Debug for Portal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal")
            .field("peer", &self.peer.aid.name)
            .finish()
    }
}

impl Portal {
    pub(crate) fn new(actor: Actor, peer: Arc<Peer>) -> Portal {
        Portal {
            actor,
            peer,
            result: None,
            cancel_flag: None,
        }
    }

    /// The remote actor's uid.
    pub fn uid(&self) -> Uid {
        self.peer.uid()
    }

    /// The remote actor's name.
    pub fn name(&self) -> &str {
        &self.peer.aid.name
    }

    /// The remote actor's pid, as it reported it.
    pub fn pid(&self) -> Option<i64> {
        self.peer.aid.pid
    }

    /// Calls a function registered with `#[tractor::rpc]`, typed:
    ///
    /// ```ignore
    /// let sum: i64 = portal.run(workers::add { x: 1, y: 2 }).await?;
    /// ```
    pub async fn run<F: RemoteFn>(&self, call: F) -> Result<F::Output, Error> {
        let kwargs = payload::to_kwargs(&call)?;
        let v = self.run_from_ns(F::NS, F::NAME, kwargs).await?;
        Ok(payload::from_value(v)?)
    }

    /// Calls `ns.func(**kwargs)` by name, dynamically typed.
    pub async fn run_from_ns(&self, ns: &str, func: &str, kwargs: StrMap) -> Result<Value, Error> {
        let mut call = Call::start(&self.actor, &self.peer, ns, func, kwargs).await?;
        let out = call.result().await;
        // A function of the wrong kind keeps running there: leaving the
        // call not done makes dropping it cancel the remote task.
        call.done = !matches!(out, Err(Error::FuncType { .. }));
        out
    }

    /// Asks the remote actor to cancel itself (`self.cancel`); true when it
    /// acknowledged within [`CANCEL_ACK_TIMEOUT`].
    pub async fn cancel_actor(&self) -> Result<bool, Error> {
        if let Some(f) = &self.cancel_flag {
            f.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        let fut = async {
            let mut call =
                Call::start(&self.actor, &self.peer, "self", "cancel", Vec::new()).await?;
            let out = call.result().await;
            call.done = true;
            out
        };
        match tokio::time::timeout(CANCEL_ACK_TIMEOUT, fut).await {
            Ok(Ok(v)) => Ok(v.as_bool().unwrap_or(true)),
            Ok(Err(Error::PeerGone { .. })) | Ok(Err(Error::Chan(_))) => Ok(false),
            Ok(Err(e)) => Err(e),
            Err(_) => Ok(false),
        }
    }

    /// The result of the function a `run_in_actor` portal was made for.
    pub async fn result(&self) -> Result<Value, Error> {
        let Some(rx) = &self.result else {
            return Err(Error::Config(
                "result() is only available on portals from run_in_actor".into(),
            ));
        };
        let mut rx = rx.clone();
        let v = rx
            .wait_for(Option::is_some)
            .await
            .map_err(|_| Error::Cancelled("the nursery ended before the result arrived".into()))?;
        match v.as_ref().expect("waited for Some") {
            Ok(v) => Ok(v.clone()),
            Err(e) => Err(clone_error(e)),
        }
    }

    /// Like [`Portal::result`], decoded as `T`.
    pub async fn result_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        Ok(payload::from_value(self.result().await?)?)
    }
}

/// Errors are shared between the nursery and every `result()` caller;
/// remote errors are rebuilt from their wire form, others summarised.
pub(crate) fn clone_error(e: &Error) -> Error {
    match e {
        Error::Remote(r) => Error::Remote(RemoteActorError::from_msg(r.msg().clone())),
        Error::Cancelled(s) => Error::Cancelled(s.clone()),
        other => Error::Other(other.to_string().into()),
    }
}

/// The error for a plain call (`call`, like `ns.func()`) whose callee
/// acknowledged as `functype`: `None` for a plain async function.
pub(crate) fn functype_error(call: &str, functype: FuncType) -> Option<Error> {
    let (what, hint) = match functype {
        FuncType::AsyncFunc => return None,
        FuncType::Context => ("a context function", "open it with Portal::open_context"),
        FuncType::AsyncGen => (
            "an async generator (a streaming function)",
            "streaming functions cannot be called with run; call a context function that streams instead",
        ),
    };
    Some(Error::FuncType {
        call: call.to_owned(),
        functype: what.into(),
        hint: hint.into(),
    })
}

/// A `Start` from `actor` for `ns.func(**kwargs)` with call id `cid`.
pub(crate) fn start_msg(actor: &Actor, cid: String, ns: &str, func: &str, kwargs: StrMap) -> Msg {
    Msg::Start(Start {
        cid,
        ns: ns.to_owned(),
        func: func.to_owned(),
        kwargs,
        uid: actor.uid().clone(),
        pld_spec: ANY_PLD_SPEC.to_owned(),
    })
}

/// One outstanding call; abandoning it (dropping it before the result)
/// asks the callee to cancel the task.
pub(crate) struct Call {
    actor: Actor,
    peer: Arc<Peer>,
    pub(crate) cid: String,
    rx: DialogRx,
    what: String,
    pub(crate) done: bool,
}

impl Call {
    pub(crate) async fn start(
        actor: &Actor,
        peer: &Arc<Peer>,
        ns: &str,
        func: &str,
        kwargs: StrMap,
    ) -> Result<Call, Error> {
        let cid = uuid::Uuid::new_v4().to_string();
        let rx = peer.open_dialog(&cid, Some(DEFAULT_STREAM_BUFFER));
        let mut call = Call {
            actor: actor.clone(),
            peer: peer.clone(),
            cid: cid.clone(),
            rx,
            what: format!("{ns}.{func}()"),
            done: false,
        };
        let start = start_msg(actor, cid, ns, func, kwargs);
        let gone = || Error::PeerGone {
            peer: peer.aid.name.clone(),
            what: format!("{ns}.{func}()"),
        };
        if peer.gone.is_cancelled() {
            // The actor behind this portal is gone (e.g. it died and was
            // restarted under the same name): say so, naming it.
            call.done = true;
            return Err(gone());
        }
        if let Err(e) = peer.tx.send(&start).await {
            call.done = true;
            return Err(match e {
                crate::ipc::ChanError::Closed { .. } => gone(),
                e => e.into(),
            });
        }
        Ok(call)
    }

    /// The next message of this dialog; `PeerGone` when the connection ends.
    pub(crate) async fn next(&mut self) -> Result<Msg, Error> {
        self.rx.recv().await.ok_or_else(|| Error::PeerGone {
            peer: self.peer.aid.name.clone(),
            what: self.what.clone(),
        })
    }

    /// Waits for the StartAck and then the Return / CancelAck / Error.
    /// A callee that acknowledges as another kind of function than a plain
    /// async one (it would never send a `Return` this call can take) is an
    /// [`Error::FuncType`] at once, instead of a wait forever.
    pub(crate) async fn result(&mut self) -> Result<Value, Error> {
        loop {
            match self.next().await? {
                Msg::StartAck(a) => match functype_error(&self.what, a.functype) {
                    None => continue,
                    Some(e) => return Err(e),
                },
                Msg::Return(p) => return Ok(p.pld),
                Msg::CancelAck(a) => return Ok(Value::from(a.pld)),
                Msg::Error(e) => return Err(RemoteActorError::from_msg(e).into()),
                other => {
                    tracing::warn!(msg = other.msg_type(), call = %self.what, "unexpected message in a call; ignored");
                }
            }
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.peer.close_dialog(&self.cid);
        if self.done || self.peer.gone.is_cancelled() || self.actor.inner.conn_tasks.is_closed() {
            return;
        }
        // The caller gave up: ask the callee to stop the task.
        let actor = self.actor.clone();
        let peer = self.peer.clone();
        let target = self.cid.clone();
        self.actor.inner.conn_tasks.spawn(async move {
            let kwargs = vec![("cid".to_owned(), Value::from(target))];
            if let Ok(mut c) = Call::start(&actor, &peer, "self", "_cancel_task", kwargs).await {
                let _ = tokio::time::timeout(CANCEL_ACK_TIMEOUT, c.result()).await;
                c.done = true;
            }
        });
    }
}

/// What a function running in this actor knows about its call: the actor,
/// who called, and the call's cancel scope. Registered functions can take
/// it as a first parameter named `caller: Caller`.
#[derive(Clone)]
pub struct Caller {
    actor: Actor,
    peer: Arc<Peer>,
    cid: String,
    scope: CancelScope,
    /// A context function's inbox, taken once by its `Context`.
    dialog: Arc<std::sync::Mutex<Option<DialogRx>>>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("caller", &self.peer.aid.name)
            .field("cid", &self.cid)
            .finish()
    }
}

impl Caller {
    pub(crate) fn new(
        actor: Actor,
        peer: Arc<Peer>,
        cid: String,
        scope: CancelScope,
        dialog: Option<DialogRx>,
    ) -> Self {
        Caller {
            actor,
            peer,
            cid,
            scope,
            dialog: Arc::new(std::sync::Mutex::new(dialog)),
        }
    }

    /// The callee end of the context this call opened.
    pub(crate) fn context(&self, func: &str) -> crate::context::Context {
        let rx = super::peer::lock(&self.dialog).take().unwrap_or_else(|| {
            // Only reachable if a context is made twice for one call: give
            // the second one a fresh, empty inbox.
            self.peer.open_dialog(&format!("{}-unused", self.cid), None)
        });
        crate::context::Context::new(
            self.actor.clone(),
            self.peer.clone(),
            self.cid.clone(),
            crate::context::Side::Callee,
            func.to_owned(),
            rx,
            Some(self.scope.clone()),
        )
    }

    /// The actor the function runs in.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The calling actor's uid.
    pub fn caller_uid(&self) -> Uid {
        self.peer.uid()
    }

    /// The call id.
    pub fn cid(&self) -> &str {
        &self.cid
    }

    /// The call's cancel scope.
    pub fn scope(&self) -> &CancelScope {
        &self.scope
    }

    /// A portal back to the caller over the same connection.
    pub fn portal_to_caller(&self) -> Portal {
        Portal::new(self.actor.clone(), self.peer.clone())
    }
}

/// Converts a uid to its wire value.
pub fn uid_value(u: &Uid) -> Value {
    msg::uid_to_value(u)
}
