//! The etcd registry across two "hosts" (network namespaces joined by a
//! veth pair): etcd runs on host A, the Rust service on host B registers
//! in it, and a root on host A finds it by name and calls it over mutual
//! TLS. `kill -9` of the service, or a partition (the link down), removes
//! it from etcd within the lease's TTL (seen by a watcher on A); when the
//! link comes back the service registers again; a call over a connection
//! into the partition fails in bounded time.
//!
//! Needs root (`ip netns`); without it each test prints a visible
//! "skipped" line and returns. CI runs as root.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::netns::{HOST_A, HOST_B, TwoHosts, cluster};
use common::*;
use nix::sys::signal::Signal;
use tractor::RuntimeVars;
use tractor::testing::etcd::Etcd;
use tractor::testing::{Program, example_path};

/// The lease TTL the service uses, in seconds.
const TTL: u64 = 2;

/// etcd on host A, at 10.77.0.1:2379 (its own namespace: the port is ours).
fn etcd_on_a(hosts: &TwoHosts, dir: &Path) -> Etcd {
    Etcd::start_at(dir, HOST_A, 2379, 2380, &["ip", "netns", "exec", &hosts.a]).unwrap()
}

/// One host's vars: etcd as the registry, actors listening on the host's
/// address, its TLS folder, a short TTL.
fn host_vars(rv: &RuntimeVars, etcd: &Etcd, host: &str, tls_dir: &Path) -> RuntimeVars {
    let mut v = rv.clone();
    v.listen_host = Some(host.parse().unwrap());
    v.set_registry(etcd.endpoints().into());
    v.etcd_lease_ttl_secs = TTL;
    v.tls_dir = Some(tls_dir.to_path_buf());
    v
}

/// The bound for "gone within the TTL": the TTL plus etcd's expiry sweep
/// and a loaded machine's delays, generously.
fn within_ttl() -> Duration {
    Duration::from_secs(TTL * 5)
}

/// Fields drop in order: the programs, etcd, its folder, then the hosts.
struct World {
    service: Program,
    watcher: Program,
    etcd: Etcd,
    _tmp: tempfile::TempDir,
    a_vars: RuntimeVars,
    rv: RuntimeVars,
    hosts: TwoHosts,
}

impl World {
    /// Two hosts, etcd on A, the service on B (registered), a watcher on A
    /// that has seen it register.
    fn new() -> Option<World> {
        let hosts = TwoHosts::new()?;
        let (rv, _) = session();
        let tmp = tempfile::tempdir().unwrap();
        let (a_dir, b_dir) = cluster(tmp.path(), "ca", &rv);
        let etcd = etcd_on_a(&hosts, tmp.path());
        let b_vars = host_vars(&rv, &etcd, HOST_B, &b_dir);
        let a_vars = host_vars(&rv, &etcd, HOST_A, &a_dir);
        let mut service = hosts.start(&hosts.b, &example_path("rust_service"), &[], &b_vars);
        service.wait_for_line("rust service ready", LIMIT).unwrap();
        let mut watcher = hosts.start(
            &hosts.a,
            &example_path("rust_client"),
            &["etcd-watch", "rustservice"],
            &a_vars,
        );
        watcher
            .wait_for_line("rustservice registered", LIMIT)
            .unwrap();
        Some(World {
            hosts,
            rv,
            _tmp: tmp,
            etcd,
            a_vars,
            service,
            watcher,
        })
    }

    /// `tractor ps --registry etcd://…` on host A.
    fn ps_on_a(&self) -> String {
        let reg = self.etcd.endpoints().to_string();
        let (code, out) = self.hosts.run(
            &self.hosts.a,
            &tractor_bin(),
            &["ps", "--registry", &reg],
            &self.a_vars,
        );
        assert_eq!(code, 0, "{out}");
        out
    }

    fn finish(mut self) {
        self.watcher.signal(Signal::SIGKILL);
        self.watcher.wait(LIMIT).unwrap();
        if self.service.wait(Duration::ZERO).is_err() {
            self.service.signal(Signal::SIGINT);
            self.service.wait(LIMIT).unwrap();
        }
        let rv = self.rv.clone();
        drop(self);
        assert_clean(&rv);
    }
}

#[test]
fn a_root_on_a_finds_the_service_on_b_in_etcd_and_kill_9_removes_it_within_the_ttl() {
    let Some(mut w) = World::new() else {
        return;
    };
    // Found by name through etcd, called over mutual TLS, a context
    // streamed both ways.
    let (code, out) = w.hosts.run(
        &w.hosts.a,
        &example_path("rust_client"),
        &["rust-ctx", "rustservice"],
        &w.a_vars,
    );
    assert_eq!(code, 0, "{out}");
    for line in [
        "rustservice says 20 + 22 = 42",
        "rust->rust context ok: 3 items",
    ] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }
    let out = w.ps_on_a();
    assert!(out.contains("rustservice"), "{out}");
    assert!(out.contains(&format!("/ip4/{HOST_B}/tcp/")), "{out}");

    w.service.signal(Signal::SIGKILL);
    let killed = Instant::now();
    w.service.wait(LIMIT).unwrap();
    w.watcher.wait_for_line("rustservice gone", LIMIT).unwrap();
    let after = killed.elapsed();
    println!("gone {after:?} after kill -9 (TTL {TTL} s)");
    assert!(after < within_ttl(), "{after:?}");
    let out = w.ps_on_a();
    assert!(!out.contains("rustservice"), "{out}");
    w.finish();
}

#[test]
fn a_partition_removes_the_service_healing_re_registers_it_and_calls_into_it_fail_in_bounded_time()
{
    let Some(mut w) = World::new() else {
        return;
    };
    // A client on A with a connection to the service on B.
    let mut client = w.hosts.start(
        &w.hosts.a,
        &example_path("rust_client"),
        &["etcd-outage", "rustservice"],
        &w.a_vars,
    );
    client.wait_for_line("ready for the outage", LIMIT).unwrap();

    w.hosts.link(false);
    let cut = Instant::now();
    w.watcher.wait_for_line("rustservice gone", LIMIT).unwrap();
    let after = cut.elapsed();
    println!("gone {after:?} after the partition (TTL {TTL} s)");
    assert!(after < within_ttl(), "{after:?}");
    w.service
        .wait_for_line("etcd registry unreachable", LIMIT)
        .unwrap();

    // A call over the open connection into the partition fails, in
    // bounded time (dead-peer detection), instead of hanging.
    let asked = Instant::now();
    client.signal(Signal::SIGUSR1);
    let line = client
        .wait_for_line("call during the outage", LIMIT)
        .unwrap();
    println!("{line} (after {:?})", asked.elapsed());
    assert!(line.contains("failed"), "{line}");
    client.wait(LIMIT).unwrap();

    // The link comes back: the service registers again.
    w.hosts.link(true);
    w.service
        .wait_for_line("etcd registry reachable again", LIMIT)
        .unwrap();
    w.watcher
        .wait_for_line("rustservice registered", LIMIT)
        .unwrap();
    let out = w.ps_on_a();
    assert!(out.contains("rustservice"), "{out}");
    w.finish();
}
