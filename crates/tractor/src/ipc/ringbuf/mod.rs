//! A single-producer, single-consumer byte ring in shared memory: the
//! opt-in channel for bulk data between two actors on one host.
//!
//! The ring lives in a `memfd` (anonymous: it has no name, so nothing can
//! be left behind in `/dev/shm`; the kernel frees it when the last of its
//! descriptors closes, including on a crash). Records are a `u32` length
//! plus bytes, written contiguously with wrap-around.
//!
//! Records move in batches: the writer copies a slice of records in and
//! publishes its index once ([`RingWriter::try_send_many`]), the reader
//! copies everything published out in one go and frees the room once
//! ([`RingReader::try_recv_many`] into a reused [`RecvBatch`]). While
//! there is data (or room) neither side makes a system call or takes a
//! lock. Wake-ups use two `eventfd`s, awaited through tokio, so an idle
//! reader (or a writer facing a full ring) sleeps instead of spinning; a
//! side only signals when the other has said it is waiting, once per
//! sleep (the fenced handshake in `handshake.rs`, checked by loom).
//!
//! The three descriptors reach the other actor over a one-shot Unix socket
//! (`SCM_RIGHTS`) in the session's bind-space folder ([`FdOffer`],
//! [`accept_fds`]), which works the same between processes and threads.

mod batch;
mod handover;
mod handshake;
mod mem;
mod reader;
mod writer;

#[cfg(test)]
mod loom_model;
#[cfg(test)]
mod tests;

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub use batch::{DEFAULT_BATCH_BYTES, RecvBatch, RecvIter};
pub use handover::{FdOffer, accept_fds};
use mem::{Event, HEADER, Mapping, OFF_CAPACITY, Ring};

/// File-name prefix of offer sockets in the bind-space folder:
/// `shm-<actor uuid prefix>-<random>.sock`.
pub const SHM_OFFER_PREFIX: &str = "shm-";

/// Errors of the shared-memory channel.
#[derive(Debug, thiserror::Error)]
pub enum RingError {
    /// The OS refused something (memfd, mmap, eventfd, socket).
    #[error("shared-memory channel: {0}")]
    Io(#[from] io::Error),
    /// The other side closed (or died).
    #[error("shared-memory channel closed by the other side")]
    Closed,
    /// A record larger than the ring can ever hold.
    #[error("record of {len} bytes cannot fit a ring of {capacity} bytes")]
    TooLarge {
        /// Record length.
        len: usize,
        /// Ring capacity.
        capacity: usize,
    },
    /// The handed-over descriptors were not a ring, or its contents are
    /// corrupt.
    #[error("not a shared-memory ring: {0}")]
    Invalid(String),
}

/// The seals every ring's memory carries: its size is fixed, so a peer's
/// `ftruncate` can never make our mapping fault (SIGBUS).
const SEALS: libc::c_int = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;

/// The descriptors of a ring (memory, "data ready", "space ready") on
/// their way to its reader: the value [`RingFds::create`] returns beside
/// the ring's one writer, handed over with [`FdOffer::hand_over`] and
/// received with [`accept_fds`]. It can only become a reader, and only
/// once (it cannot be cloned), so a ring has one writer and one reader by
/// construction.
#[derive(Debug)]
pub struct RingFds {
    mem: OwnedFd,
    data_ready: OwnedFd,
    space_ready: OwnedFd,
}

impl RingFds {
    /// A new ring of `capacity` data bytes: its writing end, and the
    /// descriptors for its reading end. The memory is sealed against
    /// resizing before anyone else sees it. Call it inside a tokio runtime
    /// (the writer's wake-ups are registered with it).
    pub fn create(capacity: usize) -> Result<(RingWriter, RingFds), RingError> {
        let name = c"tractor-shm";
        // SAFETY: memfd_create with a valid C string.
        let fd = unsafe {
            libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
        };
        if fd < 0 {
            return Err(io::Error::last_os_error().into());
        }
        // SAFETY: fresh descriptor we own.
        let mem = unsafe { OwnedFd::from_raw_fd(fd) };
        let len = HEADER + capacity;
        // SAFETY: resizing our own memfd.
        if unsafe { libc::ftruncate(mem.as_raw_fd(), len as libc::off_t) } != 0 {
            return Err(io::Error::last_os_error().into());
        }
        // SAFETY: fcntl(F_ADD_SEALS) on our own memfd takes an int flag.
        if unsafe { libc::fcntl(mem.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } != 0 {
            return Err(io::Error::last_os_error().into());
        }
        let map = Mapping::map(&mem, len)?;
        map.u64_at(OFF_CAPACITY)
            .store(capacity as u64, Ordering::SeqCst);
        drop(map);
        let fds = RingFds {
            mem,
            data_ready: Event::create_fd()?,
            space_ready: Event::create_fd()?,
        };
        let ours = RingFds {
            mem: fds.mem.try_clone()?,
            data_ready: fds.data_ready.try_clone()?,
            space_ready: fds.space_ready.try_clone()?,
        };
        let ring = Arc::new(ours.map()?);
        let writer = RingWriter {
            ring,
            data_ready: Event::wrap(ours.data_ready)?,
            space_ready: Event::wrap(ours.space_ready)?,
            _mem: ours.mem,
        };
        Ok((writer, fds))
    }

    fn map(&self) -> Result<Ring, RingError> {
        // SAFETY: fcntl(F_GET_SEALS) on our own descriptor.
        let seals = unsafe { libc::fcntl(self.mem.as_raw_fd(), libc::F_GET_SEALS) };
        if seals < 0 || seals & SEALS != SEALS {
            return Err(RingError::Invalid(
                "the memory is not sealed against resizing".into(),
            ));
        }
        // SAFETY: a zeroed `stat` is a valid value of this plain C struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat on our own descriptor into a valid struct.
        if unsafe { libc::fstat(self.mem.as_raw_fd(), &mut st) } != 0 {
            return Err(io::Error::last_os_error().into());
        }
        let len = st.st_size as usize;
        if len <= HEADER {
            return Err(RingError::Invalid(format!("memory of {len} bytes")));
        }
        let map = Mapping::map(&self.mem, len)?;
        let capacity = map.u64_at(OFF_CAPACITY).load(Ordering::SeqCst) as usize;
        if capacity != len - HEADER {
            return Err(RingError::Invalid("header and size disagree".into()));
        }
        Ok(Ring { map, capacity })
    }

    /// The reading end.
    pub fn into_reader(self) -> Result<RingReader, RingError> {
        let ring = Arc::new(self.map()?);
        Ok(RingReader {
            ring,
            data_ready: Event::wrap(self.data_ready)?,
            space_ready: Event::wrap(self.space_ready)?,
            _mem: self.mem,
        })
    }
}

/// The writing end of a ring (its methods: `writer.rs`).
#[derive(Debug)]
pub struct RingWriter {
    ring: Arc<Ring>,
    data_ready: Event,
    space_ready: Event,
    _mem: OwnedFd,
}

/// The reading end of a ring (its methods: `reader.rs`).
#[derive(Debug)]
pub struct RingReader {
    ring: Arc<Ring>,
    data_ready: Event,
    space_ready: Event,
    _mem: OwnedFd,
}

fn close_ring(r: &Ring, wake: &Event) {
    r.closed().store(1, Ordering::SeqCst);
    wake.signal();
}

impl Drop for RingWriter {
    fn drop(&mut self) {
        close_ring(&self.ring, &self.data_ready);
    }
}

impl Drop for RingReader {
    fn drop(&mut self) {
        close_ring(&self.ring, &self.space_ready);
    }
}
