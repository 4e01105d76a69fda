//! Debug mode through a real pseudo-terminal: the `debug_crash` example
//! (root → child → grandchild, the grandchild panics) shows the
//! grandchild's crash card first (its name and pid), then on `c` the
//! child's with the relayed error, then the root's; the program exits
//! non-zero and leaves no process behind.
//!
//! Also: `q` quits the tree; Ctrl-C typed while a card is up is shielded
//! (a second one kills the tree); two siblings crashing at once get the
//! terminal one after the other (`test_debug_siblings`).
//!
//! The terminal is [`tractor::testing::pty::Terminal`].

use std::process::Command;
use std::time::Duration;

use tractor::testing::pty::Terminal;
use tractor::testing::{example_path, procs, session_vars};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn a_grandchild_panic_shows_three_cards_grandchild_child_root_then_exits_nonzero() {
    let (rv, mut t, mut child) = start(&[]);

    t.expect("tractor debug: crash card");
    let actor = t.line_after("actor:");
    assert!(
        actor.starts_with("actor:   'grandchild' uid ('grandchild', '"),
        "{actor}"
    );
    let pid_line = t.line_after("pid:");
    let pid: u32 = pid_line
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {pid_line:?}"));
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(
        comm.trim(),
        "grandchild",
        "the card's pid is the grandchild's"
    );
    let card = t.expect("keys: [c] continue");
    assert!(
        card.contains("error:   Panic: the grandchild blew up"),
        "{card}"
    );
    assert!(card.contains(&format!("rust-gdb -p {pid}")), "{card}");
    assert!(card.contains("--- task tree ---"), "{card}");
    assert!(card.contains("actor 'grandchild'"), "{card}");
    t.press("c");

    let card = expect_card(&mut t, "child");
    assert!(
        card.contains("error:   RemoteActorError(Panic): the grandchild blew up"),
        "{card}"
    );
    assert!(card.contains("relayed: from grandchild"), "{card}");
    assert!(
        card.contains("rpc debug_crash.spawn_grandchild"),
        "the child's task tree: {card}"
    );
    t.press("c");

    let card = expect_card(&mut t, "root");
    assert!(card.contains("the grandchild blew up"), "{card}");
    assert!(card.contains("relayed: from grandchild -> child"), "{card}");
    t.press("c");

    let st = t.wait_exit(&mut child);
    assert_eq!(st.code(), Some(1), "exits non-zero:\n{}", t.screen);
    assert_no_leak(&rv, &t);
}

fn start(args: &[&str]) -> (tractor::RuntimeVars, Terminal, std::process::Child) {
    start_program("debug_crash", args)
}

/// Starts `program` (an example or test program) on a new terminal with
/// this test's own session vars; this test becomes the subreaper of the
/// tree, so its leak check sees orphans too.
fn start_program(
    program: &str,
    args: &[&str],
) -> (tractor::RuntimeVars, Terminal, std::process::Child) {
    let rv = session_vars();
    let (k, v) = rv.dump();
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer flag.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    let mut cmd = Command::new(example_path(program));
    cmd.args(args).env(k, v).env_remove("RUST_LOG");
    let (t, child) = Terminal::start(&mut cmd, LIMIT).expect("the program starts");
    (rv, t, child)
}

#[test]
fn pause_shows_the_card_and_the_task_goes_on_after_c() {
    let (rv, mut t, mut child) = start(&["pause"]);
    let card = expect_card(&mut t, "child");
    assert!(
        card.contains("paused:  tractor::pause!() at crates/tractor/examples/debug_crash.rs:"),
        "{card}"
    );
    assert!(card.contains("rpc debug_crash.pause_then_answer"), "{card}");
    // `t` reprints the task tree; `c` goes on.
    t.press("t");
    t.expect("actor 'child' (uuid ");
    t.press("c");
    t.expect("resumed: the child answered 42");
    let st = t.wait_exit(&mut child);
    assert_eq!(st.code(), Some(0), "{}", t.screen);
    assert_no_leak(&rv, &t);
}

/// Waits for the next crash card, checks that it is `actor`'s (the
/// card's `actor:` line starts with `actor:   '<actor>' `) and returns
/// the card's text once it is complete (up to its key line).
fn expect_card(t: &mut Terminal, actor: &str) -> String {
    t.expect("tractor debug: crash card");
    let line = t.line_after("actor:");
    assert!(
        line.starts_with(&format!("actor:   '{actor}' ")),
        "expected {actor}'s card: {line}"
    );
    t.expect("keys: [c] continue")
}

/// Waits for the first card (the grandchild's) to be complete.
fn grandchilds_card(t: &mut Terminal) {
    expect_card(t, "grandchild");
}

