//! Workload routes (`<address>/32 dev <if> scope link proto 80`) and
//! permanent neighbour entries, through rtnetlink.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::link::{LinkAttribute, LinkFlags};
use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use rtnetlink::Handle;

use crate::kernel::netlink::{self, NetlinkError};
use crate::kernel::route::{LinkNames, RT_TABLE_MAIN, RTPROT_BGP, decode_route};

/// The protocol number of the routes Felix installs: not
/// [`RTPROT_BGP`] (186, the client's learned routes), so each owner
/// finds and removes only its own, and export rules can select them.
/// An unassigned number in `include/uapi/linux/rtnetlink.h`.
pub const RTPROT_FELIX: u8 = 80;

const _: () = assert!(RTPROT_FELIX != RTPROT_BGP);

/// A link of the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Its index.
    pub index: u32,
    /// `IFF_UP`.
    pub up: bool,
}

/// Where workload routes go.
#[derive(Debug, Clone)]
pub struct RouteTable {
    handle: Handle,
    /// The protocol of our routes.
    pub protocol: u8,
    /// The table (main).
    pub table: u32,
}

impl RouteTable {
    /// Routes with `protocol` in the main table.
    pub fn new(handle: Handle, protocol: u8) -> Self {
        RouteTable {
            handle,
            protocol,
            table: RT_TABLE_MAIN,
        }
    }

    /// Every link by name.
    pub async fn links(&self) -> Result<BTreeMap<String, Link>, NetlinkError> {
        let mut out = BTreeMap::new();
        for link in netlink::dump_links(&self.handle).await? {
            let name = link.attributes.iter().find_map(|a| match a {
                LinkAttribute::IfName(n) => Some(n.clone()),
                _ => None,
            });
            if let Some(name) = name {
                out.insert(
                    name,
                    Link {
                        index: link.header.index,
                        up: link.header.flags.contains(LinkFlags::Up),
                    },
                );
            }
        }
        Ok(out)
    }

    fn message(&self, net: IpNetwork, ifindex: Option<u32>, scope: RouteScope) -> RouteMessage {
        let mut m = RouteMessage::default();
        m.header = RouteHeader {
            address_family: if net.is_ipv4() {
                AddressFamily::Inet
            } else {
                AddressFamily::Inet6
            },
            destination_prefix_length: net.prefix(),
            table: u8::try_from(self.table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC),
            protocol: RouteProtocol::from(self.protocol),
            scope,
            kind: RouteType::Unicast,
            ..RouteHeader::default()
        };
        m.attributes = vec![
            RouteAttribute::Destination(RouteAddress::from(net.network())),
            RouteAttribute::Table(self.table),
        ];
        if let Some(index) = ifindex {
            m.attributes.push(RouteAttribute::Oif(index));
        }
        m
    }

    /// Add the route to `net` through interface `ifindex`; with
    /// `replace`, replace ours (to move it to another interface). Without,
    /// a route of another protocol to `net` (same metric) makes it fail
    /// with `EEXIST` rather than be overwritten.
    pub async fn add_route(
        &self,
        net: IpNetwork,
        ifindex: u32,
        replace: bool,
    ) -> Result<(), NetlinkError> {
        let request = self
            .handle
            .route()
            .add(self.message(net, Some(ifindex), RouteScope::Link));
        let request = if replace { request.replace() } else { request };
        request
            .execute()
            .await
            .map_err(|e| NetlinkError::request(format!("add route {net}"), e))
    }

    /// Delete our route to `net` (only one with our protocol: the kernel
    /// matches it).
    pub async fn del_route(&self, net: IpNetwork) -> Result<(), NetlinkError> {
        self.handle
            .route()
            .del(self.message(net, None, RouteScope::NoWhere))
            .execute()
            .await
            .map_err(|e| NetlinkError::request(format!("delete route {net}"), e))
    }

    /// Our routes now in the kernel: prefix -> output interface.
    pub async fn ours(&self) -> Result<BTreeMap<IpNetwork, Option<u32>>, NetlinkError> {
        let names = LinkNames::new();
        let mut out = BTreeMap::new();
        for message in netlink::dump_all_routes(&self.handle).await? {
            let Ok(route) = decode_route(&message, &names) else {
                continue;
            };
            if route.protocol == self.protocol && route.key.table == self.table {
                out.insert(
                    route.key.prefix,
                    route.next_hops.first().and_then(|h| h.ifindex),
                );
            }
        }
        Ok(out)
    }

    /// Add (or replace) a permanent neighbour entry.
    pub async fn add_neighbour(
        &self,
        ip: IpAddr,
        ifindex: u32,
        mac: [u8; 6],
    ) -> Result<(), NetlinkError> {
        self.handle
            .neighbours()
            .add(ifindex, ip)
            .link_layer_address(&mac)
            .replace()
            .execute()
            .await
            .map_err(|e| NetlinkError::request(format!("add neighbour {ip}"), e))
    }

    /// Delete the neighbour entry of `ip` on `ifindex`.
    pub async fn del_neighbour(&self, ip: IpAddr, ifindex: u32) -> Result<(), NetlinkError> {
        let mut m = NeighbourMessage::default();
        m.header.family = if ip.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        m.header.ifindex = ifindex;
        m.attributes.push(NeighbourAttribute::Destination(match ip {
            IpAddr::V4(v4) => NeighbourAddress::Inet(v4),
            IpAddr::V6(v6) => NeighbourAddress::Inet6(v6),
        }));
        self.handle
            .neighbours()
            .del(m)
            .execute()
            .await
            .map_err(|e| NetlinkError::request(format!("delete neighbour {ip}"), e))
    }
}
