//! The runtime's own `self` namespace (spec §5.4, §6): `cancel`,
//! `_cancel_task`, `_actor_info`, `_task_tree`, and whatever the actor's [`SelfService`]
//! hook serves (the registrar's table in a registrar).

use std::sync::Arc;

use crate::errors::pack_error;
use crate::msg::{CancelAck, FuncType, Msg, Payload, StartAck, StrMap};
use crate::runtime::cancel::CancelScope;
use crate::runtime::peer::{Peer, lock};

use super::Actor;

impl Actor {
    /// The runtime's own `self` namespace (spec §5.4, §6).
    pub(super) async fn run_self(self, peer: Arc<Peer>, start: super::tasks::ServedStart) {
        // Read by name: the dynamic map.
        let func = start.func().to_owned();
        let kwargs = start.kwargs.into_map();
        let cid = start.cid.to_string();
        if let Err(text) = crate::runtime::rpc::check_self_kwargs(&func, &kwargs) {
            let err = pack_error(self.uid(), "TypeError", text, String::new(), Some(cid));
            let _ = peer.tx.send(&Msg::Error(err)).await;
            return;
        }
        let result: Result<Msg, (&'static str, String)> = match func.as_str() {
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
                let target = kwarg_str(&kwargs, "cid");
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
            "_task_tree" => {
                // Ours (not Python's): this actor's task tree as text, for
                // `tractor tree --tasks`.
                ack_asyncfunc(&peer, &cid).await;
                Ok(Msg::Return(Payload {
                    cid: cid.clone(),
                    pld: self.task_tree().into(),
                }))
            }
            f => match &self.inner.hooks.service {
                Some(service) if service.serves(f) => {
                    let ack = Msg::StartAck(StartAck {
                        cid: cid.clone(),
                        functype: FuncType::AsyncFunc,
                    });
                    let _ = peer.tx.send(&ack).await;
                    // Served like any task of this peer: a waiter
                    // (`wait_for_actor`) ends when its caller's connection
                    // does, or on `_cancel_task`, not only at shutdown.
                    let scope = CancelScope::child_of(self.inner.scope.token());
                    lock(&peer.served).insert(start.cid.clone(), scope.clone());
                    if peer.gone.is_cancelled() {
                        scope.cancel(Some(peer.uid()));
                    }
                    let out = service.call(f, &kwargs, scope.token()).await;
                    lock(&peer.served).remove(&*start.cid);
                    match out {
                        Ok(v) => Ok(Msg::Return(Payload {
                            cid: cid.clone(),
                            pld: v,
                        })),
                        Err(e) => Err((e.python_type, e.message)),
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
