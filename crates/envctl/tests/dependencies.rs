//! Dependencies are first-class (issue 12 item 2): a `kill -9` of the
//! shared Postgres or Redis makes `health` exit 1 naming it and `doctor`
//! fail runtime truth; `resume` starts it again on its port with its data.

mod common;

use common::*;
use serde_json::Value;

fn dep<'a>(st: &'a Value, id: &str) -> &'a Value {
    st["state"]["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .unwrap()
}

#[test]
fn a_killed_dependency_is_reported_and_resumed() {
    let w = World::new();
    let out = w.envctl(&["start", "--trees", "--headless", "--project", "feat-a-1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Their servers' logs are reachable like a service's.
    let out = w.envctl(&["logs", "--service", "postgres", "--logs-tail", "3"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("==> postgres (shared)"), "{said}");
    assert!(!said.contains("Backend"), "only what was asked for: {said}");
    let (_, st) = w.json(&["show-state"]);
    for id in ["postgres", "redis"] {
        let d = dep(&st, id);
        let pid = d["ident"]["pid"].as_u64().unwrap();
        kill9(pid);
        assert!(wait_dead(pid as u32));
        let out = w.envctl(&["health"]);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(said.contains(&format!("{id} (shared) (stale)")), "{said}");
        let (_, doc) = w.json(&["doctor"]);
        assert_eq!(doc["runtime_truth"], "fail", "{doc}");
        let out = w.envctl(&["resume", "--headless"]);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(0), "{said}");
        assert!(said.contains("restarted 1 dependency"), "{said}");
        let (code, h) = w.json(&["health"]);
        assert_eq!(code, 0, "{h}");
        let (_, st2) = w.json(&["show-state"]);
        assert_eq!(dep(&st2, id)["port"], d["port"], "same port");
        assert_ne!(
            dep(&st2, id)["ident"]["pid"],
            d["ident"]["pid"],
            "a new server"
        );
    }
    teardown(&w);
}

fn databases(port: u64) -> Vec<String> {
    let out = std::process::Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
        .args(["-d", "postgres", "-tAc", "SELECT datname FROM pg_database"])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_worktree_gets_its_database_on_the_shared_server_once() {
    let w = World::new();
    // Both worktrees' databases are created at once (one psql session).
    let out = w.envctl(&["start", "--trees", "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, st) = w.json(&["show-state"]);
    let port = dep(&st, "postgres")["port"].as_u64().unwrap();
    let dbs = databases(port);
    for db in ["feat_a_1", "feat_b_1"] {
        assert!(dbs.iter().any(|d| d == db), "{db} in {dbs:?}");
    }
    // A fresh start on the same server finds them and creates nothing twice.
    let out = w.envctl(&["start", "--trees", "--headless", "--no-resume"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let again = databases(port);
    assert_eq!(again.len(), dbs.len(), "{again:?}");
    teardown(&w);
}
