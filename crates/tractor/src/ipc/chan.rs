//! [`Channel`]: typed messages over one connection.
//!
//! A channel splits into a [`ChanSender`] (cloneable; frames from many
//! tasks never interleave) and a [`ChanReceiver`] (one reader). A clean EOF
//! at a frame boundary is `Ok(None)`, distinct from every error.
//!
//! # Cancel safety
//!
//! [`ChanReceiver::recv`] is cancel safe: a partly read frame stays
//! buffered for the next call. [`ChanSender::send`] is too: it queues a
//! whole frame or nothing, and a per-connection writer task does the
//! writing (coalescing what queued up into one `write`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;
use tokio_util::codec::FramedRead;

use super::addr::Addr;
use super::frame::{FrameCodec, FrameError, Limits, PREFIX_LEN, RawFrames};
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

/// How many encoded bytes may wait for the writer before `send` waits.
const HIGH_WATER: usize = 256 * 1024;

/// The read buffer's initial size: a batch of small frames is read with
/// one system call (and routed with one lock, `message_loop.rs`).
const READ_BUF: usize = 64 * 1024;

/// How long `close` waits for queued frames to be written.
const CLOSE_FLUSH: std::time::Duration = std::time::Duration::from_secs(5);

/// Frames waiting to be written, and how the writer is doing.
#[derive(Default)]
struct Outbox {
    buf: Vec<u8>,
    closing: bool,
    error: Option<(std::io::ErrorKind, String)>,
    writer_done: bool,
}

struct SenderInner {
    outbox: std::sync::Mutex<Outbox>,
    /// Senders → writer: there is something to write (or to close).
    wake: Notify,
    /// Writer → senders: the queue drained (room, or an error).
    room: Notify,
    /// Writer → `close`: finished.
    done: Notify,
    writer: std::sync::Mutex<Option<tokio::task::AbortHandle>>,
    peer: String,
    max_frame: usize,
}

fn outbox(inner: &SenderInner) -> std::sync::MutexGuard<'_, Outbox> {
    inner.outbox.lock().unwrap_or_else(|p| p.into_inner())
}

/// Closes the write direction when the last sender is dropped.
struct LastSender(Arc<SenderInner>);

impl Drop for LastSender {
    fn drop(&mut self) {
        outbox(&self.0).closing = true;
        self.0.wake.notify_one();
    }
}

/// The sending half of a channel. Cheap to clone.
///
/// `send` encodes the frame into the connection's queue and returns; one
/// writer task per connection writes whatever has queued up with a single
/// `write`, so a burst of small messages costs one system call, not one
/// each, and frames from many tasks never interleave. Past a high-water
/// mark `send` waits for the writer (back-pressure).
#[derive(Clone)]
pub struct ChanSender {
    inner: Arc<SenderInner>,
    _last: Arc<LastSender>,
}

impl std::fmt::Debug for ChanSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChanSender")
            .field("peer", &self.inner.peer)
            .finish()
    }
}

/// Writes what the senders queue, in order, until closed or broken.
async fn write_loop(inner: Arc<SenderInner>, mut w: BoxWrite) {
    let mut batch: Vec<u8> = Vec::new();
    loop {
        let woken = inner.wake.notified();
        let state = {
            let mut ob = outbox(&inner);
            if ob.buf.is_empty() {
                if ob.closing { None } else { Some(false) }
            } else {
                std::mem::swap(&mut ob.buf, &mut batch);
                Some(true)
            }
        };
        match state {
            None => break,
            Some(false) => woken.await,
            Some(true) => {
                let r = w.write_all(&batch).await;
                batch.clear();
                if batch.capacity() > 4 * HIGH_WATER {
                    batch.shrink_to(HIGH_WATER);
                }
                if let Err(e) = r {
                    outbox(&inner).error = Some((e.kind(), e.to_string()));
                    inner.room.notify_waiters();
                    break;
                }
                inner.room.notify_waiters();
            }
        }
    }
    let _ = w.shutdown().await;
    outbox(&inner).writer_done = true;
    inner.room.notify_waiters();
    inner.done.notify_waiters();
}

impl ChanSender {
    fn start(w: BoxWrite, peer: String, max_frame: usize) -> ChanSender {
        let inner = Arc::new(SenderInner {
            outbox: std::sync::Mutex::new(Outbox::default()),
            wake: Notify::new(),
            room: Notify::new(),
            done: Notify::new(),
            writer: std::sync::Mutex::new(None),
            peer,
            max_frame,
        });
        let task = tokio::spawn(write_loop(inner.clone(), w));
        *inner.writer.lock().unwrap_or_else(|p| p.into_inner()) = Some(task.abort_handle());
        ChanSender {
            _last: Arc::new(LastSender(inner.clone())),
            inner,
        }
    }

    /// Queues one message as one frame (see the type's docs).
    ///
    /// Cancel safe: a frame is queued whole or not at all.
    pub async fn send(&self, msg: &Msg) -> Result<(), ChanError> {
        let queued = self
            .send_with(|buf| {
                crate::msg::encode_into(msg, buf);
                Ok::<(), std::convert::Infallible>(())
            })
            .await?;
        match queued {
            Ok(()) => Ok(()),
            Err(never) => match never {},
        }
    }

