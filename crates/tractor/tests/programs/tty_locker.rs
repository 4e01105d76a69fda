//! A root actor that takes the terminal lock of another root (the lock
//! server: any tractor root in debug mode), for `tests/tty_lock.rs`.
//!
//! `test_tty_locker NAME`: joins the registrar of its envelope as `NAME`,
//! takes the registrar's lock, prints `NAME holds the lock`, and on
//! SIGUSR2 releases it and prints `NAME released the lock`, then exits 0.
//!
//! `test_tty_locker NAME bad-release`: takes the lock, then sends a
//! `LockRelease` naming another context, and prints the root's answer
//! (`NAME: bad release refused: ERROR`), then exits 0.

use tokio::signal::unix::{SignalKind, signal};

/// Takes the lock with Python's dialog by hand and releases another
/// context's lock.
async fn bad_release(name: &str) -> Result<(), tractor::Error> {
    use tractor::runtime::debug::{LockRelease, lock_stdio_for_peer};
    let portal = tractor::wait_for_actor("lockserver").await?;
    let (ctx, status) = portal
        .open_context(lock_stdio_for_peer {
            subactor_task_uid: ("main".into(), 1),
        })
        .await?;
    println!("{name} holds the lock");
    ctx.open_stream()
        .send(&LockRelease {
            subactor_uid: status.subactor_uid,
            cid: "not-this-context".into(),
        })
        .await?;
    match ctx.result().await {
        Err(e) => println!("{name}: bad release refused: {e}"),
        Ok(s) => println!("{name}: bad release accepted: {s:?}"),
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    tractor::maybe_run_child();
    let name = std::env::args().nth(1).unwrap_or_else(|| "locker".into());
    let bad = std::env::args().nth(2).as_deref() == Some("bad-release");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let out = rt.block_on(async {
        let mut usr2 = signal(SignalKind::user_defined2())?;
        tractor::run_root(tractor::RootConfig::named(&name), || async {
            let me = tractor::current_actor().expect("in the root");
            let server = me.runtime_vars().registrars()[0].clone();
            if bad {
                return bad_release(&name).await;
            }
            let lock = tractor::runtime::debug::acquire_from(&me, &server, "main").await?;
            println!("{name} holds the lock");
            usr2.recv().await;
            lock.release().await?;
            println!("{name} released the lock");
            Ok(())
        })
        .await
    });
    match out {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("test_tty_locker: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
