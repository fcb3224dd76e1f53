//! Path attributes (RFC 4271 section 4.3 and the RFCs of each attribute).
//!
//! Each attribute is a type-length-value triple:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |O|T|P|E| unused|   Type Code   |  Length (1 or 2 octets, E)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Value (Length octets) ...              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  O = Optional, T = Transitive, P = Partial, E = Extended Length
//! ```
//!
//! # Layout
//! - this file: the [`PathAttribute`] enum, flags, small value types, and
//!   the helper that fills the inline lists of AS numbers and communities;
//! - [`as_path`]: AS_PATH / AS4_PATH segments and RFC 6793 reconciliation;
//! - [`community`]: standard, extended, IPv6-extended and large communities;
//! - [`mp`]: MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760);
//! - [`decode`]: the attribute-block decoder with RFC 7606 error handling;
//! - [`encode`]: the attribute-block encoder.

pub mod as_path;
pub mod community;
pub mod decode;
pub mod encode;
pub mod mp;

use bytes::Bytes;
use smallvec::SmallVec;
use std::net::Ipv4Addr;

use crate::iana::attr_type;

pub use as_path::{AsPath, AsSegment, AsnList, SegmentList, SegmentType};
pub use community::{
    Community, CommunityList, ExtendedCommunity, Ipv6ExtendedCommunity, LargeCommunity,
};
pub use decode::decode_attributes;
pub use encode::{encode_attributes, encode_attributes_to_bytes};
pub use mp::{MpNlri, MpReach, MpUnreach, NextHop};

/// The `count` items of `items` in a list that holds up to `N` of them
/// inline: a list that fits is filled in a local array (initialised with
/// `fill`) in one tight loop and moved in whole (no capacity check per item,
/// no allocation); a longer one is collected into one exactly sized
/// allocation. `count` is the number of items `items` yields.
#[inline]
pub(crate) fn inline_list<T: Copy, const N: usize>(
    count: usize,
    items: impl Iterator<Item = T>,
    fill: T,
) -> SmallVec<[T; N]> {
    if count > N {
        return SmallVec::from_vec(items.collect());
    }
    let mut inline = [fill; N];
    let mut len = 0;
    for (slot, item) in inline.iter_mut().zip(items) {
        *slot = item;
        len += 1;
    }
    // `len <= N` (the zip stops at the array's end), so this cannot fail.
    SmallVec::from_buf_and_len(inline, len)
}

/// Attribute flag bits (RFC 4271 section 4.3).
pub mod flags {
    /// The attribute is optional (not well-known).
    pub const OPTIONAL: u8 = 0x80;
    /// An optional attribute is transitive (always set for well-known ones).
    pub const TRANSITIVE: u8 = 0x40;
    /// Some speaker on the path did not recognise this optional transitive
    /// attribute.
    pub const PARTIAL: u8 = 0x20;
    /// The length field is two octets.
    pub const EXTENDED_LENGTH: u8 = 0x10;
    /// The four bits that carry meaning; the rest are ignored (RFC 4271 4.3).
    pub const MEANINGFUL: u8 = 0xf0;
}

/// ORIGIN values (RFC 4271 section 5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// Learned from an interior gateway protocol.
    Igp = 0,
    /// Learned from EGP.
    Egp = 1,
    /// Learned some other way (redistribution).
    Incomplete = 2,
}

impl Origin {
    /// The value from its wire octet.
    pub fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(Origin::Igp),
            1 => Some(Origin::Egp),
            2 => Some(Origin::Incomplete),
            _ => None,
        }
    }
}

/// AGGREGATOR or AS4_AGGREGATOR (RFC 4271 section 5.1.7, RFC 6793).
///
/// ```text
/// +-----------------------------+-----------------------+
/// | AS (2 or 4 octets)          | IPv4 address (4)      |
/// +-----------------------------+-----------------------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aggregator {
    /// The AS that formed the aggregate.
    pub asn: u32,
    /// The BGP identifier of the speaker that formed it.
    pub address: Ipv4Addr,
}

/// An attribute this crate has no type for, kept byte-exact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawAttribute {
    /// Flags as received (with the extended-length bit cleared; the encoder
    /// picks the length size).
    pub flags: u8,
    /// Type code.
    pub type_code: u8,
    /// Value octets.
    pub value: Bytes,
}

impl RawAttribute {
    /// Should a speaker pass this attribute on to its peers (RFC 4271
    /// section 5: unrecognised optional transitive attributes are forwarded
    /// with the Partial bit set; optional non-transitive ones are dropped)?
    pub fn is_forwarded(&self) -> bool {
        self.flags & flags::OPTIONAL != 0 && self.flags & flags::TRANSITIVE != 0
    }

