//! TABLE_DUMP_V2 RIB records (RFC 6396 section 4.3.2) and their ADD-PATH
//! variants (RFC 8050 section 3): one prefix with every path to it.

use bytes::{BufMut, Bytes, BytesMut};
use ipnetwork::IpNetwork;

use super::codes::table_dump_v2 as subtype;
use super::error::MrtError;
use super::rib_attributes::encode_rib_attributes;
use super::wire::{Cursor, put_nlri_prefix, u16_len};
use crate::attribute::PathAttribute;
use crate::attribute::decode::{AttrOptions, decode_attributes};
use crate::context::{AddPathFamilies, DecodeCtx, PeerType};
use crate::error::{DecodeError, Findings};
use crate::iana::AfiSafi;

/// A RIB record: RIB_IPV4_UNICAST (2), RIB_IPV4_MULTICAST (3),
/// RIB_IPV6_UNICAST (4), RIB_IPV6_MULTICAST (5), or their ADD-PATH variants
/// (8 to 11), in which every entry carries a path identifier.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Sequence Number                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Prefix Length |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                        Prefix (variable)                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Entry Count           |  RIB Entries (variable)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///
/// RIB Entry:
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Peer Index            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Originated Time                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |            Path Identifier (ADD-PATH subtypes only)           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      Attribute Length         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    BGP Attributes... (variable)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RibRecord {
    /// A multicast RIB (subtypes 3, 5, 9, 11) rather than unicast.
    pub multicast: bool,
    /// The ADD-PATH form (RFC 8050): every entry has a path identifier.
    pub add_path: bool,
    /// Sequence number of the record within the dump.
    pub sequence: u32,
    /// The prefix (host bits cleared); its family selects IPv4 or IPv6.
    pub prefix: IpNetwork,
    /// The paths, one per peer (or several per peer with ADD-PATH).
    pub entries: Vec<RibEntry>,
}

/// One path of a [`RibRecord`] (RFC 6396 section 4.3.4, RFC 8050 section 3).
///
/// ```text
/// +----------------+---------------------+-------------------------------+
/// | Peer Index (2) | Originated Time (4) | Path Identifier (4, ADD-PATH) |
/// +----------------+---------------------+-------------------------------+
/// | Attribute Length (2) | BGP Attributes (variable)                     |
/// +----------------------+-----------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RibEntry {
    /// Index of the peer in the dump's [`super::PeerIndexTable`].
    pub peer_index: u16,
    /// When the route was received, in seconds since the Unix epoch.
    pub originated_time: u32,
    /// The ADD-PATH path identifier (RFC 8050); `Some` exactly in ADD-PATH
    /// records.
    pub path_id: Option<u32>,
    /// The path attributes as on the wire: 4-octet AS numbers, and an
    /// MP_REACH_NLRI holding only the next hop (RFC 6396 section 4.3.4).
    pub attributes: Bytes,
}

impl RibEntry {
    /// The context RIB entry attributes are decoded with: 4-octet AS
    /// numbers (RFC 6396 section 4.3.4), iBGP rules (nothing is discarded).
    pub fn decode_ctx() -> DecodeCtx {
        DecodeCtx {
            four_octet_as: true,
            add_path: AddPathFamilies::NONE,
            extended_message: true,
            peer_type: PeerType::Internal,
        }
    }

    /// An entry whose attributes are `attributes`, encoded as RFC 6396
    /// section 4.3.4 asks (see [`encode_rib_attributes`]).
    pub fn from_attributes(
        peer_index: u16,
        originated_time: u32,
        path_id: Option<u32>,
        attributes: &[PathAttribute],
    ) -> Result<Self, MrtError> {
        let mut out = BytesMut::new();
        encode_rib_attributes(attributes, &mut out)?;
        u16_len(out.len(), "attribute length")?;
        Ok(RibEntry {
            peer_index,
            originated_time,
            path_id,
            attributes: out.freeze(),
        })
    }

    /// Decode the attributes of this entry of a RIB of `family` (RFC 7606
    /// error handling, see [`crate::attribute::decode`]). The MP_REACH_NLRI
    /// comes back with the family's AFI/SAFI, the next hop and no NLRI.
    pub fn decode_attributes(
        &self,
        family: AfiSafi,
    ) -> Result<(Vec<PathAttribute>, Findings), DecodeError> {
        let options = AttrOptions {
            mrt_rib_family: Some(family),
        };
        decode_attributes(&self.attributes, &Self::decode_ctx(), 0, options)
    }
}

