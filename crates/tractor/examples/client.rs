//! A separate program that finds `service` through the registrar (waiting
//! for it to appear) and calls it by name.
//!
//! ```text
//! cargo run -p tractor --example client
//! ```

use tractor::msg::Value;

#[tractor::main(name = "client")]
async fn main() -> Result<(), tractor::Error> {
    let portal = tractor::wait_for_actor("service").await?;
    let reply = portal
        .run_from_ns(
            "service",
            "echo",
            vec![("text".into(), Value::from("hello"))],
        )
        .await?;
    println!("{}", reply.as_str().unwrap_or_default());
    Ok(())
}
