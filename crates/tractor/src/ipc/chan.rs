//! [`Channel`]: typed messages over one connection.
//!
//! A channel splits into a [`ChanSender`] (cloneable; frames from many
//! tasks never interleave) and a [`ChanReceiver`] (one reader). A clean EOF
//! at a frame boundary is `Ok(None)`, distinct from every error.
//!
//! # Cancel safety
//!
//! [`ChanReceiver::recv`] is cancel safe: a partly read frame stays
//! buffered for the next call. [`ChanSender::send`] is not: dropping it
//! mid-write would leave half a frame on the wire, so the sender notices
//! and every later send fails with [`ChanError::Broken`] instead of
//! corrupting the stream.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;
use tokio_util::codec::FramedRead;

use super::addr::Addr;
use super::frame::{FrameCodec, FrameError, PREFIX_LEN, write_frame_into};
use super::transport::{BoxRead, BoxWrite, Conn, connect};
use crate::msg::{Aid, DecodeError, Msg};

/// What can go wrong on a channel. Every variant names the peer.
#[derive(Debug, thiserror::Error)]
pub enum ChanError {
    /// Could not connect.
    #[error("{0}")]
    Connect(std::io::Error),
    /// The peer closed the connection.
    #[error("connection to {peer} is closed")]
    Closed {
        /// The peer.
        peer: String,
    },
    /// The byte stream broke framing (fatal for the connection).
    #[error("bad frame from {peer}: {source}")]
    Frame {
        /// The peer.
        peer: String,
        /// What was wrong.
        #[source]
        source: FrameError,
    },
    /// One frame held an invalid message; the connection is still usable.
    #[error("bad message from {peer}: {source}")]
    Decode {
        /// The peer.
        peer: String,
        /// What was wrong.
        #[source]
        source: DecodeError,
    },
    /// An outgoing message is over the frame limit; it was not sent.
    #[error("message of {len} bytes for {peer} exceeds the {max}-byte frame limit; not sent")]
    TooLarge {
        /// The peer.
        peer: String,
        /// Encoded size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Writing failed.
    #[error("sending to {peer} failed: {source}")]
    Io {
        /// The peer.
        peer: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A previous send was interrupted mid-frame; the stream is unusable.
    #[error("connection to {peer} is broken: an earlier send was interrupted mid-frame")]
    Broken {
        /// The peer.
        peer: String,
    },
    /// The Aid exchange failed.
    #[error("handshake with {peer} failed: {reason}")]
    Handshake {
        /// The peer.
        peer: String,
        /// Why.
        reason: String,
    },
}

impl ChanError {
    /// True when the connection cannot be used any more.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, ChanError::Decode { .. } | ChanError::TooLarge { .. })
    }
}

struct Writer {
    w: BoxWrite,
    buf: Vec<u8>,
    in_flight: bool,
}

struct SenderInner {
    w: Mutex<Writer>,
    peer: String,
    max_frame: usize,
}

/// The sending half of a channel. Cheap to clone.
#[derive(Clone)]
pub struct ChanSender {
    inner: Arc<SenderInner>,
}

impl std::fmt::Debug for ChanSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChanSender")
            .field("peer", &self.inner.peer)
            .finish()
    }
}

impl ChanSender {
    /// Sends one message as one frame.
    pub async fn send(&self, msg: &Msg) -> Result<(), ChanError> {
        let mut g = self.inner.w.lock().await;
        let peer = || self.inner.peer.clone();
        if g.in_flight {
            return Err(ChanError::Broken { peer: peer() });
        }
        let Writer { w, buf, in_flight } = &mut *g;
        buf.clear();
        write_frame_into(msg, buf);
        let len = buf.len() - PREFIX_LEN;
        if len > self.inner.max_frame {
            buf.clear();
            buf.shrink_to(4096);
            return Err(ChanError::TooLarge {
                peer: peer(),
                len,
                max: self.inner.max_frame,
            });
        }
        *in_flight = true;
        w.write_all(buf).await.map_err(|source| ChanError::Io {
            peer: peer(),
            source,
        })?;
        *in_flight = false;
        if buf.capacity() > 1 << 20 {
            buf.shrink_to(4096);
        }
        Ok(())
    }

