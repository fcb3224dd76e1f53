//! Choosing the BGP identifier when the configuration sets none.
//!
//! RFC 6286 section 2.1 only asks for a 4-octet value unique within the
//! AS; like BIRD and Calico, the reflector takes the host's first
//! non-loopback IPv4 address.

use std::net::{IpAddr, Ipv4Addr};

/// The identifier used when the host has no usable IPv4 address
/// (TEST-NET-1, RFC 5737): fine for a lone reflector, not for two.
pub const FALLBACK_ROUTER_ID: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// Where the router ID came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouterIdSource {
    /// `--router-id` on the command line.
    CommandLine,
    /// `[global] router_id`.
    Config,
    /// The host's first non-loopback IPv4 address.
    Detected,
    /// [`FALLBACK_ROUTER_ID`]: nothing else was available.
    Fallback,
    /// The IPv4 address of the reflector's `Node` in the datastore.
    Datastore,
}

/// The first IPv4 address of `addrs` that is neither loopback nor
/// unspecified, in the order given.
pub fn pick(addrs: impl IntoIterator<Item = IpAddr>) -> Option<Ipv4Addr> {
    addrs.into_iter().find_map(|addr| match addr {
        IpAddr::V4(v4) if !v4.is_loopback() && !v4.is_unspecified() => Some(v4),
        _ => None,
    })
}

/// The host's first non-loopback IPv4 address, if it has one.
pub fn detect() -> Option<Ipv4Addr> {
    let interfaces = if_addrs::get_if_addrs().ok()?;
    pick(interfaces.iter().map(|i| i.ip()))
}

/// The router ID: the command line's, else the file's, else detected,
/// else [`FALLBACK_ROUTER_ID`].
pub fn resolve(
    command_line: Option<Ipv4Addr>,
    config: Option<Ipv4Addr>,
) -> (Ipv4Addr, RouterIdSource) {
    if let Some(id) = command_line {
        return (id, RouterIdSource::CommandLine);
    }
    if let Some(id) = config {
        return (id, RouterIdSource::Config);
    }
    match detect() {
        Some(id) => (id, RouterIdSource::Detected),
        None => (FALLBACK_ROUTER_ID, RouterIdSource::Fallback),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_loopback_and_ipv6() {
        let addrs = ["127.0.0.1", "::1", "fe80::1", "10.1.2.3", "192.168.1.1"]
            .map(|s| s.parse::<IpAddr>().unwrap());
        assert_eq!(pick(addrs), Some(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(pick(["127.0.0.1".parse().unwrap()]), None);
    }

    #[test]
    fn command_line_wins() {
        let cli = Ipv4Addr::new(10, 0, 0, 1);
        let file = Ipv4Addr::new(10, 0, 0, 2);
        assert_eq!(
            resolve(Some(cli), Some(file)),
            (cli, RouterIdSource::CommandLine)
        );
        assert_eq!(resolve(None, Some(file)), (file, RouterIdSource::Config));
    }
}
