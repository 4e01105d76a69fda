//! The quick run works and prints a well-formed document. It checks the
//! program, never the numbers.

/// Runs the bench with `args`; its JSON document and its table.
fn bench(args: &[&str]) -> (serde_json::Value, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tractor-bench"))
        .args(args)
        .env_remove("_TRACTOR_RT_VARS")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    (doc, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn quick_run_prints_every_figure_with_a_floor_or_goal() {
    let (doc, table) = bench(&["--quick"]);
    assert_eq!(doc["meta"]["quick"], true);
    let figs = doc["figures"].as_object().expect("figures");
    for name in [
        "rpc_rtt_uds",
        "rpc_rtt_tcp",
        "rpc_rtt_tcp_tls",
        "ctx_open_result",
        "stream_echo",
        "stream_throughput_64b",
        "stream_throughput_64b_shm",
        "spawn_process_first_rpc",
        "spawn_thread_first_rpc",
        "spawn8_concurrent_ready",
        "tree_cancel_1_2_4",
        "idle_actor_rss_process",
        "idle_actor_rss_thread",
        "codec_start_msg",
    ] {
        let f = &figs[name];
        assert!(f["p50"].as_f64().is_some_and(|v| v > 0.0), "{name}: {f}");
        assert!(f["unit"].is_string(), "{name}");
        assert!(f["met"].is_boolean(), "{name}");
        if !f["floor"].is_null() {
            assert!(f["floor"].as_f64().unwrap() > 0.0, "{name}: floor");
            assert!(f["ratio"].as_f64().is_some(), "{name}: ratio");
        }
    }
    assert!(table.contains("rpc_rtt_uds"), "the table goes to stderr");
    // TLS is held to the plain TCP figure of the same run.
    assert_eq!(figs["rpc_rtt_tcp_tls"]["floor"], figs["rpc_rtt_tcp"]["p50"]);
}

#[test]
fn quick_envctl_run_prints_its_figures_beside_floors() {
    let (doc, table) = bench(&["--quick", "--envctl"]);
    assert!(
        table.contains("envctl_warm_resume"),
        "the table goes to stderr"
    );
    let figs = doc["figures"].as_object().expect("figures");
    for name in [
        "envctl_cold_start_2trees",
        "envctl_warm_resume",
        "envctl_crash_to_healthy",
        "envctl_health_10_services",
    ] {
        let f = &figs[name];
        assert!(f["p50"].as_f64().is_some_and(|v| v > 0.0), "{name}: {f}");
        assert!(
            f["floor"].as_f64().is_some_and(|v| v > 0.0),
            "{name}: floor {f}"
        );
        assert!(f["floor_name"].is_string(), "{name}");
    }
}
