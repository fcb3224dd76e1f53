//! The workload's networking, as Calico's Linux dataplane sets it up
//! (`cni-plugin/pkg/dataplane/linux`): a veth pair whose host end is
//! `cali<first 11 characters of the container id>` with MAC
//! `ee:ee:ee:ee:ee:ee`, and whose other end is `CNI_IFNAME` inside the
//! container with the workload's `/32` and `/128` addresses, a link route to
//! 169.254.1.1, and default routes via 169.254.1.1 (answered by proxy ARP on
//! the host side) and via `fe80::ecee:eeff:feee:eeee` (the host end's EUI-64
//! link-local address). On the host, a `/32` or `/128` scope-link route to
//! each address through the host end, with the protocol Felix uses (80), so
//! the node agent's Felix adopts it and the client advertises it.
//!
//! The veth is created in one request with its peer already in the
//! container's namespace under its final name, so a taken `CNI_IFNAME` fails
//! before anything exists, and deleting the host end always removes both.
//!
//! # Layout
//! - [`netns`]: opening `CNI_NETNS` and running code inside it;
//! - [`netlink`]: the rtnetlink requests;
//! - [`sysctl`]: the `/proc/sys/net` settings of both ends;
//! - [`container`]: the container side (configure, check, delete);
//! - this module: [`setup`], [`teardown`], [`check`] from the host side.

pub mod container;
pub mod netlink;
pub mod netns;
pub mod sysctl;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use ipnetwork::IpNetwork;
use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth};
use rtnetlink::{LinkMessageBuilder, LinkUnspec};

use self::netlink::{EEXIST, Link};
use self::netns::NetNs;
use crate::spec::Route;

/// The MAC address of every host-side veth.
pub const HOST_MAC: [u8; 6] = [0xee; 6];
/// The IPv4 next hop inside containers (answered by proxy ARP).
pub const IPV4_GATEWAY: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 1);
/// The IPv6 next hop inside containers: the EUI-64 link-local address of
/// [`HOST_MAC`].
pub const IPV6_GATEWAY: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0xecee, 0xeeff, 0xfeee, 0xeeee);
/// The route protocol of the host-side routes: Felix's (`RTPROT_FELIX` of
/// `bgp-client::felix`).
pub const HOST_ROUTE_PROTOCOL: u8 = 80;

/// A dataplane failure.
#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    /// `CNI_NETNS` does not exist.
    #[error("network namespace {0} does not exist")]
    NetnsGone(PathBuf),
    /// `CNI_NETNS` could not be opened.
    #[error("cannot open network namespace {path}: {source}")]
    NetnsOpen {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `setns(2)` refused.
    #[error("cannot enter network namespace {path}: {errno}")]
    Setns {
        /// The path.
        path: PathBuf,
        /// The errno.
        errno: nix::Error,
    },
    /// The netlink socket could not be opened.
    #[error("netlink socket: {0}")]
    Socket(std::io::Error),
    /// A thread or runtime could not be started.
    #[error("cannot start the namespace thread: {0}")]
    Runtime(std::io::Error),
    /// The namespace thread panicked.
    #[error("the namespace thread panicked")]
    ThreadPanicked,
    /// The kernel refused a request.
    #[error("{what}: {source}")]
    Netlink {
        /// What was asked.
        what: String,
        /// The kernel's answer.
        source: rtnetlink::Error,
    },
    /// A sysctl could not be written.
    #[error("sysctl {path}: {source}")]
    Sysctl {
        /// The `/proc/sys` file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `CNI_IFNAME` (or the host-side name) is taken.
    #[error("interface {ifname} already exists in {netns} (or {host} on the host)")]
    InterfaceExists {
        /// The container-side name.
        ifname: String,
        /// The container's namespace.
        netns: PathBuf,
        /// The host-side name.
        host: String,
    },
    /// A host route to the workload exists through another interface.
    #[error("a route to {dst} already exists through another interface (ifindex {other})")]
    RouteConflict {
        /// The workload address.
        dst: IpNetwork,
        /// The interface it goes through.
        other: u32,
    },
    /// Something that should exist does not.
    #[error("{0} not found")]
    Missing(String),
}

/// Calico's host-side veth name: `cali` + the first 11 characters of the
/// container id (15 bytes, the kernel's limit).
pub fn host_veth_name(container_id: &str) -> String {
    let prefix: String = container_id.chars().take(11).collect();
    format!("cali{prefix}")
}

/// What [`setup`] needs.
#[derive(Clone, Debug)]
pub struct SetupPlan {
    /// The container's namespace (`CNI_NETNS`).
    pub netns: PathBuf,
    /// `CNI_IFNAME`.
    pub ifname: String,
    /// The host-side name.
    pub host_ifname: String,
    /// The workload's addresses; their prefix is forced to `/32` / `/128`.
    pub addresses: Vec<IpNetwork>,
    /// MTU of both ends (`None`: the kernel's default).
    pub mtu: Option<u32>,
    /// `container_settings.allow_ip_forwarding`.
    pub allow_ip_forwarding: bool,
}

/// What [`setup`] made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupDone {
    /// The host side.
    pub host_ifname: String,
    /// The container side's MAC.
    pub container_mac: String,
    /// The addresses as configured (`/32`, `/128`).
    pub addresses: Vec<IpNetwork>,
    /// The routes in the container (result form).
    pub routes: Vec<Route>,
}

