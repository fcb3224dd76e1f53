//! The export rules, as pure functions: which paths may go to a group and
//! how their attributes change on the way out.
//!
//! A group applies them in this order to a candidate path:
//!
//! 1. [`reflection_allows`] (RFC 4456 section 6, RFC 4271 section 9.1.3):
//!    may a path from this source reach this group at all?
//! 2. [`transform`], cached per attribute set and source: [`communities_allow`]
//!    (RFC 1997), [`export_next_hop`] (RFC 4271 section 5.1.3),
//!    [`forward_unknown`] (RFC 4271 section 5), then by direction
//!    [`reflect`] (iBGP to iBGP, RFC 4456 section 8),
//!    [`add_default_local_pref`] (eBGP or local to iBGP, RFC 4271 section
//!    5.1.5) or [`to_external`] (to eBGP, RFC 4271 sections 5.1.2, 5.1.4,
//!    5.1.5), and [`ensure_mandatory`].
//! 3. The export policy; without one, [`rfc8212_rejects`] towards eBGP.
//!    [`after_policy`] then undoes what a policy may not do towards eBGP
//!    and resolves its next-hop-self marker.
//! 4. When the attribute block is encoded, [`as4_attributes`] (RFC 6793
//!    section 4.2.2) for members without the 4-octet AS capability.

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp_proto::CodecCtx;
use bgp_proto::attribute::{AsPath, Community, NextHop, Origin, PathAttribute};
use bgp_proto::iana::{Afi, attr_type};

use crate::attrs::PathAttrs;
use crate::config::NextHopMode;
use crate::policy::{Policy, is_next_hop_self};
use crate::types::{PeerInfo, PeerRole};

use super::key::{GroupKey, LocalAddresses};

/// LOCAL_PREF given to routes from eBGP or local origin on their way to
/// iBGP peers when they carry none (RFC 4271 section 5.1.5).
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// Where a path came from, as the reflection rules see it (RFC 4456
/// section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceRole {
    /// Originated by this speaker ([`crate::types::PeerId::LOCAL`]).
    Local,
    /// Learned from an eBGP peer.
    External,
    /// Learned from an iBGP peer that is not our client.
    Internal,
    /// Learned from a route-reflector client.
    ReflectorClient,
}

impl SourceRole {
    /// Learned over iBGP (client or not)?
    pub fn is_internal(self) -> bool {
        matches!(self, SourceRole::Internal | SourceRole::ReflectorClient)
    }
}

impl From<PeerRole> for SourceRole {
    fn from(role: PeerRole) -> Self {
        match role {
            PeerRole::External => SourceRole::External,
            PeerRole::Internal => SourceRole::Internal,
            PeerRole::ReflectorClient => SourceRole::ReflectorClient,
        }
    }
}

/// What the rules need to know of a path's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Source {
    /// Its role.
    pub role: SourceRole,
    /// Its BGP identifier (the ORIGINATOR_ID given to reflected routes).
    pub router_id: Ipv4Addr,
    /// The cluster ID we use towards it (for client-to-client reflection).
    pub cluster_id: Option<Ipv4Addr>,
}

impl Source {
    /// Our own routes.
    pub const LOCAL: Source = Source {
        role: SourceRole::Local,
        router_id: Ipv4Addr::UNSPECIFIED,
        cluster_id: None,
    };

    /// A path learned from `peer`.
    pub fn from_peer(peer: &PeerInfo) -> Self {
        Source {
            role: peer.role.into(),
            router_id: peer.router_id,
            cluster_id: Some(peer.cluster_id),
        }
    }
}

/// What the rules need to know of the group a path goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The members' role.
    pub role: PeerRole,
    /// Our AS towards them (prepended towards eBGP).
    pub local_as: u32,
    /// The cluster ID prepended to CLUSTER_LIST when reflecting.
    pub cluster_id: Ipv4Addr,
    /// Reflect client routes to clients of the same cluster.
    pub client_to_client: bool,
    /// Next-hop mode.
    pub next_hop: NextHopMode,
    /// Our session addresses, for next hop self.
    pub local: LocalAddresses,
}

