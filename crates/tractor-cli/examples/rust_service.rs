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

#[tractor::main(name = "rustservice", enable = "rust_service")]
async fn main() -> Result<(), tractor::Error> {
    println!("rust service ready");
    std::future::pending::<()>().await;
    Ok(())
}
