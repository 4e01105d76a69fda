//! What a spawned actor runs first.
//!
//! A process whose `_TRACTOR_RT_VARS` envelope carries spawn info is a
//! child: it dials its parent, does the Aid exchange, reads the
//! `SpawnSpec`, binds, registers (through the parent's connection when the
//! parent is the registrar, see `discovery::via_parent`), serves until cancelled, tears down and
//! exits (spec §4.2). [`maybe_run_child`] does all of that and never
//! returns in a child; in any other process it returns at once.

use std::time::Duration;

use crate::discovery::api::{register_self, unregister_self};
use crate::discovery::backend::UNREGISTER_BUDGET;
use crate::discovery::etcd::EtcdAgent;
use crate::discovery::via_parent::{
    parent_is_the_registrar, register_through_parent, unregister_through_parent,
};
use crate::errors::Error;
use crate::ipc::{Addr, ChanError, Channel, ChildLink};
use crate::msg::{Aid, Msg, Uid};
use crate::runtime::actor::Actor;
use crate::runtime::hooks::Hooks;
use crate::runtime::state::RuntimeVars;

/// How long a child's exit waits for its registration through the parent
/// to be answered before it unregisters.
const REGISTRATION_WAIT: Duration = Duration::from_secs(2);

/// How long a `SIGUSR1` dump that arrives during an actor's start-up
/// waits for the start to finish before it is taken as things stand. The
/// window it covers (registered, not yet serving the parent) is usually
/// microseconds; a start stuck for longer is itself worth the dump, so
/// the wait is short.
pub(crate) const DUMP_START_WAIT: Duration = Duration::from_secs(1);

/// Runs this process as a spawned child actor and exits, if the envelope
/// says it is one; otherwise returns.
///
/// The envelope is this process's only if its spawn info names our parent
/// process (a program an actor launched inherits the actor's environment
/// but is not its child). A child removes the envelope from its own
/// environment once read, so the programs it launches see none.
///
/// Call it first thing in `main` (`#[tractor::main]` and
/// `#[tractor::test]` do), before any thread of yours reads the
/// environment: a child changes its environment here.
pub fn maybe_run_child() {
    // SAFETY: documented above: this runs at the top of `main` (or of a
    // libtest test run alone with `--test-threads=1`, whose main thread
    // only waits for the test), before any thread of ours exists that
    // could read the environment concurrently.
    let rtv = match unsafe { RuntimeVars::take_spawn_envelope() } {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => {
            crate::runtime::debug::say!("tractor: {e}");
            std::process::exit(2);
        }
    };
    let code = run_child_blocking(rtv);
    std::process::exit(code);
}

/// Builds a runtime and runs the child actor on this thread to the end;
/// returns the exit code.
pub fn run_child_blocking(rtv: RuntimeVars) -> i32 {
    crate::devx::logging::init(&rtv.loglevel);
    crate::devx::panics::install_hook();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            crate::runtime::debug::say!("tractor: cannot start a runtime: {e}");
            return 1;
        }
    };
    let name = rtv
        .spawn
        .as_ref()
        .map(|s| s.uid.0.clone())
        .unwrap_or_default();
    match rt.block_on(run_child(rtv)) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %e, "actor failed");
            crate::runtime::debug::say!("tractor: actor {name:?} failed: {e}");
            1
        }
    }
}

/// Runs a thread actor on the calling thread (the thread backend's entry):
/// its own runtime, no signal handling (signals belong to the process).
/// On a warm thread the runtime was built ahead (`spawn::pool`). With a
/// `link` from its parent it talks to the parent over it instead of
/// dialling the parent's address.
pub(crate) fn run_child_in_thread(rtv: RuntimeVars, link: Option<ChildLink>) -> Result<(), Error> {
    let rt = match crate::spawn::take_warm_runtime() {
        Some(rt) => rt,
        None => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("cannot start a runtime: {e}")))?,
    };
    rt.block_on(run_child_with(rtv, false, link))
}

/// The environment variable Python tractor reads to enable task-tree
/// dumps on `SIGUSR1`. Ours are on by default; `0` turns them off.
pub const STACKSCOPE_ENV: &str = "TRACTOR_ENABLE_STACKSCOPE";

