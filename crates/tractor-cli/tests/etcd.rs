//! The registry on etcd, on one host, with a real etcd per test
//! (`tractor::testing::etcd`: free ports, data under the test's temporary
//! folder, killed and removed at the end):
//!
//! * a client waiting for a service (an etcd watch) finds it once it
//!   registers and calls it; `tractor ps`, `call` and `tree` work with
//!   `--registry etcd://…`; a stopped service is gone at once;
//! * a `kill -9`ed service disappears when its lease expires;
//! * with etcd down: calls to a known peer keep working, `find_actor` and
//!   `tractor ps` fail in bounded time naming the registry, the service
//!   logs the outage once and registers again when etcd is back;
//! * a Python actor registering with `tractor registrar --store etcd://…`
//!   is listed by `tractor ps --registry etcd://…`;
//! * a malformed `etcd://` address is refused in words.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::Signal;
use tokio_util::sync::CancellationToken;
use tractor::RuntimeVars;
use tractor::discovery::etcd::EtcdRegistry;
use tractor::testing::etcd::Etcd;
use tractor::testing::{Program, example_path};
use tractor_util::*;

/// Helpers shared by the tests below.
mod tractor_util {
    use super::*;

    /// Session vars whose registry is `etcd`, with a lease TTL of `ttl`
    /// seconds.
    pub fn etcd_vars(etcd: &Etcd, ttl: u64) -> RuntimeVars {
        let (mut rv, _) = session();
        rv.set_registry(etcd.endpoints().into());
        rv.etcd_lease_ttl_secs = ttl;
        rv
    }

    pub fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// Runs `f` with a query client of `etcd` (bounded by [`LIMIT`]).
    pub fn with_registry<T>(
        etcd: &Etcd,
        f: impl AsyncFnOnce(EtcdRegistry) -> T,
    ) -> Result<T, tokio::time::error::Elapsed> {
        runtime().block_on(async {
            let reg = EtcdRegistry::connect(&etcd.endpoints())
                .await
                .expect("etcd client");
            tokio::time::timeout(LIMIT, f(reg)).await
        })
    }

    /// `tractor ps --registry <etcd>`: (exit code, output).
    pub fn ps(etcd: &Etcd, rv: &RuntimeVars) -> (i32, String) {
        let reg = etcd.endpoints().to_string();
        tractor(&["ps", "--registry", &reg], rv)
    }

    pub fn service(rv: &RuntimeVars) -> Program {
        let mut p = Program::start(&example_path("rust_service"), &[], rv).unwrap();
        p.wait_for_line("rust service ready", LIMIT).unwrap();
        p
    }
}

#[test]
fn a_waiting_client_finds_the_service_through_an_etcd_watch_and_the_cli_works_on_etcd() {
    let tmp = tempfile::tempdir().unwrap();
    let etcd = Etcd::start(tmp.path()).unwrap();
    let rv = etcd_vars(&etcd, 10);
    let reg = etcd.endpoints().to_string();

    // The client starts first: it blocks in wait_for_actor (a watch).
    let mut client = Program::start(
        &example_path("rust_client"),
        &["rust-ctx", "rustservice"],
        &rv,
    )
    .unwrap();
    client
        .wait_for_line("waiting for rustservice", LIMIT)
        .unwrap();
    let mut svc = service(&rv);
    let st = client.wait(LIMIT).unwrap();
    let out = client.transcript.join("\n");
    assert!(st.success(), "{out}");
    assert!(out.contains("rustservice says 20 + 22 = 42"), "{out}");
    assert!(out.contains("rust->rust context ok: 3 items"), "{out}");

    let (code, out) = ps(&etcd, &rv);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("rustservice"), "ps lists the service:\n{out}");
    assert!(
        !out.contains("rustclient"),
        "the client unregistered:\n{out}"
    );
    let (code, out) = tractor(&["ps", "--json", "--registry", &reg], &rv);
    assert_eq!(code, 0, "{out}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "rustservice")
        .expect("rustservice in ps --json");
    assert!(
        row["addrs"][0]
            .as_str()
            .unwrap()
            .starts_with("/ip4/127.0.0.1/tcp/"),
        "{row}"
    );

    let (code, out) = tractor(
        &[
            "call",
            "rustservice",
            "rust_service.add",
            "--kwargs",
            r#"{"x": 1, "y": 2}"#,
            "--registry",
            &reg,
        ],
        &rv,
    );
    assert_eq!((code, out.trim()), (0, "3"), "{out}");
    let (code, out) = tractor(&["tree", "--registry", &reg], &rv);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("rustservice"), "{out}");

    // A service that stops revokes its lease: gone at once.
    svc.signal(Signal::SIGINT);
    svc.wait(LIMIT).unwrap();
    let (code, out) = ps(&etcd, &rv);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("rustservice"), "{out}");
    drop(etcd);
    assert_clean(&rv);
}

