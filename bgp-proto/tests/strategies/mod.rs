//! Proptest strategies for valid `bgp-proto` values: every message type,
//! every capability and path attribute the crate models, in every session
//! context.
//!
//! "Valid" means: decoding the encoding gives back the same value with no
//! RFC 7606 findings. The strategies therefore respect what the decoder
//! normalises or drops:
//! - prefixes are canonical (host bits cleared) and carry a path identifier
//!   exactly when the context has ADD-PATH for their family;
//! - on 2-octet-AS sessions AS numbers are 1..=65535 (larger ones would be
//!   written as AS_TRANS), and AS4_PATH / AS4_AGGREGATOR appear only there,
//!   AS4_PATH without confederation segments;
//! - LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST appear only on iBGP;
//! - each attribute type appears at most once; list attributes are non-empty;
//!   ORIGIN and AS_PATH are present when routes are announced, NEXT_HOP when
//!   the NLRI field is not empty;
//! - AS number 0 never appears; no AS path segment is empty or longer than 255;
//! - list capabilities fit one capability value (255 octets), and the OPEN
//!   parameter layout is the one the decoder reports.
//!
//! Sizes are kept small enough that most messages fit 4096 octets; callers
//! skip the ones that do not (`EncodeError::TooLong`).
//!
//! Used by `tests/proptest_roundtrip.rs` (`mod strategies;`), and by the fuzz
//! crate, whose `roundtrip` target builds its messages with [`from_bytes`].
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use bgp_proto::attribute::{
    Aggregator, AsPath, AsSegment, Community, ExtendedCommunity, Ipv6ExtendedCommunity,
    LargeCommunity, MpNlri, MpReach, MpUnreach, NextHop, Origin, PathAttribute, RawAttribute,
    SegmentType, flags,
};
use bgp_proto::capability::{
    AddPathMode, Capability, ExtendedNextHop, Fqdn, GracefulRestart, LlgrFamily, Role,
};
use bgp_proto::message::notification::Notification;
use bgp_proto::message::open::{BGP_VERSION, Open, ParameterLayout};
use bgp_proto::message::route_refresh::{RefreshSubtype, RouteRefresh};
use bgp_proto::message::{Message, Update};
use bgp_proto::{
    AddPathFamilies, Afi, AfiSafi, CodecCtx, EncodeError, Nlri, PeerType, Safi, decode_message,
};
use bytes::Bytes;
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// The families with decoded prefix NLRI, which ADD-PATH contexts track.
pub const IP_FAMILIES: [AfiSafi; 4] = [
    AfiSafi::IPV4_UNICAST,
    AfiSafi::IPV6_UNICAST,
    AfiSafi::IPV4_MULTICAST,
    AfiSafi::IPV6_MULTICAST,
];

/// Attribute type codes the crate decodes into typed values; every other
/// code becomes a [`RawAttribute`].
pub const KNOWN_ATTRIBUTE_TYPES: [u8; 18] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 25, 32, 35,
];

/// Capability codes the crate decodes into typed values.
pub const KNOWN_CAPABILITY_CODES: [u8; 12] = [1, 2, 5, 6, 9, 64, 65, 69, 70, 71, 73, 128];

// ---------------------------------------------------------------- contexts

/// Any session context: 4-octet AS on or off, ADD-PATH for any subset of the
/// IP families, Extended Message on or off, iBGP or eBGP.
pub fn ctx() -> impl Strategy<Value = CodecCtx> {
    (any::<bool>(), 0u8..16, any::<bool>(), any::<bool>()).prop_map(
        |(four_octet_as, add_path_bits, extended_message, external)| {
            let mut add_path = AddPathFamilies::NONE;
            for (bit, family) in IP_FAMILIES.iter().enumerate() {
                if add_path_bits & (1 << bit) != 0 {
                    add_path.insert(*family);
                }
            }
            CodecCtx {
                four_octet_as,
                add_path,
                extended_message,
                peer_type: if external {
                    PeerType::External
                } else {
                    PeerType::Internal
                },
            }
        },
    )
}

