//! IANA code points used on the wire.
//!
//! Every number that appears in a BGP message is named here, with the RFC that
//! assigns it. Open-ended registries (AFI, SAFI) are newtypes over the wire
//! integer so that values we do not know survive a decode/encode round trip.

use std::fmt;

/// BGP message types (RFC 4271 section 4.1, RFC 2918 section 3).
pub mod message_type {
    /// OPEN (RFC 4271 section 4.2).
    pub const OPEN: u8 = 1;
    /// UPDATE (RFC 4271 section 4.3).
    pub const UPDATE: u8 = 2;
    /// NOTIFICATION (RFC 4271 section 4.5).
    pub const NOTIFICATION: u8 = 3;
    /// KEEPALIVE (RFC 4271 section 4.4).
    pub const KEEPALIVE: u8 = 4;
    /// ROUTE-REFRESH (RFC 2918 section 3).
    pub const ROUTE_REFRESH: u8 = 5;
}

/// Path attribute type codes (IANA "BGP Path Attributes" registry).
pub mod attr_type {
    /// ORIGIN (RFC 4271 section 5.1.1).
    pub const ORIGIN: u8 = 1;
    /// AS_PATH (RFC 4271 section 5.1.2).
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP (RFC 4271 section 5.1.3).
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC (RFC 4271 section 5.1.4).
    pub const MULTI_EXIT_DISC: u8 = 4;
    /// LOCAL_PREF (RFC 4271 section 5.1.5).
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE (RFC 4271 section 5.1.6).
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR (RFC 4271 section 5.1.7, RFC 6793).
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997).
    pub const COMMUNITIES: u8 = 8;
    /// ORIGINATOR_ID (RFC 4456 section 8).
    pub const ORIGINATOR_ID: u8 = 9;
    /// CLUSTER_LIST (RFC 4456 section 8).
    pub const CLUSTER_LIST: u8 = 10;
    /// MP_REACH_NLRI (RFC 4760 section 3).
    pub const MP_REACH_NLRI: u8 = 14;
    /// MP_UNREACH_NLRI (RFC 4760 section 4).
    pub const MP_UNREACH_NLRI: u8 = 15;
    /// EXTENDED COMMUNITIES (RFC 4360).
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    /// AS4_PATH (RFC 6793).
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR (RFC 6793).
    pub const AS4_AGGREGATOR: u8 = 18;
    /// IPv6 Address Specific Extended Community (RFC 5701).
    pub const IPV6_EXTENDED_COMMUNITIES: u8 = 25;
    /// LARGE_COMMUNITY (RFC 8092).
    pub const LARGE_COMMUNITIES: u8 = 32;
    /// Only to Customer (RFC 9234 section 5).
    pub const OTC: u8 = 35;
    /// ATTR_SET (RFC 6368), only named so logs can print it.
    pub const ATTR_SET: u8 = 128;

    /// The attribute's registry name, for error paths and logs.
    pub fn name(code: u8) -> &'static str {
        match code {
            ORIGIN => "ORIGIN",
            AS_PATH => "AS_PATH",
            NEXT_HOP => "NEXT_HOP",
            MULTI_EXIT_DISC => "MULTI_EXIT_DISC",
            LOCAL_PREF => "LOCAL_PREF",
            ATOMIC_AGGREGATE => "ATOMIC_AGGREGATE",
            AGGREGATOR => "AGGREGATOR",
            COMMUNITIES => "COMMUNITIES",
            ORIGINATOR_ID => "ORIGINATOR_ID",
            CLUSTER_LIST => "CLUSTER_LIST",
            MP_REACH_NLRI => "MP_REACH_NLRI",
            MP_UNREACH_NLRI => "MP_UNREACH_NLRI",
            EXTENDED_COMMUNITIES => "EXTENDED_COMMUNITIES",
            AS4_PATH => "AS4_PATH",
            AS4_AGGREGATOR => "AS4_AGGREGATOR",
            IPV6_EXTENDED_COMMUNITIES => "IPV6_EXTENDED_COMMUNITIES",
            LARGE_COMMUNITIES => "LARGE_COMMUNITIES",
            OTC => "OTC",
            ATTR_SET => "ATTR_SET",
            _ => "unknown attribute",
        }
    }
}

