//! Task-tree dumps (`SIGUSR1`): every actor of a tree writes its task
//! tree to stderr and to a file in the session's runtime folder, then
//! relays the signal to its children, so a parent's dump comes before its
//! children's. `TRACTOR_ENABLE_STACKSCOPE=0` turns the handler off.

use std::collections::BTreeMap;
use std::time::Duration;

use nix::sys::signal::Signal;
use tractor::runtime::actor::{DUMP_BANNER, DUMP_DIR};
use tractor::testing::{Program, example_path, procs, session_vars};

const LIMIT: Duration = Duration::from_secs(60);
const ACTORS: [&str; 7] = [
    "root", "branch-0", "branch-1", "leaf-0-0", "leaf-0-1", "leaf-1-0", "leaf-1-1",
];

/// The actor name in "tractor: task tree of 'NAME' (SIGUSR1) -> FILE".
fn banner_name(line: &str) -> String {
    line.split('\'').nth(1).unwrap_or_default().to_owned()
}

#[test]
fn sigusr1_to_the_root_dumps_all_seven_actors_parent_before_child() {
    let rv = session_vars();
    let mut p = Program::start(&example_path("actor_tree"), &[], &rv).expect("actor_tree starts");
    p.wait_for_line("tree ready: 7 actors", LIMIT).unwrap();
    p.signal(Signal::SIGUSR1);
    let mut order = Vec::new();
    for _ in 0..ACTORS.len() {
        let line = p.wait_for_line(DUMP_BANNER, LIMIT).unwrap();
        order.push(banner_name(&line));
    }
    let pos = |n: &str| {
        order
            .iter()
            .position(|o| o == n)
            .unwrap_or_else(|| panic!("no dump from {n}: {order:?}"))
    };
    assert_eq!(pos("root"), 0, "the root dumps first: {order:?}");
    for b in 0..2 {
        for l in 0..2 {
            assert!(
                pos(&format!("branch-{b}")) < pos(&format!("leaf-{b}-{l}")),
                "parent before child: {order:?}"
            );
        }
    }
    // Each banner is printed after its file was written.
    let dir = rv.bind_dir.join(DUMP_DIR);
    let mut dumps: BTreeMap<String, String> = BTreeMap::new();
    for e in std::fs::read_dir(&dir).expect("the dump folder") {
        let path = e.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let header = text.lines().nth(1).unwrap_or_default().to_owned();
        dumps.insert(banner_name(&header), text);
    }
    let names: Vec<&str> = dumps.keys().map(String::as_str).collect();
    let mut want = ACTORS.to_vec();
    want.sort_unstable();
    assert_eq!(names, want, "one file per actor in {}", dir.display());
    let root = &dumps["root"];
    assert!(root.starts_with("# SIGUSR1\nactor 'root' (uuid "), "{root}");
    assert!(
        root.contains("nursery actor nursery (process backend)"),
        "{root}"
    );
    for b in 0..2 {
        assert!(root.contains(&format!("actor branch-{b} pid=")), "{root}");
        let branch = &dumps[&format!("branch-{b}")];
        // The RPC task the root started, with its caller, and the
        // nursery it opened under it, owning the two leaves.
        assert!(branch.contains("rpc actor_tree.grow cid="), "{branch}");
        assert!(branch.contains("caller=root"), "{branch}");
        assert!(branch.contains("    └── nursery actor nursery"), "{branch}");
        assert!(
            branch.contains(&format!("actor leaf-{b}-1 pid=")),
            "{branch}"
        );
        assert!(branch.contains("parent 'root'"), "{branch}");
        for l in 0..2 {
            let leaf = &dumps[&format!("leaf-{b}-{l}")];
            assert!(leaf.contains(&format!("parent 'branch-{b}'")), "{leaf}");
            assert!(
                leaf.contains(&format!("connection reader peer=branch-{b}")),
                "{leaf}"
            );
        }
    }
    // The tree is unharmed: Ctrl-C still cancels it cleanly.
    p.signal(Signal::SIGINT);
    let st = p.wait(LIMIT).unwrap();
    let out = p.transcript.join("\n");
    assert_eq!(st.code(), Some(130), "{out}");
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none()
    );
    let _ = std::fs::remove_dir_all(&rv.bind_dir);
}

#[test]
fn tractor_enable_stackscope_0_leaves_sigusr1_alone() {
    let rv = session_vars();
    let mut p = Program::start_with_env(
        &example_path("actor_tree"),
        &[],
        &rv,
        &[("TRACTOR_ENABLE_STACKSCOPE", "0")],
    )
    .expect("actor_tree starts");
    p.wait_for_line("tree ready: 7 actors", LIMIT).unwrap();
    let tree: Vec<u32> = procs::descendants(p.pid()).iter().map(|d| d.pid).collect();
    p.signal(Signal::SIGUSR1);
    let st = p.wait(LIMIT).unwrap();
    // No handler: the default action ends the root, and its children
    // follow it (PR_SET_PDEATHSIG).
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(libc::SIGUSR1), "{st:?}");
    assert!(!p.transcript.iter().any(|l| l.contains(DUMP_BANNER)));
    let left = procs::wait_all_gone(&tree, Duration::from_secs(10));
    assert!(left.is_empty(), "{left:?}");
    let _ = std::fs::remove_dir_all(&rv.bind_dir);
}
