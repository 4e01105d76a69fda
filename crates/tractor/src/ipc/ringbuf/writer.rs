//! The writing side: a batch of records in, one index publish and at most
//! one wake-up out. While there is room nothing here makes a system call
//! or takes a lock; only a writer facing a full ring waits (spinning
//! briefly, then asleep on its eventfd until the reader frees room).

use std::sync::atomic::Ordering;

use super::handshake::{self, spin_until};
use super::{RingError, RingWriter};

/// Bytes of a record's length prefix.
pub(super) const PREFIX: usize = 4;

impl RingWriter {
    /// Ring capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.ring.capacity
    }

    /// Refuses a batch holding a record the ring could never hold, before
    /// anything of it is written.
    pub fn check_fits<R: AsRef<[u8]>>(&self, recs: &[R]) -> Result<(), RingError> {
        let capacity = self.ring.capacity;
        match recs.iter().find(|r| PREFIX + r.as_ref().len() > capacity) {
            Some(r) => Err(RingError::TooLarge {
                len: r.as_ref().len(),
                capacity,
            }),
            None => Ok(()),
        }
    }

    /// Writes as many of `recs` as there is room for, from the first, and
    /// publishes them with one index store; wakes the reader (one eventfd
    /// write) only if it said it sleeps. Never waits. Returns how many
    /// were written: 0 when the ring is full.
    pub fn try_send_many<R: AsRef<[u8]>>(&mut self, recs: &[R]) -> Result<usize, RingError> {
        let r = &*self.ring;
        if r.closed().load(Ordering::Acquire) != 0 {
            return Err(RingError::Closed);
        }
        let start = r.write_pos().load(Ordering::Relaxed);
        let mut free = r.capacity - (start - r.read_pos().load(Ordering::Acquire)) as usize;
        let (mut pos, mut at, mut n) = (start, r.offset(start), 0);
        for rec in recs {
            let rec = rec.as_ref();
            let need = PREFIX + rec.len();
            if need > free {
                if need > r.capacity {
                    if n == 0 {
                        return Err(RingError::TooLarge {
                            len: rec.len(),
                            capacity: r.capacity,
                        });
                    }
                    break;
                }
                // The reader may have moved on since we looked.
                free = r.capacity - (pos - r.read_pos().load(Ordering::Acquire)) as usize;
                if need > free {
                    break;
                }
            }
            at = r.put(at, &(rec.len() as u32).to_le_bytes());
            at = r.put(at, rec);
            pos += need as u64;
            free -= need;
            n += 1;
        }
        if n > 0 && handshake::publish(r.write_pos(), pos, r.reader_waiting()) {
            self.data_ready.signal();
        }
        Ok(n)
    }

    /// Waits until `need` bytes are free: a few looks, then asleep until
    /// the reader frees room. Fails with [`RingError::Closed`] once the
    /// reader closed. Cancel-safe (a dropped wait leaves at most one
    /// spurious wake-up behind).
    pub async fn wait_room(&mut self, need: usize) -> Result<(), RingError> {
        let r = &*self.ring;
        let w = r.write_pos().load(Ordering::Relaxed);
        let room = || r.capacity - (w - r.read_pos().load(Ordering::Acquire)) as usize >= need;
        let closed = || r.closed().load(Ordering::Acquire) != 0;
        loop {
            if closed() {
                return Err(RingError::Closed);
            }
            if room() || spin_until(room) {
                return Ok(());
            }
            if !handshake::may_sleep(r.writer_waiting(), || room() || closed()) {
                continue;
            }
            self.space_ready.wait().await?;
            r.writer_waiting().store(0, Ordering::Relaxed);
        }
    }

    /// Writes every record of `recs` in order, publishing as many as fit
    /// at a time and waiting for room in between. A batch holding a record
    /// larger than the ring is refused whole.
    pub async fn send_many<R: AsRef<[u8]>>(&mut self, recs: &[R]) -> Result<(), RingError> {
        self.check_fits(recs)?;
        let mut sent = 0;
        loop {
            sent += self.try_send_many(&recs[sent..])?;
            let Some(next) = recs.get(sent) else {
                return Ok(());
            };
            self.wait_room(PREFIX + next.as_ref().len()).await?;
        }
    }

    /// Writes one record, waiting (asleep) for room.
    pub async fn send(&mut self, rec: &[u8]) -> Result<(), RingError> {
        self.send_many(&[rec]).await
    }
}
