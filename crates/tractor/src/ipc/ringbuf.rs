//! A single-producer, single-consumer byte ring in shared memory: the
//! opt-in channel for bulk data between two actors on one host.
//!
//! The ring lives in a `memfd` (anonymous: it has no name, so nothing can
//! be left behind in `/dev/shm`; the kernel frees it when the last of its
//! descriptors closes, including on a crash). Records are a `u32` length
//! plus bytes, written contiguously with wrap-around. Wake-ups use two
//! `eventfd`s, awaited through tokio, so an idle reader (or a writer facing
//! a full ring) sleeps instead of spinning; a side only signals when the
//! other has said it is waiting, so a busy stream makes no syscalls.
//!
//! The three descriptors reach the other actor over a one-shot Unix socket
//! (`SCM_RIGHTS`) in the session's bind-space folder ([`FdOffer`],
//! [`accept_fds`]), which works the same between processes and threads.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use tokio::io::unix::AsyncFd;

/// File-name prefix of offer sockets in the bind-space folder:
/// `shm-<actor uuid prefix>-<random>.sock`.
pub const SHM_OFFER_PREFIX: &str = "shm-";

/// Bytes reserved before the data area for the shared header.
const HEADER: usize = 4096;
// Header layout: each counter on its own cache line.
const OFF_WRITE: usize = 0;
const OFF_READ: usize = 64;
const OFF_READER_WAITING: usize = 128;
const OFF_WRITER_WAITING: usize = 192;
const OFF_CLOSED: usize = 256;
const OFF_CAPACITY: usize = 320;

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
    /// The handed-over descriptors were not a ring.
    #[error("not a shared-memory ring: {0}")]
    Invalid(String),
}

/// The mapped memory, unmapped on drop.
#[derive(Debug)]
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain shared memory; all access to the header
// goes through atomics and each data byte range is owned by exactly one
// side at a time (the SPSC protocol), so sharing the pointer is sound.
unsafe impl Send for Mapping {}
// SAFETY: see above.
unsafe impl Sync for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len came from a successful mmap and are unmapped once.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

impl Mapping {
    fn map(fd: &OwnedFd, len: usize) -> io::Result<Mapping> {
        // SAFETY: mapping a file descriptor we own, shared, for len bytes.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping {
            ptr: ptr.cast(),
            len,
        })
    }

    fn u64_at(&self, off: usize) -> &AtomicU64 {
        // SAFETY: off is inside the page-aligned header and 8-aligned; the
        // memory lives as long as `self`.
        unsafe { AtomicU64::from_ptr(self.ptr.add(off).cast()) }
    }

    fn u32_at(&self, off: usize) -> &AtomicU32 {
        // SAFETY: as above, 4-aligned.
        unsafe { AtomicU32::from_ptr(self.ptr.add(off).cast()) }
    }
}

/// An eventfd awaited through tokio.
#[derive(Debug)]
struct Event(AsyncFd<OwnedFd>);

impl Event {
    fn create_fd() -> io::Result<OwnedFd> {
        // SAFETY: eventfd returns a new descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor we own.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    fn wrap(fd: OwnedFd) -> io::Result<Event> {
        // SAFETY: the AsyncFd owns the OwnedFd, which stays open and the
        // same descriptor until the AsyncFd is dropped.
        let afd = unsafe { AsyncFd::register(fd) }.map_err(|e| e.into_parts().1)?;
        Ok(Event(afd))
    }

    fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writing 8 bytes from a valid u64 to an eventfd.
        unsafe {
            libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8);
        }
    }

    async fn wait(&self) -> io::Result<()> {
        loop {
            let mut guard = self.0.readable().await?;
            let mut buf: u64 = 0;
            // SAFETY: reading 8 bytes into a valid u64 from an eventfd.
            let n = unsafe { libc::read(self.0.as_raw_fd(), (&mut buf as *mut u64).cast(), 8) };
            if n == 8 {
                return Ok(());
            }
            guard.clear_ready();
        }
    }
}

/// State shared by both ends' code (each process maps it separately).
#[derive(Debug)]
struct Ring {
    map: Mapping,
    capacity: usize,
}

impl Ring {
    fn data(&self) -> *mut u8 {
        // SAFETY: HEADER < map.len by construction.
        unsafe { self.map.ptr.add(HEADER) }
    }
    fn write_pos(&self) -> &AtomicU64 {
        self.map.u64_at(OFF_WRITE)
    }
    fn read_pos(&self) -> &AtomicU64 {
        self.map.u64_at(OFF_READ)
    }
    fn reader_waiting(&self) -> &AtomicU32 {
        self.map.u32_at(OFF_READER_WAITING)
    }
    fn writer_waiting(&self) -> &AtomicU32 {
        self.map.u32_at(OFF_WRITER_WAITING)
    }
    fn closed(&self) -> &AtomicU32 {
        self.map.u32_at(OFF_CLOSED)
    }