/// No process of the tree is left, and the runtime folder is removed.
fn assert_no_leak(rv: &tractor::RuntimeVars, t: &Terminal) {
    if let Some(left) = procs::leak_report(std::process::id(), &rv.bind_dir, LIMIT) {
        panic!("left behind:\n{left}\nthe terminal shows:\n{}", t.screen);
    }
    let _ = std::fs::remove_dir_all(&rv.bind_dir);
}

#[test]
fn q_on_a_card_quits_the_whole_tree() {
    let (rv, mut t, mut child) = start(&[]);
    grandchilds_card(&mut t);
    t.press("q");
    t.expect("tractor debug: quitting the tree");
    let st = t.wait_exit(&mut child);
    assert_ne!(st.code(), Some(0), "exits non-zero:\n{}", t.screen);
    assert!(
        !t.screen[t.cursor..].contains("crash card"),
        "no other card after q:\n{}",
        t.screen
    );
    assert_no_leak(&rv, &t);
}

#[test]
fn ctrl_c_on_the_terminal_while_a_card_is_up_is_shielded_and_c_still_works() {
    let (rv, mut t, mut child) = start(&[]);
    grandchilds_card(&mut t);
    // Ctrl-C typed on the terminal (the line discipline signals the
    // foreground process group).
    t.press("\x03");
    t.expect("SIGINT shielded: 'grandchild' holds the terminal lock (again to kill the tree)");
    assert!(child.try_wait().unwrap().is_none(), "{}", t.screen);
    // The card still takes its key: the error goes on to the child.
    t.press("c");
    expect_card(&mut t, "child");
    t.press("c");
    expect_card(&mut t, "root");
    t.press("c");
    let st = t.wait_exit(&mut child);
    assert_eq!(st.code(), Some(1), "{}", t.screen);
    assert_no_leak(&rv, &t);
}

#[test]
fn a_second_ctrl_c_on_the_terminal_while_a_card_is_up_kills_the_tree() {
    let (rv, mut t, mut child) = start(&[]);
    grandchilds_card(&mut t);
    t.press("\x03");
    t.expect("SIGINT shielded: 'grandchild' holds the terminal lock");
    t.press("\x03");
    t.expect("SIGINT again: killing the actor tree now");
    let st = t.wait_exit(&mut child);
    assert_eq!(st.code(), Some(130), "{}", t.screen);
    // The root exited at once: its killed actors are now ours (this test
    // is their subreaper) and must be gone, then reaped here.
    let orphans: Vec<u32> = procs::descendants(std::process::id())
        .iter()
        .map(|p| p.pid)
        .collect();
    let alive = procs::wait_all_gone(&orphans, LIMIT);
    assert!(alive.is_empty(), "still running: {alive:?}\n{}", t.screen);
    for pid in orphans {
        // SAFETY: waitpid on a pid of ours (a zombie) with a null status.
        unsafe {
            libc::waitpid(pid as i32, std::ptr::null_mut(), 0);
        }
    }
    assert_no_leak(&rv, &t);
}

#[test]
fn two_siblings_crashing_at_once_get_the_terminal_one_after_the_other() {
    let (rv, mut t, mut child) = start_program("test_debug_siblings", &[]);

    // The root grants the lock to one of them first.
    let taken = t.line_after("tractor: terminal lock taken by '");
    let first = if taken.ends_with("'left'") {
        "left"
    } else {
        assert!(taken.ends_with("'right'"), "{taken}");
        "right"
    };
    let second = if first == "left" { "right" } else { "left" };
    let from = t.cursor;
    let card = expect_card(&mut t, first);
    assert!(
        card.contains(&format!("error:   Panic: {first} blew up")),
        "{card}"
    );
    // The other crashed too and waits in the root's queue (said before or
    // after the first card shows): that is the event the test waits for
    // before letting the first go on.
    let waits = format!("'{second}' waits for the terminal lock (held by '{first}'; 1 waiting)");
    if !t.screen[from..].contains(&waits) {
        t.expect(&waits);
    }
    assert!(
        !t.screen[from..].contains(&format!("actor:   '{second}' ")),
        "the second card came while the first was up:\n{}",
        t.screen
    );
    t.press("c");

    let between = t.expect("tractor debug: crash card");
    assert!(
        between.contains(&format!("terminal lock released by '{first}'")),
        "{between}"
    );
    let actor = t.line_after("actor:");
    assert!(
        actor.starts_with(&format!("actor:   '{second}' ")),
        "{actor}"
    );
    let card = t.expect("keys: [c] continue");
    assert!(
        card.contains(&format!("error:   Panic: {second} blew up")),
        "{card}"
    );
    // One card at a time: nothing of the first actor's inside the second's.
    assert!(!card.contains(&format!("'{first}'")), "{card}");
    t.press("c");

    expect_card(&mut t, "root");
    t.press("c");
    let st = t.wait_exit(&mut child);
    assert_eq!(st.code(), Some(1), "{}", t.screen);
    assert_no_leak(&rv, &t);
}
