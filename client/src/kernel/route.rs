//! Kernel routes as plain data, and their decoding from rtnetlink messages.
//!
//! A route of the kernel FIB is identified by its table, destination
//! prefix, TOS and priority (the metric): two `RTM_NEWROUTE`s with the same
//! [`RouteKey`] describe the same route, the second replacing the first
//! (`fib_table_insert` in `net/ipv4/fib_trie.c`, `fib6_add_rt2node` in
//! `net/ipv6/ip6_fib.c`). See rtnetlink(7) for the message layout.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};

/// `RTPROT_BGP` (186, `include/uapi/linux/rtnetlink.h`): the protocol
/// number of every route Reflex installs. Routes with it are never
/// advertised, so a route learned from BGP is never re-advertised.
pub const RTPROT_BGP: u8 = 186;

/// `RT_TABLE_MAIN`, the table `ip route` uses by default.
pub const RT_TABLE_MAIN: u32 = 254;

/// What a route does with a packet (`rtm_type`, the `RTN_*` constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteKind {
    /// `RTN_UNICAST`: forward to a gateway or a device.
    Unicast,
    /// `RTN_LOCAL`: an address of this host.
    Local,
    /// `RTN_BROADCAST`.
    Broadcast,
    /// `RTN_ANYCAST`.
    Anycast,
    /// `RTN_MULTICAST`.
    Multicast,
    /// `RTN_BLACKHOLE`: drop silently (Calico's address blocks).
    Blackhole,
    /// `RTN_UNREACHABLE`: drop with ICMP unreachable.
    Unreachable,
    /// `RTN_PROHIBIT`: drop with ICMP prohibited.
    Prohibit,
    /// `RTN_THROW`: continue with the next rule.
    Throw,
    /// Any other `rtm_type`.
    Other(u8),
}

impl RouteKind {
    /// From `rtm_type`.
    pub fn from_raw(raw: u8) -> Self {
        match raw {
            1 => RouteKind::Unicast,
            2 => RouteKind::Local,
            3 => RouteKind::Broadcast,
            4 => RouteKind::Anycast,
            5 => RouteKind::Multicast,
            6 => RouteKind::Blackhole,
            7 => RouteKind::Unreachable,
            8 => RouteKind::Prohibit,
            9 => RouteKind::Throw,
            other => RouteKind::Other(other),
        }
    }

    /// The name `ip route` uses (`unicast`, `blackhole`, ...).
    pub fn name(&self) -> String {
        match self {
            RouteKind::Unicast => "unicast".into(),
            RouteKind::Local => "local".into(),
            RouteKind::Broadcast => "broadcast".into(),
            RouteKind::Anycast => "anycast".into(),
            RouteKind::Multicast => "multicast".into(),
            RouteKind::Blackhole => "blackhole".into(),
            RouteKind::Unreachable => "unreachable".into(),
            RouteKind::Prohibit => "prohibit".into(),
            RouteKind::Throw => "throw".into(),
            RouteKind::Other(raw) => raw.to_string(),
        }
    }

    /// The kind named by [`RouteKind::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "unicast" => RouteKind::Unicast,
            "local" => RouteKind::Local,
            "broadcast" => RouteKind::Broadcast,
            "anycast" => RouteKind::Anycast,
            "multicast" => RouteKind::Multicast,
            "blackhole" => RouteKind::Blackhole,
            "unreachable" => RouteKind::Unreachable,
            "prohibit" => RouteKind::Prohibit,
            "throw" => RouteKind::Throw,
            other => RouteKind::Other(other.parse().ok()?),
        })
    }
}

/// What identifies one route of the kernel FIB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteKey {
    /// The table (`RTA_TABLE`, or `rtm_table` for tables below 256).
    pub table: u32,
    /// The destination prefix (`RTA_DST` / `rtm_dst_len`).
    pub prefix: IpNetwork,
    /// `rtm_tos` (IPv4 only; 0 for IPv6).
    pub tos: u8,
    /// `RTA_PRIORITY`, the metric (0 when absent).
    pub metric: u32,
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} table {} metric {}",
            self.prefix, self.table, self.metric
        )?;
        if self.tos != 0 {
            write!(f, " tos {:#x}", self.tos)?;
        }
        Ok(())
    }
}

/// One next hop of a route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KernelNextHop {
    /// `RTA_GATEWAY` (or `RTA_VIA`), if the route goes through a router.
    pub gateway: Option<IpAddr>,
    /// `RTA_OIF`, the output interface index.
    pub ifindex: Option<u32>,
    /// The output interface's name, when known.
    pub ifname: Option<String>,
    /// `rtnh_hops + 1` for multipath members, 1 otherwise.
    pub weight: u16,
}

