//! # tractor: distributed structured concurrency
//!
//! Actors are OS processes (or isolated workers on their own thread and
//! runtime) spawned by *nurseries*. A nursery does not return until every
//! child has finished or been cancelled; an error in a child cancels its
//! siblings and reaches the parent; no actor outlives its parent. Actors
//! call each other through *portals*, and find each other through a
//! *registrar*. The wire protocol is Python tractor's, so Rust and Python
//! actors can find and call each other.
//!
//! ## A tour
//!
//! ```no_run
//! #[tractor::rpc]
//! async fn add(x: i64, y: i64) -> i64 { x + y }
//!
//! #[tractor::main]
//! async fn main() -> Result<(), tractor::Error> {
//!     tractor::open_nursery(|n| async move {
//!         let portal = n.start_actor("adder", &[add::NS]).await?;
//!         assert_eq!(portal.run(add { x: 1, y: 2 }).await?, 3);
//!         portal.cancel_actor().await?;
//!         Ok(())
//!     })
//!     .await
//! }
//! ```
//!
//! * [`open_nursery`] / [`ActorNursery`]: start actors, run one-shot
//!   functions in them, cancel them.
//! * [`supervise`] / [`Supervisor`]: a nursery that restarts its
//!   children (OTP strategies, restart budget, escalation, events).
//! * [`Portal`]: `run` (typed), `run_from_ns` (by name), `cancel_actor`.
//! * [`RemoteActorError`]: an error from another actor, with its origin,
//!   relay path and traceback.
//! * [`Context`]: a dialog with a `#[tractor::context]` function
//!   (`Portal::with_context` / `open_context`), typed on both sides by
//!   the callee's signature (`Context<Callee<Started, Item>>`).
//! * [`discovery`]: `find_actor`, `wait_for_actor`, `query_actor` (an
//!   address), `open_portal` (a portal from an address), `get_root`, the
//!   registrar.
//! * [`RuntimeVars`]: everything a child inherits, carried in the
//!   `_TRACTOR_RT_VARS` envelope.
//! * [`msg`] and [`ipc`]: the wire protocol and transports, usable alone.
//!
//! Layers depend downward only, lowest first: `msg` → `ipc` → `errors` →
//! `runtime` (actor, dialogs, portal, rpc) → `spawn`, `discovery` →
//! `nursery` → `supervision`, `trionics` → `child` → `root` (see
//! `docs/architecture.md`; `tests/layers.rs` checks it).

#![warn(missing_docs)]

// The runtime's own context functions (`runtime::debug`) use the
// `#[tractor::context]` macro, whose expansion names `::tractor`.
extern crate self as tractor;

pub mod child;
pub mod devx;
pub mod discovery;
pub mod errors;
pub mod ipc;
pub mod msg;
pub mod nursery;
pub mod root;
pub mod runtime;
pub mod spawn;
pub mod supervision;
pub mod testing;
pub mod trionics;

pub use child::maybe_run_child;
pub use context::{Callee, CancelCause, Context, ContextOptions, Opener, RemoteContextFn, Side};
pub use discovery::{find_actor, get_root, open_portal, query_actor, wait_for_actor};
pub use errors::{Error, ErrorKind, RemoteActorError, RemoteErrorType, register_error_type};
pub use nursery::{ActorNursery, open_nursery};
pub use root::{Root, RootConfig, open_root_actor, run_root};
pub use runtime::actor::{Actor, current_actor, spawn_task};
pub use runtime::cancel::CancelScope;
pub use runtime::dialog::stream_from::{RemoteStream, RemoteStreamFn};
pub use runtime::dialog::{context, shm, stream as streaming};
pub use runtime::portal::{Caller, Portal};
pub use runtime::registry_addr::{EtcdEndpoints, RegistryAddr};
pub use runtime::rpc::RemoteFn;
pub use runtime::state::{RuntimeVars, SpawnMethod};
pub use streaming::MsgStream;
pub use supervision::{
    ChildSpec, Restart, Strategy, Supervisor, SupervisorEvent, SupervisorSpec, supervise,
};
pub use tractor_macros::{context, main, rpc, test};

#[doc(hidden)]
pub mod __private {
    pub use linkme;
    pub use serde;

    pub use crate::runtime::lower::{
        AliasNeedsOutputOption, NotAResult, PlainKind, PlainTag, ResultKind, ResultTag, Ret,
    };
    pub use crate::runtime::rpc::{
        BoxFuture, Kwargs, RPC_FNS, RpcFailure, RpcFnDef, args_from_kwargs, ok_value, result_value,
    };

