//! The function table: what an actor can be asked to run, by
//! `(namespace, name)`.
//!
//! `#[tractor::rpc]` adds an [`RpcFnDef`] to [`RPC_FNS`] at link time (a
//! `linkme` distributed slice: no constructors, no registration calls), so
//! every function compiled into the program is known in every process that
//! runs it. Only namespaces an actor *enabled* are callable; everything
//! else is an error reply, never a crash and never arbitrary code.

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::{BoxError, Error, chain_text, type_name_of};
use crate::msg::{ErrorMsg, FuncType, StrMap, Value, payload};

use super::cancel::CancelScope;
use super::portal::Caller;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Why a call failed, as the callee packs it.
#[derive(Debug)]
pub enum RpcFailure {
    /// An error raised by the function.
    Raised {
        /// Its type's short name.
        type_name: String,
        /// Its `Display`.
        message: String,
        /// Its source chain / backtrace text.
        tb: String,
    },
    /// A remote error passing through (relay it).
    Relay(Box<ErrorMsg>),
}

/// The signature every registered function is lowered to.
pub type RpcCall = fn(Caller, StrMap) -> BoxFuture<Result<Value, RpcFailure>>;

/// One registered function.
#[derive(Debug)]
pub struct RpcFnDef {
    /// Namespace (by default the Rust module path with `::` as `.`).
    pub ns: &'static str,
    /// Function name.
    pub name: &'static str,
    /// How it answers.
    pub functype: FuncType,
    /// Context functions: buffer incoming stream items without bound.
    pub allow_overruns: bool,
    /// The lowered function.
    pub call: RpcCall,
}

/// Every function registered with `#[tractor::rpc]` in this program.
#[linkme::distributed_slice]
pub static RPC_FNS: [RpcFnDef];

/// Looks up a function.
pub fn lookup(ns: &str, name: &str) -> Option<&'static RpcFnDef> {
    RPC_FNS.iter().find(|d| d.ns == ns && d.name == name)
}

/// True when some function is registered in `ns`.
pub fn namespace_exists(ns: &str) -> bool {
    RPC_FNS.iter().any(|d| d.ns == ns)
}

/// A typed remote call: the argument struct `#[tractor::rpc]` generates
/// (named like the function) implements this, so
/// `portal.run(add { x: 1, y: 2 })` is checked at compile time.
pub trait RemoteFn: Serialize + Send {
    /// The namespace.
    const NS: &'static str;
    /// The function name.
    const NAME: &'static str;
    /// What the call returns.
    type Output: DeserializeOwned + Send;
}

/// Decodes keyword arguments for a generated wrapper.
#[doc(hidden)]
pub fn args_from_kwargs<T: DeserializeOwned>(func: &str, kwargs: StrMap) -> Result<T, RpcFailure> {
    payload::from_kwargs(kwargs).map_err(|e| RpcFailure::Raised {
        type_name: "TypeError".into(),
        message: format!("bad arguments for {func}(): {e}"),
        tb: String::new(),
    })
}

/// Lowers a plain return value.
#[doc(hidden)]
pub fn ok_value<T: Serialize>(v: T) -> Result<Value, RpcFailure> {
    payload::to_value(&v).map_err(|e| RpcFailure::Raised {
        type_name: "MsgTypeError".into(),
        message: format!("return value cannot be encoded: {e}"),
        tb: String::new(),
    })
}

/// Lowers a `Result` return value, keeping the error's type name and
/// relaying remote errors unchanged.
#[doc(hidden)]
pub fn result_value<T: Serialize, E: Into<BoxError>>(r: Result<T, E>) -> Result<Value, RpcFailure> {
    match r {
        Ok(v) => ok_value(v),
        Err(e) => Err(failure_from::<E>(e.into())),
    }
}

fn failure_from<E>(boxed: BoxError) -> RpcFailure {
    let boxed = match boxed.downcast::<Error>() {
        Ok(err) => return failure_from_error(*err),
        Err(b) => b,
    };
    let mut type_name = type_name_of::<E>();
    if type_name == "Error" || type_name.starts_with("Box") {
        // anyhow::Error or a boxed error: name what is inside if we can.
        type_name = "Error".into();
    }
    RpcFailure::Raised {
        message: boxed.to_string(),
        tb: chain_text(boxed.as_ref()),
        type_name,
    }
}

/// Lowers a tractor [`Error`] (remote errors are relayed).
#[doc(hidden)]
pub fn failure_from_error(err: Error) -> RpcFailure {
    match err {
        Error::Remote(r) => RpcFailure::Relay(Box::new(r.msg().clone())),
        other => {
            let m = crate::errors::pack_any(&crate::msg::Uid::new("", ""), &other, None);
            RpcFailure::Raised {
                type_name: m.src_type_str,
                message: m.message.unwrap_or_default(),
                tb: m.tb_str,
            }
        }
    }
}

/// The cancel scope of the running RPC task (for generated wrappers that
/// take a `Caller`).
#[doc(hidden)]
pub fn current_scope() -> Option<CancelScope> {
    CancelScope::current()
}
