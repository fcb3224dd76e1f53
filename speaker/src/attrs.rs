//! Interned path attribute sets.
//!
//! Most routes in a table share their attributes with many others (a peer's
//! full table has a few hundred thousand prefixes but far fewer distinct
//! attribute sets). [`AttrInterner`] keeps one [`Attrs`] allocation per
//! distinct set, so a route costs a pointer, and comparing two routes'
//! attributes is a pointer comparison.
//!
//! A set is stored without MP_REACH_NLRI / MP_UNREACH_NLRI / NEXT_HOP: the
//! next hop is held separately in [`PathAttrs::next_hop`], so IPv4 and IPv6
//! routes with the same attributes can share everything but the next hop,
//! and the encoder can choose NEXT_HOP or MP_REACH_NLRI per family.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::net::Ipv4Addr;
use std::sync::Arc;

use bgp_proto::attribute::{AsPath, NextHop, Origin, PathAttribute};
use bgp_proto::iana::attr_type;

/// One distinct set of path attributes and a next hop.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathAttrs {
    /// The next hop of the routes (NEXT_HOP or the MP_REACH_NLRI next hop).
    pub next_hop: NextHop,
    /// Every attribute except NEXT_HOP, MP_REACH_NLRI and MP_UNREACH_NLRI,
    /// in wire order.
    pub attributes: Vec<PathAttribute>,
}

/// A shared, interned attribute set.
pub type Attrs = Arc<PathAttrs>;

impl PathAttrs {
    /// Split an UPDATE's attributes into the shared set. `next_hop` is the
    /// family's next hop (from NEXT_HOP or MP_REACH_NLRI).
    pub fn from_update_attributes(attributes: &[PathAttribute], next_hop: NextHop) -> Self {
        PathAttrs {
            next_hop,
            attributes: attributes
                .iter()
                .filter(|a| {
                    !matches!(
                        a,
                        PathAttribute::NextHop(_)
                            | PathAttribute::MpReach(_)
                            | PathAttribute::MpUnreach(_)
                    )
                })
                .cloned()
                .collect(),
        }
    }

    /// The first attribute of type `code`.
    pub fn get(&self, code: u8) -> Option<&PathAttribute> {
        self.attributes.iter().find(|a| a.type_code() == code)
    }

    /// ORIGIN (IGP if absent, which only a malformed route could be).
    pub fn origin(&self) -> Origin {
        match self.get(attr_type::ORIGIN) {
            Some(PathAttribute::Origin(origin)) => *origin,
            _ => Origin::Igp,
        }
    }

    /// AS_PATH, or the empty path.
    pub fn as_path(&self) -> &AsPath {
        static EMPTY: AsPath = AsPath {
            segments: bgp_proto::smallvec::SmallVec::new_const(),
        };
        match self.get(attr_type::AS_PATH) {
            Some(PathAttribute::AsPath(path)) => path,
            _ => &EMPTY,
        }
    }

    /// LOCAL_PREF, if present.
    pub fn local_pref(&self) -> Option<u32> {
        match self.get(attr_type::LOCAL_PREF) {
            Some(PathAttribute::LocalPref(pref)) => Some(*pref),
            _ => None,
        }
    }

    /// MULTI_EXIT_DISC, if present.
    pub fn med(&self) -> Option<u32> {
        match self.get(attr_type::MULTI_EXIT_DISC) {
            Some(PathAttribute::MultiExitDisc(med)) => Some(*med),
            _ => None,
        }
    }

    /// ORIGINATOR_ID, if present (RFC 4456 section 8).
    pub fn originator_id(&self) -> Option<Ipv4Addr> {
        match self.get(attr_type::ORIGINATOR_ID) {
            Some(PathAttribute::OriginatorId(id)) => Some(*id),
            _ => None,
        }
    }

    /// CLUSTER_LIST, or the empty list (RFC 4456 section 8).
    pub fn cluster_list(&self) -> &[Ipv4Addr] {
        match self.get(attr_type::CLUSTER_LIST) {
            Some(PathAttribute::ClusterList(list)) => list,
            _ => &[],
        }
    }

