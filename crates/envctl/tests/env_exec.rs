//! `envctl env` and `envctl exec` (issue 13 item 2): a running worktree's
//! projected environment for your own shell and tools.

mod common;

use common::*;

fn env_json(w: &World, project: &str) -> serde_json::Value {
    let (code, v) = w.json(&["env", "--project", project]);
    assert_eq!(code, 0, "{v}");
    v
}

#[test]
fn exec_reaches_the_worktrees_own_database_and_env_differs_per_worktree() {
    let w = World::new();
    let out = w.envctl(&["start", "--headless", "--trees"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let a = env_json(&w, "feat-a-1");
    let b = env_json(&w, "feat-b-1");
    assert_eq!(a["project"], "feat-a-1");
    for key in ["DB_NAME", "DATABASE_URL", "REDIS_URL", "BACKEND_URL"] {
        assert!(a["env"][key].is_string(), "{key} missing: {a}");
        assert_ne!(a["env"][key], b["env"][key], "{key} is the same in both");
    }
    // Printed for a person, secrets are hidden.
    let url = a["env"]["DATABASE_URL"].as_str().unwrap();
    assert!(url.contains(":<redacted>@"), "{url}");
    assert_eq!(a["env"]["DB_PASSWORD"], "<redacted>");

    // exec from inside the worktree: its own database, its folder.
    let wt = w.repo.join("trees/feat-a/1");
    let out = w.envctl_in(
        &wt,
        &[
            "exec",
            "--",
            "sh",
            "-c",
            r#"pwd; psql "$DATABASE_URL" -tAc 'select current_database()'"#,
        ],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let db = a["env"]["DB_NAME"].as_str().unwrap();
    let mut lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter();
    assert_eq!(
        std::path::PathBuf::from(lines.next().unwrap()),
        wt.canonicalize().unwrap()
    );
    assert_eq!(lines.next().as_deref(), Some(db), "{said}");

    // exec exits with the command's status; --shell carries the secret.
    let out = w.envctl(&["exec", "--project", "feat-b-1", "--", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    let out = w.envctl(&["env", "--project", "feat-b-1", "--shell"]);
    let sh = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(sh.contains("export DATABASE_URL="), "{sh}");
    assert!(!sh.contains("<redacted>"), "{sh}");
    teardown(&w);
}

#[test]
fn env_says_what_runs_when_the_project_does_not() {
    let w = World::new();
    let out = w.envctl(&["env", "--project", "feat-a-1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("envctl: project \"feat-a-1\" is not running (nothing is running): start it with `envctl start --project feat-a-1`"),
        "{}",
        text(&out)
    );
    let out = w.envctl(&["exec", "--project", "feat-a-1", "--", "true"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = w.envctl(&["exec"]);
    assert_eq!(out.status.code(), Some(2), "usage: {}", text(&out));
}
