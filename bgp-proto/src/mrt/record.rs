//! One MRT record: the common header's timestamps and a typed body.

use bytes::{BufMut, Bytes, BytesMut};

use super::bgp4mp::{Bgp4mpMessage, Bgp4mpStateChange};
use super::codes::{bgp4mp, mrt_type, table_dump, table_dump_v2};
use super::error::MrtError;
use super::header::{HEADER_LEN, MrtHeader};
use super::peer_index::PeerIndexTable;
use super::rib::RibRecord;
use super::table_dump::TableDump;
use super::wire::Cursor;

/// An MRT record (RFC 6396 section 2): when it was written and what it holds.
/// The type, subtype and length of the header follow from the body.
///
/// ```text
/// +-------------------------------------------+
/// | Timestamp (4) | Type (2) | Subtype (2)    |  common header
/// | Length (4)    | [Microseconds (4), _ET]   |  (see MrtHeader)
/// +-------------------------------------------+
/// | Message (Length octets, minus the _ET 4)  |  body: MrtBody
/// +-------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MrtRecord {
    /// Seconds since the Unix epoch.
    pub timestamp: u32,
    /// The microsecond field of the `_ET` types (RFC 6396 section 3). `Some`
    /// on a BGP4MP body makes the record BGP4MP_ET; other typed bodies must
    /// have `None`, raw bodies `Some` exactly for the `_ET` types.
    pub microseconds: Option<u32>,
    /// What the record holds.
    pub body: MrtBody,
}

/// The body of an [`MrtRecord`], by type and subtype.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MrtBody {
    /// TABLE_DUMP, subtypes 1 and 2 (RFC 6396 section 4.2).
    TableDump(TableDump),
    /// TABLE_DUMP_V2 PEER_INDEX_TABLE (RFC 6396 section 4.3.1).
    PeerIndexTable(PeerIndexTable),
    /// TABLE_DUMP_V2 RIB_IPV4/IPV6_UNICAST/MULTICAST and their ADD-PATH
    /// variants (RFC 6396 section 4.3.2, RFC 8050 section 3).
    Rib(RibRecord),
    /// BGP4MP or BGP4MP_ET STATE_CHANGE / STATE_CHANGE_AS4 (RFC 6396 4.4.1, 4.4.4).
    Bgp4mpStateChange(Bgp4mpStateChange),
    /// BGP4MP or BGP4MP_ET MESSAGE and its AS4, LOCAL and ADDPATH variants
    /// (RFC 6396 sections 4.4.2-4.4.6, RFC 8050 section 3).
    Bgp4mpMessage(Bgp4mpMessage),
    /// Any other type or subtype (RIB_GENERIC included), kept as bytes.
    Raw(RawRecord),
}

/// A record of a type or subtype this crate does not interpret.
///
/// ```text
/// +-------------------------------------------+
/// | Type (2) | Subtype (2) | data (variable)  |  type and subtype from the
/// +-------------------------------------------+  header, data = the body
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawRecord {
    /// The record type.
    pub mrt_type: u16,
    /// The record subtype.
    pub subtype: u16,
    /// The body after the common header (and after the microsecond field of
    /// `_ET` types).
    pub data: Bytes,
}

impl MrtRecord {
    /// A record without microseconds.
    pub fn new(timestamp: u32, body: MrtBody) -> Self {
        MrtRecord {
            timestamp,
            microseconds: None,
            body,
        }
    }

    /// The record type written in the header.
    pub fn mrt_type(&self) -> u16 {
        let et = self.microseconds.is_some();
        match &self.body {
            MrtBody::TableDump(_) => mrt_type::TABLE_DUMP,
            MrtBody::PeerIndexTable(_) | MrtBody::Rib(_) => mrt_type::TABLE_DUMP_V2,
            MrtBody::Bgp4mpStateChange(_) | MrtBody::Bgp4mpMessage(_) if et => mrt_type::BGP4MP_ET,
            MrtBody::Bgp4mpStateChange(_) | MrtBody::Bgp4mpMessage(_) => mrt_type::BGP4MP,
            MrtBody::Raw(raw) => raw.mrt_type,
        }
    }

    /// The record subtype written in the header.
    pub fn subtype(&self) -> u16 {
        match &self.body {
            MrtBody::TableDump(dump) => dump.subtype(),
            MrtBody::PeerIndexTable(_) => table_dump_v2::PEER_INDEX_TABLE,
            MrtBody::Rib(rib) => rib.subtype(),
            MrtBody::Bgp4mpStateChange(change) => change.subtype(),
            MrtBody::Bgp4mpMessage(message) => message.subtype(),
            MrtBody::Raw(raw) => raw.subtype,
        }
    }

