//! BGP4MP and BGP4MP_ET records (RFC 6396 sections 4.4 and 4.5, RFC 8050
//! section 3): BGP messages and session state changes as a collector saw
//! them.
//!
//! A message record carries a whole BGP message, header included. It is kept
//! as bytes and decoded on request ([`Bgp4mpMessage::decode`]) with the
//! context the subtype implies, or with any other ([`Bgp4mpMessage::decode_with`]).

use bytes::{BufMut, Bytes, BytesMut};
use std::net::{IpAddr, Ipv4Addr};

use super::codes::bgp4mp as subtype;
use super::error::MrtError;
use super::wire::{Cursor, put_asn, put_ip};
use crate::context::{AddPathFamilies, DecodeCtx, PeerType};
use crate::error::DecodeError;
use crate::message::{Decoded, HEADER_LEN, Message, decode_message};

/// BGP FSM states as STATE_CHANGE records number them (RFC 6396 section
/// 4.4.1).
pub mod bgp_state {
    /// Idle.
    pub const IDLE: u16 = 1;
    /// Connect.
    pub const CONNECT: u16 = 2;
    /// Active.
    pub const ACTIVE: u16 = 3;
    /// OpenSent.
    pub const OPEN_SENT: u16 = 4;
    /// OpenConfirm.
    pub const OPEN_CONFIRM: u16 = 5;
    /// Established.
    pub const ESTABLISHED: u16 = 6;
}

/// The addressing part shared by every BGP4MP subtype: who talked to whom.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |    Peer AS Number (2 or 4)    |   Local AS Number (2 or 4)    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |        Interface Index        |        Address Family         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |               Peer IP Address (4 or 16 octets)                |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |               Local IP Address (4 or 16 octets)               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bgp4mpSession {
    /// AS of the peer.
    pub peer_as: u32,
    /// AS of the collector.
    pub local_as: u32,
    /// Interface index (normally 0).
    pub interface_index: u16,
    /// Address of the peer; its family is the record's Address Family.
    pub peer_ip: IpAddr,
    /// Address of the collector; same family as `peer_ip`.
    pub local_ip: IpAddr,
}

impl Bgp4mpSession {
    fn decode(cursor: &mut Cursor, as4: bool) -> Result<Self, MrtError> {
        let peer_as = cursor.asn(as4, "peer AS")?;
        let local_as = cursor.asn(as4, "local AS")?;
        let interface_index = cursor.u16("interface index")?;
        let afi = cursor.u16("address family")?;
        let ipv6 = match afi {
            1 => false,
            2 => true,
            other => return Err(cursor.bad_field(2, "address family", u64::from(other))),
        };
        let peer_ip = cursor.ip(ipv6, "peer IP address")?;
        let local_ip = cursor.ip(ipv6, "local IP address")?;
        Ok(Bgp4mpSession {
            peer_as,
            local_as,
            interface_index,
            peer_ip,
            local_ip,
        })
    }

    fn encode(&self, as4: bool, out: &mut BytesMut) -> Result<(), MrtError> {
        if self.peer_ip.is_ipv6() != self.local_ip.is_ipv6() {
            return Err(MrtError::BadField {
                offset: 0,
                field: "BGP4MP local address family (differs from the peer's)",
                value: if self.local_ip.is_ipv6() { 2 } else { 1 },
            });
        }
        put_asn(self.peer_as, as4, "peer AS", out)?;
        put_asn(self.local_as, as4, "local AS", out)?;
        out.put_u16(self.interface_index);
        out.put_u16(if self.peer_ip.is_ipv6() { 2 } else { 1 });
        put_ip(&self.peer_ip, out);
        put_ip(&self.local_ip, out);
        Ok(())
    }

    /// A session with unspecified IPv4 addresses and AS 0, to fill in.
    pub fn unspecified() -> Self {
        Bgp4mpSession {
            peer_as: 0,
            local_as: 0,
            interface_index: 0,
            peer_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            local_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }
    }
}

/// A BGP4MP MESSAGE record: subtypes MESSAGE (1), MESSAGE_AS4 (4),
/// MESSAGE_LOCAL (6), MESSAGE_AS4_LOCAL (7) and the ADD-PATH ones (8-11).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |        Session (see Bgp4mpSession; AS size by subtype)        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |          BGP Message, header included (variable)              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bgp4mpMessage {
    /// Who sent the message to whom.
    pub session: Bgp4mpSession,
    /// AS numbers are 4 octets: in the record, and in the message's AS_PATH
    /// and AGGREGATOR (the `_AS4` subtypes).
    pub as4: bool,
    /// The local speaker sent the message (the `_LOCAL` subtypes).
    pub local: bool,
    /// The message's NLRI carry path identifiers (RFC 8050 `_ADDPATH`
    /// subtypes).
    pub add_path: bool,
    /// The BGP message, header included, exactly as recorded.
    pub message: Bytes,
}

