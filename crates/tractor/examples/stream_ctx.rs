//! A context with a bidirectional stream: the child squares every number
//! the root sends, until the root closes its side; then it returns how
//! many it squared.
//!
//! ```text
//! cargo run -p tractor --example stream_ctx
//! ```

/// The child's end of the dialog.
#[tractor::context]
async fn squarer(ctx: tractor::Context, label: String) -> Result<u64, tractor::Error> {
    ctx.started(&format!("{label} ready")).await?;
    let mut stream = ctx.open_stream::<i64>();
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
        let (ctx, greeting): (_, String) = portal
            .open_context(squarer {
                label: "squarer".into(),
            })
            .await?;
        println!("{greeting}");
        let mut stream = ctx.open_stream::<i64>();
        for x in 1..=5 {
            stream.send(&x).await?;
            let sq = stream.recv().await?.expect("one answer per number");
            println!("{x}^2 = {sq}");
        }
        stream.close().await?;
        let count: u64 = ctx.result().await?;
        println!("the squarer answered {count} times");
        portal.cancel_actor().await?;
        Ok(())
    })
    .await
}
