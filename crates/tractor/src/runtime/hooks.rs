//! What the layers above the runtime install into an actor when they build
//! it, so the runtime calls them without importing them.
//!
//! The runtime core sits below discovery, spawning and the process entry
//! points (`docs/architecture.md`, "Dependency direction"). Two things an
//! actor does belong to those layers: serving the registrar's table as
//! `self.*` functions (discovery), and running a thread actor's life
//! (`child`). `root` and `child` build every actor with [`Hooks`] that
//! carry both.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::errors::Error;
use crate::ipc::ChildLink;
use crate::msg::{StrMap, Value};
use crate::runtime::state::RuntimeVars;

/// A future borrowed from its service.
pub type ServiceFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, ServiceError>> + Send + 'a>>;

/// Why a `self.*` service call failed: the reply's error, with the Python
/// exception type a Python actor raises for the same failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// `TypeError`, `ValueError`, …
    pub python_type: &'static str,
    /// The message.
    pub message: String,
}

/// Runtime `self.*` functions served by a layer above the runtime (the
/// registrar's table is one). The actor answers `self.<func>` with
/// [`SelfService::call`] when [`SelfService::serves`] says yes.
pub trait SelfService: Send + Sync + 'static {
    /// True if `func` is one of this service's functions.
    fn serves(&self, func: &str) -> bool;

    /// Serves one call; `stop` fires when the call is cancelled (its
    /// caller's connection ended, `_cancel_task`, or the actor shuts
    /// down). An `Err` is the reply's error.
    fn call<'a>(
        &'a self,
        func: &'a str,
        kwargs: &'a StrMap,
        stop: &'a CancellationToken,
    ) -> ServiceFuture<'a>;

    /// The service as `Any`, so its owner layer can get its own type back
    /// (`Actor::service`).
    fn as_any(&self) -> &dyn Any;
}

/// A spawned actor's whole life, run by the thread spawn backend on the new
/// thread (the process backend re-executes the program instead, whose
/// `main` runs the same life): its envelope, and its end of the
/// connection to its parent when the parent made one
/// ([`ChildLink`]).
pub type ChildEntry = fn(RuntimeVars, Option<ChildLink>) -> Result<(), Error>;

/// What an actor is built with.
#[derive(Clone)]
pub struct Hooks {
    /// The extra `self.*` functions this actor serves, if any.
    pub service: Option<Arc<dyn SelfService>>,
    /// How a child thread actor of this actor runs.
    pub child_entry: ChildEntry,
}

impl Hooks {
    /// Hooks with no `self.*` service.
    pub fn new(child_entry: ChildEntry) -> Hooks {
        Hooks {
            service: None,
            child_entry,
        }
    }

    /// Also serves `service`'s `self.*` functions.
    pub fn with_service(mut self, service: Arc<dyn SelfService>) -> Hooks {
        self.service = Some(service);
        self
    }
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("service", &self.service.is_some())
            .finish_non_exhaustive()
    }
}
