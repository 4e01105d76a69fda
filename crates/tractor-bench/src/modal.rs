//! The placed figures: every latency and throughput figure measured in
//! each CPU placement ([`Mode`]), in rounds that alternate floor and
//! figure (so a noisy neighbour hits both alike), each held to the floor
//! of its own placement. The median over rounds is reported.

use std::collections::BTreeMap;

use tractor::Error;
use tractor::ipc::Proto;

use crate::affinity::{Cpus, Mode};
use crate::measure::Rounds;
use crate::report::{Figure, Goal};
use crate::{Plan, figures, floors, session, session_tls};

/// One placed figure: its floor and its goal in each mode.
struct Spec {
    name: &'static str,
    unit: &'static str,
    floor: &'static str,
    pinned: Goal,
    spread: Goal,
}

const SPECS: &[Spec] = &[
    Spec {
        name: "rpc_rtt_uds",
        unit: "us",
        floor: "raw_pingpong_uds",
        pinned: Goal::AtMost(2.0),
        spread: Goal::AtMost(1.5),
    },
    Spec {
        name: "rpc_rtt_tcp",
        unit: "us",
        floor: "raw_pingpong_tcp",
        pinned: Goal::AtMost(2.0),
        spread: Goal::AtMost(1.5),
    },
    // Held to the plain TCP figure of the same mode and run.
    Spec {
        name: "rpc_rtt_tcp_tls",
        unit: "us",
        floor: "rpc_rtt_tcp",
        pinned: Goal::AtMost(1.3),
        spread: Goal::AtMost(1.3),
    },
    Spec {
        name: "ctx_open_result",
        unit: "us",
        floor: "raw_pingpong_uds",
        pinned: Goal::AtMost(2.5),
        spread: Goal::AtMost(2.5),
    },
    Spec {
        name: "stream_echo",
        unit: "us",
        floor: "raw_pingpong_uds",
        pinned: Goal::AtMost(1.5),
        spread: Goal::AtMost(1.5),
    },
    Spec {
        name: "stream_throughput_64b",
        unit: "msg/s",
        floor: "raw_batched_uds",
        pinned: Goal::AtLeast(3e6),
        spread: Goal::AtLeast(3e6),
    },
    Spec {
        name: "stream_throughput_64b_shm",
        unit: "msg/s",
        floor: "raw_spsc_ring_shm",
        pinned: Goal::AtLeast(2e7),
        spread: Goal::AtLeast(2e7),
    },
];

/// Measures every wanted placed figure in every mode this machine has.
pub async fn figures(plan: &Plan, cpus: Cpus) -> Result<Vec<Figure>, Error> {
    let mut out = Vec::new();
    for mode in cpus.modes() {
        cpus.pin_self()
            .map_err(|e| Error::other(format!("pinning the bench: {e}")))?;
        let measured = in_mode(plan, cpus, mode).await;
        cpus.restore_self()
            .map_err(|e| Error::other(format!("unpinning the bench: {e}")))?;
        let rounds = measured?;
        for spec in SPECS {
            let Some(r) = rounds.get(spec.name) else {
                continue;
            };
            let floor = rounds
                .get(spec.floor)
                .ok_or_else(|| Error::other(format!("{}: no floor {}", spec.name, spec.floor)))?
                .floor(spec.floor, mode);
            let goal = match mode {
                Mode::Pinned => spec.pinned,
                Mode::Spread => spec.spread,
            };
            let f = r
                .figure(spec.name, mode, spec.unit, floor, goal)
                .checked()
                .map_err(|e| Error::other(e.to_string()))?;
            out.push(f);
        }
    }
    Ok(out)
}

/// The rounds of every wanted figure and its floor, in `mode`.
async fn in_mode(
    plan: &Plan,
    cpus: Cpus,
    mode: Mode,
) -> Result<BTreeMap<&'static str, Rounds>, Error> {
    let mut r: BTreeMap<&'static str, Rounds> = BTreeMap::new();
    let rtt = plan.n(10_000, 300);
    let ctx = plan.n(2_000, 100);
    let items = plan.n(1_000_000, 50_000) as u64;
    let wants = |n: &str| plan.wants(n);
    let uds_floor = ["rpc_rtt_uds", "ctx_open_result", "stream_echo"]
        .iter()
        .any(|n| wants(n));
    let tcp = wants("rpc_rtt_tcp") || wants("rpc_rtt_tcp_tls");
    for _ in 0..plan.n(5, 2) {
        if uds_floor {
            let l = floors::pingpong_uds(rtt, cpus, mode);
            r.entry("raw_pingpong_uds").or_default().latency(l);
        }
        if wants("rpc_rtt_uds") {
            let l = session(Proto::Uds, move || figures::rpc_rtt(rtt, cpus, mode)).await?;
            r.entry("rpc_rtt_uds").or_default().latency(l);
        }
        if tcp {
            let l = floors::pingpong_tcp(rtt, cpus, mode);
            r.entry("raw_pingpong_tcp").or_default().latency(l);
            let l = session(Proto::Tcp, move || figures::rpc_rtt(rtt, cpus, mode)).await?;
            r.entry("rpc_rtt_tcp").or_default().latency(l);
        }
        if wants("rpc_rtt_tcp_tls") {
            let l = session_tls(move || figures::rpc_rtt(rtt, cpus, mode)).await?;
            r.entry("rpc_rtt_tcp_tls").or_default().latency(l);
        }
        if wants("ctx_open_result") {
            let l = session(Proto::Uds, move || {
                figures::ctx_open_result(ctx, cpus, mode)
            })
            .await?;
            r.entry("ctx_open_result").or_default().latency(l);
        }
        if wants("stream_echo") {
            let l = session(Proto::Uds, move || figures::stream_echo(rtt, cpus, mode)).await?;
            r.entry("stream_echo").or_default().latency(l);
        }
        if wants("stream_throughput_64b") {
            let f = floors::batched_throughput_uds(items, cpus, mode);
            r.entry("raw_batched_uds").or_default().rate(f);
            let f = session(Proto::Uds, move || {
                figures::stream_throughput(items, cpus, mode)
            })
            .await?;
            r.entry("stream_throughput_64b").or_default().rate(f);
        }
        if wants("stream_throughput_64b_shm") {
            let f = floors::ring_throughput(items * 4, cpus, mode);
            r.entry("raw_spsc_ring_shm").or_default().rate(f);
            let f = session(Proto::Uds, move || {
                figures::shm_throughput(items * 4, cpus, mode)
            })
            .await?;
            r.entry("stream_throughput_64b_shm").or_default().rate(f);
        }
    }
    Ok(r)
}
