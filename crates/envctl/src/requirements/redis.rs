//! Redis via `redis-server` (no persistence), readiness by `PING`.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use super::{DepError, Dependency, Instance};
use crate::procs;

/// The Redis dependency.
#[derive(Debug, Default)]
pub struct Redis;

fn ping(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], port).into(),
        Duration::from_secs(1),
    ) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"*1\r\n$4\r\nPING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
}

impl Dependency for Redis {
    fn id(&self) -> &'static str {
        "redis"
    }

    fn port_key(&self) -> &'static str {
        "REDIS_PORT"
    }

    fn start(&self, port: u16, dir: &Path, owner: &procs::Owner) -> Result<Instance, DepError> {
        let err = |why: String| DepError { dep: "redis", why };
        std::fs::create_dir_all(dir)
            .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
        let argv: Vec<String> = [
            "redis-server",
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            &dir.display().to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            // Redis rewrites its process title over the memory that holds
            // its environment; keep the environment (and with it the
            // ownership marker) readable.
            "--set-proc-title",
            "no",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let log = dir.join("redis.log");
        let ident = procs::launch(&procs::Launch {
            argv: &argv,
            cwd: dir,
            env: &[],
            log: &log,
            owner,
        })
        .map_err(|e| {
            err(format!(
                "{e} (is redis-server installed? apt-get install redis-server)"
            ))
        })?;
        let inst = Instance {
            id: "redis".into(),
            owner: String::new(),
            port,
            ident,
            data_dir: dir.to_path_buf(),
            marker: owner.to_string(),
        };
        if !procs::wait_until(Duration::from_secs(20), || {
            self.ready(&inst) || !procs::alive(&inst.ident)
        }) || !procs::alive(&inst.ident)
        {
            let log = std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default();
            self.stop(&inst);
            return Err(err(format!(
                "did not answer PING on port {port}; log: {}",
                log.lines().last().unwrap_or("(empty)")
            )));
        }
        Ok(inst)
    }

    fn ready(&self, inst: &Instance) -> bool {
        ping(inst.port)
    }

    fn stop(&self, inst: &Instance) {
        procs::stop_owned(&inst.ident, inst.marker(), Duration::from_secs(3));
    }

    fn project_env(
        &self,
        inst: &Instance,
        _project: &str,
        slot: u32,
        shared: bool,
    ) -> Result<Vec<(String, String)>, DepError> {
        // Shared: the database number the caller allocated for this
        // worktree (unique on the server); isolated: DB 0 of its own server.
        let db = if shared { slot % 16 } else { 0 };
        Ok(vec![
            ("REDIS_PORT".into(), inst.port.to_string()),
            ("REDIS_HOST".into(), "127.0.0.1".into()),
            (
                "REDIS_URL".into(),
                format!("redis://127.0.0.1:{}/{db}", inst.port),
            ),
        ])
    }
}
