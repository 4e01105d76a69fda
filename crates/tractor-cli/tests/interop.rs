//! Live interop with Python tractor (the pinned upstream source, built into
//! a virtualenv by `../shared/peers/python-tractor/setup.sh`): registration,
//! calls, errors and cancellation both ways, contexts with streams started
//! from each side, a Rust nursery supervising a Python child, and a Rust
//! supervisor restarting a killed Python child. Each
//! scenario runs over TCP and UDS. In debug mode (TCP): a Python client
//! takes our root's terminal lock, and a Python child's debugger takes
//! it and the terminal (a real pty).
//!
//! Then what Python users found (issue 19), over TCP: what a Python
//! caller sees when it passes an unknown keyword, an int Rust cannot hold,
//! an item nested past the limit, an item over the frame limit, and a Rust
//! caller whose Python callee raises mid-stream; payload specs
//! (`pld_spec`) enforced both ways; and Python tractor's own
//! discovery tests run with our `tractor registrar` as their registrar
//! daemon (`tests/py/rust_registrar_daemon.py`).

mod common;

use std::path::PathBuf;

use common::*;
use nix::sys::signal::Signal;
use tractor::RuntimeVars;
use tractor::ipc::{Addr, Proto};
use tractor::testing::pty::Terminal;
use tractor::testing::{Program, example_path, session_vars_for};

fn py_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py")
}

/// One scenario's world: session vars with a registrar address of the
/// transport, and a private XDG_RUNTIME_DIR for the Python side.
struct World {
    rv: RuntimeVars,
    reg: Addr,
    xdg: tempfile::TempDir,
    python: PathBuf,
}

