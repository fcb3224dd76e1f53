//! Types shared by the peer tasks, the RIB and the update groups.

use ipnetwork::IpNetwork;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bgp_proto::PeerType;
use bgp_proto::iana::AfiSafi;
use bgp_proto::session::Negotiated;

use crate::attrs::Attrs;

/// A peer's handle inside one speaker. [`PeerId::LOCAL`] stands for routes
/// the speaker originates itself.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u32);

impl PeerId {
    /// Routes originated by this speaker (the client's kernel routes).
    pub const LOCAL: PeerId = PeerId(0);
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == PeerId::LOCAL {
            f.write_str("local")
        } else {
            write!(f, "peer#{}", self.0)
        }
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// How a peer relates to us for route reflection (RFC 4456 section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerRole {
    /// Another AS.
    External,
    /// An iBGP peer that is not our route-reflector client.
    Internal,
    /// An iBGP peer that is our route-reflector client.
    ReflectorClient,
}

/// What the RIB and the update groups know about an Established peer.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// The peer's handle.
    pub id: PeerId,
    /// The peer's address.
    pub address: IpAddr,
    /// The peer's AS.
    pub peer_as: u32,
    /// Our AS on this session.
    pub local_as: u32,
    /// The peer's BGP identifier.
    pub router_id: Ipv4Addr,
    /// External, internal, or reflector client.
    pub role: PeerRole,
    /// The route-reflection cluster ID used towards this peer (RFC 4456
    /// section 7); several cluster IDs may be in use on one speaker.
    pub cluster_id: Ipv4Addr,
    /// The negotiated session parameters.
    pub negotiated: Arc<Negotiated>,
}

impl PeerInfo {
    /// iBGP (internal or client) or eBGP.
    pub fn peer_type(&self) -> PeerType {
        match self.role {
            PeerRole::External => PeerType::External,
            PeerRole::Internal | PeerRole::ReflectorClient => PeerType::Internal,
        }
    }

    /// Does the session carry `family`?
    pub fn has_family(&self, family: AfiSafi) -> bool {
        self.negotiated.has_family(family)
    }
}

/// One path to a prefix, as held in the Adj-RIB-In and Loc-RIB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// Where it came from.
    pub peer: PeerId,
    /// The ADD-PATH identifier it came with (0 without ADD-PATH).
    pub path_id: u32,
    /// Its attributes.
    pub attrs: Attrs,
    /// Marked stale by graceful restart (RFC 4724 section 4.2).
    pub stale: bool,
}

/// The paths of a prefix in a [`RibChange`], best first. Most prefixes have
/// one path, which this holds without a heap allocation.
pub type PathList = smallvec::SmallVec<[Path; 1]>;

/// A change of a prefix's paths in the Loc-RIB, sent to the update groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RibChange {
    /// The family of the prefix.
    pub family: AfiSafi,
    /// The prefix.
    pub prefix: IpNetwork,
    /// All paths, best first; empty when the prefix is gone.
    pub paths: PathList,
    /// The best path before the change (`None`: the prefix had no path).
    /// Update groups that keep no table of their own compare what they
    /// export of it with what they export of the new best path, to send
    /// nothing when a change does not reach them (see [`crate::adj_out`]).
    pub previous_best: Option<Path>,
}
