//! Errors: the crate's [`Error`], and [`RemoteActorError`], an error that
//! happened in another actor and crossed the wire boxed.
//!
//! A remote error keeps everything the `Error` message carried (spec §3.7):
//! the type name at the origin, what is boxed here, the actor it came from,
//! the relay path across hops, the message and the traceback/backtrace
//! text. Error types registered with [`register_error_type`] are rebuilt on
//! arrival, so `err.downcast_ref::<MyError>()` works across processes
//! (seed 001's `reg_err_types`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{OnceLock, RwLock};

use crate::ipc::ChanError;
use crate::msg::{ErrorMsg, Uid};

mod escalation;
pub use escalation::{Escalation, RestartRecord};

/// Boxed error type used for user errors.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in tractor.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error raised in another actor.
    #[error(transparent)]
    Remote(#[from] RemoteActorError),
    /// A channel failed (connect, send, receive).
    #[error(transparent)]
    Chan(Box<ChanError>),
    /// The peer went away before answering.
    #[error("actor {peer} disconnected before answering {what}")]
    PeerGone {
        /// Who.
        peer: String,
        /// What we were waiting for.
        what: String,
    },
    /// The operation was cancelled (the scope or actor is shutting down).
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// A spawned actor could not be started.
    #[error("cannot spawn actor {name:?}: {reason}")]
    Spawn {
        /// The actor's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A child actor's process ended without being asked to.
    #[error("actor {name:?} (pid {pid}) exited unexpectedly: {status}")]
    ChildDied {
        /// The actor's name.
        name: String,
        /// Its pid.
        pid: u32,
        /// How it ended.
        status: String,
    },
    /// A thread actor ignored its cancel request past the grace period; it
    /// cannot be killed, so it was abandoned (the tree exits without it).
    #[error(
        "thread actor {name:?} ignored cancellation for {secs:.1}s and was abandoned (a thread cannot be killed)"
    )]
    Abandoned {
        /// The actor's name.
        name: String,
        /// How long it was given.
        secs: f64,
    },
    /// A supervisor ran out of restart budget and gave up; names the
    /// child and its restart history (see [`crate::supervision`]).
    #[error(transparent)]
    Escalated(Box<Escalation>),
    /// Several errors at once (children failing together); the counterpart
    /// of Python's exception groups.
    #[error("{} errors in actor nursery:{}", .0.len(), fmt_multi(.0))]
    Multi(Vec<Error>),
    /// A value did not have the expected type.
    #[error("payload type mismatch: {0}")]
    Payload(#[from] crate::msg::payload::PayloadError),
    /// A registrar or discovery lookup failed.
    #[error("{0}")]
    Discovery(String),
    /// Timed out.
    #[error("timed out after {secs:.1}s waiting for {what}")]
    Timeout {
        /// What we waited for.
        what: String,
        /// How long.
        secs: f64,
    },
    /// The called function is of another kind than the call expects (a
    /// context function or an async generator called with `run`, a plain
    /// function opened as a context, ...).
    #[error("{call} is {functype}, not {expected}: {hint}")]
    FuncType {
        /// The call (`ns.func()`).
        call: String,
        /// What the callee said it is (`"a context function"`, ...).
        functype: String,
        /// What the call expected (`"a plain async function"`, ...).
        expected: String,
        /// What to use instead.
        hint: String,
    },
    /// Bad runtime configuration.
    #[error("runtime configuration: {0}")]
    Config(String),
    /// An OS error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// An application error.
    #[error(transparent)]
    Other(BoxError),
}

/// What kind of failure an [`Error`] (or a [`RemoteActorError`]) is: match
/// on this instead of comparing type-name strings. New kinds may be added.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A task in another actor was cancelled (`ContextCancelled`).
    ContextCancelled,
    /// This side was cancelled (its scope or actor is shutting down).
    Cancelled,
    /// A stream item was refused: the receiver's buffer was full.
    StreamOverrun,
    /// A message or payload did not have the expected type.
    MsgTypeError,
    /// The peer went away (or its transport closed) before answering.
    PeerGone,
    /// A channel failed (connect, send, receive).
    Transport,
    /// The called namespace is not enabled in the callee.
    ModuleNotExposed,
    /// The called function does not exist in the callee's namespace.
    NoSuchFunction,
    /// A function panicked in the callee.
    Panic,
    /// A child actor could not be started.
    Spawn,
    /// A child actor ended without being asked to.
    ChildDied,
    /// A thread actor ignored cancellation and was abandoned.
    Abandoned,
    /// Several errors at once ([`Error::Multi`]).
    Multi,
    /// A registrar or discovery lookup failed.
    Discovery,
    /// Something timed out.
    Timeout,
    /// A function called as the wrong kind (see [`Error::FuncType`]).
    FuncTypeMismatch,
    /// A supervisor ran out of its restart budget ([`Error::Escalated`]).
    Escalated,
    /// Bad runtime configuration.
    Config,
    /// An OS error.
    Io,
    /// Any other error, raised by application code (here or remotely).
    Application,
}

