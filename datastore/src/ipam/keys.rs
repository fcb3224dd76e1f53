//! The etcd key layout of Calico's IPAM (libcalico-go's `model/block.go`,
//! `block_affinity.go`, `ipam_handle.go`, `ipam_config.go`), with a block CIDR
//! written in a key with its `/` turned into `-` (`10.0.0.0/26` ->
//! `10.0.0.0-26`, `fd00::/122` -> `fd00::-122`):
//!
//! | key | value |
//! |---|---|
//! | `/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26` | [`super::AllocationBlock`] |
//! | `/calico/ipam/v2/host/<node>/ipv4/block/10.0.0.0-26` | [`super::BlockAffinity`] |
//! | `/calico/ipam/v2/handle/<handle id>` | [`super::IpamHandle`] |
//! | `/calico/ipam/v2/config` | [`super::IpamConfig`] |

use std::fmt;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::error::IpamError;

/// The root of every IPAM key.
pub const IPAM_PREFIX: &str = "/calico/ipam/v2/";

/// The cluster-wide IPAM settings (`strict_affinity`, `auto_allocate_blocks`).
pub const CONFIG_KEY: &str = "/calico/ipam/v2/config";

/// An IP version, as Calico writes it in keys (`ipv4`, `ipv6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpVersion {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl IpVersion {
    /// The version of an address.
    pub fn of(ip: IpAddr) -> Self {
        if ip.is_ipv4() {
            IpVersion::V4
        } else {
            IpVersion::V6
        }
    }

    /// The version of a network.
    pub fn of_net(net: &IpNetwork) -> Self {
        IpVersion::of(net.ip())
    }

    /// 4 or 6.
    pub fn number(self) -> u8 {
        match self {
            IpVersion::V4 => 4,
            IpVersion::V6 => 6,
        }
    }

    /// The address width in bits: 32 or 128.
    pub fn bits(self) -> u8 {
        match self {
            IpVersion::V4 => 32,
            IpVersion::V6 => 128,
        }
    }
}

impl fmt::Display for IpVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IPv{}", self.number())
    }
}

/// A CIDR as it appears in a key: `10.0.0.0-26`.
pub fn cidr_segment(cidr: &IpNetwork) -> String {
    format!("{}-{}", cidr.network(), cidr.prefix())
}

/// Parses a key's CIDR segment (`10.0.0.0-26`) back; `None` unless it is a
/// network address with its prefix length.
pub fn parse_cidr_segment(segment: &str) -> Option<IpNetwork> {
    let (ip, prefix) = segment.rsplit_once('-')?;
    let ip: IpAddr = ip.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let net = IpNetwork::new(ip, prefix).ok()?;
    (net.network() == ip).then_some(net)
}

/// The key of the block `cidr`.
pub fn block_key(cidr: &IpNetwork) -> String {
    format!(
        "{}ipv{}/block/{}",
        block_root(),
        IpVersion::of_net(cidr).number(),
        cidr_segment(cidr)
    )
}

fn block_root() -> String {
    format!("{IPAM_PREFIX}assignment/")
}

/// The prefix of every block of one IP version.
pub fn block_prefix(version: IpVersion) -> String {
    format!("{}ipv{}/block/", block_root(), version.number())
}

/// The block CIDR of a block key, or `None` for another key.
pub fn parse_block_key(key: &str) -> Option<IpNetwork> {
    let rest = key.strip_prefix(&block_root())?;
    let (version, rest) = rest.split_once("/block/")?;
    let net = parse_cidr_segment(rest)?;
    (version == format!("ipv{}", IpVersion::of_net(&net).number())).then_some(net)
}

/// The key of `host`'s affinity to the block `cidr`.
pub fn affinity_key(host: &str, cidr: &IpNetwork) -> String {
    format!(
        "{}ipv{}/block/{}",
        host_prefix(host),
        IpVersion::of_net(cidr).number(),
        cidr_segment(cidr)
    )
}

/// The prefix of every affinity of `host` (both versions).
pub fn host_prefix(host: &str) -> String {
    format!("{IPAM_PREFIX}host/{host}/")
}

/// The prefix of `host`'s affinities of one IP version.
pub fn host_version_prefix(host: &str, version: IpVersion) -> String {
    format!("{}ipv{}/block/", host_prefix(host), version.number())
}

/// The host and block CIDR of an affinity key, or `None` for another key.
pub fn parse_affinity_key(key: &str) -> Option<(String, IpNetwork)> {
    let rest = key.strip_prefix(IPAM_PREFIX)?.strip_prefix("host/")?;
    let (host, rest) = rest.split_once('/')?;
    let (version, cidr) = rest.split_once("/block/")?;
    let net = parse_cidr_segment(cidr)?;
    let expected = format!("ipv{}", IpVersion::of_net(&net).number());
    (version == expected && !host.is_empty()).then(|| (host.to_string(), net))
}

/// The key of a handle.
pub fn handle_key(handle_id: &str) -> String {
    format!("{IPAM_PREFIX}handle/{handle_id}")
}

/// Checks a name that becomes one key segment (a host or a handle id): not
/// empty, no `/`.
pub(crate) fn check_segment(what: &'static str, name: &str) -> Result<(), IpamError> {
    if name.is_empty() || name.contains('/') {
        return Err(IpamError::InvalidName {
            what,
            name: name.to_string(),
        });
    }
    Ok(())
}
