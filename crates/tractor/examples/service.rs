//! A program that offers a function to other programs: it registers with
//! the registrar in its envelope (or becomes the registrar if none runs)
//! and serves until Ctrl-C. See `client.rs`.
//!
//! ```text
//! cargo run -p tractor --example service
//! ```

/// Answers the client.
#[tractor::rpc]
async fn echo(text: String) -> String {
    format!("service got: {text}")
}

#[tractor::main(name = "service", enable = "service")]
async fn main() -> Result<(), tractor::Error> {
    println!("service ready (namespace {:?})", echo::NS);
    std::future::pending::<()>().await;
    Ok(())
}
