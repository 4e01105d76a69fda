//! A root actor that takes the terminal lock of another root (the lock
//! server: any tractor root in debug mode), for `tests/tty_lock.rs`.
//!
//! `test_tty_locker NAME`: joins the registrar of its envelope as `NAME`,
//! takes the registrar's lock, prints `NAME holds the lock`, and on
//! SIGUSR2 releases it and prints `NAME released the lock`, then exits 0.

use tokio::signal::unix::{SignalKind, signal};

fn main() -> std::process::ExitCode {
    tractor::maybe_run_child();
    let name = std::env::args().nth(1).unwrap_or_else(|| "locker".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let out = rt.block_on(async {
        let mut usr2 = signal(SignalKind::user_defined2())?;
        tractor::run_root(tractor::RootConfig::named(&name), || async {
            let me = tractor::current_actor().expect("in the root");
            let server = me.runtime_vars().registrars()[0].clone();
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
