//! [`Context`]: two tasks in two actors in one dialog (spec §5.2).
//!
//! The opener calls [`Portal::open_context`]; the callee is a
//! `#[tractor::context]` function that receives the other end. The callee
//! sends a first value with [`Context::started`]; either side may then open
//! a bidirectional [`MsgStream`]; the callee's return value is the
//! context's result. Cancellation travels as messages and always says who
//! asked for it ([`CancelCause`]).
//!
//! The payload types are declared once, by the callee's signature: its
//! `Context<Callee<Started, Item>>` parameter gives what `started` sends
//! and what the stream carries (both ways), its return type the result.
//! The macro puts them on [`RemoteContextFn`], so the opener's
//! [`Context<Opener<F>>`](Opener) is typed the same without naming them
//! again, and a wrongly typed value does not compile on either side.
//! `Context` alone (`Callee<Value, Value>`) and the `*_ns` openers are the
//! untyped forms, for the CLI and Python peers.
//!
//! ```ignore
//! use tractor::{Callee, Context};
//!
//! #[tractor::context]
//! async fn echo(ctx: Context<Callee<String, String>>, greeting: String) -> Result<u32, tractor::Error> {
//!     ctx.started(&greeting).await?;
//!     let mut stream = ctx.open_stream();
//!     let mut n = 0;
//!     while let Some(s) = stream.recv().await? {
//!         stream.send(&s).await?;
//!         n += 1;
//!     }
//!     Ok(n)
//! }
//!
//! let (ctx, hello) = portal.open_context(echo { greeting: "hi".into() }).await?; // hello: String
//! let mut stream = ctx.open_stream(); // MsgStream<String>
//! stream.send(&"ping".to_string()).await?;
//! assert_eq!(stream.recv().await?, Some("ping".to_string()));
//! stream.close().await?;
//! assert_eq!(ctx.result().await?, 1); // u32
//! ```
//!
//! A value of another type than declared does not compile, on the
//! callee's side:
//!
//! ```compile_fail
//! use tractor::{Callee, Context};
//!
//! #[tractor::context]
//! async fn count(ctx: Context<Callee<u32, u32>>) -> Result<(), tractor::Error> {
//!     ctx.started(&"zero").await // declared `u32`
//! }
//! # fn main() {}
//! ```
//!
//! nor on the opener's:
//!
//! ```compile_fail
//! use tractor::{Callee, Context};
//!
//! #[tractor::context]
//! async fn count(ctx: Context<Callee<u32, u32>>) -> Result<(), tractor::Error> {
//!     ctx.started(&0).await
//! }
//!
//! async fn opener(portal: tractor::Portal) -> Result<(), tractor::Error> {
//!     let (ctx, _first) = portal.open_context(count {}).await?;
//!     ctx.open_stream().send(&"one".to_string()).await // items are `u32`
//! }
//! # fn main() {}
//! ```
//!
//! The same functions with the declared types compile, and the opener
//! names no type:
//!
//! ```
//! use tractor::{Callee, Context};
//!
//! #[tractor::context]
//! async fn count(ctx: Context<Callee<u32, u32>>) -> Result<String, tractor::Error> {
//!     ctx.started(&0).await?;
//!     ctx.open_stream().send(&1).await?;
//!     Ok("done".into())
//! }
//!
//! async fn opener(portal: tractor::Portal) -> Result<String, tractor::Error> {
//!     let (ctx, first) = portal.open_context(count {}).await?;
//!     let _: u32 = first;
//!     let mut stream = ctx.open_stream();
//!     let _: Option<u32> = stream.recv().await?;
//!     stream.send(&2).await?;
//!     ctx.result().await
//! }
//! # fn main() {}
//! ```

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::task::{Poll, ready};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::{Error, RemoteActorError, pack_error};
use crate::msg::{ErrorMsg, FuncType, Msg, Payload, PayloadKind, RawPayload, Uid, Value, payload};
use crate::runtime::actor::Actor;
use crate::runtime::cancel::CancelScope;
use crate::runtime::dialog::call::{Call, functype_mismatch};
use crate::runtime::dialog::shm::{self, ShmOffer, ShmReader, ShmWriter};
pub use crate::runtime::dialog::stream::MsgStream;
use crate::runtime::inbound::Inbound;
use crate::runtime::peer::{DialogRx, Peer, lock};
use crate::runtime::portal::{CANCEL_ACK_TIMEOUT, DEFAULT_STREAM_BUFFER, Portal};

