//! TABLE_DUMP, the original RIB dump record (RFC 6396 section 4.2).
//!
//! One record per route: the prefix, the peer it was learned from, and the
//! path attributes as in an UPDATE with 2-octet AS numbers. The subtype is
//! the address family of the prefix and of the peer address.

use bytes::{BufMut, Bytes, BytesMut};
use ipnetwork::IpNetwork;
use std::net::IpAddr;

use super::codes::table_dump as subtype;
use super::error::MrtError;
use super::wire::{Cursor, put_ip, u16_len};
use crate::attribute::PathAttribute;
use crate::attribute::decode::{AttrOptions, decode_attributes};
use crate::context::{AddPathFamilies, DecodeCtx, PeerType};
use crate::error::{DecodeError, Findings};
use crate::iana::AfiSafi;

/// A TABLE_DUMP record (type 12, subtype 1 for IPv4 or 2 for IPv6).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         View Number           |       Sequence Number         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 Prefix (4 or 16 octets, by subtype)           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Prefix Length |    Status     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Originated Time                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 Peer IP Address (4 or 16 octets)              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Peer AS             |       Attribute Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   BGP Attribute... (variable)                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableDump {
    /// View number (normally 0).
    pub view: u16,
    /// Sequence number, incremented per record and wrapping at 65535.
    pub sequence: u16,
    /// The prefix, as recorded (host bits are kept, not cleared).
    pub prefix: IpNetwork,
    /// Status octet (unused, normally 1).
    pub status: u8,
    /// When the route was received, in seconds since the Unix epoch.
    pub originated_time: u32,
    /// Address of the peer; same family as the prefix.
    pub peer_ip: IpAddr,
    /// AS of the peer (this format only has 2 octets for it).
    pub peer_as: u16,
    /// The path attributes as on the wire, with 2-octet AS numbers.
    pub attributes: Bytes,
}

impl TableDump {
    /// The subtype: the address family of the prefix.
    pub fn subtype(&self) -> u16 {
        match self.prefix {
            IpNetwork::V4(_) => subtype::AFI_IPV4,
            IpNetwork::V6(_) => subtype::AFI_IPV6,
        }
    }

    /// The address family of the route (unicast, as the format has no SAFI).
    pub fn family(&self) -> AfiSafi {
        match self.prefix {
            IpNetwork::V4(_) => AfiSafi::IPV4_UNICAST,
            IpNetwork::V6(_) => AfiSafi::IPV6_UNICAST,
        }
    }

    /// The context the attributes are decoded with: 2-octet AS numbers,
    /// iBGP rules (nothing is discarded as eBGP-only).
    pub fn decode_ctx() -> DecodeCtx {
        DecodeCtx {
            four_octet_as: false,
            add_path: AddPathFamilies::NONE,
            extended_message: true,
            peer_type: PeerType::Internal,
        }
    }

    /// Decode the path attributes (RFC 7606 error handling; see
    /// [`crate::attribute::decode`]). An MP_REACH_NLRI holding only a next
    /// hop (RFC 6396 section 4.3.4) is accepted as well as a full one.
    pub fn decode_attributes(&self) -> Result<(Vec<PathAttribute>, Findings), DecodeError> {
        let options = AttrOptions {
            mrt_rib_family: Some(self.family()),
        };
        decode_attributes(&self.attributes, &Self::decode_ctx(), 0, options)
    }

    pub(crate) fn decode(cursor: &mut Cursor, subtype: u16) -> Result<Self, MrtError> {
        let ipv6 = match subtype {
            subtype::AFI_IPV4 => false,
            subtype::AFI_IPV6 => true,
            // The caller only dispatches the two known subtypes here.
            other => return Err(cursor.bad_field(0, "TABLE_DUMP subtype", u64::from(other))),
        };
        let view = cursor.u16("view number")?;
        let sequence = cursor.u16("sequence number")?;
        let address = cursor.ip(ipv6, "prefix")?;
        let len = cursor.u8("prefix length")?;
        let prefix = IpNetwork::new(address, len)
            .map_err(|_| cursor.bad_field(1, "prefix length", u64::from(len)))?;
        let status = cursor.u8("status")?;
        let originated_time = cursor.u32("originated time")?;
        let peer_ip = cursor.ip(ipv6, "peer IP address")?;
        let peer_as = cursor.u16("peer AS")?;
        let attr_len = cursor.u16("attribute length")?;
        let attributes = cursor.bytes(usize::from(attr_len), "BGP attributes")?;
        Ok(TableDump {
            view,
            sequence,
            prefix,
            status,
            originated_time,
            peer_ip,
            peer_as,
            attributes,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) -> Result<(), MrtError> {
        if self.peer_ip.is_ipv6() != self.prefix.is_ipv6() {
            return Err(MrtError::BadField {
                offset: 0,
                field: "TABLE_DUMP peer address family",
                value: if self.peer_ip.is_ipv6() { 2 } else { 1 },
            });
        }
        out.put_u16(self.view);
        out.put_u16(self.sequence);
        put_ip(&self.prefix.ip(), out);
        out.put_u8(self.prefix.prefix());
        out.put_u8(self.status);
        out.put_u32(self.originated_time);
        put_ip(&self.peer_ip, out);
        out.put_u16(self.peer_as);
        out.put_u16(u16_len(self.attributes.len(), "attribute length")?);
        out.put_slice(&self.attributes);
        Ok(())
    }
}
