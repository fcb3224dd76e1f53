//! MRT writer: records to any [`Write`], in the format [`super::MrtReader`]
//! reads back identically.
//!
//! The writer encodes each record into one reused buffer and writes it with
//! a single `write_all`, so a record is either written whole or (on an
//! encoding error) not at all. It does not buffer across records: wrap a
//! file in a [`std::io::BufWriter`] (or a gzip encoder) for many small
//! records.

use bytes::BytesMut;
use std::io::Write;

use super::error::MrtError;
use super::record::{MrtBody, MrtRecord};

/// Writes MRT records (RFC 6396) to `W`.
///
/// Any [`MrtRecord`] can be written; the usual dumps are TABLE_DUMP_V2
/// (one [`super::PeerIndexTable`] record, then [`super::RibRecord`]s whose
/// entries come from [`super::RibEntry::from_attributes`]) and BGP4MP
/// ([`super::Bgp4mpMessage::from_message`], [`super::Bgp4mpStateChange`],
/// with `microseconds` set for BGP4MP_ET).
#[derive(Debug)]
pub struct MrtWriter<W: Write> {
    inner: W,
    buf: BytesMut,
    records: u64,
}

impl<W: Write> MrtWriter<W> {
    /// A writer to `inner`.
    pub fn new(inner: W) -> Self {
        MrtWriter {
            inner,
            buf: BytesMut::with_capacity(4096),
            records: 0,
        }
    }

    /// Encode and write one record.
    pub fn write(&mut self, record: &MrtRecord) -> Result<(), MrtError> {
        self.buf.clear();
        record.encode(&mut self.buf)?;
        self.inner.write_all(&self.buf)?;
        self.records += 1;
        Ok(())
    }

    /// Write a record with `timestamp` and no microseconds.
    pub fn write_body(&mut self, timestamp: u32, body: MrtBody) -> Result<(), MrtError> {
        self.write(&MrtRecord::new(timestamp, body))
    }

    /// Records written so far.
    pub fn records_written(&self) -> u64 {
        self.records
    }

    /// Flush the underlying writer.
    pub fn flush(&mut self) -> Result<(), MrtError> {
        self.inner.flush()?;
        Ok(())
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The underlying writer, mutably (writing to it directly breaks the
    /// record framing).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Flush and return the underlying writer.
    pub fn into_inner(mut self) -> Result<W, MrtError> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}
