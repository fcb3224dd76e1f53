//! Our addresses of the other IP version on a session's interface.
//!
//! An IPv4 session that carries IPv6 routes needs an IPv6 next hop for
//! next-hop-self (and an IPv6 session an IPv4 one). Like FRR, we take it
//! from the interface that holds the session's local address: its first
//! global address of the other version. [`crate::config::PeerOptions`] can
//! name the addresses instead.

use nix::ifaddrs::getifaddrs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Addresses of both versions on the interface that has `local`.
pub fn interface_addresses(local: IpAddr) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
    let Ok(list) = getifaddrs() else {
        return (None, None);
    };
    let entries: Vec<(String, IpAddr)> = list
        .filter_map(|entry| {
            let address = entry.address?;
            let ip = if let Some(v4) = address.as_sockaddr_in() {
                IpAddr::V4(v4.ip())
            } else if let Some(v6) = address.as_sockaddr_in6() {
                IpAddr::V6(v6.ip())
            } else {
                return None;
            };
            Some((entry.interface_name, ip))
        })
        .collect();
    let local = match local {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(local, IpAddr::V4),
        v4 => v4,
    };
    let Some((interface, _)) = entries.iter().find(|(_, ip)| *ip == local) else {
        return (None, None);
    };
    let on_interface = || {
        entries
            .iter()
            .filter(|(name, _)| name == interface)
            .map(|(_, ip)| *ip)
    };
    let v4 = on_interface().find_map(|ip| match ip {
        IpAddr::V4(v4) if !v4.is_loopback() => Some(v4),
        _ => None,
    });
    let v6 = on_interface().find_map(|ip| match ip {
        IpAddr::V6(v6) if is_global_v6(v6) => Some(v6),
        _ => None,
    });
    (v4, v6)
}

/// Not loopback, unspecified, or link-local (fe80::/10).
fn is_global_v6(v6: Ipv6Addr) -> bool {
    !v6.is_loopback() && !v6.is_unspecified() && (v6.segments()[0] & 0xffc0) != 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_local_and_loopback_are_not_next_hops() {
        assert!(!is_global_v6("fe80::1".parse().unwrap()));
        assert!(!is_global_v6(Ipv6Addr::LOCALHOST));
        assert!(is_global_v6("fd00:210::1".parse().unwrap()));
    }

    #[test]
    fn an_address_no_interface_has_finds_nothing() {
        assert_eq!(
            interface_addresses("192.0.2.254".parse().unwrap()),
            (None, None)
        );
    }
}
