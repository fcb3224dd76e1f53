//! Opening a session's TCP connection (RFC 4271 section 8, the `Connect`
//! output of the state machine), with the socket options of
//! [`crate::net::socket`] set before the SYN leaves.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};

use super::socket::{self, SocketError};
use crate::config::PeerOptions;

/// How to connect to one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Local address to bind to (port chosen by the kernel).
    pub local_address: Option<IpAddr>,
    /// TCP MD5 signature password (RFC 2385).
    pub md5_password: Option<String>,
    /// GTSM (RFC 5082).
    pub ttl_security: bool,
    /// Give the attempt up after this long.
    pub timeout: Duration,
}

impl ConnectOptions {
    /// The options of `peer`, with the connect retry time as the timeout.
    pub fn from_peer(peer: &PeerOptions) -> Self {
        ConnectOptions {
            local_address: peer.local_address,
            md5_password: peer.md5_password.clone(),
            ttl_security: peer.ttl_security,
            timeout: peer.connect_retry,
        }
    }
}

/// Why a connection attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The socket could not be set up.
    #[error(transparent)]
    Socket(#[from] SocketError),
    /// The connection was refused, unreachable, reset...
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The peer.
        addr: SocketAddr,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// No answer in time (with TCP MD5, also what a wrong password looks like).
    #[error("no answer from {addr} within {after:?}")]
    Timeout {
        /// The peer.
        addr: SocketAddr,
        /// The timeout.
        after: Duration,
    },
}

/// Connect to `remote` with `options`: TCP_NODELAY, MD5, GTSM and the local
/// address are set on the socket first.
pub async fn connect(
    remote: SocketAddr,
    options: &ConnectOptions,
) -> Result<TcpStream, ConnectError> {
    let remote = SocketAddr::new(remote.ip().to_canonical(), remote.port());
    let tcp = match remote {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|source| SocketError::Create {
        addr: remote,
        source,
    })?;
    socket::set_nodelay(&tcp)?;
    if let Some(password) = &options.md5_password {
        socket::set_md5(&tcp, remote.ip(), Some(password.as_bytes()))?;
    }
    if options.ttl_security {
        socket::set_gtsm(&tcp, remote.ip())?;
    }
    if let Some(local) = options.local_address {
        let local = SocketAddr::new(local.to_canonical(), 0);
        tcp.bind(local).map_err(|source| SocketError::Bind {
            addr: local,
            source,
        })?;
    }
    match tokio::time::timeout(options.timeout, tcp.connect(remote)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(source)) => Err(ConnectError::Connect {
            addr: remote,
            source,
        }),
        Err(_) => Err(ConnectError::Timeout {
            addr: remote,
            after: options.timeout,
        }),
    }
}

/// Set the per-session options on a stream the listener accepted from
/// `peer`: TCP_NODELAY and GTSM. (Its MD5 key came from the listener.)
pub fn configure_accepted(
    stream: &TcpStream,
    peer: IpAddr,
    ttl_security: bool,
) -> Result<(), SocketError> {
    socket::set_nodelay(stream)?;
    if ttl_security {
        socket::set_gtsm(stream, peer)?;
    }
    Ok(())
}