    /// The crate of a `module_path!()` (its first segment): what
    /// `crate::a` in `#[tractor::main(enable = [..])]` starts with.
    pub fn crate_of(module_path: &str) -> &str {
        module_path.split("::").next().unwrap_or(module_path)
    }

    /// The callee end of a context function's call, typed as its first
    /// parameter declares (`CalleeTypes` checks it is a callee's context).
    pub fn callee_context<St, It>(
        caller: &crate::Caller,
        func: &str,
    ) -> crate::Context<crate::Callee<St, It>> {
        caller.context(func).retype()
    }

    /// After a context function returns: the `Stop` its stream owes goes
    /// out before the `Return`.
    pub async fn finish_context<S>(ctx: &crate::Context<S>) {
        let _ = ctx.send_stop_once().await;
    }

    /// The exit status of a `#[tractor::main(timeout = N)]` program whose
    /// tree ran out of time (as coreutils' `timeout`).
    pub const MAIN_TIMEOUT_EXIT: u8 = 124;

    /// The body of `#[tractor::main]`, polled by the runtime's `block_on`
    /// itself: the way for a body whose future is not `Send` (see
    /// [`MainBody`] for the other). `timeout` (seconds) cancels the tree,
    /// like a first Ctrl-C, once it has run that long.
    pub fn main_entry<F, Fut, R>(
        cfg: crate::RootConfig,
        timeout: Option<f64>,
        body: F,
    ) -> std::process::ExitCode
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = R>,
        R: MainResult,
    {
        let (rt, cfg) = match main_setup(cfg) {
            Ok(set) => set,
            Err(code) => return code,
        };
        let timed_out = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let out = rt.block_on(main_tree(cfg, timeout, timed_out.clone(), body));
        main_exit(out, &timed_out, timeout)
    }

