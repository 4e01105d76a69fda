//! Lifecycle commands are served by the daemon (issue 12 item 1): it is
//! the only writer of state and the real parent of what it launches; the
//! CLI prints the progress the daemon streams and exits with the outcome
//! it returns; Ctrl-C in the CLI cancels the command in the daemon, which
//! leaves nothing half-started running or recorded as running.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

const NO_DEPS: [&str; 2] = ["TREES_POSTGRES_ENABLE=false", "TREES_REDIS_ENABLE=false"];

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["start", "--trees", "--headless", "--project", "feat-a-1"];
    a.extend(NO_DEPS);
    a.extend(extra);
    a
}

fn daemon_pid(w: &World) -> u32 {
    let st = w.json(&["daemon", "status"]).1;
    assert_eq!(st["running"], true, "{st}");
    st["pid"].as_u64().unwrap() as u32
}

/// `(ppid, state)` of `pid` from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(u32, char)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let mut it = rest.split_whitespace();
    let state = it.next()?.chars().next()?;
    Some((it.next()?.parse().ok()?, state))
}

/// Live processes carrying a service marker of this scope (the daemon's
/// own marker aside).
fn marked(w: &World) -> Vec<u32> {
    let prefix = format!("ENVCTL_OWNER={}/", w.scope_id());
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| stat(*pid).is_some_and(|(_, s)| s != 'Z'))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .unwrap_or_default()
                .split(|b| *b == 0)
                .any(|v| {
                    let v = String::from_utf8_lossy(v);
                    v.starts_with(&prefix) && !v.ends_with("/daemon")
                })
        })
        .collect()
}

/// Zombie children of `pid`.
fn zombies_of(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| stat(*p).is_some_and(|(pp, s)| pp == pid && s == 'Z'))
        .collect()
}

fn daemon_log(w: &World) -> String {
    std::fs::read_to_string(w.scope().join("daemon").join("daemon.log")).unwrap_or_default()
}

#[test]
fn a_start_is_served_by_the_daemon_which_parents_the_service() {
    let w = World::new();
    let out = w.envctl(&args(&[]));
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    // The progress lines came through the daemon to this CLI's stderr.
    assert!(said.contains("starting feat-a-1 Backend"), "{said}");
    let daemon = daemon_pid(&w);
    let (_, st) = w.json(&["show-state"]);
    let svc: &Value = &st["state"]["services"]["feat-a-1 Backend"];
    let pid = svc["pid"].as_u64().unwrap() as u32;
    // Its own session (setsid) but the daemon's child: the daemon
    // launched it, not the CLI (which has exited; its orphans would be
    // ours, a subreaper).
    let (ppid, _) = stat(pid).expect("the service runs");
    assert_eq!(ppid, daemon, "the service's parent is the daemon");
    assert!(
        daemon_log(&w).contains("serving a command"),
        "{}",
        daemon_log(&w)
    );
    teardown(&w);
}

#[test]
fn a_failing_start_through_the_daemon_exits_1_and_leaves_no_zombie() {
    let w = World::new();
    let out = w.envctl(&args(&[
        "ENVCTL_BACKEND_START_CMD=python3 sever.py --port {port}",
    ]));
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("feat-a-1 Backend"),
        "names the service: {said}"
    );
    assert!(said.contains("sever.py"), "its last log lines: {said}");
    let daemon = daemon_pid(&w);
    assert!(daemon_log(&w).contains("serving a command"));
    // The failed service was the daemon's child and is reaped.
    assert!(marked(&w).is_empty(), "left running: {:?}", marked(&w));
    assert_eq!(
        zombies_of(daemon),
        Vec::<u32>::new(),
        "zombies of the daemon"
    );
    teardown(&w);
}

/// A `start` whose backend boots slowly, once that backend is in /proc:
/// the CLI and the rest of its stderr.
fn start_until_booting(w: &World) -> (Child, std::io::Lines<BufReader<ChildStderr>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_envctl"))
        .args(args(&[]))
        .current_dir(&w.repo)
        .env("RUN_SH_RUNTIME_DIR", &w.runtime)
        .env("ENVCTL_RESTART_POLICY", "no")
        .env("SAMPLE_SLOW_START", "30")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Progress lines go to stderr; the backend's launch is the event.
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let seen = err
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("starting feat-a-1 Backend"));
    assert!(seen.is_some());
    // The line is sent just before the launch; the process shows up in
    // /proc a moment later (nothing to wait on but /proc itself).
    assert!(
        wait_for(Duration::from_secs(30), || !marked(w).is_empty()),
        "the backend is booting"
    );
    (child, err)
}

fn interrupt_mid_start(sig: nix::sys::signal::Signal) {
    let w = World::new();
    let (mut child, err) = start_until_booting(&w);
    let booting = marked(&w);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
    let rest: Vec<String> = err.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    reap_children();
    assert_eq!(status.code(), Some(2), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("interrupted")), "{rest:?}");
    // The CLI exits only after the daemon undid the start: nothing of it
    // runs, nothing is recorded as running, the run never became active.
    assert!(marked(&w).is_empty(), "left running: {:?}", marked(&w));
    for pid in booting {
        assert!(wait_exit(pid, Duration::from_secs(30)), "{pid} still runs");
    }
    let (_, st) = w.json(&["show-state"]);
    assert_eq!(st["state"]["metadata"]["active"], false, "{st}");
    let svc = &st["state"]["services"]["feat-a-1 Backend"];
    assert_ne!(svc["status"], "running", "{st}");
    assert_ne!(svc["status"], "starting", "{st}");
    // The daemon is still there, and no zombie of the undone start is.
    let daemon = daemon_pid(&w);
    assert_eq!(
        zombies_of(daemon),
        Vec::<u32>::new(),
        "zombies of the daemon"
    );
    teardown(&w);
}

#[test]
fn ctrl_c_mid_start_cancels_it_in_the_daemon() {
    interrupt_mid_start(nix::sys::signal::Signal::SIGINT);
}

#[test]
fn sigterm_mid_start_cancels_it_in_the_daemon() {
    interrupt_mid_start(nix::sys::signal::Signal::SIGTERM);
}

#[test]
fn a_daemon_killed_mid_start_leaves_only_what_carries_the_marker_and_stop_all_stops_it() {
    let w = World::new();
    let (mut child, err) = start_until_booting(&w);
    let daemon = daemon_pid(&w);
    kill9(u64::from(daemon));
    let rest: Vec<String> = err.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    reap_children();
    assert_eq!(status.code(), Some(1), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("daemon")),
        "says why: {rest:?}"
    );
    // What was booting carries the scope's marker, so nothing is lost
    // track of: `stop-all` (not only `blast-all`) finds it, names it and
    // stops it, although no run recorded it.
    let booting = marked(&w);
    assert!(
        !booting.is_empty(),
        "the booting backend outlived its daemon"
    );
    let out = w.envctl(&["stop-all"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    // (The booting chain forks short-lived helpers — pyenv's shims —
    // so not every pid seen a moment ago is still there to be named.)
    let named = said
        .lines()
        .filter(|l| l.starts_with("stopped pid ") && l.contains("left by an interrupted start"))
        .count();
    assert!(named >= 1, "{said}");
    assert!(
        said.contains("ENVCTL_OWNER="),
        "named by its marker: {said}"
    );
    assert!(
        wait_for(Duration::from_secs(30), || marked(&w).is_empty()),
        "left: {:?}",
        marked(&w)
    );
    teardown(&w);
}
