//! Errors of the MRT reader and writer.
//!
//! Every error says where in the (decompressed) stream it happened, as an
//! absolute byte offset, and carries the offending value. A record-level
//! error never ends the stream: the reader frames records by their length
//! field (RFC 6396 section 2), so it reports the bad record and goes on with
//! the next one. Only I/O errors and a truncated final record end it.

use crate::error::{DecodeError, EncodeError};

/// An MRT record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum MrtError {
    /// Reading, decompressing or writing failed.
    #[error("MRT I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The stream ended, or a record's body ended, before a field was complete.
    #[error("MRT {field} at offset {offset} needs {needed} bytes, {available} left")]
    Truncated {
        /// Absolute offset of the field in the stream.
        offset: u64,
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// The Length field of a record exceeds the reader's limit
    /// ([`crate::mrt::MAX_RECORD_LEN`] by default). The record is skipped.
    #[error("MRT record at offset {offset} is {length} bytes long, over the limit of {max}")]
    RecordTooLong {
        /// Offset of the record.
        offset: u64,
        /// The Length field.
        length: u32,
        /// The limit.
        max: u32,
    },
    /// A field has a value that the record format does not allow.
    #[error("MRT {field} at offset {offset} has the invalid value {value}")]
    BadField {
        /// Absolute offset of the field in the stream (0 when writing).
        offset: u64,
        /// The field.
        field: &'static str,
        /// The value as found (or as given to the writer).
        value: u64,
    },
    /// A BGP message or attribute block inside a record could not be decoded.
    /// Offsets inside the [`DecodeError`] count from the start of that
    /// message or block.
    #[error("BGP data in an MRT record: {0}")]
    Bgp(#[from] DecodeError),
    /// A record could not be encoded.
    #[error("MRT record cannot be encoded: {0}")]
    Encode(#[from] EncodeError),
}

impl MrtError {
    /// Is this an I/O error (the stream cannot go on) rather than a bad record?
    pub fn is_io(&self) -> bool {
        matches!(self, MrtError::Io(_))
    }
}
