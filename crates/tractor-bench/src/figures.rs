//! The runtime's figures, measured inside a root actor.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_bytes::ByteBuf;
use tractor::shm::ShmOffer;
use tractor::{Callee, Context, ContextOptions, Error, Portal};

use crate::affinity::{Cpus, Mode, cpu_self};
use crate::measure::{Latency, Rate};

/// Does nothing, remotely.
#[tractor::rpc]
pub async fn noop() {}

/// An actor's memory, in KiB.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Memory {
    /// Resident: every page mapped, shared ones in full.
    pub rss_kib: u64,
    /// Proportional: shared pages divided among their sharers.
    pub pss_kib: u64,
    /// Private: this process's pages alone.
    pub private_kib: u64,
}

impl Memory {
    /// The memory of process `pid`, from `/proc`.
    pub fn of(pid: u32) -> Memory {
        let (pss_kib, private_kib) = crate::pss_private_kib(pid);
        Memory {
            rss_kib: crate::rss_kib(pid),
            pss_kib,
            private_kib,
        }
    }
}

/// This actor's memory.
#[tractor::rpc]
pub async fn memory_kib() -> Memory {
    Memory::of(std::process::id())
}

/// This actor's CPU time so far (all its threads), in µs.
#[tractor::rpc]
pub async fn cpu_us() -> u64 {
    cpu_self().as_micros() as u64
}

/// started() then return.
#[tractor::context]
pub async fn ctx_noop(ctx: Context<Callee<()>>) -> Result<(), Error> {
    ctx.started(&()).await
}

/// Echoes every stream item. Items are typed (msgpack `bin`), so both
/// sides take the typed path: serialized straight into the write buffer,
/// decoded straight from the read buffer, no `Value` in between.
#[tractor::context]
pub async fn echo(ctx: Context<Callee<(), ByteBuf>>) -> Result<(), Error> {
    ctx.started(&()).await?;
    let mut s = ctx.open_stream();
    while let Some(v) = s.recv().await? {
        s.send(&v).await?;
    }
    Ok(())
}

/// Streams `n` 64-byte payloads (typed, as `echo`'s are).
#[tractor::context]
pub async fn blast(ctx: Context<Callee<(), ByteBuf>>, n: u64) -> Result<(), Error> {
    ctx.started(&()).await?;
    let s = ctx.open_stream();
    let item = ByteBuf::from(vec![7u8; 64]);
    for _ in 0..n {
        s.send(&item).await?;
    }
    Ok(())
}

/// Records per `send_many` of the shared-memory figure: 64 KiB of 64-byte
/// records, the batch the `raw_batched_uds` floor writes too.
const SHM_BATCH: u64 = 1024;

/// Writes `n` 64-byte records into a shared-memory ring, in batches of
/// [`SHM_BATCH`] (`ShmWriter::send_many`).
#[tractor::context]
pub async fn shm_blast(ctx: Context<Callee<ShmOffer>>, n: u64) -> Result<(), Error> {
    let (mut tx, offer) = ctx.open_shm_writer(1 << 20).await?;
    ctx.started(&offer).await?;
    let batch = [[7u8; 64]; SHM_BATCH as usize];
    let mut left = n;
    while left > 0 {
        let k = left.min(SHM_BATCH);
        tx.send_many(&batch[..k as usize]).await?;
        left -= k;
    }
    Ok(())
}

/// Starts `leaves` children and serves until cancelled.
#[tractor::rpc]
pub async fn grow(branch: u32, leaves: u32) -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        for i in 0..leaves {
            n.start_actor(&format!("leaf-{branch}-{i}"), &[]).await?;
        }
        std::future::pending::<()>().await;
        Ok(())
    })
    .await
}

const NS: &[&str] = &[noop::NS];

/// Places the actor behind `p` for `mode` (this process is already on
/// its CPU, and the actor inherited it).
fn place(p: &Portal, cpus: Cpus, mode: Mode) -> Result<(), Error> {
    let pid = p
        .pid()
        .ok_or_else(|| Error::other("the bench's actor did not report its pid"))?;
    cpus.pin_peer(pid as u32, mode)
        .map_err(|e| Error::other(format!("placing actor {pid}: {e}")))
}

/// CPU time of this process and of the actor behind a portal, from a
/// starting point.
struct Meter {
    here: Duration,
    peer: Duration,
}

impl Meter {
    async fn start(p: &Portal) -> Result<Meter, Error> {
        let peer = Duration::from_micros(p.run(cpu_us {}).await?);
        Ok(Meter {
            here: cpu_self(),
            peer,
        })
    }

    /// CPU time of both since `start`.
    async fn stop(self, p: &Portal) -> Result<Duration, Error> {
        let here = cpu_self() - self.here;
        let peer = Duration::from_micros(p.run(cpu_us {}).await?) - self.peer;
        Ok(here + peer)
    }
}

