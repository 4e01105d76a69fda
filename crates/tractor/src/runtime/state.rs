//! [`RuntimeVars`]: everything an actor inherits, in one typed value.
//!
//! It travels two ways (seed 000, "the runtime-vars envelope"):
//!
//! * to a spawned process, as ONE environment variable, `_TRACTOR_RT_VARS`,
//!   holding JSON a person can read with
//!   `tr '\0' '\n' < /proc/PID/environ`. A test sets it once and every
//!   example and subprocess it starts, and their children, see the same
//!   registrar address and bind-space folder. Spawn info (a child's
//!   identity) is the exception: it records the parent's pid and counts
//!   only in a process whose parent that is, and a child removes the
//!   envelope from its environment once read
//!   ([`RuntimeVars::take_spawn_envelope`]);
//! * to a child over the wire, as `SpawnSpec._runtime_vars` with the keys of
//!   the protocol spec §7 (so a Python child understands it), plus our own
//!   keys prefixed `_rs_`, which Python keeps and ignores.
//!
//! # Example
//!
//! ```
//! use tractor::RuntimeVars;
//!
//! let rv = RuntimeVars::for_session();
//! let (name, value) = rv.dump();
//! assert_eq!(name, "_TRACTOR_RT_VARS");
//! let back = RuntimeVars::load_from(&value).unwrap();
//! assert_eq!(back, rv);
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ipc::{Addr, DEFAULT_MAX_FRAME, Limits, Proto, TlsMode};
use crate::msg::{self, StrMap, Uid, Value, WireAddr};

/// The name of the envelope's environment variable.
/// (Defined in `ipc::tls`, which reads the envelope's TLS keys itself.)
pub const ENV_VAR: &str = crate::ipc::tls::ENVELOPE_VAR;

impl crate::ipc::tls::TlsSettings {
    /// The settings in `rv`; the folder falls back to `$TRACTOR_TLS_DIR`.
    pub fn from_vars(rv: &RuntimeVars) -> Self {
        Self {
            dir: rv.tls_dir.clone().or_else(crate::ipc::tls::dir_from_env),
            mode: rv.tls,
            insecure: rv.insecure,
        }
    }
}

/// How actors are started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpawnMethod {
    /// A re-executed copy of the current program, in its own process.
    #[default]
    Process,
    /// An isolated worker on its own OS thread and runtime.
    Thread,
}

impl std::str::FromStr for SpawnMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "process" => Ok(SpawnMethod::Process),
            "thread" => Ok(SpawnMethod::Thread),
            other => Err(format!(
                "unknown spawn backend {other:?}: expected \"process\" or \"thread\""
            )),
        }
    }
}

/// What a spawned child needs to find its parent. Present only in the
/// envelope a parent hands to a child it spawns; its absence is what makes
/// a process a root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpawnInfo {
    /// The child's own identity, chosen by the parent.
    pub uid: (String, String),
    /// Where the parent listens for the child's connect-back.
    pub parent_addr: Addr,
    /// The pid of the process that spawned the child. A process whose
    /// parent is another pid did not come from this spawn: it inherited
    /// the envelope from an actor that launched it as a plain program, and
    /// must not take that actor's child's identity. `None` (an envelope
    /// without the field) is never addressed to anyone.
    #[serde(default)]
    pub parent_pid: Option<u32>,
}

impl SpawnInfo {
    /// True when the calling process is the child this spawn info was
    /// written for: its parent process is the one that recorded itself.
    pub fn addressed_to_this_process(&self) -> bool {
        let ppid = nix::unistd::getppid().as_raw();
        self.parent_pid
            .is_some_and(|p| i64::from(p) == i64::from(ppid))
    }
}

