//! rtnetlink requests shared by the reader and the writer: connections,
//! dumps, and the errno of a failed request.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::TryStreamExt;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::route::RouteMessage;
use rtnetlink::Handle;

/// A failed rtnetlink request.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// The socket could not be opened or configured.
    #[error("netlink socket: {0}")]
    Socket(#[from] io::Error),
    /// The kernel (or the connection) refused a request.
    #[error("{what}: {source}")]
    Request {
        /// What was asked.
        what: String,
        /// The answer.
        source: rtnetlink::Error,
    },
}

impl NetlinkError {
    pub(crate) fn request(what: impl Into<String>, source: rtnetlink::Error) -> Self {
        NetlinkError::Request {
            what: what.into(),
            source,
        }
    }

    /// The kernel's errno (positive, as in `errno.h`), when the kernel
    /// answered with `NLMSG_ERROR`.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Request {
                source: rtnetlink::Error::NetlinkError(message),
                ..
            } => message.code.map(|code| -code.get()),
            NetlinkError::Socket(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

/// Open an rtnetlink connection in the current network namespace and
/// spawn its task on the current tokio runtime.
pub fn connect() -> Result<Handle, NetlinkError> {
    let (connection, handle, _) = rtnetlink::new_connection()?;
    tokio::spawn(connection);
    Ok(handle)
}

/// Every link (`RTM_GETLINK` dump).
pub async fn dump_links(handle: &Handle) -> Result<Vec<LinkMessage>, NetlinkError> {
    handle
        .link()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(|e| NetlinkError::request("dump links", e))
}

/// Every route of `family` in every table (`RTM_GETROUTE` dump; without
/// `NETLINK_GET_STRICT_CHK` the kernel ignores the header's filters, see
/// `ip_valid_fib_dump_req` in `net/ipv4/fib_frontend.c`).
pub async fn dump_routes(
    handle: &Handle,
    family: IpAddr,
) -> Result<Vec<RouteMessage>, NetlinkError> {
    let mut request = RouteMessage::default();
    request.header.address_family = match family {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    handle
        .route()
        .get(request)
        .execute()
        .try_collect()
        .await
        .map_err(|e| NetlinkError::request("dump routes", e))
}

/// Every route of `family` in every table, as [`dump_routes`], handed
/// to `each` as it arrives instead of collected: the caller keeps only
/// what it decodes, and the connection's queue of replies stays short
/// (collecting 100,000 decoded messages first was 23 MB of the agent's
/// peak, kept next to the routes made of them).
pub async fn for_each_route(
    handle: &Handle,
    family: IpAddr,
    mut each: impl FnMut(RouteMessage),
) -> Result<(), NetlinkError> {
    let mut request = RouteMessage::default();
    request.header.address_family = match family {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    let mut replies = handle.route().get(request).execute();
    while let Some(message) = replies
        .try_next()
        .await
        .map_err(|e| NetlinkError::request("dump routes", e))?
    {
        each(message);
    }
    Ok(())
}

/// [`for_each_route`] of both families.
pub async fn for_each_route_all(
    handle: &Handle,
    mut each: impl FnMut(RouteMessage),
) -> Result<(), NetlinkError> {
    for family in [
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    ] {
        for_each_route(handle, family, &mut each).await?;
    }
    Ok(())
}

/// [`dump_routes`] of both families.
pub async fn dump_all_routes(handle: &Handle) -> Result<Vec<RouteMessage>, NetlinkError> {
    let mut routes = dump_routes(handle, IpAddr::V4(Ipv4Addr::UNSPECIFIED)).await?;
    routes.extend(dump_routes(handle, IpAddr::V6(Ipv6Addr::UNSPECIFIED)).await?);
    Ok(routes)
}
