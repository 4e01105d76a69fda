//! A one-shot call: one `Start`, its `StartAck`, and one `Return` /
//! `CancelAck` / `Error` (spec §5.1). [`Call`] is the dialog under
//! `Portal::run` and the runtime's own `self.*` requests; dropping it before
//! its result asks the callee to cancel the task.

use std::sync::Arc;

use crate::errors::{Error, RemoteActorError};
use crate::msg::payload::PayloadError;
use crate::msg::{ANY_PLD_SPEC, FuncType, Msg, PayloadKind, RawPayload, Start, StrMap, Value};
use crate::runtime::actor::Actor;
use crate::runtime::inbound::Inbound;
use crate::runtime::peer::{DialogRx, Peer};
use crate::runtime::portal::{CANCEL_ACK_TIMEOUT, DEFAULT_STREAM_BUFFER};

/// A function kind as a person reads it, and how to call one.
fn describe(functype: FuncType) -> (&'static str, &'static str) {
    match functype {
        FuncType::AsyncFunc => (
            "a plain async function",
            "call it with Portal::run (or run_from_ns)",
        ),
        FuncType::Context => ("a context function", "open it with Portal::open_context"),
        FuncType::AsyncGen => (
            "an async generator (a streaming function)",
            "stream it with Portal::open_stream_from",
        ),
    }
}

/// The error for a call that expected a function of kind `wanted` (`run`:
/// a plain async one, `open_context`: a context function,
/// `open_stream_from`: an async generator) whose callee acknowledged as
/// `functype`; `None` when they match.
pub(crate) fn functype_mismatch(
    call: &dyn std::fmt::Display,
    functype: FuncType,
    wanted: FuncType,
) -> Option<Error> {
    if functype == wanted {
        return None;
    }
    let (what, hint) = describe(functype);
    Some(Error::FuncType {
        call: call.to_string(),
        functype: what.into(),
        expected: describe(wanted).0.into(),
        hint: hint.into(),
    })
}

/// The error for a plain call (`call`, like `ns.func()`) whose callee
/// acknowledged as `functype`: `None` for a plain async function.
pub(crate) fn functype_error(call: &dyn std::fmt::Display, functype: FuncType) -> Option<Error> {
    functype_mismatch(call, functype, FuncType::AsyncFunc)
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

/// Writes into `buf` a `Start` from `actor` for `ns.func(**kwargs)` with
/// call id `cid`, its typed `kwargs` (a struct with named fields, or a
/// string-keyed map) serialized in place: no `Value` map on the way.
pub(crate) fn encode_typed_start<K: serde::Serialize + ?Sized>(
    actor: &Actor,
    ns: &str,
    func: &str,
    kwargs: &K,
    cid: &str,
    buf: &mut Vec<u8>,
) -> Result<(), PayloadError> {
    let head = crate::msg::StartHead {
        cid,
        ns,
        func,
        uid: actor.uid(),
        pld_spec: ANY_PLD_SPEC,
    };
    crate::msg::encode_start(head, kwargs, buf)
}

/// [`encode_typed_start`] for kwargs already built as a dynamic map.
pub(crate) fn encode_dynamic_start(
    actor: &Actor,
    ns: &str,
    func: &str,
    kwargs: StrMap,
    cid: &str,
    buf: &mut Vec<u8>,
) -> Result<(), PayloadError> {
    crate::msg::encode_into(&start_msg(actor, cid.to_owned(), ns, func, kwargs), buf);
    Ok(())
}

/// What a call is, as errors and logs name it: `ns.func()`. A typed call
/// names its function by the `'static` strings of its [`RemoteFn`]
/// definition, so naming it costs nothing until an error reads it.
///
/// [`RemoteFn`]: crate::RemoteFn
#[derive(Debug, Clone)]
pub(crate) enum CallName {
    /// A function known at compile time.
    Static {
        ns: &'static str,
        func: &'static str,
    },
    /// A function named at run time, already joined.
    Text(String),
}

impl CallName {
    /// The name of a call to `ns.func` given at run time.
    pub(crate) fn of(ns: &str, func: &str) -> Self {
        CallName::Text(format!("{ns}.{func}()"))
    }
}

impl std::fmt::Display for CallName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallName::Static { ns, func } => write!(f, "{ns}.{func}()"),
            CallName::Text(t) => f.write_str(t),
        }
    }
}

