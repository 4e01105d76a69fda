//! `current_actor()` answers for the actor of the calling thread or
//! runtime only, and forgets an actor that has exited.

use tractor::testing::session_vars;

/// The name of the current actor as a `spawn_blocking` thread sees it.
async fn blocking_view() -> Option<String> {
    tokio::task::spawn_blocking(|| tractor::current_actor().map(|a| a.name().to_owned()))
        .await
        .expect("the blocking task runs")
}

#[tractor::rpc]
async fn name_seen_by_a_blocking_thread() -> Option<String> {
    blocking_view().await
}

#[tractor::test(timeout = 30)]
async fn a_blocking_thread_of_an_actor_sees_that_actor() -> Result<(), tractor::Error> {
    assert_eq!(
        blocking_view().await,
        Some("root".to_owned()),
        "the root's own blocking thread"
    );
    tractor::open_nursery(|n| async move {
        let p = n
            .start_actor("worker", &[name_seen_by_a_blocking_thread::NS])
            .await?;
        // For a thread actor its blocking threads share the process with
        // the root: they must still see the worker.
        assert_eq!(
            p.run(name_seen_by_a_blocking_thread {}).await?,
            Some("worker".to_owned())
        );
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[test]
fn after_the_root_exits_there_is_no_current_actor() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rv = session_vars();
    let bind_dir = rv.bind_dir.clone();
    let cfg = tractor::RootConfig::named("short-lived").with_vars(rv);
    rt.block_on(tractor::run_root(cfg, || async {
        assert_eq!(
            tractor::current_actor().map(|a| a.name().to_owned()),
            Some("short-lived".to_owned())
        );
        Ok(())
    }))
    .expect("the root runs");
    assert!(tractor::current_actor().is_none(), "on this thread");
    let in_rt = rt.block_on(async {
        let here = tractor::current_actor().is_none();
        let blocking = tokio::task::spawn_blocking(|| tractor::current_actor().is_none())
            .await
            .unwrap();
        (here, blocking)
    });
    assert_eq!(
        in_rt,
        (true, true),
        "in the root's runtime and its blocking threads"
    );
    let other_thread = std::thread::spawn(|| tractor::current_actor().is_none())
        .join()
        .unwrap();
    assert!(other_thread, "on another thread");
    let _ = std::fs::remove_dir_all(bind_dir);
}
