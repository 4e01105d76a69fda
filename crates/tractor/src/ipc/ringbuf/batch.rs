//! A batch of received records: the bytes of every record the reader
//! found, copied out of the ring in one go into a buffer that is reused
//! from batch to batch (no allocation once it has grown), and walked by an
//! iterator that hands out each record as a slice.

use super::writer::PREFIX;

/// How many bytes a batch takes out of the ring at most, by default: big
/// enough that a publish and a wake-up are amortised over ~1000 small
/// records, small enough to stay in the L2 cache.
pub const DEFAULT_BATCH_BYTES: usize = 64 * 1024;

/// Records received together (see [`RingReader::recv_many`]); reuse one
/// across calls.
///
/// [`RingReader::recv_many`]: super::RingReader::recv_many
#[derive(Debug)]
pub struct RecvBatch {
    /// Length-prefixed records; only `..end` is this batch's. Never
    /// shrinks, so refilling it does not zero memory again.
    pub(super) buf: Vec<u8>,
    /// Bytes of this batch in `buf`.
    pub(super) end: usize,
    /// Records in this batch.
    pub(super) count: usize,
    /// Most bytes to take at once (a larger record is taken alone).
    pub(super) limit: usize,
}

impl Default for RecvBatch {
    fn default() -> Self {
        RecvBatch::with_limit(DEFAULT_BATCH_BYTES)
    }
}

impl RecvBatch {
    /// An empty batch taking up to [`DEFAULT_BATCH_BYTES`] at a time.
    pub fn new() -> RecvBatch {
        RecvBatch::default()
    }

    /// An empty batch taking up to `bytes` (framing included) at a time;
    /// a single record larger than that still arrives, alone.
    pub fn with_limit(bytes: usize) -> RecvBatch {
        RecvBatch {
            buf: Vec::new(),
            end: 0,
            count: 0,
            limit: bytes.max(PREFIX),
        }
    }

    /// How many records this batch holds.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when it holds no record.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The records, in the order they were written.
    pub fn iter(&self) -> RecvIter<'_> {
        RecvIter {
            rest: &self.buf[..self.end],
            left: self.count,
        }
    }

    /// Makes room for `n` bytes and empties the batch.
    pub(super) fn reset(&mut self, n: usize) -> &mut [u8] {
        self.end = 0;
        self.count = 0;
        if self.buf.len() < n {
            self.buf.resize(n, 0);
        }
        &mut self.buf[..n]
    }
}

impl<'a> IntoIterator for &'a RecvBatch {
    type Item = &'a [u8];
    type IntoIter = RecvIter<'a>;
    fn into_iter(self) -> RecvIter<'a> {
        self.iter()
    }
}

/// The records of a [`RecvBatch`], each a slice of its buffer.
#[derive(Debug, Clone)]
pub struct RecvIter<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> Iterator for RecvIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // The reader checked every prefix against the bytes it copied, so
        // these splits stay in bounds.
        let (len, rest) = self.rest.split_first_chunk::<PREFIX>()?;
        let (rec, rest) = rest.split_at(u32::from_le_bytes(*len) as usize);
        self.rest = rest;
        self.left -= 1;
        Some(rec)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for RecvIter<'_> {}
