//! A context with a bidirectional stream: the child squares every number
//! the root sends, until the root closes its side; then it returns how
//! many it squared.
//!
//! ```text
//! cargo run -p tractor --example stream_ctx
//! ```

use tractor::{Callee, Context};

/// The child's end of the dialog: it starts with a `String` and streams
/// `i64`s both ways; the root's side gets the same types from it.
#[tractor::context]
async fn squarer(ctx: Context<Callee<String, i64>>, label: String) -> Result<u64, tractor::Error> {
    ctx.started(&format!("{label} ready")).await?;
    let mut stream = ctx.open_stream();
    let mut count = 0;
    while let Some(x) = stream.recv().await? {
        stream.send(&(x * x)).await?;
        count += 1;
    }
    Ok(count)
}

#[tractor::main]
async fn main() -> Result<(), tractor::Error> {
    tractor::open_nursery(|n| async move {
        let portal = n.start_actor("squarer", &[squarer::NS]).await?;
        let (ctx, greeting) = portal
            .open_context(squarer {
                label: "squarer".into(),
            })
            .await?;
        println!("{greeting}");
        let mut stream = ctx.open_stream();
        for x in 1..=5 {
            stream.send(&x).await?;
            let sq = stream.recv().await?.expect("one answer per number");
            println!("{x}^2 = {sq}");
        }
        stream.close().await?;
        let count = ctx.result().await?;
        println!("the squarer answered {count} times");
        portal.cancel_actor().await?;
        Ok(())
    })
    .await
}