#[test]
fn a_killed_service_disappears_when_its_lease_expires() {
    let tmp = tempfile::tempdir().unwrap();
    let etcd = Etcd::start(tmp.path()).unwrap();
    let ttl = 2;
    let rv = etcd_vars(&etcd, ttl);
    let mut svc = service(&rv);
    let found = with_registry(&etcd, async |r| r.find("rustservice").await.unwrap()).unwrap();
    assert!(!found.is_empty(), "registered before the kill");

    svc.signal(Signal::SIGKILL);
    svc.wait(LIMIT).unwrap();
    let killed = Instant::now();
    let never = CancellationToken::new();
    with_registry(&etcd, async |r| r.wait_gone("rustservice", &never).await)
        .expect("the entry goes within the limit")
        .unwrap();
    let gone_after = killed.elapsed();
    println!("gone {gone_after:?} after kill -9 (lease TTL {ttl} s)");
    // Nothing but the lease removes it: it must go within the TTL plus
    // etcd's expiry sweep (generously bounded for a loaded machine).
    assert!(gone_after < Duration::from_secs(ttl * 5), "{gone_after:?}");
    let (code, out) = ps(&etcd, &rv);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("rustservice"), "{out}");
    drop(etcd);
    assert_clean(&rv);
}

#[test]
fn with_etcd_down_known_peers_answer_lookups_fail_naming_etcd_and_registration_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut etcd = Etcd::start(tmp.path()).unwrap();
    let rv = etcd_vars(&etcd, 2);
    let reg = etcd.endpoints().to_string();
    let mut svc = service(&rv);
    let mut client = Program::start(
        &example_path("rust_client"),
        &["etcd-outage", "rustservice"],
        &rv,
    )
    .unwrap();
    client.wait_for_line("ready for the outage", LIMIT).unwrap();

    etcd.kill();
    client.signal(Signal::SIGUSR1);
    let st = client.wait(LIMIT).unwrap();
    let out = client.transcript.join("\n");
    assert!(st.success(), "{out}");
    assert!(out.contains("call during the outage: 42"), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("find_actor during the outage:"))
        .unwrap_or_else(|| panic!("no find_actor line:\n{out}"));
    assert!(
        line.contains(&format!("etcd registry at {reg}")),
        "the error names the registry: {line}"
    );

    let started = Instant::now();
    let (code, out) = ps(&etcd, &rv);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("etcd registry at {reg}")), "{out}");
    println!("tractor ps failed after {:?}", started.elapsed());

    svc.wait_for_line("etcd registry unreachable", LIMIT)
        .unwrap();
    etcd.restart().unwrap();
    svc.wait_for_line("etcd registry reachable again", LIMIT)
        .unwrap();
    let found = with_registry(&etcd, async |r| r.find("rustservice").await.unwrap()).unwrap();
    assert!(!found.is_empty());

    svc.signal(Signal::SIGINT);
    svc.wait(LIMIT).unwrap();
    let outages = svc
        .transcript
        .iter()
        .filter(|l| l.contains("etcd registry unreachable"))
        .count();
    assert_eq!(
        outages,
        1,
        "logged once per state change:\n{}",
        svc.transcript.join("\n")
    );
    drop(etcd);
    assert_clean(&rv);
}

#[test]
fn a_malformed_etcd_address_is_refused_in_words() {
    let (rv, _) = session();
    let (code, out) = tractor(&["ps", "--registry", "etcd://nohost"], &rv);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("has no :PORT"), "{out}");
    let (code, out) = tractor(&["ps", "--registry", "http://x:1"], &rv);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("unknown registry scheme"), "{out}");
    assert_clean(&rv);
}

#[test]
fn a_python_actor_registering_with_an_etcd_backed_registrar_lands_in_etcd() {
    let tmp = tempfile::tempdir().unwrap();
    let etcd = Etcd::start(tmp.path()).unwrap();
    let (rv, reg) = session();
    let store = etcd.endpoints().to_string();
    let regs = reg.to_string();
    let mut registrar = Program::start(
        &tractor_bin(),
        &["registrar", "--addr", &regs, "--store", &store],
        &rv,
    )
    .unwrap();
    registrar
        .wait_for_line("its table kept in etcd://", LIMIT)
        .unwrap();

    let xdg = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        xdg.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let tractor::ipc::Addr::Tcp(sa) = &reg else {
        panic!("a TCP registrar")
    };
    let py_reg = format!("tcp:{}:{}", sa.ip(), sa.port());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/py_service.py");
    let xdg_s = xdg.path().to_str().unwrap().to_owned();
    let mut py = Program::start_with_env(
        &python(),
        &[script.to_str().unwrap(), &py_reg, "pyservice"],
        &rv,
        &[("XDG_RUNTIME_DIR", &xdg_s)],
    )
    .unwrap();
    py.wait_for_line("ready", LIMIT).unwrap();
    // The registrar writes its table to etcd in the background: wait on
    // etcd's watch for the entry.
    let never = CancellationToken::new();
    let addrs = with_registry(&etcd, async |r| r.wait_for("pyservice", &never).await)
        .expect("pyservice reaches etcd")
        .unwrap();
    assert!(!addrs.is_empty());
    let (code, out) = ps(&etcd, &rv);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("pyservice"), "{out}");
    assert!(
        out.contains("registrar"),
        "the registrar itself too:\n{out}"
    );

    py.signal(Signal::SIGKILL);
    py.wait(LIMIT).unwrap();
    registrar.signal(Signal::SIGINT);
    registrar.wait(LIMIT).unwrap();
    // The registrar's lease went with it: so did the entries.
    let (code, out) = ps(&etcd, &rv);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("pyservice"), "{out}");
    drop(etcd);
    assert_clean(&rv);
}