    /// [`main_entry`] for a body whose future is `Send`: the whole tree
    /// runs as a task of the runtime instead of inside `block_on`.
    ///
    /// Why: tokio's current-thread scheduler, when a task (a connection's
    /// reader routing a reply) wakes the `block_on` future, polls its I/O
    /// driver once without blocking before it polls that future again
    /// (`park_yield`), one `epoll_wait` more per reply than when the waker
    /// is a task's. Calls made from a task, as every served function,
    /// context and stream makes them, do not pay it; with this, neither
    /// does a `#[tractor::main]` body. The task runs on this thread (the
    /// runtime is current-thread), and a panic in it is resumed here, as
    /// `block_on` would have let it through.
    pub fn main_entry_task<F, Fut, R>(
        cfg: crate::RootConfig,
        timeout: Option<f64>,
        body: F,
    ) -> std::process::ExitCode
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = R> + Send + 'static,
        R: MainResult + 'static,
    {
        let (rt, cfg) = match main_setup(cfg) {
            Ok(set) => set,
            Err(code) => return code,
        };
        let timed_out = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tree = main_tree(cfg, timeout, timed_out.clone(), body);
        let out = rt.block_on(async move {
            match tokio::spawn(tree).await {
                Ok(out) => out,
                Err(e) => match e.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(e) => Err(crate::Error::Cancelled(format!("the main task: {e}"))),
                },
            }
        });
        main_exit(out, &timed_out, timeout)
    }

    /// `#[tractor::main]`'s body, to be entered the best way its type
    /// allows. The macro calls `(&&MainBody(body)).enter(..)` with
    /// [`MainViaTask`] and [`MainViaBlockOn`] in scope: method lookup
    /// tries the receiver `&&MainBody` first, whose impl
    /// ([`main_entry_task`]) asks for a `Send` future, and falls back to
    /// `&MainBody` ([`main_entry`]) for one that is not, so a body that
    /// holds an `Rc` across an `await` still compiles, as before.
    #[derive(Clone, Copy, Debug)]
    pub struct MainBody<F>(pub F);

    /// See [`MainBody`]: a body whose future is `Send`.
    pub trait MainViaTask {
        /// Runs the program (see [`main_entry_task`]).
        fn enter(&self, cfg: crate::RootConfig, timeout: Option<f64>) -> std::process::ExitCode;
    }

    impl<F, Fut, R> MainViaTask for &MainBody<F>
    where
        F: FnOnce() -> Fut + Copy + Send + 'static,
        Fut: std::future::Future<Output = R> + Send + 'static,
        R: MainResult + 'static,
    {
        fn enter(&self, cfg: crate::RootConfig, timeout: Option<f64>) -> std::process::ExitCode {
            main_entry_task(cfg, timeout, self.0)
        }
    }

    /// See [`MainBody`]: any other body.
    pub trait MainViaBlockOn {
        /// Runs the program (see [`main_entry`]).
        fn enter(&self, cfg: crate::RootConfig, timeout: Option<f64>) -> std::process::ExitCode;
    }

    impl<F, Fut, R> MainViaBlockOn for MainBody<F>
    where
        F: FnOnce() -> Fut + Copy,
        Fut: std::future::Future<Output = R>,
        R: MainResult,
    {
        fn enter(&self, cfg: crate::RootConfig, timeout: Option<f64>) -> std::process::ExitCode {
            main_entry(cfg, timeout, self.0)
        }
    }

    /// What both entries do before the tree: run as a child if spawned
    /// as one, read the environment, logging, the panic hook, a runtime.
    fn main_setup(
        cfg: crate::RootConfig,
    ) -> Result<(tokio::runtime::Runtime, crate::RootConfig), std::process::ExitCode> {
        crate::child::maybe_run_child();
        let rtv = match crate::RuntimeVars::from_env() {
            Ok(r) => r,
            Err(e) => {
                crate::runtime::debug::say!("error: {e}");
                return Err(std::process::ExitCode::from(2));
            }
        };
        crate::devx::logging::init(&rtv.loglevel);
        crate::devx::panics::install_hook();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let cfg = crate::RootConfig {
            rtv: Some(cfg.rtv.unwrap_or(rtv)),
            ..cfg
        };
        Ok((rt, cfg))
    }

    /// The root actor's tree with `body` in it, and the timer that
    /// cancels it after `timeout` (setting `timed_out`).
    async fn main_tree<F, Fut, R>(
        cfg: crate::RootConfig,
        timeout: Option<f64>,
        timed_out: std::sync::Arc<std::sync::atomic::AtomicBool>,
        body: F,
    ) -> Result<(), crate::Error>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = R>,
        R: MainResult,
    {
        crate::run_root(cfg, || async move {
            // The timer cancels the root actor, as a signal does: the body
            // is then driven through the tree's graceful teardown.
            let timer = match (timeout, crate::current_actor()) {
                (Some(secs), Some(actor)) => Some(tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_secs_f64(secs)).await;
                    timed_out.store(true, std::sync::atomic::Ordering::SeqCst);
                    actor.cancel(None);
                })),
                _ => None,
            };
            let out = body().await.into_tractor();
            if let Some(t) = timer {
                t.abort();
            }
            out
        })
        .await
    }

    /// The program's exit status for the tree's outcome.
    fn main_exit(
        out: Result<(), crate::Error>,
        timed_out: &std::sync::atomic::AtomicBool,
        timeout: Option<f64>,
    ) -> std::process::ExitCode {
        if timed_out.load(std::sync::atomic::Ordering::SeqCst) {
            let secs = timeout.unwrap_or_default();
            match &out {
                Ok(()) => crate::runtime::debug::say!(
                    "error: the main timeout ({secs}s) ran out; the actor tree was cancelled"
                ),
                Err(e) => crate::runtime::debug::say!(
                    "error: the main timeout ({secs}s) ran out; the actor tree was cancelled ({e})"
                ),
            }
            return std::process::ExitCode::from(MAIN_TIMEOUT_EXIT);
        }
        match out {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(crate::Error::Cancelled(why)) => {
                crate::runtime::debug::say!("cancelled: {why}");
                std::process::ExitCode::from(130)
            }
            Err(e) => {
                crate::runtime::debug::say!("error: {e}");
                std::process::ExitCode::FAILURE
            }
        }
    }

    /// What `#[tractor::main]` may return.
    pub trait MainResult {
        /// As a tractor result.
        fn into_tractor(self) -> Result<(), crate::Error>;
    }

    impl MainResult for () {
        fn into_tractor(self) -> Result<(), crate::Error> {
            Ok(())
        }
    }

    impl<E: Into<crate::errors::BoxError>> MainResult for Result<(), E> {
        fn into_tractor(self) -> Result<(), crate::Error> {
            self.map_err(|e| {
                let b: crate::errors::BoxError = e.into();
                match b.downcast::<crate::Error>() {
                    Ok(t) => *t,
                    Err(b) => crate::Error::Other(b),
                }
            })
        }
    }
}
