//! Served tasks: a `Start` resolved against the enabled namespaces and
//! run in its own cancel scope; its outcome (a value, a raised error, a
//! panic, a cancel) becomes the reply.

use std::sync::Arc;
use std::task::Poll;

use futures_util::FutureExt;

use crate::devx::tasktree::{TaskKind, TaskName};
use crate::errors::pack_error;
use crate::msg::{
    ErrorMsg, FuncType, Msg, PayloadKind, RawPayload, Start, StartRef, Uid, encode_raw_payload,
    encode_start_ack,
};
use crate::runtime::cancel::CancelScope;
use crate::runtime::peer::{Peer, lock};
use crate::runtime::portal::Caller;
use crate::runtime::rpc::{self, Kwargs, RpcFailure};

use super::Actor;

/// A `Start` as the serving side keeps it: the envelope's strings, and
/// the keyword arguments as they arrived (the map's bytes, on the wire
/// path; see [`Kwargs`]).
#[derive(Debug)]
pub(crate) struct ServedStart {
    /// Shared by the served-task table, the task tree and the call's
    /// [`Caller`]: one allocation per call.
    pub(crate) cid: Arc<str>,
    /// What it calls: a function of this program found as it was read,
    /// so a call to one copies neither name.
    target: Target,
    /// The `Start`'s uid when it is not the connection's peer (refused);
    /// `None` when it is, the only case that is served, so a served call
    /// copies no uid.
    pub(crate) stranger: Option<Uid>,
    pub(crate) kwargs: Kwargs,
}

/// The function a `Start` names.
#[derive(Debug)]
enum Target {
    /// One registered in this program (`#[tractor::rpc]`).
    Known(&'static rpc::RpcFnDef),
    /// Any other name: a runtime `self.*` call, or one that is refused.
    Named { ns: String, func: String },
}

impl Target {
    fn of(ns: &str, func: &str) -> Target {
        match rpc::lookup(ns, func) {
            Some(def) => Target::Known(def),
            None => Target::Named {
                ns: ns.to_owned(),
                func: func.to_owned(),
            },
        }
    }
}

impl ServedStart {
    /// A `Start` from `peer` read in place from `frame`: its kwargs stay a
    /// slice of it.
    pub(crate) fn of_frame(peer: &Peer, frame: &bytes::Bytes, s: &StartRef<'_>) -> ServedStart {
        let (name, uuid) = s.uid;
        ServedStart {
            cid: s.cid.into(),
            target: Target::of(s.ns, s.func),
            stranger: (!peer.aid.is(name, uuid)).then(|| Uid::new(name, uuid)),
            kwargs: Kwargs::Raw(RawPayload::of_frame(frame, s.kwargs)),
        }
    }

    /// A decoded `Start` from `peer`.
    pub(crate) fn of_start(peer: &Peer, s: Start) -> ServedStart {
        let stranger = (!peer.aid.is(&s.uid.name, &s.uid.uuid)).then_some(s.uid);
        ServedStart {
            cid: s.cid.into(),
            target: Target::of(&s.ns, &s.func),
            stranger,
            kwargs: Kwargs::Map(s.kwargs),
        }
    }

    /// The namespace it calls.
    pub(crate) fn ns(&self) -> &str {
        match &self.target {
            Target::Known(def) => def.ns,
            Target::Named { ns, .. } => ns,
        }
    }

    /// The function it calls.
    pub(crate) fn func(&self) -> &str {
        match &self.target {
            Target::Known(def) => def.name,
            Target::Named { func, .. } => func,
        }
    }
}

impl Actor {
    pub(super) fn on_start(&self, peer: &Arc<Peer>, start: ServedStart) {
        let me = self.clone();
        let peer = peer.clone();
        if let Some(uid) = &start.stranger {
            let err = pack_error(
                self.uid(),
                "RuntimeError",
                format!(
                    "Start.uid {} does not match the connection's peer {}",
                    uid,
                    peer.uid()
                ),
                String::new(),
                Some(start.cid.to_string()),
            );
            self.send_runtime_reply(&peer, Msg::Error(err));
            return;
        }
        // A cid names one dialog per connection: a second `Start` taking a
        // live one's place would put the first task out of reach of every
        // cancel (`_cancel_task`, the peer's hang-up) for good.
        if lock(&peer.served).contains_key(&*start.cid)
            || lock(&peer.dialogs).contains_key(&*start.cid)
        {
            let err = pack_error(
                self.uid(),
                "RuntimeError",
                format!(
                    "Start for {}.{} reuses cid {:?}, which names a call still running on \
                     this connection: each Start needs a fresh cid",
                    start.ns(),
                    start.func(),
                    start.cid
                ),
                String::new(),
                Some(start.cid.to_string()),
            );
            self.send_runtime_reply(&peer, Msg::Error(err));
            return;
        }
        if start.ns() == "self" {
            let entry = self.inner.tasks.enter(
                TaskKind::Runtime,
                format!(
                    "self.{} cid={} caller={}",
                    start.func(),
                    start.cid,
                    peer.aid.name
                ),
            );
            self.spawn_served(entry.run(async move { me.run_self(peer, start).await }));
            return;
        }
        let def = match self.resolve(&start) {
            Ok(def) => def,
            Err((ty, text)) => {
                let err = pack_error(
                    self.uid(),
                    ty,
                    text,
                    String::new(),
                    Some(start.cid.to_string()),
                );
                self.send_runtime_reply(&peer, Msg::Error(err));
                return;
            }
        };
        let scope = CancelScope::child_of(self.inner.scope.token());
        lock(&peer.served).insert(start.cid.clone(), scope.clone());
        // A context's inbox must exist before its StartAck goes out: the
        // opener may stream at once.
        let dialog = (def.functype == FuncType::Context).then(|| {
            let cap =
                (!def.allow_overruns).then_some(crate::runtime::portal::DEFAULT_STREAM_BUFFER);
            peer.open_dialog(start.cid.clone(), cap)
        });
        let kind = match def.functype {
            FuncType::AsyncFunc => TaskKind::Rpc,
            FuncType::AsyncGen => TaskKind::Stream,
            FuncType::Context => TaskKind::Context,
        };
        let entry = self.inner.tasks.enter(
            kind,
            TaskName::Served {
                ns: def.ns,
                func: def.name,
                cid: start.cid.clone(),
                caller: peer.name.clone(),
            },
        );
        self.spawn_served(
            entry.run(async move { me.run_rpc(peer, start, def, scope, dialog).await }),
        );
    }