/// Everything an actor inherits. The single source of truth: nothing else
/// (flags, ad-hoc env vars) configures a child.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuntimeVars {
    /// Identifies one run (a test, a program start); names the bind-space
    /// subfolder so concurrent runs never share sockets.
    pub session_id: String,
    /// The per-session folder for UDS sockets:
    /// `<runtime dir>/tractor/<session id>/`.
    pub bind_dir: PathBuf,
    /// Registrar addresses. Empty means the default for `transport`.
    pub registry_addrs: Vec<Addr>,
    /// The transport actors listen on.
    pub transport: Proto,
    /// How children are spawned.
    pub spawn_method: SpawnMethod,
    /// `tracing` filter for every actor (`info`, `tractor=debug`, ...).
    pub loglevel: String,
    /// Debug mode (more diagnostics; mirrors Python's `_debug_mode`).
    pub debug_mode: bool,
    /// Largest frame accepted or sent, in bytes (default 64 MiB; Python
    /// has no limit). A bigger frame from a peer is discarded unread and
    /// its sender gets a `MsgTypeError` naming the size and this limit;
    /// the connection stays usable.
    pub max_frame_bytes: usize,
    /// Deepest nesting of lists and maps accepted in a payload value
    /// (default 128, at most 1024). A deeper message is refused with a
    /// `MsgTypeError` to its sender naming this limit; the dialog and the
    /// connection stay usable. (Python's msgspec has no such limit.)
    pub max_nesting_depth: usize,
    /// Seconds a child gets to acknowledge and finish a cancel before it
    /// is sent SIGTERM (and then SIGKILL after the same again).
    pub cancel_grace_secs: f64,
    /// True in the root actor of a tree.
    pub is_root: bool,
    /// The accept addresses of the tree's root actor.
    pub root_addrs: Vec<Addr>,
    /// Set by a parent for the child it spawns.
    pub spawn: Option<SpawnInfo>,
    /// Extra arguments for re-executed children. Empty for programs; a
    /// test binary sets the filter that routes libtest to the test that
    /// spawned the child.
    pub child_args: Vec<String>,
    /// Where spawned children write stdout/stderr (`<dir>/<name>.log`);
    /// `None` means they inherit ours.
    pub child_log_dir: Option<PathBuf>,
    /// The TLS folder (`ca.pem`, `node.pem`, `node.key`) for TCP beyond
    /// loopback; defaults to `$TRACTOR_TLS_DIR`. See [`crate::ipc::tls`].
    pub tls_dir: Option<PathBuf>,
    /// When TCP uses TLS: beyond loopback (`auto`), `always`, or `off`.
    pub tls: TlsMode,
    /// Allows plain, unauthenticated TCP beyond loopback (no TLS folder,
    /// or `tls` off). The CLI's `--insecure`.
    pub insecure: bool,
    /// Keys we received and do not know, kept and passed on.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Default for RuntimeVars {
    fn default() -> Self {
        let session_id = uuid::Uuid::new_v4().simple().to_string();
        RuntimeVars {
            bind_dir: runtime_dir().join(&session_id),
            session_id,
            registry_addrs: Vec::new(),
            transport: Proto::Tcp,
            spawn_method: SpawnMethod::Process,
            loglevel: "warn".into(),
            debug_mode: false,
            max_frame_bytes: DEFAULT_MAX_FRAME,
            max_nesting_depth: msg::MAX_NESTING,
            cancel_grace_secs: 2.0,
            is_root: true,
            root_addrs: Vec::new(),
            spawn: None,
            child_args: Vec::new(),
            child_log_dir: None,
            tls_dir: crate::ipc::tls::dir_from_env(),
            tls: TlsMode::Auto,
            insecure: false,
            extra: Default::default(),
        }
    }
}

/// The envelope could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The JSON is malformed or has a field of the wrong type.
    #[error("{ENV_VAR} is not valid runtime vars: {0}")]
    Json(#[from] serde_json::Error),
    /// Another process's environment could not be read.
    #[error("cannot read the environment of pid {pid}: {source}")]
    Proc {
        /// The process.
        pid: u32,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The user's runtime folder for tractor sockets: `$XDG_RUNTIME_DIR/tractor`,
/// else `/run/user/<uid>/tractor` when it exists, else
/// `/tmp/runtime-<uid>/tractor` (the fallbacks Python's `platformdirs` uses).
pub fn runtime_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("tractor");
    }
    let uid = nix::unistd::getuid().as_raw();
    let run = PathBuf::from(format!("/run/user/{uid}"));
    if run.is_dir() {
        return run.join("tractor");
    }
    PathBuf::from(format!("/tmp/runtime-{uid}")).join("tractor")
}

impl RuntimeVars {
    /// Fresh defaults with a new session id and bind-space folder.
    pub fn for_session() -> Self {
        Self::default()
    }