/// A `#[tractor::context]` function's call arguments and payload types
/// (generated from its signature).
pub trait RemoteContextFn: Serialize + Send {
    /// The namespace.
    const NS: &'static str;
    /// The function name.
    const NAME: &'static str;
    /// What the callee's `started` sends (the `S` of its
    /// `Context<Callee<S, I>>` parameter).
    type Started: Serialize + DeserializeOwned + Send;
    /// What the context's stream carries, both ways (the `I`).
    type Item: Serialize + DeserializeOwned + Send;
    /// What the function returns (the context's result).
    type Output: DeserializeOwned + Send;
}

/// The payload types an opener's context is typed by: a
/// [`RemoteContextFn`]'s, or [`Untyped`]'s (`Value` for all three).
pub trait Payloads {
    /// The `started` value.
    type Started: Serialize + DeserializeOwned + Send;
    /// A stream item.
    type Item: Serialize + DeserializeOwned + Send;
    /// The callee's result.
    type Output: DeserializeOwned + Send;
}

impl<F: RemoteContextFn> Payloads for F {
    type Started = F::Started;
    type Item = F::Item;
    type Output = F::Output;
}

/// The payload types of a context opened by name
/// ([`Portal::open_context_from_ns`]): every payload is a `Value`.
#[derive(Debug)]
pub enum Untyped {}

impl Payloads for Untyped {
    type Started = Value;
    type Item = Value;
    type Output = Value;
}

/// The payload types of a callee's context type (what
/// `#[tractor::context]` reads from the function's first parameter). An
/// opener's context there does not compile:
///
/// ```compile_fail
/// #[tractor::context]
/// async fn wrong(ctx: tractor::Context<tractor::Opener>) -> Result<(), tractor::Error> {
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "the first parameter of a #[tractor::context] function is a `tractor::Context<tractor::Callee<Started, Item>>` (or `tractor::Context`, untyped), not `{Self}`"
)]
pub trait CalleeTypes {
    /// What `started` sends.
    type Started: Serialize + DeserializeOwned + Send;
    /// What the stream carries.
    type Item: Serialize + DeserializeOwned + Send;
}

impl<St, It> CalleeTypes for Context<Callee<St, It>>
where
    St: Serialize + DeserializeOwned + Send,
    It: Serialize + DeserializeOwned + Send,
{
    type Started = St;
    type Item = It;
}

/// A side whose context has a stream, and what it carries.
pub trait StreamSide {
    /// The stream's item type.
    type Item: Serialize + DeserializeOwned;
}

impl<St, It: Serialize + DeserializeOwned> StreamSide for Callee<St, It> {
    type Item = It;
}

impl<P: Payloads> StreamSide for Opener<P> {
    type Item = P::Item;
}

/// Which end of a context this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The actor that called `open_context`.
    Opener,
    /// The actor running the `#[tractor::context]` function.
    Callee,
}

/// Who cancelled a context, seen from this side (Python tractor's three
/// cases).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelCause {
    /// This side asked for it (`ctx.cancel()` here).
    SelfCancelled,
    /// The other side of the context asked for it.
    ByPeer(Uid),
    /// Some third actor asked for it (e.g. it cancelled the peer actor).
    ByOther(Uid),
}

