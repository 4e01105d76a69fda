//! Every example runs and prints what the README says it prints; the
//! main demo (`actor_tree`) cancels cleanly on Ctrl-C and leaves nothing
//! behind when its root is killed with SIGKILL.

use std::time::Duration;

use nix::sys::signal::Signal;
use tractor::testing::{Program, example_path, procs, session_vars};

const LIMIT: Duration = Duration::from_secs(60);

fn run_to_end(name: &str) -> (i32, String) {
    let rv = session_vars();
    let mut p = Program::start(&example_path(name), &[], &rv).expect("example starts");
    let st = p.wait(LIMIT).expect("example finishes");
    let out = p.transcript.join("\n");
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none()
    );
    (st.code().unwrap_or(-1), out)
}

#[test]
fn hello() {
    let (code, out) = run_to_end("hello");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Hello, world! (from pid "), "{out}");
}

#[test]
fn child_output_goes_where_the_config_says() {
    let logs = tempfile::tempdir().unwrap();
    let mut rv = session_vars();
    rv.child_log_dir = Some(logs.path().to_path_buf());
    rv.loglevel = "tractor=debug".into();
    let mut p = Program::start(&example_path("hello"), &[], &rv).expect("hello starts");
    let st = p.wait(LIMIT).expect("hello finishes");
    assert_eq!(st.code(), Some(0), "{}", p.transcript.join("\n"));
    let child_log =
        std::fs::read_to_string(logs.path().join("greeter.log")).expect("the child's log file");
    assert!(
        child_log.contains("[greeter "),
        "the child's own lines, named: {child_log}"
    );
    let out = p.transcript.join("\n");
    assert!(
        !out.contains("[greeter "),
        "not on the parent's output: {out}"
    );
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none()
    );
}

#[test]
fn primes() {
    let (code, out) = run_to_end("primes");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("9592 primes below 100000; the last is 99991"),
        "{out}"
    );
}

#[test]
fn remote_error() {
    let (code, out) = run_to_end("remote_error");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("7 / 2 = 3"), "{out}");
    assert!(
        out.contains("remote error: Error from actor 'calculator': cannot divide 1 by zero"),
        "{out}"
    );
}

#[test]
fn stream_ctx() {
    let (code, out) = run_to_end("stream_ctx");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("squarer ready"), "{out}");
    assert!(out.contains("5^2 = 25"), "{out}");
    assert!(out.contains("the squarer answered 5 times"), "{out}");
}

#[test]
fn cancel_tree() {
    let (code, out) = run_to_end("cancel_tree");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("tree up: root -> manager -> worker-0, worker-1"),
        "{out}"
    );
    assert!(out.contains("was cancelled by 'root'"), "{out}");
    assert!(
        !out.contains("SIGTERM") && !out.contains("SIGKILL"),
        "no escalation:\n{out}"
    );
}

fn start_tree() -> (Program, tractor::RuntimeVars, Vec<u32>) {
    let rv = session_vars();
    let mut p = Program::start(&example_path("actor_tree"), &[], &rv).expect("actor_tree starts");
    p.wait_for_line("tree ready: 7 actors", LIMIT).unwrap();
    let tree: Vec<u32> = procs::descendants(p.pid()).iter().map(|d| d.pid).collect();
    assert_eq!(
        tree.len(),
        6,
        "2 branches + 4 leaves under the root: {tree:?}"
    );
    (p, rv, tree)
}

#[test]
fn actor_tree_prints_its_tree_and_cancels_on_ctrl_c() {
    let (mut p, rv, _) = start_tree();
    let out = p.transcript.join("\n");
    for name in [
        "branch-0", "branch-1", "leaf-0-0", "leaf-0-1", "leaf-1-0", "leaf-1-1",
    ] {
        assert!(out.contains(name), "{name} missing from:\n{out}");
    }
    // Drawn as a tree: the last branch and its leaves close their lines.
    for line in ["└── branch-1", "    └── leaf-1-1", "│   └── leaf-0-1"] {
        assert!(out.contains(line), "{line:?} missing from:\n{out}");
    }
    p.signal(Signal::SIGINT);
    let st = p.wait(LIMIT).unwrap();
    let out = p.transcript.join("\n");
    assert_eq!(st.code(), Some(130), "{out}");
    assert!(out.contains("cancelled: "), "{out}");
    assert!(
        !out.contains("SIGTERM") && !out.contains("SIGKILL"),
        "no escalation:\n{out}"
    );
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none()
    );
}

