//! The Loc-RIB storage of one family: compact prefix keys mapped to the
//! candidate paths of each prefix.
//!
//! A prefix's paths are stored exactly once, here; the Adj-RIB-In of a peer
//! is the subset of these paths whose [`Path::peer`] is that peer (there is
//! no second copy per peer, see the memory notes in [`super`]).
//!
//! Layout per prefix (64-bit targets): an IPv4 entry is an 8-octet key and a
//! 24-octet [`PathSet`], 32 bytes in the map's slab, plus 5 bytes a bucket
//! of its index (at 44-88% load); a prefix with one path needs no other
//! allocation. An IPv6 entry has a 24-octet key. Growing the map copies
//! only its index, never the entries (`super::slab_map`).

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};
use std::hash::Hash;
use std::net::{Ipv4Addr, Ipv6Addr};

use bgp_proto::iana::{Afi, AfiSafi};

use crate::types::{Path, PeerId};

use super::slab_map::{self, SlabMap};

/// A canonical prefix as a hash key.
pub(crate) trait PrefixKey: Copy + Eq + Hash {
    /// The key of `net` (host bits cleared), `None` for the other IP version.
    fn from_net(net: IpNetwork) -> Option<Self>;
    /// The prefix back.
    fn to_net(self) -> IpNetwork;
}

/// An IPv4 prefix: address in the high 32 bits, length in the low 8.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct V4Key(u64);

impl PrefixKey for V4Key {
    #[inline]
    fn from_net(net: IpNetwork) -> Option<Self> {
        match net {
            IpNetwork::V4(net) => {
                let len = net.prefix();
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                let addr = u32::from(net.ip()) & mask;
                Some(V4Key((u64::from(addr) << 8) | u64::from(len)))
            }
            IpNetwork::V6(_) => None,
        }
    }

    #[inline]
    fn to_net(self) -> IpNetwork {
        let addr = Ipv4Addr::from((self.0 >> 8) as u32);
        let len = self.0 as u8;
        IpNetwork::V4(Ipv4Network::new(addr, len).expect("stored prefix length is valid"))
    }
}

/// An IPv6 prefix.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct V6Key {
    hi: u64,
    lo: u64,
    len: u8,
}

impl PrefixKey for V6Key {
    #[inline]
    fn from_net(net: IpNetwork) -> Option<Self> {
        match net {
            IpNetwork::V6(net) => {
                let len = net.prefix();
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                let addr = u128::from(net.ip()) & mask;
                Some(V6Key {
                    hi: (addr >> 64) as u64,
                    lo: addr as u64,
                    len,
                })
            }
            IpNetwork::V4(_) => None,
        }
    }

    #[inline]
    fn to_net(self) -> IpNetwork {
        let addr = Ipv6Addr::from((u128::from(self.hi) << 64) | u128::from(self.lo));
        IpNetwork::V6(Ipv6Network::new(addr, self.len).expect("stored prefix length is valid"))
    }
}

/// The candidate paths of one prefix, best first; never empty. One path is
/// held inline (the common case: a prefix heard from one peer).
#[derive(Debug, Clone)]
pub(crate) enum PathSet {
    /// A single path.
    One(Path),
    /// Two or more paths.
    Many(Box<[Path]>),
}

impl PathSet {
    #[inline]
    pub(crate) fn as_slice(&self) -> &[Path] {
        match self {
            PathSet::One(path) => std::slice::from_ref(path),
            PathSet::Many(paths) => paths,
        }
    }

    #[inline]
    pub(crate) fn as_mut_slice(&mut self) -> &mut [Path] {
        match self {
            PathSet::One(path) => std::slice::from_mut(path),
            PathSet::Many(paths) => paths,
        }
    }

    /// The index of the path with this key.
    #[inline]
    pub(crate) fn find(&self, peer: PeerId, path_id: u32) -> Option<usize> {
        self.as_slice()
            .iter()
            .position(|p| p.peer == peer && p.path_id == path_id)
    }

    /// Add a path at the end (the caller re-ranks).
    pub(crate) fn push(&mut self, path: Path) {
        // Exact capacity: the boxed slice is made without reallocating.
        let mut paths = Vec::with_capacity(self.as_slice().len() + 1);
        match std::mem::take(self) {
            PathSet::One(first) => paths.push(first),
            PathSet::Many(old) => paths.extend(old.into_vec()),
        }
        paths.push(path);
        *self = PathSet::Many(paths.into_boxed_slice());
    }

    /// Remove the path at `index`; false if that was the last one (the
    /// caller removes the prefix).
    pub(crate) fn remove(&mut self, index: usize) -> bool {
        match self {
            PathSet::One(_) => false,
            PathSet::Many(paths) if paths.len() == 2 => {
                let keep = paths[1 - index].clone();
                *self = PathSet::One(keep);
                true
            }
            PathSet::Many(_) => {
                let mut paths = std::mem::take(self).into_vec();
                paths.remove(index);
                *self = PathSet::Many(paths.into_boxed_slice());
                true
            }
        }
    }

