//! A `#[tractor::test]`-style run (through the same harness function) whose
//! body leaks a thread actor: `tests/harness.rs` checks that the harness
//! fails it. Run it with `--test-threads=1` (the harness refuses several
//! tests per process).

/// Keeps the calling actor alive forever: a leak the harness must see.
#[tractor::rpc]
async fn leak_myself() {
    static KEPT: std::sync::Mutex<Vec<tractor::Actor>> = std::sync::Mutex::new(Vec::new());
    if let Some(me) = tractor::current_actor() {
        KEPT.lock().unwrap().push(me);
    }
}

fn main() {
    tractor::testing::run_test(
        "leaky_thread_actor",
        30.0,
        Some("uds"),
        Some("thread"),
        || async {
            tractor::open_nursery(|n| async move {
                let p = n.start_actor("leaky", &[leak_myself::NS]).await?;
                p.run(leak_myself {}).await?;
                p.cancel_actor().await?;
                Ok(())
            })
            .await
        },
    );
}