    /// Decode the body of a record whose header is `header`. `data` is
    /// everything after the common header (`header.length` octets) and
    /// starts at stream offset `base`.
    ///
    /// Unknown types and subtypes become [`MrtBody::Raw`]; only a body that
    /// is inconsistent with its own type is an error.
    pub fn decode(header: &MrtHeader, data: Bytes, base: u64) -> Result<MrtRecord, MrtError> {
        let mut cursor = Cursor::new(data, base);
        let microseconds = if header.is_extended() {
            Some(cursor.u32("microsecond timestamp")?)
        } else {
            None
        };
        let body = decode_body(header, &mut cursor)?;
        Ok(MrtRecord {
            timestamp: header.timestamp,
            microseconds,
            body,
        })
    }

    /// Append the whole record, header included.
    ///
    /// Fails, leaving `out` as it was, if the body cannot be encoded (a
    /// field out of range, inconsistent address families) or if
    /// `microseconds` does not match the type.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), MrtError> {
        let start = out.len();
        let result = self.encode_inner(out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_inner(&self, out: &mut BytesMut) -> Result<(), MrtError> {
        let mrt_type = self.mrt_type();
        if mrt_type::is_extended(mrt_type) != self.microseconds.is_some() {
            return Err(MrtError::BadField {
                offset: 0,
                field: "microsecond timestamp (only _ET types have one)",
                value: u64::from(self.microseconds.unwrap_or(0)),
            });
        }
        let start = out.len();
        MrtHeader {
            timestamp: self.timestamp,
            mrt_type,
            subtype: self.subtype(),
            length: 0,
        }
        .encode(out);
        if let Some(micros) = self.microseconds {
            out.put_u32(micros);
        }
        match &self.body {
            MrtBody::TableDump(dump) => dump.encode(out)?,
            MrtBody::PeerIndexTable(table) => table.encode(out)?,
            MrtBody::Rib(rib) => rib.encode(out)?,
            MrtBody::Bgp4mpStateChange(change) => change.encode(out)?,
            MrtBody::Bgp4mpMessage(message) => message.encode(out)?,
            MrtBody::Raw(raw) => out.put_slice(&raw.data),
        }
        let length = out.len() - start - HEADER_LEN;
        let length = u32::try_from(length).map_err(|_| MrtError::BadField {
            offset: 0,
            field: "record length",
            value: length as u64,
        })?;
        out[start + 8..start + HEADER_LEN].copy_from_slice(&length.to_be_bytes());
        Ok(())
    }
}

fn decode_body(header: &MrtHeader, cursor: &mut Cursor) -> Result<MrtBody, MrtError> {
    let subtype = header.subtype;
    let body = match header.mrt_type {
        mrt_type::TABLE_DUMP if matches!(subtype, table_dump::AFI_IPV4 | table_dump::AFI_IPV6) => {
            MrtBody::TableDump(TableDump::decode(cursor, subtype)?)
        }
        mrt_type::TABLE_DUMP_V2 if subtype == table_dump_v2::PEER_INDEX_TABLE => {
            MrtBody::PeerIndexTable(PeerIndexTable::decode(cursor)?)
        }
        mrt_type::TABLE_DUMP_V2 if RibRecord::subtype_flags(subtype).is_some() => {
            MrtBody::Rib(RibRecord::decode(cursor, subtype)?)
        }
        mrt_type::BGP4MP | mrt_type::BGP4MP_ET
            if matches!(subtype, bgp4mp::STATE_CHANGE | bgp4mp::STATE_CHANGE_AS4) =>
        {
            let as4 = subtype == bgp4mp::STATE_CHANGE_AS4;
            MrtBody::Bgp4mpStateChange(Bgp4mpStateChange::decode_body(cursor, as4)?)
        }
        mrt_type::BGP4MP | mrt_type::BGP4MP_ET
            if Bgp4mpMessage::subtype_flags(subtype).is_some() =>
        {
            MrtBody::Bgp4mpMessage(Bgp4mpMessage::decode_body(cursor, subtype)?)
        }
        _ => MrtBody::Raw(RawRecord {
            mrt_type: header.mrt_type,
            subtype,
            data: cursor.rest(),
        }),
    };
    Ok(body)
}