    /// Keep the paths for which `keep` is true; false if none is left.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Path) -> bool) -> bool {
        if let PathSet::One(path) = self {
            // Without the vector the general case makes: a peer going down
            // takes this path for each of its single-path prefixes.
            return keep(path);
        }
        if self.as_slice().iter().all(&mut keep) {
            return true;
        }
        let mut paths = std::mem::take(self).into_vec();
        paths.retain(keep);
        match paths.len() {
            0 => false,
            1 => {
                *self = PathSet::One(paths.pop().expect("one path"));
                true
            }
            _ => {
                *self = PathSet::Many(paths.into_boxed_slice());
                true
            }
        }
    }

    fn into_vec(self) -> Vec<Path> {
        match self {
            PathSet::One(path) => vec![path],
            PathSet::Many(paths) => paths.into_vec(),
        }
    }
}

impl Default for PathSet {
    /// A transient empty value for `mem::take`; never stored.
    fn default() -> Self {
        PathSet::Many(Box::new([]))
    }
}

/// The map of one IP version.
pub(crate) type Map<K> = SlabMap<K, PathSet>;

/// The Loc-RIB of one family.
#[derive(Debug)]
pub(crate) enum Table {
    /// IPv4 unicast or multicast.
    V4(Map<V4Key>),
    /// IPv6 unicast or multicast.
    V6(Map<V6Key>),
}

impl Table {
    /// An empty table for `family`, `None` for families whose NLRI are not
    /// IP prefixes.
    pub(crate) fn for_family(family: AfiSafi) -> Option<Table> {
        if !family.has_ip_prefix_nlri() {
            return None;
        }
        Some(if family.afi == Afi::IPV4 {
            Table::V4(Map::default())
        } else {
            Table::V6(Map::default())
        })
    }

    pub(crate) fn get(&self, prefix: IpNetwork) -> Option<&PathSet> {
        match self {
            Table::V4(map) => map.get(&V4Key::from_net(prefix)?),
            Table::V6(map) => map.get(&V6Key::from_net(prefix)?),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Table::V4(map) => map.len(),
            Table::V6(map) => map.len(),
        }
    }

    pub(crate) fn iter(&self) -> TableIter<'_> {
        match self {
            Table::V4(map) => TableIter::V4(map.iter()),
            Table::V6(map) => TableIter::V6(map.iter()),
        }
    }

    /// Bytes of the map itself (its slab of entries and its index).
    pub(crate) fn table_bytes(&self) -> usize {
        match self {
            Table::V4(map) => map.allocated_bytes(),
            Table::V6(map) => map.allocated_bytes(),
        }
    }
}

/// An iterator over a table's prefixes and paths.
#[derive(Debug)]
pub(crate) enum TableIter<'a> {
    /// No table.
    Empty,
    /// IPv4.
    V4(slab_map::Iter<'a, V4Key, PathSet>),
    /// IPv6.
    V6(slab_map::Iter<'a, V6Key, PathSet>),
}

impl<'a> Iterator for TableIter<'a> {
    type Item = (IpNetwork, &'a [Path]);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            TableIter::Empty => None,
            TableIter::V4(iter) => iter.next().map(|(k, v)| (k.to_net(), v.as_slice())),
            TableIter::V6(iter) => iter.next().map(|(k, v)| (k.to_net(), v.as_slice())),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            TableIter::Empty => (0, Some(0)),
            TableIter::V4(iter) => iter.size_hint(),
            TableIter::V6(iter) => iter.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_clear_host_bits() {
        let net: IpNetwork = "10.1.2.3/16".parse().unwrap();
        let key = V4Key::from_net(net).unwrap();
        assert_eq!(key.to_net(), "10.1.0.0/16".parse::<IpNetwork>().unwrap());
        let zero: IpNetwork = "0.0.0.0/0".parse().unwrap();
        assert_eq!(V4Key::from_net(zero).unwrap().to_net(), zero);
        let v6: IpNetwork = "2001:db8::1/32".parse().unwrap();
        let key = V6Key::from_net(v6).unwrap();
        assert_eq!(key.to_net(), "2001:db8::/32".parse::<IpNetwork>().unwrap());
        let host: IpNetwork = "2001:db8::1/128".parse().unwrap();
        assert_eq!(V6Key::from_net(host).unwrap().to_net(), host);
        assert!(V4Key::from_net(v6).is_none());
    }

    #[test]
    fn slots_are_compact() {
        assert_eq!(std::mem::size_of::<PathSet>(), 24);
        assert_eq!(std::mem::size_of::<(V4Key, PathSet)>(), 32);
    }
}
