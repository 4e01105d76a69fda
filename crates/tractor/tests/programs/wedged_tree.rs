//! A root whose only child wedges its only thread, so a graceful teardown
//! would take two grace periods: the program `tests/signals.rs` signals.
//! Prints `ready: the child is wedged` once it is.

use std::path::PathBuf;

/// Blocks its actor's only thread (after saying so on `notify`): only
/// SIGKILL ends it.
#[tractor::rpc]
async fn wedge(notify: PathBuf) {
    let s = std::os::unix::net::UnixDatagram::unbound().expect("socket");
    s.send_to(b"wedged", &notify).expect("notify");
    loop {
        std::thread::park();
    }
}

fn main() {
    tractor::maybe_run_child();
    let mut rv = tractor::RuntimeVars::from_env().expect("envelope");
    rv.spawn_method = tractor::SpawnMethod::Process;
    rv.cancel_grace_secs = 30.0;
    rv.child_args = Vec::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cfg = tractor::RootConfig::named("root").with_vars(rv);
    let out = rt.block_on(tractor::run_root(cfg, || async {
        let dir = tempfile::tempdir()?;
        let notify = dir.path().join("wedged.sock");
        let wedged = tokio::net::UnixDatagram::bind(&notify)?;
        tractor::open_nursery(|n| async move {
            let stuck = n.start_actor("stuck", &[wedge::NS]).await?;
            let call = stuck.run(wedge { notify });
            let ready = async {
                let mut buf = [0u8; 16];
                wedged.recv(&mut buf).await?;
                println!("ready: the child is wedged");
                std::future::pending::<Result<(), tractor::Error>>().await
            };
            tokio::select! {
                r = call => r,
                r = ready => r,
            }
        })
        .await
    }));
    drop(rt);
    match out {
        Err(tractor::Error::Cancelled(why)) => {
            println!("cancelled: {why}");
            std::process::exit(130)
        }
        other => {
            println!("ended: {other:?}");
            std::process::exit(1)
        }
    }
}