impl ErrorKind {
    /// The kind of an error type name on the wire (Python's or ours).
    pub fn from_type_name(name: &str) -> ErrorKind {
        match name {
            "ContextCancelled" => ErrorKind::ContextCancelled,
            "Cancelled" => ErrorKind::Cancelled,
            "StreamOverrun" => ErrorKind::StreamOverrun,
            "MsgTypeError" => ErrorKind::MsgTypeError,
            "PeerGone" | "TransportClosed" => ErrorKind::PeerGone,
            "TransportError" => ErrorKind::Transport,
            "ModuleNotExposed" => ErrorKind::ModuleNotExposed,
            "Panic" => ErrorKind::Panic,
            "SpawnError" => ErrorKind::Spawn,
            "ChildDied" => ErrorKind::ChildDied,
            "AbandonedActor" => ErrorKind::Abandoned,
            "ActorNurseryError" => ErrorKind::Multi,
            "DiscoveryError" => ErrorKind::Discovery,
            "TimeoutError" => ErrorKind::Timeout,
            "ConfigError" => ErrorKind::Config,
            "FuncTypeMismatch" => ErrorKind::FuncTypeMismatch,
            "SupervisorEscalation" => ErrorKind::Escalated,
            "OSError" => ErrorKind::Io,
            _ => ErrorKind::Application,
        }
    }
}

impl From<ChanError> for Error {
    fn from(e: ChanError) -> Self {
        Error::Chan(Box::new(e))
    }
}

fn fmt_multi(errs: &[Error]) -> String {
    let mut s = String::new();
    for (i, e) in errs.iter().enumerate() {
        s.push_str(&format!("\n  [{}] {e}", i + 1));
    }
    s
}

impl Error {
    /// Wraps any error as [`Error::Other`].
    pub fn other(e: impl Into<BoxError>) -> Self {
        Error::Other(e.into())
    }

    /// The remote error inside, if this is one.
    pub fn as_remote(&self) -> Option<&RemoteActorError> {
        match self {
            Error::Remote(r) => Some(r),
            _ => None,
        }
    }

    /// What kind of failure this is (a remote error: the kind at its
    /// origin, however many hops it was relayed).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Remote(r) => r.kind(),
            Error::Chan(_) => ErrorKind::Transport,
            Error::PeerGone { .. } => ErrorKind::PeerGone,
            Error::Cancelled(_) => ErrorKind::Cancelled,
            Error::Spawn { .. } => ErrorKind::Spawn,
            Error::ChildDied { .. } => ErrorKind::ChildDied,
            Error::Abandoned { .. } => ErrorKind::Abandoned,
            Error::Multi(_) => ErrorKind::Multi,
            Error::Payload(_) => ErrorKind::MsgTypeError,
            Error::Discovery(_) => ErrorKind::Discovery,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Config(_) => ErrorKind::Config,
            Error::FuncType { .. } => ErrorKind::FuncTypeMismatch,
            Error::Escalated(_) => ErrorKind::Escalated,
            Error::Io(_) => ErrorKind::Io,
            Error::Other(_) => ErrorKind::Application,
        }
    }

    /// True for cancellation: local, or a remote `ContextCancelled` from
    /// the actor we called (a relayed one, from further away, is not).
    pub fn is_cancelled(&self) -> bool {
        match self {
            Error::Cancelled(_) => true,
            Error::Remote(r) => {
                ErrorKind::from_type_name(r.boxed_type()) == ErrorKind::ContextCancelled
            }
            Error::Multi(v) => v.iter().all(Error::is_cancelled),
            _ => false,
        }
    }

    /// Every leaf error (flattening [`Error::Multi`]).
    pub fn leaves(&self) -> Vec<&Error> {
        match self {
            Error::Multi(v) => v.iter().flat_map(Error::leaves).collect(),
            e => vec![e],
        }
    }

    /// Combines errors: none → `None`, one → itself, more → `Multi`.
    pub fn collect(mut errs: Vec<Error>) -> Option<Error> {
        match errs.len() {
            0 => None,
            1 => errs.pop(),
            _ => Some(Error::Multi(errs)),
        }
    }
}

