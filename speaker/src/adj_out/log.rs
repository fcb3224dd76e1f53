//! The change and tombstone logs of an update group's Adj-RIB-Out table:
//! records `(version, slot)` in version order, kept in fixed-size chunks.
//!
//! A record is 12 bytes (a packed `u64` version and a `u32` slot number),
//! where a `(u64, u32)` tuple is padded to 16. The log grows by chunks of
//! [`LOG_CHUNK`] records that are never reallocated, so growing never
//! copies the log into a buffer twice its size and never holds both (a
//! `VecDeque` does, at every doubling): at most one partly filled chunk is
//! allocated ahead of use, and popping from the front frees each chunk as
//! it empties.
//!
//! # Layout
//! - [`Record`]: one record;
//! - [`Log`]: the chunked deque, with the operations the table
//!   needs: append at the back, pop at the front, and in-place
//!   [`Log::retain`] for compaction, [`Log::drop_upto`] to forget what no
//!   member needs; plus [`Log::after`], the records
//!   newer than a version, found by binary search.
//!
//! ```text
//! let mut log = Log::default();
//! log.push_back(Record::new(1, 7));
//! log.push_back(Record::new(2, 3));
//! assert_eq!(log.after(1).map(|r| r.slot()).collect::<Vec<_>>(), vec![3]);
//! ```

use std::collections::VecDeque;

/// Records per chunk (4,096 records of 12 bytes: 48 KiB).
pub(crate) const LOG_CHUNK: usize = 4096;

/// One change: its version and the slot of its route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, packed(4))]
pub(crate) struct Record {
    version: u64,
    slot: u32,
}

impl Record {
    /// The record of `version`'s change of the route at `slot`.
    pub fn new(version: u64, slot: u32) -> Self {
        Record { version, slot }
    }

    /// The version of the change.
    pub fn version(self) -> u64 {
        self.version
    }

    /// The slot of the route.
    pub fn slot(self) -> u32 {
        self.slot
    }
}

/// A deque of records in chunks; see the module documentation.
///
/// Invariant: every chunk but the last holds [`LOG_CHUNK`] records; the
/// first `head` records of the first chunk are popped.
#[derive(Debug, Default)]
pub(crate) struct Log {
    chunks: VecDeque<Vec<Record>>,
    head: usize,
    len: usize,
}

impl Log {
    /// Records held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The record at logical position `at` (0 is the front).
    fn get(&self, at: usize) -> Record {
        let at = at + self.head;
        self.chunks[at / LOG_CHUNK][at % LOG_CHUNK]
    }

    fn set(&mut self, at: usize, record: Record) {
        let at = at + self.head;
        self.chunks[at / LOG_CHUNK][at % LOG_CHUNK] = record;
    }

    /// Append `record` (its version is above every other record's).
    pub fn push_back(&mut self, record: Record) {
        match self.chunks.back_mut() {
            Some(chunk) if chunk.len() < LOG_CHUNK => chunk.push(record),
            _ => {
                let mut chunk = Vec::with_capacity(LOG_CHUNK);
                chunk.push(record);
                self.chunks.push_back(chunk);
            }
        }
        self.len += 1;
    }

    /// The oldest record.
    pub fn front(&self) -> Option<Record> {
        (self.len > 0).then(|| self.get(0))
    }

    /// Remove the oldest record; frees its chunk once that is empty.
    pub fn pop_front(&mut self) -> Option<Record> {
        let record = self.front()?;
        self.head += 1;
        self.len -= 1;
        if self
            .chunks
            .front()
            .is_some_and(|chunk| self.head == chunk.len())
        {
            self.chunks.pop_front();
            self.head = 0;
        }
        Some(record)
    }

    /// Remove the records of version `upto` or older (all of them for
    /// `u64::MAX`), freeing their chunks.
    pub fn drop_upto(&mut self, upto: u64) {
        if self.len == 0 {
            return;
        }
        if self.get(self.len - 1).version() <= upto {
            self.chunks.clear();
            self.head = 0;
            self.len = 0;
            return;
        }
        while self.front().is_some_and(|r| r.version() <= upto) {
            self.pop_front();
        }
    }

