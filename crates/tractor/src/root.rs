//! The root actor: the first actor of a tree, in the process a person
//! started.
//!
//! At start the root probes its registrar addresses (spec §6.4): if a
//! registrar answers, the root joins it as an ordinary actor; if nothing
//! listens, the root becomes the registrar itself, as in Python tractor.
//! With an etcd registry (`etcd://…`) there is no election: every actor
//! registers in etcd under its own lease.
//! Ctrl-C (SIGINT), SIGTERM or SIGHUP cancels the root, which cancels the
//! tree; a second one during that teardown kills the tree at once (see
//! [`Root`]).

use std::future::Future;

use std::sync::Arc;

use crate::discovery::api::{ProbeResult, probe, register_self, unregister_self};
use crate::discovery::etcd::EtcdAgent;
use crate::discovery::registry::Registry;
use crate::errors::Error;
use crate::ipc::Addr;
use crate::msg::Uid;
use crate::runtime::actor::Actor;
use crate::runtime::hooks::Hooks;
use crate::runtime::registry_addr::{EtcdEndpoints, RegistryAddr};
use crate::runtime::state::RuntimeVars;

/// How the root actor starts.
#[derive(Clone, Debug)]
pub struct RootConfig {
    /// The root's name (default: `"root"`).
    pub name: String,
    /// Namespaces callable in the root.
    pub enable: Vec<String>,
    /// Runtime vars; `None` reads the `_TRACTOR_RT_VARS` envelope (or
    /// fresh defaults).
    pub rtv: Option<RuntimeVars>,
    /// The registry, over the one in the runtime vars: a registrar's
    /// multiaddr or `etcd://HOST:PORT[,HOST:PORT…]`.
    pub registry: Option<RegistryAddr>,
    /// When this root becomes the registrar: also keep its table in this
    /// etcd cluster (`tractor registrar --store etcd://…`), so actors that
    /// register with it (Python ones too) are found through etcd.
    pub registrar_store: Option<EtcdEndpoints>,
    /// Debug mode for the whole tree, over the runtime vars' own flag
    /// (Python's `open_root_actor(debug_mode=True)`): a crash or
    /// `tractor::pause!()` in any actor shows a card on this terminal.
    pub debug_mode: bool,
}

impl Default for RootConfig {
    fn default() -> Self {
        RootConfig {
            name: "root".into(),
            enable: Vec::new(),
            rtv: None,
            registry: None,
            registrar_store: None,
            debug_mode: false,
        }
    }
}

impl RootConfig {
    /// A config with this name.
    pub fn named(name: impl Into<String>) -> Self {
        RootConfig {
            name: name.into(),
            ..Default::default()
        }
    }

    /// Enables namespaces in the root.
    ///
    /// `#[tractor::main(enable = [..])]` fills this from module paths,
    /// each resolved to the namespace `module_path!()` gives inside that
    /// module (a relative path is relative to the module of `main`):
    ///
    /// ```no_run
    /// mod jobs {
    ///     #[tractor::rpc]
    ///     pub async fn ping() -> u32 { 1 }
    /// }
    /// #[tractor::main(enable = [jobs, crate::jobs])]
    /// async fn main() {}
    /// ```
    ///
    /// An entry that is not a module path does not compile (the error says
    /// what `enable` takes):
    ///
    /// ```compile_fail
    /// #[tractor::main(enable = [1 + 1])]
    /// async fn main() {}
    /// ```
    ///
    /// nor does a path that names no module:
    ///
    /// ```compile_fail
    /// mod jobs {}
    /// #[tractor::main(enable = [jbos])]
    /// async fn main() {}
    /// ```
    pub fn enable(mut self, ns: &[&str]) -> Self {
        self.enable.extend(ns.iter().map(|s| s.to_string()));
        self
    }

    /// Uses this registry (a registrar's address or `etcd://…`).
    pub fn with_registry(mut self, reg: RegistryAddr) -> Self {
        self.registry = Some(reg);
        self
    }

    /// Keeps the registrar's table in etcd too (when this root is the
    /// registrar).
    pub fn with_registrar_store(mut self, store: EtcdEndpoints) -> Self {
        self.registrar_store = Some(store);
        self
    }

    /// Turns debug mode on for the tree (`#[tractor::main(debug_mode =
    /// true)]`); off leaves the runtime vars' own flag as it is.
    ///
    /// ```no_run
    /// #[tractor::main(debug_mode = true)]
    /// async fn main() {
    ///     tractor::pause!(); // a card on this terminal; `c` goes on
    /// }
    /// ```
    ///
    /// It takes a bool literal (the error says so):
    ///
    /// ```compile_fail
    /// #[tractor::main(debug_mode = "yes")]
    /// async fn main() {}
    /// ```
    pub fn debug_mode(mut self, on: bool) -> Self {
        self.debug_mode = on;
        self
    }

