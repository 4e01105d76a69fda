//! Config that protects the user (issue 12, Build 8 and "Also seen"):
//! unknown keys and badly typed values are errors that name where they
//! were written and the key that was meant; `config --set` checks before
//! writing and keeps comments; a broken `.envctl` never blocks teardown or
//! inspection; a closed stdout ends a reader quietly; `list-trees` and
//! `list-targets` answer in the contract's shape.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

/// Apps only: dependencies are covered by the lifecycle tests.
const NO_DEPS: [&str; 2] = ["TREES_POSTGRES_ENABLE=false", "TREES_REDIS_ENABLE=false"];

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Appends `line` to the sample's `.envctl`; returns its 1-based number and
/// the file's canonical path (as envctl names it).
fn append(w: &World, line: &str) -> (usize, String) {
    let cfg = w.repo.join(".envctl");
    let mut t = std::fs::read_to_string(&cfg).unwrap();
    t.push_str(line);
    t.push('\n');
    std::fs::write(&cfg, &t).unwrap();
    (
        t.lines().count(),
        cfg.canonicalize().unwrap().display().to_string(),
    )
}

fn start_apps(w: &World) {
    let mut args = vec!["start", "--trees", "--headless"];
    args.extend(NO_DEPS);
    let out = w.envctl(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_typo_in_a_key_names_the_line_and_the_key_it_meant_and_nothing_starts() {
    let w = World::new();
    let (line, path) = append(&w, "TREES_POSTGRESS_ENABLE=true");
    let want = format!(
        "envctl: {path}:{line}: unknown key `TREES_POSTGRESS_ENABLE`; did you mean `TREES_POSTGRES_ENABLE`?"
    );
    for args in [
        &["start", "--trees", "--headless"][..],
        &["resume", "--headless"],
        &["restart", "--headless"],
        &["explain-startup"],
        &["preflight"],
        &["list-targets"],
        &["list-trees"],
        &["show-config"],
    ] {
        let out = w.envctl(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert_eq!(stderr(&out).trim(), want, "{args:?}");
    }
    assert!(processes_of(&w.repo).is_empty(), "nothing started");
}

#[test]
fn lines_of_the_users_own_and_unknown_keys_in_the_environment_are_left_alone() {
    let w = World::new();
    // The sample's own `SAMPLE_NOTE=` line is outside envctl's key space.
    append(&w, "MY_APP_NOTE=anything");
    let out = w.envctl_env(
        &["explain-startup", "--json"],
        &[
            ("TREES_POSTGRESS_ENABLE", "true"),
            ("SOME_TOOL_SETTING", "30s"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(stderr(&out), "");
    let (code, shown) = w.json(&["show-config"]);
    assert_eq!(code, 0);
    assert_eq!(shown["values"]["MY_APP_NOTE"]["type"], "user");
    let t = &shown["values"]["ENVCTL_SERVICE_LISTENER_TIMEOUT"];
    assert_eq!(
        (&t["value"], &t["type"], &t["source"]),
        (
            &Value::from("10"),
            &Value::from("seconds"),
            &Value::from("default")
        )
    );
    assert!(t["doc"].as_str().unwrap().contains("listening"), "{t}");
    // Inside the managed block every line is envctl's: an unknown key there
    // is an error even when it looks like nothing envctl knows.
    let cfg = w.repo.join(".envctl");
    let t = std::fs::read_to_string(&cfg).unwrap().replacen(
        "ENVCTL_DEFAULT_MODE=trees\n",
        "ENVCTL_DEFAULT_MODE=trees\nMY_APP_NOTE=inside\n",
        1,
    );
    std::fs::write(&cfg, &t).unwrap();
    let out = w.envctl(&["explain-startup"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown key `MY_APP_NOTE`; `envctl config --help` lists every key"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn values_are_typed_wherever_they_are_written() {
    let w = World::new();
    let (line, path) = append(&w, "ENVCTL_SERVICE_LISTENER_TIMEOUT=30s");
    let out = w.envctl(&["start", "--trees", "--headless"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "envctl: {path}:{line}: ENVCTL_SERVICE_LISTENER_TIMEOUT=\"30s\": expected a whole number of seconds, e.g. 30"
        )
    );
    // Fix the file; the same mistakes on the command line and in the
    // environment name where they come from.
    let cfg = w.repo.join(".envctl");
    let t = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, t.replace("ENVCTL_SERVICE_LISTENER_TIMEOUT=30s\n", "")).unwrap();
    for (kv, why) in [
        (
            "ENVCTL_SERVICE_LISTENER_TIMEOUT=30s",
            "expected a whole number of seconds, e.g. 30",
        ),
        (
            "BACKEND_PORT_BASE=70000",
            "expected a port number (1-65535)",
        ),
        (
            "TREES_REDIS_ENABLE=maybe",
            "expected a boolean: true/false, 1/0 or yes/no",
        ),
        ("ENVCTL_DEFAULT_MODE=both", "expected one of: main, trees"),
        (
            "ENVCTL_RESTART_POLICY=sometimes",
            "expected one of: no, on-failure, always",
        ),
        (
            "ENVCTL_DEFAULT_TREE_DEPENDENCY_SCOPE=private",
            "expected one of: shared, isolated",
        ),
        (
            "ENVCTL_LOG_MAX_BYTES=10M",
            "expected a whole number of bytes, e.g. 10485760",
        ),
        (
            "BACKEND_HEALTH_URL=localhost:8000/health",
            "expected a URL starting with http:// or https://",
        ),
    ] {
        let (k, v) = kv.split_once('=').unwrap();
        let out = w.envctl(&["start", "--trees", "--headless", kv]);
        assert_eq!(out.status.code(), Some(1), "{kv}");
        assert_eq!(
            stderr(&out).trim(),
            format!("envctl: command line: {k}={v:?}: {why}")
        );
        let out = w.envctl_env(&["explain-startup"], &[(k, v)]);
        assert_eq!(out.status.code(), Some(1), "{kv}");
        assert_eq!(
            stderr(&out).trim(),
            format!("envctl: environment: {k}={v:?}: {why}")
        );
    }
    let out = w.envctl(&[
        "start",
        "--trees",
        "--headless",
        "TREES_POSTGRESS_ENABLE=false",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "envctl: command line: unknown key `TREES_POSTGRESS_ENABLE`; did you mean `TREES_POSTGRES_ENABLE`?"
    );
    let out = w.envctl(&[
        "start",
        "--trees",
        "--headless",
        "RUN_SH_RUNTIME_DIR=/tmp/x",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "envctl: command line: RUN_SH_RUNTIME_DIR is read from the environment only; export it instead"
    );
    assert!(processes_of(&w.repo).is_empty(), "nothing started");
    // Good values pass: the explain shows the start that would happen.
    let (code, _) = w.json(&["explain-startup"]);
    assert_eq!(code, 0);
}

#[test]
fn config_set_checks_before_writing_and_keeps_every_comment() {
    let w = World::new();
    let cfg = w.repo.join(".envctl");
    let with_comments = std::fs::read_to_string(&cfg).unwrap().replacen(
        "TREES_REDIS_ENABLE=true\n",
        "# redis for the RQ worker\nTREES_REDIS_ENABLE=true\n",
        1,
    );
    std::fs::write(&cfg, &with_comments).unwrap();

    for (kv, want) in [
        (
            "ENVCTL_DEFAULT_MODE=x",
            "envctl: config --set: ENVCTL_DEFAULT_MODE=\"x\": expected one of: main, trees",
        ),
        (
            "TREES_POSTGRESS_ENABLE=true",
            "envctl: config --set: unknown key `TREES_POSTGRESS_ENABLE`; did you mean `TREES_POSTGRES_ENABLE`?",
        ),
        (
            "ENVCTL_SERVICE_LISTENER_TIMEOUT=30s",
            "envctl: config --set: ENVCTL_SERVICE_LISTENER_TIMEOUT=\"30s\": expected a whole number of seconds, e.g. 30",
        ),
        (
            "ENVCTL_SERVICE_WORKER_DIR=worker",
            "envctl: config --set: unknown key `ENVCTL_SERVICE_WORKER_DIR`; `WORKER` is not listed in ENVCTL_ADDITIONAL_SERVICES (list it there to configure it)",
        ),
    ] {
        let out = w.envctl(&["config", "--set", "TREES_REDIS_ENABLE=false", "--set", kv]);
        assert_eq!(out.status.code(), Some(1), "{kv}: {}", text(&out));
        assert_eq!(stderr(&out).trim(), want);
        assert_eq!(
            std::fs::read_to_string(&cfg).unwrap(),
            with_comments,
            "{kv}: nothing written"
        );
    }
    let out = w.envctl(&["explain-startup"]);
    assert_eq!(out.status.code(), Some(0), "still usable: {}", text(&out));

    // A good change touches only its own line.
    let out = w.envctl(&[
        "config",
        "--set",
        "TREES_REDIS_ENABLE=false",
        "--set",
        "ENVCTL_ADDITIONAL_SERVICES=rq-worker",
        "--set",
        "ENVCTL_SERVICE_RQ_WORKER_START_CMD=python3 worker.py",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        after.contains("# redis for the RQ worker\nTREES_REDIS_ENABLE=false\n"),
        "{after}"
    );
    assert!(after.starts_with("# Sample envctl config. Lines outside the managed block are yours.\nSAMPLE_NOTE=kept as is\n"));
    let tail = "# <<< envctl managed startup config <<<";
    assert_eq!(
        after[after.find(tail).unwrap()..],
        with_comments[with_comments.find(tail).unwrap()..]
    );
    let removed: Vec<&str> = with_comments
        .lines()
        .filter(|l| !after.lines().any(|a| a == *l))
        .collect();
    assert_eq!(
        removed,
        ["TREES_REDIS_ENABLE=true"],
        "only the set line changed"
    );
    let out = w.envctl(&["config", "--set", "ENVCTL_SERVICE_RQ_WORKR_DIR=worker"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "envctl: config --set: unknown key `ENVCTL_SERVICE_RQ_WORKR_DIR`; did you mean `ENVCTL_SERVICE_RQ_WORKER_DIR`?"
    );

    // A value that blocks every command can be repaired with config --set.
    let broken = after.replace("ENVCTL_DEFAULT_MODE=trees", "ENVCTL_DEFAULT_MODE=x");
    std::fs::write(&cfg, &broken).unwrap();
    assert_eq!(w.envctl(&["explain-startup"]).status.code(), Some(1));
    let out = w.envctl(&["config", "--set", "ENVCTL_DEFAULT_MODE=trees"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), after);
    assert_eq!(w.envctl(&["explain-startup"]).status.code(), Some(0));
}

#[test]
fn a_broken_envctl_never_blocks_teardown_or_inspection() {
    let w = World::new();
    start_apps(&w);
    let (_, st) = w.json(&["show-state"]);
    let pid = st["state"]["services"]["feat-a-1 Backend"]["pid"]
        .as_u64()
        .unwrap();
    let (line, path) = append(&w, "TREES_POSTGRESS_ENABLE=true");
    let warning = format!(
        "envctl: warning: config file ignored, working from the recorded state: {path}:{line}: unknown key `TREES_POSTGRESS_ENABLE`; did you mean `TREES_POSTGRES_ENABLE`?\n"
    );
    for args in [
        &["show-state"][..],
        &["health"],
        &["logs", "--logs-tail", "1"],
        &["endpoints"],
        &["dashboard", "--headless"],
        &["doctor"],
    ] {
        let out = w.envctl(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        assert_eq!(stderr(&out), warning, "{args:?}: one warning line");
    }
    // `errors` answers (its exit code is its verdict on the logs).
    let out = w.envctl(&["errors", "--json"]);
    assert_eq!(stderr(&out), warning);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["log_issues"].is_array(), "{v}");
    let (_, doctor) = w.json(&["doctor"]);
    assert!(
        doctor["config_error"]
            .as_str()
            .unwrap()
            .contains("TREES_POSTGRESS_ENABLE"),
        "{doctor}"
    );
    // Commands that need the config refuse, before touching anything.
    let out = w.envctl(&["restart", "--headless"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("did you mean `TREES_POSTGRES_ENABLE`?"));
    let (_, st2) = w.json(&["show-state"]);
    assert_eq!(
        st2["state"]["services"]["feat-a-1 Backend"]["pid"], pid,
        "restart stopped nothing"
    );

    let out = w.envctl(&["stop", "--project", "feat-a-1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(stderr(&out), warning);
    assert!(wait_dead(pid as u32), "feat-a-1's backend stopped");
    let out = w.envctl(&["stop-all"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(stderr(&out), warning);
    let left = wait_clean(w.tmp.path());
    assert!(left.is_empty(), "left running: {left:?}");
    let out = w.envctl(&["blast-all"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(stderr(&out), warning);
    teardown(&w);
}

#[test]
fn a_closed_stdout_ends_logs_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let w = World::new();
    start_apps(&w);
    let (_, st) = w.json(&["show-state"]);
    let log = st["state"]["services"]["feat-a-1 Backend"]["log_path"]
        .as_str()
        .unwrap()
        .to_owned();
    // Far more than a pipe holds, so envctl is still writing when the
    // reader goes away.
    let mut big = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    for i in 0..40_000 {
        std::io::Write::write_all(&mut big, format!("line {i} of a long log\n").as_bytes())
            .unwrap();
    }
    drop(big);
    let mut child = Command::new(env!("CARGO_BIN_EXE_envctl"))
        .args(["logs", "--logs-tail", "100000"])
        .current_dir(&w.repo)
        .env("RUN_SH_RUNTIME_DIR", &w.runtime)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("==> "), "{first}");
    // The reader (like `head -1`) is gone now.
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
    assert!(
        out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
        "{:?} {err}",
        out.status
    );
    teardown(&w);
}

#[test]
fn list_trees_and_list_targets_use_the_contract_shape() {
    let w = World::new();
    let tree = w.repo.join("trees/feat-b/1");
    let inside = |args: &[&str]| -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_envctl"))
            .args(args)
            .arg("--json")
            .current_dir(&tree)
            .env("RUN_SH_RUNTIME_DIR", &w.runtime)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = inside(&["list-trees"]);
    assert_eq!(v["mode"], "trees");
    assert_eq!(v["count"], 2);
    assert_eq!(v["state_error"], Value::Null);
    assert_eq!(v["warnings"], serde_json::json!([]));
    let p = &v["projects"][1];
    assert_eq!(p["name"], "feat-b-1");
    assert_eq!(
        p["root"],
        tree.canonicalize().unwrap().display().to_string()
    );
    for k in ["selected", "preselected"] {
        assert_eq!(p[k], true, "{k}: {p}");
    }
    assert_eq!(v["projects"][0]["preselected"], false);
    for k in ["state_present", "running"] {
        assert_eq!(p[k], false, "{k}: {p}");
    }
    assert_eq!(p["services_running"], 0);
    assert_eq!(
        p["ports"]["backend"],
        8000 + p["slot"].as_u64().unwrap(),
        "planned before a start"
    );

    let (code, t) = w.json(&["list-targets", "--trees", "--project", "feat-a-1"]);
    assert_eq!(code, 0);
    assert_eq!(
        (&t["mode"], &t["count"]),
        (&Value::from("trees"), &Value::from(2))
    );
    let sel: Vec<(&str, bool)> = t["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["selected"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(sel, [("feat-a-1", true), ("feat-b-1", false)]);
    assert_eq!(
        t["projects"][0]["services"],
        serde_json::json!(["backend", "frontend"])
    );
    assert_eq!(t["targets"].as_array().unwrap().len(), 1, "the selection");

    start_apps(&w);
    let (_, st) = w.json(&["show-state"]);
    let (_, v) = w.json(&["list-trees"]);
    for p in v["projects"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        assert_eq!(
            (&p["running"], &p["services_running"]),
            (&Value::Bool(true), &Value::from(2)),
            "{p}"
        );
        assert_eq!(p["state_present"], true);
        assert_eq!(
            p["ports"]["backend"],
            st["state"]["services"][format!("{name} Backend")]["actual_port"],
            "the port it got"
        );
    }
    teardown(&w);
}

/// Every key the crate reads (`.get("K")`, `.flag("K")`, `.num("K")`, and
/// `{p}_K` for both modes) is declared, so it is listed by `config --help`
/// and accepted in `.envctl`.
#[test]
fn every_key_envctl_reads_is_declared() {
    let w = World::new();
    let help = text(&w.envctl(&["config", "--help"]));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.clone()];
    let mut read: Vec<String> = Vec::new();
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()));
            continue;
        }
        if p.extension().is_none_or(|x| x != "rs") || p.starts_with(src.join("config")) {
            continue;
        }
        let t: String = std::fs::read_to_string(&p)
            .unwrap()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for call in ["cfg.get(", "cfg.flag(", "cfg.num(", "cfg.get_with_source("] {
            for rest in t.split(call).skip(1) {
                let arg = rest.strip_prefix("&format!(").unwrap_or(rest);
                let Some(lit) = arg.strip_prefix('"').and_then(|a| a.split('"').next()) else {
                    continue;
                };
                match lit.strip_prefix("{p}_") {
                    Some(k) if !k.contains('{') => {
                        read.push(format!("MAIN_{k}"));
                        read.push(format!("TREES_{k}"));
                    }
                    None if !lit.contains('{') => read.push(lit.to_owned()),
                    _ => {}
                }
            }
        }
    }
    assert!(read.len() > 10, "the scan finds the reads: {read:?}");
    let missing: Vec<&String> = read
        .iter()
        .filter(|k| {
            !help
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{k} <")))
        })
        .collect();
    assert!(missing.is_empty(), "read but not declared: {missing:?}");
    for k in [
        "ENVCTL_RESTART_POLICY",
        "BACKEND_RESTART",
        "FRONTEND_RESTART",
        "POSTGRES_RESTART",
        "REDIS_RESTART",
        "ENVCTL_LOG_MAX_BYTES",
        "BACKEND_HEALTH_URL",
        "FRONTEND_HEALTH_URL",
        "ENVCTL_SERVICE_<S>_RESTART",
        "ENVCTL_SERVICE_<S>_DEPENDS_ON",
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{k} <"))),
            "{k} not in config --help"
        );
    }
}
