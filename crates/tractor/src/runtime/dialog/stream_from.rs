//! [`RemoteStream`]: the one-way stream from a remote async generator
//! (Python's `Portal.open_stream_from`, spec §5.1: `Start`, `StartAck` with
//! functype `asyncgen`, `Yield`s, then `Stop`).
//!
//! Rust actors serve no async generators (a `#[tractor::context]` function
//! that streams is the Rust shape), so this is how a Rust program consumes
//! a Python `async def f(): yield ...` or `@tractor.stream` function. The
//! callee's kind is checked at its `StartAck`: a plain or context function
//! is an [`Error::FuncType`] at once, never a wait forever.
//!
//! Dropping the stream before its `Stop` asks the callee to cancel the
//! generator (as Python's `open_stream_from` does on exit).

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::{Error, RemoteActorError};
use crate::msg::{FuncType, PayloadKind, StrMap, payload};
use crate::runtime::dialog::call::{Call, functype_mismatch};
use crate::runtime::dialog::context::cancel_task;
use crate::runtime::inbound::Inbound;
use crate::runtime::portal::Portal;

/// A remote async generator's call arguments: implement it on a struct
/// named like the function to stream it typed with
/// [`Portal::open_stream_from`].
///
/// ```ignore
/// #[derive(serde::Serialize)]
/// struct count_to { n: u32 }
/// impl tractor::RemoteStreamFn for count_to {
///     const NS: &'static str = "py_funcs";
///     const NAME: &'static str = "count_to";
///     type Item = u32;
/// }
/// let mut s = portal.open_stream_from(count_to { n: 3 }).await?;
/// while let Some(i) = s.recv().await? { println!("{i}"); }
/// ```
pub trait RemoteStreamFn: Serialize + Send {
    /// The namespace (Python: the module).
    const NS: &'static str;
    /// The function name.
    const NAME: &'static str;
    /// What each `Yield` carries.
    type Item: DeserializeOwned + Send;
}

/// The items of a remote async generator, typed `T` (`Value` for untyped).
pub struct RemoteStream<T> {
    call: Call,
    ended: bool,
    /// Its entry in the opener's task tree, until the stream ends.
    task: Option<crate::devx::tasktree::TaskGuard>,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for RemoteStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteStream")
            .field("cid", &self.call.cid)
            .field("ended", &self.ended)
            .finish()
    }
}

/// Starts `ns.func(**kwargs)` on `portal` and waits for its `StartAck`,
/// which must say `asyncgen`.
pub(crate) async fn open<T: DeserializeOwned>(
    portal: &Portal,
    ns: &str,
    func: &str,
    kwargs: StrMap,
) -> Result<RemoteStream<T>, Error> {
    let mut call = Call::start(&portal.actor, &portal.peer, ns, func, kwargs).await?;
    let task = portal.actor.tasks().enter(
        crate::devx::tasktree::TaskKind::Stream,
        format!(
            "{ns}.{func} cid={} peer={} (opener)",
            call.cid, portal.peer.aid.name
        ),
    );
    loop {
        match call.next().await? {
            Inbound::StartAck(functype) => {
                match functype_mismatch(&call.what, functype, FuncType::AsyncGen) {
                    // Not done: dropping the call cancels the task started by
                    // mistake.
                    Some(e) => return Err(e),
                    None => {
                        return Ok(RemoteStream {
                            call,
                            ended: false,
                            task: Some(task),
                            _t: PhantomData,
                        });
                    }
                }
            }
            Inbound::Error(e) => {
                call.done = true;
                return Err(RemoteActorError::from_msg(*e).into());
            }
            other => {
                tracing::warn!(msg = other.msg_type(), call = %call.what, "unexpected message before StartAck; ignored");
            }
        }
    }
}

impl<T: DeserializeOwned> RemoteStream<T> {
    /// The call id.
    pub fn cid(&self) -> &str {
        &self.call.cid
    }

    /// The next item; `Ok(None)` once the generator finished (`Stop`). A
    /// remote exception is an error; so is an item that does not decode
    /// as `T` (the generator is then cancelled).
    pub async fn recv(&mut self) -> Result<Option<T>, Error> {
        if self.ended {
            return Ok(None);
        }
        loop {
            match self.call.next().await {
                Err(e) => {
                    self.finish();
                    return Err(e);
                }
                Ok(Inbound::Pld(PayloadKind::Yield, pld)) => {
                    return match pld.decode::<T>() {
                        Ok(v) => Ok(Some(v)),
                        Err(e) => {
                            // Left not done: dropping cancels the generator.
                            self.ended = true;
                            Err(Error::Payload(payload::PayloadError(format!(
                                "stream item of {}: {e}",
                                self.call.what
                            ))))
                        }
                    };
                }
                Ok(
                    Inbound::Stop | Inbound::CancelAck(_) | Inbound::Pld(PayloadKind::Return, _),
                ) => {
                    self.finish();
                    return Ok(None);
                }
                Ok(Inbound::Error(e)) => {
                    self.finish();
                    return Err(RemoteActorError::from_msg(*e).into());
                }
                Ok(Inbound::StartAck(_)) => continue,
                Ok(other) => {
                    tracing::warn!(msg = other.msg_type(), call = %self.call.what, "unexpected message in a stream; ignored");
                }
            }
        }
    }

    /// Every remaining item, until the generator finishes.
    pub async fn collect(mut self) -> Result<Vec<T>, Error> {
        let mut out = Vec::new();
        while let Some(v) = self.recv().await? {
            out.push(v);
        }
        Ok(out)
    }

    /// Stops reading: asks the callee to cancel the generator and waits
    /// (up to `CANCEL_ACK_TIMEOUT`) for its acknowledgement; true when the
    /// task was still running and acknowledged.
    pub async fn cancel(mut self) -> Result<bool, Error> {
        if self.call.done {
            return Ok(false);
        }
        self.call.done = true;
        self.ended = true;
        cancel_task(&self.call.actor, &self.call.peer, &self.call.cid).await
    }

    fn finish(&mut self) {
        self.task = None;
        self.ended = true;
        self.call.done = true;
    }
}

// Opening (see the module docs).
impl Portal {
    /// Streams a remote async generator (Python's `open_stream_from`),
    /// typed by its [`RemoteStreamFn`]. A function of another kind is an
    /// [`Error::FuncType`] saying what to use.
    pub async fn open_stream_from<F: RemoteStreamFn>(
        &self,
        call: F,
    ) -> Result<RemoteStream<F::Item>, Error> {
        let kwargs = payload::to_kwargs(&call)?;
        open(self, F::NS, F::NAME, kwargs).await
    }

    /// [`Portal::open_stream_from`] by name; items decoded as `T` (`Value`
    /// for untyped).
    pub async fn open_stream_from_ns<T: DeserializeOwned>(
        &self,
        ns: &str,
        func: &str,
        kwargs: StrMap,
    ) -> Result<RemoteStream<T>, Error> {
        open(self, ns, func, kwargs).await
    }
}
