//! A spawned child registering through its parent's connection, when its
//! parent is the session's registrar.
//!
//! Why: registering the classic way (spec §6.2) costs a fresh connection
//! to the registrar, an Aid exchange, a call and a close — a round trip
//! the child used to finish before it answered anything, so it sat on the
//! critical path of every spawn. When the parent *is* the only registrar,
//! the connection to it is already open: the child queues one
//! `self.register_actor` call per accept address on it, before it reads
//! anything from the parent, and serves at once.
//!
//! What still holds: the registrar reads that connection in order, and a
//! registrar's `register_actor` completes inside the reader's first poll
//! (see `Actor::spawn_served`), so the child is in the table before the
//! registrar-parent reads the child's answer to its first call — the same
//! "registered once it has answered" as before. A Python registrar serves
//! `register_actor` on any connection, so this is also what a Python
//! parent sees (Python tractor's own children register on a fresh
//! connection; both are the same call). In every other case (a parent
//! that is not the registrar, several registrars, etcd) the child
//! registers as before.
//!
//! Unregistering at exit takes the same road back: one
//! `self.unregister_actor` call on the parent's connection, still open
//! then (connections close only after unregistration), instead of a fresh
//! connection and Aid exchange while the parent is already starting the
//! next actor.

use std::sync::Arc;
use std::time::Duration;

use crate::ipc::Addr;
use crate::msg::{self, Aid};
use crate::runtime::actor::Actor;
use crate::runtime::dialog::call::Call;
use crate::runtime::peer::Peer;

/// True when registering through the parent's connection reaches the
/// whole registry: classic discovery, one registrar, and it is the parent
/// we dialled (which says it is a registrar).
pub(crate) fn parent_is_the_registrar(actor: &Actor, parent: &Aid, parent_addr: &Addr) -> bool {
    let rtv = actor.runtime_vars();
    rtv.etcd_registry.is_none()
        && parent.is_registrar == Some(true)
        && rtv.registrars().as_slice() == std::slice::from_ref(parent_addr)
}

/// Queues `self.register_actor(uid, addr)` on the parent's connection for
/// each of `actor`'s accept addresses, without waiting for the answers,
/// and returns a task that waits for them (logging a failure). Call it
/// before anything of the connection is read, so the registrations are
/// the first frames the parent reads from the child.
pub(crate) async fn register_through_parent(
    actor: &Actor,
    parent: &Arc<Peer>,
) -> tokio::task::JoinHandle<()> {
    let uid = msg::uid_to_value(actor.uid());
    let mut calls = Vec::new();
    for addr in actor.accept_addrs() {
        let kwargs = vec![
            ("uid".to_owned(), uid.clone()),
            ("addr".to_owned(), msg::addr_to_value(&addr.to_wire())),
        ];
        // Queued at once: the outbox is empty this early, so `start`
        // does not wait for room.
        calls.push(Call::start(actor, parent, "self", "register_actor", kwargs).await);
    }
    let registrar = parent.aid.name.clone();
    tokio::spawn(async move {
        for call in calls {
            let answered = match call {
                Ok(mut c) => {
                    let r = c.result().await;
                    c.done = true;
                    r
                }
                Err(e) => Err(e),
            };
            if let Err(e) = answered {
                tracing::warn!(%registrar, error = %e, "could not register through the parent");
            }
        }
    })
}

/// Removes `actor`'s registration through the parent's connection, the
/// way [`register_through_parent`] added it, within `budget`; a failure
/// is logged, as the classic unregistration's is.
pub(crate) async fn unregister_through_parent(actor: &Actor, parent: &Arc<Peer>, budget: Duration) {
    let kwargs = vec![("uid".to_owned(), msg::uid_to_value(actor.uid()))];
    let call = async {
        let mut c = Call::start(actor, parent, "self", "unregister_actor", kwargs).await?;
        let r = c.result().await;
        c.done = true;
        r
    };
    let registrar = &parent.aid.name;
    match tokio::time::timeout(budget, call).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::debug!(%registrar, error = %e, "could not unregister through the parent")
        }
        Err(_) => tracing::debug!(%registrar, "unregistering through the parent timed out"),
    }
}
