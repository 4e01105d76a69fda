//! Additional services (contract §2.3, issue 12 item 7): a worker with no
//! port is a first-class service; `DEPENDS_ON` orders start layers and
//! passes earlier services' URLs on; unknown names and cycles fail before
//! anything starts; a non-critical service's failure only warns.

mod common;

use common::*;

const WORKER: &str = "ENVCTL_SERVICE_WORKER_START_CMD=python3 -c \"import os,signal; print('worker sees', os.environ.get('ENVCTL_SOURCE_SERVICE_BACKEND_URL'), flush=True); signal.pause()\"";

fn start(w: &World, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "start",
        "--trees",
        "--headless",
        "--project",
        "feat-a-1",
        "TREES_POSTGRES_ENABLE=false",
        "TREES_REDIS_ENABLE=false",
    ];
    args.extend(extra);
    w.envctl(&args)
}

#[test]
fn a_worker_without_a_port_starts_after_what_it_depends_on() {
    let w = World::new();
    let out = start(
        &w,
        &[
            "ENVCTL_ADDITIONAL_SERVICES=worker",
            WORKER,
            "ENVCTL_SERVICE_WORKER_DEPENDS_ON=backend",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, st) = w.json(&["show-state"]);
    let worker = &st["state"]["services"]["feat-a-1 Worker"];
    assert_eq!(worker["status"], "running", "{worker}");
    assert_eq!(worker["actual_port"], 0, "no port");
    let backend_port = st["state"]["services"]["feat-a-1 Backend"]["actual_port"]
        .as_u64()
        .unwrap();
    let log = std::fs::read_to_string(worker["log_path"].as_str().unwrap()).unwrap();
    assert!(
        log.contains(&format!("worker sees http://127.0.0.1:{backend_port}")),
        "it started after the backend and got its URL: {log}"
    );
    assert_eq!(w.json(&["health"]).0, 0);
    let out = w.envctl(&["stop", "--project", "feat-a-1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(wait_dead(worker["pid"].as_u64().unwrap() as u32));
    teardown(&w);
}

#[test]
fn unknown_names_and_cycles_fail_before_anything_starts() {
    let w = World::new();
    let out = start(
        &w,
        &[
            "ENVCTL_ADDITIONAL_SERVICES=worker",
            WORKER,
            "ENVCTL_SERVICE_WORKER_DEPENDS_ON=queue",
        ],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("ENVCTL_SERVICE_WORKER_DEPENDS_ON names \"queue\""),
        "{said}"
    );
    assert!(processes_of(&w.repo).is_empty(), "nothing started");
    let out = start(
        &w,
        &[
            "ENVCTL_ADDITIONAL_SERVICES=worker,mailer",
            WORKER,
            "ENVCTL_SERVICE_MAILER_START_CMD=sleep 100",
            "ENVCTL_SERVICE_WORKER_DEPENDS_ON=mailer",
            "ENVCTL_SERVICE_MAILER_DEPENDS_ON=worker",
        ],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("form a cycle among: worker, mailer"),
        "{said}"
    );
    assert!(processes_of(&w.repo).is_empty(), "nothing started");
    teardown(&w);
}

#[test]
fn a_non_critical_failure_only_warns() {
    let w = World::new();
    let out = start(
        &w,
        &[
            "ENVCTL_ADDITIONAL_SERVICES=flaky",
            "ENVCTL_SERVICE_FLAKY_START_CMD=python3 -c \"raise SystemExit('flaky: no config')\"",
            "ENVCTL_SERVICE_FLAKY_CRITICAL=false",
        ],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("(not critical) feat-a-1 Flaky"), "{said}");
    assert!(said.contains("flaky: no config"), "its log: {said}");
    teardown(&w);
}