/// One route of the kernel FIB.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KernelRoute {
    /// What identifies it.
    pub key: RouteKey,
    /// `rtm_protocol` (`RTPROT_KERNEL` 2, `RTPROT_BOOT` 3, `RTPROT_STATIC`
    /// 4, [`RTPROT_BGP`] 186, ...).
    pub protocol: u8,
    /// `rtm_type`.
    pub kind: RouteKind,
    /// `rtm_scope` (0 universe, 253 link, 254 host).
    pub scope: u8,
    /// Its next hops: one for a plain route, several for `RTA_MULTIPATH`,
    /// none for blackholes and the like.
    pub next_hops: Vec<KernelNextHop>,
}

impl KernelRoute {
    /// The destination prefix.
    pub fn prefix(&self) -> IpNetwork {
        self.key.prefix
    }
}

/// A change of the kernel's routes, as the reader reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteChange {
    /// A route appeared, or changed (same [`RouteKey`], new contents).
    Upsert(KernelRoute),
    /// A route is gone; the last contents seen.
    Removed(KernelRoute),
}

impl RouteChange {
    /// The route added, changed or removed.
    pub fn route(&self) -> &KernelRoute {
        match self {
            RouteChange::Upsert(route) | RouteChange::Removed(route) => route,
        }
    }
}

/// Why a route message could not be turned into a [`KernelRoute`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeRouteError {
    /// Neither IPv4 nor IPv6 (MPLS, multicast families, ...).
    #[error("address family {0:?} is not IPv4 or IPv6")]
    Family(AddressFamily),
    /// `rtm_dst_len` does not fit the family.
    #[error("prefix length {0} does not fit the family")]
    PrefixLength(u8),
    /// A source-specific route (`rtm_src_len` > 0, IPv6 subtrees): not a
    /// destination route, not ours to advertise.
    #[error("source-specific route (from /{0})")]
    SourceSpecific(u8),
}

/// Interface names by index, kept by the reader from `RTM_NEWLINK` /
/// `RTM_DELLINK`.
pub type LinkNames = HashMap<u32, String>;

fn address(addr: &RouteAddress) -> Option<IpAddr> {
    match addr {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// Decode a `RTM_NEWROUTE` / `RTM_DELROUTE`; `links` names the output
/// interfaces.
pub fn decode_route(
    message: &RouteMessage,
    links: &LinkNames,
) -> Result<KernelRoute, DecodeRouteError> {
    let header = &message.header;
    let len = header.destination_prefix_length;
    if header.source_prefix_length != 0 {
        return Err(DecodeRouteError::SourceSpecific(
            header.source_prefix_length,
        ));
    }
    let mut table = u32::from(header.table);
    let mut destination = None;
    let mut metric = 0;
    let mut gateway = None;
    let mut ifindex = None;
    let mut multipath = Vec::new();
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(addr) => destination = address(addr),
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::Gateway(addr) => gateway = address(addr),
            RouteAttribute::Via(via) => gateway = via_address(via),
            RouteAttribute::Oif(index) => ifindex = Some(*index),
            RouteAttribute::MultiPath(hops) => multipath = hops.clone(),
            _ => {}
        }
    }
    let network = match header.address_family {
        AddressFamily::Inet => {
            let addr = match destination {
                Some(IpAddr::V4(v4)) => v4,
                _ => Ipv4Addr::UNSPECIFIED,
            };
            ipnetwork::Ipv4Network::new(addr, len)
                .map(IpNetwork::V4)
                .map_err(|_| DecodeRouteError::PrefixLength(len))?
        }
        AddressFamily::Inet6 => {
            let addr = match destination {
                Some(IpAddr::V6(v6)) => v6,
                _ => Ipv6Addr::UNSPECIFIED,
            };
            ipnetwork::Ipv6Network::new(addr, len)
                .map(IpNetwork::V6)
                .map_err(|_| DecodeRouteError::PrefixLength(len))?
        }
        other => return Err(DecodeRouteError::Family(other)),
    };
    let name = |index: Option<u32>| index.and_then(|i| links.get(&i).cloned());
    let next_hops = if !multipath.is_empty() {
        multipath
            .iter()
            .map(|hop| {
                let ifindex = (hop.interface_index != 0).then_some(hop.interface_index);
                let gateway = hop.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Gateway(addr) => address(addr),
                    RouteAttribute::Via(via) => via_address(via),
                    _ => None,
                });
                KernelNextHop {
                    gateway,
                    ifindex,
                    ifname: name(ifindex),
                    weight: u16::from(hop.hops) + 1,
                }
            })
            .collect()
    } else if gateway.is_some() || ifindex.is_some() {
        vec![KernelNextHop {
            gateway,
            ifindex,
            ifname: name(ifindex),
            weight: 1,
        }]
    } else {
        Vec::new()
    };
    Ok(KernelRoute {
        key: RouteKey {
            table,
            // The kernel sends the network address; normalise anyway.
            prefix: normalise(network),
            tos: header.tos,
            metric,
        },
        protocol: u8::from(header.protocol),
        kind: RouteKind::from_raw(u8::from(header.kind)),
        scope: u8::from(header.scope),
        next_hops,
    })
}