    /// Queues one frame whose message `encode` appends straight to the
    /// connection's write buffer (a typed payload serialized in place, no
    /// intermediate buffer). An `encode` error leaves the buffer as it
    /// was and is handed back as the inner `Err`; the outer one is the
    /// connection's. Cancel safe, as [`ChanSender::send`].
    pub async fn send_with<E>(
        &self,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<Result<(), E>, ChanError> {
        let mut encode = Some(encode);
        // The usual case first: room in the queue, so no waiter is
        // registered with `room` (that takes its lock twice).
        if let Some(done) = self.try_queue(&mut encode) {
            return done;
        }
        loop {
            let room = self.inner.room.notified();
            tokio::pin!(room);
            // Registered before the check: a drain between the check and
            // the wait still wakes us.
            room.as_mut().enable();
            if let Some(done) = self.try_queue(&mut encode) {
                return done;
            }
            room.await;
        }
    }

    /// Queues the frame `encode` writes if the queue has room; `None`
    /// (and `encode` kept) when it is full.
    fn try_queue<E>(
        &self,
        encode: &mut Option<impl FnOnce(&mut Vec<u8>) -> Result<(), E>>,
    ) -> Option<Result<Result<(), E>, ChanError>> {
        let peer = || self.inner.peer.clone();
        let mut ob = outbox(&self.inner);
        if let Some((kind, text)) = &ob.error {
            return Some(Err(ChanError::Io {
                peer: peer(),
                source: std::io::Error::new(*kind, text.clone()),
            }));
        }
        if ob.closing || ob.writer_done {
            return Some(Err(ChanError::Closed { peer: peer() }));
        }
        if ob.buf.len() >= HIGH_WATER {
            return None;
        }
        let encode = encode.take()?;
        let start = ob.buf.len();
        ob.buf.extend_from_slice(&[0; PREFIX_LEN]);
        if let Err(e) = encode(&mut ob.buf) {
            ob.buf.truncate(start);
            return Some(Ok(Err(e)));
        }
        let len = ob.buf.len() - start - PREFIX_LEN;
        if len > self.inner.max_frame {
            ob.buf.truncate(start);
            return Some(Err(ChanError::TooLarge {
                peer: peer(),
                len,
                max: self.inner.max_frame,
            }));
        }
        ob.buf[start..start + PREFIX_LEN].copy_from_slice(&(len as u32).to_le_bytes());
        let first = start == 0;
        drop(ob);
        // The writer empties the buffer before it waits: only the first
        // frame of a batch needs to wake it.
        if first {
            self.inner.wake.notify_one();
        }
        Some(Ok(Ok(())))
    }

    /// Writes what is queued, then shuts down the write direction: the
    /// peer sees a clean EOF. Gives up (dropping the queue) after a few
    /// seconds if the peer does not read.
    pub async fn close(&self) {
        let done = self.inner.done.notified();
        tokio::pin!(done);
        done.as_mut().enable();
        {
            let mut ob = outbox(&self.inner);
            if ob.writer_done {
                return;
            }
            ob.closing = true;
        }
        self.inner.wake.notify_one();
        if tokio::time::timeout(CLOSE_FLUSH, done).await.is_err()
            && let Some(h) = self
                .inner
                .writer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
        {
            h.abort();
        }
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
    framed: FramedRead<BoxRead, RawFrames>,
    max_depth: usize,
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
        let Some(frame) = self.recv_frame().await? else {
            return Ok(None);
        };
        crate::msg::decode_with_depth(&frame, self.max_depth)
            .map(Some)
            .map_err(|source| self.decode_error(source))
    }

    /// Receives the next frame's payload undecoded (for the message loop,
    /// which decodes it in place with [`crate::msg::decode_ref`]);
    /// `Ok(None)` is a clean EOF. Errors as for [`ChanReceiver::recv`]
    /// (a frame over the size limit is a [`ChanError::Decode`]).
    pub async fn recv_frame(&mut self) -> Result<Option<Bytes>, ChanError> {
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
            Some(Ok(Ok(frame))) => Ok(Some(frame)),
            Some(Ok(Err(source))) => Err(self.decode_error(source)),
            Some(Err(source)) => {
                self.dead = true;
                Err(ChanError::Frame {
                    peer: self.peer.clone(),
                    source,
                })
            }
        }
    }