    /// Copies `src` into the ring at logical position `pos` (wrapping).
    fn copy_in(&self, pos: u64, src: &[u8]) {
        let at = (pos % self.capacity as u64) as usize;
        let first = src.len().min(self.capacity - at);
        // SAFETY: both ranges lie in the data area; the SPSC protocol gives
        // the writer exclusive use of [write_pos, read_pos + capacity).
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.data().add(at), first);
            std::ptr::copy_nonoverlapping(src.as_ptr().add(first), self.data(), src.len() - first);
        }
    }

    /// Copies out of the ring at logical position `pos` into `dst`.
    fn copy_out(&self, pos: u64, dst: &mut [u8]) {
        let at = (pos % self.capacity as u64) as usize;
        let first = dst.len().min(self.capacity - at);
        // SAFETY: both ranges lie in the data area; the reader owns
        // [read_pos, write_pos) until it advances read_pos.
        unsafe {
            std::ptr::copy_nonoverlapping(self.data().add(at), dst.as_mut_ptr(), first);
            std::ptr::copy_nonoverlapping(
                self.data(),
                dst.as_mut_ptr().add(first),
                dst.len() - first,
            );
        }
    }
}

/// The sleep/wake handshake of the two sides, written once for std atomics
/// (the ring) and once for `loom`'s (the model test below checks this
/// exact code under every interleaving the memory model allows).
///
/// Each side publishes its position and then looks at the other side's
/// "waiting" flag; a side about to sleep raises its flag and then looks
/// at the other's position once more. That is the store-buffering
/// (Dekker) pattern: with only release/acquire, both sides can miss each
/// other (each load reads the value from before the other's store), the
/// writer does not signal and the reader sleeps on a record in flight. A
/// `SeqCst` fence between each store and the following load rules that
/// out: at least one side sees the other's store.
macro_rules! handshake {
    ($u32:ty, $u64:ty, $fence:path) => {
        /// Publishes this side's new position; true if the other side
        /// said it sleeps (it must be woken).
        pub(super) fn publish(pos: &$u64, new: u64, other_waiting: &$u32) -> bool {
            pos.store(new, std::sync::atomic::Ordering::Release);
            $fence(std::sync::atomic::Ordering::SeqCst);
            other_waiting.load(std::sync::atomic::Ordering::Relaxed) != 0
        }

        /// Raises this side's waiting flag, then checks `ready` once more:
        /// true means sleep (the other side will see the flag and wake
        /// us); false means go on (the flag is lowered again).
        pub(super) fn may_sleep(waiting: &$u32, ready: impl Fn() -> bool) -> bool {
            waiting.store(1, std::sync::atomic::Ordering::Relaxed);
            $fence(std::sync::atomic::Ordering::SeqCst);
            if ready() {
                waiting.store(0, std::sync::atomic::Ordering::Relaxed);
                return false;
            }
            true
        }
    };
}

mod handshake {
    handshake!(
        std::sync::atomic::AtomicU32,
        std::sync::atomic::AtomicU64,
        std::sync::atomic::fence
    );
}

/// How many times a side looks again before it sleeps: bounded (a few
/// microseconds), so an idle side does not burn a core.
const SPINS: u32 = 256;

/// Checks `cond` up to [`SPINS`] times with a spin hint in between.
fn spin_until(cond: impl Fn() -> bool) -> bool {
    for _ in 0..SPINS {
        if cond() {
            return true;
        }
        std::hint::spin_loop();
    }
    false
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

/// The writing end of a ring.
#[derive(Debug)]
pub struct RingWriter {
    ring: Arc<Ring>,
    data_ready: Event,
    space_ready: Event,
    _mem: OwnedFd,
}

/// The reading end of a ring.
#[derive(Debug)]
pub struct RingReader {
    ring: Arc<Ring>,
    data_ready: Event,
    space_ready: Event,
    _mem: OwnedFd,
}

impl RingWriter {
    /// Ring capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.ring.capacity
    }

    /// Writes one record, waiting (asleep) for room.
    pub async fn send(&mut self, rec: &[u8]) -> Result<(), RingError> {
        let r = &self.ring;
        let need = 4 + rec.len();
        if need > r.capacity {
            return Err(RingError::TooLarge {
                len: rec.len(),
                capacity: r.capacity,
            });
        }
        let w = r.write_pos().load(Ordering::Relaxed);
        loop {
            if r.closed().load(Ordering::Acquire) != 0 {
                return Err(RingError::Closed);
            }
            let rd = r.read_pos().load(Ordering::Acquire);
            if r.capacity - (w - rd) as usize >= need {
                break;
            }
            if spin_until(|| {
                r.capacity - (w - r.read_pos().load(Ordering::Acquire)) as usize >= need
            }) {
                continue;
            }
            let room = || {
                r.capacity - (w - r.read_pos().load(Ordering::Acquire)) as usize >= need
                    || r.closed().load(Ordering::Acquire) != 0
            };
            if !handshake::may_sleep(r.writer_waiting(), room) {
                continue;
            }
            self.space_ready.wait().await?;
            r.writer_waiting().store(0, Ordering::Relaxed);
        }
        r.copy_in(w, &(rec.len() as u32).to_le_bytes());
        r.copy_in(w + 4, rec);
        if handshake::publish(r.write_pos(), w + need as u64, r.reader_waiting()) {
            self.data_ready.signal();
        }
        Ok(())
    }
}

