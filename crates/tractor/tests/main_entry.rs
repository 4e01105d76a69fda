//! How `#[tractor::main]` runs its body: as a task of the runtime when
//! the body's future is `Send` (so replies wake a task, not `block_on`),
//! inside `block_on` when it is not, and a panic in a task-run body ends
//! the program as one in `block_on` would.

use std::time::Duration;

use tractor::testing::{Program, example_path, procs, session_vars};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn a_send_body_runs_as_a_task() {
    let rv = session_vars();
    let mut p = Program::start(&example_path("test_main_send"), &[], &rv).expect("it starts");
    let st = p.wait(LIMIT).unwrap();
    let out = p.transcript.join("\n");
    assert_eq!(st.code(), Some(0), "{out}");
    assert!(out.contains("the child answered 4"), "{out}");
    assert!(out.contains("in a task: true"), "{out}");
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none()
    );
    let _ = std::fs::remove_dir_all(&rv.bind_dir);
}

#[test]
fn a_body_that_is_not_send_still_runs_inside_block_on() {
    let rv = session_vars();
    let mut p = Program::start(&example_path("test_main_not_send"), &[], &rv).expect("it starts");
    let st = p.wait(LIMIT).unwrap();
    let out = p.transcript.join("\n");
    assert_eq!(st.code(), Some(0), "{out}");
    assert!(out.contains("in a task: false"), "{out}");
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none()
    );
    let _ = std::fs::remove_dir_all(&rv.bind_dir);
}

#[test]
fn a_panic_in_a_task_run_body_ends_the_program_as_a_panic() {
    let rv = session_vars();
    let mut p =
        Program::start(&example_path("test_main_send"), &["panic"], &rv).expect("it starts");
    let st = p.wait(LIMIT).unwrap();
    let out = p.transcript.join("\n");
    assert_eq!(st.code(), Some(101), "{out}");
    assert!(out.contains("the main body gives up"), "{out}");
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none()
    );
    let _ = std::fs::remove_dir_all(&rv.bind_dir);
}
