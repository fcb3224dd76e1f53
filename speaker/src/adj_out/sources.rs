//! The routes a group advertises, counted by the peer each one came from.
//!
//! A member is not sent the routes whose source it is (see
//! [`super::AdjOut`], "A member's own routes"), so the routes it holds
//! from the group are the group's count less its own: this count.

use rustc_hash::FxHashMap;

use crate::types::PeerId;

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct SourceCounts {
    counts: FxHashMap<PeerId, usize>,
    /// The net change of the current run of changes from one source, not
    /// yet in `counts`: the routes of one received UPDATE change together,
    /// so a burst costs a look-up per run, not per route.
    run: Option<(PeerId, isize)>,
}

impl SourceCounts {
    /// A route's advertised source went from `before` to `after` (`None`:
    /// not advertised). Called per route sent, so inlined.
    #[inline]
    pub fn change(&mut self, before: Option<PeerId>, after: Option<PeerId>) {
        if before == after {
            return;
        }
        if let Some(peer) = before {
            self.add(peer, -1);
        }
        if let Some(peer) = after {
            self.add(peer, 1);
        }
    }

    #[inline]
    fn add(&mut self, peer: PeerId, delta: isize) {
        match &mut self.run {
            Some((current, net)) if *current == peer => *net += delta,
            _ => {
                self.settle();
                self.run = Some((peer, delta));
            }
        }
    }

    #[cold]
    fn settle(&mut self) {
        let Some((peer, net)) = self.run.take() else {
            return;
        };
        let count = self.counts.entry(peer).or_default();
        *count = count.saturating_add_signed(net);
        if *count == 0 {
            self.counts.remove(&peer);
        }
    }

    /// Routes advertised whose source is `peer`.
    pub fn of(&self, peer: PeerId) -> usize {
        let counted = self.counts.get(&peer).copied().unwrap_or(0);
        match self.run {
            Some((current, net)) if current == peer => counted.saturating_add_signed(net),
            _ => counted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_each_route_from_source_to_source() {
        let (a, b) = (PeerId(1), PeerId(2));
        let mut counts = SourceCounts::default();
        for _ in 0..5 {
            counts.change(None, Some(a));
        }
        counts.change(Some(a), Some(b));
        assert_eq!((counts.of(a), counts.of(b)), (4, 1));
        counts.change(Some(b), Some(b));
        counts.change(Some(a), None);
        counts.change(Some(b), None);
        assert_eq!((counts.of(a), counts.of(b)), (3, 0));
        for _ in 0..3 {
            counts.change(Some(a), None);
        }
        counts.settle();
        assert_eq!(counts.of(a), 0);
        assert!(
            counts.counts.is_empty(),
            "a source with no routes is forgotten"
        );
    }
}