impl World {
    fn new(proto: Proto) -> World {
        let xdg = tempfile::tempdir().unwrap();
        // Python ignores a runtime dir that is not owner-only.
        std::fs::set_permissions(
            xdg.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let mut rv = session_vars_for(proto);
        if proto == Proto::Uds {
            // Python puts its sockets in $XDG_RUNTIME_DIR/tractor.
            rv.bind_dir = xdg.path().join("tractor");
            rv.registry_addrs = vec![Addr::Uds(rv.bind_dir.join("registry@1616.sock"))];
        }
        let reg = rv.registrars().remove(0);
        World {
            rv,
            reg,
            xdg,
            python: python(),
        }
    }

    /// The registrar as the Python scripts take it.
    fn py_reg(&self) -> String {
        match &self.reg {
            Addr::Tcp(sa) => format!("tcp:{}:{}", sa.ip(), sa.port()),
            Addr::Tls(_) => unreachable!("Python tractor has no TLS"),
            Addr::Uds(p) => format!(
                "uds:{}:{}",
                p.parent().unwrap().display(),
                p.file_name().unwrap().to_string_lossy()
            ),
        }
    }

    fn py(&self, script: &str, args: &[&str]) -> Program {
        let path = py_dir().join(script);
        let mut all = vec![path.to_str().unwrap()];
        all.extend_from_slice(args);
        let xdg = self.xdg.path().to_str().unwrap().to_owned();
        Program::start_with_env(&self.python, &all, &self.rv, &[("XDG_RUNTIME_DIR", &xdg)]).unwrap()
    }

    fn rust(&self, name: &str, args: &[&str]) -> Program {
        let xdg = self.xdg.path().to_str().unwrap().to_owned();
        Program::start_with_env(
            &example_path(name),
            args,
            &self.rv,
            &[("XDG_RUNTIME_DIR", &xdg)],
        )
        .unwrap()
    }

    /// Ends a Python actor we started. A Python root keeps running its own
    /// body after a remote `self.cancel` (docs/interop.md) and may not
    /// answer SIGINT then, so it is killed; the socket files it cannot
    /// remove (`<anything>@<its pid>.sock`, and the registrar's socket when
    /// it was the registrar) are removed here.
    fn stop_python(&self, mut p: Program, was_registrar: bool) {
        let suffix = format!("@{}.sock", p.pid());
        p.signal(Signal::SIGKILL);
        p.wait(LIMIT).unwrap();
        for dir in [self.rv.bind_dir.clone(), self.xdg.path().join("tractor")] {
            if let Ok(rd) = std::fs::read_dir(&dir) {
                for e in rd.flatten() {
                    if e.file_name().to_string_lossy().ends_with(&suffix) {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
            }
        }
        if let (true, Addr::Uds(path)) = (was_registrar, &self.reg) {
            let _ = std::fs::remove_file(path);
        }
    }

    fn finish(self) {
        assert_clean(&self.rv);
    }
}

fn run_py_client(w: &World, what: &str) -> String {
    run_py_client_with(w, &[what])
}

fn run_py_client_with(w: &World, args: &[&str]) -> String {
    let reg = w.py_reg();
    let mut all = vec![reg.as_str()];
    all.extend_from_slice(args);
    let mut p = w.py("py_client.py", &all);
    let st = p.wait(LIMIT).unwrap();
    let out = p.transcript.join("\n");
    assert_eq!(st.code(), Some(0), "{out}");
    out
}

fn python_registers_with_a_rust_registrar(proto: Proto) {
    let w = World::new(proto);
    let reg = w.reg.to_string();
    let mut registrar = registrar(&w.rv, &w.reg);
    let pyreg = w.py_reg();
    let mut service = w.py("py_service.py", &[&pyreg, "pyservice"]);
    service.wait_for_line("ready", LIMIT).unwrap();

    // (a) `tractor ps` sees it; Rust calls one of its functions.
    let (code, out) = tractor(&["ps", "--registry", &reg], &w.rv);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("pyservice"), "{out}");
    let (code, out) = tractor(
        &[
            "call",
            "pyservice",
            "py_funcs.add",
            "--kwargs",
            r#"{"x": 1, "y": 2}"#,
            "--registry",
            &reg,
        ],
        &w.rv,
    );
    assert_eq!((code, out.trim()), (0, "3"));

    // (c) A Python exception arrives with its type name and traceback.
    let (code, out) = tractor(
        &["call", "pyservice", "py_funcs.boom", "--registry", &reg],
        &w.rv,
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ValueError from actor 'pyservice'"), "{out}");
    assert!(out.contains("Traceback (most recent call last)"), "{out}");
    assert!(
        out.contains("raise ValueError('boom from python')"),
        "{out}"
    );

    // (f) An async generator streams its items, one per line; a context
    // function is refused at once with what to use (not a hang).
    let (code, out) = tractor(
        &[
            "call",
            "pyservice",
            "py_funcs.count_to",
            "--kwargs",
            r#"{"n": 3}"#,
            "--registry",
            &reg,
        ],
        &w.rv,
    );
    assert_eq!((code, out.trim()), (0, "0\n1\n2"), "{out}");
    let (code, out) = tractor(
        &[
            "call",
            "pyservice",
            "py_funcs.echo_stream",
            "--kwargs",
            r#"{"greeting": "hi"}"#,
            "--registry",
            &reg,
        ],
        &w.rv,
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("py_funcs.echo_stream() is a context function")
            && out.contains("Portal::open_context"),
        "{out}"
    );

    // (d) Rust cancels the Python actor and gets its acknowledgement.
    let (code, out) = tractor(
        &["call", "pyservice", "self.cancel", "--registry", &reg],
        &w.rv,
    );
    assert_eq!(
        (code, out.trim()),
        (0, "true"),
        "{}",
        service.transcript.join("\n")
    );

    w.stop_python(service, false);
    registrar.signal(Signal::SIGINT);
    registrar.wait(LIMIT).unwrap();
    w.finish();
}

fn rust_registers_with_a_python_registrar(proto: Proto) {
    let w = World::new(proto);
    let pyreg = w.py_reg();
    let mut registrar = w.py("py_registrar.py", &[&pyreg]);
    registrar.wait_for_line("registrar up", LIMIT).unwrap();
    let mut service = w.rust("rust_service", &[]);
    service.wait_for_line("rust service ready", LIMIT).unwrap();

    // (b) Python finds the Rust actor and calls it.
    assert!(run_py_client(&w, "call").contains("add -> 42"));
    // (c) A Rust error arrives in Python as RemoteActorError with our type name.
    assert!(run_py_client(&w, "error").contains("error -> RemoteActorError RustError RustError"));
    // (e) Python opens a context with a stream on the Rust actor.
    let out = run_py_client(&w, "ctx");
    assert!(out.contains("started -> hi from python"), "{out}");
    assert!(out.contains("echo -> {'i': 2}"), "{out}");
    assert!(out.contains("result -> 3"), "{out}");
    // (d) Python cancels the Rust actor and gets its acknowledgement; the
    // Rust root then exits.
    assert!(run_py_client(&w, "cancel").contains("cancel -> True"));
    let st = service.wait(LIMIT).unwrap();
    assert_eq!(st.code(), Some(130), "{}", service.transcript.join("\n"));

    w.stop_python(registrar, true);
    w.finish();
}

fn rust_opens_a_context_with_a_python_actor(proto: Proto) {
    let w = World::new(proto);
    let mut registrar = registrar(&w.rv, &w.reg);
    let pyreg = w.py_reg();
    let mut service = w.py("py_service.py", &[&pyreg, "pyservice"]);
    service.wait_for_line("ready", LIMIT).unwrap();
    let mut client = w.rust("rust_client", &["ctx", "pyservice"]);
    let st = client.wait(LIMIT).unwrap();
    let out = client.transcript.join("\n");
    assert_eq!(st.code(), Some(0), "{out}");
    assert!(out.contains("started: hi from rust"), "{out}");
    assert!(out.contains("echoed: 2"), "{out}");
    assert!(out.contains("rust->python context ok: 3 items"), "{out}");
    w.stop_python(service, false);
    registrar.signal(Signal::SIGINT);
    registrar.wait(LIMIT).unwrap();
    w.finish();
}

fn rust_streams_from_a_python_async_generator(proto: Proto) {
    let w = World::new(proto);
    let mut registrar = registrar(&w.rv, &w.reg);
    let pyreg = w.py_reg();
    let mut service = w.py("py_service.py", &[&pyreg, "pyservice"]);
    service.wait_for_line("ready", LIMIT).unwrap();
    let mut client = w.rust("rust_client", &["stream", "pyservice"]);
    let st = client.wait(LIMIT).unwrap();
    let out = client.transcript.join("\n");
    assert_eq!(st.code(), Some(0), "{out}");
    assert!(
        out.contains("streamed: 0\nstreamed: 1\nstreamed: 2\n"),
        "{out}"
    );
    assert!(
        out.contains("stream error: ") && out.contains("failed after 2 items"),
        "{out}"
    );
    assert!(out.contains("first of a long stream: Some(0)"), "{out}");
    // Our task tree lists the one stream still open, with its peer.
    let opened = out
        .lines()
        .find(|l| l.starts_with("opened while streaming:"))
        .unwrap_or_else(|| panic!("no task-tree line in:\n{out}"));
    assert!(
        opened.contains("[\"stream py_funcs.count_to cid=")
            && opened.contains(" peer=pyservice (opener)")
            && opened.matches("(opener)").count() == 1,
        "{opened}"
    );
    assert!(
        out.contains("opened entries left after the streams: 0"),
        "{out}"
    );
    assert!(
        out.contains(
            "run: py_funcs.count_to() is an async generator (a streaming function), \
             not a plain async function: stream it with Portal::open_stream_from"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "open_context: py_funcs.add() is a plain async function, not a context \
             function: call it with Portal::run"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "open_stream_from: py_funcs.add() is a plain async function, not an async generator"
        ),
        "{out}"
    );
    assert!(out.contains("still answering: 3"), "{out}");
    w.stop_python(service, false);
    registrar.signal(Signal::SIGINT);
    registrar.wait(LIMIT).unwrap();
    w.finish();
}

fn a_rust_nursery_supervises_a_python_child(proto: Proto) {
    let w = World::new(proto);
    let funcs = py_dir().join("py_funcs.py");
    let python = w.python.to_str().unwrap().to_owned();
    let mut client = w.rust(
        "rust_client",
        &["spawn-python", &python, funcs.to_str().unwrap()],
    );
    let st = client.wait(LIMIT).unwrap();
    let out = client.transcript.join("\n");
    assert_eq!(st.code(), Some(0), "{out}");
    assert!(out.contains("python child says 20 + 22 = 42"), "{out}");
    assert!(
        out.contains("python error: ValueError / ValueError"),
        "{out}"
    );
    assert!(out.contains("python child cancelled: true"), "{out}");
    assert!(out.contains("nursery closed"), "{out}");
    w.finish();
}

fn a_rust_supervisor_restarts_a_killed_python_child(proto: Proto) {
    let w = World::new(proto);
    let funcs = py_dir().join("py_funcs.py");
    let python = w.python.to_str().unwrap().to_owned();
    let mut client = w.rust(
        "rust_client",
        &["supervise-python", &python, funcs.to_str().unwrap()],
    );
    let st = client.wait(LIMIT).unwrap();
    let out = client.transcript.join("\n");
    assert_eq!(st.code(), Some(0), "{out}");
    assert!(out.contains("supervised python child pid "), "{out}");
    assert!(out.contains("restarted python child pid "), "{out}");
    assert!(
        out.contains("restarted python child says 20 + 22 = 42"),
        "{out}"
    );
    assert!(out.contains("old portal: pychild is gone"), "{out}");
    assert!(out.contains("supervisor closed"), "{out}");
    w.finish();
}

/// A Rust registrar and `rust_service` for a Python client (TCP), with
/// `tune` applied to the session vars first.
fn rust_service_world(tune: impl FnOnce(&mut RuntimeVars)) -> (World, Program, Program) {
    let mut w = World::new(Proto::Tcp);
    tune(&mut w.rv);
    let registrar = registrar(&w.rv, &w.reg);
    let mut service = w.rust("rust_service", &[]);
    service.wait_for_line("rust service ready", LIMIT).unwrap();
    (w, registrar, service)
}

fn stop_all(w: World, mut registrar: Program, mut service: Program) {
    service.signal(Signal::SIGINT);
    service.wait(LIMIT).unwrap();
    registrar.signal(Signal::SIGINT);
    registrar.wait(LIMIT).unwrap();
    w.finish();
}

/// The line of `out` starting with `label ->`.
fn line<'a>(out: &'a str, label: &str) -> &'a str {
    let start = format!("{label} ->");
    out.lines()
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("no `{start}` line in:\n{out}"))
}

