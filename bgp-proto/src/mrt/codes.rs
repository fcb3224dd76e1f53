//! MRT type and subtype codes (RFC 6396 section 4, RFC 8050 section 3).

/// MRT record types (RFC 6396 section 4).
pub mod mrt_type {
    /// TABLE_DUMP, the original RIB dump format (RFC 6396 section 4.2).
    pub const TABLE_DUMP: u16 = 12;
    /// TABLE_DUMP_V2 (RFC 6396 section 4.3).
    pub const TABLE_DUMP_V2: u16 = 13;
    /// BGP4MP (RFC 6396 section 4.4).
    pub const BGP4MP: u16 = 16;
    /// BGP4MP_ET: BGP4MP with a microsecond timestamp (RFC 6396 section 4.5).
    pub const BGP4MP_ET: u16 = 17;
    /// ISIS_ET (RFC 6396 section 4.7); read as a raw record.
    pub const ISIS_ET: u16 = 33;
    /// OSPFv3_ET (RFC 6396 section 4.9); read as a raw record.
    pub const OSPFV3_ET: u16 = 49;

    /// Do records of this type carry the 4-octet microsecond field after the
    /// common header (RFC 6396 section 3)?
    pub fn is_extended(mrt_type: u16) -> bool {
        matches!(mrt_type, BGP4MP_ET | ISIS_ET | OSPFV3_ET)
    }
}

/// TABLE_DUMP subtypes: the address family (RFC 6396 section 4.2).
pub mod table_dump {
    /// IPv4 entries.
    pub const AFI_IPV4: u16 = 1;
    /// IPv6 entries.
    pub const AFI_IPV6: u16 = 2;
}

/// TABLE_DUMP_V2 subtypes (RFC 6396 section 4.3, RFC 8050 section 3).
pub mod table_dump_v2 {
    /// PEER_INDEX_TABLE (RFC 6396 section 4.3.1).
    pub const PEER_INDEX_TABLE: u16 = 1;
    /// RIB_IPV4_UNICAST (RFC 6396 section 4.3.2).
    pub const RIB_IPV4_UNICAST: u16 = 2;
    /// RIB_IPV4_MULTICAST (RFC 6396 section 4.3.2).
    pub const RIB_IPV4_MULTICAST: u16 = 3;
    /// RIB_IPV6_UNICAST (RFC 6396 section 4.3.2).
    pub const RIB_IPV6_UNICAST: u16 = 4;
    /// RIB_IPV6_MULTICAST (RFC 6396 section 4.3.2).
    pub const RIB_IPV6_MULTICAST: u16 = 5;
    /// RIB_GENERIC (RFC 6396 section 4.3.3); read as a raw record.
    pub const RIB_GENERIC: u16 = 6;
    /// RIB_IPV4_UNICAST_ADDPATH (RFC 8050 section 3).
    pub const RIB_IPV4_UNICAST_ADDPATH: u16 = 8;
    /// RIB_IPV4_MULTICAST_ADDPATH (RFC 8050 section 3).
    pub const RIB_IPV4_MULTICAST_ADDPATH: u16 = 9;
    /// RIB_IPV6_UNICAST_ADDPATH (RFC 8050 section 3).
    pub const RIB_IPV6_UNICAST_ADDPATH: u16 = 10;
    /// RIB_IPV6_MULTICAST_ADDPATH (RFC 8050 section 3).
    pub const RIB_IPV6_MULTICAST_ADDPATH: u16 = 11;
    /// RIB_GENERIC_ADDPATH (RFC 8050 section 3); read as a raw record.
    pub const RIB_GENERIC_ADDPATH: u16 = 12;
}

/// BGP4MP and BGP4MP_ET subtypes (RFC 6396 section 4.4, RFC 8050 section 3).
pub mod bgp4mp {
    /// STATE_CHANGE, 2-octet AS numbers (RFC 6396 section 4.4.1).
    pub const STATE_CHANGE: u16 = 0;
    /// MESSAGE, 2-octet AS numbers (RFC 6396 section 4.4.2).
    pub const MESSAGE: u16 = 1;
    /// MESSAGE_AS4 (RFC 6396 section 4.4.3).
    pub const MESSAGE_AS4: u16 = 4;
    /// STATE_CHANGE_AS4 (RFC 6396 section 4.4.4).
    pub const STATE_CHANGE_AS4: u16 = 5;
    /// MESSAGE_LOCAL: a message the local speaker sent (RFC 6396 section 4.4.5).
    pub const MESSAGE_LOCAL: u16 = 6;
    /// MESSAGE_AS4_LOCAL (RFC 6396 section 4.4.6).
    pub const MESSAGE_AS4_LOCAL: u16 = 7;
    /// MESSAGE_ADDPATH (RFC 8050 section 3).
    pub const MESSAGE_ADDPATH: u16 = 8;
    /// MESSAGE_AS4_ADDPATH (RFC 8050 section 3).
    pub const MESSAGE_AS4_ADDPATH: u16 = 9;
    /// MESSAGE_LOCAL_ADDPATH (RFC 8050 section 3).
    pub const MESSAGE_LOCAL_ADDPATH: u16 = 10;
    /// MESSAGE_AS4_LOCAL_ADDPATH (RFC 8050 section 3).
    pub const MESSAGE_AS4_LOCAL_ADDPATH: u16 = 11;
}