// ---------------------------------------------------------------- prefixes

/// A canonical IPv4 network: any length, host bits cleared.
pub fn ipv4_network() -> impl Strategy<Value = IpNetwork> {
    (any::<u32>(), 0u8..=32).prop_map(|(bits, len)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
        let net = Ipv4Network::new(Ipv4Addr::from(bits & mask), len).expect("length <= 32");
        IpNetwork::V4(net)
    })
}

/// A canonical IPv6 network: any length, host bits cleared.
pub fn ipv6_network() -> impl Strategy<Value = IpNetwork> {
    (any::<u128>(), 0u8..=128).prop_map(|(bits, len)| {
        let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
        let net = Ipv6Network::new(Ipv6Addr::from(bits & mask), len).expect("length <= 128");
        IpNetwork::V6(net)
    })
}

/// One prefix of `afi`, with a path identifier exactly when `add_path`.
pub fn nlri(afi: Afi, add_path: bool) -> BoxedStrategy<Nlri> {
    let prefix = if afi == Afi::IPV6 {
        ipv6_network().boxed()
    } else {
        ipv4_network().boxed()
    };
    if add_path {
        (prefix, any::<u32>())
            .prop_map(|(prefix, id)| Nlri::with_path_id(prefix, id))
            .boxed()
    } else {
        prefix.prop_map(Nlri::new).boxed()
    }
}

/// A list of prefixes: usually short, sometimes long enough to need
/// Extended Message (or to be skipped as too long without it).
pub fn nlri_list(afi: Afi, add_path: bool) -> BoxedStrategy<Vec<Nlri>> {
    prop_oneof![
        12 => vec(nlri(afi, add_path), 0..=12),
        1 => vec(nlri(afi, add_path), 300..=1200),
    ]
    .boxed()
}

// ---------------------------------------------------------------- AS paths

/// An AS number that the context carries exactly: never 0, and below 65536
/// on 2-octet sessions.
pub fn asn(four_octet: bool) -> BoxedStrategy<u32> {
    if four_octet {
        prop_oneof![1u32..=65535, 65536u32..=u32::MAX, Just(u32::MAX)].boxed()
    } else {
        (1u32..=65535).boxed()
    }
}

/// Any segment type, or only AS_SET / AS_SEQUENCE.
pub fn segment_type(confed: bool) -> BoxedStrategy<SegmentType> {
    if confed {
        prop_oneof![
            Just(SegmentType::Set),
            Just(SegmentType::Sequence),
            Just(SegmentType::ConfedSequence),
            Just(SegmentType::ConfedSet),
        ]
        .boxed()
    } else {
        prop_oneof![Just(SegmentType::Set), Just(SegmentType::Sequence)].boxed()
    }
}

/// A segment of 1 to 255 AS numbers (the most one segment holds).
pub fn as_segment(four_octet: bool, confed: bool) -> impl Strategy<Value = AsSegment> {
    let asns = prop_oneof![
        10 => vec(asn(four_octet), 1..=8),
        1 => vec(asn(four_octet), 240..=255),
    ];
    (segment_type(confed), asns).prop_map(|(kind, asns)| AsSegment {
        kind,
        asns: asns.into(),
    })
}

/// An AS path of up to 4 segments (possibly none).
pub fn as_path(four_octet: bool, confed: bool) -> impl Strategy<Value = AsPath> {
    vec(as_segment(four_octet, confed), 0..=4).prop_map(|segments| AsPath {
        segments: segments.into(),
    })
}

// ---------------------------------------------------------------- attributes

/// AGGREGATOR / AS4_AGGREGATOR: a non-zero AS the context carries exactly.
pub fn aggregator(four_octet: bool) -> impl Strategy<Value = Aggregator> {
    (asn(four_octet), any::<u32>()).prop_map(|(asn, addr)| Aggregator {
        asn,
        address: Ipv4Addr::from(addr),
    })
}

