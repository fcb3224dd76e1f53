//! What happens inside the container's namespace (on the
//! [`NetNs::run`](super::netns::NetNs::run) thread): the interface brought
//! up with its `/32` and `/128` addresses, the link route to 169.254.1.1 and
//! the default routes, as Calico's `DoNetworking` sets them; the checks of
//! `CHECK`; and the interface's removal on `DEL`.

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::netlink::{self, EEXIST, RouteEntry};
use super::{DataplaneError, IPV4_GATEWAY, IPV6_GATEWAY, sysctl};
use crate::spec::Route;

/// What the container side needs to be configured.
#[derive(Clone, Debug)]
pub struct ContainerPlan {
    /// `CNI_IFNAME`.
    pub ifname: String,
    /// The addresses (host networks: `/32`, `/128`).
    pub addresses: Vec<IpNetwork>,
    /// `container_settings.allow_ip_forwarding`.
    pub allow_ip_forwarding: bool,
}

/// Routes the plugin installs in the container, in result form.
pub fn container_routes(addresses: &[IpNetwork]) -> Vec<Route> {
    let mut routes = Vec::new();
    if addresses.iter().any(IpNetwork::is_ipv4) {
        routes.push(Route {
            dst: IpNetwork::new(IpAddr::from([0, 0, 0, 0]), 0).unwrap_or(addresses[0]),
            gw: Some(IpAddr::V4(IPV4_GATEWAY)),
        });
    }
    if addresses.iter().any(IpNetwork::is_ipv6) {
        routes.push(Route {
            dst: IpNetwork::new(IpAddr::from([0u16; 8]), 0).unwrap_or(addresses[0]),
            gw: Some(IpAddr::V6(IPV6_GATEWAY)),
        });
    }
    routes
}

fn gateway_link_route() -> IpNetwork {
    IpNetwork::new(IpAddr::V4(IPV4_GATEWAY), 32).expect("a /32 is a valid prefix")
}

/// Configures the container side; returns its MAC address.
pub async fn configure(plan: ContainerPlan) -> Result<String, DataplaneError> {
    let handle = netlink::connect()?;
    let link = netlink::link_by_name(&handle, &plan.ifname)
        .await?
        .ok_or_else(|| DataplaneError::Missing(format!("{} in the container", plan.ifname)))?;
    let v4 = plan.addresses.iter().any(IpNetwork::is_ipv4);
    let v6 = plan.addresses.iter().any(IpNetwork::is_ipv6);
    sysctl::configure_container_side(&plan.ifname, v4, v6, plan.allow_ip_forwarding)?;
    netlink::set_up(&handle, &link).await?;
    for net in &plan.addresses {
        netlink::add_address(&handle, &link, *net).await?;
    }
    if v4 {
        let m = netlink::route_message(gateway_link_route(), None, link.index, true, 3);
        add_route_in_container(&handle, m, "169.254.1.1/32 (link)").await?;
    }
    for r in container_routes(&plan.addresses) {
        let m = netlink::route_message(r.dst, r.gw, link.index, false, 3);
        add_route_in_container(&handle, m, &format!("{} via {:?}", r.dst, r.gw)).await?;
    }
    link.mac
        .ok_or_else(|| DataplaneError::Missing(format!("the MAC address of {}", plan.ifname)))
}

async fn add_route_in_container(
    handle: &rtnetlink::Handle,
    m: netlink_packet_route::route::RouteMessage,
    what: &str,
) -> Result<(), DataplaneError> {
    match handle.route().add(m).execute().await {
        Ok(()) => Ok(()),
        // Already there (a retried ADD): as good as added.
        Err(e) if netlink::errno(&e) == Some(EEXIST) => Ok(()),
        Err(e) => Err(netlink::failed(format!(
            "add route {what} in the container"
        ))(e)),
    }
}

/// Deletes the container's interface (its peer goes with it); `Ok(false)`
/// when it was already gone.
pub async fn delete(ifname: String) -> Result<bool, DataplaneError> {
    let handle = netlink::connect()?;
    netlink::delete_by_name(&handle, &ifname).await
}

/// What `CHECK` expects inside the container.
#[derive(Clone, Debug)]
pub struct ContainerExpectation {
    /// The interface.
    pub ifname: String,
    /// Its MAC, when `prevResult` gives one.
    pub mac: Option<String>,
    /// Its addresses.
    pub addresses: Vec<IpNetwork>,
    /// The routes through it.
    pub routes: Vec<Route>,
}

/// Every difference between the container and the expectation (empty when
/// it matches).
pub async fn check(expect: ContainerExpectation) -> Result<Vec<String>, DataplaneError> {
    let handle = netlink::connect()?;
    let mut problems = Vec::new();
    let Some(link) = netlink::link_by_name(&handle, &expect.ifname).await? else {
        return Ok(vec![format!(
            "interface {} is missing in the container",
            expect.ifname
        )]);
    };
    if !link.up {
        problems.push(format!("interface {} is down", expect.ifname));
    }
    if let (Some(want), Some(have)) = (&expect.mac, &link.mac) {
        if !want.eq_ignore_ascii_case(have) {
            problems.push(format!(
                "interface {} has MAC {have}, not {want}",
                expect.ifname
            ));
        }
    }
    let have = netlink::addresses(&handle, &link).await?;
    for a in &expect.addresses {
        if !have.contains(a) {
            problems.push(format!("address {a} is missing on {}", expect.ifname));
        }
    }
    let routes: Vec<RouteEntry> = netlink::routes(&handle)
        .await?
        .into_iter()
        .filter(|r| r.oif == Some(link.index))
        .collect();
    let mut wanted = expect.routes.clone();
    if expect.addresses.iter().any(IpNetwork::is_ipv4) {
        wanted.push(Route {
            dst: gateway_link_route(),
            gw: None,
        });
    }
    for w in &wanted {
        let found = routes
            .iter()
            .any(|r| r.dst == w.dst && (w.gw.is_none() || r.gw == w.gw));
        if !found {
            let via = w.gw.map(|g| format!(" via {g}")).unwrap_or_default();
            problems.push(format!(
                "route {}{via} dev {} is missing in the container",
                w.dst, expect.ifname
            ));
        }
    }
    Ok(problems)
}
