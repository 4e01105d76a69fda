//! Termination signals in a root: the first (SIGINT, SIGTERM or SIGHUP)
//! cancels the tree; a second one during that teardown kills the tree at
//! once instead of being swallowed.
//!
//! The root here is the program `tests/programs/wedged_tree.rs` (built
//! as the example `test_wedged_tree`), whose child wedges its only
//! thread, so a graceful teardown would take two grace periods (a minute).

use std::time::Duration;

use nix::sys::signal::Signal;
use tractor::testing::{Program, example_path, procs, session_vars};

const LIMIT: Duration = Duration::from_secs(20);
const PROGRAM: &str = "test_wedged_tree";

fn start() -> (Program, tractor::RuntimeVars) {
    let rv = session_vars();
    let mut p = Program::start(&example_path(PROGRAM), &[], &rv).expect("the program starts");
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
