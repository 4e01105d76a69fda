//! The Rust side of the interop tests that a Rust program starts:
//!
//! * `rust_client ctx NAME [FUNC]`: open a context with the Python actor
//!   `NAME`'s `py_funcs.FUNC` (default `echo_stream`), stream three items
//!   both ways, get the result; a callee that raises mid-stream ends it
//!   with its error printed (status 1), never a panic;
//! * `rust_client stream NAME`: stream the Python actor `NAME`'s async
//!   generators with `open_stream_from` (typed and by name), read one that
//!   raises, cancel a long one, and call them the wrong way to print the
//!   `FuncType` errors;
//! * `rust_client rust-ctx NAME`: the same with the Rust service `NAME`
//!   (`rust_service.add`, then `rust_service.rs_echo`) — across hosts over
//!   mutual TLS in the README's "two machines" walk-through;
//! * `rust_client etcd-outage NAME`: with the registry on etcd, wait for the
//!   Rust service `NAME` (a watch), call it, then on SIGUSR1 (sent once the
//!   test has killed etcd) call it again over the open connection and show
//!   that `find_actor` fails in bounded time with an error naming etcd;
//! * `rust_client etcd-watch NAME`: with the registry on etcd, watch the
//!   entries of `NAME` and print each change ("NAME registered", "NAME
//!   gone") until killed: a watcher on one host of the two-hosts tests;
//! * `rust_client pldspec NAME`: payload specs with the Python actor
//!   `NAME`: its `py_funcs.int_sum` (`pld_spec=int`) opened typed (the
//!   types declared here, on a `RemoteContextFn` of our own), then sent a
//!   str by name (Python refuses it); `py_funcs.greets` opened with an int
//!   declared for the str it starts with (we refuse it);
//! * `rust_client spawn-python PYTHON PY_FUNCS_FILE`: start a Python tractor
//!   actor as a child of a Rust nursery, call it, cancel it;
//! * `rust_client supervise-python PYTHON PY_FUNCS_FILE`: supervise a Python
//!   tractor actor (one-for-one, permanent), `kill -9` it, call the
//!   restarted instance, then shut the supervisor down;
//! * `rust_client debug-python PYTHON PY_FUNCS_FILE`: start a Python child
//!   and call its `pause_then_add`, which stops in Python's debugger
//!   (`tractor.pause()`) holding our root's terminal lock (run it in debug
//!   mode, on a terminal), then answers.

use std::sync::Arc;

use tractor::ContextOptions;
use tractor::msg::Value;
use tractor::spawn::PythonBackend;

async fn ctx_with(name: &str, func: &str) -> Result<(), tractor::Error> {
    let portal = tractor::wait_for_actor(name).await?;
    let (ctx, first) = portal
        .open_context_from_ns(
            "py_funcs",
            func,
            vec![("greeting".into(), Value::from("hi from rust"))],
            ContextOptions::default(),
        )
        .await?;
    println!("started: {}", first.as_str().unwrap_or_default());
    let mut stream = ctx.open_stream();
    for i in 0..3i64 {
        stream.send(&Value::from(i)).await?;
        let Some(back) = stream.recv().await? else {
            // The callee ended the stream early: its outcome says why.
            return match ctx.result().await {
                Err(e) => Err(e),
                Ok(v) => Err(tractor::Error::Config(format!(
                    "the stream ended after {i} echoes with result {v}"
                ))),
            };
        };
        println!("echoed: {back}");
    }
    stream.close().await?;
    let n: u64 = ctx.result_as().await?;
    println!("rust->python context ok: {n} items");
    Ok(())
}

