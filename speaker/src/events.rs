//! Messages between the peer tasks and the speaker's core task.
//!
//! Peer tasks send [`PeerEvent`]s to the core over one bounded channel (a
//! full channel makes the peer stop reading its socket, so TCP flow control
//! pushes back on the sender). The core sends each peer task
//! [`PeerCommand`]s; encoded UPDATEs travel separately, through the peer's
//! [`crate::outbox::Outbox`].

use std::net::{IpAddr, SocketAddr};
use tokio::net::TcpStream;

use bgp_proto::Findings;
use bgp_proto::message::{Notification, RouteRefresh, Update};
use bgp_proto::session::DownReason;

use crate::backlog::BacklogShare;
use crate::types::{PeerId, PeerInfo};

/// From a peer task to the core.
#[derive(Debug)]
pub enum PeerEvent {
    /// The session reached Established.
    Established {
        /// What the RIB and update groups need to know.
        info: PeerInfo,
        /// Our address on the session (for next-hop-self).
        local_address: IpAddr,
    },
    /// An UPDATE arrived.
    Update {
        /// From whom.
        peer: PeerId,
        /// The UPDATE.
        update: Update,
        /// RFC 7606 findings (treat-as-withdraw when so marked).
        findings: Findings,
        /// The UPDATE's place in the decoded backlog, given back when the
        /// event is dropped.
        share: BacklogShare,
    },
    /// A ROUTE-REFRESH arrived.
    RouteRefresh {
        /// From whom.
        peer: PeerId,
        /// The request.
        refresh: RouteRefresh,
    },
    /// The peer's outbox drained after lagging: resynchronise it.
    Drained {
        /// Which peer.
        peer: PeerId,
    },
    /// The session left Established (or failed before it).
    Down {
        /// Which peer.
        peer: PeerId,
        /// Why.
        reason: DownReason,
        /// More about why, when the reason alone says little: the error of
        /// the failed connection attempt behind a `ConnectionLost` before
        /// Established.
        detail: Option<String>,
        /// Was the session Established until now?
        was_established: bool,
        /// Keep its routes as stale: the peer negotiated graceful restart
        /// and the session ended without a NOTIFICATION, or with a Hard
        /// Reset-free one (RFC 4724 section 4.2, RFC 8538).
        graceful: bool,
    },
    /// The peer task has ended (removed, or stopped for good).
    Gone {
        /// Which peer.
        peer: PeerId,
    },
}

/// From the core to a peer task.
#[derive(Debug)]
pub enum PeerCommand {
    /// A connection from the peer's address was accepted by the listener.
    Accepted(TcpStream, SocketAddr),
    /// Send a ROUTE-REFRESH (RFC 2918) for a family.
    SendRouteRefresh(RouteRefresh),
    /// Close with a Cease (subcode, shutdown message) and stay down.
    Stop {
        /// Cease subcode (RFC 4486).
        subcode: u8,
        /// Shutdown communication (RFC 9003), for subcodes 2 and 4.
        message: String,
    },
    /// Close with this NOTIFICATION and stay down (a prefix limit with its
    /// RFC 4486 data, say).
    StopWith(Notification),
    /// Close with a Cease and start again (a configuration change).
    Reset {
        /// Cease subcode (RFC 4486).
        subcode: u8,
    },
}
