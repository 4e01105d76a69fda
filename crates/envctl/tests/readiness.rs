//! Readiness (issue 12 items 3 and 6): `start` exits 0 only when every
//! service is alive, listening and answering HTTP. A service that crashes
//! or never gets healthy makes `start` exit 1 with its name and its last
//! log lines, stops what that start launched, and leaves no active run
//! behind to be "resumed". (An interrupted start: `served.rs`.)

mod common;

use common::*;

const NO_DEPS: [&str; 2] = ["TREES_POSTGRES_ENABLE=false", "TREES_REDIS_ENABLE=false"];

fn start(w: &World, extra: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut args = vec!["start", "--trees", "--headless", "--project", "feat-a-1"];
    args.extend(NO_DEPS);
    args.extend(extra);
    w.envctl_env(&args, env)
}

#[test]
fn a_typo_in_the_start_command_fails_the_start_with_the_log() {
    let w = World::new();
    let out = start(
        &w,
        &["ENVCTL_BACKEND_START_CMD=python3 sever.py --port {port}"],
        &[],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("feat-a-1 Backend"),
        "names the service: {said}"
    );
    assert!(
        said.contains("sever.py"),
        "shows the log (python's error): {said}"
    );
    let (_, st) = w.json(&["show-state"]);
    assert_eq!(
        st["state"]["metadata"]["active"], false,
        "not saved as active"
    );
    // Nothing is left of it, and the next start begins afresh (no
    // "already running … nothing to resume").
    let out = start(&w, &[], &[]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(!said.contains("nothing to resume"), "{said}");
    assert_eq!(w.json(&["health"]).0, 0);
    teardown(&w);
}

#[test]
fn an_app_that_dies_after_binding_fails_the_start() {
    let w = World::new();
    let out = start(&w, &[], &[("SAMPLE_EXIT_AFTER_LISTEN", "1")]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("crashed right after binding"), "{said}");
    assert!(
        said.contains("stopped what this start launched"),
        "says what it undid: {said}"
    );
    teardown(&w);
}

#[test]
fn an_app_that_listens_but_answers_500_is_not_healthy() {
    let w = World::new();
    let out = start(
        &w,
        &["ENVCTL_SERVICE_STARTUP_PROGRESS_TIMEOUT=2"],
        &[("SAMPLE_FAIL_HEALTH", "1")],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("answered 500"), "{said}");
    let left = wait_clean(&w.repo);
    assert!(left.is_empty(), "the failed start left {left:?}");
    teardown(&w);
}
