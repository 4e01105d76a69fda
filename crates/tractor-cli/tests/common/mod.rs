//! Shared by the CLI's test files: the `tractor` binary and session vars.

#![allow(dead_code)]

pub mod netns;

use std::path::PathBuf;
use std::time::Duration;

use tractor::RuntimeVars;
use tractor::ipc::Addr;
use tractor::testing::{Program, session_vars_for};

pub const LIMIT: Duration = Duration::from_secs(60);

pub fn tractor_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tractor"))
}

/// Session vars whose registrar is a fresh loopback TCP address.
pub fn session() -> (RuntimeVars, Addr) {
    let rv = session_vars_for(tractor::ipc::Proto::Tcp);
    let reg = rv.registrars().remove(0);
    (rv, reg)
}

/// Runs `tractor ARGS` to the end; (exit code, stdout+stderr).
pub fn tractor(args: &[&str], rv: &RuntimeVars) -> (i32, String) {
    let mut p = Program::start(&tractor_bin(), args, rv).expect("tractor runs");
    let st = p.wait(LIMIT).expect("tractor finishes");
    (st.code().unwrap_or(-1), p.transcript.join("\n"))
}

/// Asserts that nothing of the session is left: no descendant process, no
/// socket file; then removes the session folder.
pub fn assert_clean(rv: &RuntimeVars) {
    let leaks = tractor::testing::procs::leak_report(
        std::process::id(),
        &rv.bind_dir,
        Duration::from_secs(10),
    );
    let _ = std::fs::remove_dir_all(&rv.bind_dir);
    assert!(
        leaks.is_none(),
        "left behind:\n{}",
        leaks.unwrap_or_default()
    );
}

/// Starts `tractor registrar` and waits until it listens.
pub fn registrar(rv: &RuntimeVars, reg: &Addr) -> Program {
    let addr = reg.to_string();
    let mut p = Program::start(&tractor_bin(), &["registrar", "--addr", &addr], rv).unwrap();
    p.wait_for_line("registrar listening on", LIMIT).unwrap();
    p
}

/// The peer's Python: `TRACTOR_PEER_PYTHON` (set by scripts/test.sh), else
/// built now with the setup script.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("TRACTOR_PEER_PYTHON")
        && !p.is_empty()
    {
        return p.into();
    }
    let setup = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/peers/python-tractor/setup.sh");
    let out = std::process::Command::new(&setup)
        .output()
        .expect("run the python peer setup script");
    assert!(
        out.status.success(),
        "setup.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}
