//! [`dump_on_hang`]: task trees of a test's whole actor tree when it runs
//! longer than it should (the harness's gdb diagnostics stay for threads).

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

/// What a [`dump_on_hang`] watch did when its time ran out.
#[derive(Debug, Clone, Default)]
pub struct HangDump {
    /// The dump files this process wrote (one per actor of the process).
    pub files: Vec<PathBuf>,
    /// The child actor processes `SIGUSR1` was relayed to (they write
    /// their own dumps, and relay further).
    pub relayed_to: Vec<u32>,
}

/// Watches a test; dropping it stops the watch.
#[derive(Debug)]
pub struct HangGuard {
    stop: Option<mpsc::Sender<()>>,
    done: Option<std::thread::JoinHandle<Option<HangDump>>>,
}

impl HangGuard {
    /// Stops watching; returns what was dumped if the time ran out first.
    pub fn finish(mut self) -> Option<HangDump> {
        self.stop.take();
        self.done.take().and_then(|h| h.join().ok()).flatten()
    }
}

impl HangGuard {
    /// Waits (on the calling thread) until the watch fires or is stopped
    /// elsewhere; returns what was dumped. For tests of the watch itself.
    pub fn wait(mut self) -> Option<HangDump> {
        let done = self.done.take();
        let out = done.and_then(|h| h.join().ok()).flatten();
        self.stop.take();
        out
    }
}

impl Drop for HangGuard {
    fn drop(&mut self) {
        // Dropping the sender wakes the watcher, which ends.
        self.stop.take();
    }
}

/// Starts a watch: if the returned guard is still alive after `limit`,
/// every actor of this process writes its task tree (stderr and
/// `<bind dir>/task-trees/`, as on `SIGUSR1`) and `SIGUSR1` is relayed to
/// the child actor processes, which do the same down the tree.
pub fn dump_on_hang(limit: Duration) -> HangGuard {
    let (tx, rx) = mpsc::channel::<()>();
    let done = std::thread::Builder::new()
        .name("tractor-hang-watch".into())
        .spawn(move || match rx.recv_timeout(limit) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let reason = format!("test still running after {limit:?}");
                let files = crate::runtime::actor::dump_task_trees(&reason);
                let ready = crate::runtime::actor::connected_peer_pids();
                let relayed_to =
                    crate::spawn::signal_children(nix::sys::signal::Signal::SIGUSR1, &ready);
                Some(HangDump { files, relayed_to })
            }
            _ => None,
        })
        .ok();
    HangGuard {
        stop: Some(tx),
        done,
    }
}