/// Options for opening a context.
#[derive(Clone, Copy, Debug)]
pub struct ContextOptions {
    /// Buffer stream items without bound instead of refusing them with a
    /// `StreamOverrun` error when `buffer` unread items are waiting.
    pub allow_overruns: bool,
    /// How many unread stream items may wait.
    pub buffer: usize,
}

impl Default for ContextOptions {
    fn default() -> Self {
        ContextOptions {
            allow_overruns: false,
            buffer: DEFAULT_STREAM_BUFFER,
        }
    }
}

impl ContextOptions {
    fn cap(&self) -> Option<usize> {
        (!self.allow_overruns).then_some(self.buffer)
    }
}

/// Marker for the opener's end of a context ([`Portal::open_context`]),
/// typed by the context function `P` it opened (its [`Payloads`]), or
/// [`Untyped`] when opened by name: it waits for [`Context::result`]; it
/// has no `started`.
///
/// ```compile_fail
/// async fn opener(portal: tractor::Portal) -> Result<(), tractor::Error> {
///     let (ctx, _) = portal
///         .open_context_from_ns("ns", "f", vec![], Default::default())
///         .await?;
///     ctx.started(&tractor::msg::Value::Nil).await // only the callee sends `started`
/// }
/// # fn main() {}
/// ```
#[derive(Debug)]
pub struct Opener<P = Untyped>(std::convert::Infallible, PhantomData<fn() -> P>);

/// Marker for the callee's end of a context (the `ctx` a
/// `#[tractor::context]` function receives), with the types of its
/// `started` value and of its stream items: it sends
/// [`Context::started`]; it has no `result`.
///
/// ```compile_fail
/// async fn callee(ctx: tractor::Context) -> Result<(), tractor::Error> {
///     let _n = ctx.result().await?; // only the opener waits for a result
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[derive(Debug)]
pub struct Callee<Started = Value, Item = Value>(
    std::convert::Infallible,
    PhantomData<fn() -> (Started, Item)>,
);

/// Marker for a context handle kept by a stream or a shared-memory
/// channel, which either end may own: only the methods common to both
/// ends are available.
#[derive(Debug)]
pub enum AnySide {}

/// One end of a context, typed by its side ([`Callee`], the default, for
/// the `ctx` of a `#[tractor::context]` function; [`Opener`] for what
/// `open_context` returns), so calling the other end's methods does not
/// compile, and by its payload types (see the module docs). Cheap to
/// clone.
pub struct Context<S = Callee> {
    pub(crate) inner: Arc<CtxInner>,
    _side: PhantomData<fn() -> S>,
}

impl<S> Clone for Context<S> {
    fn clone(&self) -> Self {
        Context {
            inner: self.inner.clone(),
            _side: PhantomData,
        }
    }
}

impl<S> std::fmt::Debug for Context<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("cid", &self.inner.cid)
            .field("side", &self.inner.side)
            .field("peer", &self.inner.peer.aid.name)
            .finish()
    }
}

#[derive(Default)]
pub(crate) struct CtxState {
    pub stream_opened: bool,
    pub peer_stopped: bool,
    /// The final outcome: the callee's Return, or an Error.
    pub outcome: Option<Result<RawPayload, ErrorMsg>>,
    pub cancel_requested: bool,
}

pub(crate) struct CtxInner {
    pub actor: Actor,
    pub peer: Arc<Peer>,
    /// The dialog's id, shared with the connection's dialog table (and,
    /// on the callee, with its served-task table and task tree).
    pub cid: Arc<str>,
    pub side: Side,
    pub func: String,
    /// Held only while polling (never across an await), so it is a
    /// plain mutex; see [`Context::next_inbound`].
    pub rx: Mutex<DialogRx>,
    /// An `Error` the peer sent for this context, visible to senders.
    pub errored: crate::runtime::peer::ErrorSlot,
    pub state: Mutex<CtxState>,
    pub stop_sent: tokio::sync::Mutex<bool>,
    /// The callee task's scope.
    pub scope: Option<CancelScope>,
    /// The opener's entry in its actor's task tree, until the context
    /// ends (its result arrives, or the last handle is dropped).
    pub task: Mutex<Option<crate::devx::tasktree::TaskGuard>>,
}

