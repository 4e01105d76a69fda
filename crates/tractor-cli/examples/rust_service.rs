//! A Rust actor for Python peers: registers (as `rustservice`) with the
//! registrar in its envelope — a Python one, in the interop tests — and
//! offers plain functions and a streaming context in the namespace
//! `rust_service` (a name Python can import a stub module under).

use std::fmt;

/// Adds two numbers.
#[tractor::rpc]
async fn add(x: i64, y: i64) -> i64 {
    x + y
}

/// A Rust error type, to see its name arrive in Python.
#[derive(Debug)]
struct RustError(String);

impl fmt::Display for RustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rust says no: {}", self.0)
    }
}
impl std::error::Error for RustError {}

/// Always fails.
#[tractor::rpc]
async fn fail(why: String) -> Result<(), RustError> {
    Err(RustError(why))
}

/// Callee end of a context: started(greeting), echo each item, return
/// the count.
#[tractor::context]
async fn rs_echo(
    ctx: tractor::Context<tractor::Callee<String, tractor::msg::Value>>,
    greeting: String,
) -> Result<u64, tractor::Error> {
    ctx.started(&greeting).await?;
    let mut stream = ctx.open_stream();
    let mut n = 0;
    while let Some(v) = stream.recv().await? {
        stream.send(&v).await?;
        n += 1;
    }
    Ok(n)
}

/// A context with a typed payload spec (Python's `pld_spec=int`): it
/// starts with `0`, answers each `i64` item with the running sum, and
/// returns the total. An item that is not an `i64` is refused with a
/// `MsgTypeError` to its sender.
#[tractor::context]
async fn rs_sum(ctx: tractor::Context<tractor::Callee<i64, i64>>) -> Result<i64, tractor::Error> {
    ctx.started(&0).await?;
    let mut stream = ctx.open_stream();
    let mut sum = 0;
    while let Some(x) = stream.recv().await? {
        sum += x;
        stream.send(&sum).await?;
    }
    Ok(sum)
}

#[tractor::main(name = "rustservice", enable = "rust_service")]
async fn main() -> Result<(), tractor::Error> {
    println!("rust service ready");
    std::future::pending::<()>().await;
    Ok(())
}
