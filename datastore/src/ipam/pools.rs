//! IP pools as IPAM uses them: the `IPPool` resources (`cidr`, `blockSize`,
//! `disabled`, `nodeSelector`), which pools a request may use, and the order in
//! which a host tries a pool's blocks.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnetwork::IpNetwork;

use super::block::{from_u128, normalise, to_u128};
use super::error::IpamError;
use super::keys::IpVersion;
use crate::model::{IpPool, Labels};
use crate::selector::Selector;

/// Calico's default block size of an IPv4 pool (64 addresses).
pub const DEFAULT_V4_BLOCK_SIZE: u8 = 26;
/// Calico's default block size of an IPv6 pool (64 addresses).
pub const DEFAULT_V6_BLOCK_SIZE: u8 = 122;

/// A pool named by a caller: by its CIDR or by its resource name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PoolRef {
    /// The pool whose `spec.cidr` is this network.
    Cidr(IpNetwork),
    /// The pool with this `metadata.name`.
    Name(String),
}

impl FromStr for PoolRef {
    type Err = std::convert::Infallible;

    /// A CIDR when the text is one (`10.0.0.0/16`), else a pool name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.parse::<IpNetwork>() {
            Ok(net) if s.contains('/') => PoolRef::Cidr(normalise(net)),
            _ => PoolRef::Name(s.to_string()),
        })
    }
}

impl fmt::Display for PoolRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolRef::Cidr(c) => write!(f, "{}/{}", c.network(), c.prefix()),
            PoolRef::Name(n) => f.write_str(n),
        }
    }
}

/// A usable pool, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    /// The resource name.
    pub name: String,
    /// The pool's network (host bits cleared).
    pub cidr: IpNetwork,
    /// The prefix length of its blocks.
    pub block_prefix: u8,
    /// No new assignments when set.
    pub disabled: bool,
    /// The nodes that take addresses from it when no pool is named.
    pub node_selector: Selector,
}

impl Pool {
    /// Checks an `IPPool`: a CIDR, a block size that Calico accepts (20..=32 for
    /// IPv4, 116..=128 for IPv6, default 26 / 122) no shorter than the pool's
    /// prefix, and a valid node selector.
    pub fn from_resource(pool: &IpPool) -> Result<Pool, IpamError> {
        let name = pool.metadata.name.clone();
        let invalid = |problem: String| IpamError::InvalidPool {
            pool: name.clone(),
            problem,
        };
        let cidr = pool
            .spec
            .network()
            .map_err(|_| invalid(format!("bad cidr {:?}", pool.spec.cidr)))?;
        let cidr = normalise(cidr);
        let version = IpVersion::of_net(&cidr);
        let (default, range) = match version {
            IpVersion::V4 => (DEFAULT_V4_BLOCK_SIZE, 20..=32),
            IpVersion::V6 => (DEFAULT_V6_BLOCK_SIZE, 116..=128),
        };
        let block_prefix = pool.spec.block_size.unwrap_or(default);
        if !range.contains(&block_prefix) {
            return Err(invalid(format!(
                "blockSize {block_prefix} outside {}..={} for {version}",
                range.start(),
                range.end()
            )));
        }
        if block_prefix < cidr.prefix() {
            return Err(invalid(format!(
                "blockSize {block_prefix} is larger than the pool /{}",
                cidr.prefix()
            )));
        }
        let node_selector = Selector::parse(&pool.spec.node_selector)
            .map_err(|e| invalid(format!("nodeSelector: {e}")))?;
        Ok(Pool {
            name,
            cidr,
            block_prefix,
            disabled: pool.spec.disabled,
            node_selector,
        })
    }

    /// The pool's IP version.
    pub fn version(&self) -> IpVersion {
        IpVersion::of_net(&self.cidr)
    }

    /// Whether this pool is the one `r` names.
    pub fn is(&self, r: &PoolRef) -> bool {
        match r {
            PoolRef::Cidr(c) => normalise(*c) == self.cidr,
            PoolRef::Name(n) => *n == self.name,
        }
    }

    /// Whether the pool holds the address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.cidr.contains(ip)
    }

    /// The number of blocks in the pool.
    pub fn block_count(&self) -> u128 {
        let bits = u32::from(self.block_prefix - self.cidr.prefix());
        1u128.checked_shl(bits).unwrap_or(u128::MAX)
    }

    /// The block of the pool holding `ip` (which the pool must contain).
    pub fn block_for(&self, ip: IpAddr) -> IpNetwork {
        normalise(IpNetwork::new(ip, self.block_prefix).unwrap_or(self.cidr))
    }

    /// The `index`-th block of the pool.
    fn block_at(&self, index: u128) -> IpNetwork {
        let host_bits = u32::from(self.version().bits() - self.block_prefix);
        let offset = index.checked_shl(host_bits).unwrap_or(0);
        let base = to_u128(self.cidr.network()).wrapping_add(offset);
        normalise(
            IpNetwork::new(from_u128(base, self.version()), self.block_prefix).unwrap_or(self.cidr),
        )
    }

    /// Every block of the pool once, starting at a place chosen by a hash of the
    /// host's name and wrapping around, so that hosts start in different places
    /// (Calico picks its start at random, seeded by the host) and rarely race
    /// for one block.
    pub fn candidate_blocks(&self, host: &str) -> impl Iterator<Item = IpNetwork> + '_ {
        let count = self.block_count();
        let start = u128::from(fnv1a(host.as_bytes())) % count;
        let mut step = 0u128;
        std::iter::from_fn(move || {
            if step >= count {
                return None;
            }
            let index = (start + step) % count;
            step += 1;
            Some(self.block_at(index))
        })
    }
}

/// FNV-1a, 64 bits: a stable hash of a host name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The stored pools, each checked (an unusable one is kept as its error, which
/// only matters when a request names it).
pub(crate) type LoadedPools = Vec<(String, Result<Pool, IpamError>)>;

/// The pools a request of `version` for the host with `labels` may use: the
/// named ones when any are named (each must exist, be enabled and be of that
/// version; their node selectors do not apply, as in Calico), else every enabled
/// pool of the version whose node selector matches the host.
pub(crate) fn select_pools(
    loaded: &LoadedPools,
    requested: &[PoolRef],
    version: IpVersion,
    labels: &Labels,
) -> Result<Vec<Pool>, IpamError> {
    if requested.is_empty() {
        return Ok(loaded
            .iter()
            .filter_map(|(_, p)| p.as_ref().ok())
            .filter(|p| !p.disabled && p.version() == version && p.node_selector.matches(labels))
            .cloned()
            .collect());
    }
    let mut out: Vec<Pool> = Vec::new();
    for r in requested {
        let found = loaded.iter().find(|(name, p)| match (r, p) {
            (_, Ok(pool)) => pool.is(r),
            (PoolRef::Name(n), Err(_)) => n == name,
            _ => false,
        });
        let pool = match found {
            Some((_, Ok(pool))) if !pool.disabled => pool,
            Some((name, Err(e))) => {
                return Err(IpamError::InvalidPool {
                    pool: name.clone(),
                    problem: e.to_string(),
                });
            }
            _ => {
                return Err(IpamError::PoolNotFound {
                    pool: r.to_string(),
                });
            }
        };
        if pool.version() != version {
            return Err(IpamError::PoolWrongVersion {
                pool: r.to_string(),
                version,
            });
        }
        if !out.iter().any(|p| p.name == pool.name) {
            out.push(pool.clone());
        }
    }
    Ok(out)
}