impl Drop for CtxInner {
    fn drop(&mut self) {
        self.peer.close_dialog(&self.cid);
        let done = lock(&self.state).outcome.is_some();
        if self.side != Side::Opener
            || done
            || self.peer.gone.is_cancelled()
            || self.actor.inner.conn_tasks.is_closed()
        {
            return;
        }
        // The opener left its scope early: cancel the callee.
        let actor = self.actor.clone();
        let peer = self.peer.clone();
        let cid = self.cid.clone();
        self.actor.inner.conn_tasks.spawn(async move {
            let _ = cancel_task(&actor, &peer, &cid).await;
        });
    }
}

/// Asks the callee to cancel the task `cid` (`self._cancel_task`).
pub(crate) async fn cancel_task(actor: &Actor, peer: &Arc<Peer>, cid: &str) -> Result<bool, Error> {
    let kwargs = vec![("cid".to_owned(), Value::from(cid))];
    let mut c = Call::start(actor, peer, "self", "_cancel_task", kwargs).await?;
    let r = tokio::time::timeout(CANCEL_ACK_TIMEOUT, c.result()).await;
    c.done = true;
    match r {
        Ok(Ok(v)) => Ok(v.as_bool().unwrap_or(false)),
        Ok(Err(e)) => Err(e),
        Err(_) => Ok(false),
    }
}

/// A message of the dialog, as the context sees it.
pub(crate) enum Event {
    Item(RawPayload),
    Stop,
    Done,
}

impl<S> Context<S> {
    pub(crate) fn new(
        actor: Actor,
        peer: Arc<Peer>,
        cid: Arc<str>,
        side: Side,
        func: String,
        rx: DialogRx,
        scope: Option<CancelScope>,
    ) -> Context<S> {
        Context {
            _side: PhantomData,
            inner: Arc::new(CtxInner {
                actor,
                peer,
                cid,
                side,
                func,
                errored: rx.error_slot(),
                rx: Mutex::new(rx),
                state: Mutex::new(CtxState::default()),
                stop_sent: tokio::sync::Mutex::new(false),
                scope,
                task: Mutex::new(None),
            }),
        }
    }

    /// This handle without its side (what streams and rings keep).
    pub(crate) fn any(&self) -> Context<AnySide> {
        self.clone().retype()
    }

    /// The same context, seen with other payload types (the caller
    /// vouches for them: the opener of a typed call, say).
    pub(crate) fn retype<T>(self) -> Context<T> {
        Context {
            inner: self.inner,
            _side: PhantomData,
        }
    }

    /// The context id.
    pub fn cid(&self) -> &str {
        &self.inner.cid
    }

    /// Which end this is.
    pub fn side(&self) -> Side {
        self.inner.side
    }

    /// The other actor's uid.
    pub fn peer_uid(&self) -> Uid {
        self.inner.peer.uid()
    }

    /// A portal to the other actor over this context's connection.
    pub fn portal(&self) -> Portal {
        Portal::new(self.inner.actor.clone(), self.inner.peer.clone())
    }

    pub(crate) async fn send(&self, msg: Msg) -> Result<(), Error> {
        self.check_sendable()?;
        self.inner.peer.tx.send(&msg).await.map_err(Error::from)
    }

    /// An error the peer already sent for this context ends sending.
    fn check_sendable(&self) -> Result<(), Error> {
        if let Some(Err(e)) = &lock(&self.inner.state).outcome {
            return Err(RemoteActorError::from_msg(e.clone()).into());
        }
        if let Some(e) = self.inner.errored.get() {
            return Err(RemoteActorError::from_msg(e.clone()).into());
        }
        Ok(())
    }

