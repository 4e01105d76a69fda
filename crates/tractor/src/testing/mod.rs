//! The test harness used by our tests and available to users' tests.
//!
//! * [`run_test`] (behind `#[tractor::test]`): runs an async test in a
//!   root actor with its own [`session_vars`] (registrar address and
//!   bind-space folder, carried to every subprocess by the envelope), under
//!   a timeout scaled by [`headroom`]; on a hang it prints diagnostics of
//!   every actor in the tree before killing it; afterwards it checks that
//!   no descendant process, zombie or socket file is left.
//! * [`procs`]: `/proc` helpers (descendants, leak checks, diagnostics).
//! * [`etcd`]: a real etcd server per test (the etcd registry's tests).
//! * [`dump_on_hang`]: every actor's task tree when a test runs too long.
//! * [`pty`]: a program on a real pseudo-terminal (what a person sees and
//!   types).
//!
//! The harness needs one test per process: it runs under `cargo nextest`
//! (or libtest with `--test-threads=1`) and refuses to run otherwise
//! ([`one_test_per_process`]).

pub mod etcd;
#[doc(hidden)]
pub mod fuzz;
mod hang;
pub mod procs;
mod programs;
pub mod pty;

pub use hang::{HangDump, HangGuard, dump_on_hang};
pub use programs::{Program, example_path};

use std::future::Future;
use std::time::Duration;

use crate::ipc::{Addr, Proto};
use crate::root::RootConfig;
use crate::runtime::state::{RuntimeVars, runtime_dir};

/// Runtime vars for one test session: a fresh session id and bind-space
/// folder, and a registrar address nobody else uses. Transport and spawn
/// backend come from the process's envelope when one is set (that is how
/// CI runs the backend × transport matrix).
pub fn session_vars() -> RuntimeVars {
    let rv = RuntimeVars::from_env().unwrap_or_default();
    let t = rv.transport;
    session_vars_for(t)
}

/// [`session_vars`] with the transport chosen.
pub fn session_vars_for(transport: Proto) -> RuntimeVars {
    let mut rv = RuntimeVars::from_env().unwrap_or_default();
    rv.transport = transport;
    rv.session_id = uuid::Uuid::new_v4().simple().to_string();
    rv.bind_dir = runtime_dir().join(&rv.session_id);
    rv.spawn = None;
    rv.is_root = true;
    rv.root_addrs.clear();
    rv.registry_addrs = vec![match rv.transport {
        Proto::Tcp => Addr::Tcp(free_tcp_port()),
        Proto::Uds => Addr::default_registrar(Proto::Uds, &rv.bind_dir),
    }];
    rv
}

/// A loopback TCP address with a port that was free a moment ago.
pub fn free_tcp_port() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr")
}

/// How much slower than nominal this machine is right now: 1.0 on an idle
/// machine, up to 4.0 under load (1-minute load average per CPU), times
/// `TRACTOR_TIMEOUT_SCALE` when set. Timeouts are multiplied by it
/// instead of tests sleeping (seed 001's CPU-headroom idea).
pub fn headroom() -> f64 {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|x| x.parse::<f64>().ok())
        })
        .unwrap_or(0.0);
    let scale = std::env::var("TRACTOR_TIMEOUT_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    (1.0 + load / cpus).clamp(1.0, 4.0) * scale
}

/// The libtest filter for a test at `module::path::name` (the crate name
/// is not part of libtest's test names).
fn libtest_name(path: &str) -> &str {
    path.split_once("::").map(|(_, rest)| rest).unwrap_or(path)
}

/// Waits (up to `limit`) until no actor of this process is alive (see
/// [`crate::runtime::actor::live_actors`]): the check the `/proc` one
/// cannot make for thread actors. `None` when none is; else a report.
pub fn live_actors_report(limit: Duration) -> Option<String> {
    let live = crate::runtime::actor::wait_live_actors_gone(limit);
    if live.is_empty() {
        return None;
    }
    let mut r = String::new();
    for u in live {
        r.push_str(&format!(
            "  actor {:?} ({}) still alive in this process\n",
            u.name, u.uuid
        ));
    }
    Some(r)
}

/// `Ok` when this test process runs one test at a time, as
/// [`run_test`] needs: it kills and leak-checks every descendant of the
/// test process, which would hit tests running in parallel threads of the
/// same process. True under `cargo nextest` (a process per test) and with
/// libtest limited to one thread (`--test-threads=1`,
/// `RUST_TEST_THREADS=1`).
pub fn one_test_per_process() -> Result<(), String> {
    if std::env::var_os("NEXTEST").is_some()
        || std::env::var("RUST_TEST_THREADS").as_deref() == Ok("1")
    {
        return Ok(());
    }
    let args: Vec<String> = std::env::args().collect();
    let one_thread = args.iter().any(|a| a == "--test-threads=1")
        || args
            .windows(2)
            .any(|w| w[0] == "--test-threads" && w[1] == "1");
    if one_thread {
        return Ok(());
    }
    Err(
        "#[tractor::test] needs one test per process (it kills and leak-checks every \
         descendant of the test process, so tests running in parallel would kill each \
         other's actors): run it with `cargo nextest run`, or with \
         `cargo test -- --test-threads=1`"
            .to_owned(),
    )
}

/// Runs an async test body in a fresh root actor (see the module docs).
///
/// In a child process spawned by such a test, this runs the child actor
/// instead and exits.
pub fn run_test<F, Fut, R>(
    path: &str,
    timeout_secs: f64,
    transport: Option<&str>,
    backend: Option<&str>,
    body: F,
) where
    F: FnOnce() -> Fut,
    Fut: Future<Output = R>,
    R: crate::__private::MainResult,
{
    crate::child::maybe_run_child();
    if let Err(why) = one_test_per_process() {
        panic!("test {path}: {why}");
    }
    let mut rv = match transport.map(str::parse::<Proto>) {
        Some(Ok(p)) => session_vars_for(p),
        _ => session_vars(),
    };
    if let Some(Ok(m)) = backend.map(str::parse::<crate::SpawnMethod>) {
        rv.spawn_method = m;
    }
    rv.child_args = vec![
        libtest_name(path).to_owned(),
        "--exact".into(),
        "--nocapture".into(),
        "--test-threads=1".into(),
    ];
    crate::devx::logging::init(&rv.loglevel);
    crate::devx::panics::install_hook();
    let limit = Duration::from_secs_f64(timeout_secs * headroom());
    let bind_dir = rv.bind_dir.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let cfg = RootConfig::named("root").with_vars(rv);
    let out = rt.block_on(async {
        tokio::time::timeout(
            limit,
            crate::run_root(cfg, || async move { body().await.into_tractor() }),
        )
        .await
    });
    let result = match out {
        Ok(r) => r,
        Err(_) => {
            let diag = procs::diagnose_tree(std::process::id());
            procs::kill_descendants(std::process::id());
            drop(rt);
            let _ = std::fs::remove_dir_all(&bind_dir);
            panic!("test {path} timed out after {limit:?}; the actor tree was:\n{diag}");
        }
    };
    drop(rt);
    let mut leaks = procs::leak_report(std::process::id(), &bind_dir, Duration::from_secs(10));
    if let Some(actors) = live_actors_report(Duration::from_secs(10)) {
        leaks.get_or_insert_with(String::new).push_str(&actors);
    }
    let _ = std::fs::remove_dir_all(&bind_dir);
    if let Err(e) = result {
        panic!("test {path} failed: {e}");
    }
    if let Some(report) = leaks {
        panic!("test {path} leaked:\n{report}");
    }
}
