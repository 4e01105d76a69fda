//! `tractor-bench`: how close the runtime is to what the OS allows.
//!
//! Every figure is printed beside a floor measured in the same run, on the
//! same machine, between the same kind of endpoints, with nothing of ours
//! in the path; the ratio is what we hold ourselves to (machines are noisy,
//! ratios are not). Latency and throughput figures are measured in two CPU
//! placements, `pinned` (both ends on one CPU) and `spread` (one CPU
//! each), each beside the floor of its own placement and beside the CPU
//! time both processes spent per operation; see [`modal`]. One JSON
//! document goes to stdout, a table to stderr.
//!
//! ```text
//! cargo run --release -p tractor-bench -- [--quick] [--only NAME]
//! ```

mod affinity;
mod codec;
mod envctl;
mod etcd;
mod figures;
mod floors;
mod measure;
mod modal;
mod peer;
mod report;
mod ring;
mod stats;

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use report::{Figure, Floor, Goal};
use serde_json::json;
use tractor::ipc::Proto;
use tractor::{RootConfig, RuntimeVars};

/// Measures the runtime against OS floors.
#[derive(Debug, Parser)]
#[command(name = "tractor-bench", version, about)]
struct Args {
    /// Few iterations (a smoke run; finishes in well under 30 s).
    #[arg(long)]
    quick: bool,
    /// Only figures whose name contains this.
    #[arg(long, value_name = "NAME")]
    only: Option<String>,
    /// envctl's figures instead (needs the `envctl` binary beside this
    /// one, Postgres and Redis).
    #[arg(long)]
    envctl: bool,
}

/// Resident memory of `pid`, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    kib_field(&text, "VmRSS:")
}

/// Proportional and private memory of `pid`, in KiB, from
/// `/proc/PID/smaps_rollup`: `(Pss, Private_Clean + Private_Dirty)`. What
/// one more process costs, beside its RSS, which counts in full the
/// binary's and libraries' pages it shares with every other process.
pub fn pss_private_kib(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    (
        kib_field(&text, "Pss:"),
        kib_field(&text, "Private_Clean:") + kib_field(&text, "Private_Dirty:"),
    )
}

/// The number after `name` on its line of a `/proc` file ("Name:  123 kB"),
/// or 0.
fn kib_field(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

struct Plan {
    quick: bool,
    only: Option<String>,
}

impl Plan {
    fn wants(&self, name: &str) -> bool {
        self.only.as_deref().is_none_or(|o| name.contains(o))
    }
    fn n(&self, full: usize, quick: usize) -> usize {
        if self.quick { quick } else { full }
    }
}

fn pct(mut s: Vec<Duration>) -> (f64, f64) {
    stats::percentiles_us(&mut s)
}

fn rate_pct(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    // For rates, "p99" is the slow end: the 1st percentile.
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.01))
}

fn ms(us: (f64, f64)) -> (f64, f64) {
    (us.0 / 1000.0, us.1 / 1000.0)
}

async fn session<T, Fut>(
    proto: Proto,
    body: impl FnOnce() -> Fut + Send + 'static,
) -> Result<T, tractor::Error>
where
    Fut: Future<Output = Result<T, tractor::Error>> + Send + 'static,
    T: Send + 'static,
{
    let rv: RuntimeVars = tractor::testing::session_vars_for(proto);
    let bind_dir = rv.bind_dir.clone();
    let out = in_task(tractor::run_root(
        RootConfig::named("bench").with_vars(rv),
        body,
    ))
    .await;
    let _ = std::fs::remove_dir_all(bind_dir);
    out
}

