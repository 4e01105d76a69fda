//! Debug mode's terminal lock, served by a root (`test_lock_server`) and
//! taken by other actors (`test_tty_locker NAME`, each a process dialing
//! the root with Python's `lock_stdio_for_peer` dialog): holders get it in
//! the order they asked, a holder killed with SIGKILL gives it back, and
//! Ctrl-C in the root is shielded while it is held (a second one kills the
//! tree). A release naming another context is refused with a message
//! saying so, and the lock's own server shows no crash card for it.

use std::time::Duration;

use nix::sys::signal::Signal;
use tractor::RuntimeVars;
use tractor::testing::{Program, example_path, procs, session_vars};

const LIMIT: Duration = Duration::from_secs(60);

fn debug_vars() -> RuntimeVars {
    let mut rv = session_vars();
    rv.debug_mode = true;
    rv
}

fn server(rv: &RuntimeVars) -> Program {
    let mut s = Program::start(&example_path("test_lock_server"), &[], rv).unwrap();
    s.wait_for_line(
        "lock server ready (registrar: true, debug mode: true)",
        LIMIT,
    )
    .unwrap();
    s
}

fn locker(rv: &RuntimeVars, name: &str) -> Program {
    Program::start(&example_path("test_tty_locker"), &[name], rv).unwrap()
}

fn holds(p: &mut Program, name: &str) {
    p.wait_for_line(&format!("{name} holds the lock"), LIMIT)
        .unwrap();
}

fn release(p: &mut Program, name: &str) {
    p.signal(Signal::SIGUSR2);
    p.wait_for_line(&format!("{name} released the lock"), LIMIT)
        .unwrap();
    let st = p.wait(LIMIT).unwrap();
    assert_eq!(st.code(), Some(0), "{}", p.transcript.join("\n"));
}

fn stop(mut s: Program, rv: &RuntimeVars) {
    s.signal(Signal::SIGINT);
    s.wait_for_line("SIGINT: cancelling the actor tree", LIMIT)
        .unwrap();
    s.wait(LIMIT).unwrap();
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none()
    );
}

#[test]
fn waiting_actors_get_the_lock_in_the_order_they_asked() {
    let rv = debug_vars();
    let mut s = server(&rv);
    let mut a = locker(&rv, "a");
    holds(&mut a, "a");
    s.wait_for_line("terminal lock taken by 'a'", LIMIT)
        .unwrap();
    let mut b = locker(&rv, "b");
    s.wait_for_line(
        "'b' waits for the terminal lock (held by 'a'; 1 waiting)",
        LIMIT,
    )
    .unwrap();
    let mut c = locker(&rv, "c");
    s.wait_for_line(
        "'c' waits for the terminal lock (held by 'a'; 2 waiting)",
        LIMIT,
    )
    .unwrap();
    release(&mut a, "a");
    s.wait_for_line("terminal lock released by 'a'", LIMIT)
        .unwrap();
    // The next line about the lock names b, not c: first come, first served.
    let next = s.wait_for_line("terminal lock taken by", LIMIT).unwrap();
    assert!(next.ends_with("taken by 'b'"), "{next}");
    holds(&mut b, "b");
    release(&mut b, "b");
    let next = s.wait_for_line("terminal lock taken by", LIMIT).unwrap();
    assert!(next.ends_with("taken by 'c'"), "{next}");
    holds(&mut c, "c");
    release(&mut c, "c");
    stop(s, &rv);
}

#[test]
fn a_holder_killed_with_sigkill_gives_the_lock_back_and_ctrl_c_works_again() {
    let rv = debug_vars();
    let mut s = server(&rv);
    let mut a = locker(&rv, "a");
    holds(&mut a, "a");
    let mut b = locker(&rv, "b");
    s.wait_for_line("'b' waits for the terminal lock", LIMIT)
        .unwrap();
    // Ctrl-C while a holds the lock: shielded.
    s.signal(Signal::SIGINT);
    s.wait_for_line(
        "SIGINT shielded: 'a' holds the terminal lock (again to kill the tree)",
        LIMIT,
    )
    .unwrap();
    a.signal(Signal::SIGKILL);
    a.wait(LIMIT).unwrap();
    s.wait_for_line(
        "terminal lock released by 'a' (its request ended without a release: it is gone)",
        LIMIT,
    )
    .unwrap();
    s.wait_for_line("terminal lock taken by 'b'", LIMIT)
        .unwrap();
    holds(&mut b, "b");
    release(&mut b, "b");
    s.wait_for_line("terminal lock released by 'b'", LIMIT)
        .unwrap();
    // Nobody holds it: Ctrl-C cancels the tree as usual.
    stop(s, &rv);
}

#[test]
fn a_second_ctrl_c_while_the_lock_is_held_kills_the_tree() {
    let rv = debug_vars();
    let mut s = server(&rv);
    let mut a = locker(&rv, "a");
    holds(&mut a, "a");
    s.signal(Signal::SIGINT);
    s.wait_for_line("SIGINT shielded: 'a' holds the terminal lock", LIMIT)
        .unwrap();
    s.signal(Signal::SIGINT);
    s.wait_for_line("SIGINT again: killing the actor tree now", LIMIT)
        .unwrap();
    assert_eq!(s.wait(LIMIT).unwrap().code(), Some(130));
    // The holder learns its root is gone when it gives the lock back.
    a.signal(Signal::SIGUSR2);
    let st = a.wait(LIMIT).unwrap();
    assert_eq!(st.code(), Some(1), "{}", a.transcript.join("\n"));
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none()
    );
    let _ = std::fs::remove_dir_all(&rv.bind_dir);
}

#[test]
fn a_release_naming_another_context_is_refused_and_the_server_shows_no_card() {
    let rv = debug_vars();
    let mut s = server(&rv);
    let mut p =
        Program::start(&example_path("test_tty_locker"), &["a", "bad-release"], &rv).unwrap();
    holds(&mut p, "a");
    let refused = p.wait_for_line("a: bad release refused:", LIMIT).unwrap();
    assert!(
        refused.contains("terminal lock: a LockRelease for (\"a\", ")
            && refused.contains("(cid not-this-context) on the context of (\"a\", "),
        "{refused}"
    );
    assert_eq!(p.wait(LIMIT).unwrap().code(), Some(0));
    s.wait_for_line("terminal lock released by 'a'", LIMIT)
        .unwrap();
    // A card would have been printed before the error reply went out.
    assert!(
        !s.transcript.iter().any(|l| l.contains("crash card")),
        "{}",
        s.transcript.join("\n")
    );
    stop(s, &rv);
}
