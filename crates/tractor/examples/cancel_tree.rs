//! A three-level tree (root → manager → 2 workers) that cancels cleanly:
//! the root cancels the manager, which cancels its workers first.
//!
//! ```text
//! cargo run -p tractor --example cancel_tree
//! ```

/// Starts `workers` idle workers and serves until cancelled.
#[tractor::rpc]
async fn manage(workers: u32) -> Result<(), tractor::Error> {
    tractor::open_nursery(|n| async move {
        for i in 0..workers {
            n.start_actor(&format!("worker-{i}"), &[]).await?;
        }
        std::future::pending::<()>().await;
        Ok(())
    })
    .await
}

#[tractor::main]
async fn main() -> Result<(), tractor::Error> {
    tractor::open_nursery(|n| async move {
        let manager = n.start_actor("manager", &[manage::NS]).await?;
        let running = manager.run(manage { workers: 2 });
        let cancel = async {
            for i in 0..2 {
                tractor::wait_for_actor(&format!("worker-{i}")).await?;
            }
            println!("tree up: root -> manager -> worker-0, worker-1");
            manager.cancel_actor().await?;
            Ok::<_, tractor::Error>(())
        };
        let (ran, cancelled) = tokio::join!(running, cancel);
        cancelled?;
        // The manager's call ends because its actor was cancelled.
        println!(
            "manager's call ended: {}",
            match ran {
                Ok(()) => "returned".to_string(),
                Err(e) => e.to_string(),
            }
        );
        Ok(())
    })
    .await?;
    println!("all actors exited; escalations: none needed");
    Ok(())
}