/// True unless `TRACTOR_ENABLE_STACKSCOPE` is `0` (or `false`/`no`).
pub fn stackscope_enabled() -> bool {
    match std::env::var(STACKSCOPE_ENV) {
        Ok(v) => !matches!(v.trim(), "0" | "false" | "no" | "off"),
        Err(_) => true,
    }
}

/// Installs this process's `SIGUSR1` handler (when enabled): on each
/// signal, every actor of the process writes its task tree (stderr and a
/// file in its runtime folder), then the signal is relayed to the child
/// actor processes, parent before child. Returns the task serving it, or
/// `None` when disabled or the handler cannot be installed.
///
/// A child installs it before it dials its parent, and a parent relays
/// only to children whose connection is up, so a relayed `SIGUSR1` never
/// meets a child without its handler (whose default action would kill it).
///
/// `started`, when given, holds back a dump asked for while the actor is
/// still starting (registered, say, but not yet serving its parent) until
/// it says `true` or is dropped, for at most [`DUMP_START_WAIT`]: a dump
/// is of a started actor, parent and tasks included, not of one half-way
/// through its start.
pub(crate) fn serve_stackscope_signal(
    started: Option<tokio::sync::watch::Receiver<bool>>,
) -> Option<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    if !stackscope_enabled() {
        return None;
    }
    let mut usr1 = match signal(SignalKind::user_defined1()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot handle SIGUSR1: no task-tree dumps");
            return None;
        }
    };
    Some(tokio::spawn(async move {
        let mut started = started;
        while usr1.recv().await.is_some() {
            if let Some(rx) = started.as_mut() {
                // Err: the actor ended its start-up some other way.
                let _ = tokio::time::timeout(DUMP_START_WAIT, rx.wait_for(|s| *s)).await;
                started = None;
            }
            // The registries are read synchronously; writing a few small
            // files is quick enough not to need a blocking thread.
            crate::runtime::actor::dump_task_trees("SIGUSR1");
            let ready = crate::runtime::actor::connected_peer_pids();
            let sent = crate::spawn::signal_children(nix::sys::signal::Signal::SIGUSR1, &ready);
            tracing::debug!(?sent, "relayed SIGUSR1 to child actors");
        }
    }))
}

/// The child actor's whole life.
pub async fn run_child(rtv: RuntimeVars) -> Result<(), Error> {
    run_child_with(rtv, true, None).await
}