/// An error raised in another actor, boxed for transport.
#[derive(Debug)]
pub struct RemoteActorError {
    msg: Box<ErrorMsg>,
    rebuilt: Option<BoxError>,
}

impl RemoteActorError {
    /// Wraps a received `Error` message, rebuilding a registered type.
    pub fn from_msg(msg: ErrorMsg) -> Self {
        let rebuilt = rebuild(&msg);
        RemoteActorError {
            msg: Box::new(msg),
            rebuilt,
        }
    }

    /// The wire form.
    pub fn msg(&self) -> &ErrorMsg {
        &self.msg
    }

    /// The error type name at the origin (`"ValueError"`, `"MyError"`).
    pub fn src_type(&self) -> &str {
        &self.msg.src_type_str
    }

    /// What kind of failure this was at its origin.
    pub fn kind(&self) -> ErrorKind {
        match ErrorKind::from_type_name(&self.msg.src_type_str) {
            // A remote "cancelled" is the remote task's cancellation.
            ErrorKind::Cancelled => ErrorKind::ContextCancelled,
            // Python raises AttributeError for a missing function.
            ErrorKind::Application
                if self.msg.src_type_str == "AttributeError"
                    && self.message().starts_with("no function") =>
            {
                ErrorKind::NoSuchFunction
            }
            k => k,
        }
    }

    /// The type of what is boxed here (`"RemoteActorError"` when relayed).
    pub fn boxed_type(&self) -> &str {
        &self.msg.boxed_type_str
    }

    /// The actor the error came from.
    pub fn src_uid(&self) -> &Uid {
        &self.msg.src_uid
    }

    /// Actors that packed the error, origin first.
    pub fn relay_path(&self) -> &[Uid] {
        &self.msg.relay_path
    }

    /// The human message.
    pub fn message(&self) -> &str {
        self.msg.message.as_deref().unwrap_or("")
    }

    /// The traceback (Python) or backtrace (Rust) text from the origin.
    pub fn traceback(&self) -> &str {
        &self.msg.tb_str
    }

    /// For cancellation: who asked for it.
    pub fn canceller(&self) -> Option<&Uid> {
        self.msg.canceller.as_ref()
    }

    /// The rebuilt original error, when its type was registered.
    pub fn original(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.rebuilt.as_deref()
    }

    /// The rebuilt original error as `E`, when it is one.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.rebuilt.as_ref()?.downcast_ref::<E>()
    }

    /// The `Error` message to relay this error one hop further from the
    /// actor `via` (spec §3.7: boxed type becomes `RemoteActorError`, the
    /// relay path grows).
    pub fn relayed(&self, via: &Uid, cid: Option<String>) -> ErrorMsg {
        let mut m = (*self.msg).clone();
        m.boxed_type_str = "RemoteActorError".into();
        m.relay_path.push(via.clone());
        m.cid = cid;
        m
    }
}

impl fmt::Display for RemoteActorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.msg;
        write!(
            f,
            "{} from actor '{}': {}",
            m.src_type_str,
            m.src_uid.name,
            self.message()
        )?;
        if let Some(c) = &m.canceller {
            write!(f, " (cancelled by '{}')", c.name)?;
        }
        if m.relay_path.len() > 1 {
            let path: Vec<&str> = m.relay_path.iter().map(|u| u.name.as_str()).collect();
            write!(f, " [relayed via {}]", path.join(" -> "))?;
        }
        if self.message().is_empty() && !m.tb_str.is_empty() {
            write!(f, "{}", tb_summary(&m.tb_str, &m.src_type_str))?;
        }
        Ok(())
    }
}

