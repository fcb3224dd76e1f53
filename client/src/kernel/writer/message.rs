//! The `RTM_NEWROUTE` / `RTM_DELROUTE` messages the writer sends
//! (rtnetlink(7)); pure functions.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteNextHop, RouteProtocol,
    RouteScope, RouteType,
};

/// Where and how the writer's routes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Table.
    pub table: u32,
    /// Priority (metric).
    pub metric: u32,
    /// Protocol number (`RTPROT_BGP`).
    pub protocol: u8,
}

/// `IP6_RT_PRIO_USER`: the metric IPv6 gives a route added with none.
pub const IP6_RT_PRIO_USER: u32 = 1024;

impl Placement {
    /// The metric the kernel will give our route to `prefix`: IPv6 turns
    /// 0 into [`IP6_RT_PRIO_USER`] (`ip6_route_info_create` in
    /// `net/ipv6/route.c`), IPv4 keeps it.
    pub fn metric_for(&self, prefix: IpNetwork) -> u32 {
        match prefix {
            IpNetwork::V6(_) if self.metric == 0 => IP6_RT_PRIO_USER,
            _ => self.metric,
        }
    }

    /// Is a route with this table, protocol and metric one of ours?
    pub fn is_ours(&self, key: &crate::kernel::route::RouteKey, protocol: u8) -> bool {
        key.table == self.table
            && protocol == self.protocol
            && key.metric == self.metric_for(key.prefix)
    }
}

fn header(prefix: IpNetwork, placement: Placement) -> RouteHeader {
    RouteHeader {
        address_family: match prefix {
            IpNetwork::V4(_) => AddressFamily::Inet,
            IpNetwork::V6(_) => AddressFamily::Inet6,
        },
        destination_prefix_length: prefix.prefix(),
        // Tables past 255 travel in RTA_TABLE only (`rtm_table` is RT_TABLE_UNSPEC).
        table: u8::try_from(placement.table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC),
        protocol: RouteProtocol::from(placement.protocol),
        ..RouteHeader::default()
    }
}

fn destination(prefix: IpNetwork) -> RouteAttribute {
    RouteAttribute::Destination(RouteAddress::from(prefix.network()))
}

/// A unicast route to `prefix` through `gateways` (one: `RTA_GATEWAY`;
/// several: `RTA_MULTIPATH`, one `rtnexthop` each with weight 1, so the
/// kernel spreads flows evenly, `fib_select_multipath`).
pub fn install_message(
    prefix: IpNetwork,
    gateways: &[IpAddr],
    placement: Placement,
) -> RouteMessage {
    let mut message = RouteMessage::default();
    message.header = RouteHeader {
        scope: RouteScope::Universe,
        kind: RouteType::Unicast,
        ..header(prefix, placement)
    };
    message.attributes = vec![
        destination(prefix),
        RouteAttribute::Table(placement.table),
        RouteAttribute::Priority(placement.metric_for(prefix)),
    ];
    match gateways {
        [one] => message
            .attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(*one))),
        many => message.attributes.push(RouteAttribute::MultiPath(
            many.iter()
                .map(|gateway| {
                    let mut hop = RouteNextHop::default();
                    hop.attributes = vec![RouteAttribute::Gateway(RouteAddress::from(*gateway))];
                    hop
                })
                .collect(),
        )),
    }
    message
}

/// Delete our route to `prefix`: table, metric and protocol are given, so
/// the kernel removes only a route with our protocol (`fib_table_delete`
/// in `net/ipv4/fib_trie.c` and `ip6_route_del` in `net/ipv6/route.c`
/// skip routes whose protocol differs); scope `RT_SCOPE_NOWHERE` matches
/// any scope, as `ip route del` does.
pub fn delete_message(prefix: IpNetwork, placement: Placement) -> RouteMessage {
    let mut message = RouteMessage::default();
    message.header = RouteHeader {
        scope: RouteScope::NoWhere,
        kind: RouteType::Unicast,
        ..header(prefix, placement)
    };
    message.attributes = vec![
        destination(prefix),
        RouteAttribute::Table(placement.table),
        RouteAttribute::Priority(placement.metric_for(prefix)),
    ];
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::route::{LinkNames, decode_route};

    const OURS: Placement = Placement {
        table: 254,
        metric: 20,
        protocol: 186,
    };

    #[test]
    fn an_install_decodes_back_to_the_same_route() {
        let gateways: Vec<IpAddr> =
            vec!["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()];
        let prefix: IpNetwork = "10.7.0.0/24".parse().unwrap();
        let route =
            decode_route(&install_message(prefix, &gateways, OURS), &LinkNames::new()).unwrap();
        assert_eq!(route.key.prefix, prefix);
        assert_eq!(route.key.metric, 20);
        assert_eq!(route.protocol, 186);
        let got: Vec<_> = route.next_hops.iter().filter_map(|h| h.gateway).collect();
        assert_eq!(got, gateways);

        let one = install_message(prefix, &gateways[..1], OURS);
        assert!(
            one.attributes
                .contains(&RouteAttribute::Gateway(RouteAddress::from(gateways[0])))
        );
    }

    #[test]
    fn ipv6_metric_zero_is_the_kernel_default() {
        let placement = Placement { metric: 0, ..OURS };
        let v6: IpNetwork = "2001:db8::/32".parse().unwrap();
        let v4: IpNetwork = "10.0.0.0/8".parse().unwrap();
        assert_eq!(placement.metric_for(v6), IP6_RT_PRIO_USER);
        assert_eq!(placement.metric_for(v4), 0);
        assert!(
            install_message(v6, &["2001:db8::1".parse().unwrap()], placement)
                .attributes
                .contains(&RouteAttribute::Priority(1024))
        );
    }

    #[test]
    fn large_tables_go_in_rta_table_only() {
        let placement = Placement {
            table: 1000,
            ..OURS
        };
        let message = delete_message("2001:db8::/32".parse().unwrap(), placement);
        assert_eq!(message.header.table, RouteHeader::RT_TABLE_UNSPEC);
        assert!(message.attributes.contains(&RouteAttribute::Table(1000)));
        assert_eq!(message.header.address_family, AddressFamily::Inet6);
        assert_eq!(message.header.scope, RouteScope::NoWhere);
    }
}