#[test]
fn python_takes_and_releases_the_terminal_lock_a_rust_root_serves_in_debug_mode() {
    let (w, registrar, mut service) = rust_service_world(|rv| rv.debug_mode = true);
    let out = run_py_client(&w, "ttylock");
    // Python's own dialog and payload types: started(LockStatus) naming
    // the Python actor and the context, then LockRelease, then the result.
    assert_eq!(
        line(&out, "locked"),
        "locked -> LockStatus True True True",
        "{out}"
    );
    assert_eq!(
        line(&out, "released"),
        "released -> LockStatus False",
        "{out}"
    );
    service
        .wait_for_line("tractor: terminal lock taken by 'pyclient'", LIMIT)
        .unwrap();
    let released = service
        .wait_for_line("tractor: terminal lock released by 'pyclient'", LIMIT)
        .unwrap();
    assert!(
        !released.contains("gone"),
        "released on request: {released}"
    );
    stop_all(w, registrar, service);
}

/// Payload specs, Python opening a Rust context: a Python opener sends
/// the spec string we send (`typing.Any`), and our typed callee
/// (`rs_sum`, `Callee<i64, i64>`) refuses a str with a `MsgTypeError`
/// Python raises as such; the connection stays usable.
#[test]
fn python_gets_a_msg_type_error_from_a_typed_rust_context() {
    let (w, registrar, service) = rust_service_world(|_| {});
    let out = run_py_client(&w, "pldspec");
    assert_eq!(
        line(&out, "spec"),
        format!("spec -> {}", tractor::msg::ANY_PLD_SPEC),
        "{out}"
    );
    assert_eq!(line(&out, "ints"), "ints -> ok ([0, 1, 3], 3)", "{out}");
    let refused = line(&out, "a str");
    assert!(
        refused.starts_with("a str -> MsgTypeError MsgTypeError"),
        "{out}"
    );
    assert!(
        refused.contains("invalid type: string \"two\", expected i64"),
        "{out}"
    );
    assert_eq!(line(&out, "after"), "after -> 42", "{out}");
    stop_all(w, registrar, service);
}

