//! From a validated [`ConfigFile`] to what the daemon runs: the
//! [`SpeakerConfig`] and one [`PeerConfig`] per neighbour.
//!
//! Conversion cannot fail: [`super::validate()`] has rejected everything
//! that would not convert; anything it let through that has no meaning
//! (an unknown template, say) converts as if absent.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bgp_proto::session::PeerAs;
use bgp_speaker::config::{
    AddPathSend, DynamicNeighbors, GracefulRestartConfig, PeerConfig, PeerOptions, PrefixLimit,
    PrefixLimitAction, SpeakerConfig,
};
use bgp_speaker::policy::Policy;

use super::schema::{
    AddPathCount, Cluster, ConfigFile, Family, LimitAction, Logging, PeerSettings,
};

/// A configured neighbour: what the speaker gets, and what it does not.
#[derive(Debug, Clone)]
pub struct NeighborPlan {
    /// Operator's text; changing it resets nothing.
    pub description: Option<String>,
    /// The session's configuration.
    pub peer: PeerConfig,
}

/// Everything the daemon runs with.
#[derive(Debug, Clone)]
pub struct ReflectorConfig {
    /// The speaker, without its static peers (see `neighbors`).
    pub speaker: SpeakerConfig,
    /// Static neighbours by address.
    pub neighbors: BTreeMap<IpAddr, NeighborPlan>,
    /// The operations API's address.
    pub api: SocketAddr,
    /// Log settings.
    pub logging: Logging,
    /// `[[cluster]]` settings.
    pub clusters: Vec<Cluster>,
}

