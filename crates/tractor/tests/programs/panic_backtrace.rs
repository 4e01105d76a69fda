//! A tree whose child actor (a process: it inherits this program's
//! environment, `RUST_BACKTRACE` included) panics in an RPC function; the
//! program prints the error reply's traceback text between two marker
//! lines. `tests/remote_errors.rs` runs it with and without
//! `RUST_BACKTRACE`. Run it with `--test-threads=1` (the harness refuses
//! several tests per process).

#[tractor::rpc]
async fn explode() -> i64 {
    panic!("boom for the backtrace test");
}

fn main() {
    tractor::testing::run_test(
        "panic_backtrace",
        30.0,
        Some("uds"),
        Some("process"),
        || async {
            tractor::open_nursery(|n| async move {
                let p = n.start_actor("fragile", &[explode::NS]).await?;
                let e = p.run(explode {}).await.unwrap_err();
                let tractor::Error::Remote(r) = &e else {
                    panic!("expected a remote error, got {e}");
                };
                println!("TRACEBACK-BEGIN\n{}\nTRACEBACK-END", r.traceback());
                p.cancel_actor().await?;
                Ok(())
            })
            .await
        },
    );
}
