//! Worktree discovery and actions (issue 13 item 5): every worktree git
//! knows is a project with a stable name; `setup-worktree` creates one
//! where envctl finds it; `delete-worktree` stops exactly its services,
//! then removes it.

mod common;

use common::*;

const NO_DEPS: [&str; 2] = ["TREES_POSTGRES_ENABLE=false", "TREES_REDIS_ENABLE=false"];

fn names(w: &World) -> Vec<String> {
    let (code, v) = w.json(&["list-trees"]);
    assert_eq!(code, 0, "{v}");
    v["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_git_worktree_is_found_with_a_stable_name() {
    let w = World::new();
    git(
        &w.repo,
        &["worktree", "add", "-q", "trees/hotfix", "-b", "hotfix"],
    );
    git(&w.repo, &["worktree", "add", "-q", "../side", "-b", "side"]);
    let first = names(&w);
    assert_eq!(first, ["feat-a-1", "feat-b-1", "hotfix", "side"]);
    // A sibling named like a tree project is told apart by a hash; the
    // others keep their names.
    std::fs::create_dir_all(w.tmp.path().join("elsewhere")).unwrap();
    git(
        &w.repo,
        &[
            "worktree",
            "add",
            "-q",
            "../elsewhere/hotfix",
            "-b",
            "hotfix2",
        ],
    );
    let second = names(&w);
    for n in &first {
        assert!(second.contains(n), "{n} renamed: {second:?}");
    }
    assert!(
        second
            .iter()
            .any(|n| n.starts_with("hotfix-") && n.len() == "hotfix-".len() + 6),
        "{second:?}"
    );
    // From inside the sibling checkout, envctl works on the owning repository.
    let out = w.envctl_in(&w.tmp.path().join("side"), &["list-trees"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("side"), "{}", text(&out));
}

#[test]
fn setup_then_delete_leaves_nothing_running() {
    let w = World::new();
    let out = w.envctl(&["--setup-worktree", "spike", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("created: trees/spike/1 on branch spike-1"));
    assert!(names(&w).contains(&"spike-1".to_owned()));
    let out = w.envctl(&["setup-worktrees", "spike", "2"]);
    assert!(
        text(&out).contains("exists: trees/spike/1"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("created: trees/spike/2"),
        "{}",
        text(&out)
    );

    let mut args = vec![
        "start",
        "--headless",
        "--trees",
        "--project",
        "spike-1",
        "--project",
        "feat-a-1",
    ];
    args.extend(NO_DEPS);
    let out = w.envctl(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, st) = w.json(&["show-state"]);
    let pid = |name: &str| st["state"]["services"][name]["pid"].as_u64().unwrap();
    let (spike, other) = (pid("spike-1 Backend"), pid("feat-a-1 Backend"));

    // Refused without --yes, and with uncommitted changes: nothing stops.
    let out = w.envctl(&["delete-worktree", "spike-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("pass --yes"), "{}", text(&out));
    let wt = w.repo.join("trees/spike/1");
    std::fs::write(wt.join("notes.txt"), "mine").unwrap();
    let out = w.envctl(&["delete-worktree", "spike-1", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("worktree spike-1 has 1 uncommitted change(s): commit them, or pass --force to discard them (nothing was stopped)"),
        "{}",
        text(&out)
    );
    assert!(std::path::Path::new(&format!("/proc/{spike}")).exists());

    std::fs::remove_file(wt.join("notes.txt")).unwrap();
    let out = w.envctl(&["delete-worktree", "spike-1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(wait_exit(spike as u32, std::time::Duration::from_secs(20)));
    assert!(!wt.exists(), "the worktree folder is gone");
    let left = wait_clean(&wt);
    assert!(left.is_empty(), "left running: {left:?}");
    // The other worktree is untouched, and the record forgot spike-1.
    assert!(std::path::Path::new(&format!("/proc/{other}")).exists());
    let (_, st) = w.json(&["show-state"]);
    assert!(
        st["state"]["services"].get("spike-1 Backend").is_none(),
        "{st}"
    );
    assert!(!names(&w).contains(&"spike-1".to_owned()));
    teardown(&w);
}
