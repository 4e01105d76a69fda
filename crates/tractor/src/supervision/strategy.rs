//! What a supervisor does when a child ends: the [`Strategy`] (which
//! children are restarted), each child's [`Restart`] type (whether it is),
//! and the specs that carry them ([`SupervisorSpec`], [`ChildSpec`]).

use std::sync::Arc;
use std::time::Duration;

use crate::errors::Error;
use crate::msg::{StrMap, payload};
use crate::runtime::rpc::RemoteFn;
use crate::spawn::SpawnBackend;

use super::budget::Backoff;

/// Which children a supervisor restarts when one of them has to be
/// restarted (OTP's `one_for_one`, `one_for_all`, `rest_for_one`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    /// Only the child that ended.
    #[default]
    OneForOne,
    /// Every child: the others are stopped (last started first), then all
    /// are started again in their start order.
    OneForAll,
    /// The child that ended and every child started after it: those are
    /// stopped (last started first), then started again in order.
    RestForOne,
}

/// When a child that ended is restarted (OTP's restart types).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Restart {
    /// Always, however it ended.
    #[default]
    Permanent,
    /// Only after an abnormal end: its main function failed, or the actor
    /// died (a signal, a non-zero exit status, a failed thread).
    Transient,
    /// Never; its end does not affect its siblings either.
    Temporary,
}

/// How a supervisor behaves: its [`Strategy`], its restart intensity (at
/// most `intensity` restarts within `period`, OTP's `MaxR`/`MaxT`,
/// default 3 in 5 s) and an optional [`Backoff`] between restarts.
///
/// ```
/// use std::time::Duration;
/// use tractor::supervision::{Backoff, Strategy, SupervisorSpec};
///
/// let spec = SupervisorSpec::new(Strategy::RestForOne)
///     .intensity(10, Duration::from_secs(60))
///     .backoff(Backoff::exponential(Duration::from_millis(50), Duration::from_secs(2)));
/// assert_eq!(spec.intensity, 10);
/// assert_eq!(SupervisorSpec::default().intensity, 3);
/// ```
#[derive(Clone, Debug)]
pub struct SupervisorSpec {
    /// Which children are restarted.
    pub strategy: Strategy,
    /// How many restarts are allowed within `period`; one more and the
    /// supervisor gives up and escalates. 0 means never restart.
    pub intensity: u32,
    /// The sliding window for `intensity`.
    pub period: Duration,
    /// A pause before a restart, growing with the child's recent restarts.
    pub backoff: Option<Backoff>,
}

impl Default for SupervisorSpec {
    fn default() -> Self {
        SupervisorSpec {
            strategy: Strategy::OneForOne,
            intensity: 3,
            period: Duration::from_secs(5),
            backoff: None,
        }
    }
}

impl SupervisorSpec {
    /// The defaults (3 restarts in 5 s, no backoff) with `strategy`.
    pub fn new(strategy: Strategy) -> Self {
        SupervisorSpec {
            strategy,
            ..Default::default()
        }
    }

    /// At most `max` restarts within `period`.
    pub fn intensity(mut self, max: u32, period: Duration) -> Self {
        self.intensity = max;
        self.period = period;
        self
    }

    /// A pause before each restart.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }
}

/// A function call that is a child's "main": run in the child right after
/// each (re)start; when it returns the child is stopped, and its outcome
/// is the child's exit reason (`Ok` is a normal exit, `Err` a failure).
#[derive(Clone, Debug)]
pub(crate) struct MainCall {
    pub ns: String,
    pub func: String,
    pub kwargs: StrMap,
}

/// One supervised child: its name (kept across restarts), the namespaces
/// enabled in it, its [`Restart`] type, the spawn backend, and optionally
/// a main function.
///
/// Without a main function the child is a daemon actor (like
/// [`crate::ActorNursery::start_actor`]): it serves until stopped, and
/// its end is how its actor exited (a clean exit is normal; a signal, a
/// non-zero status or a failed thread is abnormal).
///
/// ```no_run
/// # use tractor::supervision::{ChildSpec, Restart};
/// mod work {
///     /// The worker's main: does `jobs` jobs, then returns.
///     #[tractor::rpc]
///     pub async fn run(jobs: u32) -> Result<(), tractor::Error> {
///         let _ = jobs;
///         Ok(())
///     }
/// }
/// # fn main() -> Result<(), tractor::Error> {
/// let spec = ChildSpec::new("worker-0", &[work::run::NS])
///     .restart(Restart::Transient)
///     .main(work::run { jobs: 10 })?;
/// # let _ = spec;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ChildSpec {
    pub(crate) name: String,
    pub(crate) enable: Vec<String>,
    pub(crate) restart: Restart,
    pub(crate) backend: Option<Arc<dyn SpawnBackend>>,
    pub(crate) main: Option<MainCall>,
}

impl std::fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildSpec")
            .field("name", &self.name)
            .field("enable", &self.enable)
            .field("restart", &self.restart)
            .field("backend", &self.backend.as_ref().map(|b| b.name()))
            .field(
                "main",
                &self.main.as_ref().map(|m| format!("{}.{}", m.ns, m.func)),
            )
            .finish()
    }
}

impl ChildSpec {
    /// A permanent daemon child named `name` with the namespaces `enable`
    /// callable, started by the supervisor's default backend.
    pub fn new(name: &str, enable: &[&str]) -> Self {
        ChildSpec {
            name: name.to_owned(),
            enable: enable.iter().map(|s| s.to_string()).collect(),
            restart: Restart::Permanent,
            backend: None,
            main: None,
        }
    }

    /// The child's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its restart type.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Its spawn backend (default: the one `RuntimeVars::spawn_method`
    /// names), e.g. `Arc::new(tractor::spawn::ThreadBackend)`.
    pub fn backend(mut self, backend: Arc<dyn SpawnBackend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Runs `call` in the child after each start (its namespace is
    /// enabled too); the child ends when it returns.
    pub fn main<F: RemoteFn>(mut self, call: F) -> Result<Self, Error> {
        let kwargs = payload::to_kwargs(&call)?;
        if !self.enable.iter().any(|e| e == F::NS) {
            self.enable.push(F::NS.to_owned());
        }
        self.main = Some(MainCall {
            ns: F::NS.to_owned(),
            func: F::NAME.to_owned(),
            kwargs,
        });
        Ok(self)
    }
}
