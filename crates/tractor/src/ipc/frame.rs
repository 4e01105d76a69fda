//! Length-prefixed framing: a little-endian `u32` length, then that many
//! bytes of msgpack (spec §1.2).
//!
//! The length is checked against [`Limits::max_frame`] *before* any buffer
//! is grown for it, so a hostile or broken peer announcing 4 GiB costs us
//! four bytes of reading, not four gigabytes of memory. An oversized frame
//! is not a reason to drop the connection: the prefix says exactly where
//! the next frame starts, so the codec reads the frame's first bytes (to
//! learn its `msg_type` and `cid`), discards the rest as it arrives without
//! keeping it, and once all of it is gone (the sender has finished
//! writing it) reports it as one bad message. The runtime then tells
//! the sender (a `MsgTypeError` naming the size and the limit) and the
//! connection stays usable, as for any other message that does not fit.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use crate::msg::{self, DecodeError, DecodeErrorKind, MAX_NESTING, Msg};

/// Bytes in the length prefix.
pub const PREFIX_LEN: usize = 4;

/// The default largest frame we accept or send: 64 MiB. Python sets no
/// limit (a `u32` length allows 4 GiB); ours bounds the memory one peer
/// can make us buffer, and is configurable through
/// `RuntimeVars::max_frame_bytes`.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024 * 1024;

/// How much of an oversized frame is read to find its `msg_type` and `cid`
/// (they come first in every message).
const OVERSIZED_HEAD: usize = 256;

/// What a connection accepts from its peer; both come from
/// [`RuntimeVars`](crate::RuntimeVars) (`max_frame_bytes`,
/// `max_nesting_depth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest frame payload, in bytes.
    pub max_frame: usize,
    /// Deepest nesting of lists and maps in a payload value.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame: DEFAULT_MAX_FRAME,
            max_depth: MAX_NESTING,
        }
    }
}

impl From<usize> for Limits {
    /// A frame limit with the default nesting limit.
    fn from(max_frame: usize) -> Self {
        Limits {
            max_frame,
            max_depth: MAX_NESTING,
        }
    }
}

/// Framing failures. Each one ends the connection: after it the byte
/// stream can no longer be trusted to be at a frame boundary. (A frame
/// over the size limit is not one of them; see the module docs.)
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection in the middle of a frame.
    #[error("peer hung up mid-frame: got {read} of {expected} bytes")]
    UncleanEof {
        /// Bytes of the frame (prefix included) that arrived.
        read: usize,
        /// Bytes the frame should have had (prefix included; 4 while the
        /// prefix itself was incomplete).
        expected: usize,
    },
    /// The socket failed.
    #[error("transport error: {0}")]
    Io(#[from] std::io::Error),
}

/// A `tokio_util` codec for tractor frames.
///
/// Each decoded item is itself a `Result`: a frame whose *contents* are bad
/// (or that is over the size limit) is reported and skipped while the
/// stream stays in sync, because the prefix said exactly where the next
/// frame starts.
#[derive(Clone, Debug)]
pub struct FrameCodec {
    limits: Limits,
    /// Bytes of an oversized frame still to discard...
    discarding: usize,
    /// ...of this many (its announced length).
    discarding_of: usize,
    /// The report of that frame, given once it is all discarded: only then
    /// has its sender finished writing it, so an answer cannot cut a
    /// sender's write short (a Python sender cancels its send when the
    /// dialog fails).
    refused: Option<DecodeError>,
}

impl FrameCodec {
    /// A codec refusing frames longer than `max_frame` bytes (and payloads
    /// nested deeper than the default limit).
    pub fn new(max_frame: usize) -> Self {
        FrameCodec::with_limits(max_frame.into())
    }

    /// A codec with both limits.
    pub fn with_limits(limits: Limits) -> Self {
        FrameCodec {
            limits,
            discarding: 0,
            discarding_of: 0,
            refused: None,
        }
    }

    /// The largest payload accepted.
    pub fn max_frame(&self) -> usize {
        self.limits.max_frame
    }

    /// The deepest nesting accepted in a payload value.
    pub fn max_depth(&self) -> usize {
        self.limits.max_depth
    }

