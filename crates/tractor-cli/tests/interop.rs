//! Live interop with Python tractor (the pinned upstream source, built into
//! a virtualenv by `../shared/peers/python-tractor/setup.sh`): registration,
//! calls, errors and cancellation both ways, contexts with streams started
//! from each side, a Rust nursery supervising a Python child, and a Rust
//! supervisor restarting a killed Python child. Each
//! scenario runs over TCP and UDS.

mod common;

use std::path::PathBuf;

use common::*;
use nix::sys::signal::Signal;
use tractor::RuntimeVars;
use tractor::ipc::{Addr, Proto};
use tractor::testing::{Program, example_path, session_vars_for};

/// The peer's Python: `TRACTOR_PEER_PYTHON` (set by scripts/test.sh), else
/// built now with the setup script.
fn python() -> PathBuf {
    if let Ok(p) = std::env::var("TRACTOR_PEER_PYTHON")
        && !p.is_empty()
    {
        return p.into();
    }
    let setup = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/peers/python-tractor/setup.sh");
    let out = std::process::Command::new(&setup)
        .output()
        .expect("run the python peer setup script");
    assert!(
        out.status.success(),
        "setup.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

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
    let reg = w.py_reg();
    let mut p = w.py("py_client.py", &[&reg, what]);
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