/// A non-empty list of `element`s, usually short.
fn non_empty<S: Strategy + 'static>(element: S) -> BoxedStrategy<Vec<S::Value>>
where
    S::Value: std::fmt::Debug,
{
    vec(element, 1..=6).boxed()
}

/// The IP families, and any other AFI/SAFI pair (whose NLRI are opaque).
pub fn family() -> BoxedStrategy<AfiSafi> {
    prop_oneof![
        3 => proptest::sample::select(IP_FAMILIES.to_vec()),
        1 => opaque_family(),
    ]
    .boxed()
}

/// An AFI/SAFI pair whose NLRI the crate keeps as bytes.
pub fn opaque_family() -> BoxedStrategy<AfiSafi> {
    let common = proptest::sample::select(vec![
        AfiSafi::new(Afi::IPV4, Safi::MPLS_LABEL),
        AfiSafi::new(Afi::IPV4, Safi::MPLS_VPN),
        AfiSafi::new(Afi::IPV6, Safi::MPLS_VPN),
        AfiSafi::new(Afi::IPV4, Safi::FLOWSPEC),
        AfiSafi::new(Afi::IPV6, Safi::FLOWSPEC),
        AfiSafi::new(Afi::L2VPN, Safi::EVPN),
        AfiSafi::new(Afi::BGP_LS, Safi(71)),
    ]);
    let any_pair = (any::<u16>(), any::<u8>())
        .prop_map(|(afi, safi)| AfiSafi::new(Afi(afi), Safi(safi)))
        .prop_filter("opaque family", |family| !family.has_ip_prefix_nlri());
    prop_oneof![common, any_pair].boxed()
}

fn ipv6_addr() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from)
}

/// A next hop that decodes as itself for `family`: 4 octets (IPv4 families
/// only), 16 or 32 for the IP families; any bytes for the others.
pub fn next_hop(family: AfiSafi) -> BoxedStrategy<NextHop> {
    if !family.has_ip_prefix_nlri() {
        return vec(any::<u8>(), 0..=40)
            .prop_map(|bytes| NextHop::Raw(Bytes::from(bytes)))
            .boxed();
    }
    let v6 = (ipv6_addr(), option::of(ipv6_addr()))
        .prop_map(|(global, link_local)| NextHop::V6 { global, link_local });
    if family.afi == Afi::IPV4 {
        prop_oneof![
            2 => any::<u32>().prop_map(|a| NextHop::V4(Ipv4Addr::from(a))),
            1 => v6,
        ]
        .boxed()
    } else {
        v6.boxed()
    }
}

/// The NLRI of an MP attribute of `family`: prefixes, or opaque bytes.
pub fn mp_nlri(family: AfiSafi, add_path: bool) -> BoxedStrategy<MpNlri> {
    if family.has_ip_prefix_nlri() {
        nlri_list(family.afi, add_path)
            .prop_map(MpNlri::Prefixes)
            .boxed()
    } else {
        vec(any::<u8>(), 0..=64)
            .prop_map(|bytes| MpNlri::Opaque(Bytes::from(bytes)))
            .boxed()
    }
}

/// MP_REACH_NLRI of any family, with a next hop that fits it.
pub fn mp_reach(ctx: CodecCtx) -> impl Strategy<Value = MpReach> {
    family().prop_flat_map(move |afi_safi| {
        (
            next_hop(afi_safi),
            mp_nlri(afi_safi, ctx.add_path_for(afi_safi)),
        )
            .prop_map(move |(next_hop, nlri)| MpReach {
                afi_safi,
                next_hop,
                nlri,
            })
    })
}

/// MP_UNREACH_NLRI of any family (empty: an End-of-RIB marker).
pub fn mp_unreach(ctx: CodecCtx) -> impl Strategy<Value = MpUnreach> {
    family().prop_flat_map(move |afi_safi| {
        mp_nlri(afi_safi, ctx.add_path_for(afi_safi)).prop_map(move |withdrawn| MpUnreach {
            afi_safi,
            withdrawn,
        })
    })
}

