//! Interface sysctls under `/proc/sys/net`, in the namespace of the calling
//! thread, as Calico's plugin sets them (`dataplane_linux.go`).
//!
//! Host side: `proxy_arp=1` and `neigh.proxy_delay=0` (the host answers the
//! container's ARP for 169.254.1.1), `forwarding=1`, `route_localnet=1`; for
//! IPv6 `disable_ipv6=0`, `proxy_ndp=1`, `forwarding=1`, and `accept_ra=0`.
//! Both sides: `accept_dad=0` with IPv6, as the point-to-point link needs no
//! duplicate address detection. Container: IPv6 enabled when it has an IPv6
//! address, and forwarding as `container_settings.allow_ip_forwarding` says.

use std::path::PathBuf;

use super::DataplaneError;

/// Writes one sysctl (`net.ipv4.conf.<if>.proxy_arp` is
/// `ipv4/conf/<if>/proxy_arp`).
pub fn write(relative: &str, value: &str) -> Result<(), DataplaneError> {
    let path = PathBuf::from("/proc/sys/net").join(relative);
    std::fs::write(&path, value).map_err(|source| DataplaneError::Sysctl { path, source })
}

/// Reads one sysctl, trimmed.
pub fn read(relative: &str) -> Result<String, DataplaneError> {
    let path = PathBuf::from("/proc/sys/net").join(relative);
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .map_err(|source| DataplaneError::Sysctl { path, source })
}

/// The host side's settings, before it is brought up.
pub fn configure_host_side(ifname: &str, v4: bool, v6: bool) -> Result<(), DataplaneError> {
    if v4 {
        write(&format!("ipv4/conf/{ifname}/route_localnet"), "1")?;
        write(&format!("ipv4/neigh/{ifname}/proxy_delay"), "0")?;
        write(&format!("ipv4/conf/{ifname}/proxy_arp"), "1")?;
        write(&format!("ipv4/conf/{ifname}/forwarding"), "1")?;
    }
    if v6 {
        write(&format!("ipv6/conf/{ifname}/disable_ipv6"), "0")?;
        write(&format!("ipv6/conf/{ifname}/accept_dad"), "0")?;
        write(&format!("ipv6/conf/{ifname}/proxy_ndp"), "1")?;
        write(&format!("ipv6/conf/{ifname}/forwarding"), "1")?;
    }
    // Calico only warns when this fails (IPv6 may be off on the host).
    if let Err(e) = write(&format!("ipv6/conf/{ifname}/accept_ra"), "0") {
        tracing::debug!(error = %e, "accept_ra not set");
    }
    Ok(())
}

/// The container side's settings (run inside the container's namespace).
pub fn configure_container_side(
    ifname: &str,
    v4: bool,
    v6: bool,
    allow_ip_forwarding: bool,
) -> Result<(), DataplaneError> {
    let forwarding = if allow_ip_forwarding { "1" } else { "0" };
    if v4 {
        write("ipv4/ip_forward", forwarding)?;
    }
    if v6 {
        for scope in ["all", "default", "lo", ifname] {
            write(&format!("ipv6/conf/{scope}/disable_ipv6"), "0")?;
        }
        write(&format!("ipv6/conf/{ifname}/accept_dad"), "0")?;
        write("ipv6/conf/all/forwarding", forwarding)?;
    }
    Ok(())
}
