//! The agent's configuration as plain data, and the speaker configuration
//! it implies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use bgp_proto::capability::AddPathMode;
use bgp_proto::iana::AfiSafi;
use bgp_proto::session::PeerAs;
use bgp_speaker::config::{GracefulRestartConfig, PeerConfig, PeerOptions, SpeakerConfig};

use crate::blocks::BlockRouting;
use crate::kernel::reader::ReaderConfig;
use crate::kernel::select::Selection;
use crate::kernel::writer::WriterConfig;

/// One route reflector the node peers with (iBGP, RFC 4456: the node is
/// the reflector's client, the reflector needs no configuration of ours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReflectorPeer {
    /// Its address.
    pub address: IpAddr,
    /// Its TCP port (179).
    pub port: u16,
    /// TCP MD5 signature password (RFC 2385).
    pub password: Option<String>,
}

impl ReflectorPeer {
    /// A reflector on the BGP port, no password.
    pub fn new(address: IpAddr) -> Self {
        ReflectorPeer {
            address,
            port: bgp_proto::iana::BGP_PORT,
            password: None,
        }
    }
}

/// Everything the agent needs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The node's name (logs, and the BGP role description).
    pub node_name: String,
    /// The AS of the node and of the reflectors.
    pub local_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// The node's IPv4 address: next hop of its IPv4 routes, and the
    /// source of IPv4 sessions.
    pub node_v4: Option<Ipv4Addr>,
    /// The node's IPv6 address: likewise for IPv6.
    pub node_v6: Option<Ipv6Addr>,
    /// The reflectors (two or more, so losing one changes nothing).
    pub reflectors: Vec<ReflectorPeer>,
    /// Which kernel routes are advertised.
    pub export: Selection,
    /// Where learned routes are installed.
    pub install: WriterConfig,
    /// Graceful restart time (RFC 4724): announced to the reflectors, and
    /// the longest routes of a lost reflector are kept.
    pub graceful_restart_time: Duration,
    /// Hold time proposed to the reflectors, seconds.
    pub hold_time: u16,
    /// Time between connection attempts.
    pub connect_retry: Duration,
    /// Install equal paths as one multipath route.
    pub multipath: bool,
    /// Announce ADD-PATH receive (RFC 7911) for IPv4 and IPv6 unicast: a
    /// reflector that sends several paths per prefix lets the node see
    /// every equal path (one per announcing node), not only the
    /// reflector's best, so anycast prefixes become multipath routes.
    pub add_path_receive: bool,
    /// How kernel notifications are read.
    pub reader: ReaderConfig,
    /// At least one reflector is required (a file alone); false when a
    /// datastore supplies them and may have none yet.
    pub require_reflectors: bool,
    /// Only prefixes within [`Selection::pools`] are advertised, and none
    /// when there are no pools (the pools come from a datastore's enabled
    /// IPPools) instead of empty pools meaning no limit.
    pub pools_required: bool,
    /// Route by IPAM block ([`crate::blocks`]; datastore mode): the
    /// daemon follows the node's block affinities with these settings.
    pub blocks: Option<BlockRouting>,
}

/// Why a configuration cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// No reflector.
    #[error("no reflectors configured")]
    NoReflectors,
    /// AS 0 is reserved (RFC 7607).
    #[error("AS 0 cannot be used (RFC 7607)")]
    ReservedAs,
    /// A reflector's family has no node address to talk from.
    #[error("reflector {0}: the node has no address of its family")]
    NoLocalAddress(IpAddr),
    /// The same reflector twice.
    #[error("reflector {0} is listed twice")]
    DuplicateReflector(IpAddr),
    /// The restart time does not fit the capability's 12 bits.
    #[error("graceful restart time {0:?} is over 4095 s (RFC 4724 section 3)")]
    RestartTime(Duration),
    /// A hold time of 1 or 2 s.
    #[error("hold time {0} must be 0 or at least 3 s (RFC 4271 section 4.2)")]
    HoldTime(u16),
}

