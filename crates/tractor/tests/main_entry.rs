//! How `#[tractor::main]` runs its body: as a task of the runtime when
//! the body's future is `Send` (so replies wake a task, not `block_on`),
//! inside `block_on` when it is not, and a panic in a task-run body ends
//! the program as one in `block_on` would.

use std::time::Duration;

use tractor::testing::{Program, example_path, procs, session_vars};

const LIMIT: Duration = Duration::from_secs(30);

/// Runs the test program `name` with `args` to its end; returns its exit
/// code and transcript, once nothing of its tree is left.
fn run(name: &str, args: &[&str]) -> (Option<i32>, String) {
    let rv = session_vars();
    let mut p = Program::start(&example_path(name), args, &rv).expect("it starts");
    let st = p.wait(LIMIT).unwrap();
    let out = p.transcript.join("\n");
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none(),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&rv.bind_dir);
    (st.code(), out)
}

#[test]
fn a_send_body_runs_as_a_task() {
    let (code, out) = run("test_main_send", &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("the child answered 4"), "{out}");
    assert!(out.contains("in a task: true"), "{out}");
}

#[test]
fn a_body_that_is_not_send_still_runs_inside_block_on() {
    let (code, out) = run("test_main_not_send", &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("in a task: false"), "{out}");
}

#[test]
fn a_panic_in_a_task_run_body_ends_the_program_as_a_panic() {
    let (code, out) = run("test_main_send", &["panic"]);
    assert_eq!(code, Some(101), "{out}");
    assert!(out.contains("the main body gives up"), "{out}");
}