/// Payload specs, Rust opening Python contexts: a Python function's spec
/// declared on a `RemoteContextFn` of our own types the opener; Python's
/// `pld_spec=int` refuses a str we send by name; our declared `i64`
/// refuses the str Python starts with. Both are `MsgTypeError`s.
#[test]
fn rust_and_python_enforce_each_others_payload_specs() {
    let w = World::new(Proto::Tcp);
    let mut registrar = registrar(&w.rv, &w.reg);
    let pyreg = w.py_reg();
    let mut service = w.py("py_service.py", &[&pyreg, "pyservice"]);
    service.wait_for_line("ready", LIMIT).unwrap();
    let mut client = w.rust("rust_client", &["pldspec", "pyservice"]);
    let st = client.wait(LIMIT).unwrap();
    let out = client.transcript.join("\n");
    assert_eq!(st.code(), Some(0), "{out}");
    assert!(out.contains("spec: typing.Any"), "{out}");
    assert!(out.contains("typed: sums [0, 1, 3] total 3"), "{out}");
    assert!(out.contains("python refused: MsgTypeError: "), "{out}");
    assert!(out.contains("we refused: MsgTypeError: "), "{out}");
    w.stop_python(service, false);
    registrar.signal(Signal::SIGINT);
    registrar.wait(LIMIT).unwrap();
    w.finish();
}

