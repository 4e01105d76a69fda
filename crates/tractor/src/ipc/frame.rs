//! Length-prefixed framing: a little-endian `u32` length, then that many
//! bytes of msgpack (spec §1.2).
//!
//! The length is checked against [`FrameCodec::max_frame`] *before* any
//! buffer is grown for it, so a hostile or broken peer announcing 4 GiB
//! costs us four bytes of reading, not four gigabytes of memory.

use bytes::{Buf, BytesMut};
use tokio_util::codec::Decoder;

use crate::msg::{self, DecodeError, Msg};

/// Bytes in the length prefix.
pub const PREFIX_LEN: usize = 4;

/// The default largest frame we accept or send: 32 MiB. Python sets no
/// limit; ours is configurable through `RuntimeVars::max_frame_bytes`.
pub const DEFAULT_MAX_FRAME: usize = 32 * 1024 * 1024;

/// Framing failures. Each one ends the connection: after it the byte
/// stream can no longer be trusted to be at a frame boundary.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length prefix is over the configured maximum.
    #[error("frame of {len} bytes exceeds the {max}-byte limit (refused before reading it)")]
    TooLarge {
        /// The announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
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
/// is reported and skipped while the stream stays in sync, because the
/// prefix said exactly where the next frame starts.
#[derive(Clone, Copy, Debug)]
pub struct FrameCodec {
    max_frame: usize,
}

impl FrameCodec {
    /// A codec refusing frames longer than `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        FrameCodec { max_frame }
    }

    /// The largest payload accepted.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec::new(DEFAULT_MAX_FRAME)
    }
}

impl Decoder for FrameCodec {
    type Item = Result<Msg, DecodeError>;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, FrameError> {
        if src.len() < PREFIX_LEN {
            return Ok(None);
        }
        let len = u32::from_le_bytes([src[0], src[1], src[2], src[3]]) as usize;
        if len > self.max_frame {
            return Err(FrameError::TooLarge {
                len: len as u64,
                max: self.max_frame,
            });
        }
        let total = PREFIX_LEN + len;
        if src.len() < total {
            src.reserve(total - src.len());
            return Ok(None);
        }
        src.advance(PREFIX_LEN);
        let payload = src.split_to(len);
        Ok(Some(msg::decode(&payload)))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, FrameError> {
        match self.decode(src)? {
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
        let e = codec.decode(&mut buf).unwrap_err();
        assert!(matches!(
            e,
            FrameError::TooLarge {
                len: 0xffff_ffff,
                max: 1024
            }
        ));
        assert_eq!(buf.capacity(), cap, "no buffer growth for a refused frame");
        assert!(e.to_string().contains("exceeds the 1024-byte limit"));
    }

    #[test]
    fn eof_mid_frame_is_unclean() {
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::from(&[0x10, 0x00][..]);
        let e = codec.decode_eof(&mut buf).unwrap_err();
        assert_eq!(e.to_string(), "peer hung up mid-frame: got 2 of 4 bytes");
    }
}
