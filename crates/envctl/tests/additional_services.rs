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

/// feat-a-1 with a worker that depends on its backend; started healthy.
fn start_with_worker(w: &World) {
    let out = start(
        w,
        &[
            "ENVCTL_ADDITIONAL_SERVICES=worker",
            WORKER,
            "ENVCTL_SERVICE_WORKER_DEPENDS_ON=backend",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_worker_without_a_port_starts_after_what_it_depends_on() {
    let w = World::new();
    start_with_worker(&w);
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
            "ENVCTL_SERVICE_FLAKY_START_CMD=sh -c 'echo flaky: no config >&2; exit 1'",
            "ENVCTL_SERVICE_FLAKY_CRITICAL=false",
        ],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("(not critical) feat-a-1 Flaky"), "{said}");
    assert!(said.contains("flaky: no config"), "its log: {said}");
    teardown(&w);
}

#[test]
fn stop_and_restart_select_an_additional_service_by_name() {
    let w = World::new();
    start_with_worker(&w);
    let pid = |st: &serde_json::Value, name: &str| {
        st["state"]["services"][name]["pid"].as_u64().unwrap() as u32
    };
    let (_, st) = w.json(&["show-state"]);
    let (worker, backend) = (pid(&st, "feat-a-1 Worker"), pid(&st, "feat-a-1 Backend"));

    // A typo stops nothing and names what there is.
    let out = w.envctl(&["stop", "--service", "wroker"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(
            "no service named \"wroker\" in the recorded runs (known: backend, frontend, worker)"
        ),
        "{said}"
    );
    assert!(common::alive(worker) && common::alive(backend));

    // Only the worker stops; the backend keeps serving.
    let out = w.envctl(&["stop", "--project", "feat-a-1", "--service", "worker"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(wait_dead(worker), "the worker stopped");
    assert!(common::alive(backend), "the backend was not touched");

    // `restart --service worker` brings it back under a new pid.
    let out = w.envctl(&[
        "restart",
        "--project",
        "feat-a-1",
        "--service",
        "worker",
        "--headless",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, st) = w.json(&["show-state"]);
    let worker2 = pid(&st, "feat-a-1 Worker");
    assert_ne!(worker2, worker);
    assert_eq!(
        st["state"]["services"]["feat-a-1 Worker"]["status"],
        "running"
    );
    assert_eq!(
        pid(&st, "feat-a-1 Backend"),
        backend,
        "the backend kept its process"
    );
    teardown(&w);
}
