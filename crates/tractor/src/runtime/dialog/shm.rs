//! Shared-memory channels between the two ends of a [`Context`]: the
//! explicit, opt-in escape hatch for bulk data between actors on one host
//! (processes or threads).
//!
//! One end creates the ring with [`Context::open_shm_writer`] and gets a
//! [`ShmOffer`] to send to the other end (as the `started` value or a
//! stream item); the other end attaches with [`Context::accept_shm_reader`].
//! The ring is tied to the context: it is freed when both ends drop it,
//! which happens when the context's tasks end or are cancelled, and when a
//! process crashes (the kernel closes its descriptors). A reader whose
//! writer's actor disappears gets an error instead of waiting forever.
//!
//! ```ignore
//! // callee
//! let (mut tx, offer) = ctx.open_shm_writer(8 << 20).await?;
//! ctx.started(&offer).await?;
//! tx.send(&bulk).await?;
//!
//! // opener
//! let (ctx, offer): (_, ShmOffer) = portal.open_context(producer {}).await?;
//! let mut rx = ctx.accept_shm_reader(&offer).await?;
//! let mut batch = RecvBatch::new();
//! while rx.recv_many(&mut batch).await? {
//!     for rec in &batch { /* ... */ }
//! }
//! ```
//!
//! Records move in batches ([`ShmWriter::send_many`],
//! [`ShmReader::recv_many`]): one index publish and at most one wake-up per
//! batch, no system call and no lock while there is room or data. Whether
//! the other actor is still there is asked only when a side is about to
//! wait (the ring full or empty), never per record; the single-record
//! `send`/`recv` are the same path with a batch of one.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::errors::Error;
pub use crate::ipc::ringbuf::{DEFAULT_BATCH_BYTES, RecvBatch, RecvIter};
use crate::ipc::ringbuf::{
    FdOffer, RingError, RingFds, RingReader, RingWriter, SHM_OFFER_PREFIX, accept_fds,
};
use crate::runtime::dialog::context::{AnySide, Context};

/// How long an offer waits for the other side to attach.
pub const OFFER_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the other end of a context can attach to a ring.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShmOffer {
    /// The one-shot Unix socket the descriptors are handed over on.
    pub path: PathBuf,
    /// Ring capacity in bytes.
    pub capacity: usize,
}

fn ring_err(e: RingError) -> Error {
    match e {
        RingError::Io(io) => Error::Io(io),
        other => Error::Other(other.into()),
    }
}

/// The writing end of a shared-memory channel.
#[derive(Debug)]
pub struct ShmWriter {
    ring: RingWriter,
    ctx: Context<AnySide>,
}

/// The reading end of a shared-memory channel.
#[derive(Debug)]
pub struct ShmReader {
    ring: RingReader,
    ctx: Context<AnySide>,
}

