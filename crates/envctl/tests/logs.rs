//! Logs through pipes (issue 12 item 6): a service writes into a pipe
//! whose reader — its log relay, not the daemon — writes the log file and
//! rotates it by rename at `ENVCTL_LOG_MAX_BYTES`, keeping the newest lines
//! and losing none across a rotation; `logs -f` streams from the daemon's
//! in-memory tail, across rotations; a `kill -9` of the daemon does not
//! stop a service from writing its log.

mod common;

use std::path::{Path, PathBuf};

use std::time::Duration;

use common::*;
use serde_json::Value;

const NO_DEPS: [&str; 2] = ["TREES_POSTGRES_ENABLE=false", "TREES_REDIS_ENABLE=false"];
const CAP: u64 = 2000;

fn start(w: &World) -> Value {
    let mut args = vec!["start", "--trees", "--headless", "--project", "feat-a-1"];
    args.extend(NO_DEPS);
    let cap = CAP.to_string();
    let out = w.envctl_env(&args, &[("ENVCTL_LOG_MAX_BYTES", &cap)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, st) = w.json(&["show-state"]);
    st["state"]["services"]["feat-a-1 Backend"].clone()
}

fn rotated(log: &Path, n: u32) -> PathBuf {
    PathBuf::from(format!("{}.{n}", log.display()))
}

/// The probe numbers in `text`, in order (the backend logs every request
/// path: `GET /probe-0042`).
fn probes(text: &str) -> Vec<u32> {
    text.lines()
        .filter_map(|l| l.split("/probe-").nth(1))
        .filter_map(|r| r.get(..4)?.parse().ok())
        .collect()
}

fn request(port: u64, i: u32) {
    http_get(&format!("http://127.0.0.1:{port}/probe-{i:04}"));
}

#[test]
fn a_log_rotates_at_the_cap_keeping_the_newest_lines_and_losing_none() {
    let w = World::new();
    let svc = start(&w);
    let port = svc["actual_port"].as_u64().unwrap();
    let log = PathBuf::from(svc["log_path"].as_str().unwrap());
    for i in 0..200 {
        request(port, i);
    }
    // The relay writes asynchronously; the last request's line is the event.
    assert!(
        wait_for(Duration::from_secs(30), || {
            probes(&std::fs::read_to_string(&log).unwrap_or_default()).last() == Some(&199)
        }),
        "the last line reached the log"
    );
    let mut all = String::new();
    for n in (1..=3).rev() {
        let f = std::fs::read_to_string(rotated(&log, n)).unwrap_or_default();
        assert!(f.len() as u64 <= CAP, "log.{n} is {} bytes", f.len());
        all.push_str(&f);
    }
    assert!(rotated(&log, 1).exists(), "it rotated");
    assert!(!rotated(&log, 4).exists(), "three rotated files are kept");
    let live = std::fs::read_to_string(&log).unwrap();
    assert!(
        live.len() as u64 <= CAP,
        "the live log is {} bytes",
        live.len()
    );
    all.push_str(&live);
    let seen = probes(&all);
    // The newest lines, in order, without a gap across the rotations.
    let first = seen[0];
    assert!(first > 0, "older lines were rotated away");
    assert_eq!(seen, (first..200).collect::<Vec<_>>(), "{all}");
    teardown(&w);
}

#[test]
fn logs_follow_streams_every_line_across_rotations() {
    let w = World::new();
    let svc = start(&w);
    let port = svc["actual_port"].as_u64().unwrap();
    // The tail line arrives first: it is attached.
    let mut follow = Follow::start(
        &w,
        &["logs", "-f", "--service", "backend", "--logs-tail", "1"],
        "[feat-a-1 Backend]",
    );
    for i in 0..100 {
        request(port, i);
    }
    let mut seen = Vec::new();
    for l in follow.lines.by_ref().map_while(Result::ok) {
        seen.extend(probes(&l));
        if seen.last() == Some(&99) {
            break;
        }
    }
    assert_eq!(
        seen,
        (0..100).collect::<Vec<_>>(),
        "every line, once, in order"
    );
    let log = PathBuf::from(svc["log_path"].as_str().unwrap());
    assert!(rotated(&log, 1).exists(), "the log rotated meanwhile");
    follow.stop();
    teardown(&w);
}

#[test]
fn a_killed_daemon_leaves_the_service_writing_its_log() {
    let w = World::new();
    let svc = start(&w);
    let port = svc["actual_port"].as_u64().unwrap();
    let pid = svc["pid"].as_u64().unwrap() as u32;
    let log = PathBuf::from(svc["log_path"].as_str().unwrap());
    let (_, st) = w.json(&["daemon", "status"]);
    let daemon = st["pid"].as_u64().unwrap();
    kill9(daemon);
    assert!(wait_exit(daemon as u32, Duration::from_secs(30)));
    reap_children();
    // No SIGPIPE for the service: its pipe's reader is its relay.
    request(port, 7);
    assert!(
        wait_for(Duration::from_secs(30), || {
            probes(&std::fs::read_to_string(&log).unwrap_or_default()).contains(&7)
        }),
        "the service's line reached its log"
    );
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    assert!(!stat.contains(") Z "), "the service runs");
    teardown(&w);
}
