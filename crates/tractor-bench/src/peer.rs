//! The raw floor peers: this same program re-executed with
//! `TRACTOR_BENCH_PEER=<mode>` (not a tractor child: nothing of ours is in
//! the path). Each dies with the bench (`PR_SET_PDEATHSIG`).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

/// The environment variable selecting a peer mode.
pub const ENV: &str = "TRACTOR_BENCH_PEER";

/// Runs a peer mode if asked to; never returns in that case.
pub fn maybe_run() {
    let Ok(mode) = std::env::var(ENV) else { return };
    let arg = std::env::var("TRACTOR_BENCH_ARG").unwrap_or_default();
    let code = match mode.as_str() {
        "echo-uds" => echo(UnixStream::connect(&arg).expect("connect")),
        "echo-tcp" => {
            let s = std::net::TcpStream::connect(&arg).expect("connect");
            s.set_nodelay(true).ok();
            echo(s)
        }
        "blast-uds" => blast(UnixStream::connect(&arg).expect("connect")),
        "ring-producer" => {
            // `<records>:<ring file>`
            let (n, path) = arg.split_once(':').expect("records:path");
            let ring = crate::ring::Ring::map(path.as_ref(), false).expect("map the ring");
            ring.produce(n.parse().expect("a record count"));
            0
        }
        "connect-back" => {
            let mut s = UnixStream::connect(&arg).expect("connect");
            s.write_all(b"!").map(|_| 0).unwrap_or(1)
        }
        "idle-runtime" => idle_runtime(&arg),
        other => {
            eprintln!("unknown peer mode {other}");
            2
        }
    };
    std::process::exit(code);
}

/// What an idle actor is made of, with nothing of ours: a current-thread
/// tokio runtime (timers and I/O on) that connects back over UDS, says
/// so, and waits in its event loop until the bench hangs up.
fn idle_runtime(path: &str) -> i32 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let mut s = tokio::net::UnixStream::connect(path)
            .await
            .expect("connect");
        s.write_all(b"!").await.expect("say so");
        let mut b = [0u8; 1];
        let _ = s.read(&mut b).await;
    });
    0
}

/// A message whose first byte is this asks the echo peer for its CPU
/// time instead of an echo.
pub const CPU_QUERY: u8 = 0xff;

/// Echoes 64-byte messages until EOF; answers a [`CPU_QUERY`] with its
/// CPU time so far, in µs, in the first 8 bytes (little-endian).
fn echo<S: Read + Write>(mut s: S) -> i32 {
    let mut buf = [0u8; 64];
    while s.read_exact(&mut buf).is_ok() {
        if buf[0] == CPU_QUERY {
            let us = crate::affinity::cpu_self().as_micros() as u64;
            buf[..8].copy_from_slice(&us.to_le_bytes());
        }
        if s.write_all(&buf).is_err() {
            return 1;
        }
    }
    0
}

/// Reads a count, then writes that many 64-byte messages in large
/// batches, then the CPU time that took, in µs (8 bytes, little-endian).
fn blast(mut s: UnixStream) -> i32 {
    let mut n = [0u8; 8];
    if s.read_exact(&mut n).is_err() {
        return 1;
    }
    let cpu0 = crate::affinity::cpu_self();
    let n = u64::from_le_bytes(n);
    let batch = vec![7u8; 64 * 1024];
    let mut left = n * 64;
    while left > 0 {
        let k = (batch.len() as u64).min(left) as usize;
        if s.write_all(&batch[..k]).is_err() {
            return 1;
        }
        left -= k as u64;
    }
    let cpu = (crate::affinity::cpu_self() - cpu0).as_micros() as u64;
    s.write_all(&cpu.to_le_bytes()).map(|_| 0).unwrap_or(1)
}

/// Starts this program as a raw peer.
pub fn spawn(mode: &str, arg: &str) -> Child {
    let exe = std::env::current_exe().expect("current exe");
    let mut cmd = Command::new(exe);
    cmd.env(ENV, mode)
        .env("TRACTOR_BENCH_ARG", arg)
        .env_remove(tractor::runtime::state::ENV_VAR)
        .stdin(Stdio::null());
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            );
            Ok(())
        });
    }
    cmd.spawn().expect("spawn a raw peer")
}
