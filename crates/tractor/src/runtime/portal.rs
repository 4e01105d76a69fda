//! [`Portal`]: calling functions in another actor, and [`Caller`]: what a
//! function running in this actor knows about its call.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::actor::Actor;
use super::cancel::CancelScope;
use super::dialog::call::{Call, encode_dynamic_start, encode_typed_start};
use super::dialog::context::{self, Context, ContextOptions, Opener, RemoteContextFn};
use super::peer::{DialogRx, Peer};
use super::rpc::RemoteFn;
use crate::errors::{Error, RemoteActorError};
use crate::msg::{self, Msg, Payload, StrMap, Uid, Value, payload};

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
        let mut c = Call::start_typed(&self.actor, &self.peer, F::NS, F::NAME, &call).await?;
        let out = c.result_raw().await;
        // As in run_from_ns: a function of the wrong kind is cancelled.
        c.done = !matches!(out, Err(Error::FuncType { .. }));
        // Decoded straight from the frame's bytes into the output type.
        Ok(out?.decode()?)
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

/// What a function running in this actor knows about its call: the actor,
/// who called, and the call's cancel scope. Registered functions can take
/// it as a first parameter named `caller: Caller`.
#[derive(Clone)]
pub struct Caller {
    actor: Actor,
    peer: Arc<Peer>,
    cid: Arc<str>,
    scope: CancelScope,
    /// A context function's inbox, taken once by its `Context`; `None`
    /// for other functions (a plain call allocates no slot for it).
    dialog: Option<Arc<std::sync::Mutex<Option<DialogRx>>>>,
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
        cid: Arc<str>,
        scope: CancelScope,
        dialog: Option<DialogRx>,
    ) -> Self {
        Caller {
            actor,
            peer,
            cid,
            scope,
            dialog: dialog.map(|d| Arc::new(std::sync::Mutex::new(Some(d)))),
        }
    }

    /// The callee end of the context this call opened.
    pub(crate) fn context(&self, func: &str) -> context::Context {
        // Only a context function has an inbox; one made twice for a call
        // gets an inbox that has ended (routed nothing, nothing to remove).
        let rx = self
            .dialog
            .as_ref()
            .and_then(|d| super::peer::lock(d).take())
            .unwrap_or_else(DialogRx::ended);
        context::Context::new(
            self.actor.clone(),
            self.peer.clone(),
            self.cid.clone(),
            context::Side::Callee,
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

// Contexts (see `dialog::context`).
impl Portal {
    /// Opens a context with a `#[tractor::context]` function and waits for
    /// its `started` value, decoded as the function declares it
    /// (`F::Started`); the context's stream and result are typed by `F`
    /// too. A `started` value that does not decode is refused with a
    /// `MsgTypeError` sent back to the callee.
    ///
    /// The lower-level escape hatch: the returned context is tied to no
    /// scope, so a callee error is seen only by `result()` (or the
    /// stream), and walking away leaves the callee's cancellation to
    /// `Drop`. Prefer [`Portal::with_context`], whose exit always settles
    /// the callee.
    pub async fn open_context<F: RemoteContextFn>(
        &self,
        call: F,
    ) -> Result<(Context<Opener<F>>, F::Started), Error> {
        self.open_context_with(call, ContextOptions::default())
            .await
    }

    /// [`Portal::open_context`] with options (overrun policy, buffer).
    pub async fn open_context_with<F: RemoteContextFn>(
        &self,
        call: F,
        opts: ContextOptions,
    ) -> Result<(Context<Opener<F>>, F::Started), Error> {
        let actor = &self.actor;
        let encode = |cid: &str, buf: &mut Vec<u8>| {
            encode_typed_start(actor, F::NS, F::NAME, &call, cid, buf)
        };
        let (ctx, first) = context::open(self, F::NS, F::NAME, encode, opts).await?;
        let ctx = ctx.retype::<Opener<F>>();
        match first.decode::<F::Started>() {
            Ok(s) => Ok((ctx, s)),
            Err(e) => {
                let started = Msg::Started(Payload {
                    cid: ctx.cid().to_owned(),
                    pld: Value::Nil,
                });
                let why = format!("started value: {e}");
                Err(ctx.reject_payload(started, &first, why).await)
            }
        }
    }

    /// Opens a context by name, untyped: every payload is a `Value` (for
    /// the CLI, and functions only a Python peer knows).
    pub async fn open_context_from_ns(
        &self,
        ns: &str,
        func: &str,
        kwargs: StrMap,
        opts: ContextOptions,
    ) -> Result<(Context<Opener>, Value), Error> {
        let actor = &self.actor;
        let encode =
            |cid: &str, buf: &mut Vec<u8>| encode_dynamic_start(actor, ns, func, kwargs, cid, buf);
        let (ctx, first) = context::open(self, ns, func, encode, opts).await?;
        Ok((ctx, first.to_value()))
    }
}