impl std::error::Error for RemoteActorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.rebuilt
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// An error type that can be rebuilt from its message on the far side.
///
/// ```
/// #[derive(Debug, PartialEq)]
/// struct Overdrawn(u64);
/// impl std::fmt::Display for Overdrawn {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write!(f, "overdrawn by {}", self.0)
///     }
/// }
/// impl std::error::Error for Overdrawn {}
/// impl tractor::RemoteErrorType for Overdrawn {
///     fn from_message(m: &str) -> Option<Self> {
///         m.strip_prefix("overdrawn by ")?.parse().ok().map(Overdrawn)
///     }
/// }
/// tractor::register_error_type::<Overdrawn>();
/// ```
pub trait RemoteErrorType: std::error::Error + Send + Sync + Sized + 'static {
    /// Rebuilds the error from the message its `Display` produced.
    fn from_message(message: &str) -> Option<Self>;
}

type Rebuilder = fn(&str) -> Option<BoxError>;

fn registry() -> &'static RwLock<HashMap<String, Rebuilder>> {
    static R: OnceLock<RwLock<HashMap<String, Rebuilder>>> = OnceLock::new();
    R.get_or_init(Default::default)
}

/// The short name tractor puts on the wire for a Rust type:
/// the last path segment, without generics.
pub fn type_name_of<T: ?Sized>() -> String {
    short_type_name(std::any::type_name::<T>())
}

/// Shortens a full Rust type path to its last segment, without generics.
pub fn short_type_name(full: &str) -> String {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_owned()
}

/// Registers `E` so that errors of this type raised in another actor come
/// back as `E` (see [`RemoteActorError::downcast_ref`]).
pub fn register_error_type<E: RemoteErrorType>() {
    fn rebuild_as<E: RemoteErrorType>(m: &str) -> Option<BoxError> {
        E::from_message(m).map(|e| Box::new(e) as BoxError)
    }
    registry()
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(type_name_of::<E>(), rebuild_as::<E>);
}

fn rebuild(msg: &ErrorMsg) -> Option<BoxError> {
    let r = registry().read().unwrap_or_else(|p| p.into_inner());
    let f = r.get(&msg.src_type_str)?;
    f(msg.message.as_deref().unwrap_or(""))
}

/// Packs a local error raised in actor `me` for the wire (spec §3.7).
pub fn pack_error(
    me: &Uid,
    type_name: &str,
    message: String,
    tb: String,
    cid: Option<String>,
) -> ErrorMsg {
    ErrorMsg {
        src_uid: me.clone(),
        src_type_str: type_name.to_owned(),
        boxed_type_str: type_name.to_owned(),
        relay_path: vec![me.clone()],
        tb_str: python_tb(type_name, &message, tb),
        message: Some(message),
        canceller: None,
        sender: None,
        cid,
        bad_msg: None,
        bad_msg_as_dict: None,
    }
}

/// The `tb_str` of an error we raise: Python shows a remote error by its
/// traceback text alone (it ignores the `message` field), so the text ends
/// as a Python traceback does, with `TypeName: message` (added unless the
/// traceback already ends so).
fn python_tb(type_name: &str, message: &str, tb: String) -> String {
    let last = format!("{type_name}: {message}");
    let tb = tb.trim_end();
    if tb.is_empty() {
        last
    } else if tb.ends_with(&last) {
        tb.to_owned()
    } else {
        format!("{tb}\n{last}")
    }
}

/// The line of a traceback that says what went wrong: the last one
/// starting with the error's type name (`ValueError: ...`), else the last
/// line. (Python appends notes such as "( ^^^ this exc was collapsed from
/// a group ^^^ )" after it.)
fn tb_summary<'a>(tb: &'a str, type_name: &str) -> &'a str {
    let prefix = format!("{type_name}:");
    tb.lines()
        .rev()
        .find(|l| l.starts_with(&prefix))
        .or_else(|| tb.trim_end().lines().last())
        .unwrap_or("")
}

/// Packs a [`Error`] for the wire: a remote error is relayed (its origin
/// kept), anything else is packed as raised here.
pub fn pack_any(me: &Uid, err: &Error, cid: Option<String>) -> ErrorMsg {
    match err {
        Error::Remote(r) => r.relayed(me, cid),
        Error::Other(e) => pack_error(me, "Error", e.to_string(), chain_text(e.as_ref()), cid),
        Error::Cancelled(_) => pack_error(me, "Cancelled", err.to_string(), String::new(), cid),
        other => pack_error(
            me,
            error_variant_name(other),
            other.to_string(),
            chain_text(other),
            cid,
        ),
    }
}

