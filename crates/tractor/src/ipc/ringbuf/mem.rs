//! The raw pieces both ends share: the mapped memory (header counters and
//! the data area, with wrapping copies in and out) and the eventfd
//! wake-ups. Kept apart from the protocol (`writer.rs`, `reader.rs`) so
//! that the pointer arithmetic and its `unsafe` live in one small place.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64};

use tokio::io::unix::AsyncFd;

/// Bytes reserved before the data area for the shared header.
pub(super) const HEADER: usize = 4096;
// Header layout: each counter on its own cache line.
const OFF_WRITE: usize = 0;
const OFF_READ: usize = 64;
const OFF_READER_WAITING: usize = 128;
const OFF_WRITER_WAITING: usize = 192;
const OFF_CLOSED: usize = 256;
pub(super) const OFF_CAPACITY: usize = 320;

/// The mapped memory, unmapped on drop.
#[derive(Debug)]
pub(super) struct Mapping {
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
    pub(super) fn map(fd: &OwnedFd, len: usize) -> io::Result<Mapping> {
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

    pub(super) fn u64_at(&self, off: usize) -> &AtomicU64 {
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
pub(super) struct Event(AsyncFd<OwnedFd>);

impl Event {
    pub(super) fn create_fd() -> io::Result<OwnedFd> {
        // SAFETY: eventfd returns a new descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor we own.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    pub(super) fn wrap(fd: OwnedFd) -> io::Result<Event> {
        // SAFETY: the AsyncFd owns the OwnedFd, which stays open and the
        // same descriptor until the AsyncFd is dropped.
        let afd = unsafe { AsyncFd::register(fd) }.map_err(|e| e.into_parts().1)?;
        Ok(Event(afd))
    }

    pub(super) fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writing 8 bytes from a valid u64 to an eventfd.
        unsafe {
            libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8);
        }
    }

    /// Takes the pending count without waiting (0 if none): how many
    /// signals arrived since the last wait. For tests.
    #[cfg(test)]
    pub(super) fn take_count(&self) -> u64 {
        let mut buf: u64 = 0;
        // SAFETY: reading 8 bytes into a valid u64 from a non-blocking eventfd.
        let n = unsafe { libc::read(self.0.as_raw_fd(), (&mut buf as *mut u64).cast(), 8) };
        if n == 8 { buf } else { 0 }
    }

    pub(super) async fn wait(&self) -> io::Result<()> {
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

/// One side's view of the ring (each process maps it separately).
#[derive(Debug)]
pub(super) struct Ring {
    pub(super) map: Mapping,
    pub(super) capacity: usize,
}

impl Ring {
    fn data(&self) -> *mut u8 {
        // SAFETY: HEADER < map.len by construction.
        unsafe { self.map.ptr.add(HEADER) }
    }
    pub(super) fn write_pos(&self) -> &AtomicU64 {
        self.map.u64_at(OFF_WRITE)
    }
    pub(super) fn read_pos(&self) -> &AtomicU64 {
        self.map.u64_at(OFF_READ)
    }
    pub(super) fn reader_waiting(&self) -> &AtomicU32 {
        self.map.u32_at(OFF_READER_WAITING)
    }
    pub(super) fn writer_waiting(&self) -> &AtomicU32 {
        self.map.u32_at(OFF_WRITER_WAITING)
    }
    pub(super) fn closed(&self) -> &AtomicU32 {
        self.map.u32_at(OFF_CLOSED)
    }

    /// Where logical position `pos` lies in the data area.
    pub(super) fn offset(&self, pos: u64) -> usize {
        (pos % self.capacity as u64) as usize
    }

    /// Copies `src` into the data area at offset `at` (< capacity),
    /// wrapping; returns the offset just past it. `src` is at most the
    /// capacity long.
    pub(super) fn put(&self, at: usize, src: &[u8]) -> usize {
        debug_assert!(at < self.capacity && src.len() <= self.capacity);
        let first = src.len().min(self.capacity - at);
        // SAFETY: [at, at + first) and [0, len - first) lie in the data
        // area; the SPSC protocol gives the writer exclusive use of
        // [write_pos, read_pos + capacity), which the caller stays inside.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.data().add(at), first);
            if first < src.len() {
                std::ptr::copy_nonoverlapping(
                    src.as_ptr().add(first),
                    self.data(),
                    src.len() - first,
                );
            }
        }
        wrap(at + src.len(), self.capacity)
    }

    /// Copies out of the data area at offset `at` (< capacity) into `dst`,
    /// wrapping; returns the offset just past it.
    pub(super) fn get(&self, at: usize, dst: &mut [u8]) -> usize {
        debug_assert!(at < self.capacity && dst.len() <= self.capacity);
        let first = dst.len().min(self.capacity - at);
        // SAFETY: both ranges lie in the data area; the reader owns
        // [read_pos, write_pos) until it advances read_pos, and the caller
        // stays inside it.
        unsafe {
            std::ptr::copy_nonoverlapping(self.data().add(at), dst.as_mut_ptr(), first);
            if first < dst.len() {
                std::ptr::copy_nonoverlapping(
                    self.data(),
                    dst.as_mut_ptr().add(first),
                    dst.len() - first,
                );
            }
        }
        wrap(at + dst.len(), self.capacity)
    }
}

/// `end` brought back into `[0, capacity)` (it is at most two rings long).
fn wrap(end: usize, capacity: usize) -> usize {
    if end >= capacity { end - capacity } else { end }
}
