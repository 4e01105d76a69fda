//! Acceptance scenarios A4, A6, A11, A14, A15, A17 and bad input: port
//! conflicts rebind upward, logs and errors, the lifecycle lock, doctor,
//! the redacted debug bundle, the managed block, and a bad `.envctl`.

mod common;

use common::*;
use serde_json::Value;

/// Apps only: dependencies are covered by the lifecycle tests.
const NO_DEPS: [&str; 2] = ["TREES_POSTGRES_ENABLE=false", "TREES_REDIS_ENABLE=false"];

fn start(w: &World, extra: &[(&str, &str)]) {
    let mut args = vec!["start", "--trees", "--headless"];
    args.extend(NO_DEPS);
    let out = w.envctl_env(&args, extra);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_port_conflict_rebinds_upward_and_says_so() {
    let w = World::new();
    let (_, trees) = w.json(&["list-trees"]);
    let planned = trees["projects"][0]["ports"]["backend"].as_u64().unwrap() as u16;
    // Occupied: by us, or already by a service of a test running beside
    // this one (the squatter's role is filled either way).
    let squatter = std::net::TcpListener::bind(("127.0.0.1", planned)).ok();
    start(&w, &[("ENVCTL_TEST_CONFLICT_BACKEND", "1")]);
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(w.scope().join("ports_manifest.json")).unwrap(),
    )
    .unwrap();
    let a = manifest["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["project"] == "feat-a-1")
        .unwrap();
    let b = &a["ports"]["backend"];
    assert_eq!(b["requested"], planned);
    assert_ne!(b["final"], planned);
    assert_eq!(b["source"], "retry");
    assert!(
        b["retries"].as_u64().unwrap() >= 2,
        "the squatter and the injected conflict: {b}"
    );
    let events = std::fs::read_to_string(w.scope().join("events.jsonl")).unwrap();
    assert!(events.contains("\"event\":\"port.rebound\""));
    assert!(events.contains("\"event\":\"service.retry\""));
    assert_eq!(w.json(&["health"]).0, 0, "it runs on the port it got");
    drop(squatter);
    teardown(&w);
}

#[test]
fn logs_and_errors_show_what_the_services_say() {
    let w = World::new();
    start(&w, &[]);
    let (_, st) = w.json(&["show-state"]);
    let port = st["state"]["services"]["feat-a-1 Backend"]["actual_port"]
        .as_u64()
        .unwrap();
    let _ = http_get(&format!("http://127.0.0.1:{port}/error"));
    // The service writes through a pipe to its log relay: the line reaches
    // the file a moment after the answer (the file is the only event).
    let log = std::path::PathBuf::from(
        st["state"]["services"]["feat-a-1 Backend"]["log_path"]
            .as_str()
            .unwrap(),
    );
    let logged = |what: &str| {
        wait_for(std::time::Duration::from_secs(30), || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains(what)
        })
    };
    assert!(logged("ERROR something went wrong"));
    let out = w.envctl(&["logs", "--project", "feat-a-1", "--logs-tail", "5"]);
    assert_eq!(out.status.code(), Some(0));
    let t = text(&out);
    assert!(t.contains("==> feat-a-1 Backend"), "{t}");
    assert!(
        t.contains("ERROR something went wrong in the backend"),
        "{t}"
    );
    assert!(!t.contains("feat-b-1"), "only the project asked for: {t}");
    let _ = http_get(&format!("http://127.0.0.1:{port}/traceback"));
    assert!(logged("ValueError: bad DATABASE_URL"));
    let out = w.envctl(&["errors"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("    | ERROR something went wrong in the backend"),
        "{t}"
    );
    assert!(
        t.contains("    | Traceback (most recent call last):"),
        "{t}"
    );
    assert!(t.contains("    | ValueError: bad DATABASE_URL"), "{t}");
    assert!(
        t.contains("2 log issue(s)"),
        "the traceback counts once: {t}"
    );
    let (code, e) = w.json(&["errors"]);
    assert_eq!(code, 1);
    let issue = &e["log_issues"][0];
    assert_eq!(
        (issue["project"].as_str(), issue["service"].as_str()),
        (Some("feat-a-1"), Some("backend"))
    );
    teardown(&w);
}

#[test]
fn a_second_lifecycle_operation_is_refused() {
    let w = World::new();
    // Make the scope exist, then hold its lifecycle lock as a running
    // `start` would.
    assert_eq!(w.envctl(&["doctor"]).status.code(), Some(0));
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(w.scope().join(".lifecycle_operation.lock"))
        .unwrap();
    let held = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock).unwrap();
    {
        use std::io::Write;
        let mut f: &std::fs::File = &held;
        write!(f, "{} cli", std::process::id()).unwrap();
    }
    let out = w.envctl(&["start", "--trees", "--headless"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("Another envctl lifecycle operation is already active"),
        "{}",
        text(&out)
    );
    assert!(processes_of(&w.repo).is_empty(), "nothing was started");
    drop(held);
}

#[test]
fn doctor_reports_stale_locks_and_runtime_truth() {
    let w = World::new();
    start(&w, &[]);
    let (code, d) = w.json(&["doctor"]);
    assert_eq!(code, 0);
    assert_eq!(d["runtime_truth"], "pass");
    let total = d["lock_health"].as_str().unwrap().to_owned();
    // A lock whose owner is dead.
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let pid = dead.id();
    dead.wait().unwrap();
    std::fs::write(
        w.scope().join("locks/64999.lock"),
        format!(r#"{{"owner":"x:backend","session":"old","pid":{pid},"created_at":0}}"#),
    )
    .unwrap();
    let n: u64 = total
        .split_whitespace()
        .next()
        .unwrap()
        .trim_start_matches("total=")
        .parse()
        .unwrap();
    let (_, d) = w.json(&["doctor"]);
    assert_eq!(
        d["lock_health"],
        format!("total={} stale=1", n + 1),
        "the planted lock"
    );
    // A killed service: its truth fails, and its port lock (which names
    // the service's pid) is stale too.
    let (_, st) = w.json(&["show-state"]);
    let victim = st["state"]["services"]["feat-b-1 Backend"]["pid"]
        .as_u64()
        .unwrap() as u32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let gone = wait_dead(victim);
    assert!(gone, "the killed service died");
    let (_, d) = w.json(&["doctor"]);
    assert_eq!(d["lock_health"], format!("total={} stale=2", n + 1));
    assert_eq!(d["runtime_truth"], "fail");
    teardown(&w);
}

#[test]
fn the_debug_bundle_has_no_secret_and_verifies() {
    let w = World::new();
    let cfg = w.repo.join(".envctl");
    let mut text0 = std::fs::read_to_string(&cfg).unwrap();
    text0.push_str("DB_PASSWORD=s3cret\nAPP_DSN=postgresql://u:s3cret@db.example:5432/app\n");
    std::fs::write(&cfg, text0).unwrap();
    start(&w, &[]);
    // A command event, as a typed command would leave.
    std::fs::OpenOptions::new()
        .append(true)
        .open(w.scope().join("events.jsonl"))
        .and_then(|mut f| {
            std::io::Write::write_all(
                &mut f,
                b"{\"event\":\"ui.input.submit\",\"command\":\"stop --password s3cret\"}\n",
            )
        })
        .unwrap();
    let out = w.envctl(&["debug-pack"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let bundle = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let last = w.envctl(&["debug-last"]);
    assert_eq!(String::from_utf8_lossy(&last.stdout).trim(), bundle);
    let x = w.tmp.path().join("x");
    std::fs::create_dir_all(&x).unwrap();
    let st = std::process::Command::new("tar")
        .args(["-xzf", &bundle, "-C"])
        .arg(&x)
        .status()
        .unwrap();
    assert!(st.success());
    let grep = std::process::Command::new("grep")
        .args(["-r", "s3cret"])
        .arg(&x)
        .output()
        .unwrap();
    assert!(
        grep.stdout.is_empty(),
        "secret in the bundle: {}",
        String::from_utf8_lossy(&grep.stdout)
    );
    let events = std::fs::read_to_string(x.join("events.runtime.redacted.jsonl")).unwrap();
    assert!(
        events.contains("command_hash") && events.contains("command_length"),
        "{events}"
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(x.join("manifest.json")).unwrap()).unwrap();
    for (name, f) in manifest["files"].as_object().unwrap() {
        let body = std::fs::read(x.join(name)).unwrap();
        let sum = std::process::Command::new("sha256sum")
            .arg(x.join(name))
            .output()
            .unwrap();
        let hex = String::from_utf8_lossy(&sum.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();
        assert_eq!(f["sha256"], hex, "{name}");
        assert_eq!(f["size"], body.len(), "{name}");
    }
    teardown(&w);
}

#[test]
fn config_set_changes_only_the_managed_block() {
    let w = World::new();
    let cfg = w.repo.join(".envctl");
    let before = std::fs::read_to_string(&cfg).unwrap();
    let with_user = format!(
        "# mine, on top\nTOP=1\n{before}\n# mine, at the end\nEND=2\n# >>> envctl backend launch env >>>\nAPI_DB=${{ENVCTL_SOURCE_DATABASE_URL}}\n# <<< envctl backend launch env <<<\n"
    );
    std::fs::write(&cfg, &with_user).unwrap();
    let out = w.envctl(&["config", "--set", "TREES_REDIS_ENABLE=false"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after = std::fs::read_to_string(&cfg).unwrap();
    let b = "# >>> envctl managed startup config >>>";
    let e = "# <<< envctl managed startup config <<<";
    assert_eq!(
        after[..after.find(b).unwrap()],
        with_user[..with_user.find(b).unwrap()],
        "lines above are byte-identical"
    );
    assert_eq!(
        after[after.find(e).unwrap()..],
        with_user[with_user.find(e).unwrap()..],
        "lines below are byte-identical"
    );
    assert!(after.contains("TREES_REDIS_ENABLE=false"));
    assert!(!after.contains("TREES_REDIS_ENABLE=true"));
    let again = w.envctl(&["config", "--set", "TREES_REDIS_ENABLE=false"]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&cfg).unwrap(),
        after,
        "re-running is a no-op"
    );
    let (_, shown) = w.json(&["show-config"]);
    assert_eq!(shown["values"]["TREES_REDIS_ENABLE"]["value"], "false");
    assert_eq!(shown["values"]["TREES_REDIS_ENABLE"]["source"], "file");
}

#[test]
fn a_bad_envctl_names_the_line_and_nothing_starts() {
    let w = World::new();
    let cfg = w.repo.join(".envctl");
    let mut t = std::fs::read_to_string(&cfg).unwrap();
    t.push_str("this line is not config\n");
    std::fs::write(&cfg, t.clone()).unwrap();
    let line = t.lines().count();
    let out = w.envctl(&["start", "--trees", "--headless"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "envctl: {}:{line}: expected KEY=VALUE, got \"this line is not config\"",
            cfg.canonicalize().unwrap().display()
        )
    );
    assert!(processes_of(&w.repo).is_empty());
    let out = w.envctl_env(&["show-config"], &[("BACKEND_PORT_BASE", "0")]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn help_lists_every_command_with_one_line_each() {
    let w = World::new();
    let out = w.envctl(&["--help"]);
    let t = text(&out);
    for c in [
        "start",
        "resume",
        "stop",
        "stop-all",
        "blast-all",
        "show-state",
        "show-config",
        "list-trees",
        "health",
        "logs",
        "errors",
        "endpoints",
        "config",
        "doctor",
        "debug-pack",
        "debug-last",
        "debug-report",
    ] {
        assert!(
            t.lines()
                .any(|l| l.trim_start().starts_with(&format!("{c} "))),
            "{c} missing from:\n{t}"
        );
    }
}

#[test]
fn every_command_has_an_example_in_its_help_and_completions_generate() {
    let w = World::new();
    let out = w.envctl(&["--help"]);
    let t = text(&out);
    // The command list: the indented words between "Commands:" and "Options:".
    let list = t
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap();
    let commands: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(|c| c.trim_end_matches(','))
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 30, "{commands:?}");
    for c in commands {
        let out = w.envctl(&[c, "-h"]);
        let h = text(&out);
        assert_eq!(out.status.code(), Some(0), "{c} -h: {h}");
        assert!(
            h.contains("Example"),
            "`envctl {c} -h` shows no example:\n{h}"
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let out = w.envctl(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out).contains("delete-worktree"), "{shell}");
    }
}
