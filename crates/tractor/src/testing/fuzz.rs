//! Test hooks for the stateful fuzz target (`fuzz/fuzz_targets/message_loop.rs`)
//! and its corpus replay (`tests/fuzz_corpus.rs`).
//!
//! Fuzzing an actor's message loop through real sockets would spend most
//! of each input on `accept` and the Aid handshake. These hooks build an
//! actor that listens nowhere and hand it one end of an in-memory pipe as
//! an already-handshaken peer, so each input costs a few task wake-ups.
//! They change nothing for users: the actor is built and served exactly as
//! `root` and `listen` build and serve one, minus the sockets.

use std::sync::Arc;

use tokio::io::DuplexStream;
use tokio::task::JoinHandle;

use crate::ipc::{Channel, Conn, DebugIgnore};
use crate::msg::{Aid, Uid};
use crate::runtime::actor::Actor;
use crate::runtime::hooks::Hooks;
use crate::runtime::peer::lock;
use crate::runtime::state::RuntimeVars;

/// How many bytes the in-memory pipe holds in each direction before a
/// writer waits (a socket buffer's size, roughly).
const PIPE_BYTES: usize = 64 * 1024;

/// An actor named `name` serving the namespaces `enable`, bound to no
/// address and registered nowhere, made the current actor of this thread
/// and tokio runtime. Must be called inside a tokio runtime.
#[doc(hidden)]
pub fn unbound_actor(name: &str, enable: &[&str]) -> Actor {
    let actor = Actor::new(
        Uid::random(name),
        RuntimeVars::default(),
        false,
        enable.iter().map(|s| (*s).to_owned()).collect(),
        Hooks::new(crate::child::run_child_in_thread),
    );
    actor.set_current();
    actor
}

/// Connects a new peer with identity `peer` to `actor` through an
/// in-memory pipe, as if it had dialled in and finished the handshake.
/// Returns our end of the pipe (frames as on a socket) and the actor's
/// reader loop for that connection, which ends when the peer hangs up,
/// sends garbage too often, or the actor stops reading.
#[doc(hidden)]
pub fn connect_in_memory(actor: &Actor, peer: Aid) -> (DuplexStream, JoinHandle<()>) {
    let (ours, theirs) = tokio::io::duplex(PIPE_BYTES);
    let (read, write) = tokio::io::split(theirs);
    let conn = Conn {
        read: DebugIgnore(Box::pin(read)),
        write: DebugIgnore(Box::pin(write)),
        peer: format!("in-memory:{}", peer.name),
    };
    let chan = Channel::new(conn, actor.runtime_vars().wire_limits());
    let (peer, rx) = actor.add_peer(peer, chan);
    let reader = tokio::spawn(actor.clone().serve_peer(peer, rx));
    (ours, reader)
}

/// How many connections `actor` still counts as live peers.
#[doc(hidden)]
pub fn peer_count(actor: &Actor) -> usize {
    lock(&actor.inner.peers).len()
}

/// How many dialogs and served tasks `actor` still holds for its live
/// peers, summed over them (both are zero once every peer has gone).
#[doc(hidden)]
pub fn peer_state(actor: &Actor) -> (usize, usize) {
    let peers: Vec<Arc<crate::runtime::peer::Peer>> =
        lock(&actor.inner.peers).values().cloned().collect();
    peers.iter().fold((0, 0), |(d, s), p| {
        (d + lock(&p.dialogs).len(), s + lock(&p.served).len())
    })
}

/// Shuts down an actor made by [`unbound_actor`] (as a root's shutdown
/// does, minus the registrar).
#[doc(hidden)]
pub async fn shut_down(actor: Actor) {
    actor.stop_serving().await;
    actor.close_connections().await;
    Actor::clear_current();
}