    /// Sends a `Started`/`Yield`/`Return` whose payload `value` is
    /// serialized straight into the connection's write buffer.
    pub(crate) async fn send_payload<T: Serialize + ?Sized>(
        &self,
        kind: PayloadKind,
        value: &T,
    ) -> Result<(), Error> {
        self.check_sendable()?;
        let cid = &self.inner.cid;
        self.inner
            .peer
            .tx
            .send_with(|buf| crate::msg::encode_payload(kind, cid, value, buf))
            .await??;
        Ok(())
    }

    /// Changes this side's stream buffering (see [`ContextOptions`]).
    pub fn set_options(&self, opts: ContextOptions) {
        self.inner.peer.set_dialog_cap(&self.inner.cid, opts.cap());
    }

    /// The dialog's next message; `None` once the connection is gone.
    /// Several tasks may wait at once (each is woken by the next
    /// message; one takes it). Cancel safe.
    fn next_inbound(&self) -> impl Future<Output = Option<Inbound>> + '_ {
        std::future::poll_fn(|cx| lock(&self.inner.rx).poll_recv(cx))
    }

    /// The next event of the dialog. Cancel safe.
    ///
    /// A plain function over [`Context::poll_event`], not an `async fn`:
    /// a stream's `recv` then holds one small future, not nested state
    /// machines (moving each item between their frames was the largest
    /// part of `MsgStream::recv`'s own time in the stream profile).
    pub(crate) fn next_event(&self) -> impl Future<Output = Result<Event, Error>> + '_ {
        std::future::poll_fn(|cx| self.poll_event(cx))
    }

    /// [`Context::next_event`] as a poll.
    fn poll_event(&self, cx: &mut std::task::Context<'_>) -> Poll<Result<Event, Error>> {
        if lock(&self.inner.state).outcome.is_some() {
            return Poll::Ready(Ok(Event::Done));
        }
        let mut rx = lock(&self.inner.rx);
        loop {
            let Some(m) = ready!(rx.poll_recv(cx)) else {
                return Poll::Ready(Err(Error::PeerGone {
                    peer: self.inner.peer.aid.name.clone(),
                    what: format!("the context of {}()", self.inner.func),
                }));
            };
            let event = match m {
                Inbound::Pld(PayloadKind::Yield, pld) => Event::Item(pld),
                Inbound::Stop => {
                    lock(&self.inner.state).peer_stopped = true;
                    Event::Stop
                }
                Inbound::Pld(PayloadKind::Return, pld) => {
                    lock(&self.inner.state).outcome = Some(Ok(pld));
                    Event::Done
                }
                Inbound::Error(e) => {
                    lock(&self.inner.state).outcome = Some(Err(*e));
                    Event::Done
                }
                Inbound::StartAck(_) | Inbound::Pld(PayloadKind::Started, _) => continue,
                other => {
                    tracing::warn!(
                        msg = other.msg_type(),
                        "unexpected message in a context; ignored"
                    );
                    continue;
                }
            };
            return Poll::Ready(Ok(event));
        }
    }

    /// Tells the sender of a bad payload what was wrong (a `MsgTypeError`
    /// with the offending message), and returns the local error.
    pub(crate) async fn reject_payload(&self, bad: Msg, pld: &RawPayload, why: String) -> Error {
        let pld = pld.to_value();
        let mut err = pack_error(
            self.inner.actor.uid(),
            "MsgTypeError",
            why.clone(),
            String::new(),
            Some(self.inner.cid.to_string()),
        );
        err.sender = Some(self.inner.peer.uid());
        let bad = match bad {
            Msg::Yield(p) => Msg::Yield(Payload { pld, ..p }),
            Msg::Started(p) => Msg::Started(Payload { pld, ..p }),
            other => other,
        };
        err.bad_msg = Some(Box::new(bad));
        let _ = self.inner.peer.tx.send(&Msg::Error(err)).await;
        Error::Payload(payload::PayloadError(why))
    }

    /// Sends `Stop` once, if this side opened a stream.
    pub(crate) async fn send_stop_once(&self) -> Result<(), Error> {
        if !lock(&self.inner.state).stream_opened {
            return Ok(());
        }
        let mut sent = self.inner.stop_sent.lock().await;
        if *sent {
            return Ok(());
        }
        *sent = true;
        self.inner
            .peer
            .tx
            .send(&Msg::Stop(crate::msg::Stop {
                cid: self.inner.cid.to_string(),
            }))
            .await
            .map_err(Error::from)
    }

    /// Cancels the context. From the opener this asks the callee to cancel
    /// its task (`self._cancel_task`) and returns whether it acknowledged;
    /// from the callee it cancels its own task.
    pub async fn cancel(&self) -> Result<bool, Error> {
        lock(&self.inner.state).cancel_requested = true;
        match self.inner.side {
            Side::Opener => cancel_task(&self.inner.actor, &self.inner.peer, &self.inner.cid).await,
            Side::Callee => {
                if let Some(s) = &self.inner.scope {
                    s.cancel(Some(self.inner.actor.uid().clone()));
                }
                Ok(true)
            }
        }
    }

    /// If the context ended in a cancellation: who asked for it.
    pub fn cancel_cause(&self) -> Option<CancelCause> {
        let st = lock(&self.inner.state);
        let Some(Err(e)) = &st.outcome else {
            return None;
        };
        if crate::errors::ErrorKind::from_type_name(&e.src_type_str)
            != crate::errors::ErrorKind::ContextCancelled
            && crate::errors::ErrorKind::from_type_name(&e.boxed_type_str)
                != crate::errors::ErrorKind::ContextCancelled
        {
            return None;
        }
        let canceller = e.canceller.clone()?;
        Some(if &canceller == self.inner.actor.uid() {
            CancelCause::SelfCancelled
        } else if canceller == self.inner.peer.uid() {
            CancelCause::ByPeer(canceller)
        } else {
            CancelCause::ByOther(canceller)
        })
    }
}

