//! What can be wrong with a frame's contents.

use std::fmt;

/// A frame that is not a valid tractor message.
///
/// Carries the message type and call id when they could be read, so the
/// runtime can send a `MsgTypeError` back to the call that sent it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct DecodeError {
    /// What was wrong.
    pub kind: DecodeErrorKind,
    /// The `msg_type` tag, when it was readable.
    pub msg_type: Option<String>,
    /// The `cid`, when it was readable.
    pub cid: Option<String>,
}

impl DecodeError {
    pub(crate) fn new(kind: DecodeErrorKind) -> Self {
        DecodeError {
            kind,
            msg_type: None,
            cid: None,
        }
    }

    /// True when the message was well-formed msgpack with a known tag but a
    /// field was wrong: Python calls this a `MsgTypeError`.
    pub fn is_type_error(&self) -> bool {
        matches!(
            self.kind,
            DecodeErrorKind::MissingField(_)
                | DecodeErrorKind::FieldType { .. }
                | DecodeErrorKind::BadValue { .. }
                | DecodeErrorKind::TooDeep { .. }
                | DecodeErrorKind::FrameTooLarge { .. }
        )
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.msg_type {
            Some(t) => write!(f, "invalid `{t}` message: {}", self.kind),
            None => write!(f, "invalid message: {}", self.kind),
        }
    }
}

/// The ways a frame's payload can fail to be a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    /// A zero-length payload.
    #[error("empty frame (no msgpack object)")]
    Empty,
    /// Not valid msgpack.
    #[error("not valid msgpack: {0}")]
    Msgpack(String),
    /// Bytes left after the one object a frame may hold.
    #[error("{extra} trailing byte(s) after the message")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// The object is not a map (e.g. a struct sent as an array).
    #[error("expected a map tagged by `msg_type`, got {found}")]
    NotAMap {
        /// The kind that arrived.
        found: &'static str,
    },
    /// A map key that is not a string.
    #[error("map key must be a string, got {found}")]
    NonStringKey {
        /// The kind that arrived.
        found: &'static str,
    },
    /// No `msg_type` key.
    #[error("missing the `msg_type` tag")]
    MissingTag,
    /// A `msg_type` we do not know.
    #[error(
        "unknown msg_type {0:?} (expected one of Aid, SpawnSpec, Start, StartAck, Started, Yield, Stop, Return, CancelAck, Error)"
    )]
    UnknownMsgType(String),
    /// A required field is absent.
    #[error("missing required field `{0}`")]
    MissingField(&'static str),
    /// A field holds the wrong kind of value.
    #[error("field `{field}`: expected {expected}, got {found}")]
    FieldType {
        /// The field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
        /// What it was.
        found: &'static str,
    },
    /// A value nests lists/maps deeper than the limit.
    #[error(
        "a value is nested deeper than the {limit}-level limit (RuntimeVars::max_nesting_depth)"
    )]
    TooDeep {
        /// The limit in force.
        limit: usize,
    },
    /// The frame is over the size limit; it was discarded unread (after
    /// its first bytes, read for its `msg_type` and `cid`).
    #[error(
        "a message of {len} bytes exceeds the {max}-byte frame limit (RuntimeVars::max_frame_bytes); it was discarded unread"
    )]
    FrameTooLarge {
        /// The announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A field's value is of the right kind but not allowed.
    #[error("field `{field}`: {reason}")]
    BadValue {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}