/// Runs `fut` as a task, as `#[tractor::main]` runs a `Send` body: the
/// calls it makes are woken by the connection's reader as a task's are,
/// not as the `block_on` future's (which costs tokio's scheduler one
/// more `epoll_wait` per reply; see `tractor::__private::MainBody`).
async fn in_task<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> T {
    tokio::spawn(fut)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// [`session`] over TCP with mutual TLS forced on loopback
/// (`TlsMode::Always`), with a fresh CA and a node certificate for
/// 127.0.0.1 that the spawned peers inherit through the envelope.
async fn session_tls<T, Fut>(
    body: impl FnOnce() -> Fut + Send + 'static,
) -> Result<T, tractor::Error>
where
    Fut: Future<Output = Result<T, tractor::Error>> + Send + 'static,
    T: Send + 'static,
{
    use tractor::ipc::tls::certs;
    let mut rv: RuntimeVars = tractor::testing::session_vars_for(Proto::Tcp);
    let ca = std::env::temp_dir().join(format!("tractor-bench-tls-{}", rv.session_id));
    let made = certs::init_ca(&ca)
        .and_then(|_| certs::issue_node(&ca, &["127.0.0.1".into()], None))
        .map_err(|e| tractor::Error::Config(format!("bench certificates: {e}")));
    let out = match made {
        Ok(node) => {
            rv.tls = tractor::ipc::TlsMode::Always;
            rv.tls_dir = Some(node);
            let bind_dir = rv.bind_dir.clone();
            let out = in_task(tractor::run_root(
                RootConfig::named("bench").with_vars(rv),
                body,
            ))
            .await;
            let _ = std::fs::remove_dir_all(bind_dir);
            out
        }
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_dir_all(&ca);
    out
}

/// `rounds` rounds of `floor` then `figure`, their samples pooled:
/// (the floor's, the figure's).
async fn spawn_rounds(
    rounds: usize,
    mut floor: impl AsyncFnMut() -> Result<Vec<Duration>, tractor::Error>,
    mut figure: impl AsyncFnMut() -> Result<Vec<Duration>, tractor::Error>,
) -> Result<(Vec<Duration>, Vec<Duration>), tractor::Error> {
    let (mut floors, mut figures) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        floors.extend(floor().await?);
        figures.extend(figure().await?);
    }
    Ok((floors, figures))
}

async fn run(
    plan: &Plan,
    cpus: affinity::Cpus,
) -> Result<(Vec<Figure>, serde_json::Map<String, serde_json::Value>), tractor::Error> {
    let mut figs = Vec::new();
    let mut skipped = serde_json::Map::new();
    let unplaced = |value: f64, name: &str| Some(Floor::unplaced(value, name));
    // Spawn figures run in rounds, each a round of the floor and then one
    // of the figure (every actor of the figure's round gone before the
    // next floor round): measured minutes apart, floor and figure drifted
    // by up to 2x between runs on this kind of machine.
    let rounds = plan.n(5, 1);

    figs.extend(modal::figures(plan, cpus).await?);
    if plan.wants("spawn_process_first_rpc") {
        let (reexec, samples) = spawn_rounds(
            rounds,
            async || Ok(floors::reexec_connect_back(1, plan.n(10, 5))),
            async || {
                let n = plan.n(10, 5);
                session(Proto::Uds, move || figures::spawn_first_rpc(n, None)).await
            },
        )
        .await?;
        let (p50, p99) = pct(samples);
        let reexec = pct(reexec);
        figs.push(Figure {
            name: "spawn_process_first_rpc".into(),
            mode: None,
            p50,
            p99,
            unit: "us",
            cpu_per_op_us: None,
            rounds: Vec::new(),
            floor: unplaced(reexec.0, "raw_reexec_connect_back"),
            goal: Goal::AtMost(2.0),
            note: None,
        });
    }
    if plan.wants("supervised_restart") {
        // The floor is our own process spawn, measured in rounds with the
        // figure as the other spawn figures are (taken from the spawn
        // figure minutes earlier, the ratio moved with the machine).
        let n = plan.n(10, 5);
        let (floor, samples) = spawn_rounds(
            rounds,
            async || session(Proto::Uds, move || figures::spawn_first_rpc(n, None)).await,
            async || session(Proto::Uds, move || figures::supervised_restart(n)).await,
        )
        .await?;
        let floor = pct(floor).0;
        let (p50, p99) = pct(samples);
        figs.push(Figure {
            name: "supervised_restart".into(),
            mode: None,
            p50,
            p99,
            unit: "us",
            cpu_per_op_us: None,
            rounds: Vec::new(),
            floor: unplaced(floor, "spawn_process_first_rpc"),
            goal: Goal::AtMost(1.2),
            note: Some("kill -9 of a supervised child until its new instance answers".into()),
        });
    }
    if plan.wants("spawn_thread_first_rpc") {
        let backend: Arc<dyn tractor::spawn::SpawnBackend> =
            Arc::new(tractor::spawn::ThreadBackend);
        // The mechanism under a warm start (hand-off, bind, one reply),
        // in rounds with the rest: noted beside the figure, it says how
        // much of the absolute goal this machine leaves for the protocol.
        let (mut warm, mut warm_bare) = (Vec::new(), Vec::new());
        let (floor, samples) = spawn_rounds(
            rounds,
            async || {
                let (bound, bare) = floors::warm_thread_reply(plan.n(40, 20));
                warm.extend(bound);
                warm_bare.extend(bare);
                Ok(floors::thread_runtime_start(plan.n(40, 20)))
            },
            async || {
                let (n, backend) = (plan.n(40, 10), backend.clone());
                session(Proto::Uds, move || {
                    figures::spawn_first_rpc(n, Some(backend))
                })
                .await
            },
        )
        .await?;
        let (p50, p99) = pct(samples);
        let floor = pct(floor);
        figs.push(Figure {
            name: "spawn_thread_first_rpc".into(),
            mode: None,
            p50,
            p99,
            unit: "us",
            cpu_per_op_us: None,
            rounds: Vec::new(),
            floor: unplaced(floor.0, "raw_thread_runtime_start"),
            goal: Goal::Absolute(100.0),
            note: Some(format!(
                "raw_warm_thread_reply {:.0} us (without its bind {:.0} us)",
                pct(warm).0,
                pct(warm_bare).0
            )),
        });
    }
    if plan.wants("spawn8_concurrent_ready") {
        let (floor, samples) = spawn_rounds(
            rounds,
            async || Ok(floors::reexec_connect_back(8, plan.n(4, 3))),
            async || {
                let n = plan.n(4, 3);
                session(Proto::Uds, move || figures::spawn8(n)).await
            },
        )
        .await?;
        let (p50, p99) = ms(pct(samples));
        let floor = ms(pct(floor));
        figs.push(Figure {
            name: "spawn8_concurrent_ready".into(),
            mode: None,
            p50,
            p99,
            unit: "ms",
            cpu_per_op_us: None,
            rounds: Vec::new(),
            floor: unplaced(floor.0, "raw_reexec8_connect_back"),
            goal: Goal::AtMost(1.5),
            note: None,
        });
    }
    if plan.wants("tree_cancel_1_2_4") {
        let n = plan.n(10, 2);
        let (samples, escalations) = session(Proto::Uds, move || figures::tree_cancel(n)).await?;
        let (p50, p99) = ms(pct(samples));
        figs.push(Figure {
            name: "tree_cancel_1_2_4".into(),
            mode: None,
            p50,
            p99,
            unit: "ms",
            cpu_per_op_us: None,
            rounds: Vec::new(),
            floor: None,
            goal: Goal::AtMost(20.0),
            note: Some(format!("escalations: {escalations} (goal 0)")),
        });
    }
    if plan.wants("idle_actor_rss") {
        let n = plan.n(8, 2);
        let v = session(Proto::Uds, move || figures::idle_process_rss(n)).await?;
        let raw = floors::idle_runtime_memory(n);
        // (median, slow end) of one field over `of`, in KiB.
        let kib = |of: &[figures::Memory], field: fn(&figures::Memory) -> u64| {
            rate_pct(of.iter().map(|m| field(m) as f64).collect())
        };
        let mib = |of: &[figures::Memory], field| kib(of, field).0 / 1024.0;
        let (pss, private) = (mib(&v, |m| m.pss_kib), mib(&v, |m| m.private_kib));
        let (p50, p99) = kib(&v, |m| m.rss_kib);
        figs.push(Figure {
            name: "idle_actor_rss_process".into(),
            mode: None,
            p50: p50 / 1024.0,
            p99: p99 / 1024.0,
            unit: "MiB",
            cpu_per_op_us: None,
            rounds: Vec::new(),
            floor: unplaced(mib(&raw, |m| m.rss_kib), "raw_idle_runtime_process"),
            goal: Goal::Absolute(4.0),
            note: Some(format!(
                "median Pss {pss:.2} MiB, private {private:.2} MiB (the rest of RSS is \
                 shared code and data of the binary and libc); the floor's Pss {:.2} MiB, \
                 private {:.2} MiB",
                mib(&raw, |m| m.pss_kib),
                mib(&raw, |m| m.private_kib)
            )),
        });
        let n = plan.n(32, 4);
        let per = session(Proto::Uds, move || figures::idle_thread_rss(n)).await?;
        figs.push(Figure {
            name: "idle_actor_rss_thread".into(),
            mode: None,
            p50: per,
            p99: per,
            unit: "KiB",
            cpu_per_op_us: None,
            rounds: Vec::new(),
            floor: None,
            goal: Goal::AtMost(256.0),
            note: Some("process RSS growth per idle thread actor".into()),
        });
    }
    if plan.wants("codec_start_msg") {
        let (n, rounds) = (plan.n(200_000, 50_000), plan.n(21, 3));
        let [dynamic, typed, floor] = codec::interleaved(
            n,
            rounds,
            [
                &mut codec::dynamic(),
                &mut codec::typed(),
                &mut floors::codec_struct_round_trip(),
            ],
        );
        let floor = rate_pct(floor);
        let (p50, p99) = rate_pct(dynamic);
        figs.push(Figure {
            name: "codec_start_msg".into(),
            mode: None,
            p50,
            p99,
            unit: "ops/s",
            cpu_per_op_us: None,
            rounds: Vec::new(),
            floor: unplaced(floor.0, "rmp_serde_struct_round_trip"),
            goal: Goal::AtLeast(5e6),
            note: None,
        });
        let (p50, p99) = rate_pct(typed);
        figs.push(Figure {
            name: "codec_start_msg_typed".into(),
            mode: None,
            p50,
            p99,
            unit: "ops/s",
            cpu_per_op_us: None,
            rounds: Vec::new(),
            floor: unplaced(floor.0, "rmp_serde_struct_round_trip"),
            goal: Goal::AtLeast(5e6),
            note: Some(
                "typed encode + borrowed decode (msg::encode_start, msg::decode_ref), \
                 the path Portal::run and the connection reader take"
                    .into(),
            ),
        });
    }
    if !cpus.modes().contains(&affinity::Mode::Spread) {
        skipped.insert(
            "spread".into(),
            json!("one CPU in the affinity mask: the spread placement needs two"),
        );
    }
    if plan.wants("etcd_register_visible") {
        match etcd::register_visible(plan.n(200, 20)).await {
            Ok((fig, floor)) => {
                let (p50, p99) = ms(pct(fig));
                let floor = ms(pct(floor));
                figs.push(Figure {
                    name: "etcd_register_visible".into(),
                    mode: None,
                    p50,
                    p99,
                    unit: "ms",
                    cpu_per_op_us: None,
                    rounds: Vec::new(),
                    floor: unplaced(floor.0, "raw_etcd_put_watch"),
                    goal: Goal::AtMost(2.0),
                    note: Some("an actor's registration until an etcd watcher sees it".into()),
                });
            }
            Err(e) => {
                skipped.insert("etcd_register_visible".into(), json!(e));
            }
        }
    }
    if skipped.is_empty() {
        skipped.insert(
            "none".into(),
            json!("every figure whose feature exists is measured"),
        );
    }
    Ok((figs, skipped))
}

fn meta(
    quick: bool,
    modes: &[affinity::Mode],
    skipped: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Value {
    let cmd = |c: &str, a: &[&str]| {
        std::process::Command::new(c)
            .args(a)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    json!({
        "machine": cmd("uname", &["-nm"]),
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "kernel": cmd("uname", &["-r"]),
        "commit": cmd("git", &["rev-parse", "HEAD"]),
        "date": cmd("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
        "quick": quick,
        "modes": modes.iter().map(|m| m.name()).collect::<Vec<_>>(),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "skipped": skipped,
    })
}

fn main() -> ExitCode {
    peer::maybe_run();
    tractor::maybe_run_child();
    let args = Args::parse();
    let plan = Plan {
        quick: args.quick,
        only: args.only,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = if args.envctl {
        envctl::figures(plan.n(3, 1))
            .map(|f| (f, serde_json::Map::new()))
            .map_err(|e| tractor::Error::Config(format!("envctl figures: {e}")))
    } else {
        match affinity::Cpus::read() {
            Ok(cpus) => rt.block_on(run(&plan, cpus)),
            Err(e) => Err(tractor::Error::Config(format!(
                "reading the CPU affinity: {e}"
            ))),
        }
    };
    let modes = affinity::Cpus::read()
        .map(|c| c.modes())
        .unwrap_or_default();
    match result {
        Ok((figs, skipped)) => {
            let mut map = serde_json::Map::new();
            for f in &figs {
                map.insert(f.key(), f.to_json());
            }
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({ "meta": meta(plan.quick, &modes, skipped), "figures": map })
                )
                .expect("json")
            );
            report::table(&figs);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tractor-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
