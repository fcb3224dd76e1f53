//! Configuration of one BGP session.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::capability::{Capability, Role};

/// Which AS numbers the peer may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAs {
    /// Exactly this AS.
    Exact(u32),
    /// Any AS in this inclusive range (dynamic neighbours).
    Range(u32, u32),
    /// Any AS except 0.
    Any,
}

impl PeerAs {
    /// Is `asn` acceptable? AS 0 never is (RFC 7607 section 2).
    pub fn accepts(&self, asn: u32) -> bool {
        asn != 0
            && match *self {
                PeerAs::Exact(expected) => asn == expected,
                PeerAs::Range(low, high) => (low..=high).contains(&asn),
                PeerAs::Any => true,
            }
    }
}

/// Everything the state machine needs to know about one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP identifier.
    pub local_id: Ipv4Addr,
    /// The AS the peer must announce.
    pub peer_as: PeerAs,
    /// Hold time we propose, in seconds: 0 or at least 3 (RFC 4271 4.2).
    pub hold_time: u16,
    /// Smallest hold time we accept from the peer, other than 0.
    pub min_hold_time: u16,
    /// Keepalive interval, if it should be shorter than a third of the hold time.
    pub keepalive: Option<Duration>,
    /// ConnectRetryTime (RFC 4271 section 10 suggests 120 s).
    pub connect_retry: Duration,
    /// Hold time used until the OPENs are exchanged (RFC 4271 section 8.2.2
    /// suggests 4 minutes).
    pub large_hold_time: Duration,
    /// DelayOpenTime, if DelayOpen is on (RFC 4271 section 8.1.1).
    pub delay_open: Option<Duration>,
    /// Passive: wait for the peer to connect (RFC 4271 PassiveTcpEstablishment).
    pub passive: bool,
    /// Restart automatically after the session goes down, after the idle
    /// hold time (RFC 4271 section 8.1.1, DampPeerOscillations).
    pub auto_restart: bool,
    /// First idle hold time after a failure; it doubles with each further
    /// failure up to [`SessionConfig::idle_hold_max`].
    pub idle_hold: Duration,
    /// Largest idle hold time.
    pub idle_hold_max: Duration,
    /// How long a session must stay Established before failures stop
    /// counting towards the back-off.
    pub stable_time: Duration,
    /// Send Hold Time (RFC 9687); `None` for the default of 8 minutes or
    /// twice the hold time, whichever is larger.
    pub send_hold_time: Option<Duration>,
    /// Capabilities we announce (4-octet AS is added automatically).
    pub capabilities: Vec<Capability>,
    /// Capabilities the peer must announce; a session without them is
    /// refused with Unsupported Capability (RFC 5492 section 5).
    pub required_capabilities: Vec<Capability>,
    /// Our BGP role (RFC 9234), announced when set.
    pub role: Option<Role>,
    /// Refuse peers that do not announce a role (RFC 9234 strict mode).
    pub strict_role: bool,
}

impl SessionConfig {
    /// A configuration with the usual defaults: hold time 90 s, connect
    /// retry 120 s, active, automatic restart with 1 s to 120 s back-off.
    pub fn new(local_as: u32, local_id: Ipv4Addr, peer_as: PeerAs) -> Self {
        SessionConfig {
            local_as,
            local_id,
            peer_as,
            hold_time: 90,
            min_hold_time: 3,
            keepalive: None,
            connect_retry: Duration::from_secs(120),
            large_hold_time: Duration::from_secs(240),
            delay_open: None,
            passive: false,
            auto_restart: true,
            idle_hold: Duration::from_secs(1),
            idle_hold_max: Duration::from_secs(120),
            stable_time: Duration::from_secs(60),
            send_hold_time: None,
            capabilities: Vec::new(),
            required_capabilities: Vec::new(),
            role: None,
            strict_role: false,
        }
    }
}
