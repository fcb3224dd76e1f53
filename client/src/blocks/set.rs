//! The node's affine blocks, and what they change in what is advertised.
//! Pure code.
//!
//! The rule (what Calico's BIRD configuration does with its block
//! blackholes and workload routes): a prefix is advertised when it is an
//! affine block, or when a selected kernel route has it and no affine
//! block covers it. A workload address inside one of the node's blocks is
//! reached through the block's route; one borrowed from another node's
//! block is covered by none of ours and keeps its own /32 (/128), which
//! wins over the owner's block by longest match.

use std::collections::{BTreeSet, HashSet};

use ipnetwork::IpNetwork;

use crate::agent::routes::Export;
use crate::kernel::route::normalise;

/// A set of blocks with a fast "which block covers this prefix".
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AffineBlocks {
    blocks: HashSet<IpNetwork>,
    /// The distinct prefix lengths of the IPv4 and of the IPv6 blocks
    /// (usually one each: Calico's block size per pool).
    lengths: [BTreeSet<u8>; 2],
}

impl AffineBlocks {
    /// The set of `blocks` (host bits cleared).
    pub fn new(blocks: impl IntoIterator<Item = IpNetwork>) -> Self {
        let mut set = AffineBlocks::default();
        for block in blocks {
            let block = normalise(block);
            set.lengths[usize::from(block.is_ipv6())].insert(block.prefix());
            set.blocks.insert(block);
        }
        set
    }

    /// Is `prefix` one of the blocks?
    pub fn contains(&self, prefix: IpNetwork) -> bool {
        self.blocks.contains(&prefix)
    }

    /// The block strictly shorter than `prefix` that contains it, if any.
    pub fn covering(&self, prefix: IpNetwork) -> Option<IpNetwork> {
        self.lengths[usize::from(prefix.is_ipv6())]
            .iter()
            .take_while(|len| **len < prefix.prefix())
            .filter_map(|len| IpNetwork::new(prefix.network(), *len).ok())
            .map(normalise)
            .find(|candidate| self.blocks.contains(candidate))
    }

    /// Is `prefix` advertised, given whether a selected kernel route has
    /// it (module rule)?
    pub fn advertises(&self, prefix: IpNetwork, selected: bool) -> bool {
        self.contains(prefix) || (selected && self.covering(prefix).is_none())
    }

    /// The blocks.
    pub fn iter(&self) -> impl Iterator<Item = IpNetwork> + '_ {
        self.blocks.iter().copied()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// None?
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

/// What moving from the blocks `old` to `new` changes in what is
/// advertised, with `selected` the prefixes of the selected kernel
/// routes: withdrawals first, then originations.
pub fn transition(
    old: &AffineBlocks,
    new: &AffineBlocks,
    selected: &HashSet<IpNetwork>,
) -> Vec<Export> {
    let changed: Vec<IpNetwork> = old
        .iter()
        .filter(|b| !new.contains(*b))
        .chain(new.iter().filter(|b| !old.contains(*b)))
        .collect();
    if changed.is_empty() {
        return Vec::new();
    }
    let touched = AffineBlocks::new(changed.iter().copied());
    let mut affected: BTreeSet<(bool, IpNetwork)> =
        changed.iter().map(|p| (p.is_ipv6(), *p)).collect();
    affected.extend(
        selected
            .iter()
            .filter(|p| touched.contains(**p) || touched.covering(**p).is_some())
            .map(|p| (p.is_ipv6(), *p)),
    );
    let mut withdrawals = Vec::new();
    let mut originations = Vec::new();
    for (_, prefix) in affected {
        let is_selected = selected.contains(&prefix);
        match (
            old.advertises(prefix, is_selected),
            new.advertises(prefix, is_selected),
        ) {
            (true, false) => withdrawals.push(Export::Withdraw(prefix)),
            (false, true) => originations.push(Export::Originate(prefix)),
            _ => {}
        }
    }
    withdrawals.extend(originations);
    withdrawals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    fn set(list: &[&str]) -> HashSet<IpNetwork> {
        list.iter().map(|s| p(s)).collect()
    }

    #[test]
    fn covering_finds_the_block_of_a_host_route_only() {
        let blocks = AffineBlocks::new([p("10.65.4.0/26"), p("fd00:65::/122")]);
        assert_eq!(blocks.covering(p("10.65.4.5/32")), Some(p("10.65.4.0/26")));
        assert_eq!(blocks.covering(p("10.65.4.64/32")), None, "next block");
        assert_eq!(blocks.covering(p("10.65.4.0/26")), None, "itself");
        assert_eq!(blocks.covering(p("10.65.0.0/16")), None, "wider");
        assert_eq!(
            blocks.covering(p("fd00:65::3/128")),
            Some(p("fd00:65::/122"))
        );
        assert!(blocks.advertises(p("10.65.4.0/26"), false));
        assert!(!blocks.advertises(p("10.65.4.5/32"), true));
        assert!(blocks.advertises(p("10.65.9.7/32"), true), "borrowed");
        assert!(!blocks.advertises(p("10.65.9.7/32"), false));
    }

    #[test]
    fn a_new_block_replaces_its_host_routes_and_a_lost_one_gives_them_back() {
        let selected = set(&["10.65.4.5/32", "10.65.4.6/32", "10.65.9.7/32"]);
        let none = AffineBlocks::default();
        let one = AffineBlocks::new([p("10.65.4.0/26")]);
        assert_eq!(
            transition(&none, &one, &selected),
            vec![
                Export::Withdraw(p("10.65.4.5/32")),
                Export::Withdraw(p("10.65.4.6/32")),
                Export::Originate(p("10.65.4.0/26")),
            ]
        );
        assert_eq!(
            transition(&one, &none, &selected),
            vec![
                Export::Withdraw(p("10.65.4.0/26")),
                Export::Originate(p("10.65.4.5/32")),
                Export::Originate(p("10.65.4.6/32")),
            ]
        );
        assert!(transition(&one, &one.clone(), &selected).is_empty());
        // A block that is also a selected kernel route (its blackhole)
        // stays advertised when the affinity goes.
        let with_blackhole = set(&["10.65.4.0/26"]);
        assert!(transition(&one, &none, &with_blackhole).is_empty());
    }
}
