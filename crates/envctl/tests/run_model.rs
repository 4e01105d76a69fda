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
    // `health` checks both runs, not only the latest one.
    let (code, h) = w.json(&["health"]);
    assert_eq!(code, 0, "{h}");
    assert_eq!(h["run_ids"].as_array().map(Vec::len), Some(2), "{h}");
    let names: Vec<&str> = h["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        names.contains(&"feat-a-1 Backend") && names.contains(&"main Backend"),
        "{names:?}"
    );
    kill9(a);
    assert!(wait_dead(a as u32));
    let out = w.envctl(&["health"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "a trees service died: {said}");
    assert!(said.contains("feat-a-1 Backend"), "{said}");
    let out = w.envctl(&["stop-all"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("2 run(s), 6 service(s)"), "{said}");
    let left = wait_clean(&w.repo);
    assert!(left.is_empty(), "stop-all left {left:?}");
    teardown(&w);
}

#[test]
fn inside_a_worktree_start_selects_it_and_no_resume_orphans_nothing() {
    let w = World::new();
    let mut args = vec!["start", "--headless"];
    args.extend(NO_DEPS);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_envctl"))
        .args(&args)
        .current_dir(w.repo.join("trees/feat-b/1"))
        .env("RUN_SH_RUNTIME_DIR", &w.runtime)
        .env("ENVCTL_RESTART_POLICY", "no")
        .output()
        .unwrap();
    reap_children();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, st) = w.json(&["show-state"]);
    let names: Vec<&String> = st["state"]["services"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        names,
        ["feat-b-1 Backend", "feat-b-1 Frontend"],
        "only that worktree"
    );
    let (old_run, old_pid) = (
        st["state"]["run_id"].clone(),
        pid_of(&w, "feat-b-1 Backend"),
    );
    // --no-resume: a fresh run; the old one's processes are stopped first.
    start(&w, &["--trees", "--project", "feat-b-1", "--no-resume"]);
    let (_, st) = w.json(&["show-state"]);
    assert_ne!(st["state"]["run_id"], old_run);
    assert!(wait_dead(old_pid as u32), "the old backend is gone");
    let servers = processes_of(&w.repo)
        .into_iter()
        .filter(|(_, c)| c.contains("server.py"))
        .count();
    assert_eq!(servers, 2, "nothing orphaned, nothing doubled");
    teardown(&w);
}
