//! What the speaker reports: neighbour and route status, and events.

use ipnetwork::IpNetwork;
use std::net::IpAddr;
use std::time::Duration;

use bgp_proto::iana::AfiSafi;
use bgp_proto::session::{DownReason, Negotiated};

use crate::rib::PeerCounters;
use crate::types::{Path, PeerId};

/// Where a peer's session stands, as the core sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeighborState {
    /// Not Established (connecting, or waiting to retry).
    Down,
    /// Up.
    Established,
}

/// One peer, for the operations API.
#[derive(Debug, Clone)]
pub struct NeighborStatus {
    /// The peer's handle.
    pub id: PeerId,
    /// The peer's address.
    pub address: IpAddr,
    /// Configured or (for dynamic neighbours) accepted AS; the negotiated
    /// one once Established.
    pub peer_as: Option<u32>,
    /// Session state.
    pub state: NeighborState,
    /// Time since the last change of state.
    pub since: Duration,
    /// Negotiated parameters while Established.
    pub negotiated: Option<Negotiated>,
    /// Why the session last went down.
    pub last_error: Option<String>,
    /// Prefixes accepted from the peer now, all families.
    pub prefixes_received: u64,
    /// UPDATEs received since the speaker started.
    pub updates_received: u64,
    /// Routes advertised to the peer now (its update group's Adj-RIB-Out),
    /// while it is in sync with its group; `None` while it catches up or
    /// when it is in no group.
    pub prefixes_sent: Option<u64>,
    /// Messages queued to the peer in its current session (UPDATEs and
    /// End-of-RIB); `None` when it is in no group.
    pub updates_sent: Option<u64>,
    /// Bytes queued towards the peer, not yet written.
    pub out_queue_bytes: usize,
    /// How long the oldest of those bytes has waited (the peer's
    /// reflection lag); `None` when nothing is queued.
    pub out_queue_age: Option<Duration>,
    /// A dynamic neighbour (accepted from a configured range).
    pub dynamic: bool,
    /// The Adj-RIB-In counters of the peer (loop drops, policy rejects,
    /// ...); all zero before its first session.
    pub counters: PeerCounters,
}

/// One prefix of the Loc-RIB.
#[derive(Debug, Clone)]
pub struct RouteStatus {
    /// Its family.
    pub family: AfiSafi,
    /// The prefix.
    pub prefix: IpNetwork,
    /// Its paths, best first, with the address of the peer each came from
    /// (`None` for local routes).
    pub paths: Vec<(Path, Option<IpAddr>)>,
}

/// Something that happened in the speaker.
#[derive(Debug, Clone)]
pub enum SpeakerEvent {
    /// A session reached Established.
    PeerUp {
        /// The peer.
        id: PeerId,
        /// Its address.
        address: IpAddr,
        /// What was negotiated.
        negotiated: Box<Negotiated>,
    },
    /// A session went down.
    PeerDown {
        /// The peer.
        id: PeerId,
        /// Its address.
        address: IpAddr,
        /// Why.
        reason: DownReason,
        /// Its routes were kept as stale (graceful restart).
        graceful: bool,
    },
    /// The best path of a prefix changed (`None`: no path any more).
    /// `multipath` holds the equal-cost set when multipath is on.
    ///
    /// Not sent when an origination or withdrawal of this speaker's own
    /// ([`super::SpeakerHandle::originate`] and the like) leaves the
    /// prefix without a learned best path before and after: only the
    /// caller's own path came, went or changed, which the caller knows.
    /// (A node agent would otherwise be woken for each of its own kernel
    /// routes, on the path of the UPDATE that carries it.)
    BestChanged {
        /// Its family.
        family: AfiSafi,
        /// The prefix.
        prefix: IpNetwork,
        /// The new best path.
        best: Option<Path>,
        /// The equal-cost paths (best included), when multipath is on.
        multipath: Vec<Path>,
    },
}
