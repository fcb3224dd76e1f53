//! Relist-and-diff: the changes between what a watcher last knew and a fresh list,
//! so that after a compaction or a lost connection no change is missed and none is
//! repeated.

use std::collections::BTreeMap;

use crate::model::{Resource, ResourceKey};
use crate::store::WatchEvent;

/// What a watcher knows: each key with its resource (resource version set).
pub type Cache = BTreeMap<ResourceKey, Resource>;

/// The events that turn `cache` into `listed` (at `revision`), and the new cache.
///
/// A resource whose resource version is unchanged yields nothing; a changed or new
/// one yields a `Put`; a vanished one a `Delete` at `revision`.
pub fn diff(cache: &Cache, listed: Vec<Resource>, revision: i64) -> (Vec<WatchEvent>, Cache) {
    let mut next = Cache::new();
    let mut events = Vec::new();
    for r in listed {
        let Ok(key) = r.key() else { continue };
        let unchanged = cache
            .get(&key)
            .is_some_and(|old| old.metadata().resource_version == r.metadata().resource_version);
        if !unchanged {
            events.push(WatchEvent::Put(r.clone()));
        }
        next.insert(key, r);
    }
    for key in cache.keys() {
        if !next.contains_key(key) {
            events.push(WatchEvent::Delete {
                key: key.clone(),
                revision,
            });
        }
    }
    (events, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, Node, NodeSpec};

    fn node(name: &str, rev: i64) -> Resource {
        let mut r: Resource = Node::new(name, NodeSpec::default()).into();
        r.metadata_mut().resource_version = Some(rev.to_string());
        r
    }

    #[test]
    fn diff_reports_each_change_once() {
        let (_, cache) = diff(
            &Cache::new(),
            vec![node("a", 1), node("b", 2), node("c", 3)],
            3,
        );
        let (events, next) = diff(&cache, vec![node("a", 1), node("c", 5), node("d", 6)], 7);
        assert_eq!(
            events,
            vec![
                WatchEvent::Put(node("c", 5)),
                WatchEvent::Put(node("d", 6)),
                WatchEvent::Delete {
                    key: ResourceKey::global(Kind::Node, "b"),
                    revision: 7
                },
            ]
        );
        assert_eq!(next.len(), 3);
        let (again, _) = diff(&next, next.values().cloned().collect(), 7);
        assert!(again.is_empty());
    }
}
