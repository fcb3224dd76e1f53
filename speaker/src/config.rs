//! Configuration of a speaker and its peers, as plain data.
//!
//! The daemons (reflector, client) parse their files into these types; the
//! speaker knows nothing of TOML or etcd.

use ipnetwork::IpNetwork;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgp_proto::capability::AddPathMode;
use bgp_proto::iana::AfiSafi;
use bgp_proto::session::PeerAs;

use crate::policy::Policy;

/// The whole speaker.
#[derive(Debug, Clone)]
pub struct SpeakerConfig {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Default route-reflection cluster ID (RFC 4456 section 7); the
    /// router ID when `None`.
    pub cluster_id: Option<Ipv4Addr>,
    /// Addresses to accept sessions on (port included); empty for none.
    pub listen: Vec<SocketAddr>,
    /// Statically configured peers.
    pub peers: Vec<PeerConfig>,
    /// Ranges from which any address may open a session.
    pub dynamic_neighbors: Vec<DynamicNeighbors>,
    /// Compute equal-cost multipath sets (RFC 4271 section 9.1.2.2 ties).
    pub multipath: bool,
    /// Clusters whose clients are fully meshed among themselves: routes
    /// from a client are not reflected to the other clients of the same
    /// cluster (RFC 4456 section 5).
    pub no_client_to_client: Vec<Ipv4Addr>,
}

impl SpeakerConfig {
    /// A speaker with no peers, not listening.
    pub fn new(local_as: u32, router_id: Ipv4Addr) -> Self {
        SpeakerConfig {
            local_as,
            router_id,
            cluster_id: None,
            listen: Vec::new(),
            peers: Vec::new(),
            dynamic_neighbors: Vec::new(),
            multipath: false,
            no_client_to_client: Vec::new(),
        }
    }
}

/// How to send path identifiers (RFC 7911) to a peer that receives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddPathSend {
    /// Only the best path (no ADD-PATH sending).
    Best,
    /// Up to this many paths, best first.
    BestN(u8),
    /// Every path.
    All,
}

/// What to do when a peer exceeds its prefix limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixLimitAction {
    /// Close with Cease subcode 1 (RFC 4486 section 4).
    Shutdown,
    /// Keep the session, drop the excess prefixes and log.
    DropExcess,
}

/// A limit on the prefixes accepted from a peer, per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixLimit {
    /// Most prefixes accepted.
    pub max: u32,
    /// Percentage of `max` at which a warning is logged.
    pub warn_percent: u8,
    /// What happens beyond `max`.
    pub action: PrefixLimitAction,
}

/// What next hop to advertise to a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NextHopMode {
    /// RFC 4271 defaults: unchanged to iBGP peers, our address to eBGP peers.
    #[default]
    Auto,
    /// Always our session address (next-hop-self).
    SelfAddress,
    /// Never change it, even towards eBGP peers.
    Keep,
    /// Always this address.
    Explicit(IpAddr),
}

/// Graceful restart settings (RFC 4724).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulRestartConfig {
    /// Announce the capability and keep a restarting peer's routes.
    pub enabled: bool,
    /// Restart time we announce, in seconds (at most 4095).
    pub restart_time: u16,
    /// Longest we keep a restarting peer's stale routes, whatever it announced.
    pub max_stale_time: Duration,
    /// We are restarting and kept our forwarding state (R and F bits).
    pub restarting: bool,
}

impl Default for GracefulRestartConfig {
    fn default() -> Self {
        GracefulRestartConfig {
            enabled: true,
            restart_time: 120,
            max_stale_time: Duration::from_secs(360),
            restarting: false,
        }
    }
}

/// Everything configurable per peer; also the template of dynamic neighbours.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// The AS the peer must use.
    pub peer_as: PeerAs,
    /// Our AS towards this peer, if not the speaker's.
    pub local_as: Option<u32>,
    /// Families to negotiate.
    pub families: Vec<AfiSafi>,
    /// Hold time to propose, seconds.
    pub hold_time: u16,
    /// Keepalive interval, if shorter than a third of the hold time.
    pub keepalive: Option<Duration>,
    /// Connect retry time.
    pub connect_retry: Duration,
    /// Wait for the peer to connect.
    pub passive: bool,
    /// TCP port of the peer.
    pub port: u16,
    /// Local address to bind to.
    pub local_address: Option<IpAddr>,
    /// TCP MD5 signature password (RFC 2385).
    pub md5_password: Option<String>,
    /// GTSM (RFC 5082): send with TTL 255 and accept only TTL 255.
    pub ttl_security: bool,
    /// The peer is our route-reflector client (RFC 4456).
    pub route_reflector_client: bool,
    /// The cluster ID towards this peer, if not the speaker's.
    pub cluster_id: Option<Ipv4Addr>,
    /// ADD-PATH mode to announce per family (RFC 7911).
    pub add_path: Vec<(AfiSafi, AddPathMode)>,
    /// How many paths to send when the peer receives path identifiers.
    pub add_path_send: AddPathSend,
    /// Graceful restart.
    pub graceful_restart: GracefulRestartConfig,
    /// Prefix limit per family.
    pub prefix_limit: Option<PrefixLimit>,
    /// Next hop towards this peer.
    pub next_hop: NextHopMode,
    /// Our IPv4 next hop for IPv4 routes on an IPv6 session; found on the
    /// session's interface when `None`.
    pub next_hop_self_v4: Option<Ipv4Addr>,
    /// Our IPv6 next hop for IPv6 routes on an IPv4 session; found on the
    /// session's interface when `None`.
    pub next_hop_self_v6: Option<std::net::Ipv6Addr>,
    /// Import policy; `None` accepts everything from iBGP peers and, per
    /// RFC 8212, nothing from eBGP peers.
    pub import: Option<Policy>,
    /// Export policy; `None` as for import.
    pub export: Option<Policy>,
}

impl PeerOptions {
    /// Defaults: IPv4 and IPv6 unicast, hold 90 s, active, no ADD-PATH.
    pub fn new(peer_as: PeerAs) -> Self {
        PeerOptions {
            peer_as,
            local_as: None,
            families: vec![AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST],
            hold_time: 90,
            keepalive: None,
            connect_retry: Duration::from_secs(30),
            passive: false,
            port: bgp_proto::iana::BGP_PORT,
            local_address: None,
            md5_password: None,
            ttl_security: false,
            route_reflector_client: false,
            cluster_id: None,
            add_path: Vec::new(),
            add_path_send: AddPathSend::Best,
            graceful_restart: GracefulRestartConfig::default(),
            prefix_limit: None,
            next_hop: NextHopMode::Auto,
            next_hop_self_v4: None,
            next_hop_self_v6: None,
            import: None,
            export: None,
        }
    }
}

/// A statically configured peer.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// The peer's address.
    pub address: IpAddr,
    /// Its options.
    pub options: PeerOptions,
}

/// Accept sessions from any address in `prefix`, configured by `template`.
#[derive(Debug, Clone)]
pub struct DynamicNeighbors {
    /// The range of peer addresses.
    pub prefix: IpNetwork,
    /// Options of every peer from the range (`peer_as` may be a range).
    pub template: PeerOptions,
    /// Most sessions at once from this range.
    pub max_peers: usize,
}