    /// The report of the oversized frame at the start of `src` (announcing
    /// `len` bytes), naming its `msg_type` and `cid` when the bytes that
    /// arrived hold them; starts discarding the frame.
    fn refuse_oversized(&mut self, src: &mut BytesMut, len: usize) -> DecodeError {
        let head = len.min(OVERSIZED_HEAD).min(src.len() - PREFIX_LEN);
        let (msg_type, cid) = msg::header_fields(&src[PREFIX_LEN..PREFIX_LEN + head]);
        src.advance(PREFIX_LEN);
        self.discarding = len;
        self.discarding_of = len;
        self.discard(src);
        DecodeError {
            kind: DecodeErrorKind::FrameTooLarge {
                len: len as u64,
                max: self.limits.max_frame,
            },
            msg_type,
            cid,
        }
    }

    /// Drops what arrived of the oversized frame being discarded; true
    /// once it is all gone.
    fn discard(&mut self, src: &mut BytesMut) -> bool {
        let n = self.discarding.min(src.len());
        src.advance(n);
        self.discarding -= n;
        self.discarding == 0
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec::with_limits(Limits::default())
    }
}

impl FrameCodec {
    /// The next whole frame's payload at the front of `src` (or the report
    /// of an oversized one), as [`Decoder::decode`] gives it undecoded.
    pub(crate) fn frame(&mut self, src: &mut BytesMut) -> Result<Option<FrameItem>, FrameError> {
        if !self.discard(src) {
            return Ok(None);
        }
        if let Some(e) = self.refused.take() {
            return Ok(Some(Err(e)));
        }
        if src.len() < PREFIX_LEN {
            return Ok(None);
        }
        let len = u32::from_le_bytes([src[0], src[1], src[2], src[3]]) as usize;
        if len > self.limits.max_frame {
            if src.len() < PREFIX_LEN + len.min(OVERSIZED_HEAD) {
                return Ok(None);
            }
            let e = self.refuse_oversized(src, len);
            if self.discarding == 0 {
                return Ok(Some(Err(e)));
            }
            self.refused = Some(e);
            return Ok(None);
        }
        let total = PREFIX_LEN + len;
        if src.len() < total {
            src.reserve(total - src.len());
            return Ok(None);
        }
        src.advance(PREFIX_LEN);
        Ok(Some(Ok(src.split_to(len).freeze())))
    }

    /// [`FrameCodec::frame`] at the end of the stream.
    fn frame_eof(&mut self, src: &mut BytesMut) -> Result<Option<FrameItem>, FrameError> {
        if self.discarding > 0 && !self.discard(src) {
            // Said before the hang-up is.
            if let Some(e) = self.refused.take() {
                return Ok(Some(Err(e)));
            }
            return Err(FrameError::UncleanEof {
                read: PREFIX_LEN + self.discarding_of - self.discarding,
                expected: PREFIX_LEN + self.discarding_of,
            });
        }
        if src.len() >= PREFIX_LEN {
            let len = u32::from_le_bytes([src[0], src[1], src[2], src[3]]) as usize;
            if len > self.limits.max_frame {
                // Said before the hang-up is.
                return Ok(Some(Err(self.refuse_oversized(src, len))));
            }
        }
        match self.frame(src)? {
            Some(item) => Ok(Some(item)),
            None if src.is_empty() => Ok(None),
            None => {
                let expected = if src.len() < PREFIX_LEN {
                    PREFIX_LEN
                } else {
                    PREFIX_LEN + u32::from_le_bytes([src[0], src[1], src[2], src[3]]) as usize
                };
                Err(FrameError::UncleanEof {
                    read: src.len(),
                    expected,
                })
            }
        }
    }
}

/// One frame's payload, or the report of a frame refused unread.
type FrameItem = Result<Bytes, DecodeError>;

