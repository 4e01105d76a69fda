//! A root that would run forever with one child actor, under
//! `#[tractor::main(timeout = 1)]`: the tree must be cancelled after a
//! second. Prints `ready: the child is up` once the child runs.

#[tractor::main(name = "timed", timeout = 1)]
async fn main() -> Result<(), tractor::Error> {
    tractor::open_nursery(|n| async move {
        let _child = n.start_actor("sleeper", &[]).await?;
        println!("ready: the child is up");
        std::future::pending::<Result<(), tractor::Error>>().await
    })
    .await
}