async fn rust_ctx_with(name: &str) -> Result<(), tractor::Error> {
    println!("waiting for {name}");
    let portal = tractor::wait_for_actor(name).await?;
    let sum = portal
        .run_from_ns(
            "rust_service",
            "add",
            vec![("x".into(), 20.into()), ("y".into(), 22.into())],
        )
        .await?;
    println!("{name} says 20 + 22 = {sum}");
    let (ctx, first) = portal
        .open_context_from_ns(
            "rust_service",
            "rs_echo",
            vec![("greeting".into(), Value::from("hi from the client"))],
            ContextOptions::default(),
        )
        .await?;
    println!("started: {}", first.as_str().unwrap_or_default());
    let mut stream = ctx.open_stream();
    for i in 0..3i64 {
        stream.send(&Value::from(i)).await?;
        let back = stream.recv().await?.expect("an echo");
        println!("echoed: {back}");
    }
    stream.close().await?;
    let n: u64 = ctx.result_as().await?;
    println!("rust->rust context ok: {n} items");
    Ok(())
}

/// A Python async generator, typed: `py_funcs.count_to(n)` yields 0..n.
#[derive(serde::Serialize)]
#[allow(non_camel_case_types)]
struct count_to {
    n: u32,
}

impl tractor::RemoteStreamFn for count_to {
    const NS: &'static str = "py_funcs";
    const NAME: &'static str = "count_to";
    type Item = u32;
}

/// Python's `py_funcs.int_sum` (`@tractor.context(pld_spec=int)`), typed
/// on our side: the spec declared once, here.
#[derive(serde::Serialize)]
#[allow(non_camel_case_types)]
struct int_sum {}

impl tractor::RemoteContextFn for int_sum {
    const NS: &'static str = "py_funcs";
    const NAME: &'static str = "int_sum";
    type Started = i64;
    type Item = i64;
    type Output = i64;
}

/// Python's `py_funcs.greets`, declared (wrongly) to start with an int.
#[derive(serde::Serialize)]
#[allow(non_camel_case_types)]
struct greets {}

impl tractor::RemoteContextFn for greets {
    const NS: &'static str = "py_funcs";
    const NAME: &'static str = "greets";
    type Started = i64;
    type Item = Value;
    type Output = Value;
}

/// Payload specs enforced both ways with the Python actor `name`.
async fn pld_spec(name: &str) -> Result<(), tractor::Error> {
    let portal = tractor::wait_for_actor(name).await?;
    println!("spec: {}", tractor::msg::ANY_PLD_SPEC);
    let (sums, total) = portal
        .with_context(int_sum {}, |ctx, first| async move {
            let mut stream = ctx.open_stream();
            let mut sums = vec![first];
            for x in [1, 2] {
                stream.send(&x).await?;
                sums.extend(stream.recv().await?);
            }
            stream.close().await?;
            Ok(sums)
        })
        .await?;
    println!("typed: sums {sums:?} total {total}");
    // By name, untyped: Python's spec refuses the str.
    let (ctx, _) = portal
        .open_context_from_ns("py_funcs", "int_sum", vec![], ContextOptions::default())
        .await?;
    let stream = ctx.open_stream();
    stream.send(&Value::from("two")).await?;
    match ctx.result().await {
        Ok(v) => println!("python took a str: {v}"),
        Err(e) => println!("python refused: {:?}: {e}", e.kind()),
    }
    // Our declared spec refuses what Python starts with.
    match portal.open_context(greets {}).await {
        Ok((_, v)) => println!("we took a str as an int: {v}"),
        Err(e) => println!("we refused: {:?}: {e}", e.kind()),
    }
    Ok(())
}