/// An address as a host network (`/32` or `/128`).
pub fn host_network(net: IpNetwork) -> IpNetwork {
    let bits = if net.is_ipv4() { 32 } else { 128 };
    IpNetwork::new(net.ip(), bits).unwrap_or(net)
}

/// Creates and configures the veth pair. On failure whatever was created is
/// deleted before the error returns.
pub async fn setup(plan: &SetupPlan) -> Result<SetupDone, DataplaneError> {
    let ns = NetNs::open(&plan.netns)?;
    let handle = netlink::connect()?;
    // A leftover host end of an earlier attempt goes first (Calico does the same).
    if netlink::delete_by_name(&handle, &plan.host_ifname).await? {
        tracing::info!(ifname = %plan.host_ifname, "deleted a leftover host-side veth");
    }
    create_veth(&handle, &ns, plan).await?;
    match configure(&handle, &ns, plan).await {
        Ok(done) => Ok(done),
        Err(e) => {
            if let Err(cleanup) = netlink::delete_by_name(&handle, &plan.host_ifname).await {
                tracing::warn!(error = %cleanup, "could not delete the veth after a failed ADD");
            }
            Err(e)
        }
    }
}

async fn create_veth(
    handle: &rtnetlink::Handle,
    ns: &NetNs,
    plan: &SetupPlan,
) -> Result<(), DataplaneError> {
    let mut peer = LinkMessageBuilder::<LinkUnspec>::new()
        .name(plan.ifname.clone())
        .setns_by_fd(ns.fd());
    let mut veth = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Veth)
        .name(plan.host_ifname.clone())
        .address(HOST_MAC.to_vec());
    if let Some(mtu) = plan.mtu {
        peer = peer.mtu(mtu);
        veth = veth.mtu(mtu);
    }
    let message = veth
        .set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build())))
        .build();
    match handle.link().add(message).execute().await {
        Ok(()) => Ok(()),
        Err(e) if netlink::errno(&e) == Some(EEXIST) => Err(DataplaneError::InterfaceExists {
            ifname: plan.ifname.clone(),
            netns: plan.netns.clone(),
            host: plan.host_ifname.clone(),
        }),
        Err(e) => Err(netlink::failed(format!(
            "create veth {} / {}",
            plan.host_ifname, plan.ifname
        ))(e)),
    }
}

async fn configure(
    handle: &rtnetlink::Handle,
    ns: &NetNs,
    plan: &SetupPlan,
) -> Result<SetupDone, DataplaneError> {
    let addresses: Vec<IpNetwork> = plan.addresses.iter().copied().map(host_network).collect();
    let v4 = addresses.iter().any(IpNetwork::is_ipv4);
    let v6 = addresses.iter().any(IpNetwork::is_ipv6);
    let host = netlink::link_by_name(handle, &plan.host_ifname)
        .await?
        .ok_or_else(|| DataplaneError::Missing(format!("host-side veth {}", plan.host_ifname)))?;
    sysctl::configure_host_side(&plan.host_ifname, v4, v6)?;
    netlink::set_up(handle, &host).await?;

    let container_plan = container::ContainerPlan {
        ifname: plan.ifname.clone(),
        addresses: addresses.clone(),
        allow_ip_forwarding: plan.allow_ip_forwarding,
    };
    let container_mac = ns.run(move || container::configure(container_plan))?;

    for net in &addresses {
        add_host_route(handle, &host, *net).await?;
    }
    Ok(SetupDone {
        host_ifname: plan.host_ifname.clone(),
        container_mac,
        routes: container::container_routes(&addresses),
        addresses,
    })
}