impl ReflectorConfig {
    /// Every cluster ID in use: the default one first, then those of
    /// neighbours and dynamic ranges (RFC 4456 section 7 allows several).
    pub fn cluster_ids(&self) -> Vec<Ipv4Addr> {
        let mut ids = vec![self.speaker.cluster_id.unwrap_or(self.speaker.router_id)];
        let peers = self.neighbors.values().map(|n| &n.peer.options);
        let ranges = self.speaker.dynamic_neighbors.iter().map(|d| &d.template);
        for options in peers.chain(ranges) {
            if let Some(id) = options
                .cluster_id
                .filter(|_| options.route_reflector_client)
            {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        ids
    }

    /// The options a peer at `address` gets: its static configuration, or
    /// the template of the most specific dynamic range containing it.
    pub fn options_of(&self, address: IpAddr) -> Option<&PeerOptions> {
        if let Some(plan) = self.neighbors.get(&address) {
            return Some(&plan.peer.options);
        }
        self.speaker
            .dynamic_neighbors
            .iter()
            .filter(|d| d.prefix.contains(address))
            .max_by_key(|d| d.prefix.prefix())
            .map(|d| &d.template)
    }

    /// Clusters whose client-to-client reflection is off.
    pub fn no_client_to_client(&self) -> Vec<Ipv4Addr> {
        self.clusters
            .iter()
            .filter(|c| !c.client_to_client)
            .map(|c| c.id)
            .collect()
    }
}

/// Default listen addresses: every IPv4 and IPv6 address.
pub const DEFAULT_LISTEN: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    IpAddr::V6(Ipv6Addr::UNSPECIFIED),
];

/// Convert a validated file; `router_id` is resolved by the caller
/// (configured, given on the command line, or detected).
pub fn convert(file: &ConfigFile, router_id: Ipv4Addr) -> ReflectorConfig {
    let global = &file.global;
    let policies: BTreeMap<&str, Policy> = file
        .policy
        .iter()
        .map(|p| (p.name.as_str(), p.to_policy()))
        .collect();
    let template = |name: &Option<String>| -> PeerSettings {
        name.as_ref()
            .and_then(|name| file.template.iter().find(|t| &t.name == name))
            .map(|t| t.settings())
            .unwrap_or_default()
    };
    let listen = match &global.listen {
        Some(list) => list.iter().map(|a| a.socket_addr(global.port)).collect(),
        None => DEFAULT_LISTEN
            .iter()
            .map(|ip| SocketAddr::new(*ip, global.port))
            .collect(),
    };
    let mut neighbors = BTreeMap::new();
    for neighbor in &file.neighbor {
        let merged = neighbor.settings().or(template(&neighbor.template));
        let peer_as = PeerAs::Exact(merged.asn.unwrap_or(global.asn));
        let options = peer_options(&merged, peer_as, &policies);
        let peer = PeerConfig {
            address: neighbor.address,
            options,
        };
        let plan = NeighborPlan {
            description: merged.description.clone(),
            peer,
        };
        neighbors.entry(neighbor.address).or_insert(plan);
    }
    let dynamic_neighbors = file
        .dynamic
        .iter()
        .map(|range| {
            let settings = template(&range.template);
            let peer_as = match (range.asn, range.asn_range) {
                (Some(asn), _) => PeerAs::Exact(asn),
                (None, Some((low, high))) => PeerAs::Range(low, high),
                (None, None) => PeerAs::Exact(
                    settings
                        .asn
                        .unwrap_or(settings.local_asn.unwrap_or(global.asn)),
                ),
            };
            let mut options = peer_options(&settings, peer_as, &policies);
            options.passive = true;
            DynamicNeighbors {
                prefix: range.prefix,
                template: options,
                max_peers: range.max_peers,
            }
        })
        .collect();
    let mut speaker = SpeakerConfig::new(global.asn, router_id);
    speaker.cluster_id = global.cluster_id;
    speaker.listen = listen;
    speaker.dynamic_neighbors = dynamic_neighbors;
    speaker.multipath = global.multipath;
    // RFC 4456 section 5: clusters whose clients are fully meshed.
    speaker.no_client_to_client = file
        .cluster
        .iter()
        .filter(|c| !c.client_to_client)
        .map(|c| c.id)
        .collect();
    ReflectorConfig {
        speaker,
        neighbors,
        api: file.api.listen,
        logging: file.logging.clone(),
        clusters: file.cluster.clone(),
    }
}

/// The speaker's options from merged settings.
pub fn peer_options(
    s: &PeerSettings,
    peer_as: PeerAs,
    policies: &BTreeMap<&str, Policy>,
) -> PeerOptions {
    let mut o = PeerOptions::new(peer_as);
    let families = s.families.clone().unwrap_or_else(Family::defaults);
    o.families = families.iter().map(|f| f.afi_safi()).collect();
    o.local_as = s.local_asn;
    if let Some(hold) = s.hold_time {
        o.hold_time = hold;
    }
    o.keepalive = s.keepalive.map(|k| Duration::from_secs(u64::from(k)));
    if let Some(retry) = s.connect_retry {
        o.connect_retry = Duration::from_secs(u64::from(retry));
    }
    o.passive = s.passive.unwrap_or(false);
    if let Some(port) = s.port {
        o.port = port;
    }
    o.local_address = s.local_address;
    o.md5_password = s.password.clone();
    o.ttl_security = s.ttl_security.unwrap_or(false);
    o.route_reflector_client = s.client.unwrap_or(false);
    o.cluster_id = s.cluster_id;
    if let Some(add_path) = &s.add_path {
        o.add_path = add_path.entries(&families);
    }
    // RFC 7911 section 3: with ADD-PATH send negotiated, send every path
    // unless told otherwise (as BIRD's `add paths on` does).
    o.add_path_send = match s.add_path_send {
        Some(AddPathCount::All) => AddPathSend::All,
        Some(AddPathCount::Paths(n)) => AddPathSend::BestN(n),
        None if s.add_path.as_ref().is_some_and(|a| a.sends()) => AddPathSend::All,
        None => AddPathSend::Best,
    };
    let defaults = GracefulRestartConfig::default();
    o.graceful_restart = GracefulRestartConfig {
        enabled: s.graceful_restart.unwrap_or(defaults.enabled),
        restart_time: s.restart_time.unwrap_or(defaults.restart_time),
        max_stale_time: s.stale_time.map_or(defaults.max_stale_time, |t| {
            Duration::from_secs(u64::from(t))
        }),
        restarting: false,
    };
    o.prefix_limit = s.prefix_limit.map(|l| PrefixLimit {
        max: l.max,
        warn_percent: l.warn_percent,
        action: match l.action {
            LimitAction::Shutdown => PrefixLimitAction::Shutdown,
            LimitAction::Drop => PrefixLimitAction::DropExcess,
        },
    });
    o.next_hop = s.next_hop.unwrap_or_default().into();
    o.next_hop_self_v4 = s.next_hop_self_ipv4;
    o.next_hop_self_v6 = s.next_hop_self_ipv6;
    let policy =
        |name: &Option<String>| name.as_deref().and_then(|name| policies.get(name)).cloned();
    o.import = policy(&s.import);
    o.export = policy(&s.export);
    o
}