/// A Python *child* in debug mode under a Rust root, on a real terminal:
/// `tractor.pause()` in the child takes our root's lock with Python's own
/// dialog, the root lends it the terminal, Python's debugger prompts on
/// it, `c` typed there continues, and the lock comes back released (not
/// dropped).
#[test]
fn a_python_child_in_debug_mode_takes_our_roots_lock_and_its_debugger_reads_the_terminal() {
    let mut w = World::new(Proto::Tcp);
    w.rv.debug_mode = true;
    let funcs = py_dir().join("py_funcs.py");
    let (k, v) = w.rv.dump();
    let mut cmd = std::process::Command::new(example_path("rust_client"));
    cmd.args([
        "debug-python",
        w.python.to_str().unwrap(),
        funcs.to_str().unwrap(),
    ])
    .env(k, v)
    .env("XDG_RUNTIME_DIR", w.xdg.path())
    .env_remove("RUST_LOG");
    let (mut t, mut client) = Terminal::start(&mut cmd, LIMIT).unwrap();
    t.expect("python child pid ");
    t.expect("tractor: terminal lock taken by 'pychild'");
    // Python's debugger (pdbp) prompts on the terminal it was lent.
    t.expect("(Pdb+)");
    let prompt = t.cursor;
    t.press("c\n");
    t.expect("nursery closed");
    let st = t.wait_exit(&mut client);
    assert_eq!(st.code(), Some(0), "{}", t.screen);
    // The answer and the root's release line come in either order.
    let after = &t.screen[prompt..];
    assert!(
        after.contains("python child resumed: 20 + 22 = 42"),
        "{after}"
    );
    let released = after
        .lines()
        .find(|l| l.contains("tractor: terminal lock released by 'pychild'"))
        .unwrap_or_else(|| panic!("no release:\n{after}"));
    assert!(
        !released.contains("gone"),
        "released on request: {released}"
    );
    w.finish();
}