/// Streams Python async generators from `name`, and calls them (and a
/// plain function) the wrong way to show the errors.
async fn stream_from(name: &str) -> Result<(), tractor::Error> {
    let portal = tractor::wait_for_actor(name).await?;
    let mut s = portal.open_stream_from(count_to { n: 3 }).await?;
    while let Some(i) = s.recv().await? {
        println!("streamed: {i}");
    }
    let failing = portal
        .open_stream_from_ns::<Value>("py_funcs", "count_then_fail", vec![("n".into(), 2.into())])
        .await?;
    match failing.collect().await {
        Ok(v) => println!("count_then_fail did not fail: {v:?}"),
        Err(e) => println!("stream error: {e}"),
    }
    // Reading part of a stream and dropping it cancels the generator; the
    // actor keeps answering.
    let mut long = portal.open_stream_from(count_to { n: 1_000_000 }).await?;
    println!("first of a long stream: {:?}", long.recv().await?);
    // The stream is in our task tree while it runs, and leaves it after.
    let me = tractor::current_actor().expect("in the root");
    let tree = me.task_tree();
    let opened: Vec<&str> = tree
        .lines()
        .filter(|l| l.contains("(opener)"))
        .map(|l| l.trim_start_matches(|c: char| !c.is_ascii_alphabetic()))
        .collect();
    println!("opened while streaming: {opened:?}");
    println!("long stream cancelled: {}", long.cancel().await?);
    let left = me.task_tree().matches("(opener)").count();
    println!("opened entries left after the streams: {left}");
    let n = vec![("n".into(), Value::from(3))];
    match portal.run_from_ns("py_funcs", "count_to", n).await {
        Ok(v) => println!("run on an async generator returned {v}"),
        Err(e) => println!("run: {e}"),
    }
    let add = vec![("x".into(), 1.into()), ("y".into(), 2.into())];
    match portal
        .open_context_from_ns("py_funcs", "add", add.clone(), ContextOptions::default())
        .await
    {
        Ok(_) => println!("open_context on a plain function started"),
        Err(e) => println!("open_context: {e}"),
    }
    match portal
        .open_stream_from_ns::<Value>("py_funcs", "add", add.clone())
        .await
    {
        Ok(_) => println!("open_stream_from on a plain function started"),
        Err(e) => println!("open_stream_from: {e}"),
    }
    println!(
        "still answering: {}",
        portal.run_from_ns("py_funcs", "add", add).await?
    );
    Ok(())
}

/// What `python_child` does with its Python child.
#[derive(Clone, Copy, PartialEq)]
enum PyChildMode {
    /// `add`, then a remote error, then a cancel that must be acked.
    Spawn,
    /// `pause_then_add`: the child stops in its debugger first.
    Debug,
}

async fn python_child(python: &str, funcs: &str, mode: PyChildMode) -> Result<(), tractor::Error> {
    let backend = Arc::new(PythonBackend {
        python: python.into(),
        modules: vec![("py_funcs".into(), funcs.into())],
    });
    tractor::open_nursery(|n| async move {
        let child = n
            .start_actor_with("pychild", &["py_funcs"], backend)
            .await?;
        println!("python child pid {}", child.pid().unwrap_or(0));
        let (func, says) = match mode {
            PyChildMode::Spawn => ("add", "python child says"),
            PyChildMode::Debug => ("pause_then_add", "python child resumed:"),
        };
        let sum = child
            .run_from_ns(
                "py_funcs",
                func,
                vec![("x".into(), 20.into()), ("y".into(), 22.into())],
            )
            .await?;
        println!("{says} 20 + 22 = {sum}");
        if mode == PyChildMode::Debug {
            child.cancel_actor().await?;
            return Ok(());
        }
        match child.run_from_ns("py_funcs", "boom", vec![]).await {
            Err(tractor::Error::Remote(e)) => {
                println!("python error: {} / {}", e.src_type(), e.boxed_type())
            }
            other => println!("unexpected: {other:?}"),
        }
        let acked = child.cancel_actor().await?;
        println!("python child cancelled: {acked}");
        Ok(())
    })
    .await?;
    println!("nursery closed");
    Ok(())
}