/// `actor_tree | tee log`, then Ctrl-C in that terminal: the same SIGINT
/// ends `tee`, so the tree cancels with no reader for its output. Here
/// `head` stops reading once the tree is printed. The root must still
/// cancel the tree (a log line that could not be written once panicked
/// the root's signal task before it cancelled anything, and all seven
/// processes ran on).
#[test]
fn actor_tree_cancels_on_ctrl_c_with_no_reader_for_its_output() {
    let rv = session_vars();
    let script = format!(
        "'{}' 2>&1 | head -n 8",
        example_path("actor_tree").display()
    );
    let mut p =
        Program::start(std::path::Path::new("/bin/sh"), &["-c", &script], &rv).expect("sh starts");
    p.wait_for_line("tree ready: 7 actors", LIMIT).unwrap();
    let root = procs::descendants(p.pid())
        .into_iter()
        .find(|d| d.ppid == p.pid() && d.comm.starts_with("actor_tree"))
        .expect("the tree's root, a child of sh");
    let tree = procs::descendants(root.pid);
    assert_eq!(tree.len(), 6, "2 branches + 4 leaves: {tree:?}");
    // `head` has printed its 8 lines and gone: nothing reads the output.
    let head_gone = procs::wait_all_gone(
        &procs::descendants(p.pid())
            .iter()
            .filter(|d| d.comm == "head")
            .map(|d| d.pid)
            .collect::<Vec<_>>(),
        LIMIT,
    );
    assert!(head_gone.is_empty(), "head still reading: {head_gone:?}");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(root.pid as i32), Signal::SIGINT).unwrap();
    let pids: Vec<u32> = std::iter::once(root.pid)
        .chain(tree.iter().map(|d| d.pid))
        .collect();
    let left = procs::wait_all_gone(&pids, LIMIT);
    assert!(
        left.is_empty(),
        "still running after Ctrl-C: {left:?}\n{}",
        procs::diagnose_tree(root.pid)
    );
    p.wait(LIMIT).unwrap();
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none()
    );
}

#[test]
fn killing_the_root_with_sigkill_leaves_no_descendant() {
    let (mut p, rv, tree) = start_tree();
    p.signal(Signal::SIGKILL);
    p.wait(LIMIT).unwrap();
    // PR_SET_PDEATHSIG takes the branches down with the root, and the
    // leaves with their branch; we are their subreaper, so none lingers
    // as a zombie either.
    let left = procs::wait_all_gone(&tree, Duration::from_secs(10));
    assert!(
        left.is_empty(),
        "still alive after the root was killed: {left:?}"
    );
    // Killed actors cannot remove their sockets; the session folder goes.
    let _ = std::fs::remove_dir_all(&rv.bind_dir);
}

/// The pid in "started worker-1 pid 1234" / "restarted worker-1 pid 1234 …".
fn pid_in(line: &str) -> u32 {
    line.split_whitespace()
        .skip_while(|w| *w != "pid")
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {line:?}"))
}

#[test]
fn supervised_tree_restarts_a_killed_worker_and_ctrl_c_leaves_nothing() {
    let rv = session_vars();
    let mut p =
        Program::start(&example_path("supervised_tree"), &[], &rv).expect("supervised_tree starts");
    let reg = p.wait_for_line("registrar at ", LIMIT).unwrap();
    assert!(reg.contains("registrar at /"), "a multiaddr: {reg}");
    let mut pids = Vec::new();
    for i in 0..3 {
        let line = p
            .wait_for_line(&format!("started worker-{i} pid "), LIMIT)
            .unwrap();
        pids.push(pid_in(&line));
    }
    p.wait_for_line("supervising 3 workers", LIMIT).unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pids[1] as i32), Signal::SIGKILL).unwrap();
    let t0 = std::time::Instant::now();
    let line = p.wait_for_line("restarted worker-1 pid ", LIMIT).unwrap();
    let took = t0.elapsed();
    let new = pid_in(&line);
    assert_ne!(new, pids[1], "{line}");
    assert!(
        line.contains(&format!("worker-1 (pid {new})")),
        "the new instance answers: {line}"
    );
    // "Within a second" by hand; a loaded CI machine gets headroom.
    let limit = Duration::from_secs_f64(tractor::testing::headroom() * 2.0);
    assert!(took < limit, "took {took:?}");
    let alive: Vec<u32> = procs::descendants(p.pid()).iter().map(|d| d.pid).collect();
    for keep in [pids[0], pids[2], new] {
        assert!(alive.contains(&keep), "{keep} should run: {alive:?}");
    }
    assert!(
        !alive.contains(&pids[1]),
        "the killed one is reaped: {alive:?}"
    );
    p.signal(Signal::SIGINT);
    let st = p.wait(LIMIT).unwrap();
    let out = p.transcript.join("\n");
    assert_eq!(st.code(), Some(130), "{out}");
    let left = procs::wait_all_gone(&[pids[0], pids[2], new], Duration::from_secs(10));
    assert!(left.is_empty(), "still alive: {left:?}");
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none()
    );
}