/// Up to three unknown attributes with distinct type codes: Optional bit set,
/// any Transitive and Partial bits, any value.
pub fn raw_attributes() -> impl Strategy<Value = Vec<RawAttribute>> {
    let code = any::<u8>().prop_filter("unknown attribute type", |code| {
        !KNOWN_ATTRIBUTE_TYPES.contains(code)
    });
    let body = (any::<bool>(), any::<bool>(), raw_value());
    btree_map(code, body, 0..=3).prop_map(|map: BTreeMap<u8, (bool, bool, Vec<u8>)>| {
        map.into_iter()
            .map(|(type_code, (transitive, partial, value))| {
                let mut flag_bits = flags::OPTIONAL;
                if transitive {
                    flag_bits |= flags::TRANSITIVE;
                }
                if partial {
                    flag_bits |= flags::PARTIAL;
                }
                RawAttribute {
                    flags: flag_bits,
                    type_code,
                    value: Bytes::from(value),
                }
            })
            .collect()
    })
}

/// An attribute value: usually short, sometimes over 255 octets (so the
/// Extended Length bit is needed).
fn raw_value() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        8 => vec(any::<u8>(), 0..=24),
        1 => vec(any::<u8>(), 250..=600),
    ]
    .boxed()
}

/// Strategy for "maybe this attribute", present with probability 1/2.
fn maybe<S: Strategy + 'static>(strategy: S) -> BoxedStrategy<Option<S::Value>>
where
    S::Value: std::fmt::Debug,
{
    option::of(strategy).boxed()
}

/// Strategy for an attribute that is allowed only when `allowed`.
fn maybe_if<S: Strategy + 'static>(allowed: bool, strategy: S) -> BoxedStrategy<Option<S::Value>>
where
    S::Value: std::fmt::Debug + Clone,
{
    if allowed {
        maybe(strategy)
    } else {
        Just(None).boxed()
    }
}

/// The optional parts of an attribute set, before the mandatory ones are
/// settled by [`update`].
#[derive(Debug, Clone)]
pub struct AttributeParts {
    origin: (bool, Origin),
    as_path: (bool, AsPath),
    next_hop: (bool, Ipv4Addr),
    med: Option<u32>,
    local_pref: Option<u32>,
    atomic_aggregate: bool,
    aggregator: Option<Aggregator>,
    communities: Option<Vec<Community>>,
    originator_id: Option<Ipv4Addr>,
    cluster_list: Option<Vec<Ipv4Addr>>,
    mp_reach: Option<MpReach>,
    mp_unreach: Option<MpUnreach>,
    extended_communities: Option<Vec<ExtendedCommunity>>,
    as4_path: Option<AsPath>,
    as4_aggregator: Option<Aggregator>,
    ipv6_extended_communities: Option<Vec<Ipv6ExtendedCommunity>>,
    large_communities: Option<Vec<LargeCommunity>>,
    otc: Option<u32>,
    raw: Vec<RawAttribute>,
}

