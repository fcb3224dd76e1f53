//! Communities: standard (RFC 1997), extended (RFC 4360), IPv6 address
//! specific extended (RFC 5701) and large (RFC 8092).
//!
//! ```text
//! standard (4 octets):   +---------------+---------------+
//!                        | AS (2)        | value (2)     |
//!                        +---------------+---------------+
//! extended (8 octets):   +------+-------+----------------------------+
//!                        | type | subtype | value (6)                |
//!                        +------+-------+----------------------------+
//! IPv6 extended (20):    +------+-------+------------------+---------+
//!                        | type | subtype | IPv6 address (16) | local (2)|
//!                        +------+-------+------------------+---------+
//! large (12 octets):     +----------------+-------------+-------------+
//!                        | global admin(4)| local 1 (4) | local 2 (4) |
//!                        +----------------+-------------+-------------+
//! ```

use smallvec::SmallVec;
use std::fmt;
use std::net::Ipv6Addr;

/// The value of a COMMUNITIES attribute: up to 12 communities are held
/// inline (nine lists in ten of a real update stream, see
/// `docs/BENCHMARKS.md`), which takes no more room than the largest other
/// [`crate::PathAttribute`] value (an AS path), so the common case does not
/// allocate.
pub type CommunityList = SmallVec<[Community; 12]>;

/// A standard community (RFC 1997), as its 32-bit value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// NO_EXPORT (RFC 1997).
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997).
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// GRACEFUL_SHUTDOWN (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// BLACKHOLE (RFC 7999).
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);
    /// LLGR_STALE (RFC 9494).
    pub const LLGR_STALE: Community = Community(0xFFFF_0006);
    /// NO_LLGR (RFC 9494).
    pub const NO_LLGR: Community = Community(0xFFFF_0007);

    /// The community `asn:value`.
    pub fn new(asn: u16, value: u16) -> Self {
        Community((u32::from(asn) << 16) | u32::from(value))
    }

    /// The high 16 bits, conventionally an AS number.
    pub fn asn(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// The low 16 bits.
    pub fn value(self) -> u16 {
        self.0 as u16
    }
}

impl fmt::Debug for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.asn(), self.value())
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// An extended community (RFC 4360), kept as its 8 octets.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtendedCommunity(pub [u8; 8]);

impl ExtendedCommunity {
    /// The type octet (high bit: IANA authority; bit 6: non-transitive).
    pub fn type_high(self) -> u8 {
        self.0[0]
    }

    /// The subtype octet.
    pub fn subtype(self) -> u8 {
        self.0[1]
    }

    /// Is this community transitive across ASes (RFC 4360 section 2)?
    pub fn is_transitive(self) -> bool {
        self.0[0] & 0x40 == 0
    }

    /// A 2-octet-AS-specific route target (type 0x00, subtype 0x02).
    pub fn route_target(asn: u16, value: u32) -> Self {
        let mut octets = [0u8; 8];
        octets[1] = 0x02;
        octets[2..4].copy_from_slice(&asn.to_be_bytes());
        octets[4..].copy_from_slice(&value.to_be_bytes());
        ExtendedCommunity(octets)
    }
}

impl fmt::Debug for ExtendedCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ext:")?;
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// An IPv6 address specific extended community (RFC 5701), 20 octets.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6ExtendedCommunity(pub [u8; 20]);

impl Ipv6ExtendedCommunity {
    /// The global administrator address.
    pub fn address(&self) -> Ipv6Addr {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(&self.0[2..18]);
        Ipv6Addr::from(octets)
    }

    /// The local administrator value.
    pub fn local(&self) -> u16 {
        u16::from_be_bytes([self.0[18], self.0[19]])
    }
}

impl fmt::Debug for Ipv6ExtendedCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ipv6-ext:{:02x}{:02x}:{}:{}",
            self.0[0],
            self.0[1],
            self.address(),
            self.local()
        )
    }
}

/// A large community (RFC 8092): `global:local1:local2`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    /// Global administrator, an AS number.
    pub global: u32,
    /// First local data part.
    pub local1: u32,
    /// Second local data part.
    pub local2: u32,
}

impl fmt::Debug for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn community_halves() {
        let c = Community::new(65000, 120);
        assert_eq!((c.asn(), c.value()), (65000, 120));
        assert_eq!(c.to_string(), "65000:120");
    }

    #[test]
    fn extended_community_transitivity_bit() {
        assert!(ExtendedCommunity::route_target(1, 2).is_transitive());
        assert!(!ExtendedCommunity([0x40, 0, 0, 0, 0, 0, 0, 0]).is_transitive());
    }
}
