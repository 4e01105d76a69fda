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

#[tractor::rpc]
async fn my_pid() -> u32 {
    std::process::id()
}

#[tractor::test(timeout = 30)]
async fn the_backend_decides_process_or_thread() -> Result<(), tractor::Error> {
    let method = tractor::current_actor()
        .expect("in the root")
        .runtime_vars()
        .spawn_method;
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("where", &[my_pid::NS]).await?;
        let pid = p.run(my_pid {}).await?;
        match method {
            tractor::SpawnMethod::Process => assert_ne!(pid, std::process::id()),
            tractor::SpawnMethod::Thread => assert_eq!(pid, std::process::id()),
        }
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}
