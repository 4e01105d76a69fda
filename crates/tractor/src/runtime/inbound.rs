//! [`Inbound`]: what the reader hands a dialog.
//!
//! The payload messages (`Started`, `Yield`, `Return`) arrive with their
//! `pld` still msgpack bytes, a slice of the frame ([`RawPayload`]), so a
//! typed reader deserializes them straight into its type and nothing
//! builds a [`Value`](crate::msg::Value) tree on the way. Every other
//! message (`StartAck`, `Stop`, `Error`, `CancelAck`) is the owned
//! [`Msg`].

use crate::msg::{Msg, Payload, PayloadKind, RawPayload};

/// One message for a dialog.
///
/// Not boxed: the owned messages are the rare ones (one `StartAck`, one
/// `Stop` or `Error` per dialog), and boxing them would put an allocation
/// back on the reader for each; the queue's slots are the price.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Inbound {
    /// `Started`, `Yield` or `Return`, its payload undecoded.
    Pld(PayloadKind, RawPayload),
    /// Any other message.
    Msg(Msg),
}

impl Inbound {
    /// A stream item (what flow control counts).
    pub(crate) fn is_yield(&self) -> bool {
        matches!(
            self,
            Inbound::Pld(PayloadKind::Yield, _) | Inbound::Msg(Msg::Yield(_))
        )
    }

    /// The message type, for logs.
    pub(crate) fn msg_type(&self) -> &'static str {
        match self {
            Inbound::Pld(PayloadKind::Started, _) => "Started",
            Inbound::Pld(PayloadKind::Yield, _) => "Yield",
            Inbound::Pld(PayloadKind::Return, _) => "Return",
            Inbound::Msg(m) => m.msg_type(),
        }
    }
}

impl From<Msg> for Inbound {
    /// A payload message's `pld` is encoded back to bytes (messages built
    /// in process: the reader routes frames' payloads as bytes already).
    fn from(m: Msg) -> Inbound {
        let raw = |p: &Payload| RawPayload::from_value(&p.pld);
        match &m {
            Msg::Started(p) => Inbound::Pld(PayloadKind::Started, raw(p)),
            Msg::Yield(p) => Inbound::Pld(PayloadKind::Yield, raw(p)),
            Msg::Return(p) => Inbound::Pld(PayloadKind::Return, raw(p)),
            _ => Inbound::Msg(m),
        }
    }
}