pub async fn rpc_rtt(iters: usize, cpus: Cpus, mode: Mode) -> Result<Latency, Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("rtt", NS).await?;
        place(&p, cpus, mode)?;
        for _ in 0..iters / 10 + 10 {
            p.run(noop {}).await?;
        }
        let mut samples = Vec::with_capacity(iters);
        let meter = Meter::start(&p).await?;
        for _ in 0..iters {
            let t = Instant::now();
            p.run(noop {}).await?;
            samples.push(t.elapsed());
        }
        let cpu = meter.stop(&p).await?;
        p.cancel_actor().await?;
        Ok(Latency { samples, cpu })
    })
    .await
}

pub async fn ctx_open_result(iters: usize, cpus: Cpus, mode: Mode) -> Result<Latency, Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("ctx", NS).await?;
        place(&p, cpus, mode)?;
        for _ in 0..iters / 10 + 10 {
            let (ctx, ()) = p.open_context(ctx_noop {}).await?;
            ctx.result().await?;
        }
        let mut samples = Vec::with_capacity(iters);
        let meter = Meter::start(&p).await?;
        for _ in 0..iters {
            let t = Instant::now();
            let (ctx, ()) = p.open_context(ctx_noop {}).await?;
            ctx.result().await?;
            samples.push(t.elapsed());
        }
        let cpu = meter.stop(&p).await?;
        p.cancel_actor().await?;
        Ok(Latency { samples, cpu })
    })
    .await
}

pub async fn stream_echo(iters: usize, cpus: Cpus, mode: Mode) -> Result<Latency, Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("echo", NS).await?;
        place(&p, cpus, mode)?;
        let (ctx, ()) = p.open_context(echo {}).await?;
        let mut s = ctx.open_stream();
        let item = ByteBuf::from(vec![1u8; 64]);
        for _ in 0..iters / 10 + 10 {
            s.send(&item).await?;
            s.recv().await?;
        }
        let mut samples = Vec::with_capacity(iters);
        let meter = Meter::start(&p).await?;
        for _ in 0..iters {
            let t = Instant::now();
            s.send(&item).await?;
            s.recv().await?;
            samples.push(t.elapsed());
        }
        let cpu = meter.stop(&p).await?;
        s.close().await?;
        ctx.result().await?;
        p.cancel_actor().await?;
        Ok(Latency { samples, cpu })
    })
    .await
}

/// `n` stream items of 64 bytes, one round.
pub async fn stream_throughput(n: u64, cpus: Cpus, mode: Mode) -> Result<Rate, Error> {
    tractor::open_nursery(|nur| async move {
        let p = nur.start_actor("blaster", NS).await?;
        place(&p, cpus, mode)?;
        let opts = ContextOptions {
            allow_overruns: true,
            ..Default::default()
        };
        let meter = Meter::start(&p).await?;
        let t = Instant::now();
        let (ctx, ()) = p.open_context_with(blast { n }, opts).await?;
        let mut s = ctx.open_stream();
        let mut got = 0u64;
        while s.recv().await?.is_some() {
            got += 1;
        }
        ctx.result().await?;
        if got != n {
            return Err(Error::other(format!("{got} of {n} stream items arrived")));
        }
        let per_sec = n as f64 / t.elapsed().as_secs_f64();
        let cpu = meter.stop(&p).await?;
        p.cancel_actor().await?;
        Ok(Rate {
            per_sec,
            ops: n,
            cpu,
        })
    })
    .await
}

/// `n` records of 64 bytes through a shared-memory ring, one round: sent
/// with `send_many` and received with `recv_many`.
pub async fn shm_throughput(n: u64, cpus: Cpus, mode: Mode) -> Result<Rate, Error> {
    tractor::open_nursery(|nur| async move {
        let p = nur.start_actor("shm", NS).await?;
        place(&p, cpus, mode)?;
        let (ctx, offer): (_, ShmOffer) = p.open_context(shm_blast { n }).await?;
        let mut rx = ctx.accept_shm_reader(&offer).await?;
        let mut batch = tractor::shm::RecvBatch::new();
        let meter = Meter::start(&p).await?;
        let t = Instant::now();
        let mut got = 0u64;
        // Batches out (`ShmReader::recv_many`), each record looked at, as
        // the floor's consumer copies each out.
        while rx.recv_many(&mut batch).await? {
            for rec in &batch {
                std::hint::black_box(rec);
                got += 1;
            }
        }
        let per_sec = got as f64 / t.elapsed().as_secs_f64();
        ctx.result().await?;
        let cpu = meter.stop(&p).await?;
        p.cancel_actor().await?;
        Ok(Rate {
            per_sec,
            ops: got,
            cpu,
        })
    })
    .await
}

/// start_actor + first call, one sample per actor, with `backend`.
pub async fn spawn_first_rpc(
    iters: usize,
    backend: Option<Arc<dyn tractor::spawn::SpawnBackend>>,
) -> Result<Vec<Duration>, Error> {
    tractor::open_nursery(|n| async move {
        let mut out = Vec::with_capacity(iters);
        for i in 0..iters {
            let t = Instant::now();
            let name = format!("s{i}");
            let p = match &backend {
                Some(b) => n.start_actor_with(&name, NS, b.clone()).await?,
                None => n.start_actor(&name, NS).await?,
            };
            p.run(noop {}).await?;
            out.push(t.elapsed());
            p.cancel_actor().await?;
        }
        Ok(out)
    })
    .await
}

