//! The ten wire messages of the tractor protocol, as plain Rust data.
//!
//! Field names and order follow Python tractor's `msg/types.py`
//! (`msgspec.Struct`, `tag_field="msg_type"`): see
//! `tractor-wire-protocol.md` §3. The codec in [`super::codec`] writes them
//! in exactly that order with every field present, which is what makes our
//! frames byte-identical to Python's.

use std::fmt;

pub use rmpv::Value;

/// A string-keyed map that keeps wire order (Python dicts are ordered).
pub type StrMap = Vec<(String, Value)>;

/// An actor's unique id on the wire: `[name, uuid]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uid {
    /// The actor's name (not unique).
    pub name: String,
    /// A `uuid4` string; unique per actor.
    pub uuid: String,
}

impl Uid {
    /// A uid from its two parts.
    pub fn new(name: impl Into<String>, uuid: impl Into<String>) -> Self {
        Uid {
            name: name.into(),
            uuid: uuid.into(),
        }
    }

    /// A fresh uid with a random `uuid4`.
    pub fn random(name: impl Into<String>) -> Self {
        Uid::new(name, uuid::Uuid::new_v4().to_string())
    }

    /// The `"name.uuid"` key Python's registrar uses in `get_registry`.
    pub fn registry_key(&self) -> String {
        format!("{}.{}", self.name, self.uuid)
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "('{}', '{}')", self.name, self.uuid)
    }
}

/// A call/context id chosen by the caller: a string unique on its
/// connection (Python tractor draws a `uuid4`; we send the actor's uuid and
/// a counter).
pub type Cid = String;

/// A transport address in the "unwrapped" form Python puts on the wire:
/// `[host, port]` for TCP, `[dir, file]` for UDS. The type of the second
/// element tells the transports apart (spec §1.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum WireAddr {
    /// `[host: str, port: int]`
    Tcp {
        /// An IP literal (Python rejects host names).
        host: String,
        /// The TCP port.
        port: u16,
    },
    /// `[filedir: str, filename: str]`
    Uds {
        /// The bind-space folder.
        dir: String,
        /// The socket file's name inside `dir`.
        file: String,
    },
}

/// `Aid`: the identity each side sends first on every connection.
#[derive(Clone, Debug, PartialEq)]
pub struct Aid {
    /// Actor name.
    pub name: String,
    /// Actor uuid.
    pub uuid: String,
    /// OS pid; real actors always set it.
    pub pid: Option<i64>,
    /// `Some(true)` from a registrar, `Some(false)` from other actors,
    /// `None` from election probes.
    pub is_registrar: Option<bool>,
    /// True only for registrar-election probes.
    pub is_probe: bool,
}

impl Aid {
    /// The `Aid` a spawned actor `uid` living in this process announces
    /// (not a registrar, not a probe): what a child sends its parent, and
    /// what a parent in the same process (a thread actor's) knows it will
    /// send.
    pub fn of_this_process(uid: &Uid) -> Aid {
        Aid {
            name: uid.name.clone(),
            uuid: uid.uuid.clone(),
            pid: Some(i64::from(std::process::id())),
            is_registrar: Some(false),
            is_probe: false,
        }
    }

    /// The `(name, uuid)` pair of this identity.
    pub fn uid(&self) -> Uid {
        Uid::new(self.name.clone(), self.uuid.clone())
    }

    /// True if `(name, uuid)` is this identity's pair (compared in place,
    /// without building a [`Uid`]).
    pub fn is(&self, name: &str, uuid: &str) -> bool {
        self.name == name && self.uuid == uuid
    }
}

/// `SpawnSpec`: the parent's runtime config for a freshly spawned child.
#[derive(Clone, Debug, PartialEq)]
pub struct SpawnSpec {
    /// How a Python child re-imports its parent's `__main__`; `{}` from us.
    pub parent_main_data: StrMap,
    /// The runtime variables (spec §7), merged into the child's own.
    pub runtime_vars: StrMap,
    /// Module path → source file; only these are callable in the child.
    pub enable_modules: Vec<(String, String)>,
    /// Registrars the child must register with.
    pub reg_addrs: Vec<WireAddr>,
    /// Where the child must listen; `None` lets it choose.
    pub bind_addrs: Option<Vec<WireAddr>>,
}

/// `Start`: run `ns.func(**kwargs)` as a task in the receiving actor.
#[derive(Clone, Debug, PartialEq)]
pub struct Start {
    /// New id per call, chosen by the caller.
    pub cid: Cid,
    /// Namespace (a Python module path, or `"self"` for the runtime).
    pub ns: String,
    /// Function name.
    pub func: String,
    /// Keyword arguments; there are no positional ones.
    pub kwargs: StrMap,
    /// The caller's uid; must match its handshake `Aid`.
    pub uid: Uid,
    /// Informational payload-type string, `"typing.Any"` by default.
    pub pld_spec: String,
}

