//! The classic registrar as a [`RegistryBackend`]: an actor serving Python
//! tractor's `self.*` registrar functions (spec §6), called on a fresh
//! short-lived connection each time, as Python does. The registrar itself
//! uses its own table directly.

use crate::errors::Error;
use crate::ipc::Addr;
use crate::msg::{self, Uid, Value, WireAddr};
use crate::runtime::actor::Actor;

use super::api::{addrs_of, call_once, query_registrar};
use super::backend::{
    BoxFut, Listing, RegistryBackend, UNREGISTER_BUDGET, UNREGISTER_OTHER_BUDGET,
};
use super::registry::Registry;

/// The registrars at these addresses.
#[derive(Clone, Debug)]
pub struct Classic {
    addrs: Vec<Addr>,
}

impl Classic {
    /// The registrars at `addrs`.
    pub fn new(addrs: Vec<Addr>) -> Self {
        Classic { addrs }
    }

    /// Unregisters `uid` from every registrar, each within `budget`.
    async fn remove(&self, actor: &Actor, uid: &Uid, budget: std::time::Duration) {
        for reg in &self.addrs {
            if let Some(r) = Self::local(actor, reg) {
                r.unregister(uid);
                continue;
            }
            let kwargs = vec![("uid".to_owned(), msg::uid_to_value(uid))];
            let me = actor.aid();
            let call = call_once(reg, &me, "unregister_actor", kwargs, actor.max_frame());
            match tokio::time::timeout(budget, call).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::debug!(registrar = %reg, %uid, error = %e, "unregister failed")
                }
                Err(_) => tracing::debug!(registrar = %reg, %uid, "unregister timed out"),
            }
        }
    }

    /// The registrar at `reg` is this very actor's table.
    fn local<'a>(actor: &'a Actor, reg: &Addr) -> Option<&'a Registry> {
        if actor.is_registrar() && actor.accept_addrs().contains(reg) {
            actor.service::<Registry>()
        } else {
            None
        }
    }
}

impl RegistryBackend for Classic {
    fn describe(&self) -> String {
        let a: Vec<String> = self.addrs.iter().map(ToString::to_string).collect();
        format!("registrar at {}", a.join(", "))
    }

    fn register<'a>(&'a self, actor: &'a Actor) -> BoxFut<'a, Result<(), Error>> {
        Box::pin(async move {
            let uid = msg::uid_to_value(actor.uid());
            for reg in &self.addrs {
                for addr in actor.accept_addrs() {
                    if let Some(r) = Self::local(actor, reg) {
                        r.register(actor.uid().clone(), addr.to_wire());
                        continue;
                    }
                    let kwargs = vec![
                        ("uid".to_owned(), uid.clone()),
                        ("addr".to_owned(), msg::addr_to_value(&addr.to_wire())),
                    ];
                    call_once(
                        reg,
                        &actor.aid(),
                        "register_actor",
                        kwargs,
                        actor.max_frame(),
                    )
                    .await
                    .map_err(|e| {
                        Error::Discovery(format!(
                            "cannot register with the registrar at {reg}: {e}"
                        ))
                    })?;
                }
            }
            Ok(())
        })
    }

    fn unregister_self<'a>(&'a self, actor: &'a Actor) -> BoxFut<'a, ()> {
        Box::pin(self.remove(actor, actor.uid(), UNREGISTER_BUDGET))
    }

    fn unregister<'a>(&'a self, actor: &'a Actor, uid: &'a Uid) -> BoxFut<'a, ()> {
        Box::pin(self.remove(actor, uid, UNREGISTER_OTHER_BUDGET))
    }

    fn lookup<'a>(
        &'a self,
        actor: Option<&'a Actor>,
        name: &'a str,
        wait: bool,
    ) -> BoxFut<'a, Result<Vec<WireAddr>, Error>> {
        Box::pin(async move {
            if let Some(actor) = actor
                && let Some(r) = actor.service::<Registry>()
            {
                return Ok(if wait {
                    r.wait_for(name, actor.scope().token())
                        .await
                        .ok_or_else(|| Error::Cancelled("the registrar is shutting down".into()))?
                } else {
                    r.find(name).unwrap_or_default()
                });
            }
            let func = if wait { "wait_for_actor" } else { "find_actor" };
            let mut last_err = None;
            for reg in &self.addrs {
                let kwargs = vec![("name".to_owned(), Value::from(name))];
                match query_registrar(reg, func, kwargs).await {
                    Ok(v) => {
                        let found = addrs_of(&v);
                        if !found.is_empty() {
                            return Ok(found);
                        }
                    }
                    Err(e) => last_err = Some(e),
                }
            }
            match last_err {
                Some(e) => Err(e),
                None => Ok(Vec::new()),
            }
        })
    }

    fn list(&self) -> BoxFut<'_, Result<Listing, Error>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for reg in &self.addrs {
                let v = query_registrar(reg, "get_registry", Vec::new()).await?;
                let Value::Map(m) = v else {
                    return Err(Error::Discovery(format!(
                        "get_registry at {reg} returned something that is not a map"
                    )));
                };
                out.extend(m.iter().filter_map(|(k, v)| {
                    let key = k.as_str()?;
                    let (name, uuid) = key.rsplit_once('.')?;
                    let addrs = addrs_of(v)
                        .iter()
                        .filter_map(|w| Addr::from_wire(w).ok())
                        .collect();
                    Some((Uid::new(name, uuid), addrs))
                }));
            }
            Ok(out)
        })
    }
}