    /// Shuts down the write direction: the peer sees a clean EOF.
    pub async fn close(&self) {
        let mut g = self.inner.w.lock().await;
        let _ = g.w.shutdown().await;
    }

    /// The peer's label.
    pub fn peer(&self) -> &str {
        &self.inner.peer
    }

    /// True if both senders write to the same connection.
    pub fn same_channel(&self, other: &ChanSender) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

/// The receiving half of a channel.
pub struct ChanReceiver {
    framed: FramedRead<BoxRead, FrameCodec>,
    peer: String,
    dead: bool,
}

impl std::fmt::Debug for ChanReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChanReceiver")
            .field("peer", &self.peer)
            .finish()
    }
}

impl ChanReceiver {
    /// Receives the next message; `Ok(None)` is a clean EOF.
    ///
    /// A [`ChanError::Decode`] reports one bad frame and leaves the
    /// channel usable; every other error is final.
    pub async fn recv(&mut self) -> Result<Option<Msg>, ChanError> {
        if self.dead {
            return Err(ChanError::Closed {
                peer: self.peer.clone(),
            });
        }
        match self.framed.next().await {
            None => {
                self.dead = true;
                Ok(None)
            }
            Some(Ok(Ok(msg))) => Ok(Some(msg)),
            Some(Ok(Err(source))) => Err(ChanError::Decode {
                peer: self.peer.clone(),
                source,
            }),
            Some(Err(source)) => {
                self.dead = true;
                Err(ChanError::Frame {
                    peer: self.peer.clone(),
                    source,
                })
            }
        }
    }

    /// The peer's label.
    pub fn peer(&self) -> &str {
        &self.peer
    }
}

/// A connection carrying typed messages.
#[derive(Debug)]
pub struct Channel {
    /// Sending half.
    pub tx: ChanSender,
    /// Receiving half.
    pub rx: ChanReceiver,
}

impl Channel {
    /// Wraps a connected stream.
    pub fn new(conn: Conn, max_frame: usize) -> Channel {
        let Conn { read, write, peer } = conn;
        Channel {
            tx: ChanSender {
                inner: Arc::new(SenderInner {
                    w: Mutex::new(Writer {
                        w: write.0,
                        buf: Vec::with_capacity(256),
                        in_flight: false,
                    }),
                    peer: peer.clone(),
                    max_frame,
                }),
            },
            rx: ChanReceiver {
                framed: FramedRead::with_capacity(read.0, FrameCodec::new(max_frame), 8 * 1024),
                peer,
                dead: false,
            },
        }
    }

    /// Dials `addr`.
    pub async fn connect(addr: &Addr, max_frame: usize) -> Result<Channel, ChanError> {
        let conn = connect(addr).await.map_err(ChanError::Connect)?;
        Ok(Channel::new(conn, max_frame))
    }

    /// Sends a message.
    pub async fn send(&self, msg: &Msg) -> Result<(), ChanError> {
        self.tx.send(msg).await
    }

    /// Receives a message; `Ok(None)` is a clean EOF.
    pub async fn recv(&mut self) -> Result<Option<Msg>, ChanError> {
        self.rx.recv().await
    }

    /// The peer's label.
    pub fn peer(&self) -> &str {
        self.rx.peer()
    }

    /// The Aid exchange (spec §4.1): send ours at once, then read exactly
    /// one frame, which must be the peer's `Aid`.
    pub async fn handshake(&mut self, me: &Aid, timeout: Duration) -> Result<Aid, ChanError> {
        let peer = self.peer().to_owned();
        let fail = |reason: String| ChanError::Handshake {
            peer: peer.clone(),
            reason,
        };
        let exchange = async {
            self.send(&Msg::Aid(me.clone())).await?;
            self.recv().await
        };
        match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Err(fail(format!("no Aid within {timeout:?}"))),
            Ok(Err(e)) => Err(fail(e.to_string())),
            Ok(Ok(None)) => Err(fail(
                "peer closed the connection before sending its Aid".into(),
            )),
            Ok(Ok(Some(Msg::Aid(aid)))) => Ok(aid),
            Ok(Ok(Some(other))) => Err(fail(format!(
                "expected an Aid first, got {}",
                other.msg_type()
            ))),
        }
    }
}
