//! The one-line-per-route format of `bgpdump -m` (RIPE NCC's bgpdump), for
//! comparing this crate's decoding with the reference decoder and for tools
//! that parse that format.
//!
//! ```text
//! TYPE|time|A/B|peer ip|peer as|prefix|as path|origin|next hop|local pref|med|communities|AG/NAG|aggregator|
//! TYPE|time|W|peer ip|peer as|prefix
//! TYPE|time|STATE|peer ip|peer as|old state|new state
//! ```
//!
//! TYPE is `TABLE_DUMP`, `TABLE_DUMP2` (`TABLE_DUMP2_AP` with ADD-PATH, the
//! path identifier then follows the prefix), or `BGP4MP` (`BGP4MP_ET`,
//! `_LOCAL`, `_AP` variants). Only routes produce lines: OPEN, KEEPALIVE,
//! NOTIFICATION and PEER_INDEX_TABLE records print nothing, and neither do
//! multicast RIBs, which bgpdump does not read.
//!
//! [`Bgpdump`] keeps the one piece of state the format needs, the peer
//! index table of a TABLE_DUMP_V2 dump.

mod attrs;
mod lenient;
mod routes;
pub mod text;

use std::io::{self, Write};
use std::path::Path;

use super::record::{MrtBody, MrtRecord};
use super::{MrtError, MrtReader, PeerIndexTable};

/// A `bgpdump -m` formatter for a stream of records.
#[derive(Debug, Default)]
pub struct Bgpdump {
    peers: Option<PeerIndexTable>,
    line: String,
}

impl Bgpdump {
    /// A formatter that has seen no PEER_INDEX_TABLE yet.
    pub fn new() -> Self {
        Bgpdump::default()
    }

    /// Write the lines of `record` (none, one, or one per route) to `out`.
    ///
    /// A BGP message or attribute block that does not decode prints
    /// nothing; RFC 7606 findings are ignored (the attributes that decoded
    /// are printed).
    pub fn write_record(&mut self, record: &MrtRecord, out: &mut impl Write) -> io::Result<()> {
        self.line.clear();
        match &record.body {
            MrtBody::PeerIndexTable(table) => self.peers = Some(table.clone()),
            MrtBody::TableDump(dump) => routes::table_dump(record, dump, &mut self.line),
            MrtBody::Rib(rib) => {
                if let Some(peers) = &self.peers {
                    routes::rib(record, rib, peers, &mut self.line);
                }
            }
            MrtBody::Bgp4mpMessage(message) => {
                routes::bgp4mp_message(record, message, &mut self.line)
            }
            MrtBody::Bgp4mpStateChange(change) => {
                routes::bgp4mp_state_change(record, change, &mut self.line)
            }
            MrtBody::Raw(_) => {}
        }
        out.write_all(self.line.as_bytes())
    }

    /// The lines of `record` as one string (each line ends in `\n`).
    pub fn format_record(&mut self, record: &MrtRecord) -> String {
        let mut out = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self.write_record(record, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// What [`dump_file`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DumpStats {
    /// Records read and formatted.
    pub records: u64,
    /// Records that could not be read (bgpdump skips them too).
    pub bad_records: u64,
}

/// Print every record of the MRT file at `path` (plain or gzip) to `out`,
/// as `bgpdump -m` does. Records that cannot be read are skipped and
/// counted; an I/O error ends the dump.
pub fn dump_file(path: impl AsRef<Path>, out: &mut impl Write) -> Result<DumpStats, MrtError> {
    let mut formatter = Bgpdump::new();
    let mut stats = DumpStats::default();
    for record in MrtReader::open(path)? {
        match record {
            Ok(record) => {
                formatter.write_record(&record, out)?;
                stats.records += 1;
            }
            Err(error) if error.is_io() => return Err(error),
            Err(_) => stats.bad_records += 1,
        }
    }
    Ok(stats)
}
