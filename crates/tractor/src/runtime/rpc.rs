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
use crate::msg::{ErrorMsg, FuncType, RawPayload, StrMap, payload};

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

/// A served call's keyword arguments, as they arrived.
///
/// On the wire path they stay the msgpack map's bytes (a slice of the
/// frame) until the function's wrapper deserializes them straight into its
/// argument struct: no [`Value`](crate::msg::Value) tree per call. A `Start` the general
/// decoder read (a malformed-looking one, or one built in process) brings
/// a dynamic map instead.
#[derive(Debug)]
pub enum Kwargs {
    /// The msgpack map with string keys, as sent.
    Raw(RawPayload),
    /// A dynamic map.
    Map(StrMap),
}

impl Kwargs {
    /// The keyword names, in the order sent.
    fn names(&self) -> Vec<&str> {
        match self {
            Kwargs::Map(m) => m.iter().map(|(k, _)| k.as_str()).collect(),
            // The reader only keeps a map with string keys raw.
            Kwargs::Raw(r) => r.as_raw().map_keys().unwrap_or_default(),
        }
    }

    /// The arguments as a dynamic map (for the runtime's own `self.*`
    /// functions, which read them by name).
    pub fn into_map(self) -> StrMap {
        match self {
            Kwargs::Map(m) => m,
            Kwargs::Raw(r) => r.as_raw().to_kwargs(),
        }
    }
}

/// The signature every registered function is lowered to: its keyword
/// arguments in, its return value out already encoded (what goes in the
/// `Return`'s `pld`).
pub type RpcCall = fn(Caller, Kwargs) -> BoxFuture<Result<RawPayload, RpcFailure>>;

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

/// Decodes keyword arguments for a generated wrapper: `params` are the
/// function's parameter names; any other keyword is refused (see
/// [`check_kwargs`]).
#[doc(hidden)]
pub fn args_from_kwargs<T: DeserializeOwned>(
    func: &str,
    params: &[&str],
    kwargs: Kwargs,
) -> Result<T, RpcFailure> {
    let type_error = |message: String| RpcFailure::Raised {
        type_name: "TypeError".into(),
        message,
        tb: String::new(),
    };
    check_names(func, params, &kwargs.names()).map_err(type_error)?;
    let args = match kwargs {
        Kwargs::Raw(r) => r.decode(),
        Kwargs::Map(m) => payload::from_kwargs(m),
    };
    args.map_err(|e| {
        let text = e.to_string();
        if is_integer_range_error(&text) {
            // Python's ints are unbounded; ours are not.
            RpcFailure::Raised {
                type_name: "OverflowError".into(),
                message: format!(
                    "bad arguments for {func}(): an integer does not fit the parameter's Rust type: {text}"
                ),
                tb: String::new(),
            }
        } else {
            type_error(format!("bad arguments for {func}(): {e}"))
        }
    })
}

/// Checks the keyword arguments of the runtime's own `self.*` functions
/// (`cancel`, `_cancel_task(cid)`, `_actor_info`; the registrar's are
/// checked by its table), as Python's `Actor` methods would.
pub fn check_self_kwargs(func: &str, kwargs: &StrMap) -> Result<(), String> {
    let params: &[&str] = match func {
        "cancel" | "_actor_info" | "_task_tree" => &[],
        "_cancel_task" => &["cid"],
        _ => return Ok(()),
    };
    check_kwargs(func, params, kwargs)
}

/// True for serde's "this integer does not fit that integer type" (e.g.
/// `invalid value: integer `9223372036854775808`, expected i64`).
fn is_integer_range_error(text: &str) -> bool {
    text.contains("invalid value: integer `")
        && ["expected i", "expected u"]
            .iter()
            .any(|t| text.contains(t))
}

/// The exception type name a panic in a served function is reported
/// under: `OverflowError` for Rust's integer-overflow checks (debug
/// builds: "attempt to add with overflow", ...; Python's ints never
/// overflow, so this is the closest Python name), `ZeroDivisionError` for
/// an integer division by zero, `Panic` for everything else.
pub fn panic_type_name(message: &str) -> &'static str {
    if message.starts_with("attempt to ") && message.ends_with(" with overflow") {
        "OverflowError"
    } else if message == "attempt to divide by zero"
        || message == "attempt to calculate the remainder with a divisor of zero"
    {
        "ZeroDivisionError"
    } else {
        "Panic"
    }
}

/// Refuses keyword arguments a function does not take, as Python does:
/// `add(x=1, y=2, z=3)` is `TypeError: add() got an unexpected keyword
/// argument 'z'` (every unknown one is named, in the order sent), instead
/// of a misspelled argument passing unnoticed. Shared by the typed
/// `#[tractor::rpc]` wrappers and the runtime's own `self.*` functions.
pub fn check_kwargs(func: &str, params: &[&str], kwargs: &StrMap) -> Result<(), String> {
    let names: Vec<&str> = kwargs.iter().map(|(k, _)| k.as_str()).collect();
    check_names(func, params, &names)
}

/// [`check_kwargs`] for the keyword names alone.
fn check_names(func: &str, params: &[&str], names: &[&str]) -> Result<(), String> {
    let unknown: Vec<String> = names
        .iter()
        .filter(|k| !params.contains(k))
        .map(|k| format!("'{k}'"))
        .collect();
    match unknown.len() {
        0 => Ok(()),
        1 => Err(format!(
            "{func}() got an unexpected keyword argument {}",
            unknown[0]
        )),
        _ => Err(format!(
            "{func}() got unexpected keyword arguments {}",
            unknown.join(", ")
        )),
    }
}

