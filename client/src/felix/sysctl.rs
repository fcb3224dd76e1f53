//! The kernel settings of workload interfaces, written under `/proc/sys`
//! with the first value seen kept, so removing an endpoint puts them back.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

/// `net.ipv4.ip_forward` (setting it sets every interface's `forwarding`).
pub const IPV4_FORWARD: &str = "net/ipv4/ip_forward";
/// `net.ipv6.conf.all.forwarding`.
pub const IPV6_FORWARD: &str = "net/ipv6/conf/all/forwarding";

/// The settings of a workload's host-side interface, as Felix makes them:
/// the interface answers ARP for every address it routes (`proxy_arp`, with
/// no delay), forwards, accepts 127/8 sources for host services
/// (`route_localnet`); for IPv6 (when the kernel has it on the
/// interface): no router advertisements taken, proxy NDP, forwarding.
pub fn interface_settings(ifname: &str, ipv6: bool) -> Vec<(String, &'static str)> {
    let mut out = vec![
        (format!("net/ipv4/conf/{ifname}/proxy_arp"), "1"),
        (format!("net/ipv4/conf/{ifname}/forwarding"), "1"),
        (format!("net/ipv4/conf/{ifname}/route_localnet"), "1"),
        (format!("net/ipv4/neigh/{ifname}/proxy_delay"), "0"),
    ];
    if ipv6 {
        out.push((format!("net/ipv6/conf/{ifname}/accept_ra"), "0"));
        out.push((format!("net/ipv6/conf/{ifname}/proxy_ndp"), "1"));
        out.push((format!("net/ipv6/conf/{ifname}/forwarding"), "1"));
    }
    out
}

/// Writes settings and remembers what they were.
#[derive(Debug, Clone)]
pub struct Sysctls {
    root: PathBuf,
    saved: BTreeMap<String, String>,
}

impl Default for Sysctls {
    fn default() -> Self {
        Sysctls::new(PathBuf::from("/proc/sys"))
    }
}

impl Sysctls {
    /// Settings under `root` (`/proc/sys`; another directory in tests).
    pub fn new(root: PathBuf) -> Self {
        Sysctls {
            root,
            saved: BTreeMap::new(),
        }
    }

    /// Whether `path` (relative to the root) exists.
    pub fn exists(&self, path: &str) -> bool {
        self.root.join(path).exists()
    }

    /// Read one setting.
    pub fn get(&self, path: &str) -> io::Result<String> {
        Ok(std::fs::read_to_string(self.root.join(path))?
            .trim()
            .to_string())
    }

    /// Set `path` to `value`, remembering the value it had first. Returns
    /// whether it was written.
    pub fn set(&mut self, path: &str, value: &str) -> io::Result<bool> {
        let old = self.get(path)?;
        if old == value {
            return Ok(false);
        }
        std::fs::write(self.root.join(path), value)?;
        self.saved.entry(path.to_string()).or_insert(old);
        Ok(true)
    }

    /// Put back the settings whose path `which` selects; failures (the
    /// interface is gone) are ignored.
    pub fn restore(&mut self, which: impl Fn(&str) -> bool) {
        let paths: Vec<String> = self.saved.keys().filter(|p| which(p)).cloned().collect();
        for path in paths {
            if let Some(old) = self.saved.remove(&path) {
                let _ = std::fs::write(self.root.join(&path), old);
            }
        }
    }

    /// Forget the saved settings whose path `which` selects (the interface
    /// went away and took them along).
    pub fn forget(&mut self, which: impl Fn(&str) -> bool) {
        self.saved.retain(|p, _| !which(p));
    }

    /// The settings changed and not yet put back, with their old values.
    pub fn saved(&self) -> &BTreeMap<String, String> {
        &self.saved
    }
}

/// Whether `path` is a setting of interface `ifname`.
pub fn of_interface(path: &str, ifname: &str) -> bool {
    let mut parts = path.split('/');
    // net/ipv4/conf/<if>/x or net/ipv4/neigh/<if>/x
    parts.nth(3) == Some(ifname) && path.split('/').count() == 5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_then_restore() {
        let dir = std::env::temp_dir().join(format!("reflex-sysctl-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("net/ipv4/conf/cali1")).unwrap();
        std::fs::write(dir.join("net/ipv4/conf/cali1/proxy_arp"), "0\n").unwrap();
        let mut s = Sysctls::new(dir.clone());
        assert!(s.set("net/ipv4/conf/cali1/proxy_arp", "1").unwrap());
        assert!(!s.set("net/ipv4/conf/cali1/proxy_arp", "1").unwrap());
        assert_eq!(s.get("net/ipv4/conf/cali1/proxy_arp").unwrap(), "1");
        assert!(of_interface("net/ipv4/conf/cali1/proxy_arp", "cali1"));
        assert!(!of_interface("net/ipv4/conf/cali1/proxy_arp", "cali2"));
        assert!(!of_interface(IPV4_FORWARD, "cali1"));
        s.restore(|p| of_interface(p, "cali1"));
        assert_eq!(s.get("net/ipv4/conf/cali1/proxy_arp").unwrap(), "0");
        assert!(s.saved().is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
