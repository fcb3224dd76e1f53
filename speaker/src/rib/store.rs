//! Storing and removing paths in a family's table: the per-prefix work of
//! [`super::Rib::apply_update`] and of our own routes.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use bgp_proto::attribute::NextHop;
use bgp_proto::iana::AfiSafi;
use bgp_proto::nlri::Nlri;

use crate::attrs::{AttrInterner, Attrs, PathAttrs};
use crate::config::PrefixLimit;
use crate::policy::{Policy, PolicyResult, RouteContext, is_next_hop_self};
use crate::types::{Path, PathList, PeerId, PeerInfo, RibChange};

use super::decision::Decider;
use super::limits::{Admit, PrefixLimitExceeded, admit};
use super::slab_map::Entry;
use super::table::{Map, PathSet, PrefixKey, Table};
use super::{Rib, decider};

/// How a batch of announcements gets its attributes.
pub(super) enum Import<'a> {
    /// The same for every prefix.
    Constant(Attrs),
    /// The policy must be evaluated per prefix.
    PerPrefix(&'a Policy, Attrs),
}

/// Tallies of a batch, written to the peer's counters afterwards.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// The peer's path count in the family, kept current.
    pub(super) count: u64,
    pub(super) unstaled: u64,
    pub(super) removed_stale: u64,
    pub(super) accepted: usize,
    pub(super) rejected: usize,
    pub(super) dropped: usize,
}

/// The fixed inputs of a batch.
pub(super) struct Batch<'a> {
    pub(super) decider: Decider<'a>,
    pub(super) family: AfiSafi,
    pub(super) peer: PeerId,
    pub(super) info: &'a PeerInfo,
    pub(super) limit: Option<&'a PrefixLimit>,
}

impl Rib {
    /// Insert or replace one path; true if it is new for its key.
    pub(super) fn insert_one(
        &mut self,
        family: AfiSafi,
        prefix: ipnetwork::IpNetwork,
        path: Path,
        changes: &mut Vec<RibChange>,
    ) -> bool {
        let Rib {
            tables,
            peers,
            config,
            ..
        } = self;
        let table = match tables.iter().position(|(f, _)| *f == family) {
            Some(at) => &mut tables[at].1,
            None => {
                let Some(table) = Table::for_family(family) else {
                    return false;
                };
                tables.push((family, table));
                &mut tables.last_mut().expect("just pushed").1
            }
        };
        let decider = decider(peers, config);
        match table {
            Table::V4(map) => insert(map, &decider, family, prefix, path, changes),
            Table::V6(map) => insert(map, &decider, family, prefix, path, changes),
        }
    }

    /// Remove one path; `Some(was_stale)` if it was there.
    pub(super) fn remove_one(
        &mut self,
        family: AfiSafi,
        prefix: ipnetwork::IpNetwork,
        peer: PeerId,
        path_id: u32,
        changes: &mut Vec<RibChange>,
    ) -> Option<bool> {
        let Rib {
            tables,
            peers,
            config,
            ..
        } = self;
        let (_, table) = tables.iter_mut().find(|(f, _)| *f == family)?;
        let decider = decider(peers, config);
        match table {
            Table::V4(map) => remove(map, &decider, family, prefix, peer, path_id, changes),
            Table::V6(map) => remove(map, &decider, family, prefix, peer, path_id, changes),
        }
    }
}

/// On import, next-hop-self means the peer's address.
pub(super) fn resolve_self(mut attrs: PathAttrs, info: &PeerInfo) -> PathAttrs {
    if is_next_hop_self(&attrs.next_hop) {
        attrs.next_hop = match info.address {
            IpAddr::V4(address) => NextHop::V4(address),
            IpAddr::V6(address) => NextHop::V6 {
                global: address,
                link_local: None,
            },
        };
    }
    attrs
}

/// Remove the peer's paths for `nlri`; returns (removed, of which stale).
pub(super) fn remove_all<K: PrefixKey>(
    map: &mut Map<K>,
    decider: &Decider<'_>,
    family: AfiSafi,
    peer: PeerId,
    nlri: &[Nlri],
    changes: &mut Vec<RibChange>,
) -> (u64, u64) {
    let mut removed = (0, 0);
    for n in nlri {
        let path_id = n.path_id.unwrap_or(0);
        if let Some(stale) = remove(map, decider, family, n.prefix, peer, path_id, changes) {
            removed.0 += 1;
            removed.1 += u64::from(stale);
        }
    }
    removed
}

/// Remove one path; `Some(was_stale)` if it was there.
fn remove<K: PrefixKey>(
    map: &mut Map<K>,
    decider: &Decider<'_>,
    family: AfiSafi,
    prefix: ipnetwork::IpNetwork,
    peer: PeerId,
    path_id: u32,
    changes: &mut Vec<RibChange>,
) -> Option<bool> {
    let key = K::from_net(prefix)?;
    let set = map.get_mut(&key)?;
    let index = set.find(peer, path_id)?;
    let stale = set.as_slice()[index].stale;
    let prefix = key.to_net();
    let previous_best = set.as_slice().first().cloned();
    if set.remove(index) {
        decider.rank(set.as_mut_slice());
        let paths = path_list(set.as_slice());
        changes.push(RibChange {
            family,
            prefix,
            paths,
            previous_best,
        });
    } else {
        map.remove(&key);
        changes.push(RibChange {
            family,
            prefix,
            paths: PathList::new(),
            previous_best,
        });
    }
    Some(stale)
}

