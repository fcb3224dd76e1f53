//! The blackhole routes of the node's blocks in the kernel.
//!
//! Each affine block gets `blackhole <block> proto <ours>` in the main
//! table, as Calico's BIRD configuration does: packets to an address of
//! the block that no workload route (a longer /32 or /128) claims are
//! dropped on this node instead of following the default route back out.
//! They carry a protocol number of their own ([`DEFAULT_PROTOCOL`]), so
//! the installer (protocol 186) and Felix (80) never take them for their
//! own, and this module deletes only routes with that number (the kernel
//! matches the protocol on delete, `fib_table_delete`).

use std::collections::HashSet;

use ipnetwork::IpNetwork;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use rtnetlink::Handle;

use crate::kernel::netlink::{self, NetlinkError};
use crate::kernel::route::{LinkNames, RT_TABLE_MAIN, RouteKind, decode_route};

/// The protocol number of block blackholes: in no registry (not in
/// `include/uapi/linux/rtnetlink.h`, not in iproute2's `rt_protos`) and
/// not Felix's 80, BIRD's 12 or the BGP-family numbers 186-192.
pub const DEFAULT_PROTOCOL: u8 = 196;

const EEXIST: i32 = nix::errno::Errno::EEXIST as i32;
const ESRCH: i32 = nix::errno::Errno::ESRCH as i32;

/// Why a blackhole could not be written.
#[derive(Debug, thiserror::Error)]
pub enum BlackholeError {
    /// The kernel refused one route.
    #[error("blackhole {block}: {source}")]
    Kernel {
        /// The block.
        block: IpNetwork,
        /// The answer.
        source: NetlinkError,
    },
    /// The connection or a dump failed.
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
}

/// Keeps one blackhole route per block, and no other route of its
/// protocol.
#[derive(Debug)]
pub struct Blackholes {
    handle: Handle,
    protocol: u8,
    installed: HashSet<IpNetwork>,
}

impl Blackholes {
    /// Connect in the current network namespace and adopt the routes of
    /// `protocol` already there (a previous run's). Inside a tokio runtime.
    pub async fn open(protocol: u8) -> Result<Self, BlackholeError> {
        let handle = netlink::connect()?;
        let mut installed = HashSet::new();
        netlink::for_each_route_all(&handle, |message| {
            if let Ok(route) = decode_route(&message, &LinkNames::new())
                && route.protocol == protocol
                && route.key.table == RT_TABLE_MAIN
                && route.kind == RouteKind::Blackhole
            {
                installed.insert(route.key.prefix);
            }
        })
        .await?;
        Ok(Blackholes {
            handle,
            protocol,
            installed,
        })
    }

    /// The blocks with a blackhole now.
    pub fn installed(&self) -> &HashSet<IpNetwork> {
        &self.installed
    }

    /// Make the blackholes exactly `blocks`: add the missing, delete ours
    /// that are not wanted. Every block is tried; the first error is
    /// returned (and the block retried at the next call).
    pub async fn sync(&mut self, blocks: &HashSet<IpNetwork>) -> Result<(), BlackholeError> {
        let mut first_error = None;
        let gone: Vec<IpNetwork> = self.installed.difference(blocks).copied().collect();
        for block in gone {
            let request = self
                .handle
                .route()
                .del(self.message(block, RouteScope::NoWhere));
            match request.execute().await {
                Ok(()) => {
                    self.installed.remove(&block);
                }
                Err(e) => {
                    let source = NetlinkError::request("delete blackhole", e);
                    if source.errno() == Some(ESRCH) {
                        self.installed.remove(&block);
                    } else {
                        first_error.get_or_insert(BlackholeError::Kernel { block, source });
                    }
                }
            }
        }
        let new: Vec<IpNetwork> = blocks.difference(&self.installed).copied().collect();
        for block in new {
            let request = self
                .handle
                .route()
                .add(self.message(block, RouteScope::Universe));
            match request.execute().await {
                Ok(()) => {
                    self.installed.insert(block);
                }
                Err(e) => {
                    let source = NetlinkError::request("add blackhole", e);
                    if source.errno() == Some(EEXIST) {
                        // Someone else's route with this key: theirs stays.
                        tracing::warn!(%block, "a route to the block exists already: no blackhole added");
                    }
                    first_error.get_or_insert(BlackholeError::Kernel { block, source });
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Delete every blackhole of ours (the node stops routing by block).
    pub async fn clear(&mut self) -> Result<(), BlackholeError> {
        self.sync(&HashSet::new()).await
    }

    fn message(&self, block: IpNetwork, scope: RouteScope) -> RouteMessage {
        let mut message = RouteMessage::default();
        message.header = RouteHeader {
            address_family: match block {
                IpNetwork::V4(_) => AddressFamily::Inet,
                IpNetwork::V6(_) => AddressFamily::Inet6,
            },
            destination_prefix_length: block.prefix(),
            table: RouteHeader::RT_TABLE_MAIN,
            protocol: RouteProtocol::from(self.protocol),
            scope,
            kind: RouteType::BlackHole,
            ..RouteHeader::default()
        };
        message.attributes = vec![RouteAttribute::Destination(RouteAddress::from(
            block.network(),
        ))];
        message
    }
}
