//! The root's side of the terminal lock: one FIFO mutex per process (a
//! process hosts one root), its holder for the Ctrl-C shield, and the
//! `lock_stdio_for_peer` context function with Python's function path and
//! payload shapes.
//!
//! The lock is released however the holder's context ends: its
//! `LockRelease`, its stream closing, or its connection dropping (the
//! holder died: the runtime cancels the context's task, which drops the
//! guard).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use tokio::sync::OwnedMutexGuard;

use crate::errors::Error;
use crate::msg::Uid;
use crate::runtime::peer::lock as plock;

/// The namespace Python serves the lock under (its module path).
pub const TTY_LOCK_NS: &str = "tractor.devx.debug._tty_lock";

/// Python's `LockStatus` (a msgspec struct tagged `msg_type`): the
/// `started` value (`locked: true`) and the context's result
/// (`locked: false`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msg_type")]
pub struct LockStatus {
    /// The holder: (name, uuid).
    pub subactor_uid: (String, String),
    /// The cid of the holder's `lock_stdio_for_peer` context.
    pub cid: String,
    /// Whether the holder holds the lock now.
    pub locked: bool,
}

/// Python's `LockRelease`: the holder's one message on the stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msg_type")]
pub struct LockRelease {
    /// The holder: (name, uuid).
    pub subactor_uid: (String, String),
    /// The cid of the holder's context.
    pub cid: String,
}

fn mutex() -> Arc<tokio::sync::Mutex<()>> {
    static LOCK: OnceLock<Arc<tokio::sync::Mutex<()>>> = OnceLock::new();
    // tokio's mutex is fair: waiters get it in the order they asked.
    LOCK.get_or_init(|| Arc::new(tokio::sync::Mutex::new(())))
        .clone()
}

static HOLDER: Mutex<Option<Uid>> = Mutex::new(None);
static QUEUED: AtomicUsize = AtomicUsize::new(0);

/// Who holds the terminal lock of this process's tree, if anyone (only
/// meaningful in the root).
pub fn holder() -> Option<Uid> {
    plock(&HOLDER).clone()
}

/// How many actors wait for the lock.
pub fn queued() -> usize {
    QUEUED.load(Ordering::SeqCst)
}

/// The lock, held for `who`; released (and announced) when dropped.
pub(crate) struct Held {
    who: Uid,
    released: bool,
    _guard: OwnedMutexGuard<()>,
}

impl Held {
    /// Marks a release the holder asked for (versus its going away).
    pub(crate) fn released(mut self) {
        self.released = true;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        *plock(&HOLDER) = None;
        let how = if self.released {
            ""
        } else {
            " (its request ended without a release: it is gone)"
        };
        crate::runtime::debug::say!(
            "tractor: terminal lock released by '{}'{how}",
            self.who.name
        );
    }
}

/// Takes the lock for `who` (waiting in FIFO order).
pub(crate) async fn take(who: Uid) -> Held {
    struct Queued;
    impl Drop for Queued {
        fn drop(&mut self) {
            QUEUED.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let m = mutex();
    let guard = match m.clone().try_lock_owned() {
        Ok(g) => g,
        Err(_) => {
            let n = QUEUED.fetch_add(1, Ordering::SeqCst) + 1;
            let _queued = Queued;
            let by = holder().map(|u| u.name).unwrap_or_else(|| "?".into());
            crate::runtime::debug::say!(
                "tractor: '{}' waits for the terminal lock (held by '{by}'; {n} waiting)",
                who.name
            );
            m.lock_owned().await
        }
    };
    *plock(&HOLDER) = Some(who.clone());
    crate::runtime::debug::say!("tractor: terminal lock taken by '{}'", who.name);
    Held {
        who,
        released: false,
        _guard: guard,
    }
}

pub use wire::lock_stdio_for_peer;

/// The context function in its own module: the argument struct the macro
/// generates has undocumented fields (the function's parameters).
#[allow(missing_docs)]
mod wire {
    use super::*;

    /// The root's side of the lock dialog (Python's
    /// `tractor.devx.debug._tty_lock.lock_stdio_for_peer`): waits for the
    /// lock, says so with `started(LockStatus)`, waits for the peer's
    /// `LockRelease` on the stream, returns `LockStatus{locked: false}`.
    #[tractor_macros::context(ns = "tractor.devx.debug._tty_lock")]
    pub async fn lock_stdio_for_peer(
        ctx: crate::runtime::dialog::context::Context<
            crate::runtime::dialog::context::Callee<LockStatus, LockRelease>,
        >,
        subactor_task_uid: (String, u64),
    ) -> Result<LockStatus, Error> {
        let peer = ctx.peer_uid();
        let uid = (peer.name.clone(), peer.uuid.clone());
        tracing::debug!(task = ?subactor_task_uid, peer = %peer, "terminal lock requested");
        let held = take(peer.clone()).await;
        // The holder's debugger reads the terminal (see `terminal`).
        let _loan = crate::runtime::debug::terminal::Loan::to(ctx.portal().pid());
        let cid = ctx.cid().to_owned();
        ctx.started(&LockStatus {
            subactor_uid: uid.clone(),
            cid: cid.clone(),
            locked: true,
        })
        .await?;
        let mut stream = ctx.open_stream();
        match stream.recv().await {
            Ok(Some(rel)) if rel.cid == cid && rel.subactor_uid == uid => held.released(),
            Ok(Some(rel)) => {
                return Err(Error::Config(format!(
                    "terminal lock: a LockRelease for {:?} (cid {}) on the context of {:?} (cid {cid})",
                    rel.subactor_uid, rel.cid, uid
                )));
            }
            // The stream closed, or the holder's connection dropped (it
            // died): the lock comes back all the same.
            Ok(None) => drop(held),
            Err(e) => {
                tracing::debug!(error = %e, "the terminal lock's holder is gone");
                drop(held);
            }
        }
        Ok(LockStatus {
            subactor_uid: uid,
            cid,
            locked: false,
        })
    }
}