impl RingReader {
    /// Reads one record into `buf` (replacing its contents), waiting asleep
    /// for data; `Ok(false)` once the writer closed and all was read.
    pub async fn recv(&mut self, buf: &mut Vec<u8>) -> Result<bool, RingError> {
        let r = &self.ring;
        let rd = r.read_pos().load(Ordering::Relaxed);
        loop {
            let w = r.write_pos().load(Ordering::Acquire);
            if w > rd {
                break;
            }
            if r.closed().load(Ordering::Acquire) != 0 {
                return Ok(false);
            }
            // A writer mid-burst usually publishes within a microsecond:
            // look a few times before paying for a sleep and a wake-up.
            if spin_until(|| r.write_pos().load(Ordering::Acquire) > rd) {
                continue;
            }
            let data = || {
                r.write_pos().load(Ordering::Acquire) > rd
                    || r.closed().load(Ordering::Acquire) != 0
            };
            if !handshake::may_sleep(r.reader_waiting(), data) {
                continue;
            }
            self.data_ready.wait().await?;
            r.reader_waiting().store(0, Ordering::Relaxed);
        }
        let mut len = [0u8; 4];
        r.copy_out(rd, &mut len);
        let len = u32::from_le_bytes(len) as usize;
        if len + 4 > r.capacity {
            return Err(RingError::Invalid(format!("corrupt record length {len}")));
        }
        buf.resize(len, 0);
        r.copy_out(rd + 4, buf);
        if handshake::publish(r.read_pos(), rd + 4 + len as u64, r.writer_waiting()) {
            self.space_ready.signal();
        }
        Ok(true)
    }
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

/// A one-shot Unix socket through which a ring's descriptors are handed
/// to the other side. Bound at once (so the peer may connect as soon as it
/// knows the path); the socket file is removed when the offer is done or
/// dropped.
#[derive(Debug)]
pub struct FdOffer {
    listener: tokio::net::UnixListener,
    path: std::path::PathBuf,
}

impl FdOffer {
    /// Binds the offer socket at `path`.
    pub fn bind(path: &Path) -> Result<FdOffer, RingError> {
        Ok(FdOffer {
            listener: tokio::net::UnixListener::bind(path)?,
            path: path.to_path_buf(),
        })
    }