impl AgentConfig {
    /// A node with one IPv4 address and defaults: main table, export
    /// nothing, 120 s graceful restart, hold time 90 s, multipath and
    /// ADD-PATH receive on.
    pub fn new(node_name: &str, local_as: u32, node_v4: Ipv4Addr) -> Self {
        AgentConfig {
            node_name: node_name.to_string(),
            local_as,
            router_id: node_v4,
            node_v4: Some(node_v4),
            node_v6: None,
            reflectors: Vec::new(),
            export: Selection::default(),
            install: WriterConfig::default(),
            graceful_restart_time: Duration::from_secs(120),
            hold_time: 90,
            connect_retry: Duration::from_secs(5),
            multipath: true,
            add_path_receive: true,
            reader: ReaderConfig::default(),
            require_reflectors: true,
            pools_required: false,
            blocks: None,
        }
    }

    /// Check what the types cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.local_as == 0 {
            return Err(ConfigError::ReservedAs);
        }
        if self.require_reflectors && self.reflectors.is_empty() {
            return Err(ConfigError::NoReflectors);
        }
        for (i, reflector) in self.reflectors.iter().enumerate() {
            if self.reflectors[..i]
                .iter()
                .any(|r| r.address == reflector.address)
            {
                return Err(ConfigError::DuplicateReflector(reflector.address));
            }
            if self.local_address(reflector.address).is_none() {
                return Err(ConfigError::NoLocalAddress(reflector.address));
            }
        }
        if self.graceful_restart_time > Duration::from_secs(4095) {
            return Err(ConfigError::RestartTime(self.graceful_restart_time));
        }
        if matches!(self.hold_time, 1 | 2) {
            return Err(ConfigError::HoldTime(self.hold_time));
        }
        Ok(())
    }

    /// Is `route` to be advertised ([`Selection::selects`], and nothing
    /// when pools are required and there are none)?
    pub fn exports(&self, route: &crate::kernel::route::KernelRoute) -> bool {
        self.export_verdict(route).is_selected()
    }

    /// Why `route` is or is not advertised ([`Selection::verdict`], with
    /// [`AgentConfig::pools_required`]).
    pub fn export_verdict(
        &self,
        route: &crate::kernel::route::KernelRoute,
    ) -> crate::kernel::select::Verdict {
        use crate::kernel::select::Verdict;
        let verdict = self.export.verdict(route);
        if self.pools_required && self.export.pools.is_empty() && verdict.is_selected() {
            return Verdict::OutsidePools;
        }
        verdict
    }

    /// The node address to talk to `peer` from.
    pub fn local_address(&self, peer: IpAddr) -> Option<IpAddr> {
        match peer {
            IpAddr::V4(_) => self.node_v4.map(IpAddr::V4),
            IpAddr::V6(_) => self.node_v6.map(IpAddr::V6),
        }
    }

    /// Is `address` one of the node's own?
    pub fn is_own_address(&self, address: IpAddr) -> bool {
        Some(address) == self.node_v4.map(IpAddr::V4)
            || Some(address) == self.node_v6.map(IpAddr::V6)
    }

    /// The speaker configuration: no listener (the node connects out),
    /// multipath as configured, no peers (the agent adds them once it is
    /// listening to the speaker's events).
    pub fn speaker_config(&self) -> SpeakerConfig {
        let mut config = SpeakerConfig::new(self.local_as, self.router_id);
        config.multipath = self.multipath;
        config
    }

    /// The reflectors as speaker peers. `restarting`: we kept forwarding
    /// state from a previous run (RFC 4724 section 3, the Restart State
    /// and Forwarding State bits).
    pub fn reflector_peers(&self, restarting: bool) -> Vec<PeerConfig> {
        let restart_time = u16::try_from(self.graceful_restart_time.as_secs())
            .unwrap_or(4095)
            .min(4095);
        self.reflectors
            .iter()
            .map(|reflector| {
                let mut options = PeerOptions::new(PeerAs::Exact(self.local_as));
                options.port = reflector.port;
                options.local_address = self.local_address(reflector.address);
                options.md5_password = reflector.password.clone();
                options.hold_time = self.hold_time;
                options.connect_retry = self.connect_retry;
                if self.add_path_receive {
                    options.add_path = vec![
                        (AfiSafi::IPV4_UNICAST, AddPathMode::Receive),
                        (AfiSafi::IPV6_UNICAST, AddPathMode::Receive),
                    ];
                }
                options.graceful_restart = GracefulRestartConfig {
                    enabled: true,
                    restart_time,
                    max_stale_time: self.graceful_restart_time,
                    restarting,
                };
                PeerConfig {
                    address: reflector.address,
                    options,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AgentConfig {
        let mut config = AgentConfig::new("node-a", 64512, Ipv4Addr::new(192, 0, 2, 11));
        config.reflectors = vec![
            ReflectorPeer::new("192.0.2.1".parse().unwrap()),
            ReflectorPeer::new("192.0.2.2".parse().unwrap()),
        ];
        config
    }

    #[test]
    fn reflectors_become_ibgp_peers_with_graceful_restart() {
        let config = config();
        assert_eq!(config.validate(), Ok(()));
        let peers = config.reflector_peers(true);
        assert_eq!(peers.len(), 2);
        let options = &peers[0].options;
        assert_eq!(options.peer_as, PeerAs::Exact(64512));
        assert_eq!(options.local_address, Some("192.0.2.11".parse().unwrap()));
        assert!(options.graceful_restart.enabled && options.graceful_restart.restarting);
        assert_eq!(options.graceful_restart.restart_time, 120);
        assert!(!options.route_reflector_client);
        assert_eq!(options.add_path.len(), 2);
    }

    #[test]
    fn required_pools_that_are_missing_export_nothing() {
        use crate::kernel::route::{KernelRoute, RT_TABLE_MAIN, RouteKey, RouteKind};
        use crate::kernel::select::{SelectRule, Verdict};
        let route = KernelRoute {
            key: RouteKey {
                table: RT_TABLE_MAIN,
                prefix: "10.65.1.0/24".parse().unwrap(),
                tos: 0,
                metric: 0,
            },
            protocol: 3,
            kind: RouteKind::Blackhole,
            scope: 0,
            next_hops: Vec::new(),
        };
        let mut c = config();
        c.export.rules = vec![SelectRule::default()];
        assert!(c.exports(&route), "no pools, not required: no limit");
        c.pools_required = true;
        assert_eq!(c.export_verdict(&route), Verdict::OutsidePools);
        assert!(!c.exports(&route));
        c.export.pools = vec!["10.65.0.0/16".parse().unwrap()];
        assert_eq!(c.export_verdict(&route), Verdict::Selected(0));
        c.export.pools = vec!["10.66.0.0/16".parse().unwrap()];
        assert_eq!(c.export_verdict(&route), Verdict::OutsidePools);
        c.reflectors.clear();
        c.require_reflectors = false;
        assert_eq!(c.validate(), Ok(()), "a datastore may give none yet");
    }

    #[test]
    fn impossible_configurations_are_refused() {
        let mut c = config();
        c.reflectors
            .push(ReflectorPeer::new("2001:db8::1".parse().unwrap()));
        assert!(matches!(c.validate(), Err(ConfigError::NoLocalAddress(_))));
        let mut c = config();
        c.reflectors.push(c.reflectors[0].clone());
        assert!(matches!(
            c.validate(),
            Err(ConfigError::DuplicateReflector(_))
        ));
        let mut c = config();
        c.reflectors.clear();
        assert_eq!(c.validate(), Err(ConfigError::NoReflectors));
        let mut c = config();
        c.graceful_restart_time = Duration::from_secs(5000);
        assert!(matches!(c.validate(), Err(ConfigError::RestartTime(_))));
        let mut c = config();
        c.hold_time = 2;
        assert_eq!(c.validate(), Err(ConfigError::HoldTime(2)));
    }
}