/// `<address> dev <host end> scope link proto 80`; an existing route through
/// the same interface is fine (Felix may have been first), one through
/// another interface is a conflict.
async fn add_host_route(
    handle: &rtnetlink::Handle,
    host: &Link,
    net: IpNetwork,
) -> Result<(), DataplaneError> {
    let message = netlink::route_message(net, None, host.index, true, HOST_ROUTE_PROTOCOL);
    match handle.route().add(message).execute().await {
        Ok(()) => Ok(()),
        Err(e) if netlink::errno(&e) == Some(EEXIST) => {
            let routes = netlink::routes(handle).await?;
            match routes.iter().find(|r| r.dst == net) {
                Some(r) if r.oif == Some(host.index) => Ok(()),
                Some(r) => Err(DataplaneError::RouteConflict {
                    dst: net,
                    other: r.oif.unwrap_or(0),
                }),
                None => Err(netlink::failed(format!(
                    "add route {net} dev {}",
                    host.name
                ))(e)),
            }
        }
        Err(e) => Err(netlink::failed(format!(
            "add route {net} dev {}",
            host.name
        ))(e)),
    }
}

/// What [`teardown`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TeardownDone {
    /// The container's interface was there and is gone.
    pub container_side: bool,
    /// The host end was still there and is gone.
    pub host_side: bool,
}

/// Removes the workload's interface: inside the namespace when it still
/// exists, and the host end when it is left (a vanished namespace takes its
/// veth end and the peer with it). Nothing there is not an error.
pub async fn teardown(
    netns: Option<&std::path::Path>,
    ifname: &str,
    host_ifname: &str,
) -> Result<TeardownDone, DataplaneError> {
    let mut done = TeardownDone::default();
    if let Some(path) = netns {
        match NetNs::open(path) {
            Ok(ns) => {
                let name = ifname.to_string();
                done.container_side = ns.run(move || container::delete(name))?;
            }
            Err(DataplaneError::NetnsGone(_)) => {
                tracing::info!(netns = %path.display(), "the namespace is already gone");
            }
            Err(e) => return Err(e),
        }
    }
    let handle = netlink::connect()?;
    done.host_side = netlink::delete_by_name(&handle, host_ifname).await?;
    Ok(done)
}

/// What `CHECK` compares.
#[derive(Clone, Debug)]
pub struct CheckPlan {
    /// The container's namespace.
    pub netns: PathBuf,
    /// The host end.
    pub host_ifname: String,
    /// The container side as expected.
    pub container: container::ContainerExpectation,
}

/// Every difference between the dataplane and the plan (empty: all is well).
pub async fn check(plan: &CheckPlan) -> Result<Vec<String>, DataplaneError> {
    let ns = NetNs::open(&plan.netns)?;
    let handle = netlink::connect()?;
    let mut problems = Vec::new();
    match netlink::link_by_name(&handle, &plan.host_ifname).await? {
        None => problems.push(format!("host-side veth {} is missing", plan.host_ifname)),
        Some(host) => {
            if !host.up {
                problems.push(format!("host-side veth {} is down", plan.host_ifname));
            }
            let routes = netlink::routes(&handle).await?;
            for a in &plan.container.addresses {
                let net = host_network(*a);
                if !routes
                    .iter()
                    .any(|r| r.dst == net && r.oif == Some(host.index))
                {
                    problems.push(format!(
                        "host route {net} dev {} is missing",
                        plan.host_ifname
                    ));
                }
            }
        }
    }
    let expect = plan.container.clone();
    problems.extend(ns.run(move || container::check(expect))?);
    Ok(problems)
}
