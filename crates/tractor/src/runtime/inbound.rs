//! [`Inbound`]: what the reader hands a dialog.
//!
//! The payload messages (`Started`, `Yield`, `Return`) arrive with their
//! `pld` still msgpack bytes, a slice of the frame ([`RawPayload`]), so a
//! typed reader deserializes them straight into its type and nothing
//! builds a [`Value`](crate::msg::Value) tree on the way. The control
//! messages keep only what a dialog reads of them (the `cid` already
//! routed them).
//!
//! Small on purpose (40 bytes): every stream item is moved into the read
//! batch, through the dialog's queue and out again, and a variant holding
//! a whole [`Msg`] made each of those moves hundreds of bytes (the top
//! `memmove` of the stream profile, `docs/performance.md`). The rare big
//! messages are boxed.

use crate::msg::{ErrorMsg, FuncType, Msg, Payload, PayloadKind, RawPayload};

/// One message for a dialog.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// `Started`, `Yield` or `Return`, its payload undecoded.
    Pld(PayloadKind, RawPayload),
    /// `StartAck`: what the function turned out to be.
    StartAck(FuncType),
    /// `Stop`: the peer ended its direction of the stream.
    Stop,
    /// `CancelAck`: whether something was cancelled.
    CancelAck(bool),
    /// `Error`: the remote failure.
    Error(Box<ErrorMsg>),
    /// Any other message (none belongs in a dialog; logged and ignored).
    Other(Box<Msg>),
}

impl Inbound {
    /// A stream item (what flow control counts).
    pub(crate) fn is_yield(&self) -> bool {
        matches!(self, Inbound::Pld(PayloadKind::Yield, _))
    }

    /// The message type, for logs.
    pub(crate) fn msg_type(&self) -> &'static str {
        match self {
            Inbound::Pld(PayloadKind::Started, _) => "Started",
            Inbound::Pld(PayloadKind::Yield, _) => "Yield",
            Inbound::Pld(PayloadKind::Return, _) => "Return",
            Inbound::StartAck(_) => "StartAck",
            Inbound::Stop => "Stop",
            Inbound::CancelAck(_) => "CancelAck",
            Inbound::Error(_) => "Error",
            Inbound::Other(m) => m.msg_type(),
        }
    }
}

impl From<Msg> for Inbound {
    /// A payload message's `pld` is encoded back to bytes (messages built
    /// in process: the reader routes frames' payloads as bytes already).
    fn from(m: Msg) -> Inbound {
        let raw = |p: &Payload| RawPayload::from_value(&p.pld);
        match m {
            Msg::Started(p) => Inbound::Pld(PayloadKind::Started, raw(&p)),
            Msg::Yield(p) => Inbound::Pld(PayloadKind::Yield, raw(&p)),
            Msg::Return(p) => Inbound::Pld(PayloadKind::Return, raw(&p)),
            Msg::StartAck(a) => Inbound::StartAck(a.functype),
            Msg::Stop(_) => Inbound::Stop,
            Msg::CancelAck(a) => Inbound::CancelAck(a.pld),
            Msg::Error(e) => Inbound::Error(Box::new(e)),
            other => Inbound::Other(Box::new(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_item_is_small_to_move() {
        assert!(
            std::mem::size_of::<Inbound>() <= 40,
            "Inbound is {} bytes",
            std::mem::size_of::<Inbound>()
        );
    }
}