/// [`Context::open_shm_writer`].
pub(crate) async fn open_writer(
    ctx: &Context<AnySide>,
    capacity: usize,
) -> Result<(ShmWriter, ShmOffer), Error> {
    let (ring, fds) = RingFds::create(capacity).map_err(ring_err)?;
    let actor = &ctx.inner.actor;
    let dir = actor.runtime_vars().ensure_bind_dir()?.to_path_buf();
    // Named after the actor, so a parent can clear offers of a child
    // that crashed before anyone attached.
    let path = dir.join(format!(
        "{}{}-{}.sock",
        SHM_OFFER_PREFIX,
        &actor.uid().uuid[..8],
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    let offer = FdOffer::bind(&path).map_err(ring_err)?;
    let gone = ctx.inner.peer.gone.clone();
    let stop = actor.scope().token().clone();
    actor.inner.conn_tasks.spawn(async move {
        tokio::select! {
            r = offer.hand_over(fds) => {
                if let Err(e) = r {
                    tracing::warn!(error = %e, "shared-memory hand-over failed");
                }
            }
            _ = gone.cancelled() => {}
            _ = stop.cancelled() => {}
            _ = tokio::time::sleep(OFFER_TIMEOUT) => {
                tracing::warn!("nobody attached to a shared-memory offer");
            }
        }
    });
    Ok((
        ShmWriter {
            ring,
            ctx: ctx.clone(),
        },
        ShmOffer { path, capacity },
    ))
}

/// [`Context::accept_shm_reader`].
pub(crate) async fn accept_reader(
    ctx: &Context<AnySide>,
    offer: &ShmOffer,
) -> Result<ShmReader, Error> {
    let fds = tokio::time::timeout(OFFER_TIMEOUT, accept_fds(&offer.path))
        .await
        .map_err(|_| Error::Timeout {
            what: "a shared-memory offer".into(),
            secs: OFFER_TIMEOUT.as_secs_f64(),
        })?
        .map_err(ring_err)?;
    Ok(ShmReader {
        ring: fds.into_reader().map_err(ring_err)?,
        ctx: ctx.clone(),
    })
}

impl ShmWriter {
    /// Writes one record (at most the capacity minus 4 bytes), waiting for
    /// room while the reader catches up.
    pub async fn send(&mut self, rec: &[u8]) -> Result<(), Error> {
        self.send_many(&[rec]).await
    }

    /// Writes every record of `recs` in order: as many as fit are copied
    /// in and published at once, and only a full ring waits (for room, or
    /// for the reader's actor to vanish: then [`Error::PeerGone`] says how
    /// much of the batch went out). A batch holding a record larger than
    /// the ring is refused whole.
    pub async fn send_many<R: AsRef<[u8]>>(&mut self, recs: &[R]) -> Result<(), Error> {
        self.ring.check_fits(recs).map_err(ring_err)?;
        let mut sent = 0;
        loop {
            sent += self.ring.try_send_many(&recs[sent..]).map_err(ring_err)?;
            let Some(next) = recs.get(sent) else {
                return Ok(());
            };
            let need = 4 + next.as_ref().len();
            let gone = &self.ctx.inner.peer.gone;
            tokio::select! {
                biased;
                r = self.ring.wait_room(need) => r.map_err(ring_err)?,
                _ = gone.cancelled() => {
                    return Err(peer_gone(
                        &self.ctx,
                        format!(
                            "a shared-memory channel it was reading ({sent} of {} records of the batch were written)",
                            recs.len()
                        ),
                    ));
                }
            }
        }
    }

    /// Ring capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }
}

fn peer_gone(ctx: &Context<AnySide>, what: String) -> Error {
    Error::PeerGone {
        peer: ctx.inner.peer.aid.name.clone(),
        what,
    }
}

impl ShmReader {
    /// Reads the next record into `buf`; `Ok(false)` when the writer closed
    /// the channel and everything was read. If the writer's actor vanishes
    /// (a crash), this fails once the ring is empty instead of waiting
    /// forever.
    pub async fn recv(&mut self, buf: &mut Vec<u8>) -> Result<bool, Error> {
        loop {
            if self.ring.try_recv(buf).map_err(ring_err)? {
                return Ok(true);
            }
            if self.ring.is_closed() {
                return self.ring.try_recv(buf).map_err(ring_err);
            }
            self.wait_data().await?;
        }
    }

    /// Takes every record there is (up to the batch's byte limit), waiting
    /// only when there is none, into `batch` (its buffer is reused);
    /// `Ok(false)` when the writer closed the channel and everything was
    /// read. If the writer's actor vanishes (a crash), this fails once the
    /// ring is empty instead of waiting forever.
    pub async fn recv_many(&mut self, batch: &mut RecvBatch) -> Result<bool, Error> {
        loop {
            if self.ring.try_recv_many(batch).map_err(ring_err)? > 0 {
                return Ok(true);
            }
            if self.ring.is_closed() {
                // Everything published before the close is visible now.
                return Ok(self.ring.try_recv_many(batch).map_err(ring_err)? > 0);
            }
            self.wait_data().await?;
        }
    }

    /// Waits for data, or for the writer's actor to vanish.
    async fn wait_data(&mut self) -> Result<(), Error> {
        let gone = &self.ctx.inner.peer.gone;
        tokio::select! {
            biased;
            r = self.ring.wait_data() => r.map_err(ring_err),
            _ = gone.cancelled() => Err(peer_gone(&self.ctx, "a shared-memory channel".into())),
        }
    }
}