/// `kill -9` of a supervised (one-for-one, permanent) child until its new
/// instance answered its first call; one sample per kill.
pub async fn supervised_restart(iters: usize) -> Result<Vec<Duration>, Error> {
    use tractor::supervision::{ChildSpec, SupervisorEvent, SupervisorSpec};
    // Every kill is answered: no budget in the way.
    let spec = SupervisorSpec::default().intensity(u32::MAX, Duration::from_secs(1));
    tractor::supervise(spec, |sup| async move {
        let mut events = sup.subscribe();
        sup.start_child(ChildSpec::new("victim", NS)).await?;
        let mut out = Vec::with_capacity(iters);
        for i in 1..=iters {
            let gone = || Error::other("the victim is not running");
            let pid = sup.pid("victim").ok_or_else(gone)?;
            let t = Instant::now();
            // SAFETY: kill(2) with a pid we spawned and have not reaped
            // (the supervisor reaps it only after this signal).
            if unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) } != 0 {
                return Err(std::io::Error::last_os_error().into());
            }
            loop {
                match events.recv().await {
                    Ok(SupervisorEvent::Started { restarts, .. }) if restarts as usize == i => {
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => return Err(Error::other(format!("supervisor events: {e}"))),
                }
            }
            sup.portal("victim").ok_or_else(gone)?.run(noop {}).await?;
            out.push(t.elapsed());
        }
        sup.shutdown().await;
        Ok(out)
    })
    .await
}

/// 8 actors started at once, until all answered.
pub async fn spawn8(iters: usize) -> Result<Vec<Duration>, Error> {
    let mut out = Vec::with_capacity(iters);
    for _ in 0..iters {
        let d = tractor::open_nursery(|n| async move {
            let t = Instant::now();
            let starts = (0..8).map(|i| {
                let n = n.clone();
                async move {
                    let p = n.start_actor(&format!("c{i}"), NS).await?;
                    p.run(noop {}).await?;
                    Ok::<_, Error>(p)
                }
            });
            let portals: Result<Vec<_>, Error> = futures_util::future::join_all(starts)
                .await
                .into_iter()
                .collect();
            let d = t.elapsed();
            portals?;
            n.cancel().await;
            Ok(d)
        })
        .await?;
        out.push(d);
    }
    Ok(out)
}

/// Graceful cancel of root → 2 → 4; (duration, escalations).
pub async fn tree_cancel(iters: usize) -> Result<(Vec<Duration>, usize), Error> {
    let mut out = Vec::with_capacity(iters);
    let mut escalations = 0;
    for _ in 0..iters {
        let (d, e) = tractor::open_nursery(|n| async move {
            let mut branches = Vec::new();
            for b in 0..2 {
                branches.push(n.start_actor(&format!("b{b}"), &[grow::NS]).await?);
            }
            let growing =
                futures_util::future::join_all(branches.iter().enumerate().map(|(b, p)| {
                    p.run(grow {
                        branch: b as u32,
                        leaves: 2,
                    })
                }));
            let measure = async {
                // All four leaves registered: the tree is up.
                for b in 0..2 {
                    for l in 0..2 {
                        tractor::wait_for_actor(&format!("leaf-{b}-{l}")).await?;
                    }
                }
                let t = Instant::now();
                n.cancel().await;
                Ok::<_, Error>((t.elapsed(), n.escalations()))
            };
            // The branches' calls end with the cancel (ContextCancelled).
            let (_, measured) = tokio::join!(growing, measure);
            measured
        })
        .await?;
        out.push(d);
        escalations += e;
    }
    Ok((out, escalations))
}

/// The memory of idle process actors, one sample per actor.
pub async fn idle_process_rss(k: usize) -> Result<Vec<Memory>, Error> {
    tractor::open_nursery(|n| async move {
        let mut out = Vec::new();
        for i in 0..k {
            let p = n
                .start_actor(&format!("idle{i}"), &[memory_kib::NS])
                .await?;
            out.push(p.run(memory_kib {}).await?);
        }
        n.cancel().await;
        Ok(out)
    })
    .await
}

/// Extra RSS of this process per idle thread actor, in KiB.
pub async fn idle_thread_rss(k: usize) -> Result<f64, Error> {
    let before = crate::rss_kib(std::process::id());
    tractor::open_nursery(|n| async move {
        let backend: Arc<dyn tractor::spawn::SpawnBackend> =
            Arc::new(tractor::spawn::ThreadBackend);
        for i in 0..k {
            let p = n
                .start_actor_with(&format!("t{i}"), NS, backend.clone())
                .await?;
            p.run(noop {}).await?;
        }
        let after = crate::rss_kib(std::process::id());
        n.cancel().await;
        Ok(after.saturating_sub(before) as f64 / k as f64)
    })
    .await
}