impl AttributeParts {
    /// The attribute list, with ORIGIN and AS_PATH forced in when routes are
    /// announced and NEXT_HOP when `ipv4_nlri` (RFC 4271 section 5, RFC 4760
    /// section 3), in a fixed order; callers shuffle it.
    fn into_attributes(self, ipv4_nlri: bool) -> Vec<PathAttribute> {
        let announces = ipv4_nlri
            || self
                .mp_reach
                .as_ref()
                .is_some_and(|reach| !reach.nlri.is_empty());
        let mut out = Vec::new();
        if self.origin.0 || announces {
            out.push(PathAttribute::Origin(self.origin.1));
        }
        if self.as_path.0 || announces {
            out.push(PathAttribute::AsPath(self.as_path.1));
        }
        if self.next_hop.0 || ipv4_nlri {
            out.push(PathAttribute::NextHop(self.next_hop.1));
        }
        out.extend(self.med.map(PathAttribute::MultiExitDisc));
        out.extend(self.local_pref.map(PathAttribute::LocalPref));
        if self.atomic_aggregate {
            out.push(PathAttribute::AtomicAggregate);
        }
        out.extend(self.aggregator.map(PathAttribute::Aggregator));
        out.extend(
            self.communities
                .map(|c| PathAttribute::Communities(c.into())),
        );
        out.extend(self.originator_id.map(PathAttribute::OriginatorId));
        out.extend(self.cluster_list.map(PathAttribute::ClusterList));
        out.extend(self.mp_reach.map(PathAttribute::mp_reach));
        out.extend(self.mp_unreach.map(PathAttribute::mp_unreach));
        out.extend(
            self.extended_communities
                .map(PathAttribute::ExtendedCommunities),
        );
        out.extend(self.as4_path.map(PathAttribute::As4Path));
        out.extend(self.as4_aggregator.map(PathAttribute::As4Aggregator));
        out.extend(
            self.ipv6_extended_communities
                .map(PathAttribute::Ipv6ExtendedCommunities),
        );
        out.extend(self.large_communities.map(PathAttribute::LargeCommunities));
        out.extend(self.otc.map(PathAttribute::Otc));
        out.extend(self.raw.into_iter().map(PathAttribute::Raw));
        out
    }
}

/// Every attribute the context allows, each present or not; MP attributes
/// only when `with_mp`.
pub fn attribute_parts(ctx: CodecCtx, with_mp: bool) -> impl Strategy<Value = AttributeParts> {
    let four = ctx.four_octet_as;
    let ibgp = ctx.peer_type == PeerType::Internal;
    let origin = prop_oneof![
        Just(Origin::Igp),
        Just(Origin::Egp),
        Just(Origin::Incomplete)
    ];
    let ipv4 = || any::<u32>().prop_map(Ipv4Addr::from);
    let well_known = (
        (any::<bool>(), origin),
        (any::<bool>(), as_path(four, true)),
        (any::<bool>(), ipv4()),
        maybe(any::<u32>()),
        maybe_if(ibgp, any::<u32>()),
        any::<bool>(),
        maybe(aggregator(four)),
    );
    let optional = (
        maybe(non_empty(any::<u32>().prop_map(Community))),
        maybe_if(ibgp, ipv4()),
        maybe_if(ibgp, non_empty(ipv4())),
        maybe_if(with_mp, mp_reach(ctx)),
        maybe_if(with_mp, mp_unreach(ctx)),
        maybe(non_empty(any::<[u8; 8]>().prop_map(ExtendedCommunity))),
    );
    let more = (
        maybe_if(!four, as_path(true, false)),
        maybe_if(!four, aggregator(true)),
        maybe(non_empty(any::<[u8; 20]>().prop_map(Ipv6ExtendedCommunity))),
        maybe(non_empty(
            (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(global, local1, local2)| {
                LargeCommunity {
                    global,
                    local1,
                    local2,
                }
            }),
        )),
        maybe(any::<u32>()),
        raw_attributes(),
    );
    (well_known, optional, more).prop_map(
        |(
            (origin, as_path, next_hop, med, local_pref, atomic_aggregate, aggregator),
            (communities, originator_id, cluster_list, mp_reach, mp_unreach, extended_communities),
            (as4_path, as4_aggregator, ipv6_extended_communities, large_communities, otc, raw),
        )| AttributeParts {
            origin,
            as_path,
            next_hop,
            med,
            local_pref,
            atomic_aggregate,
            aggregator,
            communities,
            originator_id,
            cluster_list,
            mp_reach,
            mp_unreach,
            extended_communities,
            as4_path,
            as4_aggregator,
            ipv6_extended_communities,
            large_communities,
            otc,
            raw,
        },
    )
}

