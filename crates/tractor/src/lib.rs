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

    /// The body of `#[tractor::main]`; `timeout` (seconds) cancels the
    /// tree, like a first Ctrl-C, once it has run that long.
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
        crate::child::maybe_run_child();
        let rtv = match crate::RuntimeVars::from_env() {
            Ok(r) => r,
            Err(e) => {
                crate::runtime::debug::say!("error: {e}");
                return std::process::ExitCode::from(2);
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
        let timed_out = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let fired = timed_out.clone();
        let out = rt.block_on(crate::run_root(cfg, || async move {
            // The timer cancels the root actor, as a signal does: the body
            // is then driven through the tree's graceful teardown.
            let timer = match (timeout, crate::current_actor()) {
                (Some(secs), Some(actor)) => Some(tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_secs_f64(secs)).await;
                    fired.store(true, std::sync::atomic::Ordering::SeqCst);
                    actor.cancel(None);
                })),
                _ => None,
            };
            let out = body().await.into_tractor();
            if let Some(t) = timer {
                t.abort();
            }
            out
        }));
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
