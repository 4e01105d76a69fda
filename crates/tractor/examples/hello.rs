//! Hello world: spawn an actor, call a function in it, get the answer back.
//!
//! ```text
//! cargo run -p tractor --example hello
//! ```

/// Runs in the spawned actor.
#[tractor::rpc]
async fn greet(name: String) -> String {
    format!("Hello, {name}! (from pid {})", std::process::id())
}

#[tractor::main]
async fn main() -> Result<(), tractor::Error> {
    tractor::open_nursery(|n| async move {
        let portal = n.start_actor("greeter", &[greet::NS]).await?;
        let reply = portal
            .run(greet {
                name: "world".into(),
            })
            .await?;
        println!("{reply}");
        portal.cancel_actor().await?;
        Ok(())
    })
    .await
}