impl RibRecord {
    /// The address family of the RIB.
    pub fn family(&self) -> AfiSafi {
        match (self.prefix.is_ipv6(), self.multicast) {
            (false, false) => AfiSafi::IPV4_UNICAST,
            (false, true) => AfiSafi::IPV4_MULTICAST,
            (true, false) => AfiSafi::IPV6_UNICAST,
            (true, true) => AfiSafi::IPV6_MULTICAST,
        }
    }

    /// The TABLE_DUMP_V2 subtype of the record.
    pub fn subtype(&self) -> u16 {
        match (self.prefix.is_ipv6(), self.multicast, self.add_path) {
            (false, false, false) => subtype::RIB_IPV4_UNICAST,
            (false, true, false) => subtype::RIB_IPV4_MULTICAST,
            (true, false, false) => subtype::RIB_IPV6_UNICAST,
            (true, true, false) => subtype::RIB_IPV6_MULTICAST,
            (false, false, true) => subtype::RIB_IPV4_UNICAST_ADDPATH,
            (false, true, true) => subtype::RIB_IPV4_MULTICAST_ADDPATH,
            (true, false, true) => subtype::RIB_IPV6_UNICAST_ADDPATH,
            (true, true, true) => subtype::RIB_IPV6_MULTICAST_ADDPATH,
        }
    }

    /// Decode the attributes of `entry` (one of this record's entries).
    pub fn decode_entry_attributes(
        &self,
        entry: &RibEntry,
    ) -> Result<(Vec<PathAttribute>, Findings), DecodeError> {
        entry.decode_attributes(self.family())
    }

    /// The (IPv6, multicast, ADD-PATH) flags of a RIB subtype.
    pub(crate) fn subtype_flags(code: u16) -> Option<(bool, bool, bool)> {
        Some(match code {
            subtype::RIB_IPV4_UNICAST => (false, false, false),
            subtype::RIB_IPV4_MULTICAST => (false, true, false),
            subtype::RIB_IPV6_UNICAST => (true, false, false),
            subtype::RIB_IPV6_MULTICAST => (true, true, false),
            subtype::RIB_IPV4_UNICAST_ADDPATH => (false, false, true),
            subtype::RIB_IPV4_MULTICAST_ADDPATH => (false, true, true),
            subtype::RIB_IPV6_UNICAST_ADDPATH => (true, false, true),
            subtype::RIB_IPV6_MULTICAST_ADDPATH => (true, true, true),
            _ => return None,
        })
    }

    pub(crate) fn decode(cursor: &mut Cursor, code: u16) -> Result<Self, MrtError> {
        let Some((ipv6, multicast, add_path)) = Self::subtype_flags(code) else {
            return Err(cursor.bad_field(0, "RIB subtype", u64::from(code)));
        };
        let sequence = cursor.u32("sequence number")?;
        let prefix = cursor.nlri_prefix(ipv6)?;
        let count = usize::from(cursor.u16("entry count")?);
        // An entry takes at least 8 octets (12 with ADD-PATH).
        let min_entry = if add_path { 12 } else { 8 };
        let mut entries = Vec::with_capacity(count.min(cursor.remaining() / min_entry));
        for _ in 0..count {
            let peer_index = cursor.u16("peer index")?;
            let originated_time = cursor.u32("originated time")?;
            let path_id = if add_path {
                Some(cursor.u32("path identifier")?)
            } else {
                None
            };
            let attr_len = cursor.u16("attribute length")?;
            let attributes = cursor.bytes(usize::from(attr_len), "BGP attributes")?;
            entries.push(RibEntry {
                peer_index,
                originated_time,
                path_id,
                attributes,
            });
        }
        Ok(RibRecord {
            multicast,
            add_path,
            sequence,
            prefix,
            entries,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) -> Result<(), MrtError> {
        out.put_u32(self.sequence);
        put_nlri_prefix(&self.prefix, out);
        out.put_u16(u16_len(self.entries.len(), "entry count")?);
        for entry in &self.entries {
            out.put_u16(entry.peer_index);
            out.put_u32(entry.originated_time);
            match (self.add_path, entry.path_id) {
                (true, Some(id)) => out.put_u32(id),
                (false, None) => {}
                (_, id) => {
                    return Err(MrtError::BadField {
                        offset: 0,
                        field: "path identifier (must be present exactly in ADD-PATH RIBs)",
                        value: id.map_or(0, u64::from),
                    });
                }
            }
            out.put_u16(u16_len(entry.attributes.len(), "attribute length")?);
            out.put_slice(&entry.attributes);
        }
        Ok(())
    }
}