    /// Uses these runtime vars.
    pub fn with_vars(mut self, rtv: RuntimeVars) -> Self {
        self.rtv = Some(rtv);
        self
    }
}

/// A running root actor. Shut it down with [`Root::shutdown`].
///
/// From its start to its end the root owns the process's termination
/// signals (SIGINT, SIGTERM, SIGHUP): the first cancels the actor tree
/// (gracefully, leaves first); a second one during that teardown SIGKILLs
/// every child actor's process group at once; a third exits the process
/// with status 130 without waiting for anything.
#[derive(Debug)]
pub struct Root {
    actor: Actor,
    created_bind_dir: bool,
    signals: tokio::task::JoinHandle<()>,
    /// The SIGUSR1 task-tree dumps (see [`crate::child::serve_stackscope_signal`]).
    stackscope: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Root {
    fn drop(&mut self) {
        self.signals.abort();
        if let Some(s) = &self.stackscope {
            s.abort();
        }
    }
}

/// The root's signal policy (see [`Root`]).
async fn watch_signals(actor: Actor) {
    let mut signals = match crate::devx::signals::Signals::new() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot handle termination signals");
            return;
        }
    };
    let mut sig = signals.next().await;
    // Debug mode: while an actor holds the terminal lock (its crash card
    // is up), Ctrl-C is shielded; a second one still kills everything.
    while let Some(h) = crate::runtime::debug::holder() {
        crate::runtime::debug::say!(
            "tractor: {sig} shielded: '{}' holds the terminal lock (again to kill the tree)",
            h.name
        );
        let next = signals.next().await;
        if crate::runtime::debug::holder().is_some() {
            let n = crate::spawn::kill_all_children();
            crate::runtime::debug::say!(
                "tractor: {next} again: killing the actor tree now (SIGKILL to {n} process group{})",
                if n == 1 { "" } else { "s" }
            );
            std::process::exit(130);
        }
        sig = next;
    }
    // The cancel first, then the words: reporting it must never be what
    // stops it.
    actor.cancel(None);
    crate::runtime::debug::say!("tractor: {sig}: cancelling the actor tree (again to kill it now)");
    tracing::warn!("{sig}: cancelling the actor tree");
    let sig = signals.next().await;
    let n = crate::spawn::kill_all_children();
    crate::runtime::debug::say!(
        "tractor: {sig} during teardown: killing the actor tree now (SIGKILL to {n} process group{}; again to exit at once)",
        if n == 1 { "" } else { "s" }
    );
    let sig = signals.next().await;
    crate::runtime::debug::say!("tractor: {sig} again: exiting now");
    std::process::exit(130);
}

/// Starts the root actor of this process.
pub async fn open_root_actor(cfg: RootConfig) -> Result<Root, Error> {
    let mut rtv = match cfg.rtv {
        Some(r) => r,
        None => RuntimeVars::from_env().map_err(|e| Error::Config(e.to_string()))?,
    };
    rtv.is_root = true;
    rtv.spawn = None;
    rtv.debug_mode |= cfg.debug_mode;
    if let Some(reg) = cfg.registry.clone() {
        rtv.set_registry(reg);
    }
    let mut enable = cfg.enable;
    if rtv.debug_mode {
        // The root serves the tree's terminal lock (as Python's does).
        let ns = crate::runtime::debug::TTY_LOCK_NS.to_owned();
        if !enable.contains(&ns) {
            enable.push(ns);
        }
        crate::devx::ptrace::allow_any_tracer();
    }
    let created_bind_dir = !rtv.bind_dir.exists();
    rtv.ensure_bind_dir()
        .map_err(|e| Error::Config(format!("bind-space folder: {e}")))?;
    let registrars = rtv.registrars();
    let mut absent: Vec<Addr> = Vec::new();
    let mut joined = false;
    for reg in &registrars {
        match probe(reg).await {
            ProbeResult::Registrar => joined = true,
            ProbeResult::Absent => absent.push(reg.clone()),
            ProbeResult::Occupied => {
                return Err(Error::Config(format!(
                    "{reg} is in use by something that is not a tractor registrar"
                )));
            }
        }
    }
    // With etcd as the registry there is no registrar to elect.
    let etcd = rtv.etcd_registry.clone();
    let is_registrar = !joined && etcd.is_none();
    let binds: Vec<Addr> = if is_registrar {
        absent
    } else {
        vec![rtv.listen_addr(&cfg.name)]
    };
    // A registrar serves the table as its `self.*` functions; an actor on
    // etcd keeps its registration alive through its agent.
    let mut hooks = Hooks::new(crate::child::run_child_in_thread);
    if is_registrar {
        let table = match &cfg.registrar_store {
            Some(store) => {
                Registry::with_store(EtcdAgent::new(store.clone(), rtv.etcd_lease_ttl()))
            }
            None => Registry::default(),
        };
        hooks = hooks.with_service(Arc::new(table));
    } else if let Some(at) = etcd {
        hooks = hooks.with_service(EtcdAgent::new(at, rtv.etcd_lease_ttl()));
    }
    let actor = Actor::new(
        Uid::random(cfg.name.clone()),
        rtv,
        is_registrar,
        enable,
        hooks,
    );
    actor.set_current();
    if let Err(e) = actor.bind(&binds).await {
        Actor::clear_current();
        return Err(e);
    }
    // The root's own accept addresses are the tree's root addresses (a
    // nursery in the root hands them to its children).
    if let Err(e) = register_self(&actor).await {
        Actor::clear_current();
        return Err(e);
    }
    tracing::info!(
        uid = %actor.uid(),
        addrs = ?actor.accept_addrs().iter().map(ToString::to_string).collect::<Vec<_>>(),
        registrar = is_registrar,
        "root actor up"
    );
    let signals = tokio::spawn(watch_signals(actor.clone()));
    let stackscope = crate::child::serve_stackscope_signal(None);
    Ok(Root {
        actor,
        created_bind_dir,
        signals,
        stackscope,
    })
}

