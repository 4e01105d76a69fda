//! Debug mode: root → child → grandchild, and the grandchild panics.
//!
//! Each actor the error passes through pauses with a crash card holding
//! the tree's terminal lock (grandchild, then child with the relayed
//! error, then the root): press `c` to let the error go on, `q` to quit
//! the tree, `t` to see the task tree again. While a card is up, attach a
//! debugger to the actor it names (`rust-gdb -p PID`).
//!
//! ```text
//! cargo run -p tractor --example debug_crash
//! cargo run -p tractor --example debug_crash -- pause   # tractor::pause!() in the child
//! ```

/// The grandchild's only function: it panics.
#[tractor::rpc]
async fn explode() -> Result<(), tractor::Error> {
    panic!("the grandchild blew up");
}

/// The child's function: starts the grandchild and calls it.
#[tractor::rpc]
async fn spawn_grandchild() -> Result<(), tractor::Error> {
    tractor::open_nursery(|n| async move {
        let grandchild = n.start_actor("grandchild", &[explode::NS]).await?;
        grandchild.run(explode {}).await?;
        Ok(())
    })
    .await
}

/// The child's function in `pause` mode: pauses, then answers.
#[tractor::rpc]
async fn pause_then_answer() -> Result<u32, tractor::Error> {
    tractor::pause!();
    Ok(42)
}

#[tractor::main(debug_mode = true)]
async fn main() -> Result<(), tractor::Error> {
    let pause = std::env::args().nth(1).as_deref() == Some("pause");
    tractor::open_nursery(|n| async move {
        let child = n.start_actor("child", &[spawn_grandchild::NS]).await?;
        if pause {
            let answer = child.run(pause_then_answer {}).await?;
            println!("resumed: the child answered {answer}");
            return child.cancel_actor().await.map(drop);
        }
        child.run(spawn_grandchild {}).await
    })
    .await
}
