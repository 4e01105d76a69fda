//! OS floors, measured in the same run with nothing of ours in the path:
//! two processes (this program re-executed as a raw peer) talking over
//! plain sockets or a raw shared-memory ring, placed on CPUs the way the
//! figure they floor is placed; plain re-exec and connect-back; a plain
//! thread and runtime start; a parked thread's hand-off, bind and reply;
//! an idle process with a runtime; a plain serde struct round trip.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::affinity::{Cpus, Mode, cpu_self};
use crate::measure::{Latency, Rate};
use crate::peer;

/// Starts a raw peer and places it for `mode`.
fn placed_peer(mode_arg: (&str, &str), cpus: Cpus, mode: Mode) -> Child {
    let child = peer::spawn(mode_arg.0, mode_arg.1);
    cpus.pin_peer(child.id(), mode).expect("place the raw peer");
    child
}

/// Round trips of a 64-byte message over UDS between two processes.
pub fn pingpong_uds(iters: usize, cpus: Cpus, mode: Mode) -> Latency {
    let dir = tempdir();
    let path = dir.join("pp.sock");
    let l = UnixListener::bind(&path).unwrap();
    let mut child = placed_peer(("echo-uds", path.to_str().unwrap()), cpus, mode);
    let (s, _) = l.accept().unwrap();
    let out = pingpong(s, iters);
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// Round trips of a 64-byte message over loopback TCP between two processes.
pub fn pingpong_tcp(iters: usize, cpus: Cpus, mode: Mode) -> Latency {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let mut child = placed_peer(("echo-tcp", &addr), cpus, mode);
    let (s, _) = l.accept().unwrap();
    s.set_nodelay(true).unwrap();
    let out = pingpong(s, iters);
    let _ = child.wait();
    out
}

/// The echo peer's CPU time so far.
fn peer_cpu<S: Read + Write>(s: &mut S) -> Duration {
    let mut q = [0u8; 64];
    q[0] = peer::CPU_QUERY;
    s.write_all(&q).unwrap();
    s.read_exact(&mut q).unwrap();
    Duration::from_micros(u64::from_le_bytes(q[..8].try_into().unwrap()))
}

fn pingpong<S: Read + Write>(mut s: S, iters: usize) -> Latency {
    let msg = [1u8; 64];
    let mut buf = [0u8; 64];
    for _ in 0..iters / 10 + 10 {
        s.write_all(&msg).unwrap();
        s.read_exact(&mut buf).unwrap();
    }
    let mut samples = Vec::with_capacity(iters);
    let peer0 = peer_cpu(&mut s);
    let self0 = cpu_self();
    for _ in 0..iters {
        let t = Instant::now();
        s.write_all(&msg).unwrap();
        s.read_exact(&mut buf).unwrap();
        samples.push(t.elapsed());
    }
    let here = cpu_self() - self0;
    let peer = peer_cpu(&mut s) - peer0;
    Latency {
        samples,
        cpu: here + peer,
    }
}

/// `n` 64-byte messages written in large batches over UDS, one round.
pub fn batched_throughput_uds(n: u64, cpus: Cpus, mode: Mode) -> Rate {
    let dir = tempdir();
    let path = dir.join("bt.sock");
    let l = UnixListener::bind(&path).unwrap();
    let mut child = placed_peer(("blast-uds", path.to_str().unwrap()), cpus, mode);
    let (mut s, _) = l.accept().unwrap();
    let self0 = cpu_self();
    let t = Instant::now();
    s.write_all(&n.to_le_bytes()).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = n * 64;
    while left > 0 {
        let want = buf.len().min(left as usize);
        let k = s.read(&mut buf[..want]).unwrap();
        assert!(k > 0, "the blaster hung up early");
        left -= k as u64;
    }
    let per_sec = n as f64 / t.elapsed().as_secs_f64();
    let here = cpu_self() - self0;
    let mut cpu = [0u8; 8];
    s.read_exact(&mut cpu).unwrap();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    Rate {
        per_sec,
        ops: n,
        cpu: here + Duration::from_micros(u64::from_le_bytes(cpu)),
    }
}

/// `n` 64-byte records through a raw cross-process SPSC ring, one round.
pub fn ring_throughput(n: u64, cpus: Cpus, mode: Mode) -> Rate {
    // tmpfs, as the runtime's memfd rings are: no disk behind the pages.
    let shm = std::path::Path::new("/dev/shm");
    let dir = tempdir_in(if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    });
    let path = dir.join("ring");
    let ring = crate::ring::Ring::map(&path, true).expect("create the ring");
    let arg = format!("{n}:{}", path.display());
    let mut child = placed_peer(("ring-producer", &arg), cpus, mode);
    let self0 = cpu_self();
    let t = Instant::now();
    let peer = ring.consume(n);
    let per_sec = n as f64 / t.elapsed().as_secs_f64();
    let here = cpu_self() - self0;
    let _ = child.wait();
    drop(ring);
    let _ = std::fs::remove_dir_all(&dir);
    Rate {
        per_sec,
        ops: n,
        cpu: here + peer,
    }
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

/// The mechanism a thread actor's start is built on, with none of the
/// protocol: a socket pair made and one end handed to a parked thread
/// (as a spawn hands its job to a warm thread), which binds a UDS
/// listener in a folder of the same file system as the actors' (as an
/// actor binds its own before it may register) and writes 64 bytes back;
/// the caller blocks on the read. Samples of (with the bind, without),
/// alternated.
pub fn warm_thread_reply(iters: usize) -> (Vec<Duration>, Vec<Duration>) {
    use std::os::unix::net::UnixStream;
    use std::sync::mpsc;
    let dir = tempdir();
    let (jobs, rx) = mpsc::channel::<(Option<std::path::PathBuf>, UnixStream)>();
    let (parked_tx, parked) = mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        for (path, mut s) in rx {
            let listener = path.as_ref().map(|p| UnixListener::bind(p).unwrap());
            s.write_all(&[1u8; 64]).unwrap();
            drop(listener);
            if let Some(p) = path {
                let _ = std::fs::remove_file(p);
            }
            parked_tx.send(()).unwrap();
        }
    });
    let (mut bound, mut bare) = (Vec::with_capacity(iters), Vec::with_capacity(iters));
    for i in 0..iters * 2 {
        let path = (i % 2 == 0).then(|| dir.join(format!("w{i}.sock")));
        let with_bind = path.is_some();
        let t = Instant::now();
        let (mut here, there) = UnixStream::pair().unwrap();
        jobs.send((path, there)).unwrap();
        let mut buf = [0u8; 64];
        here.read_exact(&mut buf).unwrap();
        let took = t.elapsed();
        // Parked again (its listener gone) before the next hand-off.
        parked.recv().unwrap();
        if with_bind { &mut bound } else { &mut bare }.push(took);
    }
    drop(jobs);
    worker.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (bound, bare)
}