    /// The vars of this process: from the envelope when it is set, else
    /// fresh defaults.
    ///
    /// Spawn info that is not addressed to this process (see
    /// [`SpawnInfo::addressed_to_this_process`]) is dropped: a program an
    /// actor launched inherits the envelope but is nobody's child.
    pub fn from_env() -> Result<Self, EnvelopeError> {
        let mut rv = match std::env::var(ENV_VAR) {
            Ok(v) if !v.is_empty() => Self::load_from(&v)?,
            _ => return Ok(Self::default()),
        };
        if rv
            .spawn
            .as_ref()
            .is_some_and(|s| !s.addressed_to_this_process())
        {
            rv.spawn = None;
        }
        Ok(rv)
    }

    /// The envelope of a spawned child actor, taken out of this process's
    /// environment: `Ok(Some(vars))` only when the envelope carries spawn
    /// info addressed to this process. The variable is then removed, so
    /// programs the actor launches do not inherit its identity (Python
    /// tractor passes runtime vars over the wire only; so do we, past the
    /// first hop). In any other case the environment is left as it is.
    ///
    /// # Safety
    ///
    /// This may remove an environment variable, so no other thread may be
    /// reading or writing the environment while it runs (the contract of
    /// [`std::env::remove_var`]): call it first thing in `main`, before
    /// starting threads or runtimes, as [`crate::maybe_run_child`] is
    /// documented to be called.
    pub unsafe fn take_spawn_envelope() -> Result<Option<Self>, EnvelopeError> {
        let rv = match std::env::var(ENV_VAR) {
            Ok(v) if !v.is_empty() => Self::load_from(&v)?,
            _ => return Ok(None),
        };
        match &rv.spawn {
            Some(s) if s.addressed_to_this_process() => {
                // SAFETY: the caller guarantees that no other thread uses
                // the environment now (this function's contract).
                unsafe { std::env::remove_var(ENV_VAR) };
                Ok(Some(rv))
            }
            _ => Ok(None),
        }
    }

    /// The envelope as `(name, value)` for `Command::env`.
    pub fn dump(&self) -> (&'static str, String) {
        (
            ENV_VAR,
            serde_json::to_string(self).expect("RuntimeVars always serializes"),
        )
    }

    /// Parses an envelope value.
    pub fn load_from(value: &str) -> Result<Self, EnvelopeError> {
        Ok(serde_json::from_str(value)?)
    }

    /// Reads the envelope of another process through `/proc/PID/environ`.
    /// `Ok(None)` when that process has no envelope.
    pub fn get(pid: u32) -> Result<Option<Self>, EnvelopeError> {
        let raw = std::fs::read(format!("/proc/{pid}/environ"))
            .map_err(|source| EnvelopeError::Proc { pid, source })?;
        let prefix = format!("{ENV_VAR}=");
        for entry in raw.split(|b| *b == 0) {
            if let Some(v) = entry.strip_prefix(prefix.as_bytes()) {
                let v = String::from_utf8_lossy(v);
                return Self::load_from(&v).map(Some);
            }
        }
        Ok(None)
    }

    /// Applies `f` and writes the result to this process's environment, so
    /// every subprocess started afterwards inherits it.
    ///
    /// # Safety
    ///
    /// It calls [`std::env::set_var`]: no other thread may read or write
    /// the process environment while it runs (many libc functions read it
    /// implicitly). Call it before starting any thread or runtime, as at
    /// the top of `main`.
    pub unsafe fn update(f: impl FnOnce(&mut RuntimeVars)) -> Result<RuntimeVars, EnvelopeError> {
        let mut rv = Self::from_env()?;
        f(&mut rv);
        let (k, v) = rv.dump();
        // SAFETY: the caller guarantees no other thread uses the
        // environment now (this function's contract).
        unsafe { std::env::set_var(k, v) };
        Ok(rv)
    }

    /// The registrar addresses, or the transport's default in our
    /// bind-space when none are configured.
    pub fn registrars(&self) -> Vec<Addr> {
        if self.registry_addrs.is_empty() {
            vec![Addr::default_registrar(self.transport, &self.bind_dir)]
        } else {
            self.registry_addrs.clone()
        }
    }

