//! An error raised in a child actor arrives in the parent as a
//! `RemoteActorError` that says where it came from.
//!
//! ```text
//! cargo run -p tractor --example remote_error
//! ```

/// Fails when asked to divide by zero.
#[tractor::rpc]
async fn divide(a: i64, b: i64) -> Result<i64, std::io::Error> {
    if b == 0 {
        return Err(std::io::Error::other(format!("cannot divide {a} by zero")));
    }
    Ok(a / b)
}

#[tractor::main]
async fn main() -> Result<(), tractor::Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("calculator", &[divide::NS]).await?;
        println!("7 / 2 = {}", p.run(divide { a: 7, b: 2 }).await?);
        match p.run(divide { a: 1, b: 0 }).await {
            Err(tractor::Error::Remote(e)) => {
                println!("remote error: {e}");
                println!("  type: {}, from actor: {}", e.src_type(), e.src_uid().name);
            }
            other => println!("unexpected: {other:?}"),
        }
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}