#[test]
fn python_gets_a_type_error_for_an_unknown_keyword() {
    let (w, registrar, service) = rust_service_world(|_| {});
    let out = run_py_client(&w, "kwargs");
    // Python maps the boxed type name to its own TypeError.
    assert_eq!(
        line(&out, "kwargs"),
        "kwargs -> RemoteActorError TypeError TypeError | TypeError: add() got an unexpected keyword argument 'z'",
        "{out}"
    );
    assert_eq!(line(&out, "after"), "after -> 42", "{out}");
    stop_all(w, registrar, service);
}

#[test]
fn python_gets_an_overflow_error_for_an_int_rust_cannot_hold() {
    let (w, registrar, service) = rust_service_world(|_| {});
    let out = run_py_client(&w, "overflow");
    let convert = line(&out, "convert");
    assert!(
        convert.starts_with("convert -> RemoteActorError OverflowError OverflowError | "),
        "{out}"
    );
    assert!(convert.contains("9223372036854775808"), "{out}");
    let arith = line(&out, "arith");
    assert!(
        arith.starts_with("arith -> RemoteActorError OverflowError OverflowError | "),
        "{out}"
    );
    assert!(arith.contains("attempt to add with overflow"), "{out}");
    assert_eq!(line(&out, "after"), "after -> 42", "{out}");
    stop_all(w, registrar, service);
}

#[test]
fn python_is_told_when_an_item_is_nested_past_the_limit() {
    let (w, registrar, service) = rust_service_world(|_| {});
    let out = run_py_client(&w, "deep");
    assert_eq!(
        line(&out, "depth 128"),
        "depth 128 -> ok echoed 128",
        "{out}"
    );
    let deep = line(&out, "depth 129");
    assert!(deep.contains("MsgTypeError"), "{out}");
    assert!(
        deep.contains("nested deeper than the 128-level limit (RuntimeVars::max_nesting_depth)"),
        "{out}"
    );
    assert_eq!(line(&out, "after"), "after -> 42", "{out}");
    stop_all(w, registrar, service);
}

#[test]
fn the_nesting_limit_is_a_runtime_setting() {
    let (w, registrar, service) = rust_service_world(|rv| rv.max_nesting_depth = 200);
    let out = run_py_client(&w, "deep");
    assert_eq!(
        line(&out, "depth 129"),
        "depth 129 -> ok echoed 129",
        "{out}"
    );
    stop_all(w, registrar, service);
}

#[test]
fn python_is_told_when_an_item_is_over_the_frame_limit() {
    let (w, registrar, mut service) = rust_service_world(|rv| rv.max_frame_bytes = 1024 * 1024);
    let out = run_py_client_with(&w, &["big", "2000000"]);
    let big = line(&out, "big");
    assert!(big.contains("MsgTypeError"), "{out}");
    assert!(
        big.contains("exceeds the 1048576-byte frame limit (RuntimeVars::max_frame_bytes)"),
        "{out}"
    );
    assert!(big.contains("a message of 20000"), "{out}");
    // The connection stays up: the next call on the same portal works.
    assert_eq!(line(&out, "after"), "after -> 42", "{out}");
    // Our side logs it, naming the peer.
    service.signal(Signal::SIGINT);
    service.wait(LIMIT).unwrap();
    let log = service.transcript.join("\n");
    assert!(
        log.contains("bad message from tcp:127.0.0.1:") && log.contains("frame limit"),
        "{log}"
    );
    registrar_stop(w, registrar);
}

fn registrar_stop(w: World, mut registrar: Program) {
    registrar.signal(Signal::SIGINT);
    registrar.wait(LIMIT).unwrap();
    w.finish();
}

#[test]
fn the_default_frame_limit_takes_a_40_mib_item_from_python() {
    let (w, registrar, service) = rust_service_world(|_| {});
    let out = run_py_client_with(&w, &["big", &(40 * 1024 * 1024).to_string()]);
    assert_eq!(line(&out, "big"), "big -> ok echoed 41943040", "{out}");
    stop_all(w, registrar, service);
}