    /// The envelope for a child named by `uid`, reaching its parent at
    /// `parent_addr`.
    pub fn for_child(&self, uid: &Uid, parent_addr: &Addr) -> RuntimeVars {
        let mut rv = self.clone();
        rv.is_root = false;
        rv.spawn = Some(SpawnInfo {
            uid: (uid.name.clone(), uid.uuid.clone()),
            parent_addr: parent_addr.clone(),
            parent_pid: Some(std::process::id()),
        });
        rv
    }

    /// What this actor's connections accept from their peers.
    pub fn wire_limits(&self) -> Limits {
        Limits {
            max_frame: self.max_frame_bytes,
            max_depth: self.max_nesting_depth,
        }
    }

    /// The grace period as a `Duration`.
    pub fn cancel_grace(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.cancel_grace_secs.max(0.0))
    }

    /// `SpawnSpec._runtime_vars`: the spec §7 keys, in Python's order, then
    /// ours (prefixed `_rs_`).
    pub fn to_wire(&self) -> StrMap {
        let wa = |a: &Addr| msg::addr_to_value(&a.to_wire());
        let root_mailbox = self
            .root_addrs
            .first()
            .map(wa)
            .unwrap_or_else(|| Value::Array(vec![Value::Nil, Value::Nil]));
        let mut m: StrMap = vec![
            ("_is_root".into(), Value::from(false)),
            ("_root_mailbox".into(), root_mailbox),
            (
                "_root_addrs".into(),
                Value::Array(self.root_addrs.iter().map(wa).collect()),
            ),
            (
                "_enable_tpts".into(),
                Value::Array(vec![Value::from(self.transport.key())]),
            ),
            (
                "_registry_addrs".into(),
                Value::Array(self.registrars().iter().map(wa).collect()),
            ),
            ("_debug_mode".into(), Value::from(self.debug_mode)),
            ("repl_fixture".into(), Value::from(false)),
            ("use_greenback".into(), Value::from(false)),
            ("use_stackscope".into(), Value::from(false)),
            ("_is_infected_aio".into(), Value::from(false)),
        ];
        let mut ours = serde_json::to_value(self).expect("RuntimeVars always serializes");
        if let Some(obj) = ours.as_object_mut() {
            for k in [
                "spawn",
                "is_root",
                "root_addrs",
                "registry_addrs",
                "debug_mode",
            ] {
                obj.remove(k);
            }
            for (k, v) in obj.iter() {
                m.push((format!("_rs_{k}"), json_to_value(v)));
            }
        }
        m
    }

    /// Merges a received `SpawnSpec._runtime_vars` (from a Rust or a Python
    /// parent) into these vars.
    pub fn merge_wire(&mut self, m: &StrMap) {
        let addrs = |v: &Value| -> Vec<Addr> {
            match v {
                Value::Array(a) => a
                    .iter()
                    .filter_map(msg::addr_from_value)
                    .filter_map(|w: WireAddr| Addr::from_wire(&w).ok())
                    .collect(),
                _ => Vec::new(),
            }
        };
        let mut ours = serde_json::Map::new();
        for (k, v) in m {
            match k.as_str() {
                "_is_root" => {}
                "_root_addrs" => self.root_addrs = addrs(v),
                "_registry_addrs" => self.registry_addrs = addrs(v),
                "_enable_tpts" => {
                    if let Some(p) = v
                        .as_array()
                        .and_then(|a| a.first())
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse().ok())
                    {
                        self.transport = p;
                    }
                }
                "_debug_mode" => self.debug_mode = v.as_bool().unwrap_or(false),
                k if k.starts_with("_rs_") => {
                    ours.insert(k["_rs_".len()..].to_owned(), value_to_json(v));
                }
                _ => {}
            }
        }
        if !ours.is_empty() {
            let mut me = serde_json::to_value(&*self).expect("RuntimeVars always serializes");
            if let Some(obj) = me.as_object_mut() {
                obj.extend(ours);
            }
            if let Ok(merged) = serde_json::from_value::<RuntimeVars>(me) {
                let keep_spawn = self.spawn.take();
                *self = merged;
                self.spawn = keep_spawn;
            }
        }
        self.is_root = false;
    }

    /// The bind-space folder, created owner-only if missing.
    pub fn ensure_bind_dir(&self) -> std::io::Result<&Path> {
        crate::ipc::ensure_bind_dir(&self.bind_dir)?;
        Ok(&self.bind_dir)
    }
}

