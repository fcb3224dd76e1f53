//! MRT routing information export format (RFC 6396), with the ADD-PATH
//! extensions of RFC 8050: a streaming reader, a writer, and a formatter
//! that prints what `bgpdump -m` prints.
//!
//! ```text
//! +------------------+---------------------------------------------+
//! | common header    | Timestamp, Type, Subtype, Length (12 octets) |
//! |                  | + Microseconds for the _ET types             |
//! +------------------+---------------------------------------------+
//! | body             | TABLE_DUMP, TABLE_DUMP_V2, BGP4MP, ...      |
//! +------------------+---------------------------------------------+
//! ```
//!
//! # Reading
//! ```no_run
//! use bgp_proto::mrt::{MrtBody, MrtReader};
//!
//! for record in MrtReader::open("updates.20160811.1600.gz")? {
//!     match record?.body {
//!         MrtBody::Bgp4mpMessage(message) => {
//!             let decoded = message.decode()?; // the BGP message
//!             println!("{:?}", decoded.message);
//!         }
//!         MrtBody::Rib(rib) => println!("{} paths to {}", rib.entries.len(), rib.prefix),
//!         _ => {}
//!     }
//! }
//! # Ok::<(), bgp_proto::mrt::MrtError>(())
//! ```
//! Bodies keep their BGP parts as bytes (attribute blocks, whole BGP
//! messages) and decode them on request, with the context the record type
//! implies ([`Bgp4mpMessage::decode`], [`RibEntry::decode_attributes`],
//! [`TableDump::decode_attributes`]) or any other.
//!
//! # Layout
//! - [`reader`] holds [`MrtReader`], for plain or gzip input;
//! - [`writer`] holds [`MrtWriter`];
//! - [`record`] holds [`MrtRecord`] and [`MrtBody`];
//! - [`header`] is the common header;
//! - [`table_dump`], [`peer_index`], [`rib`] and [`bgp4mp`] have one record
//!   type each;
//! - [`rib_attributes`] is the abbreviated attribute encoding of RIB entries;
//! - [`bgpdump`] is the `bgpdump -m` one-line format;
//! - [`codes`] names the type and subtype numbers;
//! - [`error`] holds [`MrtError`].

pub mod bgp4mp;
pub mod bgpdump;
pub mod codes;
pub mod error;
pub mod header;
pub mod peer_index;
pub mod reader;
pub mod record;
pub mod rib;
pub mod rib_attributes;
pub mod table_dump;
mod wire;
pub mod writer;

pub use bgp4mp::{Bgp4mpMessage, Bgp4mpSession, Bgp4mpStateChange};
pub use error::MrtError;
pub use header::MrtHeader;
pub use peer_index::{PeerEntry, PeerIndexTable};
pub use reader::{MAX_RECORD_LEN, MrtInput, MrtReader};
pub use record::{MrtBody, MrtRecord, RawRecord};
pub use rib::{RibEntry, RibRecord};
pub use rib_attributes::encode_rib_attributes;
pub use table_dump::TableDump;
pub use writer::MrtWriter;