impl Root {
    /// The root actor.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Runs `body` inside the root's cancel scope; Ctrl-C, SIGTERM and
    /// SIGHUP cancel it (and so every nursery in it; see [`Root`]).
    pub async fn run<F, T>(&self, body: F) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>>,
    {
        let actor = self.actor.clone();
        let scope = actor.scope().clone();
        let fut = scope.clone().scope(body);
        tokio::pin!(fut);
        tokio::select! {
            r = &mut fut => {
                if let Err(e) = &r
                    && actor.runtime_vars().debug_mode
                    && !e.is_cancelled()
                {
                    // Debug mode: the root's own crash card, last.
                    crate::runtime::debug::hold(&actor, crash_of_root(e)).await;
                }
                return r;
            }
            // A signal, or another actor asked us to cancel (`self.cancel`).
            _ = actor.cancelled() => {}
        }
        match actor.run_cancellable(fut, &scope).await {
            Some(r) => r,
            None => Err(Error::Cancelled(format!(
                "root actor '{}' was cancelled",
                actor.name()
            ))),
        }
    }

    /// Tears the root down: cancels what it serves, unregisters, closes.
    pub async fn shutdown(self) {
        self.actor.stop_serving().await;
        if !self.actor.is_registrar() {
            unregister_self(&self.actor).await;
        } else if let Some(store) = self.actor.service::<Registry>().and_then(Registry::store) {
            // The table's entries in etcd go with the registrar's lease.
            store
                .close(crate::discovery::backend::UNREGISTER_BUDGET)
                .await;
        }
        self.actor.close_connections().await;
        Actor::clear_current();
        if self.created_bind_dir {
            // Only removes it if empty: sockets of live actors stay.
            let _ = std::fs::remove_dir(&self.actor.runtime_vars().bind_dir);
        }
    }
}

/// The crash card's facts for an error that ended the root's body.
fn crash_of_root(e: &Error) -> crate::runtime::debug::Crash {
    let (error_type, message, traceback, relayed_from) = match e {
        Error::Remote(r) => {
            let mut path: Vec<String> = r.relay_path().iter().map(|u| u.name.clone()).collect();
            if path.is_empty() {
                path.push(r.src_uid().name.clone());
            }
            (
                format!("RemoteActorError({})", r.src_type()),
                r.message().to_owned(),
                r.traceback().to_owned(),
                path,
            )
        }
        other => (
            "Error".to_owned(),
            other.to_string(),
            String::new(),
            Vec::new(),
        ),
    };
    crate::runtime::debug::Crash {
        task: "the root's body".into(),
        error_type,
        message,
        traceback,
        relayed_from,
    }
}

/// Opens a root actor, runs `body` in it, and shuts it down.
pub async fn run_root<F, Fut, T>(cfg: RootConfig, body: F) -> Result<T, Error>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let root = open_root_actor(cfg).await?;
    let out = root.run(body()).await;
    root.shutdown().await;
    out
}