    /// Rough heap bytes held by this set, for memory accounting.
    pub fn heap_size(&self) -> usize {
        let mut size = self.attributes.capacity() * std::mem::size_of::<PathAttribute>();
        for attribute in &self.attributes {
            size += match attribute {
                PathAttribute::AsPath(path) | PathAttribute::As4Path(path) => path
                    .segments
                    .iter()
                    .map(|s| std::mem::size_of_val(s) + s.asns.capacity() * 4)
                    .sum(),
                PathAttribute::Communities(list) => list.capacity() * 4,
                PathAttribute::ClusterList(list) => list.capacity() * 4,
                PathAttribute::ExtendedCommunities(list) => list.capacity() * 8,
                PathAttribute::LargeCommunities(list) => list.capacity() * 12,
                PathAttribute::Ipv6ExtendedCommunities(list) => list.capacity() * 20,
                PathAttribute::Raw(raw) => raw.value.len(),
                _ => 0,
            };
        }
        size
    }
}

/// Hash-set key that compares the pointed-to value.
#[derive(Debug, Clone)]
struct Interned(Attrs);

impl PartialEq for Interned {
    fn eq(&self, other: &Self) -> bool {
        *self.0 == *other.0
    }
}
impl Eq for Interned {}
impl Hash for Interned {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}
impl std::borrow::Borrow<PathAttrs> for Interned {
    fn borrow(&self) -> &PathAttrs {
        &self.0
    }
}

/// The table of distinct attribute sets. Owned by the RIB task (no locks).
#[derive(Debug, Default)]
pub struct AttrInterner {
    sets: HashSet<Interned>,
}

impl AttrInterner {
    /// An empty interner.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shared copy of `attrs`, stored on first sight.
    pub fn intern(&mut self, attrs: PathAttrs) -> Attrs {
        if let Some(existing) = self.sets.get(&attrs) {
            return existing.0.clone();
        }
        let shared = Arc::new(attrs);
        self.sets.insert(Interned(shared.clone()));
        shared
    }

    /// Number of distinct sets.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// No sets?
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Drop sets no route refers to any more. Call now and then (the RIB
    /// does after large withdrawals); returns how many were dropped.
    pub fn collect_garbage(&mut self) -> usize {
        let before = self.sets.len();
        self.sets.retain(|set| Arc::strong_count(&set.0) > 1);
        before - self.sets.len()
    }

    /// Rough heap bytes of all sets.
    pub fn heap_size(&self) -> usize {
        self.sets
            .iter()
            .map(|s| std::mem::size_of::<PathAttrs>() + s.0.heap_size())
            .sum::<usize>()
            + self.sets.capacity() * std::mem::size_of::<Interned>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(med: u32) -> PathAttrs {
        PathAttrs {
            next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            attributes: vec![
                PathAttribute::Origin(Origin::Igp),
                PathAttribute::MultiExitDisc(med),
            ],
        }
    }

    #[test]
    fn identical_sets_share_one_allocation() {
        let mut interner = AttrInterner::new();
        let a = interner.intern(attrs(1));
        let b = interner.intern(attrs(1));
        let c = interner.intern(attrs(2));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(interner.len(), 2);
    }

    #[test]
    fn unreferenced_sets_are_collected() {
        let mut interner = AttrInterner::new();
        let keep = interner.intern(attrs(1));
        drop(interner.intern(attrs(2)));
        assert_eq!(interner.collect_garbage(), 1);
        assert_eq!(interner.len(), 1);
        assert_eq!(keep.med(), Some(1));
    }

    #[test]
    fn next_hop_and_mp_attributes_are_split_out() {
        let set = PathAttrs::from_update_attributes(
            &[
                PathAttribute::Origin(Origin::Egp),
                PathAttribute::NextHop(Ipv4Addr::new(10, 0, 0, 1)),
            ],
            NextHop::V4(Ipv4Addr::new(10, 0, 0, 1)),
        );
        assert_eq!(set.attributes, vec![PathAttribute::Origin(Origin::Egp)]);
        assert_eq!(set.origin(), Origin::Egp);
    }
}
