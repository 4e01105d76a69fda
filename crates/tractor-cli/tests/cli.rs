//! The `tractor` command against a running actor tree: `ps` lists all
//! seven actors, `tree` shows who spawned whom, `call` calls by name, and
//! every failure is a clear message with exit status 1.

mod common;

use std::os::unix::process::ExitStatusExt;

use common::*;
use nix::sys::signal::Signal;
use tractor::testing::{Program, example_path};

#[test]
fn ps_tree_and_call_against_actor_tree() {
    let (rv, reg) = session();
    let reg_s = reg.to_string();
    let mut tree = Program::start(&example_path("actor_tree"), &[], &rv).unwrap();
    tree.wait_for_line("tree ready: 7 actors", LIMIT).unwrap();

    let (code, out) = tractor(&["ps", "--registry", &reg_s, "--json"], &rv);
    assert_eq!(code, 0, "{out}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "branch-0", "branch-1", "leaf-0-0", "leaf-0-1", "leaf-1-0", "leaf-1-1", "root"
        ]
    );

    let (code, out) = tractor(&["ps", "--registry", &reg_s], &rv);
    assert_eq!(code, 0, "{out}");
    assert!(out.lines().next().unwrap().starts_with("NAME"), "{out}");

    let (code, out) = tractor(&["tree", "--registry", &reg_s], &rv);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("root pid "), "{out}");
    assert!(
        lines.iter().any(|l| l.starts_with("    branch-0 pid ")),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("        leaf-1-1 pid ")),
        "{out}"
    );

    // Each actor's live task tree, asked over RPC, under its line.
    let (code, out) = tractor(&["tree", "--tasks", "--registry", &reg_s], &rv);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("  | actor 'root' (uuid "), "{out}");
    assert!(
        out.contains("      | │   └── rpc actor_tree.grow cid="),
        "branch-0's grow call, under the connection it came in on: {out}"
    );
    assert!(out.contains("        | actor 'leaf-1-1' (uuid "), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tree.txt");
    let file_s = file.to_str().unwrap();
    let (code, out) = tractor(&["tree", "--dump", file_s, "--registry", &reg_s], &rv);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("wrote the task trees of 7 actors to {file_s}")),
        "{out}"
    );
    let dumped = std::fs::read_to_string(&file).unwrap();
    assert!(dumped.contains("rpc actor_tree.grow cid="), "{dumped}");
    assert!(dumped.contains("nursery actor nursery"), "{dumped}");
    let bad = dir.path().join("no-such-dir/tree.txt");
    let (code, out) = tractor(
        &[
            "tree",
            "--dump",
            bad.to_str().unwrap(),
            "--registry",
            &reg_s,
        ],
        &rv,
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("cannot write the dump to ") && out.contains("No such file or directory"),
        "{out}"
    );

    let (code, out) = tractor(
        &["call", "leaf-0-0", "self._actor_info", "--registry", &reg_s],
        &rv,
    );
    assert_eq!(code, 0, "{out}");
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["parent"][0], "branch-0");

    let (code, out) = tractor(&["call", "nobody", "x.y", "--registry", &reg_s], &rv);
    assert_eq!(code, 1);
    assert!(
        out.contains("no actor named \"nobody\" is registered at"),
        "{out}"
    );

    let (code, out) = tractor(&["call", "root", "secret.fn", "--registry", &reg_s], &rv);
    assert_eq!(code, 1);
    assert!(
        out.contains("ModuleNotExposed from actor 'root': namespace \"secret\" is not enabled"),
        "{out}"
    );

    let (code, out) = tractor(&["call", "root", "nodot", "--registry", &reg_s], &rv);
    assert_eq!(code, 1);
    assert!(out.contains("is not NAMESPACE.FUNCTION"), "{out}");

    tree.signal(Signal::SIGINT);
    assert_eq!(tree.wait(LIMIT).unwrap().code(), Some(130));
    assert_clean(&rv);
}

#[test]
fn an_unreachable_registrar_is_a_clear_error() {
    let (rv, reg) = session();
    let (code, out) = tractor(&["ps", "--registry", &reg.to_string()], &rv);
    assert_eq!(code, 1);
    assert!(
        out.contains(&format!("tractor: registrar at {reg} is unreachable")),
        "{out}"
    );
}

#[test]
fn bad_usage_exits_2() {
    let (rv, _) = session();
    let (code, out) = tractor(&["ps", "--registry", "localhost:1616"], &rv);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("is not a multiaddr"), "{out}");
}

#[test]
fn a_standalone_registrar_refuses_a_second_one_and_stops_on_ctrl_c() {
    let (rv, reg) = session();
    let mut first = registrar(&rv, &reg);
    let (code, out) = tractor(&["registrar", "--addr", &reg.to_string()], &rv);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("a registrar already serves {reg}")),
        "{out}"
    );
    first.signal(Signal::SIGINT);
    // Ended by the signal after a clean stop (a shell shows 130), as
    // Python's daemon does (Python tractor's `test_abort_on_sigint`).
    let st = first.wait(LIMIT).unwrap();
    let out = first.transcript.join("\n");
    assert_eq!((st.code(), st.signal()), (None, Some(2)), "{out}");
    assert!(out.contains("registrar stopped"), "{out}");
    assert!(out.contains("KeyboardInterrupt"), "{out}");
    assert_clean(&rv);
}

#[test]
fn a_registrar_stopped_by_sigterm_ends_by_sigterm() {
    let (rv, reg) = session();
    let mut p = registrar(&rv, &reg);
    p.signal(Signal::SIGTERM);
    let st = p.wait(LIMIT).unwrap();
    let out = p.transcript.join("\n");
    // A shell shows 143.
    assert_eq!((st.code(), st.signal()), (None, Some(15)), "{out}");
    assert!(out.contains("registrar stopped"), "{out}");
    assert_clean(&rv);
}

#[test]
fn a_registrar_cancelled_remotely_exits_0() {
    let (rv, reg) = session();
    let mut p = registrar(&rv, &reg);
    let (code, out) = tractor(
        &[
            "call",
            "registrar",
            "self.cancel",
            "--registry",
            &reg.to_string(),
        ],
        &rv,
    );
    assert_eq!((code, out.trim()), (0, "true"));
    let st = p.wait(LIMIT).unwrap();
    assert_eq!(st.code(), Some(0), "{}", p.transcript.join("\n"));
    assert_clean(&rv);
}

#[test]
fn the_runtimes_own_functions_refuse_unknown_keywords_by_name() {
    let (rv, reg) = session();
    let reg_s = reg.to_string();
    let mut p = registrar(&rv, &reg);
    for (func, kwargs, want) in [
        (
            "self.find_actor",
            r#"{"nmae": "x"}"#,
            "TypeError from actor 'registrar': find_actor() got an unexpected keyword argument 'nmae'",
        ),
        (
            "self._actor_info",
            r#"{"verbose": true}"#,
            "TypeError from actor 'registrar': _actor_info() got an unexpected keyword argument 'verbose'",
        ),
    ] {
        let (code, out) = tractor(
            &[
                "call",
                "registrar",
                func,
                "--kwargs",
                kwargs,
                "--registry",
                &reg_s,
            ],
            &rv,
        );
        assert_eq!(code, 1, "{out}");
        assert!(out.contains(want), "{out}");
    }
    p.signal(Signal::SIGINT);
    p.wait(LIMIT).unwrap();
    assert_clean(&rv);
}
