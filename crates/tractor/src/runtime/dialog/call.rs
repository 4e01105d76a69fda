//! A one-shot call: one `Start`, its `StartAck`, and one `Return` /
//! `CancelAck` / `Error` (spec §5.1). [`Call`] is the dialog under
//! `Portal::run` and the runtime's own `self.*` requests; dropping it before
//! its result asks the callee to cancel the task.

use std::sync::Arc;

use crate::errors::{Error, RemoteActorError};
use crate::msg::{ANY_PLD_SPEC, FuncType, Msg, Start, StrMap, Value};
use crate::runtime::actor::Actor;
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
pub(crate) fn functype_mismatch(call: &str, functype: FuncType, wanted: FuncType) -> Option<Error> {
    if functype == wanted {
        return None;
    }
    let (what, hint) = describe(functype);
    Some(Error::FuncType {
        call: call.to_owned(),
        functype: what.into(),
        expected: describe(wanted).0.into(),
        hint: hint.into(),
    })
}

/// The error for a plain call (`call`, like `ns.func()`) whose callee
/// acknowledged as `functype`: `None` for a plain async function.
pub(crate) fn functype_error(call: &str, functype: FuncType) -> Option<Error> {
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

/// One outstanding call; abandoning it (dropping it before the result)
/// asks the callee to cancel the task.
pub(crate) struct Call {
    pub(crate) actor: Actor,
    pub(crate) peer: Arc<Peer>,
    pub(crate) cid: String,
    rx: DialogRx,
    pub(crate) what: String,
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
        let cid = actor.next_cid();
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