impl Bgp4mpMessage {
    /// The BGP4MP subtype.
    pub fn subtype(&self) -> u16 {
        match (self.as4, self.local, self.add_path) {
            (false, false, false) => subtype::MESSAGE,
            (true, false, false) => subtype::MESSAGE_AS4,
            (false, true, false) => subtype::MESSAGE_LOCAL,
            (true, true, false) => subtype::MESSAGE_AS4_LOCAL,
            (false, false, true) => subtype::MESSAGE_ADDPATH,
            (true, false, true) => subtype::MESSAGE_AS4_ADDPATH,
            (false, true, true) => subtype::MESSAGE_LOCAL_ADDPATH,
            (true, true, true) => subtype::MESSAGE_AS4_LOCAL_ADDPATH,
        }
    }

    /// The (AS4, LOCAL, ADD-PATH) flags of a message subtype.
    pub(crate) fn subtype_flags(code: u16) -> Option<(bool, bool, bool)> {
        Some(match code {
            subtype::MESSAGE => (false, false, false),
            subtype::MESSAGE_AS4 => (true, false, false),
            subtype::MESSAGE_LOCAL => (false, true, false),
            subtype::MESSAGE_AS4_LOCAL => (true, true, false),
            subtype::MESSAGE_ADDPATH => (false, false, true),
            subtype::MESSAGE_AS4_ADDPATH => (true, false, true),
            subtype::MESSAGE_LOCAL_ADDPATH => (false, true, true),
            subtype::MESSAGE_AS4_LOCAL_ADDPATH => (true, true, true),
            _ => return None,
        })
    }

    /// The context the subtype implies: 4-octet AS numbers for `_AS4`,
    /// path identifiers in every family for `_ADDPATH`, messages up to 65535
    /// octets (a collector records what it got), and iBGP rules so that no
    /// attribute is discarded as eBGP-only.
    pub fn decode_ctx(&self) -> DecodeCtx {
        DecodeCtx {
            four_octet_as: self.as4,
            add_path: if self.add_path {
                AddPathFamilies::ALL
            } else {
                AddPathFamilies::NONE
            },
            extended_message: true,
            peer_type: PeerType::Internal,
        }
    }

    /// Decode the message with [`Self::decode_ctx`].
    pub fn decode(&self) -> Result<Decoded, DecodeError> {
        self.decode_with(&self.decode_ctx())
    }

    /// Decode the message with another context.
    pub fn decode_with(&self, ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        decode_message(&self.message, ctx)
    }

    /// The BGP message type octet, if the message has a whole header.
    pub fn message_type(&self) -> Option<u8> {
        if self.message.len() < HEADER_LEN {
            return None;
        }
        self.message.get(HEADER_LEN - 1).copied()
    }

    /// A record of `message`, encoded with the context the flags imply.
    pub fn from_message(
        session: Bgp4mpSession,
        as4: bool,
        local: bool,
        add_path: bool,
        message: &Message,
    ) -> Result<Self, MrtError> {
        let mut record = Bgp4mpMessage {
            session,
            as4,
            local,
            add_path,
            message: Bytes::new(),
        };
        let bytes = message.to_bytes(&record.decode_ctx())?;
        record.message = bytes.freeze();
        Ok(record)
    }

    pub(crate) fn decode_body(cursor: &mut Cursor, code: u16) -> Result<Self, MrtError> {
        let Some((as4, local, add_path)) = Self::subtype_flags(code) else {
            return Err(cursor.bad_field(0, "BGP4MP message subtype", u64::from(code)));
        };
        let session = Bgp4mpSession::decode(cursor, as4)?;
        Ok(Bgp4mpMessage {
            session,
            as4,
            local,
            add_path,
            message: cursor.rest(),
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) -> Result<(), MrtError> {
        self.session.encode(self.as4, out)?;
        out.put_slice(&self.message);
        Ok(())
    }
}

/// A BGP4MP STATE_CHANGE (0) or STATE_CHANGE_AS4 (5) record.
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |        Session (see Bgp4mpSession; AS size by subtype)        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |            Old State          |          New State            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bgp4mpStateChange {
    /// The session whose state changed.
    pub session: Bgp4mpSession,
    /// AS numbers are 4 octets (STATE_CHANGE_AS4).
    pub as4: bool,
    /// State before the change ([`bgp_state`]).
    pub old_state: u16,
    /// State after the change ([`bgp_state`]).
    pub new_state: u16,
}

impl Bgp4mpStateChange {
    /// The BGP4MP subtype.
    pub fn subtype(&self) -> u16 {
        if self.as4 {
            subtype::STATE_CHANGE_AS4
        } else {
            subtype::STATE_CHANGE
        }
    }

    pub(crate) fn decode_body(cursor: &mut Cursor, as4: bool) -> Result<Self, MrtError> {
        let session = Bgp4mpSession::decode(cursor, as4)?;
        let old_state = cursor.u16("old state")?;
        let new_state = cursor.u16("new state")?;
        Ok(Bgp4mpStateChange {
            session,
            as4,
            old_state,
            new_state,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) -> Result<(), MrtError> {
        self.session.encode(self.as4, out)?;
        out.put_u16(self.old_state);
        out.put_u16(self.new_state);
        Ok(())
    }
}