    /// Waits for the peer to connect and sends it the descriptors.
    pub async fn hand_over(self, fds: RingFds) -> Result<(), RingError> {
        let (stream, _) = self.listener.accept().await?;
        // Connected: the name has served its purpose.
        let _ = std::fs::remove_file(&self.path);
        let std = stream.into_std()?;
        std.set_nonblocking(false)?;
        tokio::task::spawn_blocking(move || send_fds(std.as_raw_fd(), &fds).map(|()| drop(std)))
            .await
            .map_err(|e| RingError::Invalid(e.to_string()))??;
        Ok(())
    }
}

impl Drop for FdOffer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Connects to an offer at `path` and receives the descriptors.
pub async fn accept_fds(path: &Path) -> Result<RingFds, RingError> {
    let stream = tokio::net::UnixStream::connect(path).await?;
    let std = stream.into_std()?;
    std.set_nonblocking(false)?;
    tokio::task::spawn_blocking(move || recv_fds(std.as_raw_fd()).inspect(|_| drop(std)))
        .await
        .map_err(|e| RingError::Invalid(e.to_string()))?
}

fn send_fds(sock: RawFd, fds: &RingFds) -> Result<(), RingError> {
    use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
    let raw = [
        fds.mem.as_raw_fd(),
        fds.data_ready.as_raw_fd(),
        fds.space_ready.as_raw_fd(),
    ];
    let cmsg = [ControlMessage::ScmRights(&raw)];
    let iov = [std::io::IoSlice::new(b"R")];
    sendmsg::<()>(sock, &iov, &cmsg, MsgFlags::empty(), None).map_err(io::Error::from)?;
    Ok(())
}

fn recv_fds(sock: RawFd) -> Result<RingFds, RingError> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 3]);
    let msg = recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(io::Error::from)?;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let [m, d, s] = fds.as_slice()
        {
            // SAFETY: the kernel just installed these descriptors for us.
            return Ok(unsafe {
                RingFds {
                    mem: OwnedFd::from_raw_fd(*m),
                    data_ready: OwnedFd::from_raw_fd(*d),
                    space_ready: OwnedFd::from_raw_fd(*s),
                }
            });
        }
    }
    Err(RingError::Invalid("no descriptors arrived".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_wrap_around_in_order() {
        let (mut w, fds) = RingFds::create(256).unwrap();
        let mut r = fds.into_reader().unwrap();
        let writer = async move {
            for i in 0..1000u32 {
                let rec = vec![(i % 251) as u8; (i % 50) as usize];
                w.send(&rec).await.unwrap();
            }
        };
        let reader = async move {
            let mut buf = Vec::new();
            for i in 0..1000u32 {
                assert!(r.recv(&mut buf).await.unwrap());
                assert_eq!(buf, vec![(i % 251) as u8; (i % 50) as usize]);
            }
            assert!(
                !r.recv(&mut buf).await.unwrap(),
                "closed after the writer dropped"
            );
        };
        tokio::join!(writer, reader);
    }

    #[tokio::test]
    async fn a_record_larger_than_the_ring_is_refused() {
        let (mut w, _fds) = RingFds::create(64).unwrap();
        let e = w.send(&[0u8; 100]).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "record of 100 bytes cannot fit a ring of 64 bytes"
        );
    }

    #[tokio::test]
    async fn descriptors_cross_a_unix_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offer.sock");
        let (mut w, fds) = RingFds::create(1024).unwrap();
        let offer = FdOffer::bind(&path).unwrap();
        let (handed, got) = tokio::join!(offer.hand_over(fds), accept_fds(&path));
        handed.unwrap();
        let got = got.unwrap();
        assert!(!path.exists(), "the offer socket is removed");
        let mut r = got.into_reader().unwrap();
        w.send(b"hello").await.unwrap();
        let mut buf = Vec::new();
        assert!(r.recv(&mut buf).await.unwrap());
        assert_eq!(buf, b"hello");
    }

    #[tokio::test]
    async fn the_memory_is_sealed_against_resizing() {
        let (_w, fds) = RingFds::create(4096).unwrap();
        // SAFETY: ftruncate on a descriptor we own.
        let r = unsafe { libc::ftruncate(fds.mem.as_raw_fd(), 0) };
        assert_eq!(r, -1, "a peer cannot shrink the ring under our mapping");
        assert_eq!(io::Error::last_os_error().raw_os_error(), Some(libc::EPERM));
        // Unsealed memory offered as a ring is refused.
        // SAFETY: memfd_create with a valid C string.
        let raw = unsafe { libc::memfd_create(c"plain".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(raw >= 0);
        // SAFETY: fresh descriptor we own.
        let mem = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: resizing our own memfd.
        assert_eq!(unsafe { libc::ftruncate(mem.as_raw_fd(), 8192) }, 0);
        let bad = RingFds {
            mem,
            data_ready: Event::create_fd().unwrap(),
            space_ready: Event::create_fd().unwrap(),
        };
        let e = bad.map().unwrap_err();
        assert!(e.to_string().contains("not sealed"), "{e}");
    }

    mod loom_handshake {
        handshake!(
            loom::sync::atomic::AtomicU32,
            loom::sync::atomic::AtomicU64,
            loom::sync::atomic::fence
        );
    }

    /// Every interleaving of one side publishing a position while the
    /// other decides to sleep: the sleeper is always woken (or does not
    /// sleep). Without the fences this fails (the lost wake-up).
    #[test]
    fn a_side_about_to_sleep_is_never_missed_loom() {
        use loom::sync::Arc;
        use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
        loom::model(|| {
            let pos = Arc::new(AtomicU64::new(0));
            let waiting = Arc::new(AtomicU32::new(0));
            let woken = Arc::new(AtomicBool::new(false));
            let publisher = {
                let (pos, waiting, woken) = (pos.clone(), waiting.clone(), woken.clone());
                loom::thread::spawn(move || {
                    if loom_handshake::publish(&pos, 1, &waiting) {
                        woken.store(true, Ordering::Relaxed);
                    }
                })
            };
            let slept = loom_handshake::may_sleep(&waiting, || pos.load(Ordering::Acquire) > 0);
            publisher.join().unwrap();
            assert!(
                !slept || woken.load(Ordering::Relaxed),
                "slept on a published position and nobody woke it"
            );
        });
    }
}