/// The default `Start.pld_spec`.
pub const ANY_PLD_SPEC: &str = "typing.Any";

/// What kind of function a `Start` resolved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FuncType {
    /// A plain async function: one `Return`.
    AsyncFunc,
    /// An async generator: `Yield`s then `Stop`.
    AsyncGen,
    /// A context function: `Started`, optional stream, `Return`.
    Context,
}

impl FuncType {
    /// The string on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            FuncType::AsyncFunc => "asyncfunc",
            FuncType::AsyncGen => "asyncgen",
            FuncType::Context => "context",
        }
    }

    /// Parses the wire string.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "asyncfunc" => FuncType::AsyncFunc,
            "asyncgen" => FuncType::AsyncGen,
            "context" => FuncType::Context,
            _ => return None,
        })
    }
}

/// `StartAck`: the callee's first reply to a `Start`.
#[derive(Clone, Debug, PartialEq)]
pub struct StartAck {
    /// Echoes `Start.cid`.
    pub cid: Cid,
    /// What the function turned out to be.
    pub functype: FuncType,
}

/// `Started`, `Yield` and `Return` share this shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Payload {
    /// The call/context id.
    pub cid: Cid,
    /// The value, any msgpack value.
    pub pld: Value,
}

/// `Stop`: end of a stream, sent by each side that closes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Stop {
    /// The context id.
    pub cid: Cid,
}

/// `CancelAck`: reply to the runtime cancel calls.
#[derive(Clone, Debug, PartialEq)]
pub struct CancelAck {
    /// The id of the cancel request itself.
    pub cid: Cid,
    /// Whether something was cancelled.
    pub pld: bool,
}

/// `Error`: a boxed exception (spec §3.7).
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorMsg {
    /// Actor where the error originated.
    pub src_uid: Uid,
    /// Original error type name, e.g. `"ValueError"`.
    pub src_type_str: String,
    /// Type name of what is boxed here (`"RemoteActorError"` once relayed).
    pub boxed_type_str: String,
    /// Actors that packed the error, origin first.
    pub relay_path: Vec<Uid>,
    /// Human message.
    pub message: Option<String>,
    /// Traceback / backtrace text.
    pub tb_str: String,
    /// For `ContextCancelled`: who asked for the cancel.
    pub canceller: Option<Uid>,
    /// For `MsgTypeError` relays: who sent the bad message.
    pub sender: Option<Uid>,
    /// The call this error ends; `None` for runtime-level errors.
    pub cid: Option<Cid>,
    /// The offending payload message of a `MsgTypeError`.
    pub bad_msg: Option<Box<Msg>>,
    /// The offending message as a plain map when it did not decode.
    pub bad_msg_as_dict: Option<StrMap>,
}

/// One message of the protocol: the tagged union Python decodes.
#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    /// Handshake identity.
    Aid(Aid),
    /// Parent → child runtime config.
    SpawnSpec(SpawnSpec),
    /// Call request.
    Start(Start),
    /// Call accepted.
    StartAck(StartAck),
    /// First value of a context.
    Started(Payload),
    /// A stream item.
    Yield(Payload),
    /// End of a stream.
    Stop(Stop),
    /// Final result.
    Return(Payload),
    /// Cancel acknowledgement.
    CancelAck(CancelAck),
    /// A boxed error.
    Error(ErrorMsg),
}

impl Msg {
    /// The `msg_type` tag of this message.
    pub fn msg_type(&self) -> &'static str {
        match self {
            Msg::Aid(_) => "Aid",
            Msg::SpawnSpec(_) => "SpawnSpec",
            Msg::Start(_) => "Start",
            Msg::StartAck(_) => "StartAck",
            Msg::Started(_) => "Started",
            Msg::Yield(_) => "Yield",
            Msg::Stop(_) => "Stop",
            Msg::Return(_) => "Return",
            Msg::CancelAck(_) => "CancelAck",
            Msg::Error(_) => "Error",
        }
    }

    /// The call/context id this message belongs to, if any.
    pub fn cid(&self) -> Option<&str> {
        match self {
            Msg::Aid(_) | Msg::SpawnSpec(_) => None,
            Msg::Start(m) => Some(&m.cid),
            Msg::StartAck(m) => Some(&m.cid),
            Msg::Started(m) | Msg::Yield(m) | Msg::Return(m) => Some(&m.cid),
            Msg::Stop(m) => Some(&m.cid),
            Msg::CancelAck(m) => Some(&m.cid),
            Msg::Error(m) => m.cid.as_deref(),
        }
    }
}
