//! Ownership (contract §10.6, A13): envctl signals only what it started —
//! processes carrying the scope's `ENVCTL_OWNER` marker or recorded by pid
//! and start time. Bystanders whose working folder is in a worktree, or
//! whose environment mentions the repository, survive `stop-all` and
//! `blast-all`; a service's workers die with it even after a `kill -9` of
//! their leader.

mod common;

use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::Value;

const NO_DEPS: [&str; 2] = ["TREES_POSTGRES_ENABLE=false", "TREES_REDIS_ENABLE=false"];

/// A `sleep` started by "the user", not by envctl.
fn bystander(cwd: &std::path::Path, env: &[(&str, String)]) -> Child {
    Command::new("sleep")
        .arg("1000")
        .current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn alive(c: &mut Child) -> bool {
    c.try_wait().unwrap().is_none()
}

#[test]
fn bystanders_survive_stop_all_and_blast_all() {
    let w = World::new();
    let mut args = vec!["start", "--trees", "--headless"];
    args.extend(NO_DEPS);
    let out = w.envctl_env(&args, &[("SAMPLE_SPAWN_SLEEPER", "1")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let repo = w.repo.display().to_string();
    let worktree = w.repo.join("trees/feat-a/1");
    // An editor sitting in a worktree, with the repo in its environment.
    let mut editor = bystander(
        &worktree,
        &[
            ("PWD", worktree.display().to_string()),
            ("OLDPWD", repo.clone()),
        ],
    );
    // A shell in a sibling repository whose path has the repo's as prefix.
    let sibling = w.tmp.path().join("sample2");
    std::fs::create_dir_all(&sibling).unwrap();
    let mut shell = bystander(&sibling, &[("PWD", sibling.display().to_string())]);
    // A leftover of a run whose record was lost: it carries the scope's
    // marker, so it is ours although nothing records it.
    let scope_id = w.scope_id();
    let mut leftover = bystander(
        std::path::Path::new("/"),
        &[(
            "ENVCTL_OWNER",
            format!("{scope_id}/run-lost/feat-a-1/backend"),
        )],
    );
    let sleepers = || {
        processes_of(w.tmp.path())
            .into_iter()
            .filter(|(_, c)| c.contains("time.sleep"))
            .count()
    };
    assert_eq!(sleepers(), 2, "one stray grandchild per backend");
    let sleeper_pids: Vec<u32> = processes_of(w.tmp.path())
        .into_iter()
        .filter(|(_, c)| c.contains("time.sleep"))
        .map(|(pid, _)| pid)
        .collect();
    let out = w.envctl(&["stop-all"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    for pid in sleeper_pids {
        assert!(
            wait_exit(pid, std::time::Duration::from_secs(10)),
            "stop took each backend's forked sleeper (it carries the marker)"
        );
    }
    assert_eq!(sleepers(), 0);
    // The leftover carries the marker: stop-all stops it too (a start
    // whose daemon died mid-way leaves such processes), and names it.
    assert!(
        wait_dead(leftover.id()),
        "stop-all stopped the leftover: {said}"
    );
    let _ = leftover.wait();
    let named: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("stopped pid "))
        .collect();
    assert_eq!(named.len(), 1, "{said}");
    assert!(
        named[0].contains("sleep 1000") && named[0].contains("run-lost"),
        "{said}"
    );
    assert!(
        alive(&mut editor) && alive(&mut shell),
        "bystanders survive stop-all"
    );
    // Another one, for blast-all to find.
    let mut leftover = bystander(
        std::path::Path::new("/"),
        &[(
            "ENVCTL_OWNER",
            format!("{scope_id}/run-lost/feat-a-1/backend"),
        )],
    );
    let out = w.envctl(&["blast-all"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        alive(&mut editor),
        "the editor in the worktree survives: {said}"
    );
    assert!(
        alive(&mut shell),
        "the sibling repo's shell survives: {said}"
    );
    // The leftover carried the marker and was named as it was killed.
    // (blast-all runs stop-all first, which stops and names it.)
    let named: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("killed pid ") || l.starts_with("stopped pid "))
        .collect();
    assert_eq!(named.len(), 1, "each killed process is named: {said}");
    assert!(named[0].contains("sleep 1000"), "{said}");
    assert!(named[0].contains("run-lost"), "{said}");
    assert!(wait_dead(leftover.id()), "the leftover is gone");
    let _ = leftover.wait();
    for mut c in [editor, shell] {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    teardown(&w);
}

#[test]
fn stop_kills_the_workers_of_a_dead_leader() {
    let w = World::new();
    let mut args = vec!["start", "--trees", "--headless", "--project", "feat-a-1"];
    args.extend(NO_DEPS);
    let out = w.envctl_env(&args, &[("SAMPLE_PREFORK", "1")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, st) = w.json(&["show-state"]);
    let b = &st["state"]["services"]["feat-a-1 Backend"];
    let (leader, port) = (
        b["pid"].as_u64().unwrap(),
        b["actual_port"].as_u64().unwrap(),
    );
    let worker: Value =
        serde_json::from_str(&http_get(&format!("http://127.0.0.1:{port}/health"))).unwrap();
    assert_ne!(
        worker["pid"].as_u64().unwrap(),
        leader,
        "a forked worker serves"
    );
    kill9(leader);
    assert!(wait_dead(leader as u32));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port as u16)).is_ok(),
        "the orphaned worker still serves"
    );
    let out = w.envctl(&["stop", "--project", "feat-a-1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(wait_dead(worker["pid"].as_u64().unwrap() as u32));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port as u16)).is_err(),
        "stop took the worker down with its dead leader"
    );
    teardown(&w);
}

#[test]
fn stop_all_stops_what_an_interrupted_start_left_unrecorded() {
    let w = World::new();
    // Nothing recorded at all: a daemon killed before it saved anything
    // left a half-started server (it carries the scope's marker).
    let _ = w.envctl(&["show-state"]);
    let scope_id = w.scope_id();
    let mut half = bystander(
        std::path::Path::new("/"),
        &[(
            "ENVCTL_OWNER",
            format!("{scope_id}/run-20261128000000-dead/shared/postgres"),
        )],
    );
    // Another repository's process is not ours.
    let mut other = bystander(
        std::path::Path::new("/"),
        &[(
            "ENVCTL_OWNER",
            "repo-0123456789ab/run-x/shared/redis".into(),
        )],
    );
    let out = w.envctl(&["stop-all"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!("stopped pid {}: sleep 1000", half.id())),
        "{said}"
    );
    assert!(said.contains("left by an interrupted start"), "{said}");
    assert!(wait_dead(half.id()));
    let _ = half.wait();
    assert!(alive(&mut other), "another scope's process survives");
    other.kill().unwrap();
    other.wait().unwrap();
    teardown(&w);
}
