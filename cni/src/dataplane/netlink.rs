//! Small rtnetlink requests shared by the host and container sides: links by
//! name, addresses, routes, and the kernel's errno of a refused request.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::TryStreamExt;
use ipnetwork::IpNetwork;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope,
};
use rtnetlink::{Handle, LinkUnspec, RouteMessageBuilder};

use super::DataplaneError;

/// `ENODEV` from `errno.h`: no such device.
pub const ENODEV: i32 = 19;
/// `EEXIST` from `errno.h`: already exists.
pub const EEXIST: i32 = 17;

/// The kernel's errno (positive) of a refused request.
pub fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()),
        _ => None,
    }
}

/// A netlink failure, with what was asked.
pub fn failed(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> DataplaneError {
    let what = what.into();
    move |source| DataplaneError::Netlink { what, source }
}

/// Opens an rtnetlink connection in the calling thread's namespace.
pub fn connect() -> Result<Handle, DataplaneError> {
    let (connection, handle, _) = rtnetlink::new_connection().map_err(DataplaneError::Socket)?;
    tokio::spawn(connection);
    Ok(handle)
}

/// A link as the plugin needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// `ifindex`.
    pub index: u32,
    /// Name.
    pub name: String,
    /// MAC address, `aa:bb:..`.
    pub mac: Option<String>,
    /// `IFF_UP`.
    pub up: bool,
    /// MTU.
    pub mtu: Option<u32>,
}

/// Formats a MAC address.
pub fn format_mac(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn to_link(m: &LinkMessage) -> Link {
    let mut link = Link {
        index: m.header.index,
        name: String::new(),
        mac: None,
        up: m.header.flags.contains(LinkFlags::Up),
        mtu: None,
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Address(b) => link.mac = Some(format_mac(b)),
            LinkAttribute::Mtu(m) => link.mtu = Some(*m),
            _ => {}
        }
    }
    link
}

/// The link called `name`, or `None` when there is none.
pub async fn link_by_name(handle: &Handle, name: &str) -> Result<Option<Link>, DataplaneError> {
    let mut request = handle.link().get().match_name(name.to_string()).execute();
    match request.try_next().await {
        Ok(Some(m)) => Ok(Some(to_link(&m))),
        Ok(None) => Ok(None),
        Err(e) if matches!(errno(&e), Some(ENODEV)) => Ok(None),
        Err(e) => Err(failed(format!("look up link {name}"))(e)),
    }
}

/// Sets a link up.
pub async fn set_up(handle: &Handle, link: &Link) -> Result<(), DataplaneError> {
    handle
        .link()
        .set(LinkUnspec::new_with_index(link.index).up().build())
        .execute()
        .await
        .map_err(failed(format!("set {} up", link.name)))
}

/// Deletes the link called `name`; `Ok(false)` when it did not exist.
pub async fn delete_by_name(handle: &Handle, name: &str) -> Result<bool, DataplaneError> {
    let Some(link) = link_by_name(handle, name).await? else {
        return Ok(false);
    };
    match handle.link().del(link.index).execute().await {
        Ok(()) => Ok(true),
        Err(e) if matches!(errno(&e), Some(ENODEV)) => Ok(false),
        Err(e) => Err(failed(format!("delete link {name}"))(e)),
    }
}

/// Adds an address to a link.
pub async fn add_address(
    handle: &Handle,
    link: &Link,
    net: IpNetwork,
) -> Result<(), DataplaneError> {
    handle
        .address()
        .add(link.index, net.ip(), net.prefix())
        .execute()
        .await
        .map_err(failed(format!("add {net} to {}", link.name)))
}

/// The addresses of a link, with their prefix lengths.
pub async fn addresses(handle: &Handle, link: &Link) -> Result<Vec<IpNetwork>, DataplaneError> {
    let messages: Vec<_> = handle
        .address()
        .get()
        .set_link_index_filter(link.index)
        .execute()
        .try_collect()
        .await
        .map_err(failed(format!("list addresses of {}", link.name)))?;
    Ok(messages
        .iter()
        .filter(|m| m.header.index == link.index)
        .filter_map(|m| {
            m.attributes.iter().find_map(|a| match a {
                AddressAttribute::Address(ip) => IpNetwork::new(*ip, m.header.prefix_len).ok(),
                _ => None,
            })
        })
        .collect())
}

/// A route in the main table: destination, gateway, output interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteEntry {
    /// Destination.
    pub dst: IpNetwork,
    /// Gateway.
    pub gw: Option<IpAddr>,
    /// Output interface.
    pub oif: Option<u32>,
    /// `RT_SCOPE_LINK`.
    pub scope_link: bool,
}

fn route_ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn to_route(m: &RouteMessage) -> Option<RouteEntry> {
    let v4 = m.header.address_family == AddressFamily::Inet;
    let mut dst = None;
    let mut gw = None;
    let mut oif = None;
    let mut table = u32::from(m.header.table);
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(d) => dst = route_ip(d),
            RouteAttribute::Gateway(g) => gw = route_ip(g),
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Table(t) => table = *t,
            _ => {}
        }
    }
    if table != 254 {
        return None;
    }
    let any: IpAddr = if v4 {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    let dst = IpNetwork::new(dst.unwrap_or(any), m.header.destination_prefix_length).ok()?;
    Some(RouteEntry {
        dst,
        gw,
        oif,
        scope_link: m.header.scope == RouteScope::Link,
    })
}

/// Every route of the main table, both families.
pub async fn routes(handle: &Handle) -> Result<Vec<RouteEntry>, DataplaneError> {
    let mut out = Vec::new();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut request = RouteMessage::default();
        request.header.address_family = family;
        let messages: Vec<RouteMessage> = handle
            .route()
            .get(request)
            .execute()
            .try_collect()
            .await
            .map_err(failed("list routes"))?;
        out.extend(messages.iter().filter_map(to_route));
    }
    Ok(out)
}

/// A route message: `dst [via gw] dev oif [scope link] proto protocol`.
pub fn route_message(
    dst: IpNetwork,
    gw: Option<IpAddr>,
    oif: u32,
    scope_link: bool,
    protocol: u8,
) -> RouteMessage {
    let scope = if scope_link {
        RouteScope::Link
    } else {
        RouteScope::Universe
    };
    let protocol = RouteProtocol::from(protocol);
    match dst {
        IpNetwork::V4(d) => {
            let mut b = RouteMessageBuilder::<Ipv4Addr>::new()
                .destination_prefix(d.ip(), d.prefix())
                .output_interface(oif)
                .scope(scope)
                .protocol(protocol);
            if let Some(IpAddr::V4(g)) = gw {
                b = b.gateway(g);
            }
            b.build()
        }
        IpNetwork::V6(d) => {
            let mut b = RouteMessageBuilder::<Ipv6Addr>::new()
                .destination_prefix(d.ip(), d.prefix())
                .output_interface(oif)
                .scope(scope)
                .protocol(protocol);
            if let Some(IpAddr::V6(g)) = gw {
                b = b.gateway(g);
            }
            b.build()
        }
    }
}
