//! An actor's side of the terminal lock: ask the root for it (Python's
//! `request_root_stdio_lock`), hold it, release it. In the root itself the
//! lock is taken directly.

use crate::errors::Error;
use crate::ipc::Addr;
use crate::runtime::actor::Actor;
use crate::runtime::dialog::context::{Context, Opener};
use crate::runtime::dialog::stream::MsgStream;
use crate::runtime::portal::Portal;

use super::lock::{Held, LockRelease, LockStatus, lock_stdio_for_peer, take};

/// The terminal lock, held. Release it with [`TtyLock::release`]; dropping
/// it releases it too (in the root at once; elsewhere when the context's
/// connection or task ends).
pub struct TtyLock {
    how: How,
}

enum How {
    /// We are the root: the lock itself.
    Local(Held),
    /// Through the root: the open dialog.
    Remote {
        ctx: Context<Opener<lock_stdio_for_peer>>,
        stream: MsgStream<LockRelease>,
        status: LockStatus,
    },
}

impl std::fmt::Debug for TtyLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.how {
            How::Local(_) => f.write_str("TtyLock(local)"),
            How::Remote { status, .. } => write!(f, "TtyLock({status:?})"),
        }
    }
}

/// Takes the tree's terminal lock for `task` of `actor`: in the root
/// directly, elsewhere from the root (the first of the actor's root
/// addresses). Waits in FIFO order behind other holders.
pub async fn acquire(actor: &Actor, task: &str) -> Result<TtyLock, Error> {
    let root = actor.runtime_vars().root_addrs.first().cloned();
    match root {
        Some(addr) if !actor.runtime_vars().is_root => acquire_from(actor, &addr, task).await,
        _ => Ok(TtyLock {
            how: How::Local(take(actor.uid().clone()).await),
        }),
    }
}

/// Takes the terminal lock served by the actor at `root` (a root serving
/// `lock_stdio_for_peer`, Rust or Python).
pub async fn acquire_from(actor: &Actor, root: &Addr, task: &str) -> Result<TtyLock, Error> {
    let peer = actor.dial(root).await?;
    let portal = Portal::new(actor.clone(), peer);
    let (ctx, status) = portal
        .open_context(lock_stdio_for_peer {
            subactor_task_uid: (task.to_owned(), u64::from(std::process::id())),
        })
        .await?;
    let me = (actor.uid().name.clone(), actor.uid().uuid.clone());
    if !status.locked || status.subactor_uid != me {
        return Err(Error::Config(format!(
            "the root answered the terminal-lock request of {me:?} with {status:?}"
        )));
    }
    let stream = ctx.open_stream();
    Ok(TtyLock {
        how: How::Remote {
            ctx,
            stream,
            status,
        },
    })
}

impl TtyLock {
    /// The pid of the root serving the lock, when it is another process
    /// (None in the root itself).
    pub fn root_pid(&self) -> Option<i64> {
        match &self.how {
            How::Local(_) => None,
            How::Remote { ctx, .. } => ctx.portal().pid(),
        }
    }

    /// Gives the lock back (the root confirms with `locked: false`).
    pub async fn release(self) -> Result<(), Error> {
        match self.how {
            How::Local(held) => {
                held.released();
                Ok(())
            }
            How::Remote {
                ctx,
                stream,
                status,
            } => {
                stream
                    .send(&LockRelease {
                        subactor_uid: status.subactor_uid.clone(),
                        cid: status.cid.clone(),
                    })
                    .await?;
                let done = ctx.result().await?;
                if done.locked {
                    return Err(Error::Config(format!(
                        "the root still reports the terminal lock held after its release: {done:?}"
                    )));
                }
                Ok(())
            }
        }
    }
}