impl Target {
    /// The target of a group.
    pub fn from_key(key: &GroupKey) -> Self {
        Target {
            role: key.role,
            local_as: key.local_as,
            cluster_id: key.cluster_id,
            client_to_client: key.client_to_client,
            next_hop: key.next_hop,
            local: key.self_address.unwrap_or_default(),
        }
    }
}

/// Why a path is not exported to a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
pub enum NotExported {
    /// The reflection rules forbid it (RFC 4456 section 6, RFC 4271 9.1.3).
    #[error("iBGP route not reflected to this group (RFC 4456 section 6)")]
    Reflection,
    /// NO_ADVERTISE (RFC 1997).
    #[error("NO_ADVERTISE community (RFC 1997)")]
    NoAdvertise,
    /// NO_EXPORT towards eBGP (RFC 1997).
    #[error("NO_EXPORT community towards eBGP (RFC 1997)")]
    NoExport,
    /// NO_EXPORT_SUBCONFED towards eBGP (RFC 1997; we have no confederation).
    #[error("NO_EXPORT_SUBCONFED community towards eBGP (RFC 1997)")]
    NoExportSubconfed,
    /// No export policy towards eBGP (RFC 8212 section 3).
    #[error("no export policy towards an eBGP peer (RFC 8212)")]
    NoExportPolicy,
    /// The export policy rejected it.
    #[error("rejected by the export policy")]
    PolicyRejected,
    /// No next hop of the prefix's family is available (next hop self
    /// without such a session address, or an IPv6 link-local one).
    #[error("no usable next hop for the family (RFC 4271 section 5.1.3)")]
    NoNextHop,
    /// The attributes do not fit in one message with a prefix.
    #[error("attributes too large for a message")]
    TooLarge,
    /// The path's source peer is not known.
    #[error("source peer unknown")]
    UnknownSource,
}

impl NotExported {
    /// Every reason, in declaration order.
    pub const ALL: [NotExported; 9] = [
        NotExported::Reflection,
        NotExported::NoAdvertise,
        NotExported::NoExport,
        NotExported::NoExportSubconfed,
        NotExported::NoExportPolicy,
        NotExported::PolicyRejected,
        NotExported::NoNextHop,
        NotExported::TooLarge,
        NotExported::UnknownSource,
    ];