/// Insert or replace one path without limits; true if it is new.
fn insert<K: PrefixKey>(
    map: &mut Map<K>,
    decider: &Decider<'_>,
    family: AfiSafi,
    prefix: ipnetwork::IpNetwork,
    path: Path,
    changes: &mut Vec<RibChange>,
) -> bool {
    let Some(key) = K::from_net(prefix) else {
        return false;
    };
    let prefix = key.to_net();
    let mut previous_best = None;
    let (set, added) = match map.entry(key) {
        Entry::Occupied(entry) => {
            let set = entry.into_mut();
            match set.find(path.peer, path.path_id) {
                Some(i) if Arc::ptr_eq(&set.as_slice()[i].attrs, &path.attrs) => {
                    set.as_mut_slice()[i].stale = false;
                    return false;
                }
                Some(i) => {
                    previous_best = set.as_slice().first().cloned();
                    set.as_mut_slice()[i] = path;
                    (set, false)
                }
                None => {
                    previous_best = set.as_slice().first().cloned();
                    set.push(path);
                    (set, true)
                }
            }
        }
        Entry::Vacant(entry) => (entry.insert(PathSet::One(path)), true),
    };
    decider.rank(set.as_mut_slice());
    changes.push(RibChange {
        family,
        prefix,
        paths: path_list(set.as_slice()),
        previous_best,
    });
    added
}

/// Store the announcements of one family with the peer's import policy
/// and prefix limit.
pub(super) fn announce_all<K: PrefixKey>(
    map: &mut Map<K>,
    batch: &Batch<'_>,
    import: &Import<'_>,
    nlri: &[Nlri],
    interner: &mut AttrInterner,
    tally: &mut Tally,
    changes: &mut Vec<RibChange>,
) -> Result<(), PrefixLimitExceeded> {
    let (family, peer) = (batch.family, batch.peer);
    // The last policy-modified set, reused while consecutive prefixes get
    // the same modification.
    let mut last_modified: Option<Attrs> = None;
    for n in nlri {
        let Some(key) = K::from_net(n.prefix) else {
            continue;
        };
        let path_id = n.path_id.unwrap_or(0);
        let attrs = match import {
            Import::Constant(attrs) => attrs.clone(),
            Import::PerPrefix(policy, base) => {
                let ctx = RouteContext {
                    family,
                    prefix: n.prefix,
                    peer: batch.info,
                };
                match policy.evaluate(&ctx, base) {
                    PolicyResult::Accept(Cow::Borrowed(_)) => base.clone(),
                    PolicyResult::Accept(Cow::Owned(modified)) => {
                        let modified = resolve_self(modified, batch.info);
                        match &last_modified {
                            Some(last) if **last == modified => last.clone(),
                            _ => {
                                let attrs = interner.intern(modified);
                                last_modified = Some(attrs.clone());
                                attrs
                            }
                        }
                    }
                    PolicyResult::Reject => {
                        tally.rejected += 1;
                        let decider = &batch.decider;
                        let prefix = n.prefix;
                        if let Some(stale) =
                            remove(map, decider, family, prefix, peer, path_id, changes)
                        {
                            tally.count -= 1;
                            tally.removed_stale += u64::from(stale);
                        }
                        continue;
                    }
                }
            }
        };
        let path = Path {
            peer,
            path_id,
            attrs,
            stale: false,
        };
        let mut previous_best = None;
        let set = match map.entry(key) {
            Entry::Occupied(entry) => {
                let set = entry.into_mut();
                match set.find(peer, path_id) {
                    Some(i) => {
                        let existing = &mut set.as_mut_slice()[i];
                        tally.unstaled += u64::from(existing.stale);
                        tally.accepted += 1;
                        if Arc::ptr_eq(&existing.attrs, &path.attrs) {
                            existing.stale = false;
                            continue;
                        }
                        previous_best = set.as_slice().first().cloned();
                        set.as_mut_slice()[i] = path;
                    }
                    None => {
                        match admit(batch.limit, family, tally.count) {
                            Admit::Yes => {}
                            Admit::Drop => {
                                tally.dropped += 1;
                                continue;
                            }
                            Admit::Exceeded(exceeded) => return Err(exceeded),
                        }
                        tally.count += 1;
                        tally.accepted += 1;
                        previous_best = set.as_slice().first().cloned();
                        set.push(path);
                    }
                }
                batch.decider.rank(set.as_mut_slice());
                set
            }
            Entry::Vacant(entry) => {
                match admit(batch.limit, family, tally.count) {
                    Admit::Yes => {}
                    Admit::Drop => {
                        tally.dropped += 1;
                        continue;
                    }
                    Admit::Exceeded(exceeded) => return Err(exceeded),
                }
                tally.count += 1;
                tally.accepted += 1;
                entry.insert(PathSet::One(path))
            }
        };
        changes.push(RibChange {
            family,
            prefix: key.to_net(),
            paths: path_list(set.as_slice()),
            previous_best,
        });
    }
    Ok(())
}

/// The paths of a change: most prefixes have one path, which is pushed
/// inline without the slice-extend machinery (a third of its cost per
/// route).
pub(super) fn path_list(paths: &[Path]) -> PathList {
    match paths {
        [only] => {
            let mut list = PathList::new();
            list.push(only.clone());
            list
        }
        more => PathList::from(more),
    }
}
