//! `#[tractor::main(timeout = N)]` is not ignored (it used to be): after
//! N seconds the tree is cancelled, the program says why and exits 124,
//! and nothing of the tree is left.

use std::time::Duration;

use tractor::testing::{Program, example_path, procs, session_vars};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn the_main_timeout_cancels_the_tree_with_a_clear_error() {
    let rv = session_vars();
    let mut p =
        Program::start(&example_path("test_main_timeout"), &[], &rv).expect("the program starts");
    p.wait_for_line("ready: the child is up", LIMIT).unwrap();
    let st = p.wait(LIMIT).unwrap();
    let out = p.transcript.join("\n");
    assert_eq!(st.code(), Some(124), "{out}");
    assert!(
        out.contains("error: the main timeout (1s) ran out; the actor tree was cancelled"),
        "{out}"
    );
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none()
    );
}
