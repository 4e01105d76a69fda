//! Acceptance scenarios A1–A3, A5, A7–A10, A12, A13, A16 on the sample
//! repository with isolated dependencies: real Postgres and Redis, four
//! app processes, truthful health, resume, targeted stop, ownership check,
//! stop-all and blast-all.

mod common;

use common::*;
use serde_json::Value;

fn svc<'a>(state: &'a Value, name: &str) -> &'a Value {
    &state["state"]["services"][name]
}

/// Runs SQL against a local Postgres (trust auth) and returns the rows.
fn psql(port: u64, sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-tAc",
            sql,
        ])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pgid(pid: u64) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &s[s.rfind(')').unwrap() + 2..];
    rest.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[test]
fn isolated_worktrees_run_heal_stop_and_vanish() {
    let w = World::new();

    // A1: two projects, slots from the sha1 rule, different ports.
    let (code, trees) = w.json(&["list-trees"]);
    assert_eq!(code, 0);
    let names: Vec<&str> = trees["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["feat-a-1", "feat-b-1"]);
    let pa = trees["projects"][0]["ports"]["backend"].as_u64().unwrap();
    let pb = trees["projects"][1]["ports"]["backend"].as_u64().unwrap();
    assert_ne!(pa, pb);
    assert_eq!(pa, 8000 + trees["projects"][0]["slot"].as_u64().unwrap());

    // A2: start with one Postgres and one Redis per worktree.
    let out = w.envctl(&["start", "--trees", "--isolated-deps", "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (code, st) = w.json(&["show-state"]);
    assert_eq!(code, 0);
    let deps = st["state"]["dependencies"].as_array().unwrap();
    assert_eq!(deps.iter().filter(|d| d["id"] == "postgres").count(), 2);
    assert_eq!(deps.iter().filter(|d| d["id"] == "redis").count(), 2);
    let services = st["state"]["services"].as_object().unwrap();
    assert_eq!(services.len(), 4);
    let mut groups = std::collections::BTreeSet::new();
    for (name, s) in services {
        assert_eq!(s["status"], "running", "{name}");
        let pid = s["pid"].as_u64().unwrap();
        assert_eq!(pgid(pid), pid, "{name} leads its own process group");
        groups.insert(pid);
    }
    assert_eq!(groups.len(), 4);
    for project in ["feat-a-1", "feat-b-1"] {
        let b = svc(&st, &format!("{project} Backend"));
        let port = b["actual_port"].as_u64().unwrap();
        let health: Value =
            serde_json::from_str(&http_get(&format!("http://127.0.0.1:{port}/health"))).unwrap();
        let mine = |id: &str| {
            deps.iter()
                .find(|d| d["id"] == id && d["owner"] == project)
                .unwrap()["port"]
                .as_u64()
                .unwrap()
        };
        assert_eq!(
            health["DB_PORT"],
            mine("postgres").to_string(),
            "{project} gets its own Postgres"
        );
        assert_eq!(
            health["REDIS_PORT"],
            mine("redis").to_string(),
            "{project} gets its own Redis"
        );
        assert_eq!(health["db_reachable"], true);
        assert_eq!(
            health["APP_DB_URL"], health["DATABASE_URL"],
            "the launch-env template was applied"
        );
        assert_eq!(health["redis_pong"], true);
        let f = svc(&st, &format!("{project} Frontend"));
        let fh: Value = serde_json::from_str(&http_get(&format!(
            "http://127.0.0.1:{}/health",
            f["actual_port"]
        )))
        .unwrap();
        assert_eq!(fh["VITE_BACKEND_URL"], format!("http://127.0.0.1:{port}"));
    }

    // A3: the record and the artifacts.
    let run_id = st["state"]["run_id"].as_str().unwrap().to_owned();
    let b = svc(&st, "feat-a-1 Backend");
    assert!(
        b["log_path"]
            .as_str()
            .unwrap()
            .contains(&format!("runs/{run_id}/"))
    );
    assert!(b["requested_port"].as_u64().is_some());
    assert_eq!(st["state"]["metadata"]["dependency_mode"], "isolated");
    assert!(st["runtime_map"]["projection"]["feat-a-1"]["backend_url"].is_string());
    let scope = w.scope();
    for f in [
        "run_state.json",
        "runtime_map.json",
        "ports_manifest.json",
        "error_report.json",
        "events.jsonl",
    ] {
        assert!(scope.join(f).is_file(), "latest {f}");
        assert!(
            scope.join("runs").join(&run_id).join(f).is_file(),
            "run {f}"
        );
    }

    // A5: health is truthful.
    let (code, h) = w.json(&["health"]);
    assert_eq!((code, &h["ok"]), (0, &Value::Bool(true)));
    let victim = svc(&st, "feat-b-1 Backend")["pid"].as_u64().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // SIGKILL is delivered, not done, when kill(2) returns: health must
    // ask once the process has exited (a busy machine showed it still
    // alive and its port closed, "unreachable").
    assert!(wait_dead(victim as u32), "feat-b-1's backend died");
    let (code, h) = w.json(&["health"]);
    assert_eq!(code, 1);
    for s in h["services"].as_array().unwrap() {
        let want = if s["name"] == "feat-b-1 Backend" {
            "stale"
        } else {
            "running"
        };
        assert_eq!(s["status"], want, "{s}");
    }

    // A7: resume restarts only what died, on the same port, reusing deps.
    let pg_before: Vec<Value> = deps.iter().map(|d| d["ident"]["pid"].clone()).collect();
    let out = w.envctl(&["resume", "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, st2) = w.json(&["show-state"]);
    let nb = svc(&st2, "feat-b-1 Backend");
    assert_ne!(nb["pid"].as_u64().unwrap(), victim);
    assert_eq!(
        nb["actual_port"],
        svc(&st, "feat-b-1 Backend")["actual_port"]
    );
    let pg_after: Vec<Value> = st2["state"]["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["ident"]["pid"].clone())
        .collect();
    assert_eq!(pg_before, pg_after, "requirements reused");
    assert_eq!(w.json(&["health"]).0, 0);

    // A8: start again with nothing changed: same run, no new processes.
    let out = w.envctl(&["start", "--trees", "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, st3) = w.json(&["show-state"]);
    assert_eq!(st3["state"]["run_id"], run_id.as_str());
    for (name, s) in st3["state"]["services"].as_object().unwrap() {
        assert_eq!(
            s["pid"], st2["state"]["services"][name]["pid"],
            "{name} untouched"
        );
    }

    // A9: stop one backend only.
    let a_port = svc(&st3, "feat-a-1 Backend")["actual_port"]
        .as_u64()
        .unwrap() as u16;
    let out = w.envctl(&["stop", "--project", "feat-a-1", "--backend"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", a_port)).is_ok(),
        "its port is free"
    );
    assert!(
        !scope.join("locks").join(format!("{a_port}.lock")).exists(),
        "its lock is released"
    );
    let (_, h) = w.json(&["health"]);
    for s in h["services"].as_array().unwrap() {
        assert_eq!(s["status"], "running", "the others are healthy: {s}");
    }
    let (_, st4) = w.json(&["show-state"]);
    assert_eq!(svc(&st4, "feat-a-1 Backend")["status"], "stopped");

    // A10: a foreign process on the freed port survives a stop.
    let foreign = std::net::TcpListener::bind(("127.0.0.1", a_port)).unwrap();
    let out = w.envctl(&["stop", "--project", "feat-a-1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        foreign.local_addr().is_ok() && std::net::TcpListener::bind(("127.0.0.1", a_port)).is_err(),
        "ours still listens"
    );
    drop(foreign);

    // A16: endpoints of a project that does not run.
    let (code, e) = w.json(&["endpoints", "--project", "nope"]);
    assert_eq!(code, 1);
    assert_eq!(e["error"], "requested_project_not_running");

    // A12: stop-all keeps data, clears locks, deactivates the run, and a
    // following start sees the earlier rows.
    let pg_a = deps
        .iter()
        .find(|d| d["id"] == "postgres" && d["owner"] == "feat-a-1")
        .unwrap()["port"]
        .as_u64()
        .unwrap();
    psql(
        pg_a,
        "CREATE TABLE notes (t text); INSERT INTO notes VALUES ('kept');",
    );
    let out = w.envctl(&["stop-all"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let left = wait_clean(&w.repo);
    assert!(left.is_empty(), "no app process: {left:?}");
    for d in deps {
        assert!(
            std::path::Path::new(d["data_dir"].as_str().unwrap()).is_dir(),
            "data kept"
        );
    }
    let locks = std::fs::read_dir(scope.join("locks")).unwrap().count();
    assert_eq!(locks, 0, "locks/ empty");
    let (_, st5) = w.json(&["show-state"]);
    assert_eq!(st5["state"]["metadata"]["active"], false);
    let out = w.envctl(&["start", "--trees", "--isolated-deps", "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, st6) = w.json(&["show-state"]);
    assert_ne!(st6["state"]["run_id"], run_id.as_str(), "a new run");
    let pg_a = st6["state"]["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "postgres" && d["owner"] == "feat-a-1")
        .unwrap()["port"]
        .as_u64()
        .unwrap();
    assert_eq!(
        psql(pg_a, "SELECT t FROM notes;").trim(),
        "kept",
        "data survived stop-all"
    );

    teardown(&w);
}

#[test]
fn blast_all_leaves_nothing_but_spares_strangers() {
    let w = World::new();
    // A stray grandchild: each backend forks a sleeper.
    let out = w.envctl_env(
        &["start", "--trees", "--headless"],
        &[("SAMPLE_SPAWN_SLEEPER", "1")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, st) = w.json(&["show-state"]);
    assert_eq!(st["state"]["metadata"]["dependency_mode"], "shared");
    assert_eq!(
        w.json(&["health"]).0,
        0,
        "shared Postgres/Redis serve both worktrees"
    );
    // One server each, one database per worktree.
    let deps = st["state"]["dependencies"].as_array().unwrap();
    assert_eq!(deps.len(), 2);
    let mut redis_urls = Vec::new();
    for project in ["feat-a-1", "feat-b-1"] {
        let port = st["state"]["services"][format!("{project} Backend")]["actual_port"]
            .as_u64()
            .unwrap();
        let h: Value =
            serde_json::from_str(&http_get(&format!("http://127.0.0.1:{port}/health"))).unwrap();
        let db = project.replace('-', "_");
        assert!(
            h["DATABASE_URL"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/{db}")),
            "{h}"
        );
        assert_eq!(h["db_reachable"], true);
        redis_urls.push(h["REDIS_URL"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        redis_urls
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        2,
        "each worktree its own Redis database on the shared server: {redis_urls:?}"
    );
    let sleepers = processes_of(w.tmp.path())
        .into_iter()
        .filter(|(_, c)| c.contains("time.sleep"))
        .count();
    assert_eq!(sleepers, 2, "one stray sleeper per backend");
    // An unrelated server, started outside envctl.
    let stranger = std::process::Command::new("python3")
        .args(["-m", "http.server", "0", "--bind", "127.0.0.1"])
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let data: Vec<String> = st["state"]["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["data_dir"].as_str().unwrap().to_owned())
        .collect();
    teardown(&w);
    for d in data {
        assert!(
            !std::path::Path::new(&d).exists(),
            "data removed with --remove-volumes: {d}"
        );
    }
    let mut stranger = stranger;
    assert!(
        stranger.try_wait().unwrap().is_none(),
        "the stranger survives"
    );
    stranger.kill().unwrap();
    stranger.wait().unwrap();
}