/// A valid attribute list in random order; `ipv4_nlri` says whether the
/// UPDATE has routes in its NLRI field.
pub fn attributes(
    ctx: CodecCtx,
    ipv4_nlri: bool,
    with_mp: bool,
) -> impl Strategy<Value = Vec<PathAttribute>> {
    attribute_parts(ctx, with_mp)
        .prop_map(move |parts| parts.into_attributes(ipv4_nlri))
        .prop_shuffle()
}

/// An attribute block for the packer: no MP attributes, ORIGIN and AS_PATH
/// always (the packed UPDATEs announce routes), NEXT_HOP when `ipv4_nlri`.
pub fn packer_attributes(
    ctx: CodecCtx,
    ipv4_nlri: bool,
) -> impl Strategy<Value = Vec<PathAttribute>> {
    attribute_parts(ctx, false)
        .prop_map(move |mut parts| {
            parts.origin.0 = true;
            parts.as_path.0 = true;
            parts.into_attributes(ipv4_nlri)
        })
        .prop_shuffle()
}

// ---------------------------------------------------------------- messages

/// A valid UPDATE for `ctx`: withdrawn routes, NLRI, and attributes of every
/// kind the context allows.
pub fn update(ctx: CodecCtx) -> impl Strategy<Value = Update> {
    let add_path = ctx.add_path_for(AfiSafi::IPV4_UNICAST);
    (
        nlri_list(Afi::IPV4, add_path),
        nlri_list(Afi::IPV4, add_path),
    )
        .prop_flat_map(move |(withdrawn, nlri)| {
            let ipv4_nlri = !nlri.is_empty();
            attributes(ctx, ipv4_nlri, true).prop_map(move |attributes| Update {
                withdrawn: withdrawn.clone(),
                attributes,
                nlri: nlri.clone(),
            })
        })
}

/// An AFI/SAFI pair of any value (capabilities carry families verbatim).
pub fn any_family() -> BoxedStrategy<AfiSafi> {
    prop_oneof![
        3 => proptest::sample::select(IP_FAMILIES.to_vec()),
        1 => (any::<u16>(), any::<u8>()).prop_map(|(afi, safi)| AfiSafi::new(Afi(afi), Safi(safi))),
    ]
    .boxed()
}

/// A list of `element`s that fits one capability value of `entry_len`-octet
/// entries; usually short.
fn capability_list<S: Strategy + Clone + 'static>(
    element: S,
    entry_len: usize,
) -> BoxedStrategy<Vec<S::Value>>
where
    S::Value: std::fmt::Debug,
{
    let most = 255 / entry_len;
    prop_oneof![
        6 => vec(element.clone(), 0..=3),
        1 => vec(element, 0..=most),
    ]
    .boxed()
}

/// Graceful Restart with up to 63 families (what one value holds).
pub fn graceful_restart() -> impl Strategy<Value = GracefulRestart> {
    (
        any::<bool>(),
        any::<bool>(),
        0u16..=0x0fff,
        capability_list((any_family(), any::<bool>()), 4),
    )
        .prop_map(
            |(restart_state, notification, restart_time, families)| GracefulRestart {
                restart_state,
                notification,
                restart_time,
                families,
            },
        )
}

/// An FQDN capability: both names together fit 253 octets.
pub fn fqdn() -> impl Strategy<Value = Fqdn> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..=16),
        1 => vec(any::<u8>(), 0..=253),
    ]
    .prop_flat_map(|hostname| {
        let room = 253 - hostname.len();
        vec(any::<u8>(), 0..=room.min(40)).prop_map(move |domain| Fqdn {
            hostname: Bytes::from(hostname.clone()),
            domain: Bytes::from(domain),
        })
    })
}