#[test]
fn a_rust_caller_prints_the_error_of_a_python_callee_that_raises_mid_stream() {
    let w = World::new(Proto::Tcp);
    let mut registrar = registrar(&w.rv, &w.reg);
    let pyreg = w.py_reg();
    let mut service = w.py("py_service.py", &[&pyreg, "pyservice"]);
    service.wait_for_line("ready", LIMIT).unwrap();
    let mut client = w.rust("rust_client", &["ctx", "pyservice", "echo_then_raise"]);
    let st = client.wait(LIMIT).unwrap();
    let out = client.transcript.join("\n");
    assert_eq!(st.code(), Some(1), "{out}");
    assert!(out.contains("echoed: 0"), "{out}");
    assert!(out.contains("ValueError"), "{out}");
    assert!(out.contains("ValueError: python gave up after 0"), "{out}");
    assert!(!out.contains("panicked"), "{out}");
    w.stop_python(service, false);
    registrar.signal(Signal::SIGINT);
    registrar.wait(LIMIT).unwrap();
    w.finish();
}

/// Python tractor's own discovery tests, run in place from the pinned
/// source with our `tractor registrar` as their `daemon` (see
/// `tests/py/rust_registrar_daemon.py` for how, and which tests are
/// expected to fail on this machine with Python's own daemon too).
#[test]
fn python_tractors_discovery_tests_pass_against_our_registrar() {
    let w = World::new(Proto::Tcp);
    let src = w
        .python
        .parent()
        .and_then(|bin| bin.parent())
        .and_then(|venv| venv.parent())
        .map(|cache| cache.join("tractor-src"))
        .expect("the venv sits next to the unpacked source");
    assert!(
        src.join("tests/discovery/conftest.py").is_file(),
        "no Python tractor source at {}",
        src.display()
    );
    let has_pytest = std::process::Command::new(&w.python)
        .args(["-c", "import pytest, pytest_timeout, psutil"])
        .status()
        .unwrap();
    assert!(
        has_pytest.success(),
        "the peer venv lacks pytest / pytest-timeout / psutil: scripts/test.sh installs them \
         ({} -m pip install 'pytest>=9.0.3' pytest-timeout psutil)",
        w.python.display()
    );
    let tractor_bin = tractor_bin();
    let runner = py_dir().join("run_discovery_tests.py");
    let xdg = w.xdg.path().to_str().unwrap().to_owned();
    let mut p = Program::start_with_env(
        &w.python,
        &[runner.to_str().unwrap(), src.to_str().unwrap()],
        &w.rv,
        &[
            ("TRACTOR_BIN", tractor_bin.to_str().unwrap()),
            ("XDG_RUNTIME_DIR", &xdg),
        ],
    )
    .unwrap();
    // Inside nextest's 180 s for this test (.config/nextest.toml), so a
    // slow run fails here, with pytest's output.
    let st = p.wait(std::time::Duration::from_secs(170)).unwrap();
    let out = p.transcript.join("\n");
    // pytest's status: 0 only when no test failed or errored (the listed
    // xfails may fail, or pass).
    assert_eq!(st.code(), Some(0), "{out}");
    assert!(
        out.contains("PASSED tests/discovery/test_multi_program.py::test_abort_on_sigint"),
        "{out}"
    );
    w.finish();
}

macro_rules! both_transports {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn tcp() {
                    super::$name(tractor::ipc::Proto::Tcp);
                }
                #[test]
                fn uds() {
                    super::$name(tractor::ipc::Proto::Uds);
                }
            }
        )*
    };
}

both_transports!(
    python_registers_with_a_rust_registrar,
    rust_registers_with_a_python_registrar,
    rust_opens_a_context_with_a_python_actor,
    rust_streams_from_a_python_async_generator,
    a_rust_nursery_supervises_a_python_child,
    a_rust_supervisor_restarts_a_killed_python_child,
);