    fn resolve(
        &self,
        start: &ServedStart,
    ) -> Result<&'static rpc::RpcFnDef, (&'static str, String)> {
        let (ns, func) = (start.ns(), start.func());
        // Read in place: a call to an enabled namespace copies nothing.
        if !self.is_enabled(ns) {
            let enabled = self.enabled_namespaces();
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
        match &start.target {
            Target::Known(def) => Ok(*def),
            Target::Named { .. } => Err((
                "AttributeError",
                format!(
                    "no function {func:?} in namespace {ns:?} of actor '{}'",
                    self.name()
                ),
            )),
        }
    }

    async fn run_rpc(
        self,
        peer: Arc<Peer>,
        start: ServedStart,
        def: &'static rpc::RpcFnDef,
        scope: CancelScope,
        dialog: Option<crate::runtime::peer::DialogRx>,
    ) {
        let cid = start.cid.clone();
        let functype = def.functype;
        let ack = peer.tx.send_with(|buf| {
            encode_start_ack(&cid, functype, buf);
            Ok::<(), std::convert::Infallible>(())
        });
        if ack.await.is_err() {
            lock(&peer.served).remove(&*cid);
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
        lock(&peer.served).remove(&*cid);
        peer.close_dialog(&cid);
        // The value is encoded already (`RpcCall`): it goes into the
        // `Return` as it is.
        let reply: Result<RawPayload, ErrorMsg> = match outcome {
            Some(Ok(Ok(v))) => Ok(v),
            Some(Ok(Err(f))) => Err(self.pack_failure(f, &cid)),
            Some(Err(panic)) => Err(pack_error(
                self.uid(),
                crate::runtime::rpc::panic_type_name(&panic_message(&panic)),
                panic_message(&panic),
                crate::devx::panics::take_last_backtrace(),
                Some(cid.to_string()),
            )),
            None => Err(self.context_cancelled(&scope, &cid, def.name)),
        };
        // Debug mode: a failed task is held (crash card, terminal lock,
        // a key) before its error goes on. Not the lock's own server: its
        // card would wait for the lock it serves.
        if let Err(e) = &reply
            && self.runtime_vars().debug_mode
            && e.boxed_type_str != "ContextCancelled"
            && def.ns != crate::runtime::debug::TTY_LOCK_NS
        {
            let task = format!("{}.{} (caller '{}')", def.ns, def.name, peer.aid.name);
            // Boxed: this rare path would otherwise make every served
            // future (moved into its slot on each `Start`) kilobytes larger.
            Box::pin(crate::runtime::debug::hold(
                &self,
                crate::runtime::debug::crash_of(&self, task, e),
            ))
            .await;
        }
        let sent = match reply {
            Ok(v) => peer
                .tx
                .send_with(|buf| {
                    encode_raw_payload(PayloadKind::Return, &cid, v.as_raw(), buf);
                    Ok::<(), std::convert::Infallible>(())
                })
                .await
                .map(|_| ()),
            Err(e) => peer.tx.send(&Msg::Error(e)).await,
        };
        if let Err(e) = sent {
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
        // The body first, then the cancel: a body that finishes in its
        // first poll never makes the scope's token, which is made on first
        // use (see `CancelScope`), and a pending one is polled once a wake.
        let mut cancelled = std::pin::pin!(None);
        let finished = std::future::poll_fn(|cx| {
            if let Poll::Ready(out) = fut.as_mut().poll(cx) {
                return Poll::Ready(Some(out));
            }
            if cancelled.is_none() {
                cancelled.set(Some(scope.token().cancelled()));
            }
            let wait = cancelled.as_mut().as_pin_mut().expect("set above");
            wait.poll(cx).map(|()| None)
        })
        .await;
        if let Some(out) = finished {
            return Some(out);
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
