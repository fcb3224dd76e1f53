//! The writer's own rtnetlink socket for batches of route requests, sent
//! from the caller's task.
//!
//! Requests through an `rtnetlink::Handle` go over a channel to the
//! connection's task, which sends them one `sendmsg` each and hands every
//! ack back over another channel: two task hops per route before and
//! after the kernel has it. Here the caller writes the requests itself,
//! many netlink messages in one datagram: the kernel runs each message of
//! a datagram in turn inside that `sendmsg` (`netlink_rcv_skb` in
//! `net/netlink/af_netlink.c`), and acks each one (`NLM_F_ACK`), carrying
//! on past a failed one. So every route is in the kernel (and its
//! notification sent) when `sendmsg` returns, and the acks are already
//! queued on the socket; they are read without waiting.
//!
//! `NETLINK_CAP_ACK` keeps an error's ack to the request's header, and
//! the receive buffer holds far more acks than [`IN_FLIGHT`] of them, so
//! none is dropped.

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use netlink_packet_core::{
    ErrorMessage, NLM_F_ACK, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{AsyncSocket, AsyncSocketExt, SocketAddr, TokioSocket, protocols::NETLINK_ROUTE};
use nix::sys::socket::{setsockopt, sockopt};

use super::batch::IN_FLIGHT;

/// Receive buffer asked for (the acks of [`IN_FLIGHT`] requests take a
/// few hundred KiB of kernel accounting).
const RECEIVE_BUFFER: usize = 4 << 20;

/// Most bytes of requests in one datagram: well under the default send
/// buffer (`net.core.wmem_default`, 212,992), past which `sendmsg` to
/// the kernel fails with `EMSGSIZE`.
const DATAGRAM_LIMIT: usize = 64 * 1024;

/// A receive buffer for one datagram of acks.
const READ_BUFFER: usize = 64 * 1024;

/// Longest wait for acks the kernel has not queued by the time `sendmsg`
/// returned (it always has; this only bounds a broken socket).
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

const ENOBUFS: i32 = nix::errno::Errno::ENOBUFS as i32;

/// What the kernel said to one request: `Ok` for an ack, the error
/// message for a refusal.
pub(crate) type Answer = Result<(), ErrorMessage>;

/// See the module documentation.
pub(crate) struct RequestSocket {
    socket: TokioSocket,
    next_sequence: u32,
    out: Vec<u8>,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for RequestSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestSocket")
            .field("next_sequence", &self.next_sequence)
            .finish_non_exhaustive()
    }
}

impl RequestSocket {
    /// Open in the current network namespace. Must be called inside a
    /// tokio runtime.
    pub(crate) fn open() -> io::Result<Self> {
        let mut socket = TokioSocket::new(NETLINK_ROUTE)?;
        let raw = socket.socket_mut();
        if setsockopt(&raw.as_fd(), sockopt::RcvBufForce, &RECEIVE_BUFFER).is_err() {
            raw.set_rx_buf_sz(RECEIVE_BUFFER)?;
        }
        raw.set_cap_ack(true)?;
        raw.bind_auto()?;
        Ok(RequestSocket {
            socket,
            next_sequence: 1,
            out: Vec::with_capacity(DATAGRAM_LIMIT),
            buffer: Vec::with_capacity(READ_BUFFER),
        })
    }

    /// Send every request (a message and its `NLM_F_*` flags beyond
    /// `NLM_F_REQUEST | NLM_F_ACK`), [`IN_FLIGHT`] at most per datagram,
    /// and collect the kernel's answers, in the order of `requests`.
    pub(crate) async fn exchange(
        &mut self,
        requests: Vec<(RouteNetlinkMessage, u16)>,
    ) -> io::Result<Vec<Answer>> {
        let total = requests.len();
        let base = self.next_sequence;
        self.next_sequence = base.wrapping_add(total as u32);
        let mut answers: Vec<Option<Answer>> = vec![None; total];
        let mut requests = requests.into_iter().enumerate().peekable();
        while requests.peek().is_some() {
            self.out.clear();
            let mut sent = 0;
            while let Some((index, (message, flags))) =
                requests.next_if(|_| sent < IN_FLIGHT && self.out.len() < DATAGRAM_LIMIT)
            {
                let mut header = NetlinkHeader::default();
                header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
                header.sequence_number = base.wrapping_add(index as u32);
                let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
                packet.finalize();
                let at = self.out.len();
                self.out.resize(at + packet.buffer_len(), 0);
                packet.serialize(&mut self.out[at..]);
                sent += 1;
            }
            let kernel = SocketAddr::new(0, 0);
            self.socket.send_to(&self.out, &kernel).await?;
            bgp_speaker::speaker::hops::mark("writer.sendmsg", sent as u64);
            let mut missing = sent;
            self.read_ready(base, &mut answers, &mut missing)?;
            if missing > 0 {
                let wait = async {
                    while missing > 0 {
                        self.buffer.clear();
                        self.socket.recv(&mut self.buffer).await?;
                        record(&self.buffer, base, &mut answers, &mut missing);
                    }
                    Ok::<_, io::Error>(())
                };
                tokio::time::timeout(ACK_TIMEOUT, wait)
                    .await
                    .map_err(|_| {
                        io::Error::new(io::ErrorKind::TimedOut, "no ack from the kernel")
                    })??;
            }
        }
        Ok(answers
            .into_iter()
            .map(|answer| answer.unwrap_or(Ok(())))
            .collect())
    }

    /// Read the acks already queued, without waiting.
    fn read_ready(
        &mut self,
        base: u32,
        answers: &mut [Option<Answer>],
        missing: &mut usize,
    ) -> io::Result<()> {
        while *missing > 0 {
            self.buffer.clear();
            match self
                .socket
                .socket_ref()
                .recv(&mut self.buffer, libc_dontwait())
            {
                Ok(_) => record(&self.buffer, base, answers, missing),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(ENOBUFS) => {
                    return Err(io::Error::other("acks dropped (ENOBUFS)"));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// `MSG_DONTWAIT` (the socket is non-blocking already; this says so at
/// the call).
fn libc_dontwait() -> i32 {
    nix::sys::socket::MsgFlags::MSG_DONTWAIT.bits()
}

/// Note the answers in one datagram (netlink(7): several messages, each
/// aligned to 4 bytes). Messages that are not acks of ours are skipped.
fn record(datagram: &[u8], base: u32, answers: &mut [Option<Answer>], missing: &mut usize) {
    let mut offset = 0;
    while datagram.len() - offset >= 16 {
        let length = u32::from_ne_bytes([
            datagram[offset],
            datagram[offset + 1],
            datagram[offset + 2],
            datagram[offset + 3],
        ]) as usize;
        if length < 16 || offset + length > datagram.len() {
            return;
        }
        let bytes = &datagram[offset..offset + length];
        if let Ok(message) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes) {
            let index = message.header.sequence_number.wrapping_sub(base) as usize;
            if let (NetlinkPayload::Error(error), Some(slot)) =
                (message.payload, answers.get_mut(index))
            {
                if slot.is_none() {
                    *missing = missing.saturating_sub(1);
                }
                *slot = Some(match error.code {
                    None => Ok(()),
                    Some(_) => Err(error),
                });
            }
        }
        offset += (length + 3) & !3;
    }
}
