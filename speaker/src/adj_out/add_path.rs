//! Our ADD-PATH path identifiers (RFC 7911 section 3) for the paths a group
//! advertises.
//!
//! A path keeps its identifier while it is advertised; a new path takes the
//! lowest identifier not in use for the prefix, starting at 1. So with one
//! path per prefix the identifier is always 1 (a new best path replaces the
//! old one implicitly), and identifiers that disappear are the ones to
//! withdraw.

use ipnetwork::IpNetwork;

use bgp_proto::iana::AfiSafi;

use crate::types::PeerId;

use rustc_hash::FxHashMap;

/// A path as the Loc-RIB knows it: source peer and its path identifier.
pub(crate) type PathSource = (PeerId, u32);

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct PathIds {
    by_prefix: FxHashMap<(AfiSafi, IpNetwork), Vec<(PathSource, u32)>>,
}

impl PathIds {
    /// Assign identifiers to `paths` (the paths now advertised for the
    /// prefix). Returns their identifiers, in order, and the identifiers
    /// no longer used.
    pub fn assign(
        &mut self,
        family: AfiSafi,
        prefix: IpNetwork,
        paths: &[PathSource],
    ) -> (Vec<u32>, Vec<u32>) {
        let old = self.by_prefix.remove(&(family, prefix)).unwrap_or_default();
        let kept: Vec<Option<u32>> = paths
            .iter()
            .map(|path| old.iter().find(|(p, _)| p == path).map(|(_, id)| *id))
            .collect();
        let mut used: Vec<u32> = kept.iter().flatten().copied().collect();
        let mut next = 1u32;
        let ids: Vec<u32> = kept
            .into_iter()
            .map(|id| {
                id.unwrap_or_else(|| {
                    while used.contains(&next) {
                        next += 1;
                    }
                    used.push(next);
                    next
                })
            })
            .collect();
        let released = old
            .iter()
            .map(|(_, id)| *id)
            .filter(|id| !ids.contains(id))
            .collect();
        if !paths.is_empty() {
            let entry = paths.iter().copied().zip(ids.iter().copied()).collect();
            self.by_prefix.insert((family, prefix), entry);
        }
        (ids, released)
    }

    /// The identifiers in use for a prefix.
    pub fn ids(&self, family: AfiSafi, prefix: IpNetwork) -> Vec<u32> {
        self.by_prefix
            .get(&(family, prefix))
            .map(|paths| paths.iter().map(|(_, id)| *id).collect())
            .unwrap_or_default()
    }

    /// Prefixes with identifiers assigned.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_prefix.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_stable_and_reused_lowest_first() {
        let mut ids = PathIds::default();
        let (family, prefix) = (AfiSafi::IPV4_UNICAST, "10.0.0.0/8".parse().unwrap());
        let (a, b, c) = ((PeerId(1), 0), (PeerId(2), 0), (PeerId(3), 7));
        assert_eq!(ids.assign(family, prefix, &[a, b]), (vec![1, 2], vec![]));
        // b stays 2 when it becomes best; a's 1 goes to c.
        assert_eq!(ids.assign(family, prefix, &[b, c]), (vec![2, 1], vec![]));
        assert_eq!(ids.assign(family, prefix, &[c]), (vec![1], vec![2]));
        assert_eq!(ids.assign(family, prefix, &[]), (vec![], vec![1]));
        assert_eq!(ids.len(), 0);
    }
}
