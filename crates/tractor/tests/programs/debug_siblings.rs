//! Two sibling actors crash at once in debug mode, for
//! `tests/debug_crash.rs`: the root starts `left` and `right`, opens a
//! context with each (both are then waiting on their stream), and sends
//! both the word to crash in one go; both panic at (nearly) the same time
//! and queue on the root's terminal lock. The root waits for both
//! results, then fails with the first.

/// Says `started`, waits for one message on the stream, then panics.
#[tractor::context]
async fn crash_on_go(ctx: tractor::Context<tractor::Callee<(), ()>>) -> Result<(), tractor::Error> {
    ctx.started(&()).await?;
    let mut stream = ctx.open_stream();
    stream.recv().await?;
    let me = tractor::current_actor().map(|a| a.name().to_owned());
    panic!("{} blew up", me.unwrap_or_default());
}

#[tractor::main(debug_mode = true)]
async fn main() -> Result<(), tractor::Error> {
    tractor::open_nursery(|n| async move {
        let left = n.start_actor("left", &[crash_on_go::NS]).await?;
        let right = n.start_actor("right", &[crash_on_go::NS]).await?;
        let (l, ()) = left.open_context(crash_on_go {}).await?;
        let (r, ()) = right.open_context(crash_on_go {}).await?;
        let (ls, rs) = (l.open_stream(), r.open_stream());
        let (a, b) = tokio::join!(ls.send(&()), rs.send(&()));
        a?;
        b?;
        println!("both told to crash");
        let (a, b) = tokio::join!(l.result(), r.result());
        a.and(b)
    })
    .await
}