/// Capability codes (IANA "Capability Codes" registry).
pub mod capability_code {
    /// Multiprotocol Extensions (RFC 4760).
    pub const MULTIPROTOCOL: u8 = 1;
    /// Route Refresh (RFC 2918).
    pub const ROUTE_REFRESH: u8 = 2;
    /// Extended Next Hop Encoding (RFC 8950).
    pub const EXTENDED_NEXT_HOP: u8 = 5;
    /// Extended Message (RFC 8654).
    pub const EXTENDED_MESSAGE: u8 = 6;
    /// BGP Role (RFC 9234).
    pub const BGP_ROLE: u8 = 9;
    /// Graceful Restart (RFC 4724).
    pub const GRACEFUL_RESTART: u8 = 64;
    /// Support for 4-octet AS numbers (RFC 6793).
    pub const FOUR_OCTET_AS: u8 = 65;
    /// ADD-PATH (RFC 7911).
    pub const ADD_PATH: u8 = 69;
    /// Enhanced Route Refresh (RFC 7313).
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
    /// Long-Lived Graceful Restart (RFC 9494).
    pub const LONG_LIVED_GRACEFUL_RESTART: u8 = 71;
    /// FQDN (draft-walton-bgp-hostname-capability).
    pub const FQDN: u8 = 73;
    /// Pre-standard Cisco route refresh, still sent by many routers.
    pub const ROUTE_REFRESH_CISCO: u8 = 128;
}

/// NOTIFICATION error codes and subcodes (RFC 4271 section 4.5 and the IANA
/// "BGP Error (Notification) Codes" registry).
pub mod notification {
    /// Message Header Error (RFC 4271 section 6.1).
    pub const MESSAGE_HEADER_ERROR: u8 = 1;
    /// OPEN Message Error (RFC 4271 section 6.2).
    pub const OPEN_MESSAGE_ERROR: u8 = 2;
    /// UPDATE Message Error (RFC 4271 section 6.3).
    pub const UPDATE_MESSAGE_ERROR: u8 = 3;
    /// Hold Timer Expired (RFC 4271 section 6.5).
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    /// Finite State Machine Error (RFC 4271 section 6.6, RFC 6608).
    pub const FSM_ERROR: u8 = 5;
    /// Cease (RFC 4271 section 6.7, RFC 4486).
    pub const CEASE: u8 = 6;
    /// ROUTE-REFRESH Message Error (RFC 7313 section 5).
    pub const ROUTE_REFRESH_MESSAGE_ERROR: u8 = 7;
    /// Send Hold Timer Expired (RFC 9687).
    pub const SEND_HOLD_TIMER_EXPIRED: u8 = 8;

    /// Message Header Error subcodes (RFC 4271 section 4.5).
    pub mod header {
        /// Connection Not Synchronized.
        pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
        /// Bad Message Length.
        pub const BAD_MESSAGE_LENGTH: u8 = 2;
        /// Bad Message Type.
        pub const BAD_MESSAGE_TYPE: u8 = 3;
    }

    /// OPEN Message Error subcodes (RFC 4271 section 4.5, RFC 5492, RFC 9234).
    pub mod open {
        /// Unsupported Version Number.
        pub const UNSUPPORTED_VERSION_NUMBER: u8 = 1;
        /// Bad Peer AS.
        pub const BAD_PEER_AS: u8 = 2;
        /// Bad BGP Identifier.
        pub const BAD_BGP_IDENTIFIER: u8 = 3;
        /// Unsupported Optional Parameter.
        pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
        /// Unacceptable Hold Time.
        pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
        /// Unsupported Capability (RFC 5492 section 5).
        pub const UNSUPPORTED_CAPABILITY: u8 = 7;
        /// Role Mismatch (RFC 9234 section 4.2).
        pub const ROLE_MISMATCH: u8 = 11;
    }