impl Decoder for FrameCodec {
    type Item = Result<Msg, DecodeError>;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, FrameError> {
        let depth = self.limits.max_depth;
        Ok(self
            .frame(src)?
            .map(|f| f.and_then(|b| msg::decode_with_depth(&b, depth))))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, FrameError> {
        let depth = self.limits.max_depth;
        Ok(self
            .frame_eof(src)?
            .map(|f| f.and_then(|b| msg::decode_with_depth(&b, depth))))
    }
}

/// [`FrameCodec`] giving each frame's payload undecoded (a [`Bytes`] the
/// reader decodes in place with [`msg::decode_ref`], so payloads can stay
/// slices of it); a frame over the size limit is still reported unread.
#[derive(Clone, Debug, Default)]
pub struct RawFrames(pub FrameCodec);

impl Decoder for RawFrames {
    type Item = Result<Bytes, DecodeError>;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, FrameError> {
        self.0.frame(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, FrameError> {
        self.0.frame_eof(src)
    }
}

/// Appends `msg` as one complete frame (prefix + payload) to `buf`.
pub fn write_frame_into(msg: &Msg, buf: &mut Vec<u8>) {
    let start = buf.len();
    buf.extend_from_slice(&[0; PREFIX_LEN]);
    msg::encode_into(msg, buf);
    let len = (buf.len() - start - PREFIX_LEN) as u32;
    buf[start..start + PREFIX_LEN].copy_from_slice(&len.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::Stop;

    fn stop() -> Msg {
        Msg::Stop(Stop {
            cid: "c".repeat(36),
        })
    }

    #[test]
    fn decodes_a_frame_split_anywhere() {
        let mut frame = Vec::new();
        write_frame_into(&stop(), &mut frame);
        for cut in 0..frame.len() {
            let mut codec = FrameCodec::default();
            let mut buf = BytesMut::from(&frame[..cut]);
            assert!(codec.decode(&mut buf).unwrap().is_none());
            buf.extend_from_slice(&frame[cut..]);
            assert_eq!(codec.decode(&mut buf).unwrap().unwrap().unwrap(), stop());
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn oversized_prefix_is_refused_without_allocating() {
        let mut codec = FrameCodec::new(1024);
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff, 0x82][..]);
        let cap = buf.capacity();
        // Waits for the frame's head (to name its cid) without growing the
        // buffer for the announced 4 GiB.
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert_eq!(buf.capacity(), cap, "no buffer growth for a refused frame");
        // At EOF it is reported as what it is, then the hang-up.
        let e = codec.decode_eof(&mut buf).unwrap().unwrap().unwrap_err();
        assert_eq!(
            e.kind,
            DecodeErrorKind::FrameTooLarge {
                len: 0xffff_ffff,
                max: 1024
            }
        );
        assert!(
            e.to_string().contains("exceeds the 1024-byte frame limit"),
            "{e}"
        );
        let e = codec.decode_eof(&mut buf).unwrap_err();
        assert_eq!(
            e.to_string(),
            "peer hung up mid-frame: got 5 of 4294967299 bytes"
        );
    }

    #[test]
    fn an_oversized_frame_is_named_by_its_cid_discarded_and_the_next_one_decoded() {
        let big = Msg::Yield(crate::msg::Payload {
            cid: "the-cid".into(),
            pld: crate::msg::Value::Binary(vec![7u8; 5000]),
        });
        let mut bytes = Vec::new();
        write_frame_into(&big, &mut bytes);
        write_frame_into(&stop(), &mut bytes);
        let mut codec = FrameCodec::new(1024);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        // Fed in small pieces, as a socket delivers it.
        for chunk in bytes.chunks(100) {
            buf.extend_from_slice(chunk);
            while let Some(item) = codec.decode(&mut buf).unwrap() {
                got.push(item);
            }
            assert!(buf.len() <= 400, "the oversized frame is not kept");
        }
        assert_eq!(got.len(), 2, "{got:?}");
        let e = got[0].clone().unwrap_err();
        assert_eq!(e.cid.as_deref(), Some("the-cid"));
        assert_eq!(e.msg_type.as_deref(), Some("Yield"));
        assert!(e.is_type_error());
        assert_eq!(
            e.to_string(),
            format!(
                "invalid `Yield` message: a message of {} bytes exceeds the 1024-byte frame limit (RuntimeVars::max_frame_bytes); it was discarded unread",
                msg::encode(&big).len()
            )
        );
        assert_eq!(got[1].clone().unwrap(), stop());
    }

    #[test]
    fn eof_mid_frame_is_unclean() {
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::from(&[0x10, 0x00][..]);
        let e = codec.decode_eof(&mut buf).unwrap_err();
        assert_eq!(e.to_string(), "peer hung up mid-frame: got 2 of 4 bytes");
    }
}