    /// The next frame if the last read already brought it in: how the
    /// message loop takes a whole read batch at once. `None` when the read
    /// buffer holds no whole frame (the socket is not read: the next
    /// [`ChanReceiver::recv_frame`] does that).
    ///
    /// Cut straight from the buffer with the connection's codec, so a
    /// frame of a batch costs no trip through the stream adapter's poll
    /// (a visible part of the reader's time when it was one per frame).
    /// Errors as for [`ChanReceiver::recv_frame`]; the end of the stream
    /// is left for it to report.
    pub fn try_recv_frame(&mut self) -> Option<Result<Option<Bytes>, ChanError>> {
        if self.dead {
            return None;
        }
        let mut buf = std::mem::take(self.framed.read_buffer_mut());
        let cut = self.framed.decoder_mut().0.frame(&mut buf);
        *self.framed.read_buffer_mut() = buf;
        match cut {
            Ok(None) => None,
            Ok(Some(Ok(frame))) => Some(Ok(Some(frame))),
            Ok(Some(Err(source))) => Some(Err(self.decode_error(source))),
            Err(source) => {
                self.dead = true;
                Some(Err(ChanError::Frame {
                    peer: self.peer.clone(),
                    source,
                }))
            }
        }
    }

    /// [`ChanError::Decode`] for a bad frame from this peer.
    pub fn decode_error(&self, source: DecodeError) -> ChanError {
        ChanError::Decode {
            peer: self.peer.clone(),
            source,
        }
    }

    /// The deepest nesting this connection accepts in a payload value.
    pub fn max_depth(&self) -> usize {
        self.max_depth
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
    /// Wraps a connected stream. Starts the connection's writer task, so it
    /// must be called inside a tokio runtime (the one that will use it).
    ///
    /// `limits` is a [`Limits`], or just the frame limit in bytes (with the
    /// default nesting limit).
    pub fn new(conn: Conn, limits: impl Into<Limits>) -> Channel {
        let limits = limits.into();
        let Conn { read, write, peer } = conn;
        Channel {
            tx: ChanSender::start(write.0, peer.clone(), limits.max_frame),
            rx: ChanReceiver {
                framed: FramedRead::with_capacity(
                    read.0,
                    RawFrames(FrameCodec::with_limits(limits)),
                    READ_BUF,
                ),
                max_depth: limits.max_depth,
                peer,
                dead: false,
            },
        }
    }

    /// Dials `addr` (`limits` as for [`Channel::new`]).
    pub async fn connect(addr: &Addr, limits: impl Into<Limits>) -> Result<Channel, ChanError> {
        let conn = connect(addr).await.map_err(ChanError::Connect)?;
        Ok(Channel::new(conn, limits))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::DebugIgnore;
    use crate::msg::{Payload, PayloadKind, Stop, Value, encode_payload};

    /// Two channels joined by an in-memory pipe.
    fn pair() -> (Channel, Channel) {
        let (a, b) = tokio::io::duplex(1 << 20);
        let chan = |s: tokio::io::DuplexStream, peer: &str| {
            let (read, write) = tokio::io::split(s);
            Channel::new(
                Conn {
                    read: DebugIgnore(Box::pin(read)),
                    write: DebugIgnore(Box::pin(write)),
                    peer: peer.into(),
                },
                Limits::default(),
            )
        };
        (chan(a, "a"), chan(b, "b"))
    }

    #[tokio::test]
    async fn a_typed_frame_reads_back_as_the_dynamic_message_and_a_batch_is_taken_at_once() {
        let (a, mut b) = pair();
        for i in 0..10u32 {
            a.tx.send_with(|buf| encode_payload(PayloadKind::Yield, "c", &i, buf))
                .await
                .unwrap()
                .unwrap();
        }
        a.send(&Msg::Stop(Stop { cid: "c".into() })).await.unwrap();
        // The first frame waits; the rest of the burst is already there.
        let first = b.rx.recv_frame().await.unwrap().unwrap();
        let mut frames = vec![first];
        while frames.len() < 11 {
            match b.rx.try_recv_frame() {
                Some(f) => frames.push(f.unwrap().unwrap()),
                // Not all read in by the first read: wait for the next.
                None => frames.push(b.rx.recv_frame().await.unwrap().unwrap()),
            }
        }
        for (i, f) in frames[..10].iter().enumerate() {
            assert_eq!(
                crate::msg::decode(f).unwrap(),
                Msg::Yield(Payload {
                    cid: "c".into(),
                    pld: Value::from(i as u32),
                })
            );
        }
        assert_eq!(
            crate::msg::decode(&frames[10]).unwrap(),
            Msg::Stop(Stop { cid: "c".into() })
        );
        assert!(b.rx.try_recv_frame().is_none(), "nothing more was sent");
    }

    #[tokio::test]
    async fn a_payload_that_does_not_serialize_queues_nothing_and_the_channel_goes_on() {
        struct Refuses;
        impl Serialize for Refuses {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("not today"))
            }
        }
        use serde::Serialize;
        let (a, mut b) = pair();
        let e =
            a.tx.send_with(|buf| encode_payload(PayloadKind::Return, "c", &Refuses, buf))
                .await
                .unwrap()
                .unwrap_err();
        assert_eq!(e.to_string(), "not today");
        a.send(&Msg::Stop(Stop { cid: "c".into() })).await.unwrap();
        assert_eq!(
            b.recv().await.unwrap().unwrap(),
            Msg::Stop(Stop { cid: "c".into() }),
            "no partial frame went out before it"
        );
    }
}