    /// UPDATE Message Error subcodes (RFC 4271 section 4.5).
    pub mod update {
        /// Malformed Attribute List.
        pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
        /// Unrecognized Well-known Attribute.
        pub const UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: u8 = 2;
        /// Missing Well-known Attribute.
        pub const MISSING_WELL_KNOWN_ATTRIBUTE: u8 = 3;
        /// Attribute Flags Error.
        pub const ATTRIBUTE_FLAGS_ERROR: u8 = 4;
        /// Attribute Length Error.
        pub const ATTRIBUTE_LENGTH_ERROR: u8 = 5;
        /// Invalid ORIGIN Attribute.
        pub const INVALID_ORIGIN_ATTRIBUTE: u8 = 6;
        /// Invalid NEXT_HOP Attribute.
        pub const INVALID_NEXT_HOP_ATTRIBUTE: u8 = 8;
        /// Optional Attribute Error.
        pub const OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
        /// Invalid Network Field.
        pub const INVALID_NETWORK_FIELD: u8 = 10;
        /// Malformed AS_PATH.
        pub const MALFORMED_AS_PATH: u8 = 11;
    }

    /// Finite State Machine Error subcodes (RFC 6608 section 3).
    pub mod fsm {
        /// Unspecified Error.
        pub const UNSPECIFIED: u8 = 0;
        /// Receive Unexpected Message in OpenSent State.
        pub const UNEXPECTED_MESSAGE_IN_OPEN_SENT: u8 = 1;
        /// Receive Unexpected Message in OpenConfirm State.
        pub const UNEXPECTED_MESSAGE_IN_OPEN_CONFIRM: u8 = 2;
        /// Receive Unexpected Message in Established State.
        pub const UNEXPECTED_MESSAGE_IN_ESTABLISHED: u8 = 3;
    }

    /// Cease subcodes (RFC 4486 section 4, RFC 9494 section 4.2).
    pub mod cease {
        /// Maximum Number of Prefixes Reached.
        pub const MAXIMUM_PREFIXES_REACHED: u8 = 1;
        /// Administrative Shutdown (RFC 9003 shutdown communication allowed).
        pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
        /// Peer De-configured.
        pub const PEER_DECONFIGURED: u8 = 3;
        /// Administrative Reset (RFC 9003 shutdown communication allowed).
        pub const ADMINISTRATIVE_RESET: u8 = 4;
        /// Connection Rejected.
        pub const CONNECTION_REJECTED: u8 = 5;
        /// Other Configuration Change.
        pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
        /// Connection Collision Resolution.
        pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
        /// Out of Resources.
        pub const OUT_OF_RESOURCES: u8 = 8;
        /// Hard Reset (RFC 8538).
        pub const HARD_RESET: u8 = 9;
        /// BFD Down (RFC 9384).
        pub const BFD_DOWN: u8 = 10;
    }

    /// ROUTE-REFRESH Message Error subcodes (RFC 7313 section 5).
    pub mod route_refresh {
        /// Invalid Message Length.
        pub const INVALID_MESSAGE_LENGTH: u8 = 1;
    }
}

/// Address Family Identifier (IANA "Address Family Numbers").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Afi(pub u16);

impl Afi {
    /// IP version 4.
    pub const IPV4: Afi = Afi(1);
    /// IP version 6.
    pub const IPV6: Afi = Afi(2);
    /// Layer-2 VPN (RFC 4761), for L2VPN/EVPN.
    pub const L2VPN: Afi = Afi(25);
    /// BGP-LS (RFC 7752).
    pub const BGP_LS: Afi = Afi(16388);
}

