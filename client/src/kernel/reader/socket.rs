//! The multicast rtnetlink socket the reader listens on.
//!
//! The kernel does not wait for a listener: each notification is queued
//! on the socket's receive buffer, and when it is full the notification is
//! dropped and the next `recvmsg` fails once with `ENOBUFS`
//! (`netlink_overrun` in `net/netlink/af_netlink.c`). Nothing says what
//! was lost, so the reader dumps the tables again. A large buffer
//! (`SO_RCVBUFFORCE`, past `net.core.rmem_max`; needs `CAP_NET_ADMIN`)
//! makes that rare.

use std::io;
use std::os::fd::AsFd;
use std::task::{Context, Poll, Waker};

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{AsyncSocket, AsyncSocketExt, SocketAddr, TokioSocket, protocols::NETLINK_ROUTE};
use nix::sys::socket::{setsockopt, sockopt};

/// `RTNLGRP_LINK` (`include/uapi/linux/rtnetlink.h`).
pub const RTNLGRP_LINK: u32 = 1;
/// `RTNLGRP_IPV4_IFADDR`.
pub const RTNLGRP_IPV4_IFADDR: u32 = 5;
/// `RTNLGRP_IPV4_ROUTE`.
pub const RTNLGRP_IPV4_ROUTE: u32 = 7;
/// `RTNLGRP_IPV6_IFADDR`.
pub const RTNLGRP_IPV6_IFADDR: u32 = 9;
/// `RTNLGRP_IPV6_ROUTE`.
pub const RTNLGRP_IPV6_ROUTE: u32 = 11;

/// Every group the reader joins: routes, and links and addresses because
/// their removal takes IPv4 routes away silently.
pub const GROUPS: [u32; 5] = [
    RTNLGRP_LINK,
    RTNLGRP_IPV4_IFADDR,
    RTNLGRP_IPV4_ROUTE,
    RTNLGRP_IPV6_IFADDR,
    RTNLGRP_IPV6_ROUTE,
];

const ENOBUFS: i32 = nix::errno::Errno::ENOBUFS as i32;

/// Receive buffer large enough for any single datagram the kernel sends
/// a listener (a dump part is at most 32 KiB, `netlink_dump`).
const DATAGRAM: usize = 64 * 1024;

/// What a read of the socket found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadOutcome {
    /// Messages decoded.
    pub(crate) messages: usize,
    /// The kernel dropped notifications (`ENOBUFS`).
    pub(crate) overrun: bool,
    /// Messages that could not be decoded and were skipped.
    pub(crate) undecodable: usize,
}

/// A non-blocking rtnetlink socket joined to the route, link and address
/// groups.
pub(crate) struct MulticastSocket {
    socket: TokioSocket,
    buffer: Vec<u8>,
    /// The receive buffer the kernel granted (twice what was asked).
    pub(crate) granted: usize,
}

impl std::fmt::Debug for MulticastSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MulticastSocket")
            .field("granted", &self.granted)
            .finish_non_exhaustive()
    }
}

impl MulticastSocket {
    /// Open, size the receive buffer to `receive_buffer` bytes, and join
    /// `groups`. Must be called inside a tokio runtime.
    pub(crate) fn open(groups: &[u32], receive_buffer: usize) -> io::Result<Self> {
        let mut socket = TokioSocket::new(NETLINK_ROUTE)?;
        let raw = socket.socket_mut();
        // Past rmem_max needs CAP_NET_ADMIN; without it, take what is allowed.
        if setsockopt(&raw.as_fd(), sockopt::RcvBufForce, &receive_buffer).is_err() {
            raw.set_rx_buf_sz(receive_buffer)?;
        }
        raw.bind(&SocketAddr::new(0, 0))?;
        for group in groups {
            raw.add_membership(*group)?;
        }
        let granted = raw.get_rx_buf_sz()?;
        Ok(MulticastSocket {
            socket,
            buffer: Vec::with_capacity(DATAGRAM),
            granted,
        })
    }

    /// Wait for a datagram, then read everything pending. Cancel-safe:
    /// a datagram is taken from the socket only when the wait is over.
    pub(crate) async fn read(
        &mut self,
        out: &mut Vec<RouteNetlinkMessage>,
    ) -> io::Result<ReadOutcome> {
        let mut outcome = ReadOutcome::default();
        self.buffer.clear();
        match self.socket.recv(&mut self.buffer).await {
            Ok(()) => decode_datagram(&self.buffer, out, &mut outcome),
            Err(e) if e.raw_os_error() == Some(ENOBUFS) => outcome.overrun = true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let rest = self.read_now(out)?;
        outcome.messages += rest.messages;
        outcome.undecodable += rest.undecodable;
        outcome.overrun |= rest.overrun;
        Ok(outcome)
    }

    /// Read everything pending now, without waiting.
    ///
    /// Through `poll_recv` with a waker that does nothing, so the `recv`
    /// that finds the socket empty also clears tokio's readiness: the next
    /// [`MulticastSocket::read`] then waits for the kernel's next
    /// notification without a `recv` of its own that would return `EAGAIN`
    /// (a raw `recv` left the socket marked readable, and each lone change
    /// paid that call, issue 8). The waker is replaced by the next wait's.
    pub(crate) fn read_now(
        &mut self,
        out: &mut Vec<RouteNetlinkMessage>,
    ) -> io::Result<ReadOutcome> {
        let mut outcome = ReadOutcome::default();
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            self.buffer.clear();
            match self.socket.poll_recv(&mut cx, &mut self.buffer) {
                Poll::Pending => return Ok(outcome),
                Poll::Ready(Ok(())) if self.buffer.is_empty() => return Ok(outcome),
                Poll::Ready(Ok(())) => decode_datagram(&self.buffer, out, &mut outcome),
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The error is reported once; what is queued after it is valid.
                Poll::Ready(Err(e)) if e.raw_os_error() == Some(ENOBUFS) => outcome.overrun = true,
                Poll::Ready(Err(e)) => return Err(e),
            }
        }
    }
}

/// Split one datagram into netlink messages (`NLMSG_NEXT`, netlink(7)).
fn decode_datagram(datagram: &[u8], out: &mut Vec<RouteNetlinkMessage>, outcome: &mut ReadOutcome) {
    let mut offset = 0;
    while datagram.len() - offset >= 16 {
        let length = u32::from_ne_bytes([
            datagram[offset],
            datagram[offset + 1],
            datagram[offset + 2],
            datagram[offset + 3],
        ]) as usize;
        if length < 16 || offset + length > datagram.len() {
            outcome.undecodable += 1;
            return;
        }
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&datagram[offset..offset + length])
        {
            Ok(message) => match message.payload {
                NetlinkPayload::InnerMessage(inner) => {
                    outcome.messages += 1;
                    out.push(inner);
                }
                NetlinkPayload::Overrun(_) => outcome.overrun = true,
                _ => {}
            },
            Err(e) => {
                tracing::warn!(error = %e, "undecodable rtnetlink notification skipped");
                outcome.undecodable += 1;
            }
        }
        offset += (length + 3) & !3;
    }
}
