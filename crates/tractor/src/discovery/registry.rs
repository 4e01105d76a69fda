//! The registrar's table: which actor listens where (spec §6).
//!
//! Served as runtime `self.*` functions with exactly Python tractor's
//! names, keyword arguments and return shapes, so Python actors can
//! register with a Rust registrar and look actors up in it.

use std::sync::Mutex;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::msg::{self, StrMap, Uid, Value, WireAddr};
use crate::runtime::hooks::{SelfService, ServiceError, ServiceFuture};

/// The registrar's state: uid → addresses, in registration order.
#[derive(Debug)]
pub struct Registry {
    table: Mutex<Vec<(Uid, Vec<WireAddr>)>>,
    version: watch::Sender<u64>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            table: Mutex::new(Vec::new()),
            version: watch::channel(0).0,
        }
    }
}

const FUNCS: [&str; 6] = [
    "register_actor",
    "unregister_actor",
    "find_actor",
    "wait_for_actor",
    "get_registry",
    "delete_addr",
];

/// Each function's parameters, as Python's `Registrar` declares them.
fn params(func: &str) -> &'static [&'static str] {
    match func {
        "register_actor" => &["uid", "addr"],
        "unregister_actor" => &["uid"],
        "find_actor" | "wait_for_actor" => &["name"],
        "delete_addr" => &["addr"],
        _ => &[],
    }
}

/// Why a registrar call failed, with the Python exception type a Python
/// registrar raises for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Keyword arguments the function does not take, or a missing one.
    #[error("{0}")]
    Arguments(String),
    /// An argument of the wrong shape, or the registrar is stopping.
    #[error("{0}")]
    Value(String),
}

impl RegistryError {
    /// The Python exception type name (`TypeError` / `ValueError`).
    pub fn python_type(&self) -> &'static str {
        match self {
            RegistryError::Arguments(_) => "TypeError",
            RegistryError::Value(_) => "ValueError",
        }
    }
}

impl From<String> for RegistryError {
    fn from(s: String) -> Self {
        RegistryError::Value(s)
    }
}

fn arg<'a>(kwargs: &'a StrMap, name: &str) -> Result<&'a Value, String> {
    kwargs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .ok_or_else(|| format!("missing keyword argument {name:?}"))
}

fn uid_arg(kwargs: &StrMap) -> Result<Uid, String> {
    msg::uid_from_value(arg(kwargs, "uid")?).ok_or_else(|| "`uid` must be [name, uuid]".to_owned())
}

fn addr_arg(kwargs: &StrMap) -> Result<WireAddr, String> {
    msg::addr_from_value(arg(kwargs, "addr")?)
        .ok_or_else(|| "`addr` must be [host, port] or [dir, file]".to_owned())
}

fn name_arg(kwargs: &StrMap) -> Result<String, String> {
    arg(kwargs, "name")?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "`name` must be a string".to_owned())
}

fn addrs_value(a: &[WireAddr]) -> Value {
    Value::Array(a.iter().map(msg::addr_to_value).collect())
}

impl Registry {
    /// True for the functions a registrar serves.
    pub fn serves(func: &str) -> bool {
        FUNCS.contains(&func)
    }

    fn bump(&self) {
        self.version.send_modify(|v| *v += 1);
    }

    /// Adds `addr` for `uid`; an address owned by another uid moves.
    pub fn register(&self, uid: Uid, addr: WireAddr) {
        let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        for (_, addrs) in t.iter_mut() {
            addrs.retain(|a| a != &addr);
        }
        t.retain(|(u, a)| !a.is_empty() || u == &uid);
        match t.iter_mut().find(|(u, _)| u == &uid) {
            Some((_, addrs)) => addrs.push(addr),
            None => t.push((uid, vec![addr])),
        }
        drop(t);
        self.bump();
    }

