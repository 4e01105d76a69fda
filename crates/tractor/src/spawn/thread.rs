//! The thread backend: an actor on its own OS thread with its own tokio
//! runtime — our counterpart of Python's sub-interpreter backend.
//!
//! Nothing is shared with the parent but what crosses the channel: the
//! thread runs exactly the code a spawned process runs (`child::run_child`),
//! dialling its parent over the session's transport (UDS by default for
//! thread trees), so portals, errors, contexts, streams, the registrar and
//! cancellation all behave as with processes, only cheaper to start.
//!
//! The one difference: a thread cannot be killed. A thread actor that
//! ignores its cancel request past the grace period cannot be escalated to
//! SIGTERM/SIGKILL; it is reported (an error naming it) and abandoned, and
//! the tree exits without it. A panic that escapes the actor is caught and
//! reported as its exit status.
//!
//! Actors start on warm threads (see [`super::pool`]): a thread whose
//! runtime is already built, so a spawn pays neither the thread start nor
//! the runtime build.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::oneshot;

use super::{ChildActor, ChildControl, ExitInfo, SpawnBackend, SpawnRequest};
use crate::errors::Error;

/// Spawns actors as threads of this process.
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadBackend;

#[derive(Debug, Default)]
struct ThreadControl {
    exited: AtomicBool,
    /// Fired when the parent gives up on the thread.
    abandon: tokio::sync::Notify,
}

impl ChildControl for ThreadControl {
    fn pid(&self) -> Option<u32> {
        None
    }
    fn terminate(&self) -> bool {
        false
    }
    fn kill(&self) -> bool {
        // A thread cannot be killed: stop waiting for it instead.
        self.abandon.notify_one();
        false
    }
    fn mark_exited(&self) {
        self.exited.store(true, Ordering::SeqCst);
    }
}

#[derive(Debug)]
struct ThreadChild {
    /// The actor's exit status, sent by its thread once the actor (and
    /// its runtime) is gone; the thread itself may park for the next
    /// actor (see `pool`).
    done: oneshot::Receiver<ExitInfo>,
    control: Arc<ThreadControl>,
}

impl ChildActor for ThreadChild {
    fn control(&self) -> Arc<dyn ChildControl> {
        self.control.clone()
    }

    fn wait(self: Box<Self>) -> Pin<Box<dyn Future<Output = ExitInfo> + Send>> {
        let ThreadChild { done, control } = *self;
        Box::pin(async move {
            let info = tokio::select! {
                info = done => {
                    info.unwrap_or_else(|_| ExitInfo::Thread(Err("the actor thread vanished".into())))
                }
                _ = control.abandon.notified() => {
                    // Left running: it ends with the process.
                    ExitInfo::Thread(Err("abandoned after ignoring cancellation".into()))
                }
            };
            control.mark_exited();
            info
        })
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".into())
}

impl SpawnBackend for ThreadBackend {
    fn name(&self) -> &'static str {
        "thread"
    }

    fn in_process(&self) -> bool {
        true
    }

    fn spawn(&self, req: SpawnRequest) -> Result<Box<dyn ChildActor>, Error> {
        let (tx, done) = oneshot::channel();
        let rtv = req.rtv;
        let entry = req.entry;
        let link = req.link;
        let name = req.uid.name.clone();
        let thread_name = format!("actor:{name}");
        super::pool::run(
            &name,
            Box::new(move || {
                super::pool::name_this_thread(&thread_name);
                let run =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| entry(rtv, link)));
                let info = match run {
                    Ok(Ok(())) => ExitInfo::Thread(Ok(())),
                    Ok(Err(e)) => ExitInfo::Thread(Err(e.to_string())),
                    Err(p) => {
                        ExitInfo::Thread(Err(format!("panicked: {}", panic_text(p.as_ref()))))
                    }
                };
                let _ = tx.send(info);
            }),
        )
        .map_err(|e| Error::Spawn {
            name: req.uid.name.clone(),
            reason: format!("cannot start a thread: {e}"),
        })?;
        Ok(Box::new(ThreadChild {
            done,
            control: Arc::new(ThreadControl::default()),
        }))
    }
}
