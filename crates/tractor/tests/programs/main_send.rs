//! A `#[tractor::main]` body whose future is `Send`: it runs as a task of
//! the runtime. Calls a child actor, then prints whether it ran in a task;
//! with the argument `panic` it panics after the call instead.

mod work {
    /// Doubles `n`.
    #[tractor::rpc]
    pub async fn double(n: i64) -> i64 {
        n * 2
    }
}

#[tractor::main(name = "sendable")]
async fn main() -> Result<(), tractor::Error> {
    let panic = std::env::args().nth(1).as_deref() == Some("panic");
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("doubler", &[work::double::NS]).await?;
        let four: i64 = p.run(work::double { n: 2 }).await?;
        println!("the child answered {four}");
        if panic {
            panic!("the main body gives up");
        }
        println!("in a task: {}", tokio::task::try_id().is_some());
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}
