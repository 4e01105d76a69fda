//! The registry behind one trait: a classic registrar ([`super::classic`])
//! or etcd ([`super::etcd`]). `find_actor`, `wait_for_actor`,
//! `get_registry`, registration and the CLI's queries go through it, so
//! they work unchanged whichever registry the runtime vars name.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::errors::Error;
use crate::ipc::Addr;
use crate::msg::{Uid, WireAddr};
use crate::runtime::actor::Actor;
use crate::runtime::registry_addr::RegistryAddr;

use super::classic::Classic;
use super::etcd::{EtcdAgent, EtcdBackend};

/// A boxed, sendable future (the trait is used as `dyn`).
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Every registered actor, as (uid, addresses).
pub type Listing = Vec<(Uid, Vec<Addr>)>;

/// How long an actor's unregistration may take at its exit.
pub const UNREGISTER_BUDGET: Duration = Duration::from_millis(500);

/// How long removing another actor's registration may take (a
/// supervisor's, for a dead child).
pub const UNREGISTER_OTHER_BUDGET: Duration = Duration::from_secs(2);

/// A registry: where actors register and are found.
pub trait RegistryBackend: Send + Sync {
    /// The registry in words, for errors (`registrar at /ip4/…`,
    /// `etcd registry at etcd://…`).
    fn describe(&self) -> String;

    /// Registers `actor`'s accept addresses.
    fn register<'a>(&'a self, actor: &'a Actor) -> BoxFut<'a, Result<(), Error>>;

    /// Removes `actor`'s own registration (at its exit; bounded, errors
    /// only logged).
    fn unregister_self<'a>(&'a self, actor: &'a Actor) -> BoxFut<'a, ()>;

    /// Removes another actor's registration (a supervisor does it for a
    /// dead child; bounded, errors only logged).
    fn unregister<'a>(&'a self, actor: &'a Actor, uid: &'a Uid) -> BoxFut<'a, ()>;

    /// The addresses of the actor named `name`: empty when unknown
    /// (`wait` false), or once it registers (`wait` true). `actor` is the
    /// caller, when one runs here.
    fn lookup<'a>(
        &'a self,
        actor: Option<&'a Actor>,
        name: &'a str,
        wait: bool,
    ) -> BoxFut<'a, Result<Vec<WireAddr>, Error>>;

    /// Every registered actor, as (uid, addresses).
    fn list(&self) -> BoxFut<'_, Result<Listing, Error>>;
}

/// The registry `actor` uses (from its runtime vars).
pub fn for_actor(actor: &Actor) -> Box<dyn RegistryBackend> {
    match &actor.runtime_vars().etcd_registry {
        Some(at) => Box::new(EtcdBackend::new(
            at.clone(),
            actor.service::<EtcdAgent>().and_then(EtcdAgent::arc),
        )),
        None => Box::new(Classic::new(actor.runtime_vars().registrars())),
    }
}

/// The registry at `addr`, for a client with no actor (`tractor ps`).
pub fn at(addr: &RegistryAddr) -> Box<dyn RegistryBackend> {
    match addr {
        RegistryAddr::Etcd(at) => Box::new(EtcdBackend::new(at.clone(), None)),
        RegistryAddr::Classic(a) => Box::new(Classic::new(vec![a.clone()])),
    }
}
