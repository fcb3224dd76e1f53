//! Accepting BGP connections (RFC 4271 section 8: the passive side of
//! connection establishment).
//!
//! The [`Listener`] only accepts; it does not know the peers. The core reads
//! `(TcpStream, SocketAddr)` pairs from [`Listener::run`] and either hands
//! the stream to the peer task of that address
//! ([`crate::events::PeerCommand::Accepted`]) or turns it away with
//! [`reject`]. TCP MD5 keys (RFC 2385) must be on the listening socket
//! before the peer's SYN arrives: [`Listener::set_md5`] per configured peer,
//! [`Listener::set_md5_prefix`] per dynamic-neighbour range.

use bgp_proto::message::{Message, Notification};
use bgp_proto::{CodecCtx, iana::notification::cease};
use ipnetwork::IpNetwork;
use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::task::Poll;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;

use super::linger;
use super::socket::{self, SocketError, SocketOption};

/// Reason logged for a connection from an address that is neither a
/// configured peer nor in a dynamic-neighbour range.
pub const NOT_A_NEIGHBOUR: &str = "not a configured or dynamic neighbour";

/// Listening sockets, one per local address. They send with TTL 255, so
/// that GTSM peers (RFC 5082) hear the handshake; the check of incoming
/// TTLs is set per session on the accepted socket.
#[derive(Debug)]
pub struct Listener {
    sockets: Vec<TcpListener>,
    local: Vec<SocketAddr>,
}

impl Listener {
    /// Listen on every address of `addrs` (port 0 picks a free port; see
    /// [`Listener::local_addrs`]). An IPv6 address gets `IPV6_V6ONLY` when
    /// an IPv4 address with the same port is also listed, so `0.0.0.0:179`
    /// and `[::]:179` can both be bound; otherwise an IPv6 wildcard also
    /// accepts IPv4 (reported with the plain IPv4 address).
    pub fn bind(addrs: &[SocketAddr]) -> Result<Listener, SocketError> {
        let mut sockets = Vec::with_capacity(addrs.len());
        let mut local = Vec::with_capacity(addrs.len());
        for &addr in addrs {
            let tcp = match addr {
                SocketAddr::V4(_) => TcpSocket::new_v4(),
                SocketAddr::V6(_) => TcpSocket::new_v6(),
            }
            .map_err(|source| SocketError::Create { addr, source })?;
            tcp.set_reuseaddr(true)
                .map_err(|source| SocketError::Option {
                    option: SocketOption::ReuseAddress,
                    source,
                })?;
            if addr.is_ipv6() {
                let v4_same_port = addrs.iter().any(|a| a.is_ipv4() && a.port() == addr.port());
                socket2::SockRef::from(&tcp)
                    .set_only_v6(v4_same_port)
                    .map_err(|source| SocketError::Option {
                        option: SocketOption::OnlyV6,
                        source,
                    })?;
            }
            socket::set_listener_ttl(&tcp, addr.is_ipv6())?;
            tcp.bind(addr)
                .map_err(|source| SocketError::Bind { addr, source })?;
            let listener = tcp
                .listen(1024)
                .map_err(|source| SocketError::Listen { addr, source })?;
            local.push(listener.local_addr().map_err(SocketError::Address)?);
            sockets.push(listener);
        }
        Ok(Listener { sockets, local })
    }

    /// The bound addresses, in the order given to [`Listener::bind`].
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
    }

    /// Set (`Some`) or remove (`None`) the TCP MD5 password (RFC 2385) for
    /// connections from `peer`, on every socket that can carry them.
    pub fn set_md5(&self, peer: IpAddr, password: Option<&str>) -> Result<(), SocketError> {
        self.set_md5_prefix(IpNetwork::from(peer.to_canonical()), password)
    }

    /// As [`Listener::set_md5`] for every address in `prefix`.
    pub fn set_md5_prefix(
        &self,
        prefix: IpNetwork,
        password: Option<&str>,
    ) -> Result<(), SocketError> {
        let key = password.map(str::as_bytes);
        let mut mismatch = None;
        for listener in &self.sockets {
            match socket::set_md5_prefix(listener, prefix, key) {
                Ok(()) => {}
                // An IPv6 peer cannot reach an IPv4 socket: nothing to do there.
                Err(error @ SocketError::FamilyMismatch { .. }) => mismatch = Some(error),
                Err(error) => return Err(error),
            }
        }
        match mismatch {
            Some(error)
                if self
                    .sockets
                    .iter()
                    .all(|l| l.local_addr().is_ok_and(|a| a.is_ipv4())) =>
            {
                Err(error)
            }
            _ => Ok(()),
        }
    }

    /// The next connection on any socket, with the peer's address (an
    /// IPv4 peer on an IPv6 socket is reported as IPv4). Never completes
    /// without sockets.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, remote) = poll_fn(|cx| {
            for listener in &self.sockets {
                if let Poll::Ready(result) = listener.poll_accept(cx) {
                    return Poll::Ready(result);
                }
            }
            Poll::Pending
        })
        .await?;
        Ok((
            stream,
            SocketAddr::new(remote.ip().to_canonical(), remote.port()),
        ))
    }

    /// Accept until `incoming` is closed, sending each connection to it.
    /// Accept errors (out of descriptors, aborted handshakes) are logged and
    /// retried after a short pause.
    pub async fn run(&self, incoming: mpsc::Sender<(TcpStream, SocketAddr)>) {
        loop {
            let accepted = tokio::select! {
                accepted = self.accept() => accepted,
                () = incoming.closed() => return,
            };
            match accepted {
                Ok((stream, remote)) => {
                    tracing::debug!(%remote, "accepted connection");
                    if incoming.send((stream, remote)).await.is_err() {
                        return;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Turn a connection away: log `rejected connection from X: reason`, send
/// a Cease / Connection Rejected NOTIFICATION (RFC 4486 section 4, subcode
/// 5) best effort, and close.
pub fn reject(stream: TcpStream, remote: SocketAddr, reason: &str) {
    tracing::warn!("rejected connection from {remote}: {reason}");
    close_with_cease(stream, cease::CONNECTION_REJECTED);
}

/// Send a Cease with `subcode` (no data) and close.
pub(crate) fn close_with_cease(stream: TcpStream, subcode: u8) {
    let notification = Message::Notification(Notification::new(
        bgp_proto::iana::notification::CEASE,
        subcode,
        bytes::Bytes::new(),
    ));
    let last = notification
        .to_bytes(&CodecCtx::pre_open())
        .map(|b| vec![b.freeze()])
        .unwrap_or_default();
    linger::close_after(stream, last);
}
