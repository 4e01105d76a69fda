//! Two "hosts" on one machine: network namespaces joined by a veth pair
//! (needs root; CI runs as root).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use tractor::RuntimeVars;
use tractor::testing::Program;

use super::{LIMIT, tractor};

/// Host A's address.
pub const HOST_A: &str = "10.77.0.1";
/// Host B's address.
pub const HOST_B: &str = "10.77.0.2";

/// A cluster CA in `root/name` (`tractor certs init`) and a node folder
/// for each host (`tractor certs issue`): (host A's, host B's).
pub fn cluster(root: &Path, name: &str, rv: &RuntimeVars) -> (PathBuf, PathBuf) {
    let ca = root.join(name);
    let ca_s = ca.to_str().unwrap();
    let (code, out) = tractor(&["certs", "init", ca_s], rv);
    assert_eq!(code, 0, "{out}");
    for host in [HOST_A, HOST_B] {
        let (code, out) = tractor(&["certs", "issue", "--name", host, ca_s], rv);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("TRACTOR_TLS_DIR="), "{out}");
    }
    (ca.join(HOST_A), ca.join(HOST_B))
}

pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Two namespaces, `a` (10.77.0.1/24) and `b` (10.77.0.2/24), joined by a
/// veth pair, loopback up in each; names unique per process and test, so
/// concurrent runs never collide. Deleted on drop (the veth pair goes with
/// its namespaces), even when the test fails.
pub struct TwoHosts {
    /// Host A's namespace.
    pub a: String,
    /// Host B's namespace.
    pub b: String,
    /// The veth ends in A and B.
    veth: (String, String),
}

impl TwoHosts {
    /// `None` (after printing why) when we are not root.
    pub fn new() -> Option<TwoHosts> {
        if !nix::unistd::geteuid().is_root() {
            println!("skipped: needs root for ip netns");
            eprintln!("skipped: needs root for ip netns");
            return None;
        }
        static N: AtomicU32 = AtomicU32::new(0);
        let tag = format!(
            "{}x{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        // Interface names are at most 15 bytes.
        let (va, vb) = (format!("tva{tag}"), format!("tvb{tag}"));
        let hosts = TwoHosts {
            a: format!("tr2h-{tag}-a"),
            b: format!("tr2h-{tag}-b"),
            veth: (va.clone(), vb.clone()),
        };
        let setup = || -> Result<(), String> {
            ip(&["netns", "add", &hosts.a])?;
            ip(&["netns", "add", &hosts.b])?;
            ip(&[
                "link", "add", &va, "netns", &hosts.a, "type", "veth", "peer", "name", &vb,
                "netns", &hosts.b,
            ])?;
            for (ns, dev, addr) in [(&hosts.a, &va, HOST_A), (&hosts.b, &vb, HOST_B)] {
                ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev])?;
                ip(&["-n", ns, "link", "set", dev, "up"])?;
                ip(&["-n", ns, "link", "set", "lo", "up"])?;
            }
            Ok(())
        };
        if let Err(e) = setup() {
            panic!("cannot build two hosts: {e}");
        }
        Some(hosts)
    }

    /// Starts `bin ARGS` inside namespace `ns` with `rv` as its envelope.
    pub fn start(&self, ns: &str, bin: &Path, args: &[&str], rv: &RuntimeVars) -> Program {
        let bin = bin.to_str().unwrap();
        let mut all = vec!["netns", "exec", ns, bin];
        all.extend_from_slice(args);
        Program::start(Path::new("ip"), &all, rv).expect("ip netns exec runs")
    }

    /// Runs `bin ARGS` in `ns` to the end: (exit code, output).
    pub fn run(&self, ns: &str, bin: &Path, args: &[&str], rv: &RuntimeVars) -> (i32, String) {
        let mut p = self.start(ns, bin, args, rv);
        let st = p.wait(LIMIT).expect("finishes");
        (st.code().unwrap_or(-1), p.transcript.join("\n"))
    }
}

impl TwoHosts {
    /// Takes the link between the hosts down (a partition) or up again.
    pub fn link(&self, up: bool) {
        let state = if up { "up" } else { "down" };
        for (ns, dev) in [(&self.a, &self.veth.0), (&self.b, &self.veth.1)] {
            ip(&["-n", ns, "link", "set", dev, state]).expect("ip link set");
        }
    }
}

impl Drop for TwoHosts {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}
