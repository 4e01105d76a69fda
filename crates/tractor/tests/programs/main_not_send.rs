//! A `#[tractor::main]` body that holds an `Rc` across an `await` (so its
//! future is not `Send`) still compiles and runs, inside `block_on`.
//! Prints whether it ran in a task.

use std::rc::Rc;

#[tractor::main(name = "local")]
async fn main() -> Result<(), tractor::Error> {
    let here = Rc::new(std::process::id());
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("idle", &[]).await?;
        p.cancel_actor().await?;
        Ok(())
    })
    .await?;
    println!("pid {here}, in a task: {}", tokio::task::try_id().is_some());
    Ok(())
}
