//! TCP socket options of a BGP session.
//!
//! - `TCP_NODELAY`: BGP writes whole messages; Nagle's algorithm would only
//!   delay KEEPALIVEs and NOTIFICATIONs.
//! - TCP MD5 signatures (RFC 2385): a key per peer address (or per prefix,
//!   for dynamic neighbours) on the connecting socket and on the listening
//!   socket; the kernel copies a listener's key to the sockets it accepts.
//!   Segments without the right signature are dropped by the kernel, so a
//!   wrong or missing password shows as a connection that never completes.
//! - GTSM (RFC 5082 section 3): send with TTL / hop limit 255 and drop what
//!   arrives with less (`IP_MINTTL`, `IPV6_MINHOPCOUNT`).
//!
//! This is the only module of the crate with `unsafe` code: one
//! `setsockopt(2)` call for the options that `socket2` does not wrap.

use ipnetwork::IpNetwork;
use libc::c_int;
use socket2::{Domain, SockRef};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

/// Longest TCP MD5 key the kernel accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub const MD5_MAX_KEY_LEN: usize = 80;

/// TTL and minimum TTL of GTSM (RFC 5082 section 3).
pub const GTSM_TTL: u8 = 255;

/// `IPV6_MINHOPCOUNT` of Linux (`include/uapi/linux/in6.h`).
const IPV6_MINHOPCOUNT: c_int = 73;
/// `TCP_MD5SIG_FLAG_PREFIX` of Linux (`include/uapi/linux/tcp.h`).
const TCP_MD5SIG_FLAG_PREFIX: u8 = 1;

/// A socket option, named as in the C headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketOption {
    /// `TCP_NODELAY`.
    NoDelay,
    /// `SO_REUSEADDR`.
    ReuseAddress,
    /// `IPV6_V6ONLY`.
    OnlyV6,
    /// `SO_LINGER`.
    Linger,
    /// `TCP_MD5SIG` (RFC 2385).
    Md5Sig,
    /// `TCP_MD5SIG_EXT` (RFC 2385 keys for a prefix).
    Md5SigExt,
    /// `IP_TTL` (RFC 5082).
    Ttl,
    /// `IP_MINTTL` (RFC 5082).
    MinTtl,
    /// `IPV6_UNICAST_HOPS` (RFC 5082).
    UnicastHops,
    /// `IPV6_MINHOPCOUNT` (RFC 5082).
    MinHopCount,
}

impl fmt::Display for SocketOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SocketOption::NoDelay => "TCP_NODELAY",
            SocketOption::ReuseAddress => "SO_REUSEADDR",
            SocketOption::OnlyV6 => "IPV6_V6ONLY",
            SocketOption::Linger => "SO_LINGER",
            SocketOption::Md5Sig => "TCP_MD5SIG",
            SocketOption::Md5SigExt => "TCP_MD5SIG_EXT",
            SocketOption::Ttl => "IP_TTL",
            SocketOption::MinTtl => "IP_MINTTL",
            SocketOption::UnicastHops => "IPV6_UNICAST_HOPS",
            SocketOption::MinHopCount => "IPV6_MINHOPCOUNT",
        })
    }
}