    /// This attribute as it must be forwarded: Partial bit set (RFC 4271
    /// section 5), or `None` if it must be dropped.
    pub fn for_forwarding(&self) -> Option<RawAttribute> {
        self.is_forwarded().then(|| RawAttribute {
            flags: self.flags | flags::PARTIAL,
            ..self.clone()
        })
    }
}

/// One path attribute.
///
/// Known attributes are decoded into typed values; any other attribute
/// (including ones this crate knows but whose value it could not use) is a
/// [`PathAttribute::Raw`] that is written back exactly as it came.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathAttribute {
    /// ORIGIN (type 1).
    Origin(Origin),
    /// AS_PATH (type 2), always held with 4-octet AS numbers.
    AsPath(AsPath),
    /// NEXT_HOP (type 3).
    NextHop(Ipv4Addr),
    /// MULTI_EXIT_DISC (type 4).
    MultiExitDisc(u32),
    /// LOCAL_PREF (type 5).
    LocalPref(u32),
    /// ATOMIC_AGGREGATE (type 6).
    AtomicAggregate,
    /// AGGREGATOR (type 7), always held with a 4-octet AS number.
    Aggregator(Aggregator),
    /// COMMUNITIES (type 8, RFC 1997); up to 12 are held inline.
    Communities(CommunityList),
    /// ORIGINATOR_ID (type 9, RFC 4456).
    OriginatorId(Ipv4Addr),
    /// CLUSTER_LIST (type 10, RFC 4456).
    ClusterList(Vec<Ipv4Addr>),
    /// MP_REACH_NLRI (type 14, RFC 4760), boxed: it is large and one per
    /// UPDATE at most, so the other variants stay small.
    MpReach(Box<MpReach>),
    /// MP_UNREACH_NLRI (type 15, RFC 4760), boxed like [`PathAttribute::MpReach`].
    MpUnreach(Box<MpUnreach>),
    /// EXTENDED COMMUNITIES (type 16, RFC 4360).
    ExtendedCommunities(Vec<ExtendedCommunity>),
    /// AS4_PATH (type 17, RFC 6793).
    As4Path(AsPath),
    /// AS4_AGGREGATOR (type 18, RFC 6793).
    As4Aggregator(Aggregator),
    /// IPv6 Address Specific Extended Community (type 25, RFC 5701).
    Ipv6ExtendedCommunities(Vec<Ipv6ExtendedCommunity>),
    /// LARGE_COMMUNITY (type 32, RFC 8092).
    LargeCommunities(Vec<LargeCommunity>),
    /// Only to Customer (type 35, RFC 9234).
    Otc(u32),
    /// Any other attribute, byte-exact.
    Raw(RawAttribute),
}

impl PathAttribute {
    /// An MP_REACH_NLRI attribute.
    pub fn mp_reach(reach: MpReach) -> PathAttribute {
        PathAttribute::MpReach(Box::new(reach))
    }

    /// An MP_UNREACH_NLRI attribute.
    pub fn mp_unreach(unreach: MpUnreach) -> PathAttribute {
        PathAttribute::MpUnreach(Box::new(unreach))
    }

    /// The attribute type code.
    pub fn type_code(&self) -> u8 {
        match self {
            PathAttribute::Origin(_) => attr_type::ORIGIN,
            PathAttribute::AsPath(_) => attr_type::AS_PATH,
            PathAttribute::NextHop(_) => attr_type::NEXT_HOP,
            PathAttribute::MultiExitDisc(_) => attr_type::MULTI_EXIT_DISC,
            PathAttribute::LocalPref(_) => attr_type::LOCAL_PREF,
            PathAttribute::AtomicAggregate => attr_type::ATOMIC_AGGREGATE,
            PathAttribute::Aggregator(_) => attr_type::AGGREGATOR,
            PathAttribute::Communities(_) => attr_type::COMMUNITIES,
            PathAttribute::OriginatorId(_) => attr_type::ORIGINATOR_ID,
            PathAttribute::ClusterList(_) => attr_type::CLUSTER_LIST,
            PathAttribute::MpReach(_) => attr_type::MP_REACH_NLRI,
            PathAttribute::MpUnreach(_) => attr_type::MP_UNREACH_NLRI,
            PathAttribute::ExtendedCommunities(_) => attr_type::EXTENDED_COMMUNITIES,
            PathAttribute::As4Path(_) => attr_type::AS4_PATH,
            PathAttribute::As4Aggregator(_) => attr_type::AS4_AGGREGATOR,
            PathAttribute::Ipv6ExtendedCommunities(_) => attr_type::IPV6_EXTENDED_COMMUNITIES,
            PathAttribute::LargeCommunities(_) => attr_type::LARGE_COMMUNITIES,
            PathAttribute::Otc(_) => attr_type::OTC,
            PathAttribute::Raw(raw) => raw.type_code,
        }
    }

