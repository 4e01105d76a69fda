//! A Python tractor actor as the child of a Rust nursery (spec §4.2): run
//! `python -m tractor._child --uid "('name', 'uuid')" --parent_addr
//! "(...)"`; the child dials back, and from the Aid exchange on it is the
//! same protocol as for our own children (`SpawnSpec`, serving,
//! `self.cancel`). So a Rust program can supervise Python workers with the
//! same no-orphan guarantee: the child is in its own process group, gets
//! SIGKILL if we die (`PR_SET_PDEATHSIG` survives `exec`), and is reaped.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::process::{ProcChild, arm_parent_death_signal};
use super::{ChildActor, SpawnBackend, SpawnRequest};
use crate::errors::Error;
use crate::ipc::Addr;

/// Spawns Python tractor actors.
#[derive(Clone, Debug)]
pub struct PythonBackend {
    /// The Python interpreter (of a virtualenv with `tractor` installed).
    pub python: PathBuf,
    /// Modules the child may need to import, as (module, source file):
    /// sent in `SpawnSpec.enable_modules`, and their folders are put on
    /// the child's `PYTHONPATH`.
    pub modules: Vec<(String, PathBuf)>,
}

/// Python's `repr()` of a str, for the `--uid`/`--parent_addr` literals.
fn py_str(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

impl PythonBackend {
    fn parent_literal(addr: &Addr) -> String {
        match addr.to_wire() {
            crate::msg::WireAddr::Tcp { host, port } => format!("({}, {port})", py_str(&host)),
            crate::msg::WireAddr::Uds { dir, file } => {
                format!("({}, {})", py_str(&dir), py_str(&file))
            }
        }
    }
}

impl SpawnBackend for PythonBackend {
    fn name(&self) -> &'static str {
        "python"
    }

    fn enable_modules(&self, enable: &[&str]) -> Vec<(String, String)> {
        enable
            .iter()
            .map(|ns| {
                let path = self
                    .modules
                    .iter()
                    .find(|(m, _)| m == ns)
                    .map(|(_, p)| p.display().to_string())
                    .unwrap_or_default();
                (ns.to_string(), path)
            })
            .collect()
    }

    fn spawn(&self, req: SpawnRequest) -> Result<Box<dyn ChildActor>, Error> {
        let info = req.rtv.spawn.as_ref().ok_or_else(|| Error::Spawn {
            name: req.uid.name.clone(),
            reason: "no parent address in the spawn request".into(),
        })?;
        let uid = format!("({}, {})", py_str(&req.uid.name), py_str(&req.uid.uuid));
        let parent = Self::parent_literal(&info.parent_addr);
        let mut path: Vec<String> = self
            .modules
            .iter()
            .filter_map(|(_, p)| p.parent().map(|d| d.display().to_string()))
            .collect();
        if let Ok(existing) = std::env::var("PYTHONPATH") {
            path.push(existing);
        }
        let mut cmd = Command::new(&self.python);
        cmd.args([
            "-m",
            "tractor._child",
            "--uid",
            &uid,
            "--parent_addr",
            &parent,
        ])
        .env("PYTHONPATH", path.join(":"))
        .env(
            "XDG_RUNTIME_DIR",
            req.rtv
                .bind_dir
                .parent()
                .and_then(|p| p.parent())
                .unwrap_or(&req.rtv.bind_dir),
        )
        .env_remove(crate::runtime::state::ENV_VAR)
        // In debug mode Python's debugger (pdb) reads our stdin: the
        // terminal, which the root lends it while it holds the lock.
        .stdin(if req.rtv.debug_mode {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .process_group(0);
        arm_parent_death_signal(&mut cmd);
        ProcChild::spawn(cmd, &req.uid.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_what_python_reads() {
        assert_eq!(py_str("it's"), "'it\\'s'");
        let a: Addr = "/ip4/127.0.0.1/tcp/4242".parse().unwrap();
        assert_eq!(PythonBackend::parent_literal(&a), "('127.0.0.1', 4242)");
        let u: Addr = "/unix/run/t/root@1.sock".parse().unwrap();
        assert_eq!(
            PythonBackend::parent_literal(&u),
            "('/run/t', 'root@1.sock')"
        );
    }
}