/// Either end, once it knows its stream's type.
impl<S: StreamSide> Context<S> {
    /// Opens the bidirectional stream of this context, typed as declared
    /// (`Value` for untyped). Opening sends nothing; either side may open.
    pub fn open_stream(&self) -> MsgStream<S::Item> {
        lock(&self.inner.state).stream_opened = true;
        MsgStream::new(self.any())
    }
}

/// The callee's end.
impl<St: Serialize, It> Context<Callee<St, It>> {
    /// Callee: sends the first value; the opener's `open_context` returns
    /// with it.
    pub async fn started(&self, value: &St) -> Result<(), Error> {
        self.send_payload(PayloadKind::Started, value).await
    }

    /// The callee's cancel scope.
    pub fn scope(&self) -> Option<&CancelScope> {
        self.inner.scope.as_ref()
    }
}

/// The opener's end.
impl<P: Payloads> Context<Opener<P>> {
    /// Opener: waits for the callee's result (closing our stream first,
    /// discarding stream items nobody read).
    pub async fn result(&self) -> Result<P::Output, Error> {
        // The peer may already be gone (it was cancelled, say): what it
        // sent before going is the outcome, so a failed Stop is no error.
        if self.inner.errored.get().is_none()
            && let Err(e) = self.send_stop_once().await
        {
            tracing::debug!(error = %e, "could not send Stop before result()");
        }
        loop {
            match self.next_event().await? {
                Event::Done => break,
                Event::Item(..) => {
                    tracing::debug!(cid = %self.inner.cid, "dropping an unread stream item at result()");
                }
                Event::Stop => {}
            }
        }
        let outcome = lock(&self.inner.state).outcome.clone();
        // Ended: it leaves the opener's task tree.
        lock(&self.inner.task).take();
        match outcome {
            Some(Ok(v)) => Ok(v.decode()?),
            Some(Err(e)) => Err(RemoteActorError::from_msg(e).into()),
            None => unreachable!("Done is only returned with an outcome"),
        }
    }
}