    /// Position in [`NotExported::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// RFC 4456 section 6 (and RFC 4271 section 9.1.3 for iBGP): a route from
/// a client goes to clients and non-clients and eBGP; from a non-client iBGP
/// peer, to clients and eBGP only; from eBGP or our own, everywhere. With
/// client-to-client reflection off for the target's cluster (RFC 4456
/// section 5: the clients are fully meshed), client routes do not go to
/// clients of that same cluster.
pub fn reflection_allows(source: &Source, target: &Target) -> Result<(), NotExported> {
    use SourceRole::{External, Internal, Local, ReflectorClient};
    let allowed = match (source.role, target.role) {
        (Local | External, _) | (_, PeerRole::External) => true,
        (ReflectorClient, PeerRole::ReflectorClient) => {
            target.client_to_client || source.cluster_id != Some(target.cluster_id)
        }
        (ReflectorClient, PeerRole::Internal) | (Internal, PeerRole::ReflectorClient) => true,
        (Internal, PeerRole::Internal) => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(NotExported::Reflection)
    }
}

/// RFC 1997: NO_ADVERTISE goes to nobody; NO_EXPORT and
/// NO_EXPORT_SUBCONFED not to eBGP peers (without a confederation every
/// eBGP peer is outside it).
///
/// COMMUNITIES that came with the Partial bit is held raw (RFC 4271
/// section 5 forbids clearing the bit) and is decoded here.
pub fn communities_allow(attrs: &PathAttrs, target: PeerRole) -> Result<(), NotExported> {
    let decoded;
    let list: &[Community] = match attrs.get(attr_type::COMMUNITIES) {
        Some(PathAttribute::Communities(list)) => list,
        Some(raw @ PathAttribute::Raw(_)) => {
            decoded = raw.typed(&CodecCtx::default());
            match &decoded {
                Some(PathAttribute::Communities(list)) => list,
                _ => return Ok(()),
            }
        }
        _ => return Ok(()),
    };
    if list.contains(&Community::NO_ADVERTISE) {
        return Err(NotExported::NoAdvertise);
    }
    if target == PeerRole::External {
        if list.contains(&Community::NO_EXPORT) {
            return Err(NotExported::NoExport);
        }
        if list.contains(&Community::NO_EXPORT_SUBCONFED) {
            return Err(NotExported::NoExportSubconfed);
        }
    }
    Ok(())
}

/// RFC 8212 section 3: without an export policy nothing goes to eBGP.
pub fn rfc8212_rejects(policy: Option<&Policy>, target: PeerRole) -> bool {
    policy.is_none() && target == PeerRole::External
}

/// RFC 4271 section 5: unrecognised optional transitive attributes are
/// passed on with the Partial bit set; unrecognised non-transitive ones
/// are dropped.
pub fn forward_unknown(attributes: &mut Vec<PathAttribute>) {
    attributes.retain_mut(|attribute| match attribute {
        PathAttribute::Raw(raw) => match raw.for_forwarding() {
            Some(forwarded) => {
                *raw = forwarded;
                true
            }
            None => false,
        },
        _ => true,
    });
}

/// RFC 4456 section 8, reflecting an iBGP route to iBGP peers: set
/// ORIGINATOR_ID to the source's BGP identifier unless present, and
/// prepend the cluster ID to CLUSTER_LIST. Everything else, the next hop
/// included, stays as received.
pub fn reflect(attrs: &mut PathAttrs, source_router_id: Ipv4Addr, cluster_id: Ipv4Addr) {
    if attrs.originator_id().is_none() {
        set(
            &mut attrs.attributes,
            PathAttribute::OriginatorId(source_router_id),
        );
    }
    let mut list = Vec::with_capacity(attrs.cluster_list().len() + 1);
    list.push(cluster_id);
    list.extend_from_slice(attrs.cluster_list());
    set(&mut attrs.attributes, PathAttribute::ClusterList(list));
}

/// RFC 4271 section 5.1.5: a route sent to iBGP peers carries LOCAL_PREF;
/// routes from eBGP or our own get [`DEFAULT_LOCAL_PREF`] when they have
/// none (import policy may have set one).
pub fn add_default_local_pref(attrs: &mut PathAttrs) {
    if attrs.local_pref().is_none() {
        set(
            &mut attrs.attributes,
            PathAttribute::LocalPref(DEFAULT_LOCAL_PREF),
        );
    }
}

/// RFC 4271 section 5.1.4: a MED learned from a neighbouring AS must not go
/// to other ASes. True for eBGP-learned paths and for iBGP-learned paths
/// that entered our AS from another (non-empty AS_PATH outside
/// confederation segments); false for our own routes and routes
/// originated inside the AS, whose MED we may pass on.
pub fn med_from_other_as(source: SourceRole, attrs: &PathAttrs) -> bool {
    match source {
        SourceRole::External => true,
        SourceRole::Local => false,
        SourceRole::Internal | SourceRole::ReflectorClient => attrs
            .as_path()
            .segments
            .iter()
            .any(|s| !s.kind.is_confed() && !s.asns.is_empty()),
    }
}

/// To an eBGP peer: prepend our AS to AS_PATH (RFC 4271 section 5.1.2;
/// confederation segments removed, RFC 5065 section 5.3), remove
/// LOCAL_PREF (section 5.1.5), ORIGINATOR_ID and CLUSTER_LIST (RFC 4456
/// section 8: meaningful in the AS only), and MED when `strip_med`
/// ([`med_from_other_as`]).
pub fn to_external(attrs: &mut PathAttrs, local_as: u32, strip_med: bool) {
    let path = AsPath {
        segments: attrs
            .as_path()
            .segments
            .iter()
            .filter(|s| !s.kind.is_confed())
            .cloned()
            .collect(),
    };
    set(
        &mut attrs.attributes,
        PathAttribute::AsPath(path.prepended(local_as, 1)),
    );
    strip_internal(&mut attrs.attributes);
    if strip_med {
        remove(&mut attrs.attributes, attr_type::MULTI_EXIT_DISC);
    }
}

fn strip_internal(attributes: &mut Vec<PathAttribute>) {
    attributes.retain(|a| {
        !matches!(
            a.type_code(),
            attr_type::LOCAL_PREF | attr_type::ORIGINATOR_ID | attr_type::CLUSTER_LIST
        )
    });
}

/// RFC 4271 sections 5.1.1 and 5.1.2: every announcement carries ORIGIN
/// and AS_PATH; our own routes may lack them (IGP and the empty path).
pub fn ensure_mandatory(attrs: &mut PathAttrs) {
    if attrs.get(attr_type::ORIGIN).is_none() {
        set(&mut attrs.attributes, PathAttribute::Origin(Origin::Igp));
    }
    if attrs.get(attr_type::AS_PATH).is_none() {
        set(
            &mut attrs.attributes,
            PathAttribute::AsPath(AsPath::default()),
        );
    }
}

/// RFC 4271 section 5.1.3: the next hop towards the group for a prefix of
/// `afi`. [`NextHopMode::Auto`] rewrites it to our session address towards
/// eBGP and keeps it towards iBGP (reflected routes keep theirs, RFC 4456
/// section 10); `SelfAddress` always rewrites, `Keep` never, `Explicit`
/// sets the given address. An unspecified next hop (0.0.0.0, ::) or the
/// policy's next-hop-self marker always means our address. Our IPv6
/// address must be global (RFC 2545 section 3); without an address of the
/// family the path cannot be exported.
pub fn export_next_hop(
    current: &NextHop,
    afi: Afi,
    target: &Target,
) -> Result<NextHop, NotExported> {
    if means_self(current) {
        return self_next_hop(afi, &target.local);
    }
    match target.next_hop {
        NextHopMode::Keep => Ok(current.clone()),
        NextHopMode::Auto if target.role != PeerRole::External => Ok(current.clone()),
        NextHopMode::Auto | NextHopMode::SelfAddress => self_next_hop(afi, &target.local),
        NextHopMode::Explicit(std::net::IpAddr::V4(v4)) if afi == Afi::IPV4 => Ok(NextHop::V4(v4)),
        NextHopMode::Explicit(std::net::IpAddr::V6(v6)) if afi == Afi::IPV6 => Ok(NextHop::V6 {
            global: v6,
            link_local: None,
        }),
        NextHopMode::Explicit(_) => Err(NotExported::NoNextHop),
    }
}

/// Our address as next hop for `afi`.
pub fn self_next_hop(afi: Afi, local: &LocalAddresses) -> Result<NextHop, NotExported> {
    let next_hop = match afi {
        Afi::IPV4 => local.v4.map(NextHop::V4),
        Afi::IPV6 => local.v6.filter(is_global).map(|global| NextHop::V6 {
            global,
            link_local: None,
        }),
        _ => None,
    };
    next_hop.ok_or(NotExported::NoNextHop)
}

fn means_self(next_hop: &NextHop) -> bool {
    match next_hop {
        NextHop::V4(v4) => v4.is_unspecified(),
        NextHop::V6 { global, .. } => global.is_unspecified(),
        raw @ NextHop::Raw(_) => is_next_hop_self(raw),
    }
}

fn is_global(address: &Ipv6Addr) -> bool {
    let link_local = address.segments()[0] & 0xffc0 == 0xfe80;
    !(address.is_unspecified() || address.is_loopback() || address.is_multicast() || link_local)
}

/// Steps 2 of the module documentation: the attributes of a path from
/// `source` as the group sends them, before the export policy, or why it is
/// not sent. Depends only on its arguments, so a group caches the result
/// per (attribute set, source, family).
pub fn transform(
    attrs: &PathAttrs,
    source: &Source,
    target: &Target,
    afi: Afi,
) -> Result<PathAttrs, NotExported> {
    communities_allow(attrs, target.role)?;
    let next_hop = export_next_hop(&attrs.next_hop, afi, target)?;
    let mut out = PathAttrs {
        next_hop,
        attributes: attrs.attributes.clone(),
    };
    if source.role != SourceRole::Local {
        forward_unknown(&mut out.attributes);
    }
    match target.role {
        PeerRole::External => {
            let strip_med = med_from_other_as(source.role, attrs);
            to_external(&mut out, target.local_as, strip_med);
        }
        PeerRole::Internal | PeerRole::ReflectorClient => {
            if source.role.is_internal() {
                reflect(&mut out, source.router_id, target.cluster_id);
            } else {
                add_default_local_pref(&mut out);
            }
        }
    }
    ensure_mandatory(&mut out);
    Ok(out)
}

/// After an export policy changed a route: towards eBGP, remove again the
/// iBGP-only attributes a policy may have set (RFC 4271 section 5.1.5, RFC
/// 4456 section 8); resolve the next-hop-self marker to our address.
pub fn after_policy(attrs: &mut PathAttrs, target: &Target, afi: Afi) -> Result<(), NotExported> {
    if target.role == PeerRole::External {
        strip_internal(&mut attrs.attributes);
    }
    if means_self(&attrs.next_hop) {
        attrs.next_hop = self_next_hop(afi, &target.local)?;
    }
    Ok(())
}

/// RFC 6793 section 4.2.2: towards a peer without the 4-octet AS
/// capability, send AS4_PATH when AS_PATH has an AS above 65535 (AS_PATH
/// itself then carries AS_TRANS) and AS4_AGGREGATOR likewise. Towards a
/// 4-octet peer neither is sent (section 4.1).
///
/// AS4_PATH and AS4_AGGREGATOR received, typed or held raw with the Partial
/// bit, are replaced: the RIB holds the reconciled path (RFC 6793 section
/// 4.2.3) in AS_PATH, from which AS4_PATH is made again. An AGGREGATOR held
/// raw (Partial bit) is forwarded as received and gets no AS4_AGGREGATOR.
pub fn as4_attributes(attributes: &mut Vec<PathAttribute>, four_octet_as: bool) {
    attributes.retain(|a| {
        !matches!(
            a.type_code(),
            attr_type::AS4_PATH | attr_type::AS4_AGGREGATOR
        )
    });
    if four_octet_as {
        return;
    }
    let as4_path = attributes.iter().find_map(|a| match a {
        PathAttribute::AsPath(path) => path.as4_path_for_two_octet_peer(),
        _ => None,
    });
    let as4_aggregator = attributes.iter().find_map(|a| match a {
        PathAttribute::Aggregator(aggregator) if aggregator.asn > u32::from(u16::MAX) => {
            Some(*aggregator)
        }
        _ => None,
    });
    if let Some(path) = as4_path {
        set(attributes, PathAttribute::As4Path(path));
    }
    if let Some(aggregator) = as4_aggregator {
        set(attributes, PathAttribute::As4Aggregator(aggregator));
    }
}

/// Replace the attribute of the same type, or insert it in type-code order
/// (RFC 4271 section 5: senders should order attributes by type).
pub(crate) fn set(attributes: &mut Vec<PathAttribute>, attribute: PathAttribute) {
    let code = attribute.type_code();
    if let Some(existing) = attributes.iter_mut().find(|a| a.type_code() == code) {
        *existing = attribute;
        return;
    }
    let at = attributes
        .iter()
        .position(|a| a.type_code() > code)
        .unwrap_or(attributes.len());
    attributes.insert(at, attribute);
}

fn remove(attributes: &mut Vec<PathAttribute>, code: u8) {
    attributes.retain(|a| a.type_code() != code);
}

#[cfg(test)]
#[path = "export_tests.rs"]
mod tests;