impl fmt::Debug for Afi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Afi::IPV4 => f.write_str("ipv4"),
            Afi::IPV6 => f.write_str("ipv6"),
            Afi::L2VPN => f.write_str("l2vpn"),
            Afi::BGP_LS => f.write_str("bgp-ls"),
            Afi(other) => write!(f, "afi-{other}"),
        }
    }
}

impl fmt::Display for Afi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Subsequent Address Family Identifier (IANA "SAFI Values").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Safi(pub u8);

impl Safi {
    /// Unicast forwarding (RFC 4760).
    pub const UNICAST: Safi = Safi(1);
    /// Multicast forwarding (RFC 4760).
    pub const MULTICAST: Safi = Safi(2);
    /// NLRI with MPLS labels (RFC 8277).
    pub const MPLS_LABEL: Safi = Safi(4);
    /// EVPN (RFC 7432).
    pub const EVPN: Safi = Safi(70);
    /// MPLS-labelled VPN address (RFC 4364).
    pub const MPLS_VPN: Safi = Safi(128);
    /// Flow specification (RFC 8955).
    pub const FLOWSPEC: Safi = Safi(133);
    /// Flow specification for VPNs (RFC 8955).
    pub const FLOWSPEC_VPN: Safi = Safi(134);
}

impl fmt::Debug for Safi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Safi::UNICAST => f.write_str("unicast"),
            Safi::MULTICAST => f.write_str("multicast"),
            Safi::MPLS_LABEL => f.write_str("labeled-unicast"),
            Safi::EVPN => f.write_str("evpn"),
            Safi::MPLS_VPN => f.write_str("mpls-vpn"),
            Safi::FLOWSPEC => f.write_str("flowspec"),
            Safi::FLOWSPEC_VPN => f.write_str("flowspec-vpn"),
            Safi(other) => write!(f, "safi-{other}"),
        }
    }
}

impl fmt::Display for Safi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// An address family and sub-family pair, the unit of negotiation in MP-BGP.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AfiSafi {
    /// Address family.
    pub afi: Afi,
    /// Sub-family.
    pub safi: Safi,
}

impl AfiSafi {
    /// IPv4 unicast, the family of plain RFC 4271 UPDATEs.
    pub const IPV4_UNICAST: AfiSafi = AfiSafi::new(Afi::IPV4, Safi::UNICAST);
    /// IPv6 unicast.
    pub const IPV6_UNICAST: AfiSafi = AfiSafi::new(Afi::IPV6, Safi::UNICAST);
    /// IPv4 multicast.
    pub const IPV4_MULTICAST: AfiSafi = AfiSafi::new(Afi::IPV4, Safi::MULTICAST);
    /// IPv6 multicast.
    pub const IPV6_MULTICAST: AfiSafi = AfiSafi::new(Afi::IPV6, Safi::MULTICAST);

    /// Pair an AFI with a SAFI.
    pub const fn new(afi: Afi, safi: Safi) -> Self {
        AfiSafi { afi, safi }
    }

    /// True for the families whose NLRI are plain IP prefixes (unicast and
    /// multicast of IPv4 and IPv6), which this crate decodes into
    /// [`crate::Nlri`] values. Other families travel as raw bytes.
    pub fn has_ip_prefix_nlri(self) -> bool {
        (self.afi == Afi::IPV4 || self.afi == Afi::IPV6)
            && (self.safi == Safi::UNICAST || self.safi == Safi::MULTICAST)
    }
}

impl fmt::Debug for AfiSafi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}-{:?}", self.afi, self.safi)
    }
}

impl fmt::Display for AfiSafi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// AS_TRANS, the 2-octet stand-in for a 4-octet AS number (RFC 6793 section 9).
pub const AS_TRANS: u16 = 23456;

/// The well-known TCP port for BGP (RFC 4271 section 8.2.1).
pub const BGP_PORT: u16 = 179;