/// The memory of `k` idle processes of this program that run a tokio
/// runtime and a UDS connection and nothing of ours (the `idle-runtime`
/// peer), each read once it has connected back: the floor of an idle
/// process actor's memory, mapped from the same binary.
pub fn idle_runtime_memory(k: usize) -> Vec<crate::figures::Memory> {
    let dir = tempdir();
    let path = dir.join("idle.sock");
    let l = UnixListener::bind(&path).unwrap();
    let mut held = Vec::new();
    let mut out = Vec::new();
    for _ in 0..k {
        let child = peer::spawn("idle-runtime", path.to_str().unwrap());
        let (mut s, _) = l.accept().unwrap();
        let mut b = [0u8; 1];
        s.read_exact(&mut b).unwrap();
        out.push(crate::figures::Memory::of(child.id()));
        held.push((child, s));
    }
    for (mut child, s) in held {
        drop(s);
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// A `Start`-shaped struct as serde sees it: the floor of
/// `codec_start_msg` (the same fields, named, as msgspec writes them).
#[derive(serde::Serialize, serde::Deserialize)]
struct StartLike<'a> {
    msg_type: &'a str,
    cid: &'a str,
    ns: &'a str,
    func: &'a str,
    kwargs: Add,
    uid: (&'a str, &'a str),
    pld_spec: &'a str,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Add {
    x: i64,
    y: i64,
}

/// One rmp-serde round trip of a `Start`-shaped struct, encoded with named
/// fields into a reused buffer and decoded borrowing its strings.
pub fn codec_struct_round_trip() -> impl FnMut() {
    use serde::Serialize;
    let m = StartLike {
        msg_type: "Start",
        cid: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
        ns: "myapp.workers",
        func: "add",
        kwargs: Add { x: 1, y: 2 },
        uid: ("root", "3f2a8c4e-6b1d-4e0a-8f7c-1a2b3c4d5e6f"),
        pld_spec: "typing.Any",
    };
    let mut buf = Vec::with_capacity(256);
    move || {
        buf.clear();
        m.serialize(&mut rmp_serde::Serializer::new(&mut buf).with_struct_map())
            .expect("encodes");
        let back: StartLike<'_> = rmp_serde::from_slice(&buf).expect("decodes");
        std::hint::black_box(back);
    }
}

fn tempdir() -> std::path::PathBuf {
    tempdir_in(std::env::temp_dir())
}

fn tempdir_in(base: std::path::PathBuf) -> std::path::PathBuf {
    let d = base.join(format!("tractor-bench-{}-{}", std::process::id(), rand()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now())
}
