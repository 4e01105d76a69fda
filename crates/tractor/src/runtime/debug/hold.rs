//! Pause on crash: in debug mode a failed task is held before its error
//! propagates. The actor takes the tree's terminal lock, prints its crash
//! card, waits for a key, gives the lock back; then the error goes on (and
//! the parent, in debug mode too, shows its own card with the relayed
//! error).

use crate::errors::RemoteActorError;
use crate::msg::ErrorMsg;
use crate::runtime::actor::Actor;

use super::card::{self, Crash, Key};
use super::request::{TtyLock, acquire};
use super::terminal::{InterruptTarget, process_group_of};

/// Holds a crash of `actor` (see the module docs); returns the key.
pub async fn hold(actor: &Actor, crash: Crash) -> Key {
    let lock = match acquire(actor, &crash.task).await {
        Ok(l) => Some(l),
        Err(e) => {
            crate::runtime::debug::say!(
                "tractor debug: '{}' could not take the terminal lock ({e}); showing its card anyway",
                actor.name()
            );
            None
        }
    };
    // From now until the lock is given back a Ctrl-C that reaches us
    // (the root lent us the terminal) goes on to the root.
    let root = lock
        .as_ref()
        .and_then(TtyLock::root_pid)
        .and_then(process_group_of);
    let ctrl_c = InterruptTarget::set(root);
    let a = actor.clone();
    let text = card::render(actor, &crash);
    let key = tokio::task::spawn_blocking(move || card::show_and_wait(&a, &text, root))
        .await
        .unwrap_or(Key::Continue);
    if let Some(l) = lock
        && let Err(e) = l.release().await
    {
        tracing::warn!(error = %e, "could not release the terminal lock");
    }
    drop(ctrl_c);
    if key == Key::Quit {
        crate::runtime::debug::say!("tractor debug: quitting the tree");
        quit_tree(actor).await;
    }
    key
}

/// Cancels the whole tree: the root (dialed), or ourselves if we are it.
async fn quit_tree(actor: &Actor) {
    let rtv = actor.runtime_vars();
    match rtv.root_addrs.first() {
        Some(addr) if !rtv.is_root => {
            if let Ok(peer) = actor.dial(addr).await {
                let portal = crate::runtime::portal::Portal::new(actor.clone(), peer);
                let _ = portal.cancel_actor().await;
            }
        }
        _ => actor.cancel(None),
    }
}

/// The card's facts from an error reply `actor` is about to send.
pub fn crash_of(actor: &Actor, task: String, e: &ErrorMsg) -> Crash {
    let me = &actor.uid().name;
    let mut relayed_from: Vec<String> = e
        .relay_path
        .iter()
        .map(|u| u.name.clone())
        .filter(|n| n != me)
        .collect();
    if relayed_from.is_empty() && e.src_uid != *actor.uid() {
        relayed_from.push(e.src_uid.name.clone());
    }
    let boxed = RemoteActorError::from_msg(e.clone());
    Crash {
        task,
        error_type: if relayed_from.is_empty() {
            e.boxed_type_str.clone()
        } else {
            format!("RemoteActorError({})", e.src_type_str)
        },
        message: boxed.message().to_owned(),
        traceback: e.tb_str.clone(),
        relayed_from,
    }
}