/// One outstanding call; abandoning it (dropping it before the result)
/// asks the callee to cancel the task.
pub(crate) struct Call {
    pub(crate) actor: Actor,
    pub(crate) peer: Arc<Peer>,
    pub(crate) cid: Arc<str>,
    rx: DialogRx,
    pub(crate) what: CallName,
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
        Call::start_with(actor, peer, CallName::of(ns, func), |cid, buf| {
            encode_dynamic_start(actor, ns, func, kwargs, cid, buf)
        })
        .await
    }

    /// [`Call::start`] with typed keyword arguments (a struct or a
    /// string-keyed map), serialized straight into the connection's write
    /// buffer: no `Value` map on the way.
    pub(crate) async fn start_typed<K: serde::Serialize + ?Sized>(
        actor: &Actor,
        peer: &Arc<Peer>,
        ns: &'static str,
        func: &'static str,
        kwargs: &K,
    ) -> Result<Call, Error> {
        Call::start_with(actor, peer, CallName::Static { ns, func }, |cid, buf| {
            encode_typed_start(actor, ns, func, kwargs, cid, buf)
        })
        .await
    }

    /// Opens the dialog and queues the `Start` that `encode` writes for
    /// the new call id.
    async fn start_with(
        actor: &Actor,
        peer: &Arc<Peer>,
        what: CallName,
        encode: impl FnOnce(&str, &mut Vec<u8>) -> Result<(), PayloadError>,
    ) -> Result<Call, Error> {
        let cid = actor.next_cid();
        let rx = peer.open_dialog(cid.clone(), Some(DEFAULT_STREAM_BUFFER));
        let mut call = Call {
            actor: actor.clone(),
            peer: peer.clone(),
            cid: cid.clone(),
            rx,
            what,
            done: false,
        };
        let gone = |what: &CallName| Error::PeerGone {
            peer: peer.aid.name.clone(),
            what: what.to_string(),
        };
        if peer.gone.is_cancelled() {
            // The actor behind this portal is gone (e.g. it died and was
            // restarted under the same name): say so, naming it.
            call.done = true;
            return Err(gone(&call.what));
        }
        match peer.tx.send_with(|buf| encode(&cid, buf)).await {
            Ok(Ok(())) => Ok(call),
            Ok(Err(e)) => {
                call.done = true;
                Err(e.into())
            }
            Err(e) => {
                call.done = true;
                Err(match e {
                    crate::ipc::ChanError::Closed { .. } => gone(&call.what),
                    e => e.into(),
                })
            }
        }
    }

    /// The next message of this dialog; `PeerGone` when the connection ends.
    pub(crate) async fn next(&mut self) -> Result<Inbound, Error> {
        self.rx.recv().await.ok_or_else(|| Error::PeerGone {
            peer: self.peer.aid.name.clone(),
            what: self.what.to_string(),
        })
    }

    /// Waits for the StartAck and then the Return / CancelAck / Error.
    /// A callee that acknowledges as another kind of function than a plain
    /// async one (it would never send a `Return` this call can take) is an
    /// [`Error::FuncType`] at once, instead of a wait forever.
    pub(crate) async fn result(&mut self) -> Result<Value, Error> {
        self.result_raw().await.map(|r| r.to_value())
    }

    /// [`Call::result`] with the returned value still msgpack bytes (a
    /// typed caller deserializes them straight into its type).
    pub(crate) async fn result_raw(&mut self) -> Result<RawPayload, Error> {
        loop {
            match self.next().await? {
                Inbound::StartAck(functype) => match functype_error(&self.what, functype) {
                    None => continue,
                    Some(e) => return Err(e),
                },
                Inbound::Pld(PayloadKind::Return, r) => return Ok(r),
                Inbound::CancelAck(cancelled) => {
                    return Ok(RawPayload::from_value(&Value::from(cancelled)));
                }
                Inbound::Error(e) => return Err(RemoteActorError::from_msg(*e).into()),
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
            let kwargs = vec![("cid".to_owned(), Value::from(&*target))];
            if let Ok(mut c) = Call::start(&actor, &peer, "self", "_cancel_task", kwargs).await {
                let _ = tokio::time::timeout(CANCEL_ACK_TIMEOUT, c.result()).await;
                c.done = true;
            }
        });
    }
}
