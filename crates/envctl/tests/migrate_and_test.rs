//! `envctl migrate` and `envctl test` (issue 13 items 3 and 4) on the
//! sample: its migration reaches only the worktree's own database; tests
//! run per worktree, a failure in one is reported with its output and
//! makes the command exit 1; `--failed` reruns only what failed.

mod common;

use common::*;

fn psql(w: &World, project: &str, sql: &str) -> String {
    let out = w.envctl(&[
        "exec",
        "--project",
        project,
        "--",
        "sh",
        "-c",
        &format!(r#"psql "$DATABASE_URL" -X -tAc "{sql}""#),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Whether the results table has `name` with `result`.
fn row(said: &str, name: &str, result: &str) -> bool {
    said.lines()
        .any(|l| l.starts_with(name) && l.split_whitespace().nth(1) == Some(result))
}

#[test]
fn migrate_then_test_across_worktrees() {
    let w = World::new();
    let out = w.envctl(&["start", "--headless", "--trees"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let has_notes = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'notes'";
    assert_eq!(psql(&w, "feat-a-1", has_notes), "0");
    let out = w.envctl(&["migrate", "--project", "feat-a-1"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("migrated feat-a-1") && said.contains("applied 001_notes.sql"),
        "{said}"
    );
    assert_eq!(psql(&w, "feat-a-1", has_notes), "1");
    assert_eq!(
        psql(&w, "feat-b-1", has_notes),
        "0",
        "only its own database"
    );
    // Twice is harmless: the sample's tool records what it applied.
    let out = w.envctl(&["migrate", "--all"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(psql(&w, "feat-b-1", has_notes), "1");

    // A failing migration: exit 1, its output and the command named.
    let out = w.envctl_env(
        &["migrate", "--project", "feat-b-1"],
        &[(
            "ENVCTL_ACTION_MIGRATE_CMD",
            "sh -c 'echo relation missing; exit 3'",
        )],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("migration of feat-b-1 failed (exit status: 3): sh -c"),
        "{said}"
    );
    assert!(said.contains("relation missing"), "{said}");

    // Tests: feat-b-1 gets a failing test.
    std::fs::write(
        w.repo.join("trees/feat-b/1/backend/test_broken.py"),
        "import unittest\n\nclass B(unittest.TestCase):\n    def test_it(self):\n        self.assertEqual(1, 2, 'broken on purpose')\n",
    )
    .unwrap();
    let out = w.envctl(&["test", "--trees"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        row(&said, "feat-a-1", "passed") && row(&said, "feat-b-1", "FAILED"),
        "{said}"
    );
    assert!(
        said.contains("--- feat-b-1 (backend: python3 -m unittest -q) exit 1 ---"),
        "{said}"
    );
    assert!(said.contains("broken on purpose"), "{said}");
    assert!(
        said.contains("tests failed in 1 of 2 worktree(s): feat-b-1"),
        "{said}"
    );

    // --failed reruns only feat-b-1; fixed, it passes and nothing is left.
    std::fs::remove_file(w.repo.join("trees/feat-b/1/backend/test_broken.py")).unwrap();
    let out = w.envctl(&["test", "--trees", "--failed"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        row(&said, "feat-b-1", "passed") && !said.contains("feat-a-1"),
        "{said}"
    );
    let out = w.envctl(&["test", "--trees", "--failed"]);
    assert!(
        text(&out).contains("nothing failed last time"),
        "{}",
        text(&out)
    );
    teardown(&w);
}

#[test]
fn migrate_on_start_readies_each_database_before_the_apps_and_a_failure_fails_the_start() {
    let w = World::new();
    // A failing migration: the start fails with its output, and nothing
    // it launched is left running or recorded as active.
    let out = w.envctl(&[
        "start",
        "--headless",
        "--trees",
        "ENVCTL_MIGRATE_ON_START=true",
        "ENVCTL_ACTION_MIGRATE_CMD=sh -c 'echo no such relation: users >&2; exit 4'",
    ]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("ENVCTL_MIGRATE_ON_START: migration of feat-a-1 failed (exit status: 4)"),
        "{said}"
    );
    assert!(
        said.contains("no such relation: users"),
        "its output: {said}"
    );
    assert!(
        !said.contains("starting feat-a-1 Backend"),
        "no app started: {said}"
    );
    assert!(wait_clean(&w.repo).is_empty(), "nothing left running");
    let (_, st) = w.json(&["show-state"]);
    assert_eq!(
        st["state"]["metadata"]["active"], false,
        "never active: {st}"
    );

    // The sample's migration: each worktree's own database has its table
    // before its backend starts.
    let out = w.envctl(&[
        "start",
        "--headless",
        "--trees",
        "ENVCTL_MIGRATE_ON_START=true",
    ]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let migrated = said.find("migrated feat-a-1").expect(&said);
    let started = said.find("starting feat-a-1 Backend").expect(&said);
    assert!(migrated < started, "migration first: {said}");
    let has_notes = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'notes'";
    assert_eq!(psql(&w, "feat-a-1", has_notes), "1");
    assert_eq!(psql(&w, "feat-b-1", has_notes), "1");
    teardown(&w);
}