async fn supervise_python(python: &str, funcs: &str) -> Result<(), tractor::Error> {
    use tractor::supervision::{ChildSpec, Strategy, SupervisorEvent, SupervisorSpec};
    let backend = Arc::new(PythonBackend {
        python: python.into(),
        modules: vec![("py_funcs".into(), funcs.into())],
    });
    let add = || {
        vec![
            ("x".to_owned(), Value::from(20)),
            ("y".to_owned(), Value::from(22)),
        ]
    };
    tractor::supervise(SupervisorSpec::new(Strategy::OneForOne), |sup| async move {
        let mut events = sup.subscribe();
        let old = sup
            .start_child(ChildSpec::new("pychild", &["py_funcs"]).backend(backend))
            .await?;
        let pid = sup.pid("pychild").unwrap_or(0);
        println!("supervised python child pid {pid}");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .map_err(|e| tractor::Error::other(format!("kill {pid}: {e}")))?;
        loop {
            match events.recv().await {
                Ok(SupervisorEvent::Started { restarts: 1, .. }) => break,
                Ok(_) => {}
                Err(e) => return Err(tractor::Error::other(format!("events: {e}"))),
            }
        }
        let new = sup.portal("pychild").expect("the restarted child runs");
        println!(
            "restarted python child pid {} (was {pid})",
            sup.pid("pychild").unwrap_or(0)
        );
        let sum = new.run_from_ns("py_funcs", "add", add()).await?;
        println!("restarted python child says 20 + 22 = {sum}");
        match old.run_from_ns("py_funcs", "add", add()).await {
            Err(tractor::Error::PeerGone { peer, .. }) => println!("old portal: {peer} is gone"),
            other => println!("unexpected: {other:?}"),
        }
        sup.shutdown().await;
        Ok(())
    })
    .await?;
    println!("supervisor closed");
    Ok(())
}

async fn add(portal: &tractor::Portal) -> Result<Value, tractor::Error> {
    portal
        .run_from_ns(
            "rust_service",
            "add",
            vec![("x".into(), Value::from(20)), ("y".into(), Value::from(22))],
        )
        .await
}

async fn etcd_outage(name: &str) -> Result<(), tractor::Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut go = signal(SignalKind::user_defined1())
        .map_err(|e| tractor::Error::other(format!("SIGUSR1: {e}")))?;
    println!("waiting for {name}");
    let portal = tractor::wait_for_actor(name).await?;
    println!("call before the outage: {}", add(&portal).await?);
    println!("ready for the outage");
    go.recv().await;
    match add(&portal).await {
        Ok(v) => println!("call during the outage: {v}"),
        Err(e) => println!("call during the outage failed: {e}"),
    }
    match tractor::find_actor("nobody-registers-this").await {
        Err(e) => println!("find_actor during the outage: {e}"),
        Ok(_) => println!("find_actor during the outage: unexpected answer"),
    }
    Ok(())
}

async fn etcd_watch(name: &str) -> Result<(), tractor::Error> {
    use tractor::discovery::etcd::EtcdRegistry;
    let actor = tractor::current_actor()
        .ok_or_else(|| tractor::Error::Config("no actor runs here".into()))?;
    let at = actor.runtime_vars().etcd_registry.clone().ok_or_else(|| {
        tractor::Error::Config("the registry is not etcd (set etcd_registry)".into())
    })?;
    let reg = EtcdRegistry::connect(&at).await?;
    let stop = actor.scope().token().clone();
    println!("watching {name}");
    loop {
        reg.wait_for(name, &stop).await?;
        println!("{name} registered");
        reg.wait_gone(name, &stop).await?;
        println!("{name} gone");
    }
}

#[tractor::main(name = "rustclient")]
async fn main() -> Result<(), tractor::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["ctx", name] => ctx_with(name, "echo_stream").await,
        ["ctx", name, func] => ctx_with(name, func).await,
        ["rust-ctx", name] => rust_ctx_with(name).await,
        ["etcd-outage", name] => etcd_outage(name).await,
        ["etcd-watch", name] => etcd_watch(name).await,
        ["stream", name] => stream_from(name).await,
        ["pldspec", name] => pld_spec(name).await,
        ["spawn-python", python, funcs] => python_child(python, funcs, PyChildMode::Spawn).await,
        ["supervise-python", python, funcs] => supervise_python(python, funcs).await,
        ["debug-python", python, funcs] => python_child(python, funcs, PyChildMode::Debug).await,
        _ => Err(tractor::Error::Config(
            "usage: rust_client ctx NAME [FUNC] | rust-ctx NAME | stream NAME | pldspec NAME \
             | spawn-python PYTHON PY_FUNCS_FILE \
             | supervise-python PYTHON PY_FUNCS_FILE | debug-python PYTHON PY_FUNCS_FILE"
                .into(),
        )),
    }
}
