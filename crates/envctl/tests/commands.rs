//! The remaining commands: explain-startup, list-targets, preflight,
//! restart, clear-logs, dashboard; external dependencies; running from
//! inside a linked worktree.

mod common;

use common::*;
use serde_json::Value;

const NO_DEPS: [&str; 2] = ["TREES_POSTGRES_ENABLE=false", "TREES_REDIS_ENABLE=false"];

#[test]
fn explain_list_and_preflight_describe_a_start_without_doing_it() {
    let w = World::new();
    let (code, e) = w.json(&["explain-startup", "--trees", "--isolated-deps"]);
    assert_eq!(code, 0);
    assert_eq!(e["dependency_mode"], "isolated");
    assert_eq!(e["dependencies"], serde_json::json!(["postgres", "redis"]));
    let a = &e["projects"][0];
    let slot = a["slot"].as_u64().unwrap();
    let backend = &a["services"][0];
    assert_eq!(backend["requested_port"], 8000 + slot);
    assert_eq!(
        backend["command"][3],
        (8000 + slot).to_string(),
        "{{port}} substituted"
    );
    let (code, t) = w.json(&["list-targets", "--trees"]);
    assert_eq!(code, 0);
    assert_eq!(t["targets"].as_array().unwrap().len(), 2);
    let (code, p) = w.json(&["preflight", "--trees"]);
    assert_eq!((code, &p["ok"]), (0, &Value::Bool(true)), "{p}");
    assert!(processes_of(&w.repo).is_empty(), "nothing started");
    let out = w.envctl_env(
        &["preflight", "--trees", "--json"],
        &[("ENVCTL_BACKEND_START_CMD", "no-such-program --port {port}")],
    );
    assert_eq!(out.status.code(), Some(1));
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        p["problems"][0]
            .as_str()
            .unwrap()
            .contains("\"no-such-program\" is not on PATH"),
        "{p}"
    );
}

#[test]
fn restart_clear_logs_and_dashboard() {
    let w = World::new();
    let mut args = vec!["start", "--trees", "--headless"];
    args.extend(NO_DEPS);
    assert_eq!(w.envctl(&args).status.code(), Some(0));
    let (_, st) = w.json(&["show-state"]);
    let old = &st["state"]["services"]["feat-a-1 Backend"];
    // The user edits the backend's launch env: restart re-reads it.
    let cfg = w.repo.join(".envctl");
    let text_before = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text_before.replace(
            "# <<< envctl backend launch env <<<",
            "APP_MODE=fresh\n# <<< envctl backend launch env <<<",
        ),
    )
    .unwrap();
    let has_mode = |svc: &serde_json::Value| {
        svc["env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|kv| kv[0] == "APP_MODE" && kv[1] == "fresh")
    };
    assert!(!has_mode(old));
    let out = w.envctl(&[
        "restart",
        "--project",
        "feat-a-1",
        "--backend",
        "--headless",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, st2) = w.json(&["show-state"]);
    let new = &st2["state"]["services"]["feat-a-1 Backend"];
    assert_ne!(new["pid"], old["pid"]);
    assert_eq!(new["actual_port"], old["actual_port"]);
    assert_eq!(new["status"], "running");
    assert!(has_mode(new), "restart re-read the launch env: {new}");
    assert_eq!(
        st2["state"]["services"]["feat-b-1 Backend"]["pid"],
        st["state"]["services"]["feat-b-1 Backend"]["pid"],
        "others untouched"
    );
    let log = new["log_path"].as_str().unwrap().to_owned();
    assert!(std::fs::metadata(&log).unwrap().len() > 0);
    assert_eq!(w.envctl(&["clear-logs"]).status.code(), Some(0));
    assert_eq!(std::fs::metadata(&log).unwrap().len(), 0);
    let dash = w.envctl(&["dashboard", "--headless"]);
    assert!(text(&dash).contains("feat-a-1 Backend"), "{}", text(&dash));
    teardown(&w);
}

#[test]
fn external_dependencies_are_projected_not_started() {
    let w = World::new();
    let out = w.envctl_env(
        &["start", "--trees", "--headless"],
        &[
            ("ENVCTL_DEPENDENCY_MODE", "external"),
            ("DB_PORT", "6543"),
            ("DB_HOST", "db.internal"),
            ("REDIS_PORT", "6380"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, st) = w.json(&["show-state"]);
    assert_eq!(st["state"]["metadata"]["dependency_mode"], "external");
    assert!(
        st["state"]["dependencies"].as_array().unwrap().is_empty(),
        "nothing started"
    );
    let port = st["state"]["services"]["feat-a-1 Backend"]["actual_port"]
        .as_u64()
        .unwrap();
    let h: Value =
        serde_json::from_str(&http_get(&format!("http://127.0.0.1:{port}/health"))).unwrap();
    assert_eq!(
        h["DATABASE_URL"],
        "postgresql://postgres:postgres@db.internal:6543/postgres"
    );
    assert_eq!(h["REDIS_PORT"], "6380");
    teardown(&w);
}

#[test]
fn inside_a_linked_worktree_the_owning_repository_is_in_charge() {
    let w = World::new();
    let tree = w.repo.join("trees/feat-a/1");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_envctl"))
        .args(["list-trees", "--json"])
        .current_dir(&tree)
        .env("RUN_SH_RUNTIME_DIR", &w.runtime)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (_, from_main) = w.json(&["list-trees"]);
    assert_eq!(v["scope_id"], from_main["scope_id"], "same control root");
    assert_eq!(v["projects"].as_array().unwrap().len(), 2);
}