/// Any capability of any kind the crate models, or an unknown one.
pub fn capability() -> BoxedStrategy<Capability> {
    let add_path_mode = prop_oneof![
        Just(AddPathMode::Receive),
        Just(AddPathMode::Send),
        Just(AddPathMode::Both)
    ];
    let enh =
        (any_family(), any::<u16>()).prop_map(|(nlri, afi)| ExtendedNextHop::new(nlri, Afi(afi)));
    let llgr = (any_family(), any::<u8>(), 0u32..=0x00ff_ffff).prop_map(
        |(afi_safi, flags, stale_time)| LlgrFamily {
            afi_safi,
            flags,
            stale_time,
        },
    );
    let unknown_code = any::<u8>().prop_filter("unknown capability code", |code| {
        !KNOWN_CAPABILITY_CODES.contains(code)
    });
    let unknown_value = prop_oneof![
        4 => vec(any::<u8>(), 0..=16),
        1 => vec(any::<u8>(), 0..=255),
    ];
    prop_oneof![
        any_family().prop_map(Capability::Multiprotocol),
        Just(Capability::RouteRefresh),
        capability_list(enh, 6).prop_map(Capability::ExtendedNextHop),
        Just(Capability::ExtendedMessage),
        any::<u8>().prop_map(|role| Capability::BgpRole(Role::from_u8(role))),
        graceful_restart().prop_map(Capability::GracefulRestart),
        any::<u32>().prop_map(Capability::FourOctetAs),
        capability_list((any_family(), add_path_mode), 4).prop_map(Capability::AddPath),
        Just(Capability::EnhancedRouteRefresh),
        capability_list(llgr, 7).prop_map(Capability::LongLivedGracefulRestart),
        fqdn().prop_map(Capability::Fqdn),
        Just(Capability::RouteRefreshCisco),
        (unknown_code, unknown_value).prop_map(|(code, value)| Capability::Unknown {
            code,
            value: Bytes::from(value),
        }),
    ]
    .boxed()
}

/// The layout the decoder reports for parameters holding `groups[i]`
/// capabilities each (mirrors `open::layout_of`).
pub fn canonical_layout(groups: Vec<usize>) -> ParameterLayout {
    if groups.iter().all(|&n| n == 1) {
        return ParameterLayout::OnePerParameter;
    }
    match groups[..] {
        [n] if n > 1 => ParameterLayout::Single,
        _ => ParameterLayout::Grouped(groups),
    }
}

/// Split `count` capabilities into parameters of `sizes[i] % 4` capabilities
/// (0 is an empty parameter); what is left goes into a last parameter.
fn group_sizes(count: usize, sizes: &[u8]) -> Vec<usize> {
    let mut groups = Vec::new();
    let mut left = count;
    for &size in sizes {
        if left == 0 {
            break;
        }
        let size = usize::from(size % 4).min(left);
        groups.push(size);
        left -= size;
    }
    if left > 0 {
        groups.push(left);
    }
    groups
}

/// An OPEN with the given capabilities, laid out one per parameter, all in
/// one parameter, or grouped at random (with empty parameters).
fn open_with(capabilities: Vec<Capability>) -> impl Strategy<Value = Open> {
    let count = capabilities.len();
    (
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        0u8..3,
        vec(any::<u8>(), 0..=8),
    )
        .prop_map(move |(my_as, hold_time, id, layout_kind, sizes)| {
            let groups = match layout_kind {
                0 => vec![1; count],
                1 if count > 0 => vec![count],
                1 => Vec::new(),
                _ => group_sizes(count, &sizes),
            };
            Open {
                version: BGP_VERSION,
                my_as,
                hold_time,
                bgp_identifier: Ipv4Addr::from(id),
                capabilities: capabilities.clone(),
                layout: canonical_layout(groups),
            }
        })
}

/// A valid OPEN: any fixed fields, up to 16 capabilities of every kind.
pub fn open() -> impl Strategy<Value = Open> {
    vec(capability(), 0..=16).prop_flat_map(open_with)
}

