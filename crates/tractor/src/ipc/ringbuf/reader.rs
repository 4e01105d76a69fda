//! The reading side: everything the writer published, up to a batch's
//! limit, copied out in one go (one index publish, at most one wake-up);
//! or one record at a time. While there is data nothing here makes a
//! system call or takes a lock; only a reader facing an empty ring waits
//! (spinning briefly, then asleep on its eventfd).

use std::sync::atomic::Ordering;

use super::batch::RecvBatch;
use super::handshake::{self, spin_until};
use super::writer::PREFIX;
use super::{RingError, RingReader};

impl RingReader {
    /// True once the writer closed the ring (it may still hold records).
    pub fn is_closed(&self) -> bool {
        self.ring.closed().load(Ordering::Acquire) != 0
    }

    /// Bytes published and not yet read, checked against the capacity.
    fn available(&self, rd: u64) -> Result<usize, RingError> {
        let r = &*self.ring;
        let w = r.write_pos().load(Ordering::Acquire);
        match w.checked_sub(rd) {
            Some(n) if n as usize <= r.capacity => Ok(n as usize),
            _ => Err(RingError::Invalid(format!(
                "write index {w} is not within one ring ({} bytes) after read index {rd}",
                r.capacity
            ))),
        }
    }

    /// The length in a record's prefix, checked against the ring.
    fn record_len(&self, prefix: [u8; PREFIX], avail: usize) -> Result<usize, RingError> {
        let len = u32::from_le_bytes(prefix) as usize;
        if PREFIX + len > avail {
            return Err(RingError::Invalid(format!(
                "corrupt record length {len}: only {} bytes were published after its prefix",
                avail.saturating_sub(PREFIX)
            )));
        }
        Ok(len)
    }

    /// Takes every record published so far (up to the batch's byte limit;
    /// one record larger than the limit is taken alone) into `batch`,
    /// replacing what it held, and frees their room with one index store.
    /// Never waits. Returns how many records it took: 0 when the ring is
    /// empty.
    pub fn try_recv_many(&mut self, batch: &mut RecvBatch) -> Result<usize, RingError> {
        let r = &*self.ring;
        let rd = r.read_pos().load(Ordering::Relaxed);
        let avail = self.available(rd)?;
        if avail == 0 {
            batch.reset(0);
            return Ok(0);
        }
        let at = r.offset(rd);
        let take = avail.min(batch.limit);
        let mut cut = take < avail;
        r.get(at, batch.reset(take));
        let (mut end, mut count) = (0, 0);
        while let Some(prefix) = batch.buf[end..take].first_chunk::<PREFIX>() {
            let len = self.record_len(*prefix, avail - end)?;
            if end + PREFIX + len > take {
                break;
            }
            end += PREFIX + len;
            count += 1;
        }
        if count == 0 {
            // The first record alone is larger than the batch's limit.
            let mut prefix = [0u8; PREFIX];
            r.get(at, &mut prefix);
            end = PREFIX + self.record_len(prefix, avail)?;
            r.get(at, batch.reset(end));
            count = 1;
            cut = true;
        }
        if !cut && end != take {
            return Err(RingError::Invalid(format!(
                "corrupt ring: a record runs past the published end ({} of {avail} bytes are whole records)",
                end
            )));
        }
        batch.end = end;
        batch.count = count;
        if handshake::publish(r.read_pos(), rd + end as u64, r.writer_waiting()) {
            self.space_ready.signal();
        }
        Ok(count)
    }

    /// Takes the next record into `buf` (replacing its contents) and frees
    /// its room. Never waits; false when the ring is empty.
    pub fn try_recv(&mut self, buf: &mut Vec<u8>) -> Result<bool, RingError> {
        let r = &*self.ring;
        let rd = r.read_pos().load(Ordering::Relaxed);
        let avail = self.available(rd)?;
        if avail == 0 {
            return Ok(false);
        }
        let mut prefix = [0u8; PREFIX];
        let at = r.get(r.offset(rd), &mut prefix);
        let len = self.record_len(prefix, avail)?;
        buf.resize(len, 0);
        r.get(at, buf);
        if handshake::publish(r.read_pos(), rd + (PREFIX + len) as u64, r.writer_waiting()) {
            self.space_ready.signal();
        }
        Ok(true)
    }

    /// Waits until there is data or the writer closed: a few looks, then
    /// asleep until the writer publishes. Cancel-safe (a dropped wait
    /// leaves at most one spurious wake-up behind).
    pub async fn wait_data(&mut self) -> Result<(), RingError> {
        let r = &*self.ring;
        let rd = r.read_pos().load(Ordering::Relaxed);
        let data = || r.write_pos().load(Ordering::Acquire) != rd;
        let closed = || r.closed().load(Ordering::Acquire) != 0;
        loop {
            // A writer mid-burst usually publishes within a microsecond:
            // look a few times before paying for a sleep and a wake-up.
            if data() || closed() || spin_until(data) {
                return Ok(());
            }
            if !handshake::may_sleep(r.reader_waiting(), || data() || closed()) {
                continue;
            }
            self.data_ready.wait().await?;
            r.reader_waiting().store(0, Ordering::Relaxed);
        }
    }

    /// Waits for records and takes them into `batch` (see
    /// [`RingReader::try_recv_many`]); false once the writer closed and
    /// everything was read.
    pub async fn recv_many(&mut self, batch: &mut RecvBatch) -> Result<bool, RingError> {
        loop {
            if self.try_recv_many(batch)? > 0 {
                return Ok(true);
            }
            if self.is_closed() {
                // Everything published before the close is visible now.
                return Ok(self.try_recv_many(batch)? > 0);
            }
            self.wait_data().await?;
        }
    }

    /// Reads one record into `buf` (replacing its contents), waiting asleep
    /// for data; `Ok(false)` once the writer closed and all was read.
    pub async fn recv(&mut self, buf: &mut Vec<u8>) -> Result<bool, RingError> {
        loop {
            if self.try_recv(buf)? {
                return Ok(true);
            }
            if self.is_closed() {
                return self.try_recv(buf);
            }
            self.wait_data().await?;
        }
    }
}