    /// Removes `uid`.
    pub fn unregister(&self, uid: &Uid) {
        self.table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(u, _)| u != uid);
        self.bump();
    }

    /// Addresses of the first actor whose name (or uuid) is `name`.
    pub fn find(&self, name: &str) -> Option<Vec<WireAddr>> {
        self.table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(u, _)| u.name == name || u.uuid == name)
            .map(|(_, a)| a.clone())
    }

    fn all_named(&self, name: &str) -> Vec<WireAddr> {
        self.table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(u, _)| u.name == name)
            .flat_map(|(_, a)| a.clone())
            .collect()
    }

    /// Every entry.
    pub fn snapshot(&self) -> Vec<(Uid, Vec<WireAddr>)> {
        self.table.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until an actor named `name` is registered (or `stop` fires).
    pub async fn wait_for(&self, name: &str, stop: &CancellationToken) -> Option<Vec<WireAddr>> {
        let mut rx = self.version.subscribe();
        loop {
            let found = self.all_named(name);
            if !found.is_empty() {
                return Some(found);
            }
            tokio::select! {
                _ = stop.cancelled() => return None,
                r = rx.changed() => if r.is_err() { return None },
            }
        }
    }

    /// Serves one registrar call.
    pub async fn call(
        &self,
        func: &str,
        kwargs: &StrMap,
        stop: &CancellationToken,
    ) -> Result<Value, RegistryError> {
        crate::runtime::rpc::check_kwargs(func, params(func), kwargs)
            .map_err(RegistryError::Arguments)?;
        if let Some(missing) = params(func)
            .iter()
            .find(|p| !kwargs.iter().any(|(k, _)| k == *p))
        {
            return Err(RegistryError::Arguments(format!(
                "{func}() missing required keyword argument '{missing}'"
            )));
        }
        match func {
            "register_actor" => {
                self.register(uid_arg(kwargs)?, addr_arg(kwargs)?);
                Ok(Value::Nil)
            }
            "unregister_actor" => {
                self.unregister(&uid_arg(kwargs)?);
                Ok(Value::Nil)
            }
            "find_actor" => Ok(self
                .find(&name_arg(kwargs)?)
                .map(|a| addrs_value(&a))
                .unwrap_or(Value::Nil)),
            "wait_for_actor" => match self.wait_for(&name_arg(kwargs)?, stop).await {
                Some(a) => Ok(addrs_value(&a)),
                None => Err(RegistryError::Value(
                    "the registrar is shutting down".into(),
                )),
            },
            "get_registry" => Ok(Value::Map(
                self.snapshot()
                    .iter()
                    .map(|(u, a)| (Value::from(u.registry_key()), addrs_value(a)))
                    .collect(),
            )),
            "delete_addr" => {
                let addr = addr_arg(kwargs)?;
                let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
                let mut owner = None;
                for (u, addrs) in t.iter_mut() {
                    if addrs.contains(&addr) {
                        addrs.retain(|a| a != &addr);
                        owner = Some(u.clone());
                    }
                }
                t.retain(|(_, a)| !a.is_empty());
                drop(t);
                self.bump();
                Ok(owner.map(|u| msg::uid_to_value(&u)).unwrap_or(Value::Nil))
            }
            other => Err(RegistryError::Value(format!(
                "the registrar has no function {other:?}"
            ))),
        }
    }
}

/// The registrar's table is served as the actor's `self.*` functions
/// through the runtime's hook (`root` installs it in a registrar).
impl SelfService for Registry {
    fn serves(&self, func: &str) -> bool {
        Registry::serves(func)
    }

    fn call<'a>(
        &'a self,
        func: &'a str,
        kwargs: &'a StrMap,
        stop: &'a CancellationToken,
    ) -> ServiceFuture<'a> {
        Box::pin(async move {
            Registry::call(self, func, kwargs, stop)
                .await
                .map_err(|e| ServiceError {
                    python_type: e.python_type(),
                    message: e.to_string(),
                })
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(port: u16) -> WireAddr {
        WireAddr::Tcp {
            host: "127.0.0.1".into(),
            port,
        }
    }

    #[tokio::test]
    async fn unknown_and_missing_keywords_are_type_errors() {
        let r = Registry::default();
        let stop = CancellationToken::new();
        let kw = |ks: &[&str]| -> StrMap {
            ks.iter()
                .map(|k| ((*k).to_owned(), Value::from("x")))
                .collect()
        };
        let e = r
            .call("find_actor", &kw(&["name", "nmae"]), &stop)
            .await
            .unwrap_err();
        assert_eq!(e.python_type(), "TypeError");
        assert_eq!(
            e.to_string(),
            "find_actor() got an unexpected keyword argument 'nmae'"
        );
        let e = r.call("find_actor", &kw(&[]), &stop).await.unwrap_err();
        assert_eq!(
            (e.python_type(), e.to_string().as_str()),
            (
                "TypeError",
                "find_actor() missing required keyword argument 'name'"
            )
        );
        assert_eq!(
            r.call("find_actor", &kw(&["name"]), &stop).await,
            Ok(Value::Nil)
        );
    }

    #[test]
    fn an_address_moves_to_its_new_owner() {
        let r = Registry::default();
        let a = Uid::new("a", "1");
        let b = Uid::new("b", "2");
        r.register(a.clone(), tcp(1));
        r.register(b.clone(), tcp(1));
        assert_eq!(r.find("a"), None);
        assert_eq!(r.find("b"), Some(vec![tcp(1)]));
        assert_eq!(r.find("2"), Some(vec![tcp(1)]), "lookup by uuid too");
    }

    #[tokio::test]
    async fn wait_for_returns_once_registered() {
        let r = std::sync::Arc::new(Registry::default());
        let stop = CancellationToken::new();
        let r2 = r.clone();
        let s2 = stop.clone();
        let waiter = tokio::spawn(async move { r2.wait_for("late", &s2).await });
        r.register(Uid::new("late", "x"), tcp(9));
        assert_eq!(waiter.await.unwrap(), Some(vec![tcp(9)]));
    }
}
