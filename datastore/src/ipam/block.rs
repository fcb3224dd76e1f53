//! [`AllocationBlock`]: one block of a pool, the unit of affinity, stored as one
//! JSON value, as libcalico-go's `model.AllocationBlock`. Every assignment and
//! release is a change of this value, written back with a compare-and-swap.
//!
//! An address is known by its ordinal, its offset from the block's network
//! address: `allocations[ordinal]` is the index of its attributes (or `null` when
//! free) and `unallocated` lists the free ordinals in the order they will be
//! handed out (a released ordinal goes to the back, as Calico does, so an address
//! is not reused at once).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::error::IpamError;
use super::keys::IpVersion;

/// The largest block this crate handles: 2^16 addresses (Calico's blocks are
/// /20 to /32 for IPv4 and /116 to /128 for IPv6, at most 4,096 addresses).
pub const MAX_BLOCK_BITS: u8 = 16;

/// The `affinity` value of a block affine to `host`.
pub fn host_affinity(host: &str) -> String {
    format!("host:{host}")
}

/// The attributes shared by one or more allocations of a block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationAttribute {
    /// The handle the addresses were assigned to (`handle_id`; `null` for none).
    #[serde(rename = "handle_id", default)]
    pub handle_id: Option<String>,
    /// Free-form attributes (Calico's CNI plugin writes `namespace`, `node`,
    /// `pod`, `timestamp`); `null` and `{}` both read as empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub secondary: BTreeMap<String, String>,
}

/// One IPAM block, in Calico's JSON (`cidr`, `affinity`, `strictAffinity`,
/// `allocations`, `unallocated`, `attributes`, `deleted`; other fields, such as
/// newer Calicos' `sequenceNumber`, kept as they were).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AllocationBlock {
    /// The block's network.
    #[serde(serialize_with = "ser_cidr", deserialize_with = "de_cidr")]
    pub cidr: IpNetwork,
    /// `host:<node>` for a block affine to a node, `null` for none.
    #[serde(default)]
    pub affinity: Option<String>,
    /// When set, only the affine host assigns from this block (no borrowing).
    #[serde(rename = "strictAffinity", default)]
    pub strict_affinity: bool,
    /// Per ordinal: the index into `attributes`, or `null` when free.
    #[serde(default, deserialize_with = "null_as_default")]
    pub allocations: Vec<Option<usize>>,
    /// The free ordinals, next to be handed out first.
    #[serde(default, deserialize_with = "null_as_default")]
    pub unallocated: Vec<usize>,
    /// The distinct attributes of the allocations.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attributes: Vec<AllocationAttribute>,
    /// Set by Calico while a block is being deleted.
    #[serde(default)]
    pub deleted: bool,
    /// Fields this crate does not model, preserved on write.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn ser_cidr<S: Serializer>(cidr: &IpNetwork, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{}/{}", cidr.network(), cidr.prefix()))
}

fn de_cidr<'de, D: Deserializer<'de>>(d: D) -> Result<IpNetwork, D::Error> {
    let text = String::deserialize(d)?;
    text.parse()
        .map_err(|_| serde::de::Error::custom(format!("invalid CIDR {text:?}")))
}