    /// Keep only the records `keep` accepts, in order, without a second
    /// buffer; frees the chunks left empty.
    pub fn retain(&mut self, mut keep: impl FnMut(Record) -> bool) {
        let mut kept = 0;
        for at in 0..self.len {
            let record = self.get(at);
            if keep(record) {
                if kept != at {
                    self.set(kept, record);
                }
                kept += 1;
            }
        }
        self.truncate(kept);
    }

    /// Keep the first `len` records.
    fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        self.len = len;
        if len == 0 {
            self.chunks.clear();
            self.head = 0;
            return;
        }
        let end = self.head + len;
        let chunks = end.div_ceil(LOG_CHUNK);
        self.chunks.truncate(chunks);
        if let Some(last) = self.chunks.back_mut() {
            last.truncate(end - (chunks - 1) * LOG_CHUNK);
        }
    }

    /// The records of versions above `after`, oldest first.
    pub fn after(&self, after: u64) -> impl Iterator<Item = Record> + '_ {
        let (mut low, mut high) = (0, self.len);
        while low < high {
            let mid = low + (high - low) / 2;
            if self.get(mid).version() <= after {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        (low..self.len).map(|at| self.get(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(log: &Log, after: u64) -> Vec<u64> {
        log.after(after).map(Record::version).collect()
    }

    #[test]
    fn a_record_is_twelve_bytes() {
        assert_eq!(std::mem::size_of::<Record>(), 12);
    }

    #[test]
    fn records_across_chunks_keep_their_order() {
        let mut log = Log::default();
        let n = 2 * LOG_CHUNK as u64 + 10;
        for v in 1..=n {
            log.push_back(Record::new(v, v as u32));
        }
        assert_eq!(log.chunks.len(), 3);
        assert!(log.chunks.iter().all(|c| c.capacity() == LOG_CHUNK));
        assert_eq!(versions(&log, n - 3), vec![n - 2, n - 1, n]);
        assert_eq!(log.after(0).count(), n as usize);
        for v in 1..=(LOG_CHUNK as u64 + 1) {
            assert_eq!(log.pop_front().map(Record::version), Some(v));
        }
        assert_eq!(log.chunks.len(), 2, "the emptied chunk is freed");
        assert_eq!(log.front().map(Record::version), Some(LOG_CHUNK as u64 + 2));
        assert_eq!(versions(&log, 0).len(), log.len());
        assert_eq!(versions(&log, n - 1), vec![n]);
    }

    #[test]
    fn retain_compacts_in_place_across_chunks() {
        let mut log = Log::default();
        let n = 3 * LOG_CHUNK as u64;
        for v in 1..=n {
            log.push_back(Record::new(v, 0));
        }
        for _ in 0..5 {
            log.pop_front();
        }
        log.retain(|r| r.version() % 3 == 0);
        let kept = versions(&log, 0);
        assert_eq!(kept.len(), log.len());
        assert_eq!(kept.first(), Some(&6));
        assert_eq!(kept.last(), Some(&n));
        assert!(kept.windows(2).all(|w| w[1] == w[0] + 3));
        assert_eq!(log.chunks.len(), (5 + kept.len()).div_ceil(LOG_CHUNK));
        log.push_back(Record::new(n + 1, 0));
        assert_eq!(versions(&log, n), vec![n + 1]);
        log.retain(|_| false);
        assert_eq!((log.len(), log.chunks.len(), log.front()), (0, 0, None));
        log.push_back(Record::new(n + 2, 1));
        assert_eq!(versions(&log, 0), vec![n + 2]);
    }

    #[test]
    fn popping_everything_from_a_partial_chunk_leaves_a_usable_log() {
        let mut log = Log::default();
        log.push_back(Record::new(1, 1));
        log.push_back(Record::new(2, 2));
        assert_eq!(log.pop_front().map(Record::slot), Some(1));
        assert_eq!(log.pop_front().map(Record::slot), Some(2));
        assert_eq!(log.pop_front(), None);
        log.push_back(Record::new(3, 3));
        assert_eq!(versions(&log, 0), vec![3]);
    }
}
