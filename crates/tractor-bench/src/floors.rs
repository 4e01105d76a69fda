//! OS floors, measured in the same run with nothing of ours in the path:
//! two processes (this program re-executed as a raw peer) talking over
//! plain sockets, plain re-exec + connect-back, plain thread + runtime.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use crate::peer;

/// Round trips of a 64-byte message over UDS between two processes.
pub fn pingpong_uds(iters: usize) -> Vec<Duration> {
    let dir = tempdir();
    let path = dir.join("pp.sock");
    let l = UnixListener::bind(&path).unwrap();
    let mut child = peer::spawn("echo-uds", path.to_str().unwrap());
    let (s, _) = l.accept().unwrap();
    let out = pingpong(s, iters);
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// Round trips of a 64-byte message over loopback TCP between two processes.
pub fn pingpong_tcp(iters: usize) -> Vec<Duration> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let mut child = peer::spawn("echo-tcp", &addr);
    let (s, _) = l.accept().unwrap();
    s.set_nodelay(true).unwrap();
    let out = pingpong(s, iters);
    let _ = child.wait();
    out
}

fn pingpong<S: Read + Write>(mut s: S, iters: usize) -> Vec<Duration> {
    let msg = [1u8; 64];
    let mut buf = [0u8; 64];
    for _ in 0..iters / 10 + 10 {
        s.write_all(&msg).unwrap();
        s.read_exact(&mut buf).unwrap();
    }
    let mut out = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        s.write_all(&msg).unwrap();
        s.read_exact(&mut buf).unwrap();
        out.push(t.elapsed());
    }
    out
}

/// Messages per second of 64-byte messages written in large batches
/// over UDS, one sample per round.
pub fn batched_throughput_uds(n: u64, rounds: usize) -> Vec<f64> {
    let dir = tempdir();
    let path = dir.join("bt.sock");
    let l = UnixListener::bind(&path).unwrap();
    let mut out = Vec::new();
    for _ in 0..rounds {
        let mut child = peer::spawn("blast-uds", path.to_str().unwrap());
        let (mut s, _) = l.accept().unwrap();
        let t = Instant::now();
        s.write_all(&n.to_le_bytes()).unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut left = n * 64;
        while left > 0 {
            let k = s.read(&mut buf).unwrap();
            assert!(k > 0, "the blaster hung up early");
            left -= k as u64;
        }
        out.push(n as f64 / t.elapsed().as_secs_f64());
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// Re-executing this program and having it connect back, `k` at once.
pub fn reexec_connect_back(k: usize, iters: usize) -> Vec<Duration> {
    let dir = tempdir();
    let path = dir.join("cb.sock");
    let l = UnixListener::bind(&path).unwrap();
    let mut out = Vec::new();
    for _ in 0..iters {
        let t = Instant::now();
        let mut kids: Vec<_> = (0..k)
            .map(|_| peer::spawn("connect-back", path.to_str().unwrap()))
            .collect();
        for _ in 0..k {
            let (mut s, _) = l.accept().unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b).unwrap();
        }
        out.push(t.elapsed());
        for c in kids.iter_mut() {
            let _ = c.wait();
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// Starting a thread with a current-thread tokio runtime and joining it.
pub fn thread_runtime_start(iters: usize) -> Vec<Duration> {
    (0..iters)
        .map(|_| {
            let t = Instant::now();
            std::thread::spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {});
            })
            .join()
            .unwrap();
            t.elapsed()
        })
        .collect()
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tractor-bench-{}-{}", std::process::id(), rand()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now())
}
