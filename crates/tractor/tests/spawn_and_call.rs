//! Spawn a process actor, call a function in it, cancel it.

#[tractor::rpc]
async fn add(x: i64, y: i64) -> i64 {
    x + y
}

#[tractor::test(timeout = 30)]
async fn spawn_call_cancel() -> Result<(), tractor::Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("adder", &[add::NS]).await?;
        assert_eq!(p.run(add { x: 1, y: 2 }).await?, 3);
        assert!(p.cancel_actor().await?, "cancel acknowledged");
        Ok(())
    })
    .await
}