async fn run_child_with(
    rtv: RuntimeVars,
    own_process: bool,
    link: Option<ChildLink>,
) -> Result<(), Error> {
    let info = rtv
        .spawn
        .clone()
        .ok_or_else(|| Error::Config("not a spawned actor".into()))?;
    let uid = Uid::new(info.uid.0.clone(), info.uid.1.clone());
    if own_process {
        crate::devx::proctitle::set(&uid.name);
    }
    crate::devx::logging::set_actor_name(&uid.name);
    // Before the parent knows us: a relayed SIGUSR1 must find its handler.
    // Its dumps wait until we serve our parent (`started`).
    let (started, started_rx) = tokio::sync::watch::channel(false);
    let stackscope = if own_process {
        serve_stackscope_signal(Some(started_rx))
    } else {
        None
    };
    struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            if let Some(h) = &self.0 {
                h.abort();
            }
        }
    }
    let _stackscope = AbortOnDrop(stackscope);
    // The envelope's TLS policy applies from the first dial (to the parent).
    crate::ipc::tls::install(crate::ipc::tls::TlsSettings::from_vars(&rtv));
    // A parent in this process handed us a connected socket, its `Aid`
    // and our `SpawnSpec` already queued on it: nothing to wait for. It
    // also handed us `rtv` itself, so that spec's runtime variables are
    // empty and merging them is a no-op.
    let mut chan = match link {
        Some(link) => {
            let conn = link
                .into_conn(format!("parent {}", info.parent_addr))
                .map_err(ChanError::Connect)?;
            Channel::new(conn, rtv.wire_limits())
        }
        None => Channel::connect(&info.parent_addr, rtv.wire_limits()).await?,
    };
    let me = Aid::of_this_process(&uid);
    let parent_aid = chan.handshake(&me, Duration::from_secs(30)).await?;
    let spec = match tokio::time::timeout(Duration::from_secs(30), chan.recv()).await {
        Ok(Ok(Some(Msg::SpawnSpec(s)))) => s,
        Ok(Ok(Some(other))) => {
            return Err(Error::Config(format!(
                "expected SpawnSpec from the parent, got {}",
                other.msg_type()
            )));
        }
        Ok(Ok(None)) => {
            return Err(Error::Config(
                "the parent hung up before sending SpawnSpec".into(),
            ));
        }
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => {
            return Err(Error::Config(
                "no SpawnSpec from the parent within 30s".into(),
            ));
        }
    };
    let mut rtv = rtv;
    rtv.merge_wire(&spec.runtime_vars);
    if rtv.debug_mode && own_process {
        crate::devx::ptrace::allow_any_tracer();
    }
    let regs: Vec<Addr> = spec
        .reg_addrs
        .iter()
        .filter_map(|w| Addr::from_wire(w).ok())
        .collect();
    if !regs.is_empty() {
        rtv.registry_addrs = regs;
    }
    let binds: Vec<Addr> = match &spec.bind_addrs {
        Some(b) => b.iter().filter_map(|w| Addr::from_wire(w).ok()).collect(),
        None => vec![rtv.listen_addr(&uid.name)],
    };
    let enabled = spec.enable_modules.iter().map(|(k, _)| k.clone()).collect();
    let mut hooks = Hooks::new(run_child_in_thread);
    if let Some(at) = rtv.etcd_registry.clone() {
        hooks = hooks.with_service(EtcdAgent::new(at, rtv.etcd_lease_ttl()));
    }
    let actor = Actor::new(uid, rtv, false, enabled, hooks);
    actor.set_current();
    // However this function ends, the actor stops being current (the
    // runtime's table would otherwise keep it alive).
    struct Uncurrent;
    impl Drop for Uncurrent {
        fn drop(&mut self) {
            Actor::clear_current();
        }
    }
    let _uncurrent = Uncurrent;
    actor.bind(&binds).await?;
    // Registration: through the parent's connection when the parent is
    // the registrar (no round trip before serving), else as before, on a
    // connection of its own before serving.
    let via_parent = parent_is_the_registrar(&actor, &parent_aid, &info.parent_addr);
    tracing::debug!(via_parent, "registering");
    if !via_parent && let Err(e) = register_self(&actor).await {
        tracing::warn!(error = %e, "could not register");
    }
    let parent = actor.spawn_peer(parent_aid, chan);
    actor.set_parent(parent.clone());
    started.send_replace(true);
    let registering = if via_parent {
        Some(register_through_parent(&actor, &parent).await)
    } else {
        None
    };
    tracing::debug!("serving");
    let signals = async {
        if !own_process {
            // Signals belong to the process; the parent cancels us.
            return std::future::pending().await;
        }
        let Ok(mut signals) = crate::devx::signals::Signals::new() else {
            return std::future::pending().await;
        };
        loop {
            let sig = signals.next().await;
            // Ctrl-C typed while our crash card owns the terminal is the
            // root's to judge (shielded, or a second one kills the tree).
            if sig != crate::devx::signals::Termination::Interrupt
                || !crate::runtime::debug::terminal::pass_interrupt_on()
            {
                return sig;
            }
        }
    };
    tokio::select! {
        _ = actor.cancelled() => {}
        _ = signals => {
            tracing::warn!("signalled; shutting down");
            actor.cancel(None);
        }
    }
    actor.stop_serving().await;
    if let Some(r) = registering {
        // Unregistering must not overtake the registration still in
        // flight on the parent's connection (it is answered at once, or
        // the connection is gone).
        let _ = tokio::time::timeout(REGISTRATION_WAIT, r).await;
    }
    if via_parent {
        unregister_through_parent(&actor, &parent, UNREGISTER_BUDGET).await;
    } else {
        unregister_self(&actor).await;
    }
    actor.close_connections().await;
    Actor::clear_current();
    Ok(())
}