/// An address as a number (IPv4 in the low 32 bits).
pub(crate) fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// A number back to an address of `version` (truncated to 32 bits for IPv4).
pub(crate) fn from_u128(n: u128, version: IpVersion) -> IpAddr {
    match version {
        IpVersion::V4 => IpAddr::V4(Ipv4Addr::from(n as u32)),
        IpVersion::V6 => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

/// The network of `cidr` with its host bits cleared.
pub(crate) fn normalise(cidr: IpNetwork) -> IpNetwork {
    IpNetwork::new(cidr.network(), cidr.prefix()).unwrap_or(cidr)
}

/// What a release took back from a block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockRelease {
    /// The addresses released.
    pub released: Vec<IpAddr>,
    /// Addresses asked for that were not assigned.
    pub not_assigned: Vec<IpAddr>,
    /// How many released addresses each handle held.
    pub by_handle: BTreeMap<String, usize>,
}

impl AllocationBlock {
    /// An empty block: every ordinal free, in order; affine to `host` when given.
    /// `None` when the block is larger than 2^[`MAX_BLOCK_BITS`] addresses.
    pub fn new(cidr: IpNetwork, host: Option<&str>, strict_affinity: bool) -> Option<Self> {
        let cidr = normalise(cidr);
        let size = block_size(&cidr)?;
        Some(AllocationBlock {
            cidr,
            affinity: host.map(host_affinity),
            strict_affinity,
            allocations: vec![None; size],
            unallocated: (0..size).collect(),
            attributes: Vec::new(),
            deleted: false,
            extra: Map::new(),
        })
    }

    /// Decodes a stored block and checks it: its CIDR is the key's, the
    /// allocation list has one entry per address, attribute indexes exist, and
    /// no ordinal is both free and allocated (which would hand one address out
    /// twice).
    pub fn decode(key: &str, expected: &IpNetwork, bytes: &[u8]) -> Result<Self, IpamError> {
        let block: AllocationBlock =
            serde_json::from_slice(bytes).map_err(|source| IpamError::CorruptJson {
                key: key.to_string(),
                source,
            })?;
        let corrupt = |problem: String| IpamError::CorruptBlock {
            key: key.to_string(),
            problem,
        };
        if normalise(block.cidr) != normalise(*expected) {
            return Err(corrupt(format!(
                "cidr {} does not match the key",
                block.cidr
            )));
        }
        let size = block_size(&block.cidr)
            .ok_or_else(|| corrupt(format!("block {} is too large", block.cidr)))?;
        if block.allocations.len() != size {
            return Err(corrupt(format!(
                "{} allocations for {size} addresses",
                block.allocations.len()
            )));
        }
        if let Some(i) = block
            .allocations
            .iter()
            .flatten()
            .find(|&&i| i >= block.attributes.len())
        {
            return Err(corrupt(format!(
                "attribute index {i} of {} attributes",
                block.attributes.len()
            )));
        }
        let mut seen = BTreeSet::new();
        for &o in &block.unallocated {
            if o >= size || !seen.insert(o) || block.allocations[o].is_some() {
                return Err(corrupt(format!(
                    "ordinal {o} in unallocated is out of range, repeated or allocated"
                )));
            }
        }
        Ok(block)
    }

    /// The block as stored JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // Plain data with string keys: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The IP version.
    pub fn version(&self) -> IpVersion {
        IpVersion::of_net(&self.cidr)
    }

    /// The number of addresses in the block.
    pub fn size(&self) -> usize {
        self.allocations.len()
    }

    /// The host the block is affine to (`affinity` `host:<node>`).
    pub fn host(&self) -> Option<&str> {
        self.affinity.as_deref()?.strip_prefix("host:")
    }

    /// Whether the block is affine to `host`.
    pub fn is_affine_to(&self, host: &str) -> bool {
        self.host() == Some(host)
    }

    /// The number of free addresses.
    pub fn free(&self) -> usize {
        self.unallocated.len()
    }

    /// Whether no address is assigned.
    pub fn is_empty(&self) -> bool {
        self.allocations.iter().all(Option::is_none)
    }

    /// The ordinal of `ip`, or `None` when it is outside the block.
    pub fn ordinal_of(&self, ip: IpAddr) -> Option<usize> {
        if IpVersion::of(ip) != self.version() || !self.cidr.contains(ip) {
            return None;
        }
        Some((to_u128(ip) - to_u128(self.cidr.network())) as usize)
    }

    /// The address at `ordinal`, or `None` past the end of the block.
    pub fn address_at(&self, ordinal: usize) -> Option<IpAddr> {
        (ordinal < self.size()).then(|| {
            from_u128(
                to_u128(self.cidr.network()) + ordinal as u128,
                self.version(),
            )
        })
    }

    /// The attributes of an assigned address.
    pub fn attributes_of(&self, ip: IpAddr) -> Option<&AllocationAttribute> {
        let index = (*self.allocations.get(self.ordinal_of(ip)?)?)?;
        self.attributes.get(index)
    }

    /// Assigns up to `num` free addresses, in `unallocated` order, to `handle`
    /// with `attrs`; returns them (fewer when the block fills up).
    pub fn auto_assign(
        &mut self,
        num: usize,
        handle: Option<&str>,
        attrs: &BTreeMap<String, String>,
    ) -> Vec<IpAddr> {
        let take = num.min(self.unallocated.len());
        if take == 0 {
            return Vec::new();
        }
        let index = self.attribute_index(handle, attrs);
        let ordinals: Vec<usize> = self.unallocated.drain(..take).collect();
        ordinals
            .into_iter()
            .filter_map(|o| {
                self.allocations[o] = Some(index);
                self.address_at(o)
            })
            .collect()
    }

    /// Assigns one given address.
    pub fn assign(
        &mut self,
        ip: IpAddr,
        handle: Option<&str>,
        attrs: &BTreeMap<String, String>,
    ) -> Result<(), IpamError> {
        let ordinal = self.ordinal_of(ip).ok_or(IpamError::NotInPool(ip))?;
        if let Some(index) = self.allocations[ordinal] {
            let handle = self.attributes.get(index).and_then(|a| a.handle_id.clone());
            return Err(IpamError::AlreadyAllocated {
                address: ip,
                handle,
            });
        }
        let index = self.attribute_index(handle, attrs);
        self.allocations[ordinal] = Some(index);
        self.unallocated.retain(|&o| o != ordinal);
        Ok(())
    }

    /// Releases the given addresses (those of other blocks count as not assigned).
    pub fn release(&mut self, ips: &[IpAddr]) -> BlockRelease {
        let mut out = BlockRelease::default();
        let unique: BTreeSet<IpAddr> = ips.iter().copied().collect();
        for ip in unique {
            let Some(ordinal) = self.ordinal_of(ip) else {
                out.not_assigned.push(ip);
                continue;
            };
            let Some(index) = self.allocations[ordinal].take() else {
                out.not_assigned.push(ip);
                continue;
            };
            if let Some(h) = self.attributes.get(index).and_then(|a| a.handle_id.clone()) {
                *out.by_handle.entry(h).or_default() += 1;
            }
            self.unallocated.push(ordinal);
            out.released.push(ip);
        }
        self.drop_unused_attributes();
        out
    }

    /// Releases every address of `handle`; returns them.
    pub fn release_by_handle(&mut self, handle: &str) -> Vec<IpAddr> {
        let ips = self.ips_by_handle(handle);
        self.release(&ips).released
    }

    /// The addresses assigned to `handle`, in address order.
    pub fn ips_by_handle(&self, handle: &str) -> Vec<IpAddr> {
        self.allocations
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                a.and_then(|i| self.attributes.get(i))
                    .is_some_and(|attr| attr.handle_id.as_deref() == Some(handle))
            })
            .filter_map(|(o, _)| self.address_at(o))
            .collect()
    }

    /// How many addresses each handle holds in this block.
    pub fn count_by_handle(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for index in self.allocations.iter().flatten() {
            if let Some(h) = self
                .attributes
                .get(*index)
                .and_then(|a| a.handle_id.clone())
            {
                *out.entry(h).or_default() += 1;
            }
        }
        out
    }

    /// The index of these attributes, added when new (Calico shares one entry
    /// between the allocations with equal attributes).
    fn attribute_index(&mut self, handle: Option<&str>, attrs: &BTreeMap<String, String>) -> usize {
        let attr = AllocationAttribute {
            handle_id: handle.map(str::to_string),
            secondary: attrs.clone(),
        };
        if let Some(i) = self.attributes.iter().position(|a| *a == attr) {
            return i;
        }
        self.attributes.push(attr);
        self.attributes.len() - 1
    }

    /// Removes attributes no allocation refers to, renumbering the rest in order.
    fn drop_unused_attributes(&mut self) {
        let used: BTreeSet<usize> = self.allocations.iter().flatten().copied().collect();
        if used.len() == self.attributes.len() {
            return;
        }
        let mut renumber = vec![None; self.attributes.len()];
        let mut kept = Vec::with_capacity(used.len());
        for (old, attr) in std::mem::take(&mut self.attributes).into_iter().enumerate() {
            if used.contains(&old) {
                renumber[old] = Some(kept.len());
                kept.push(attr);
            }
        }
        self.attributes = kept;
        for a in self.allocations.iter_mut() {
            *a = a.and_then(|i| renumber[i]);
        }
    }
}

/// The number of addresses of a block network, `None` above 2^[`MAX_BLOCK_BITS`].
pub(crate) fn block_size(cidr: &IpNetwork) -> Option<usize> {
    let host_bits = IpVersion::of_net(cidr).bits().checked_sub(cidr.prefix())?;
    (host_bits <= MAX_BLOCK_BITS).then(|| 1usize << host_bits)
}