/// Lowers a plain return value.
#[doc(hidden)]
pub fn ok_value<T: Serialize>(v: T) -> Result<RawPayload, RpcFailure> {
    RawPayload::encoded(&v).map_err(|e| RpcFailure::Raised {
        type_name: "MsgTypeError".into(),
        message: format!("return value cannot be encoded: {e}"),
        tb: String::new(),
    })
}

/// Lowers a `Result` return value, keeping the error's type name and
/// relaying remote errors unchanged.
#[doc(hidden)]
pub fn result_value<T: Serialize, E: Into<BoxError>>(
    r: Result<T, E>,
) -> Result<RawPayload, RpcFailure> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::Value;

    fn kw(names: &[&str]) -> StrMap {
        names
            .iter()
            .map(|n| ((*n).to_owned(), Value::from(1)))
            .collect()
    }

    #[test]
    fn unknown_keywords_are_named_like_python_names_them() {
        assert_eq!(check_kwargs("add", &["x", "y"], &kw(&["x", "y"])), Ok(()));
        assert_eq!(
            check_kwargs("add", &["x", "y"], &kw(&["x", "y", "z"])).unwrap_err(),
            "add() got an unexpected keyword argument 'z'"
        );
        assert_eq!(
            check_kwargs("add", &["x", "y"], &kw(&["w", "x", "z"])).unwrap_err(),
            "add() got unexpected keyword arguments 'w', 'z'"
        );
    }

    #[test]
    fn the_runtimes_own_functions_refuse_unknown_keywords() {
        assert_eq!(check_self_kwargs("cancel", &kw(&[])), Ok(()));
        assert_eq!(
            check_self_kwargs("cancel", &kw(&["now"])).unwrap_err(),
            "cancel() got an unexpected keyword argument 'now'"
        );
        assert_eq!(check_self_kwargs("_cancel_task", &kw(&["cid"])), Ok(()));
        assert!(check_self_kwargs("_cancel_task", &kw(&["cid", "x"])).is_err());
        assert_eq!(check_self_kwargs("_task_tree", &kw(&[])), Ok(()));
        assert!(check_self_kwargs("_task_tree", &kw(&["depth"])).is_err());
        assert_eq!(check_self_kwargs("find_actor", &kw(&["anything"])), Ok(()));
    }

    #[test]
    fn overflow_panics_are_named_like_python_names_them() {
        assert_eq!(
            panic_type_name("attempt to add with overflow"),
            "OverflowError"
        );
        assert_eq!(
            panic_type_name("attempt to multiply with overflow"),
            "OverflowError"
        );
        assert_eq!(
            panic_type_name("attempt to divide by zero"),
            "ZeroDivisionError"
        );
        assert_eq!(panic_type_name("index out of bounds"), "Panic");
    }

    #[test]
    fn an_integer_too_big_for_its_parameter_is_an_overflow_error() {
        let kw = vec![("x".to_owned(), Value::from(u64::MAX))];
        let Err(RpcFailure::Raised {
            type_name, message, ..
        }) = args_from_kwargs::<Add>("add", &["x"], Kwargs::Map(kw))
        else {
            panic!("u64::MAX fit an i64");
        };
        assert_eq!(type_name, "OverflowError", "{message}");
        assert!(message.contains("18446744073709551615"), "{message}");
        // A wrong kind is still a TypeError.
        let kw = vec![("x".to_owned(), Value::from(1.5))];
        let Err(RpcFailure::Raised { type_name, .. }) =
            args_from_kwargs::<Add>("add", &["x"], Kwargs::Map(kw))
        else {
            panic!("a float fit an i64");
        };
        assert_eq!(type_name, "TypeError");
    }

    #[derive(Debug, serde::Deserialize)]
    struct Add {
        x: i64,
    }

    /// What a wrapper answers for `kw`, as (type name, message).
    fn answer(kw: Kwargs) -> Result<i64, (String, String)> {
        args_from_kwargs::<Add>("add", &["x"], kw)
            .map(|a| a.x)
            .map_err(|f| match f {
                RpcFailure::Raised {
                    type_name, message, ..
                } => (type_name, message),
                RpcFailure::Relay(m) => panic!("relayed {m:?}"),
            })
    }

    #[test]
    fn raw_keyword_arguments_get_the_answers_a_dynamic_map_gets() {
        let cases: Vec<StrMap> = vec![
            vec![("x".to_owned(), Value::from(5))],
            vec![("x".to_owned(), Value::from(u64::MAX))],
            vec![("x".to_owned(), Value::from(1.5))],
            vec![("x".to_owned(), Value::from("five"))],
            vec![
                ("x".to_owned(), Value::from(1)),
                ("z".to_owned(), Value::Nil),
            ],
            vec![],
        ];
        for map in cases {
            let raw = RawPayload::from_value(&Value::Map(
                map.iter()
                    .map(|(k, v)| (Value::from(k.as_str()), v.clone()))
                    .collect(),
            ));
            assert_eq!(
                answer(Kwargs::Raw(raw)),
                answer(Kwargs::Map(map.clone())),
                "{map:?}"
            );
        }
        assert_eq!(
            answer(Kwargs::Map(vec![("x".into(), Value::from(5))])),
            Ok(5)
        );
    }

    #[test]
    fn a_typed_wrapper_refuses_an_unknown_keyword_as_a_type_error() {
        let Err(RpcFailure::Raised {
            type_name, message, ..
        }) = args_from_kwargs::<Add>("add", &["x"], Kwargs::Map(kw(&["x", "z"])))
        else {
            panic!("an unknown keyword was accepted");
        };
        assert_eq!(type_name, "TypeError");
        assert_eq!(message, "add() got an unexpected keyword argument 'z'");
    }
}
