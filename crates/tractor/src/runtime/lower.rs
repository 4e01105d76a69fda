//! How a `#[tractor::rpc]` / `#[tractor::context]` function's return value
//! goes on the wire, decided by its *type*, not by how it is spelled.
//!
//! The macro only sees tokens: `-> MyRes<T>` (with `type MyRes<T> =
//! Result<T, E>`) does not look like a `Result`. So the generated code
//! wraps the value in [`Ret`] and asks the compiler through autoref
//! specialisation: a method on `Ret<Result<T, E>>` is found before the one
//! on `&Ret<T>`, so any `core::result::Result`, whatever it is spelled,
//! lowers as a value or an error ([`ResultTag`]) and anything else as a
//! value ([`PlainTag`]).
//!
//! The typed `Output` of the generated call struct cannot be computed that
//! way (it is a type, chosen before type checking), so the macro uses the
//! last path segment (`Result<T, ..>` gives `T`) or the explicit
//! `output = T` option; [`ResultTag::spelled_plain`] and
//! [`PlainTag::spelled_result`] turn a wrong guess into a compile error
//! that says to add `output = T`.

use serde::Serialize;

use crate::errors::BoxError;
use crate::msg::RawPayload;
use crate::runtime::rpc::{RpcFailure, ok_value, result_value};

/// A function's return value, wrapped for method dispatch.
#[derive(Debug)]
pub struct Ret<T>(pub T);

/// The return value is a `Result`: `Ok` is the value, `Err` the error.
#[derive(Debug, Clone, Copy)]
pub struct ResultTag;

/// The return value is a plain value.
#[derive(Debug, Clone, Copy)]
pub struct PlainTag;

/// Picked (without autoref) when the value is a `Result`.
pub trait ResultKind {
    /// The lowering to use.
    fn tractor_kind(&self) -> ResultTag {
        ResultTag
    }
}

impl<T, E> ResultKind for Ret<Result<T, E>> {}

/// Picked (through autoref) for every other value.
pub trait PlainKind {
    /// The lowering to use.
    fn tractor_kind(&self) -> PlainTag {
        PlainTag
    }
}

impl<T> PlainKind for &Ret<T> {}

/// Implemented by no type: a bound on it is the compile error for a
/// `Result` spelled through an alias without `output = T`.
///
/// ```compile_fail
/// type MyRes<T> = Result<T, std::io::Error>;
///
/// #[tractor::rpc] // needs `output = u32`: `MyRes<u32>` is a `Result`
/// async fn halve(n: u32) -> MyRes<u32> {
///     Ok(n / 2)
/// }
/// # fn main() {}
/// ```
///
/// With the option it compiles, and `halve { .. }` is typed `u32`:
///
/// ```
/// type MyRes<T> = Result<T, std::io::Error>;
///
/// #[tractor::rpc(output = u32)]
/// async fn halve(n: u32) -> MyRes<u32> {
///     Ok(n / 2)
/// }
/// fn typed<F: tractor::RemoteFn<Output = u32>>(_: F) {}
/// # fn main() { typed(halve { n: 4 }); }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is a `Result` spelled through an alias: add `output = T` (its `Ok` type) to the attribute",
    label = "the return type is a `Result` under another name"
)]
pub trait AliasNeedsOutputOption {}

/// Implemented by no type: a bound on it is the compile error for a
/// return type spelled `..::Result<T>` that is not `core::result::Result`.
///
/// ```compile_fail
/// #[derive(serde::Serialize)]
/// struct Result<T>(T);
///
/// #[tractor::rpc] // the `Output` would be `u32`, the value is a struct
/// async fn wrapped(n: u32) -> Result<u32> {
///     Result(n)
/// }
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is spelled `Result` but is not `core::result::Result`: add `output = {Self}` to the attribute",
    label = "not a `core::result::Result`"
)]
pub trait NotAResult {}

impl ResultTag {
    /// Lowers `Ok` as the value and `Err` as a remote error.
    pub fn lower<T: Serialize, E: Into<BoxError>>(
        self,
        r: Result<T, E>,
    ) -> Result<RawPayload, RpcFailure> {
        result_value(r)
    }

    /// The macro read the return type as a `Result`: right.
    pub fn spelled_result<R: ?Sized>(self) {}

    /// The macro read the return type as a plain value: wrong.
    pub fn spelled_plain<R: ?Sized + AliasNeedsOutputOption>(self) {}
}

impl PlainTag {
    /// Lowers the value as it is.
    pub fn lower<T: Serialize>(self, v: T) -> Result<RawPayload, RpcFailure> {
        ok_value(v)
    }

    /// The macro read the return type as a `Result`: wrong.
    pub fn spelled_result<R: ?Sized + NotAResult>(self) {}

    /// The macro read the return type as a plain value: right.
    pub fn spelled_plain<R: ?Sized>(self) {}
}
