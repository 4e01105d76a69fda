//! Warm threads for thread actors: an OS thread with a tokio runtime
//! already built, parked until an actor is started on it.
//!
//! Why: starting a thread and building a current-thread runtime (an epoll
//! instance, an eventfd, the timer wheel) is the floor of a thread actor's
//! start (`raw_thread_runtime_start`) and sat on the critical path of every
//! spawn. A warm thread has paid it before it was needed: the spawn only
//! hands it the actor's entry. When an actor ends, its thread drops the
//! actor's runtime (and every task left in it), builds a fresh one off
//! the critical path and parks again. Handing a warm thread out starts a
//! replacement, so a run of spawns keeps finding one.
//!
//! Bounds: at most [`MAX_IDLE`] threads park at once (the others exit),
//! and a parked thread exits after [`IDLE_FOR`] without work, so an idle
//! process keeps no thread (nor its runtime's descriptors) for long.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// How many warm threads may park at once.
pub(crate) const MAX_IDLE: usize = 2;

/// How long a warm thread parks without work before it exits.
pub(crate) const IDLE_FOR: Duration = Duration::from_secs(10);

/// Work for a thread: the actor's whole life (it reports its own end).
pub(super) type Job = Box<dyn FnOnce() + Send>;

/// The parked threads (an id each), each waiting on its own job channel.
static IDLE: Mutex<Vec<(u64, mpsc::Sender<Job>)>> = Mutex::new(Vec::new());

/// Signalled (under [`IDLE`]'s lock) each time a thread parks.
static PARKED: Condvar = Condvar::new();

/// Ids for [`IDLE`]'s entries.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The runtime a warm thread built for the job it runs next.
    static WARM: RefCell<Option<tokio::runtime::Runtime>> = const { RefCell::new(None) };
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The runtime this thread built ahead for the actor it now runs, if it
/// is a warm thread (taken once: the actor owns it from here).
pub(crate) fn take_warm_runtime() -> Option<tokio::runtime::Runtime> {
    WARM.with(|w| w.borrow_mut().take())
}

/// Runs `job` on a parked warm thread, or on a new thread named `name`
/// when none is parked. Either way a replacement warm thread is started
/// afterwards when none is left parked.
pub(super) fn run(name: &str, job: Job) -> std::io::Result<()> {
    let parked = lock(&IDLE).pop();
    let job = match parked {
        // A parked thread whose entry we took always receives: it leaves
        // only after removing its own entry (see `park_loop`).
        Some((_, tx)) => match tx.send(job) {
            Ok(()) => {
                top_up();
                return Ok(());
            }
            Err(mpsc::SendError(job)) => job,
        },
        None => job,
    };
    std::thread::Builder::new()
        .name(format!("actor:{name}"))
        .spawn(move || {
            job();
            park_loop();
        })?;
    top_up();
    Ok(())
}

/// Names the calling thread (what `ps -L`, `top` and debuggers show) as
/// `name`, cut to the kernel's 15 bytes.
pub(super) fn name_this_thread(name: &str) {
    let mut bytes: Vec<u8> = name.bytes().filter(|b| *b != 0).take(15).collect();
    bytes.push(0);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16
    // bytes from the pointer, which `bytes` is for the call's duration.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, bytes.as_ptr() as libc::c_ulong, 0, 0, 0);
    }
}

/// Starts one warm thread if none is parked.
fn top_up() {
    if !lock(&IDLE).is_empty() {
        return;
    }
    let started = std::thread::Builder::new()
        .name("actor:warm".into())
        .spawn(park_loop);
    if let Err(e) = started {
        // Only a missed speed-up: the next spawn starts its own thread.
        tracing::debug!(error = %e, "cannot start a warm actor thread");
    }
}

/// Builds a runtime, parks until a job comes (or [`IDLE_FOR`] passes),
/// runs it, and again; returns when the thread should exit.
fn park_loop() {
    loop {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::debug!(error = %e, "a warm actor thread cannot build a runtime");
                return;
            }
        };
        let (tx, rx) = mpsc::channel::<Job>();
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        {
            let mut idle = lock(&IDLE);
            if idle.len() >= MAX_IDLE {
                return;
            }
            idle.push((id, tx));
            PARKED.notify_all();
        }
        let job = match rx.recv_timeout(IDLE_FOR) {
            Ok(job) => job,
            Err(_) => {
                // Timed out: leave the pool, unless a spawner took our
                // entry meanwhile; then its job is on the way (it sends
                // right after taking the entry).
                let mut idle = lock(&IDLE);
                let before = idle.len();
                idle.retain(|(i, _)| *i != id);
                if idle.len() != before {
                    return;
                }
                drop(idle);
                match rx.recv() {
                    Ok(job) => job,
                    Err(_) => return,
                }
            }
        };
        WARM.with(|w| *w.borrow_mut() = Some(rt));
        job();
        // The actor took the runtime; drop it if it did not (it failed
        // before that).
        WARM.with(|w| w.borrow_mut().take());
        name_this_thread("actor:warm");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(30);

    /// Waits until at least one thread is parked.
    fn wait_parked() {
        let deadline = std::time::Instant::now() + WAIT;
        let mut idle = lock(&IDLE);
        while idle.is_empty() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(!left.is_zero(), "no warm thread parked");
            idle = PARKED
                .wait_timeout(idle, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Runs a job that reports its thread id and whether a runtime was
    /// built for it ahead.
    fn run_reporting() -> (i32, bool) {
        let (tx, rx) = mpsc::channel();
        run(
            "probe",
            Box::new(move || {
                // SAFETY: gettid has no preconditions.
                let tid = unsafe { libc::gettid() };
                let _ = tx.send((tid, take_warm_runtime().is_some()));
            }),
        )
        .expect("a thread runs the job");
        rx.recv_timeout(WAIT).expect("the job ran")
    }

    #[test]
    fn a_spawn_takes_a_parked_thread_whose_runtime_is_built() {
        // Nothing is parked yet: a new thread runs the first job, and a
        // warm one is started for the next.
        let (first, _) = run_reporting();
        wait_parked();
        let before: Vec<i32> = std::fs::read_dir("/proc/self/task")
            .expect("/proc")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        let (second, warm) = run_reporting();
        assert!(warm, "the runtime was not built ahead");
        assert!(
            before.contains(&second),
            "the job ran on a new thread {second}, not a parked one (first ran on {first})"
        );
    }
}
