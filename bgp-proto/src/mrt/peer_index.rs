//! PEER_INDEX_TABLE, the first record of a TABLE_DUMP_V2 dump (RFC 6396
//! section 4.3.1). RIB entries name their peer by its index in this table.

use bytes::{BufMut, Bytes, BytesMut};
use std::net::{IpAddr, Ipv4Addr};

use super::error::MrtError;
use super::wire::{Cursor, put_asn, put_ip, u16_len};

/// Peer Type bit: the peer address is IPv6 (RFC 6396 section 4.3.1).
pub const PEER_TYPE_IPV6: u8 = 0x01;
/// Peer Type bit: the peer AS is 4 octets (RFC 6396 section 4.3.1).
pub const PEER_TYPE_AS4: u8 = 0x02;

/// The PEER_INDEX_TABLE record (type 13, subtype 1).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      Collector BGP ID                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |       View Name Length        |     View Name (variable)      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |          Peer Count           |    Peer Entries (variable)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///
/// Peer Entry:
/// +-+-+-+-+-+-+-+-+
/// |   Peer Type   |  bit 0x01: IPv6 address, bit 0x02: 4-octet AS
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Peer BGP ID                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   Peer IP Address (4 or 16 octets)            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                        Peer AS (2 or 4 octets)                |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerIndexTable {
    /// BGP identifier of the collector.
    pub collector_bgp_id: Ipv4Addr,
    /// Name of the view, as recorded (normally UTF-8, possibly empty).
    pub view_name: Bytes,
    /// The peers, in index order.
    pub peers: Vec<PeerEntry>,
}

/// One peer of a [`PeerIndexTable`] (RFC 6396 section 4.3.1).
///
/// ```text
/// +-----------+------------------+-----------------------+-------------------+
/// | Peer Type | Peer BGP ID (4)  | Peer IP (4 or 16)     | Peer AS (2 or 4)  |
/// +-----------+------------------+-----------------------+-------------------+
///   0x01: IPv6 address, 0x02: 4-octet AS
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerEntry {
    /// The peer's BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// The peer's address; its family sets the IPv6 bit of the Peer Type.
    pub ip: IpAddr,
    /// The peer's AS.
    pub asn: u32,
    /// The AS is recorded in 4 octets (the AS4 bit of the Peer Type).
    /// Required for AS numbers above 65535.
    pub as4: bool,
}

impl PeerEntry {
    /// A peer whose AS is recorded in 4 octets, as modern collectors do.
    pub fn new(bgp_id: Ipv4Addr, ip: IpAddr, asn: u32) -> Self {
        PeerEntry {
            bgp_id,
            ip,
            asn,
            as4: true,
        }
    }

    /// The Peer Type octet.
    pub fn peer_type(&self) -> u8 {
        let mut bits = 0;
        if self.ip.is_ipv6() {
            bits |= PEER_TYPE_IPV6;
        }
        if self.as4 {
            bits |= PEER_TYPE_AS4;
        }
        bits
    }
}

impl PeerIndexTable {
    /// The view name as text, if it is UTF-8.
    pub fn view_name_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.view_name).ok()
    }

    /// The peer with index `index`, as RIB entries refer to it.
    pub fn peer(&self, index: u16) -> Option<&PeerEntry> {
        self.peers.get(usize::from(index))
    }

    pub(crate) fn decode(cursor: &mut Cursor) -> Result<Self, MrtError> {
        let collector_bgp_id = cursor.ipv4("collector BGP ID")?;
        let name_len = cursor.u16("view name length")?;
        let view_name = cursor.bytes(usize::from(name_len), "view name")?;
        let count = usize::from(cursor.u16("peer count")?);
        // Each entry takes at least 11 octets: never trust the count alone.
        let mut peers = Vec::with_capacity(count.min(cursor.remaining() / 11));
        for _ in 0..count {
            let peer_type = cursor.u8("peer type")?;
            let bgp_id = cursor.ipv4("peer BGP ID")?;
            let ip = cursor.ip(peer_type & PEER_TYPE_IPV6 != 0, "peer IP address")?;
            let as4 = peer_type & PEER_TYPE_AS4 != 0;
            let asn = cursor.asn(as4, "peer AS")?;
            peers.push(PeerEntry {
                bgp_id,
                ip,
                asn,
                as4,
            });
        }
        Ok(PeerIndexTable {
            collector_bgp_id,
            view_name,
            peers,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) -> Result<(), MrtError> {
        out.put_slice(&self.collector_bgp_id.octets());
        out.put_u16(u16_len(self.view_name.len(), "view name length")?);
        out.put_slice(&self.view_name);
        out.put_u16(u16_len(self.peers.len(), "peer count")?);
        for peer in &self.peers {
            out.put_u8(peer.peer_type());
            out.put_slice(&peer.bgp_id.octets());
            put_ip(&peer.ip, out);
            put_asn(peer.asn, peer.as4, "peer AS", out)?;
        }
        Ok(())
    }
}
