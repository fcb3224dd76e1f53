//! Policy conditions: what a statement matches on.

use ipnetwork::IpNetwork;
use std::net::IpAddr;

use bgp_proto::attribute::{Community, LargeCommunity, NextHop, Origin};
use bgp_proto::iana::AfiSafi;

use crate::attrs::PathAttrs;

use super::{RouteContext, communities, large_communities};

/// One condition of a [`super::Statement`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The route's prefix matches any of the ranges.
    Prefix(Vec<PrefixRange>),
    /// The route is of this family.
    Family(AfiSafi),
    /// COMMUNITIES contains this community (RFC 1997).
    Community(Community),
    /// LARGE_COMMUNITY contains this community (RFC 8092).
    LargeCommunity(LargeCommunity),
    /// The AS path contains this AS anywhere (sets included).
    AsPathContains(u32),
    /// The AS path's last AS (the origin AS, in a sequence) is this one.
    OriginatesFrom(u32),
    /// The AS path's first AS (the neighbour AS, RFC 4271 section 9.1.2.2 c)
    /// is this one.
    NeighborAs(u32),
    /// The AS path length (as counted by best-path selection: a set counts
    /// one, confederation segments zero) is within `min..=max`.
    AsPathLength {
        /// Shortest length matched.
        min: u32,
        /// Longest length matched.
        max: u32,
    },
    /// The peer's address (source for import, target for export) is in the
    /// prefix.
    PeerAddress(IpNetwork),
    /// The peer's AS is this one.
    PeerAs(u32),
    /// ORIGIN is this value.
    Origin(Origin),
    /// The next hop (the global address for IPv6) is in the prefix.
    NextHopIn(IpNetwork),
    /// Any of the conditions matches (none: never).
    Any(Vec<Condition>),
    /// The condition does not match.
    Not(Box<Condition>),
}

impl Condition {
    /// Does the route match?
    pub fn matches(&self, ctx: &RouteContext<'_>, attrs: &PathAttrs) -> bool {
        match self {
            Condition::Prefix(ranges) => ranges.iter().any(|r| r.matches(ctx.prefix)),
            Condition::Family(family) => ctx.family == *family,
            Condition::Community(community) => communities(attrs).contains(community),
            Condition::LargeCommunity(community) => large_communities(attrs).contains(community),
            Condition::AsPathContains(asn) => attrs.as_path().contains(*asn),
            Condition::OriginatesFrom(asn) => attrs.as_path().origin_asn() == Some(*asn),
            Condition::NeighborAs(asn) => attrs.as_path().first_asn() == Some(*asn),
            Condition::AsPathLength { min, max } => {
                let len = attrs.as_path().path_length();
                (*min as usize..=*max as usize).contains(&len)
            }
            Condition::PeerAddress(net) => net.contains(ctx.peer.address),
            Condition::PeerAs(asn) => ctx.peer.peer_as == *asn,
            Condition::Origin(origin) => attrs.origin() == *origin,
            Condition::NextHopIn(net) => {
                next_hop_address(&attrs.next_hop).is_some_and(|address| net.contains(address))
            }
            Condition::Any(conditions) => conditions.iter().any(|c| c.matches(ctx, attrs)),
            Condition::Not(condition) => !condition.matches(ctx, attrs),
        }
    }

    /// Does the outcome depend on the prefix (and not only on attributes,
    /// family and peer)?
    pub fn depends_on_prefix(&self) -> bool {
        match self {
            Condition::Prefix(_) => true,
            Condition::Any(conditions) => conditions.iter().any(Condition::depends_on_prefix),
            Condition::Not(condition) => condition.depends_on_prefix(),
            _ => false,
        }
    }
}

/// A prefix and a range of lengths, as in a prefix list:
/// `10.0.0.0/8 le 24` matches 10.0.0.0/8 and every more specific prefix
/// inside it up to /24.
///
/// - neither `ge` nor `le`: only the prefix itself;
/// - `le` only: lengths from the prefix's own up to `le`;
/// - `ge` only: lengths from `ge` up to the address size (32 or 128);
/// - both: lengths from `ge` up to `le`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixRange {
    /// The covering prefix (host bits are ignored).
    pub prefix: IpNetwork,
    /// Shortest length matched.
    pub ge: Option<u8>,
    /// Longest length matched.
    pub le: Option<u8>,
}

impl PrefixRange {
    /// Exactly `prefix`; add [`PrefixRange::ge`] / [`PrefixRange::le`] to widen it.
    pub fn new(prefix: IpNetwork) -> Self {
        PrefixRange {
            prefix,
            ge: None,
            le: None,
        }
    }

    /// This range with lengths of at least `len`.
    #[must_use]
    pub fn ge(mut self, len: u8) -> Self {
        self.ge = Some(len);
        self
    }

    /// This range with lengths of at most `len`.
    #[must_use]
    pub fn le(mut self, len: u8) -> Self {
        self.le = Some(len);
        self
    }

    /// The lengths matched, inclusive.
    pub fn lengths(&self) -> (u8, u8) {
        let own = self.prefix.prefix();
        let max = match self.prefix {
            IpNetwork::V4(_) => 32,
            IpNetwork::V6(_) => 128,
        };
        match (self.ge, self.le) {
            (None, None) => (own, own),
            (None, Some(le)) => (own, le),
            (Some(ge), None) => (ge, max),
            (Some(ge), Some(le)) => (ge, le),
        }
    }

    /// Is `prefix` inside the covering prefix with a length in range?
    pub fn matches(&self, prefix: IpNetwork) -> bool {
        let len = prefix.prefix();
        let (min, max) = self.lengths();
        len >= self.prefix.prefix()
            && (min..=max).contains(&len)
            && self.prefix.contains(prefix.network())
    }
}

fn next_hop_address(next_hop: &NextHop) -> Option<IpAddr> {
    match next_hop {
        NextHop::V4(address) => Some(IpAddr::V4(*address)),
        NextHop::V6 { global, .. } => Some(IpAddr::V6(*global)),
        NextHop::Raw(_) => None,
    }
}