/// The opener's end of a context opened by name.
impl Context<Opener<Untyped>> {
    /// Opener: waits for the callee's result and decodes it as `T` (the
    /// untyped form of [`Context::result`]; a result that does not decode
    /// is an [`Error::Payload`]).
    pub async fn result_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        Ok(payload::from_value(self.result().await?)?)
    }
}

/// Opens a context on `portal` (the machinery behind
/// [`Portal::open_context`]).
pub(crate) async fn open(
    portal: &Portal,
    ns: &str,
    func: &str,
    encode_start: impl FnOnce(&str, &mut Vec<u8>) -> Result<(), payload::PayloadError>,
    opts: ContextOptions,
) -> Result<(Context<Opener>, RawPayload), Error> {
    let actor = portal.actor.clone();
    let peer = portal.peer.clone();
    let cid = actor.next_cid();
    let rx = peer.open_dialog(cid.clone(), opts.cap());
    let ctx = Context::new(
        actor.clone(),
        peer.clone(),
        cid.clone(),
        Side::Opener,
        func.to_owned(),
        rx,
        None,
    );
    *lock(&ctx.inner.task) = Some(actor.tasks().enter(
        crate::devx::tasktree::TaskKind::Context,
        format!("{ns}.{func} cid={cid} peer={} (opener)", peer.aid.name),
    ));
    // Written straight into the connection's write buffer.
    let sent = match peer.tx.send_with(|buf| encode_start(&cid, buf)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Error::from(e)),
        Err(e) => Err(e.into()),
    };
    if let Err(e) = sent {
        // Nothing started remotely: nothing to cancel.
        lock(&ctx.inner.state).outcome = Some(Ok(RawPayload::nil()));
        return Err(e);
    }
    loop {
        let Some(m) = ctx.next_inbound().await else {
            lock(&ctx.inner.state).outcome = Some(Ok(RawPayload::nil()));
            return Err(Error::PeerGone {
                peer: peer.aid.name.clone(),
                what: format!("started() of {func}()"),
            });
        };
        match m {
            Inbound::StartAck(functype) if functype != FuncType::Context => {
                let _ = ctx.cancel().await;
                lock(&ctx.inner.state).outcome = Some(Ok(RawPayload::nil()));
                let call = format!("{ns}.{func}()");
                return Err(functype_mismatch(&call, functype, FuncType::Context)
                    .expect("a functype other than context"));
            }
            Inbound::StartAck(_) => continue,
            Inbound::Pld(PayloadKind::Started, pld) => {
                return Ok((ctx, pld));
            }
            Inbound::Error(e) => {
                lock(&ctx.inner.state).outcome = Some(Err((*e).clone()));
                return Err(RemoteActorError::from_msg(*e).into());
            }
            Inbound::Pld(PayloadKind::Return, pld) => {
                lock(&ctx.inner.state).outcome = Some(Ok(pld));
                return Err(Error::Config(format!(
                    "{func}() returned before calling started()"
                )));
            }
            other => {
                tracing::warn!(
                    msg = other.msg_type(),
                    "unexpected message before Started; ignored"
                );
            }
        }
    }
}

/// Shared-memory channels tied to this context (see [`shm`]).
impl<S> Context<S> {
    /// Creates a ring of `capacity` bytes that this side writes, and the
    /// offer to send to the other side. The hand-over runs in the
    /// background until the peer attaches, the context ends, or
    /// [`shm::OFFER_TIMEOUT`].
    pub async fn open_shm_writer(&self, capacity: usize) -> Result<(ShmWriter, ShmOffer), Error> {
        shm::open_writer(&self.any(), capacity).await
    }

    /// Attaches to a ring the other side offered; this side reads.
    pub async fn accept_shm_reader(&self, offer: &ShmOffer) -> Result<ShmReader, Error> {
        shm::accept_reader(&self.any(), offer).await
    }
}