fn error_variant_name(e: &Error) -> &'static str {
    match e {
        Error::Remote(_) => "RemoteActorError",
        Error::Chan(_) => "TransportError",
        Error::PeerGone { .. } => "PeerGone",
        Error::Cancelled(_) => "Cancelled",
        Error::Spawn { .. } => "SpawnError",
        Error::ChildDied { .. } => "ChildDied",
        Error::Multi(_) => "ActorNurseryError",
        Error::Escalated(_) => "SupervisorEscalation",
        Error::Abandoned { .. } => "AbandonedActor",
        Error::Payload(_) => "MsgTypeError",
        Error::Discovery(_) => "DiscoveryError",
        Error::Timeout { .. } => "TimeoutError",
        Error::Config(_) => "ConfigError",
        Error::FuncType { .. } => "FuncTypeMismatch",
        Error::Io(_) => "OSError",
        Error::Other(_) => "Error",
    }
}

/// An error and its chain of sources as text, for `tb_str`.
pub fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = format!("Error: {e}");
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(&format!("\n  caused by: {c}"));
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(ty: &str, message: &str) -> RemoteActorError {
        RemoteActorError::from_msg(pack_error(
            &Uid::new("a", "1"),
            ty,
            message.into(),
            String::new(),
            None,
        ))
    }

    #[test]
    fn our_traceback_text_ends_like_pythons_so_python_shows_the_message() {
        let m = pack_error(
            &Uid::new("a", "1"),
            "TypeError",
            "add() got an unexpected keyword argument 'z'".into(),
            String::new(),
            None,
        );
        assert_eq!(
            m.tb_str,
            "TypeError: add() got an unexpected keyword argument 'z'"
        );
        let m = pack_error(
            &Uid::new("a", "1"),
            "OverflowError",
            "attempt to add with overflow".into(),
            "   0: backtrace\n".into(),
            None,
        );
        assert_eq!(
            m.tb_str,
            "   0: backtrace\nOverflowError: attempt to add with overflow"
        );
    }

    #[test]
    fn a_python_traceback_is_summed_up_by_its_error_line() {
        let tb = "Traceback (most recent call last):\n  File \"x.py\"\nValueError: gave up\n\n( ^^^ this exc was collapsed from a group ^^^ )\n";
        assert_eq!(tb_summary(tb, "ValueError"), "ValueError: gave up");
        assert_eq!(tb_summary("just text", "ValueError"), "just text");
    }

    #[test]
    fn a_remote_error_has_the_kind_of_its_origin_across_relays() {
        let e = remote("StreamOverrun", "full");
        assert_eq!(e.kind(), ErrorKind::StreamOverrun);
        let relayed = RemoteActorError::from_msg(e.relayed(&Uid::new("b", "2"), None));
        assert_eq!(relayed.boxed_type(), "RemoteActorError");
        assert_eq!(relayed.kind(), ErrorKind::StreamOverrun);
        assert_eq!(
            Error::from(remote("ContextCancelled", "x")).kind(),
            ErrorKind::ContextCancelled
        );
        assert!(Error::from(remote("ContextCancelled", "x")).is_cancelled());
        assert_eq!(remote("MsgTypeError", "x").kind(), ErrorKind::MsgTypeError);
        assert_eq!(
            remote("AttributeError", "no function \"f\" in namespace").kind(),
            ErrorKind::NoSuchFunction
        );
        assert_eq!(remote("ValueError", "bad").kind(), ErrorKind::Application);
    }

    #[test]
    fn local_errors_have_kinds_too() {
        let gone = Error::PeerGone {
            peer: "p".into(),
            what: "w".into(),
        };
        assert_eq!(gone.kind(), ErrorKind::PeerGone);
        assert_eq!(Error::Cancelled("x".into()).kind(), ErrorKind::Cancelled);
        assert_eq!(Error::other("boom").kind(), ErrorKind::Application);
        // Packed for the wire and back, a local error keeps its kind.
        let back = RemoteActorError::from_msg(pack_any(&Uid::new("a", "1"), &gone, None));
        assert_eq!(back.kind(), ErrorKind::PeerGone);
    }
}
