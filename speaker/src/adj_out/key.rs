//! What puts two peers in the same update group.
//!
//! Two members share a group exactly when every route would leave the
//! speaker towards them as the same bytes: same export rules (role, cluster
//! ID, local AS, client-to-client reflection), same export policy, same next
//! hop, and the same negotiated encoding (RFC 6793 4-octet AS, RFC 7911
//! ADD-PATH send families, RFC 8654 Extended Message, the family set).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bgp_proto::EncodeCtx;
use bgp_proto::iana::AfiSafi;

use crate::config::{AddPathSend, NextHopMode, PeerOptions};
use crate::outbox::Outbox;
use crate::policy::Policy;
use crate::types::{PeerInfo, PeerRole};

use super::AdjOutConfig;
use super::policy_hook;

/// The handle of one update group inside an [`super::AdjOut`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub u32);

impl fmt::Debug for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "group#{}", self.0)
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Our addresses on a session, used when the next hop is rewritten to
/// ourselves (RFC 4271 section 5.1.3): the IPv4 one for IPv4 NLRI, the
/// IPv6 one for IPv6 NLRI (RFC 2545 section 3: it must be global).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LocalAddresses {
    /// Next hop self for IPv4 NLRI.
    pub v4: Option<Ipv4Addr>,
    /// Next hop self for IPv6 NLRI.
    pub v6: Option<Ipv6Addr>,
}

impl LocalAddresses {
    /// These addresses with `v6` as the IPv6 next hop (for IPv6 NLRI on an
    /// IPv4 session).
    #[must_use]
    pub fn with_v6(mut self, v6: Ipv6Addr) -> Self {
        self.v6 = Some(v6);
        self
    }

    /// These addresses with `v4` as the IPv4 next hop (for IPv4 NLRI on an
    /// IPv6 session).
    #[must_use]
    pub fn with_v4(mut self, v4: Ipv4Addr) -> Self {
        self.v4 = Some(v4);
        self
    }
}

impl From<IpAddr> for LocalAddresses {
    /// The session's local address; an IPv4-mapped IPv6 address counts as
    /// IPv4.
    fn from(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => LocalAddresses {
                v4: Some(v4),
                v6: None,
            },
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => LocalAddresses {
                    v4: Some(v4),
                    v6: None,
                },
                None => LocalAddresses {
                    v4: None,
                    v6: Some(v6),
                },
            },
        }
    }
}

/// Everything [`super::AdjOut::add_member`] needs about a new member.
#[derive(Debug, Clone)]
pub struct MemberSpec {
    /// The Established peer.
    pub info: PeerInfo,
    /// Our addresses on its session.
    pub local_address: LocalAddresses,
    /// Next hop towards it.
    pub next_hop: NextHopMode,
    /// How many paths to send where ADD-PATH send was negotiated.
    pub add_path_send: AddPathSend,
    /// Its export policy (`None`: RFC 8212 defaults).
    pub export: Option<Policy>,
    /// Its outbox, shared with its peer task.
    pub outbox: Arc<Outbox>,
}

impl MemberSpec {
    /// The member as configured by `options` (next hop, ADD-PATH send
    /// count, export policy).
    pub fn new(
        info: PeerInfo,
        local_address: impl Into<LocalAddresses>,
        options: &PeerOptions,
        outbox: Arc<Outbox>,
    ) -> Self {
        MemberSpec {
            info,
            local_address: local_address.into(),
            next_hop: options.next_hop,
            add_path_send: options.add_path_send,
            export: options.export.clone(),
            outbox,
        }
    }
}

/// The identity of a group; see the module documentation.
///
/// Fields that cannot change what a member receives are normalised, so they
/// do not split groups needlessly: the cluster ID of eBGP groups, the local
/// address unless the next hop is rewritten to self, the ADD-PATH send mode
/// when no family negotiated ADD-PATH send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupKey {
    /// External, internal or reflector client.
    pub role: PeerRole,
    /// The cluster ID prepended to CLUSTER_LIST (iBGP groups only).
    pub cluster_id: Ipv4Addr,
    /// Our AS towards the members.
    pub local_as: u32,
    /// Reflect client routes to clients of the same cluster (RFC 4456
    /// section 5); always true for non-client groups.
    pub client_to_client: bool,
    /// The export policy, by value.
    pub export: Option<Policy>,
    /// The target's address and AS, only when the export policy tests them
    /// (then the group has one member, or members that look alike).
    pub peer_identity: Option<(IpAddr, u32)>,
    /// Next-hop mode.
    pub next_hop: NextHopMode,
    /// Our session addresses, only where the next hop is rewritten to self.
    pub self_address: Option<LocalAddresses>,
    /// ADD-PATH send count (RFC 7911).
    pub add_path_send: AddPathSend,
    /// The negotiated encoding.
    pub ctx: EncodeCtx,
    /// The negotiated families, sorted.
    pub families: Vec<AfiSafi>,
}

impl GroupKey {
    /// The key of `spec` under `config`.
    pub fn new(spec: &MemberSpec, config: &AdjOutConfig) -> Self {
        let info = &spec.info;
        let ctx = info.negotiated.encode_ctx();
        let role = info.role;
        let policy_self = spec
            .export
            .as_ref()
            .is_some_and(policy_hook::sets_next_hop_self);
        let rewrites = policy_self
            || match spec.next_hop {
                NextHopMode::SelfAddress => true,
                NextHopMode::Auto => role == PeerRole::External,
                NextHopMode::Keep | NextHopMode::Explicit(_) => false,
            };
        let mut families = info.negotiated.families.clone();
        families.sort();
        families.dedup();
        let cluster_id = match role {
            PeerRole::External => Ipv4Addr::UNSPECIFIED,
            PeerRole::Internal | PeerRole::ReflectorClient => info.cluster_id,
        };
        let client_to_client =
            role != PeerRole::ReflectorClient || config.client_to_client(info.cluster_id);
        let peer_identity = spec
            .export
            .as_ref()
            .is_some_and(policy_hook::depends_on_peer)
            .then_some((info.address, info.peer_as));
        GroupKey {
            role,
            cluster_id,
            local_as: info.local_as,
            client_to_client,
            export: spec.export.clone(),
            peer_identity,
            next_hop: spec.next_hop,
            self_address: rewrites.then_some(spec.local_address),
            add_path_send: if ctx.add_path.is_empty() {
                AddPathSend::Best
            } else {
                spec.add_path_send
            },
            ctx,
            families,
        }
    }

    /// How many paths per prefix go to the group for `family`: `None`
    /// without ADD-PATH send (one path, no path identifier on the wire),
    /// otherwise the most paths with identifiers (RFC 7911 section 3).
    pub fn path_limit(&self, family: AfiSafi) -> Option<usize> {
        if !self.ctx.add_path_for(family) {
            return None;
        }
        Some(match self.add_path_send {
            AddPathSend::Best => 1,
            AddPathSend::BestN(n) => usize::from(n.max(1)),
            AddPathSend::All => usize::MAX,
        })
    }
}
