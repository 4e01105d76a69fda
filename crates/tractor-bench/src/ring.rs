//! The shared-memory floor: a raw single-producer single-consumer ring of
//! 64-byte records between two processes, with nothing but two atomic
//! indices in the path. It is what `stream_throughput_64b_shm` is held
//! against: the same record size, the same ring size, the same two
//! processes, none of our runtime.
//!
//! Waiting is a bounded spin, then `sched_yield` (the two ends may share
//! one CPU, where spinning would only burn the other end's time slice).

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One record.
pub const RECORD: usize = 64;
/// Records in the ring: 1 MiB of slots, as the runtime's figure uses.
const SLOTS: u64 = (1 << 20) / RECORD as u64;
/// Header: head, tail, done, the producer's CPU time and the consumer's
/// go, a cache line each.
const HEADER: usize = 5 * 64;
const LEN: usize = HEADER + SLOTS as usize * RECORD;

/// A mapping of the ring file, shared by both processes.
pub struct Ring {
    base: *mut u8,
    _file: File,
}

impl Ring {
    /// Creates (`create`) or opens the ring file at `path` and maps it.
    pub fn map(path: &Path, create: bool) -> std::io::Result<Ring> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(create)
            .open(path)?;
        if create {
            file.set_len(LEN as u64)?;
        }
        use std::os::fd::AsRawFd;
        // SAFETY: a fresh shared mapping of a file we hold open, of the
        // file's length; the kernel picks the address.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Ring {
            base: base.cast(),
            _file: file,
        })
    }

    fn word(&self, i: usize) -> &AtomicU64 {
        // SAFETY: the mapping is page-aligned and at least HEADER long, so
        // `base + 64 * i` is an aligned u64 inside it that lives as
        // long as `self` (i < 5); the other process only touches it
        // atomically.
        unsafe { &*(self.base.add(64 * i) as *const AtomicU64) }
    }

    fn slot(&self, index: u64) -> *mut u8 {
        // SAFETY: `index % SLOTS` keeps the offset inside the mapping.
        unsafe { self.base.add(HEADER + (index % SLOTS) as usize * RECORD) }
    }

    /// Waits for the consumer's go, writes `n` records (the producer's
    /// side), then publishes its CPU time spent doing so and marks the
    /// ring done.
    pub fn produce(&self, n: u64) {
        let mut idle = 0;
        while self.word(4).load(Ordering::Acquire) == 0 {
            wait(&mut idle);
        }
        let cpu0 = crate::affinity::cpu_self();
        let (head, tail) = (self.word(0), self.word(1));
        let rec = [7u8; RECORD];
        let mut h = 0u64;
        let mut idle = 0u32;
        while h < n {
            let free = SLOTS - (h - tail.load(Ordering::Acquire));
            if free == 0 {
                wait(&mut idle);
                continue;
            }
            idle = 0;
            let k = free.min(n - h);
            for i in h..h + k {
                // SAFETY: slots h..h+k are free (the consumer's tail is
                // past them), so only this side touches them until `head`
                // is published below.
                unsafe { std::ptr::copy_nonoverlapping(rec.as_ptr(), self.slot(i), RECORD) };
            }
            h += k;
            head.store(h, Ordering::Release);
        }
        let cpu = crate::affinity::cpu_self() - cpu0;
        self.word(3)
            .store(cpu.as_micros() as u64, Ordering::Relaxed);
        self.word(2).store(1, Ordering::Release);
    }

    /// Gives the producer its go, reads `n` records (the consumer's
    /// side), copying each out; returns the producer's CPU time once it is
    /// done.
    pub fn consume(&self, n: u64) -> Duration {
        self.word(4).store(1, Ordering::Release);
        let (head, tail) = (self.word(0), self.word(1));
        let mut out = [0u8; RECORD];
        let mut t = 0u64;
        let mut idle = 0u32;
        while t < n {
            let h = head.load(Ordering::Acquire);
            if h == t {
                wait(&mut idle);
                continue;
            }
            idle = 0;
            for i in t..h {
                // SAFETY: slots t..h were published by the producer's
                // release store of `head`, and it does not reuse them
                // until `tail` moves past them below.
                unsafe { std::ptr::copy_nonoverlapping(self.slot(i), out.as_mut_ptr(), RECORD) };
                std::hint::black_box(&out);
            }
            t = h;
            tail.store(t, Ordering::Release);
        }
        let mut idle = 0;
        while self.word(2).load(Ordering::Acquire) == 0 {
            wait(&mut idle);
        }
        Duration::from_micros(self.word(3).load(Ordering::Relaxed))
    }
}

fn wait(idle: &mut u32) {
    *idle += 1;
    if *idle < 64 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `base` is the start of a LEN-byte mapping made in `map`,
        // and no reference into it outlives `self`.
        unsafe { libc::munmap(self.base.cast(), LEN) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_arrives_through_a_ring_smaller_than_the_stream() {
        let dir = std::env::temp_dir().join(format!("tractor-bench-ring-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ring");
        let consumer = Ring::map(&path, true).unwrap();
        let p = path.clone();
        let n = SLOTS * 3 + 5;
        let producer = std::thread::spawn(move || Ring::map(&p, false).unwrap().produce(n));
        consumer.consume(n);
        producer.join().unwrap();
        assert_eq!(consumer.word(0).load(Ordering::Relaxed), n);
        assert_eq!(consumer.word(1).load(Ordering::Relaxed), n);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