    /// This attribute in typed form: itself, or for a [`PathAttribute::Raw`]
    /// of a known type (kept raw because it carried the Partial bit), its
    /// decoded value under `ctx`. `None` for unknown types and invalid values.
    pub fn typed(&self, ctx: &crate::context::DecodeCtx) -> Option<PathAttribute> {
        match self {
            PathAttribute::Raw(raw) => {
                // A Partial AGGREGATOR is held in its 4-octet form.
                let ctx = if raw.type_code == attr_type::AGGREGATOR {
                    ctx.with_four_octet_as(true)
                } else {
                    *ctx
                };
                let typed = decode::decode_one(raw.type_code, raw.flags, &raw.value, &ctx)?;
                (!matches!(typed, PathAttribute::Raw(_))).then_some(typed)
            }
            other => Some(other.clone()),
        }
    }

    /// The flags this crate writes for the attribute (without the
    /// extended-length bit, which the encoder sets when needed).
    pub fn flags(&self) -> u8 {
        use flags::{OPTIONAL, TRANSITIVE};
        match self {
            PathAttribute::Origin(_)
            | PathAttribute::AsPath(_)
            | PathAttribute::NextHop(_)
            | PathAttribute::LocalPref(_)
            | PathAttribute::AtomicAggregate => TRANSITIVE,
            PathAttribute::MultiExitDisc(_)
            | PathAttribute::OriginatorId(_)
            | PathAttribute::ClusterList(_)
            | PathAttribute::MpReach(_)
            | PathAttribute::MpUnreach(_) => OPTIONAL,
            PathAttribute::Aggregator(_)
            | PathAttribute::Communities(_)
            | PathAttribute::ExtendedCommunities(_)
            | PathAttribute::As4Path(_)
            | PathAttribute::As4Aggregator(_)
            | PathAttribute::Ipv6ExtendedCommunities(_)
            | PathAttribute::LargeCommunities(_)
            | PathAttribute::Otc(_) => OPTIONAL | TRANSITIVE,
            PathAttribute::Raw(raw) => raw.flags & !flags::EXTENDED_LENGTH,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::CodecCtx;

    /// Decode one COMMUNITIES attribute of `count` communities.
    fn communities(count: u32) -> CommunityList {
        let mut block = vec![flags::OPTIONAL | flags::TRANSITIVE, attr_type::COMMUNITIES];
        block.push((4 * count) as u8);
        for i in 1..=count {
            block.extend((0x0001_0000 + i).to_be_bytes());
        }
        let (attributes, findings) =
            decode_attributes(&block, &CodecCtx::default(), 0, Default::default()).unwrap();
        assert!(findings.is_empty(), "{findings:?}");
        match attributes.as_slice() {
            [PathAttribute::Communities(list)] => list.clone(),
            other => panic!("not one COMMUNITIES: {other:?}"),
        }
    }

    #[test]
    fn communities_up_to_twelve_are_inline_and_more_spill_in_order() {
        for count in [1, 4, 11, 12, 13, 40] {
            let list = communities(count);
            let expected: Vec<Community> =
                (1..=count).map(|i| Community::new(1, i as u16)).collect();
            assert_eq!(list.as_slice(), expected.as_slice(), "{count} communities");
            assert_eq!(list.spilled(), count > 12, "{count} communities");
        }
    }

    #[test]
    fn inline_list_fills_exactly_the_records_given() {
        let items = [1u16, 2, 3];
        let list: SmallVec<[u16; 2]> = inline_list(3, items.iter().copied(), 0);
        assert_eq!(list.as_slice(), &[1, 2, 3]);
        let list: SmallVec<[u16; 4]> = inline_list(3, items.iter().copied(), 9);
        assert_eq!(list.as_slice(), &[1, 2, 3]);
        assert!(!list.spilled());
        // A count larger than the items gives only the items.
        let list: SmallVec<[u16; 4]> = inline_list(4, items.iter().copied(), 9);
        assert_eq!(list.as_slice(), &[1, 2, 3]);
        let none: SmallVec<[u16; 4]> = inline_list(0, std::iter::empty(), 9);
        assert!(none.is_empty());
    }

    /// The inline lists must not make the enum bigger: it is moved into
    /// every attribute vector and stored in every RIB attribute set.
    #[test]
    fn path_attribute_stays_64_bytes() {
        assert_eq!(std::mem::size_of::<PathAttribute>(), 64);
        assert!(std::mem::size_of::<CommunityList>() <= std::mem::size_of::<AsPath>());
    }
}
