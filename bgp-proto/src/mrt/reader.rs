//! Streaming MRT reader (RFC 6396 section 2 framing).
//!
//! [`MrtReader`] reads records one at a time from any [`Read`]: the common
//! header says how long the body is, so a record whose body is malformed is
//! reported and the next one is read normally. Memory stays bounded: the
//! reader holds one buffer, grown only as data arrives and never beyond the
//! largest record, and records longer than [`MAX_RECORD_LEN`] are skipped
//! without being buffered. Records share that buffer ([`bytes::Bytes`]
//! slices), so a caller that drops each record before reading the next one
//! makes the reader reuse the same allocation for the whole stream.

use bytes::{Buf, BytesMut};
use flate2::bufread::MultiGzDecoder;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use super::error::MrtError;
use super::header::{HEADER_LEN, MrtHeader};
use super::record::MrtRecord;

/// Records longer than this (16 MiB) are refused by default.
pub const MAX_RECORD_LEN: u32 = 16 * 1024 * 1024;

/// How much the reader asks its source for at a time.
const READ_CHUNK: usize = 64 * 1024;
/// The most the buffer grows by before data actually arrives, so that a
/// Length field that lies about a truncated record costs little memory.
const MAX_GROWTH: usize = 1024 * 1024;

/// A streaming reader of MRT records: an iterator of
/// `Result<MrtRecord, MrtError>`.
///
/// After an error in one record (a bad field, a body too short for its
/// type, a record over the length limit), iteration goes on with the next
/// record. The iterator ends after the last record, after an I/O error,
/// or after a record cut short by the end of the stream.
pub struct MrtReader<R> {
    inner: R,
    /// Bytes read from `inner` and not yet returned.
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    offset: u64,
    /// `inner` returned end of file.
    eof: bool,
    /// Nothing more will be returned.
    done: bool,
    max_record_len: u32,
}

impl<R> fmt::Debug for MrtReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MrtReader")
            .field("offset", &self.offset)
            .field("buffered", &self.buf.len())
            .field("eof", &self.eof)
            .field("max_record_len", &self.max_record_len)
            .finish_non_exhaustive()
    }
}

impl MrtReader<MrtInput<BufReader<File>>> {
    /// Open an MRT file, plain or gzip-compressed (recognised by the gzip
    /// magic number 1f 8b, not by the name; multi-member files are read
    /// whole).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, MrtError> {
        let file = File::open(path)?;
        Ok(MrtReader::new(MrtInput::detect(BufReader::new(file))?))
    }
}

impl<R: Read> MrtReader<R> {
    /// Read records from `inner` (uncompressed; see [`MrtInput::detect`]
    /// for gzip detection). The reader does its own buffering.
    pub fn new(inner: R) -> Self {
        MrtReader {
            inner,
            buf: BytesMut::new(),
            offset: 0,
            eof: false,
            done: false,
            max_record_len: MAX_RECORD_LEN,
        }
    }

    /// Refuse records longer than `max` octets (default [`MAX_RECORD_LEN`]).
    #[must_use]
    pub fn with_max_record_len(mut self, max: u32) -> Self {
        self.max_record_len = max;
        self
    }

    /// Stream offset (in the decompressed data) of the next record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The underlying reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Read until at least `need` bytes are buffered or the source ends.
    fn fill(&mut self, need: usize) -> io::Result<()> {
        while self.buf.len() < need && !self.eof {
            let start = self.buf.len();
            let chunk = (need - start).clamp(READ_CHUNK, MAX_GROWTH);
            self.buf.resize(start + chunk, 0);
            let result = self.inner.read(&mut self.buf[start..]);
            match result {
                Ok(0) => {
                    self.buf.truncate(start);
                    self.eof = true;
                }
                Ok(n) => self.buf.truncate(start + n),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {
                    self.buf.truncate(start);
                }
                Err(error) => {
                    self.buf.truncate(start);
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// Drop the next `count` bytes of the stream without keeping them.
    fn discard(&mut self, mut count: u64) -> io::Result<()> {
        while count > 0 {
            if self.buf.is_empty() {
                self.fill(1)?;
                if self.buf.is_empty() {
                    return Ok(());
                }
            }
            let take = usize::try_from(count)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            let _ = self.buf.split_to(take);
            self.offset += take as u64;
            count -= take as u64;
        }
        Ok(())
    }

    fn io_error(&mut self, error: io::Error) -> Option<Result<MrtRecord, MrtError>> {
        self.done = true;
        Some(Err(MrtError::Io(error)))
    }

    /// The next record, `None` at the end of the stream.
    pub fn next_record(&mut self) -> Option<Result<MrtRecord, MrtError>> {
        if self.done {
            return None;
        }
        let record_offset = self.offset;
        if let Err(error) = self.fill(HEADER_LEN) {
            return self.io_error(error);
        }
        let Some(head) = self.buf.get(..HEADER_LEN) else {
            self.done = true;
            if self.buf.is_empty() {
                return None;
            }
            return Some(Err(MrtError::Truncated {
                offset: record_offset,
                field: "MRT common header",
                needed: HEADER_LEN,
                available: self.buf.len(),
            }));
        };
        let mut bytes = [0u8; HEADER_LEN];
        bytes.copy_from_slice(head);
        let header = MrtHeader::parse(bytes);
        if header.length > self.max_record_len {
            let _ = self.buf.split_to(HEADER_LEN);
            self.offset += HEADER_LEN as u64;
            if let Err(error) = self.discard(u64::from(header.length)) {
                return self.io_error(error);
            }
            return Some(Err(MrtError::RecordTooLong {
                offset: record_offset,
                length: header.length,
                max: self.max_record_len,
            }));
        }
        // Cannot overflow: the length is at most max_record_len (u32).
        let total = HEADER_LEN + header.length as usize;
        if let Err(error) = self.fill(total) {
            return self.io_error(error);
        }
        if self.buf.len() < total {
            self.done = true;
            return Some(Err(MrtError::Truncated {
                offset: record_offset + HEADER_LEN as u64,
                field: "MRT record body",
                needed: header.length as usize,
                available: self.buf.len() - HEADER_LEN,
            }));
        }
        let mut record = self.buf.split_to(total);
        record.advance(HEADER_LEN);
        self.offset += total as u64;
        let body = record.freeze();
        Some(MrtRecord::decode(
            &header,
            body,
            record_offset + HEADER_LEN as u64,
        ))
    }
}

impl<R: Read> Iterator for MrtReader<R> {
    type Item = Result<MrtRecord, MrtError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
    }
}

/// A source that is either plain or gzip-compressed MRT data.
#[derive(Debug)]
pub enum MrtInput<R> {
    /// Uncompressed.
    Plain(R),
    /// gzip, possibly several members (as `cat a.gz b.gz` makes).
    Gzip(MultiGzDecoder<R>),
}

impl<R: BufRead> MrtInput<R> {
    /// Look at the first bytes of `reader`: gzip data starts with 1f 8b
    /// (RFC 1952 section 2.3.1).
    pub fn detect(mut reader: R) -> io::Result<Self> {
        let head = reader.fill_buf()?;
        if head.starts_with(&[0x1f, 0x8b]) {
            Ok(MrtInput::Gzip(MultiGzDecoder::new(reader)))
        } else {
            Ok(MrtInput::Plain(reader))
        }
    }
}

impl<R: BufRead> Read for MrtInput<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MrtInput::Plain(reader) => reader.read(buf),
            MrtInput::Gzip(decoder) => decoder.read(buf),
        }
    }
}