/// Why a socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// `setsockopt` failed.
    #[error("cannot set {option}: {source}")]
    Option {
        /// Which option.
        option: SocketOption,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// An MD5 key longer than the kernel allows.
    #[error("TCP MD5 key for {peer} is {len} octets; at most {MD5_MAX_KEY_LEN} are allowed")]
    Md5KeyTooLong {
        /// The peer (or prefix) the key is for.
        peer: IpNetwork,
        /// Its length.
        len: usize,
    },
    /// An IPv6 peer on an IPv4 socket.
    #[error("an IPv4 socket cannot carry a session with {peer}")]
    FamilyMismatch {
        /// The peer (or prefix).
        peer: IpNetwork,
    },
    /// The socket could not be created.
    #[error("cannot create a socket for {addr}: {source}")]
    Create {
        /// The address it was for.
        addr: SocketAddr,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// `bind` failed.
    #[error("cannot bind to {addr}: {source}")]
    Bind {
        /// The local address.
        addr: SocketAddr,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// `listen` failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The local address.
        addr: SocketAddr,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// `getsockname` or `SO_DOMAIN` failed.
    #[error("cannot read the socket's address: {0}")]
    Address(#[source] io::Error),
}

fn option_error(option: SocketOption) -> impl FnOnce(io::Error) -> SocketError {
    move |source| SocketError::Option { option, source }
}

/// Set `TCP_NODELAY`.
pub fn set_nodelay(socket: &impl AsFd) -> Result<(), SocketError> {
    SockRef::from(socket)
        .set_tcp_nodelay(true)
        .map_err(option_error(SocketOption::NoDelay))
}

/// GTSM (RFC 5082 section 3): send with TTL (or hop limit) 255 and accept
/// only segments that arrive with 255, for a session with `peer`.
///
/// An IPv4 peer on an IPv6 socket (a v4-mapped address) gets the IPv4
/// options: its packets are IPv4 on the wire.
pub fn set_gtsm(socket: &impl AsFd, peer: IpAddr) -> Result<(), SocketError> {
    let sock = SockRef::from(socket);
    let ttl = c_int::from(GTSM_TTL);
    match peer.to_canonical() {
        IpAddr::V4(_) => {
            sock.set_ttl_v4(u32::from(GTSM_TTL))
                .map_err(option_error(SocketOption::Ttl))?;
            setsockopt(socket.as_fd(), libc::IPPROTO_IP, libc::IP_MINTTL, &ttl)
                .map_err(option_error(SocketOption::MinTtl))
        }
        IpAddr::V6(_) => {
            sock.set_unicast_hops_v6(u32::from(GTSM_TTL))
                .map_err(option_error(SocketOption::UnicastHops))?;
            setsockopt(socket.as_fd(), libc::IPPROTO_IPV6, IPV6_MINHOPCOUNT, &ttl)
                .map_err(option_error(SocketOption::MinHopCount))
        }
    }
}

/// Send with TTL / hop limit 255 on a listening socket (RFC 5082 section
/// 3), without requiring it of what arrives: the SYN-ACK to a GTSM peer,
/// whose socket already drops segments below 255, must carry 255. The
/// accepted sockets inherit it; [`set_gtsm`] on them adds the check. An
/// IPv6 socket gets the IPv4 option too, for v4-mapped peers.
pub fn set_listener_ttl(socket: &impl AsFd, ipv6: bool) -> Result<(), SocketError> {
    let sock = SockRef::from(socket);
    if ipv6 {
        sock.set_unicast_hops_v6(u32::from(GTSM_TTL))
            .map_err(option_error(SocketOption::UnicastHops))?;
        // An IPv6-only socket may refuse the IPv4 option; it has no use for it.
        let _ = sock.set_ttl_v4(u32::from(GTSM_TTL));
        Ok(())
    } else {
        sock.set_ttl_v4(u32::from(GTSM_TTL))
            .map_err(option_error(SocketOption::Ttl))
    }
}

/// Set (`Some`) or remove (`None`) the TCP MD5 key (RFC 2385) for `peer`.
///
/// On a connecting socket this signs the session; on a listening socket it
/// makes the kernel accept (and sign) connections from `peer` only with the
/// key. Removing a key that is not set is not an error.
pub fn set_md5(socket: &impl AsFd, peer: IpAddr, key: Option<&[u8]>) -> Result<(), SocketError> {
    set_md5_prefix(socket, IpNetwork::from(peer.to_canonical()), key)
}

/// As [`set_md5`] for every address of `prefix` (dynamic neighbours), with
/// `TCP_MD5SIG_EXT`. A host prefix uses plain `TCP_MD5SIG`.
pub fn set_md5_prefix(
    socket: &impl AsFd,
    prefix: IpNetwork,
    key: Option<&[u8]>,
) -> Result<(), SocketError> {
    let key = key.unwrap_or_default();
    if key.len() > MD5_MAX_KEY_LEN {
        return Err(SocketError::Md5KeyTooLong {
            peer: prefix,
            len: key.len(),
        });
    }
    let domain = SockRef::from(socket)
        .domain()
        .map_err(SocketError::Address)?;
    let mut sig = TcpMd5Sig::new(key);
    let host = prefix.prefix() == max_prefix_len(prefix.ip());
    let prefix_len = match (prefix.ip(), domain) {
        (IpAddr::V4(ip), Domain::IPV4) => {
            sig.set_v4(ip.octets());
            prefix.prefix()
        }
        // A v6 socket sees IPv4 peers as v4-mapped addresses.
        (IpAddr::V4(ip), _) => {
            sig.set_v6(ip.to_ipv6_mapped());
            prefix.prefix() + 96
        }
        (IpAddr::V6(ip), Domain::IPV6) => {
            sig.set_v6(ip);
            prefix.prefix()
        }
        (IpAddr::V6(_), _) => return Err(SocketError::FamilyMismatch { peer: prefix }),
    };
    let option = if host {
        SocketOption::Md5Sig
    } else {
        sig.flags = TCP_MD5SIG_FLAG_PREFIX;
        sig.prefix_len = prefix_len;
        SocketOption::Md5SigExt
    };
    let name = match option {
        SocketOption::Md5SigExt => libc::TCP_MD5SIG_EXT,
        _ => libc::TCP_MD5SIG,
    };
    match setsockopt(socket.as_fd(), libc::IPPROTO_TCP, name, &sig) {
        Ok(()) => Ok(()),
        // Deleting a key that is not there.
        Err(e) if key.is_empty() && e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err(source) => Err(SocketError::Option { option, source }),
    }
}

/// Make the next close send a RST instead of a FIN and discard unsent
/// data (`SO_LINGER` with a zero timeout): for a peer that stopped reading.
pub fn set_abortive_close(socket: &impl AsFd) -> Result<(), SocketError> {
    SockRef::from(socket)
        .set_linger(Some(std::time::Duration::ZERO))
        .map_err(option_error(SocketOption::Linger))
}

fn max_prefix_len(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `struct tcp_md5sig` of Linux (`include/uapi/linux/tcp.h`):
///
/// ```text
/// struct tcp_md5sig {
///     struct __kernel_sockaddr_storage tcpm_addr;  /* 128 octets */
///     __u8  tcpm_flags;                            /* TCP_MD5SIG_FLAG_* */
///     __u8  tcpm_prefixlen;
///     __u16 tcpm_keylen;
///     int   tcpm_ifindex;
///     __u8  tcpm_key[TCP_MD5SIG_MAXKEYLEN];        /* 80 octets */
/// };
/// ```
///
/// The address is kept as the bytes of a `sockaddr_in` / `sockaddr_in6`,
/// which gives the same offsets without padding.
#[repr(C)]
#[derive(Clone, Copy)]
struct TcpMd5Sig {
    addr: [u8; 128],
    flags: u8,
    prefix_len: u8,
    key_len: u16,
    ifindex: c_int,
    key: [u8; MD5_MAX_KEY_LEN],
}

const _: () = assert!(size_of::<TcpMd5Sig>() == 216);

impl TcpMd5Sig {
    /// A record for `key` (at most [`MD5_MAX_KEY_LEN`] octets; empty deletes).
    fn new(key: &[u8]) -> Self {
        let mut sig = TcpMd5Sig {
            addr: [0; 128],
            flags: 0,
            prefix_len: 0,
            key_len: key.len() as u16,
            ifindex: 0,
            key: [0; MD5_MAX_KEY_LEN],
        };
        sig.key[..key.len()].copy_from_slice(key);
        sig
    }

    /// `sockaddr_in`: family (host order), port 0, address.
    fn set_v4(&mut self, octets: [u8; 4]) {
        self.addr[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        self.addr[4..8].copy_from_slice(&octets);
    }

    /// `sockaddr_in6`: family (host order), port 0, flow info 0, address.
    fn set_v6(&mut self, ip: Ipv6Addr) {
        self.addr[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        self.addr[8..24].copy_from_slice(&ip.octets());
    }
}

/// `setsockopt(2)` with a plain-data value. `T` must have no padding (the
/// kernel reads all of its bytes): `c_int` and [`TcpMd5Sig`] here.
#[allow(unsafe_code)]
fn setsockopt<T: Copy>(fd: BorrowedFd<'_>, level: c_int, name: c_int, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `fd` is an open descriptor for the whole call (it is borrowed);
    // `value` points to `len` initialised octets (T has no padding) that
    // outlive the call, and the kernel only reads them.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            std::ptr::from_ref(value).cast(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn md5_record_layout_matches_linux() {
        let mut sig = TcpMd5Sig::new(b"secret");
        sig.set_v4([192, 0, 2, 1]);
        assert_eq!(sig.addr[..2], (libc::AF_INET as u16).to_ne_bytes());
        assert_eq!(sig.addr[4..8], [192, 0, 2, 1]);
        assert_eq!(sig.key_len, 6);
        assert_eq!(&sig.key[..6], b"secret");
        assert_eq!(std::mem::offset_of!(TcpMd5Sig, flags), 128);
        assert_eq!(std::mem::offset_of!(TcpMd5Sig, key_len), 130);
        assert_eq!(std::mem::offset_of!(TcpMd5Sig, ifindex), 132);
        assert_eq!(std::mem::offset_of!(TcpMd5Sig, key), 136);
    }

    #[test]
    fn rfc2385_keys_are_set_and_removed_and_checked_for_length() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9));
        set_md5(&listener, peer, Some(b"secret")).unwrap();
        set_md5(&listener, peer, None).unwrap();
        set_md5(&listener, peer, None).unwrap();
        let prefix: IpNetwork = "127.0.1.0/24".parse().unwrap();
        set_md5_prefix(&listener, prefix, Some(b"range")).unwrap();
        let error = set_md5(&listener, peer, Some(&[b'x'; 81])).unwrap_err();
        assert!(matches!(error, SocketError::Md5KeyTooLong { len: 81, .. }));
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let error = set_md5(&listener, v6, Some(b"k")).unwrap_err();
        assert!(matches!(error, SocketError::FamilyMismatch { .. }));
        assert!(error.to_string().contains("2001:db8::1"));
    }

    #[test]
    fn rfc5082_gtsm_on_both_families() {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        set_gtsm(&v4, IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap();
        assert_eq!(SockRef::from(&v4).ttl_v4().unwrap(), 255);
        if let Ok(v6) = std::net::TcpListener::bind("[::1]:0") {
            set_gtsm(&v6, IpAddr::V6(Ipv6Addr::LOCALHOST)).unwrap();
            // A v4-mapped peer on a v6 socket gets the IPv4 options.
            set_gtsm(&v6, IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap();
        }
    }

    #[test]
    fn errors_name_the_option() {
        let error = option_error(SocketOption::MinHopCount)(io::Error::from_raw_os_error(22));
        assert!(error.to_string().starts_with("cannot set IPV6_MINHOPCOUNT"));
    }
}
