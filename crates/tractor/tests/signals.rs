//! Termination signals in a root: the first (SIGINT, SIGTERM or SIGHUP)
//! cancels the tree; a second one during that teardown kills the tree at
//! once instead of being swallowed.
//!
//! The root here is this test binary run as a program
//! (`wedged_tree_program`), whose child wedges its only thread, so a
//! graceful teardown would take two grace periods (a minute).

use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::Signal;
use tractor::testing::{Program, procs, session_vars};

const LIMIT: Duration = Duration::from_secs(20);
const PROGRAM: &str = "wedged_tree_program";

/// Blocks its actor's only thread (after saying so on `notify`): only
/// SIGKILL ends it.
#[tractor::rpc]
async fn wedge(notify: PathBuf) {
    let s = std::os::unix::net::UnixDatagram::unbound().expect("socket");
    s.send_to(b"wedged", &notify).expect("notify");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Not a test: the program the tests below run (it does nothing unless
/// started by them).
#[test]
#[ignore = "a program for the signal tests"]
fn wedged_tree_program() {
    tractor::maybe_run_child();
    if std::env::var("TRACTOR_TEST_PROGRAM").as_deref() != Ok(PROGRAM) {
        return;
    }
    let mut rv = tractor::RuntimeVars::from_env().expect("envelope");
    rv.spawn_method = tractor::SpawnMethod::Process;
    rv.cancel_grace_secs = 30.0;
    rv.child_args = [
        PROGRAM,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]
    .map(String::from)
    .to_vec();
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

fn start() -> (Program, tractor::RuntimeVars) {
    let rv = session_vars();
    let exe = std::env::current_exe().unwrap();
    let mut p = Program::start_with_env(
        &exe,
        &[
            PROGRAM,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ],
        &rv,
        &[("TRACTOR_TEST_PROGRAM", PROGRAM)],
    )
    .expect("the program starts");
    p.wait_for_line("ready: the child is wedged", LIMIT)
        .unwrap();
    (p, rv)
}

fn second_signal_kills_the_tree(first: Signal, second: Signal) {
    let (mut p, rv) = start();
    p.signal(first);
    p.wait_for_line(
        &format!("{}: cancelling the actor tree", first.as_str()),
        LIMIT,
    )
    .unwrap();
    p.signal(second);
    p.wait_for_line(
        &format!(
            "tractor: {} during teardown: killing the actor tree now (SIGKILL to 1 process group",
            second.as_str()
        ),
        LIMIT,
    )
    .unwrap();
    let st = p.wait(LIMIT).unwrap();
    let out = p.transcript.join("\n");
    assert_eq!(st.code(), Some(130), "{out}");
    assert!(out.contains("cancelled: "), "{out}");
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none()
    );
}

#[test]
fn a_second_ctrl_c_during_teardown_kills_the_tree_now() {
    second_signal_kills_the_tree(Signal::SIGINT, Signal::SIGINT);
}

#[test]
fn sighup_cancels_like_sigint_and_sigterm_escalates_like_it() {
    second_signal_kills_the_tree(Signal::SIGHUP, Signal::SIGTERM);
}
