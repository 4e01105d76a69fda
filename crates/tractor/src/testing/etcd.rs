//! A real etcd server for one test: started on free loopback ports (or an
//! address in a network namespace) with its data folder under the test's
//! temporary folder; killed, reaped and its folder removed on drop, so no
//! process or directory outlives the test.
//!
//! Readiness is etcd's own log line ("serving client traffic"), read from
//! its stderr: no polling, no sleeps. Needs the `etcd` binary (Debian's
//! `etcd-server`, installed by `scripts/install-deps.sh`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::runtime::registry_addr::EtcdEndpoints;

/// etcd's log line once it accepts client requests.
const READY: &str = "serving client traffic";

/// One etcd member, a cluster of its own.
#[derive(Debug)]
pub struct Etcd {
    child: Option<Child>,
    host: String,
    client_port: u16,
    peer_port: u16,
    data_dir: PathBuf,
    prefix: Vec<String>,
}

impl Etcd {
    /// Starts etcd on free loopback ports with its data in `dir/etcd`.
    pub fn start(dir: &Path) -> Result<Etcd, String> {
        let client_port = super::free_tcp_port().port();
        let peer_port = super::free_tcp_port().port();
        Self::start_at(dir, "127.0.0.1", client_port, peer_port, &[])
    }

    /// Starts etcd listening on `host:client_port` (peers on `peer_port`),
    /// run through `prefix` (e.g. `ip netns exec NS`) when not empty.
    pub fn start_at(
        dir: &Path,
        host: &str,
        client_port: u16,
        peer_port: u16,
        prefix: &[&str],
    ) -> Result<Etcd, String> {
        let mut e = Etcd {
            child: None,
            host: host.to_owned(),
            client_port,
            peer_port,
            data_dir: dir.join(format!("etcd-{client_port}")),
            prefix: prefix.iter().map(|s| (*s).to_owned()).collect(),
        };
        e.restart()?;
        Ok(e)
    }

    /// (Re)starts the server after [`Etcd::kill`], on the same ports and
    /// data, and waits until it serves clients.
    pub fn restart(&mut self) -> Result<(), String> {
        let client = format!("http://{}:{}", self.host, self.client_port);
        let peer = format!("http://{}:{}", self.host, self.peer_port);
        let mut argv: Vec<String> = self.prefix.clone();
        argv.push("etcd".into());
        argv.extend(
            [
                "--name",
                "t",
                "--data-dir",
                self.data_dir.to_str().ok_or("data dir is not UTF-8")?,
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
                "--initial-cluster",
                &format!("t={peer}"),
                "--logger",
                "zap",
            ]
            .iter()
            .map(|s| (*s).to_owned()),
        );
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!("cannot start etcd ({e}): install Debian's etcd-server (scripts/install-deps.sh)")
            })?;
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().ok_or("no stderr pipe")?;
        std::thread::spawn(move || {
            // Reads to the end so etcd never blocks on a full pipe.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        self.child = Some(child);
        let mut seen = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) if line.contains(READY) => return Ok(()),
                Ok(line) => seen.push(line),
                Err(_) => {
                    self.kill();
                    return Err(format!(
                        "etcd did not start serving clients:\n{}",
                        seen.join("\n")
                    ));
                }
            }
        }
    }

    /// The client endpoint as a registry address.
    pub fn endpoints(&self) -> EtcdEndpoints {
        format!("etcd://{}:{}", self.host, self.client_port)
            .parse()
            .expect("a valid etcd address")
    }

    /// The server's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `kill -9` and reap the server (its data stays for a restart).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
