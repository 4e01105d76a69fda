//! The resident supervisor (issue 12): the daemon restarts a crashed
//! service on its port, gives up on a crash loop and says why, loses
//! nothing when it is itself `kill -9`ed (the next command starts a new
//! one that re-adopts every recorded process), streams logs live, and
//! `daemon stop` stops it and everything it supervises.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

const NO_DEPS: [&str; 2] = ["TREES_POSTGRES_ENABLE=false", "TREES_REDIS_ENABLE=false"];
const RESTARTS: (&str, &str) = ("ENVCTL_RESTART_POLICY", "on-failure");

fn start(w: &World, env: &[(&str, &str)]) {
    let mut args = vec!["start", "--trees", "--headless", "--project", "feat-a-1"];
    args.extend(NO_DEPS);
    let mut e = vec![RESTARTS];
    e.extend(env);
    let out = w.envctl_env(&args, &e);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

fn backend(w: &World) -> Value {
    let (_, st) = w.json(&["show-state"]);
    st["state"]["services"]["feat-a-1 Backend"].clone()
}

/// Waits (bounded, generous) until the record satisfies `ok`. The daemon
/// changes the record in another process; nothing here can wait on it
/// but the record itself.
fn wait_record(w: &World, ok: impl Fn(&Value) -> bool) -> Value {
    wait_for(Duration::from_secs(60), || ok(&backend(w)));
    backend(w)
}

fn daemon(w: &World) -> Value {
    w.json(&["daemon", "status"]).1
}

#[test]
fn a_killed_service_is_restarted_on_its_port() {
    let w = World::new();
    start(&w, &[]);
    let st = daemon(&w);
    assert_eq!(st["running"], true, "{st}");
    assert_eq!(st["services"], 2, "{st}");
    let before = backend(&w);
    kill9(before["pid"].as_u64().unwrap());
    let after = wait_record(&w, |b| b["restarts"] == 1 && b["status"] == "running");
    assert_eq!(after["restarts"], 1, "{after}");
    assert_ne!(after["pid"], before["pid"]);
    assert_eq!(after["actual_port"], before["actual_port"], "same port");
    assert_eq!(w.json(&["health"]).0, 0);
    assert_eq!(daemon(&w)["restarts"], 1);
    teardown(&w);
}

#[test]
fn a_crash_loop_marks_the_service_failed_with_its_log() {
    let w = World::new();
    start(&w, &[("SAMPLE_DIE_AFTER", "0.3")]);
    let b = wait_record(&w, |b| b["status"] == "failed");
    assert_eq!(b["status"], "failed", "{b}");
    let out = w.envctl(&["health"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("crash loop"), "{said}");
    assert!(
        said.contains("fatal: crashing now"),
        "the last log lines: {said}"
    );
    teardown(&w);
}

#[test]
fn a_killed_daemon_loses_nothing() {
    let w = World::new();
    start(&w, &[]);
    let before = backend(&w);
    let pid = daemon(&w)["pid"].as_u64().unwrap();
    kill9(pid);
    assert!(wait_dead(pid as u32));
    assert_eq!(daemon(&w)["running"], false);
    // The services kept running; one dies while nobody watches.
    assert_eq!(w.json(&["health"]).0, 0, "services untouched");
    kill9(before["pid"].as_u64().unwrap());
    // The next command starts a new daemon, which re-adopts the record
    // and restarts the dead one — once.
    let out = w.envctl_env(&["resume", "--headless"], &[RESTARTS]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let st = daemon(&w);
    assert_eq!(st["running"], true, "{st}");
    assert_ne!(st["pid"].as_u64().unwrap(), pid);
    let after = wait_record(&w, |b| {
        b["status"] == "running" && b["pid"] != before["pid"]
    });
    assert_eq!(after["actual_port"], before["actual_port"]);
    let servers = processes_of(&w.repo)
        .into_iter()
        .filter(|(_, c)| c.contains("server.py"))
        .count();
    assert_eq!(
        servers,
        2,
        "one backend and one frontend, no duplicate: {:?} {}",
        processes_of(&w.repo),
        text(&out)
    );
    teardown(&w);
}

#[test]
fn logs_follow_streams_new_lines_and_daemon_stop_ends_everything() {
    let w = World::new();
    start(&w, &[]);
    let port = backend(&w)["actual_port"].as_u64().unwrap();
    // The tail arrives first, then what the service prints from now on.
    let mut follow = Follow::start(
        &w,
        &[
            "logs",
            "-f",
            "--project",
            "feat-a-1",
            "--service",
            "backend",
            "--logs-tail",
            "1",
        ],
        "[feat-a-1 Backend]",
    );
    http_get(&format!("http://127.0.0.1:{port}/error"));
    let found = follow
        .lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("ERROR something went wrong"));
    assert!(found.is_some(), "the new line streamed");
    follow.stop();
    let out = w.envctl(&["daemon", "stop"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(daemon(&w)["running"], false);
    let left = wait_clean(&w.repo);
    assert!(left.is_empty(), "daemon stop left {left:?}");
    teardown(&w);
}

#[test]
fn a_daemon_with_nothing_to_supervise_exits_by_itself() {
    let w = World::new();
    assert_eq!(w.envctl(&["doctor"]).status.code(), Some(0));
    let mut d = Command::new(env!("CARGO_BIN_EXE_envctl"))
        .args(["daemon", "run"])
        .current_dir(&w.repo)
        .env("RUN_SH_RUNTIME_DIR", &w.runtime)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Its housekeeping looks every 5 s and gives up after two idle looks.
    let pid = d.id();
    assert!(
        wait_exit(pid, Duration::from_secs(60)),
        "the idle daemon did not exit within 60 s"
    );
    let status = d.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(daemon(&w)["running"], false);
}