/// An OPEN whose optional parameters need more than 255 octets, so it is
/// written in the extended format of RFC 9072.
pub fn open_with_extended_parameters() -> impl Strategy<Value = Open> {
    // Two values of 127 octets take 2 x (2 + 2 + 127) = 262 octets as
    // separate parameters, 2 + 2 x (2 + 127) = 260 as one: always over
    // the 255 of the short format, whatever the layout.
    let big =
        (200u8..=255, vec(any::<u8>(), 127..=255)).prop_map(|(code, value)| Capability::Unknown {
            code,
            value: Bytes::from(value),
        });
    (vec(big, 2..=6), vec(capability(), 0..=6))
        .prop_flat_map(|(mut big, rest)| {
            big.extend(rest);
            Just(big).prop_shuffle()
        })
        .prop_flat_map(open_with)
}

/// A NOTIFICATION: any code and subcode, data usually short.
pub fn notification() -> impl Strategy<Value = Notification> {
    let data = prop_oneof![
        8 => vec(any::<u8>(), 0..=64),
        1 => vec(any::<u8>(), 3000..=6000),
    ];
    (any::<u8>(), any::<u8>(), data)
        .prop_map(|(code, subcode, data)| Notification::new(code, subcode, Bytes::from(data)))
}

/// A ROUTE-REFRESH of any family and subtype (normal, BoRR, EoRR, reserved).
pub fn route_refresh() -> impl Strategy<Value = RouteRefresh> {
    (any::<u16>(), any::<u8>(), any::<u8>()).prop_map(|(afi, subtype, safi)| RouteRefresh {
        afi: Afi(afi),
        subtype: RefreshSubtype::from_u8(subtype),
        safi: Safi(safi),
    })
}

/// Any valid message for `ctx`.
pub fn message(ctx: CodecCtx) -> BoxedStrategy<Message> {
    prop_oneof![
        1 => Just(Message::Keepalive),
        3 => open().prop_map(Message::Open),
        6 => update(ctx).prop_map(Message::Update),
        2 => notification().prop_map(Message::Notification),
        1 => route_refresh().prop_map(Message::RouteRefresh),
    ]
    .boxed()
}

/// A context and a valid message for it.
pub fn ctx_and_message() -> impl Strategy<Value = (CodecCtx, Message)> {
    ctx().prop_flat_map(|ctx| (Just(ctx), message(ctx)))
}

// ---------------------------------------------------------------- properties

/// `decode(encode(m)) == m` with no findings; messages too long for the
/// context are skipped. Returns whether the message was checked.
pub fn assert_round_trips(ctx: &CodecCtx, message: &Message) -> bool {
    let bytes = match message.to_bytes(ctx) {
        Ok(bytes) => bytes,
        Err(EncodeError::TooLong { .. }) => return false,
        Err(err) => panic!("{message:?} does not encode: {err}"),
    };
    let decoded = match decode_message(&bytes, ctx) {
        Ok(decoded) => decoded,
        Err(err) => panic!(
            "encoding of {message:?} does not decode under {ctx:?}: {err}\nbytes {}",
            hex(&bytes)
        ),
    };
    assert!(
        decoded.findings.is_empty(),
        "findings {:?} for {message:?} under {ctx:?}\nbytes {}",
        decoded.findings,
        hex(&bytes)
    );
    assert_eq!(
        &decoded.message,
        message,
        "round trip under {ctx:?} differs\nbytes {}",
        hex(&bytes)
    );
    true
}

/// Build a context and a message from `data`, for the `roundtrip` fuzz
/// target: the input is folded into the 32-octet seed of proptest's ChaCha
/// RNG, so every input names one generated value. (Proptest's pass-through
/// RNG is not used: it hands each nested strategy half of what is left, and
/// the all-zero stream that follows makes rand's range sampling loop
/// forever.) `None` if a filter rejected every attempt.
pub fn from_bytes(data: &[u8]) -> Option<(CodecCtx, Message)> {
    let mut seed = [0u8; 32];
    for (i, &byte) in data.iter().enumerate() {
        let slot = &mut seed[i % 32];
        *slot = slot.wrapping_mul(31).wrapping_add(byte) ^ (i / 32) as u8;
    }
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, rng);
    let tree = ctx_and_message().new_tree(&mut runner).ok()?;
    Some(tree.current())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
