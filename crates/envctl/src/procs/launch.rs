//! Starting a process the way every envctl process starts: its own session
//! and group, stdin null, output through a pipe to its log relay (which
//! writes the log file and rotates it), the ownership marker
//! in its environment, and no tractor envelope (a service that happens to
//! be a tractor program must not believe it is the daemon's child).

use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::{Ident, OWNER_VAR, Owner, start_time};

/// What to start.
#[derive(Debug)]
pub struct Launch<'a> {
    /// Program and arguments (no shell).
    pub argv: &'a [String],
    /// Working folder.
    pub cwd: &'a Path,
    /// Extra environment.
    pub env: &'a [(String, String)],
    /// Output goes here (appended).
    pub log: &'a Path,
    /// The ownership marker.
    pub owner: &'a Owner,
}

/// Starts the log relay of `l` ([`super::relay`]) and returns the write
/// end of its pipe: the service's stdout and stderr.
fn relay(l: &Launch<'_>) -> std::io::Result<OwnedFd> {
    let (rd, wr) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("__log-relay")
        .arg("--max-bytes")
        .arg(super::relay::cap().to_string())
        .arg("--keep")
        .arg(super::relay::KEEP.to_string())
        .arg(l.log)
        .current_dir("/")
        .env_clear()
        .env(OWNER_VAR, l.owner.to_string())
        .stdin(Stdio::from(rd))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe; the closure touches nothing else.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    super::children::launched(child.id());
    Ok(wr)
}

/// Starts a process; it outlives this command by design.
pub fn launch(l: &Launch<'_>) -> std::io::Result<Ident> {
    let (prog, args) = l
        .argv
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty command"))?;
    if let Some(dir) = l.log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let out = relay(l)?;
    let mut cmd = Command::new(prog);
    // Served for a CLI: the service gets that CLI's environment, as if
    // the CLI had started it.
    if let Some(env) = crate::opctx::served_env() {
        cmd.env_clear().envs(env);
    }
    cmd.args(args)
        .current_dir(l.cwd)
        .env_remove("_TRACTOR_RT_VARS")
        .envs(l.env.iter().map(|(k, v)| (k, v)))
        .env(OWNER_VAR, l.owner.to_string())
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    // SAFETY: setsid is async-signal-safe; the closure touches nothing else.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot run {prog:?} in {}: {e}", l.cwd.display()),
        )
    })?;
    let pid = child.id();
    // Not waited for here: in the daemon, the supervisor or a sweep reaps
    // it ([`super::children`]); a CLI exits first and leaves it to the
    // subreaper above. Dropping `Child` does not kill it.
    super::children::launched(pid);
    drop(child);
    Ok(Ident {
        pid,
        start_time: start_time(pid).unwrap_or(0),
    })
}