fn json_to_value(v: &serde_json::Value) -> Value {
    msg::payload::to_value(v).unwrap_or(Value::Nil)
}

fn value_to_json(v: &Value) -> serde_json::Value {
    msg::payload::from_value(v.clone()).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_and_is_readable_json() {
        let mut rv = RuntimeVars::for_session();
        rv.registry_addrs = vec!["/ip4/127.0.0.1/tcp/4242".parse().unwrap()];
        rv.extra
            .insert("future_key".into(), serde_json::json!([1, 2]));
        let (_, v) = rv.dump();
        assert!(
            v.contains("\"registry_addrs\":[\"/ip4/127.0.0.1/tcp/4242\"]"),
            "{v}"
        );
        assert_eq!(RuntimeVars::load_from(&v).unwrap(), rv);
    }

    #[test]
    fn tls_settings_travel_in_the_envelope_and_over_the_wire() {
        let mut rv = RuntimeVars::for_session();
        rv.tls_dir = Some("/etc/tractor/tls".into());
        rv.tls = TlsMode::Always;
        rv.insecure = true;
        let (_, v) = rv.dump();
        assert!(v.contains("\"tls_dir\":\"/etc/tractor/tls\""), "{v}");
        assert!(v.contains("\"tls\":\"always\""), "{v}");
        assert_eq!(RuntimeVars::load_from(&v).unwrap(), rv);
        // Python keeps `_rs_` keys it does not know; a Rust child reads them.
        let wire = rv.to_wire();
        assert!(wire.iter().any(|(k, _)| k == "_rs_tls_dir"));
        let mut child = RuntimeVars::default();
        child.merge_wire(&wire);
        assert_eq!(child.tls_dir, rv.tls_dir);
        assert_eq!(child.tls, TlsMode::Always);
        assert!(child.insecure);
        let e = RuntimeVars::load_from("{\"tls\": \"sometimes\"}").unwrap_err();
        assert!(e.to_string().contains("_TRACTOR_RT_VARS"), "{e}");
    }

    #[test]
    fn bad_envelope_names_the_variable() {
        let e = RuntimeVars::load_from("{\"transport\": \"carrier-pigeon\"}").unwrap_err();
        assert!(
            e.to_string().starts_with("_TRACTOR_RT_VARS is not valid"),
            "{e}"
        );
    }

    #[test]
    fn wire_form_has_python_keys_in_order_and_survives_a_round_trip() {
        let mut rv = RuntimeVars::for_session();
        rv.transport = Proto::Uds;
        rv.loglevel = "debug".into();
        rv.root_addrs = vec![Addr::Uds(rv.bind_dir.join("root@1.sock"))];
        let wire = rv.to_wire();
        let keys: Vec<&str> = wire.iter().take(10).map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "_is_root",
                "_root_mailbox",
                "_root_addrs",
                "_enable_tpts",
                "_registry_addrs",
                "_debug_mode",
                "repl_fixture",
                "use_greenback",
                "use_stackscope",
                "_is_infected_aio"
            ]
        );
        let mut child = RuntimeVars::default();
        child.merge_wire(&wire);
        assert_eq!(child.session_id, rv.session_id);
        assert_eq!(child.bind_dir, rv.bind_dir);
        assert_eq!(child.transport, Proto::Uds);
        assert_eq!(child.loglevel, "debug");
        assert_eq!(child.root_addrs, rv.root_addrs);
        assert_eq!(child.registrars(), rv.registrars());
        assert!(!child.is_root);
    }

    #[test]
    fn get_reads_another_process() {
        let rv = RuntimeVars::for_session();
        let (k, v) = rv.dump();
        // The shell says "ready" once it runs with its own environment
        // (before exec, /proc shows the parent's) and then waits on stdin,
        // so its environment is stable while we read it.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "echo ready; read line"])
            .env(k, v)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready");
        let got = RuntimeVars::get(child.id()).unwrap();
        // Closing its stdin ends the `read`, and the shell with it.
        drop(child.stdin.take());
        child.wait().unwrap();
        assert_eq!(got, Some(rv));
    }
}
