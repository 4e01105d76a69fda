//! The run model (issue 12 item 4): a worktree joins a running set
//! without touching the others; a `--main` run and a `--trees` run
//! coexist; `stop-all` stops every run of the scope.

mod common;

use common::*;

const NO_DEPS: [&str; 4] = [
    "TREES_POSTGRES_ENABLE=false",
    "TREES_REDIS_ENABLE=false",
    "MAIN_POSTGRES_ENABLE=false",
    "MAIN_REDIS_ENABLE=false",
];

fn start(w: &World, sel: &[&str]) -> String {
    let mut args = vec!["start", "--headless"];
    args.extend(sel);
    args.extend(NO_DEPS);
    let out = w.envctl(&args);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    said
}

fn pid_of(w: &World, name: &str) -> u64 {
    let (_, st) = w.json(&["show-state"]);
    st["state"]["services"][name]["pid"].as_u64().unwrap_or(0)
}

#[test]
fn a_worktree_joins_and_runs_coexist_until_stop_all() {
    let w = World::new();
    start(&w, &["--trees", "--project", "feat-a-1"]);
    let a = pid_of(&w, "feat-a-1 Backend");
    let said = start(&w, &["--trees", "--project", "feat-b-1"]);
    assert!(said.contains("added feat-b-1"), "{said}");
    assert_eq!(pid_of(&w, "feat-a-1 Backend"), a, "feat-a-1 untouched");
    assert_ne!(pid_of(&w, "feat-b-1 Backend"), 0);
    // The main checkout beside the trees run.
    start(&w, &["--main"]);
    let (_, st) = w.json(&["show-state"]);
    assert_eq!(st["state"]["mode"], "main");
    let out = w.envctl(&["stop-all"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("2 run(s), 6 service(s)"), "{said}");
    let left = wait_clean(&w.repo);
    assert!(left.is_empty(), "stop-all left {left:?}");
    teardown(&w);
}
