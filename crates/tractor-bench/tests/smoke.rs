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

/// Figures measured in each CPU placement, against a floor of their own.
const PLACED: &[&str] = &[
    "rpc_rtt_uds",
    "rpc_rtt_tcp",
    "rpc_rtt_tcp_tls",
    "ctx_open_result",
    "stream_echo",
    "stream_throughput_64b",
    "stream_throughput_64b_shm",
];

/// Figures measured once, unplaced.
const UNPLACED: &[&str] = &[
    "spawn_process_first_rpc",
    "spawn_thread_first_rpc",
    "spawn8_concurrent_ready",
    "tree_cancel_1_2_4",
    "idle_actor_rss_process",
    "idle_actor_rss_thread",
    "codec_start_msg",
    "codec_start_msg_typed",
    "etcd_register_visible",
];

fn well_formed(name: &str, f: &serde_json::Value) {
    assert!(f["p50"].as_f64().is_some_and(|v| v > 0.0), "{name}: {f}");
    assert!(f["unit"].is_string(), "{name}");
    assert!(f["met"].is_boolean(), "{name}");
    if !f["floor"].is_null() {
        assert!(f["floor"].as_f64().unwrap() > 0.0, "{name}: floor");
        assert!(f["ratio"].as_f64().is_some(), "{name}: ratio");
    }
}

#[test]
fn quick_run_prints_every_figure_with_a_floor_or_goal() {
    let (doc, table) = bench(&["--quick"]);
    assert_eq!(doc["meta"]["quick"], true);
    let modes: Vec<&str> = doc["meta"]["modes"]
        .as_array()
        .expect("meta.modes")
        .iter()
        .map(|m| m.as_str().expect("a mode name"))
        .collect();
    assert_eq!(modes[0], "pinned", "{modes:?}");
    let cpus = doc["meta"]["cpus"].as_u64().unwrap();
    if cpus >= 2 {
        assert_eq!(modes, ["pinned", "spread"]);
    } else {
        assert!(doc["meta"]["skipped"]["spread"].is_string());
    }
    let figs = doc["figures"].as_object().expect("figures");
    for mode in &modes {
        for name in PLACED {
            let key = format!("{name}.{mode}");
            let f = &figs[&key];
            well_formed(&key, f);
            assert_eq!(f["mode"], *mode, "{key}");
            // Held to a floor of its own placement, with CPU time per
            // operation beside the floor's.
            assert_eq!(f["floor_mode"], *mode, "{key}: {f}");
            assert!(f["ratio"].as_f64().is_some(), "{key}: {f}");
            assert!(
                f["cpu_per_op_us"].as_f64().is_some_and(|v| v > 0.0),
                "{key}: {f}"
            );
            assert!(
                f["floor_cpu_per_op_us"].as_f64().is_some_and(|v| v > 0.0),
                "{key}: {f}"
            );
            assert!(!f["rounds"].as_array().unwrap().is_empty(), "{key}: rounds");
        }
        // TLS is held to the plain TCP figure of the same run and mode.
        assert_eq!(
            figs[&format!("rpc_rtt_tcp_tls.{mode}")]["floor"],
            figs[&format!("rpc_rtt_tcp.{mode}")]["p50"]
        );
    }
    for name in UNPLACED {
        let f = &figs[*name];
        well_formed(name, f);
        assert!(f["mode"].is_null(), "{name}");
    }
    assert!(
        figs["codec_start_msg"]["floor_name"] == "rmp_serde_struct_round_trip",
        "the codec is held to a plain serde round trip"
    );
    // The two figures with an absolute goal name the floor of what they
    // are made of, measured in the same run.
    assert_eq!(
        figs["idle_actor_rss_process"]["floor_name"],
        "raw_idle_runtime_process"
    );
    let note = figs["spawn_thread_first_rpc"]["note"]
        .as_str()
        .unwrap_or("");
    assert!(note.contains("raw_warm_thread_reply"), "{note}");
    assert!(table.contains("rpc_rtt_uds"), "the table goes to stderr");
    assert!(table.contains("pinned"), "the table shows the mode");
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