fn via_address(via: &netlink_packet_route::route::RouteVia) -> Option<IpAddr> {
    use netlink_packet_route::route::RouteVia;
    match via {
        RouteVia::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteVia::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// The prefix with its host bits cleared.
pub fn normalise(prefix: IpNetwork) -> IpNetwork {
    match prefix {
        IpNetwork::V4(p) => {
            IpNetwork::V4(ipnetwork::Ipv4Network::new(p.network(), p.prefix()).unwrap_or(p))
        }
        IpNetwork::V6(p) => {
            IpNetwork::V6(ipnetwork::Ipv6Network::new(p.network(), p.prefix()).unwrap_or(p))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::route::{RouteHeader, RouteNextHop, RouteProtocol, RouteType};

    fn message(family: AddressFamily, len: u8, attributes: Vec<RouteAttribute>) -> RouteMessage {
        let mut message = RouteMessage::default();
        message.header = RouteHeader {
            address_family: family,
            destination_prefix_length: len,
            table: 254,
            protocol: RouteProtocol::Static,
            kind: RouteType::Unicast,
            ..RouteHeader::default()
        };
        message.attributes = attributes;
        message
    }

    #[test]
    fn a_gateway_route_decodes_with_its_interface_name() {
        let links = LinkNames::from([(7, "eth0".to_string())]);
        let msg = message(
            AddressFamily::Inet,
            24,
            vec![
                RouteAttribute::Destination(RouteAddress::Inet(Ipv4Addr::new(10, 1, 2, 0))),
                RouteAttribute::Gateway(RouteAddress::Inet(Ipv4Addr::new(192, 0, 2, 1))),
                RouteAttribute::Oif(7),
                RouteAttribute::Priority(20),
                RouteAttribute::Table(254),
            ],
        );
        let route = decode_route(&msg, &links).unwrap();
        assert_eq!(
            route.key.prefix,
            "10.1.2.0/24".parse::<IpNetwork>().unwrap()
        );
        assert_eq!(route.key.metric, 20);
        assert_eq!(route.protocol, 4);
        assert_eq!(route.kind, RouteKind::Unicast);
        assert_eq!(route.next_hops.len(), 1);
        assert_eq!(route.next_hops[0].ifname.as_deref(), Some("eth0"));
        assert_eq!(
            route.next_hops[0].gateway,
            Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
        );
    }

    #[test]
    fn multipath_members_become_next_hops_and_default_has_no_destination() {
        let hop = |last: u8, hops: u8| {
            let mut hop = RouteNextHop::default();
            hop.hops = hops;
            hop.interface_index = 3;
            hop.attributes = vec![RouteAttribute::Gateway(RouteAddress::Inet(Ipv4Addr::new(
                192, 0, 2, last,
            )))];
            hop
        };
        let msg = message(
            AddressFamily::Inet,
            0,
            vec![RouteAttribute::MultiPath(vec![hop(1, 0), hop(2, 4)])],
        );
        let route = decode_route(&msg, &LinkNames::new()).unwrap();
        assert_eq!(route.key.prefix, "0.0.0.0/0".parse::<IpNetwork>().unwrap());
        assert_eq!(route.next_hops.len(), 2);
        assert_eq!(route.next_hops[1].weight, 5);
        assert_eq!(route.next_hops[1].ifname, None);
    }

    #[test]
    fn source_specific_and_foreign_families_are_refused() {
        let mut msg = message(AddressFamily::Inet6, 64, vec![]);
        msg.header.source_prefix_length = 48;
        assert_eq!(
            decode_route(&msg, &LinkNames::new()),
            Err(DecodeRouteError::SourceSpecific(48))
        );
        let msg = message(AddressFamily::Mpls, 20, vec![]);
        assert!(matches!(
            decode_route(&msg, &LinkNames::new()),
            Err(DecodeRouteError::Family(_))
        ));
    }

    #[test]
    fn kinds_round_trip_through_names() {
        for raw in 0..=12u8 {
            let kind = RouteKind::from_raw(raw);
            assert_eq!(RouteKind::from_name(&kind.name()), Some(kind));
        }
        assert_eq!(RouteKind::from_name("nonsense"), None);
    }
}
