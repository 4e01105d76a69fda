//! Two "hosts" — network namespaces joined by a veth pair — talking over
//! mutual TLS: the Rust service on host B (also the registrar), a root on
//! host A that finds it and streams a context both ways; a client whose
//! certificate comes from another CA is refused with the cause named on
//! both sides while the service keeps serving; a listener beyond loopback
//! without TLS refuses to start, in words naming the fix.
//!
//! Needs root (`ip netns`); without it each test prints a visible
//! "skipped" line and returns. CI runs as root.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use common::netns::{HOST_B, TwoHosts, cluster};
use common::*;
use nix::sys::signal::Signal;
use tractor::RuntimeVars;
use tractor::testing::example_path;

/// The service's (and registrar's) address on host B, with TLS.
fn service_addr() -> String {
    format!("/ip4/{HOST_B}/tcp/1616/tls")
}

/// Session vars for one host: the registrar is the service on B, over TLS.
fn host_vars(rv: &RuntimeVars, tls_dir: Option<&Path>) -> RuntimeVars {
    let mut v = rv.clone();
    v.registry_addrs = vec![service_addr().parse().unwrap()];
    v.tls_dir = tls_dir.map(Path::to_path_buf);
    v
}

#[test]
fn a_root_on_host_a_calls_the_service_on_host_b_over_mutual_tls() {
    let Some(hosts) = TwoHosts::new() else {
        return;
    };
    let (rv, _) = session();
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = cluster(tmp.path(), "ca", &rv);
    // Host A's rogue twin: it trusts our CA, but its certificate comes
    // from another one.
    let (rogue_cert, _) = cluster(tmp.path(), "rogue", &rv);
    let rogue_a = tmp.path().join("rogue-a");
    std::fs::create_dir(&rogue_a).unwrap();
    std::fs::copy(a_dir.join("ca.pem"), rogue_a.join("ca.pem")).unwrap();
    for f in ["node.pem", "node.key"] {
        std::fs::copy(rogue_cert.join(f), rogue_a.join(f)).unwrap();
    }

    let mut service = hosts.start(
        &hosts.b,
        &example_path("rust_service"),
        &[],
        &host_vars(&rv, Some(&b_dir)),
    );
    service.wait_for_line("rust service ready", LIMIT).unwrap();

    // Host A: a root that finds the service by name through the registrar
    // on B, calls it and streams a context both ways.
    let a_vars = host_vars(&rv, Some(&a_dir));
    let (code, out) = hosts.run(
        &hosts.a,
        &example_path("rust_client"),
        &["rust-ctx", "rustservice"],
        &a_vars,
    );
    assert_eq!(code, 0, "{out}");
    for line in [
        "rustservice says 20 + 22 = 42",
        "started: hi from the client",
        "echoed: 2",
        "rust->rust context ok: 3 items",
    ] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }

    // A client with a certificate from another CA: refused at the
    // handshake, the cause named on both sides.
    let svc = service_addr();
    let call = [
        "call",
        "rustservice",
        "rust_service.add",
        "--kwargs",
        r#"{"x": 1, "y": 2}"#,
        "--registry",
        svc.as_str(),
    ];
    let tractor_bin = tractor_bin();
    let (code, out) = hosts.run(
        &hosts.a,
        &tractor_bin,
        &call,
        &host_vars(&rv, Some(&rogue_a)),
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("refused our certificate") && out.contains("cluster CA"),
        "the client names the cause:\n{out}"
    );
    service
        .wait_for_line("not signed by our cluster CA", LIMIT)
        .expect("the service logs the refusal");

    // The service keeps serving the good client.
    let (code, out) = hosts.run(&hosts.a, &tractor_bin, &call, &a_vars);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.trim(), "3", "{out}");

    service.signal(Signal::SIGINT);
    service.wait(LIMIT).unwrap();
    drop(service);
    drop(hosts);
    assert_clean(&rv);
}

#[test]
fn a_listener_beyond_loopback_without_tls_refuses_to_start() {
    let Some(hosts) = TwoHosts::new() else {
        return;
    };
    let (rv, _) = session();
    let plain = format!("/ip4/{HOST_B}/tcp/1616");
    let tractor_bin = tractor_bin();
    let mut no_tls = rv.clone();
    no_tls.tls_dir = None;
    let (code, out) = hosts.run(
        &hosts.b,
        &tractor_bin,
        &["registrar", "--addr", &plain],
        &no_tls,
    );
    assert_eq!(code, 1, "{out}");
    for words in [
        format!("refusing to listen on {plain} without TLS"),
        "TRACTOR_TLS_DIR".into(),
        "tractor certs init".into(),
        "--insecure".into(),
    ] {
        assert!(out.contains(&words), "{words:?} missing:\n{out}");
    }
    // The service refuses the same way.
    let mut svc_vars = no_tls.clone();
    svc_vars.registry_addrs = vec![plain.parse().unwrap()];
    let (code, out) = hosts.run(&hosts.b, &example_path("rust_service"), &[], &svc_vars);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("without TLS"), "{out}");

    // --insecure says so, and it starts.
    let mut reg = hosts.start(
        &hosts.b,
        &tractor_bin,
        &["registrar", "--insecure", "--addr", &plain],
        &no_tls,
    );
    reg.wait_for_line("registrar listening on", LIMIT).unwrap();
    // Host A reaches it over plain TCP only with --insecure too.
    let ps = ["ps", "--registry", plain.as_str()];
    let (code, out) = hosts.run(&hosts.a, &tractor_bin, &ps, &no_tls);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("refusing to connect to {plain} without TLS")),
        "{out}"
    );
    let ps = ["ps", "--insecure", "--registry", plain.as_str()];
    let (code, out) = hosts.run(&hosts.a, &tractor_bin, &ps, &no_tls);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("registrar"), "{out}");
    reg.signal(Signal::SIGINT);
    let st = reg.wait(LIMIT).unwrap();
    // The registrar ends by the signal that stopped it (after a clean shutdown).
    assert_eq!(
        (st.code(), st.signal()),
        (None, Some(Signal::SIGINT as i32)),
        "{st:?}: {}",
        reg.transcript.join("\n")
    );
    drop(reg);
    drop(hosts);
    assert_clean(&rv);
}
