//! A minimal MRT (RFC 6396) reader that pulls the BGP messages out of
//! BGP4MP records, done once before any timing starts.
//!
//! It is deliberately independent of `bgp_proto::mrt`, so the benchmarks
//! measure only BGP message decoding and keep working while the MRT reader
//! changes.
//!
//! ```text
//! MRT common header: timestamp (4) | type (2) | subtype (2) | length (4)
//!   BGP4MP_ET adds microseconds (4), counted in length.
//! BGP4MP MESSAGE (subtype 1, 6, 8, 10): peer AS (2) | local AS (2) | ...
//! BGP4MP MESSAGE_AS4 (subtype 4, 7, 9, 11): peer AS (4) | local AS (4) | ...
//!   ... | interface index (2) | AFI (2) | peer IP (4 or 16) | local IP (4 or 16)
//!   | BGP message (marker, length, type, body)
//! ```

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use bytes::Bytes;

/// MRT type BGP4MP (RFC 6396 section 4.4).
pub const BGP4MP: u16 = 16;
/// MRT type BGP4MP_ET (RFC 6396 section 4.5): BGP4MP with microseconds.
pub const BGP4MP_ET: u16 = 17;

/// One BGP message taken from a BGP4MP record.
#[derive(Debug, Clone)]
pub struct RawMessage {
    /// The whole BGP message, header included (a slice of the shared buffer).
    pub bytes: Bytes,
    /// The record's subtype says AS numbers are 4 octets (MESSAGE_AS4 and
    /// its LOCAL / ADDPATH variants).
    pub four_octet_as: bool,
    /// The subtype is one of the ADDPATH ones (RFC 8050).
    pub add_path: bool,
    /// The BGP message type octet.
    pub message_type: u8,
}

/// Every BGP message of one MRT file, in file order, sharing one buffer.
#[derive(Debug, Clone, Default)]
pub struct MessageSet {
    /// The messages.
    pub messages: Vec<RawMessage>,
    /// MRT records seen in total.
    pub records: usize,
    /// Records that were not BGP4MP messages (state changes, RIB dumps, ...).
    pub skipped_records: usize,
}

impl MessageSet {
    /// Total bytes of all BGP messages (headers included).
    pub fn total_bytes(&self) -> u64 {
        self.messages.iter().map(|m| m.bytes.len() as u64).sum()
    }

    /// Only the messages of BGP type `message_type` (2 = UPDATE).
    pub fn of_type(&self, message_type: u8) -> MessageSet {
        MessageSet {
            messages: self
                .messages
                .iter()
                .filter(|m| m.message_type == message_type)
                .cloned()
                .collect(),
            records: self.records,
            skipped_records: self.skipped_records,
        }
    }
}

/// A malformed MRT file.
#[derive(Debug)]
pub enum MrtError {
    /// Reading or decompressing failed.
    Io(io::Error),
    /// The framing is inconsistent at this byte offset of the decompressed stream.
    Framing {
        /// Offset of the record.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

impl fmt::Display for MrtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MrtError::Io(error) => write!(f, "reading MRT file: {error}"),
            MrtError::Framing { offset, reason } => {
                write!(f, "bad MRT record at offset {offset}: {reason}")
            }
        }
    }
}

impl std::error::Error for MrtError {}

impl From<io::Error> for MrtError {
    fn from(error: io::Error) -> Self {
        MrtError::Io(error)
    }
}

/// Read a whole MRT file (gzip-compressed if its name ends in `.gz`).
pub fn read_file(path: &Path) -> Result<Vec<u8>, MrtError> {
    let file = std::fs::File::open(path)?;
    let mut data = Vec::new();
    if path.extension().is_some_and(|ext| ext == "gz") {
        flate2::read::MultiGzDecoder::new(io::BufReader::new(file)).read_to_end(&mut data)?;
    } else {
        io::BufReader::new(file).read_to_end(&mut data)?;
    }
    Ok(data)
}

/// Split decompressed MRT data into its BGP messages.
pub fn extract_messages(data: Vec<u8>) -> Result<MessageSet, MrtError> {
    let data = Bytes::from(data);
    let mut set = MessageSet::default();
    let mut pos = 0;
    while pos < data.len() {
        let bad = |reason| MrtError::Framing {
            offset: pos,
            reason,
        };
        let header = data.get(pos..pos + 12).ok_or(bad("truncated header"))?;
        let mrt_type = u16::from_be_bytes([header[4], header[5]]);
        let subtype = u16::from_be_bytes([header[6], header[7]]);
        let length = u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as usize;
        let body_at = pos + 12;
        let body = data
            .get(body_at..body_at + length)
            .ok_or(bad("record overruns the file"))?;
        set.records += 1;
        let skip = if mrt_type == BGP4MP_ET { 4 } else { 0 };
        let (four_octet_as, add_path) = match subtype {
            1 | 6 => (false, false),
            4 | 7 => (true, false),
            8 | 10 => (false, true),
            9 | 11 => (true, true),
            _ => {
                set.skipped_records += 1;
                pos = body_at + length;
                continue;
            }
        };
        if mrt_type != BGP4MP && mrt_type != BGP4MP_ET {
            set.skipped_records += 1;
            pos = body_at + length;
            continue;
        }
        let as_len = if four_octet_as { 4 } else { 2 };
        let afi_at = skip + 2 * as_len + 2;
        let afi = body
            .get(afi_at..afi_at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or(bad("BGP4MP header truncated"))?;
        let ip_len = match afi {
            1 => 4,
            2 => 16,
            _ => return Err(bad("BGP4MP address family is neither IPv4 nor IPv6")),
        };
        let msg_at = afi_at + 2 + 2 * ip_len;
        let msg = body
            .get(msg_at..)
            .filter(|m| m.len() >= 19)
            .ok_or(bad("BGP message shorter than its header"))?;
        let msg_len = usize::from(u16::from_be_bytes([msg[16], msg[17]]));
        if msg_len != msg.len() {
            return Err(bad("BGP message length differs from the record's"));
        }
        let start = body_at + msg_at;
        set.messages.push(RawMessage {
            bytes: data.slice(start..start + msg_len),
            four_octet_as,
            add_path,
            message_type: msg[18],
        });
        pos = body_at + length;
    }
    Ok(set)
}

/// The directory of the shared real-world data: `$REFLEX_SHARED_DATA` (as
/// for the tests, see `scripts/test.sh`), or `../shared/data` beside the
/// workspace.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("REFLEX_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    }
}

/// The MRT update file the real-data benchmarks use.
pub const UPDATES_FILE: &str = "mrt/updates.20160811.1600.gz";

/// Load every BGP message of [`UPDATES_FILE`].
pub fn load_updates_file() -> Result<MessageSet, MrtError> {
    extract_messages(read_file(&data_dir().join(UPDATES_FILE))?)
}
