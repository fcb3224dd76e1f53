//! The routes of other protocols in the writer's table, by prefix.
//!
//! The writer never replaces or deletes a route it did not write (see the
//! parent module), so it must know, for every prefix it may install,
//! whether another protocol holds it. On a node that exports many kernel
//! routes (node A of the 100,000-route dump bench) nearly every route of
//! the table is such a route, so this set is as large as the table.
//!
//! The prefix is the map key, and the kernel identifies a route by table,
//! destination, TOS and metric (`fib_table_insert`), so each prefix keeps
//! only `(table, tos, metric)` of its routes, and the common case of one
//! route per prefix is held inline: no allocation per prefix (a
//! `HashSet<RouteKey>` per prefix cost about 130 bytes per route more).
//!
//! # Layout
//! - [`ForeignRoutes`]: `insert`, `remove`, `holds`.

use std::collections::HashMap;

use ipnetwork::IpNetwork;

use crate::kernel::route::RouteKey;

/// What tells routes to one prefix apart: table, TOS and metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    table: u32,
    metric: u32,
    tos: u8,
}

impl Slot {
    fn of(key: &RouteKey) -> Self {
        Slot {
            table: key.table,
            metric: key.metric,
            tos: key.tos,
        }
    }
}

/// The routes of one prefix: nearly always one.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slots {
    One(Slot),
    Many(Vec<Slot>),
}

/// Routes of other protocols, by prefix (never an empty entry).
///
/// ```
/// use bgp_client::kernel::route::RouteKey;
/// use bgp_client::kernel::writer::ForeignRoutes;
///
/// let prefix = "10.1.0.0/16".parse().unwrap();
/// let key = RouteKey { table: 254, prefix, tos: 0, metric: 0 };
/// let mut foreign = ForeignRoutes::default();
/// foreign.insert(key);
/// assert!(foreign.holds(prefix));
/// assert!(foreign.remove(&key), "the last route of the prefix went");
/// assert!(!foreign.holds(prefix));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ForeignRoutes {
    by_prefix: HashMap<IpNetwork, Slots>,
}

impl ForeignRoutes {
    /// Note a route (again: inserting a known route changes nothing).
    pub fn insert(&mut self, key: RouteKey) {
        let slot = Slot::of(&key);
        let Some(slots) = self.by_prefix.get_mut(&key.prefix) else {
            self.by_prefix.insert(key.prefix, Slots::One(slot));
            return;
        };
        match slots {
            Slots::One(current) => {
                if *current != slot {
                    let current = *current;
                    *slots = Slots::Many(vec![current, slot]);
                }
            }
            Slots::Many(list) => {
                if !list.contains(&slot) {
                    list.push(slot);
                }
            }
        }
    }

    /// Forget a route. True when it was the last one of its prefix.
    pub fn remove(&mut self, key: &RouteKey) -> bool {
        let slot = Slot::of(key);
        let now_empty = match self.by_prefix.get_mut(&key.prefix) {
            None => return false,
            Some(Slots::One(current)) => *current == slot,
            Some(Slots::Many(list)) => {
                list.retain(|s| *s != slot);
                match list.as_slice() {
                    [] => true,
                    [last] => {
                        let last = *last;
                        self.by_prefix.insert(key.prefix, Slots::One(last));
                        false
                    }
                    _ => false,
                }
            }
        };
        if now_empty {
            self.by_prefix.remove(&key.prefix);
        }
        now_empty
    }

    /// Does any route of another protocol hold `prefix`?
    pub fn holds(&self, prefix: IpNetwork) -> bool {
        self.by_prefix.contains_key(&prefix)
    }

    /// How many prefixes are held.
    pub fn prefixes(&self) -> usize {
        self.by_prefix.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(prefix: &str, metric: u32) -> RouteKey {
        RouteKey {
            table: 254,
            prefix: prefix.parse().unwrap(),
            tos: 0,
            metric,
        }
    }

    #[test]
    fn a_prefix_is_free_only_when_its_last_route_goes() {
        let mut foreign = ForeignRoutes::default();
        foreign.insert(key("10.0.0.0/8", 0));
        foreign.insert(key("10.0.0.0/8", 100));
        foreign.insert(key("10.0.0.0/8", 100));
        assert!(!foreign.remove(&key("10.0.0.0/8", 0)));
        assert!(foreign.holds("10.0.0.0/8".parse().unwrap()));
        assert!(!foreign.remove(&key("10.0.0.0/8", 7)), "not held");
        assert!(foreign.remove(&key("10.0.0.0/8", 100)));
        assert!(!foreign.holds("10.0.0.0/8".parse().unwrap()));
        assert_eq!(foreign.prefixes(), 0);
    }

    #[test]
    fn removing_an_unknown_route_keeps_the_prefix_held() {
        let mut foreign = ForeignRoutes::default();
        foreign.insert(key("192.0.2.0/24", 5));
        assert!(!foreign.remove(&key("192.0.2.0/24", 6)));
        assert!(!foreign.remove(&key("198.51.100.0/24", 5)));
        assert!(foreign.holds("192.0.2.0/24".parse().unwrap()));
        let mut other_table = key("192.0.2.0/24", 5);
        other_table.table = 100;
        assert!(!foreign.remove(&other_table));
        assert!(foreign.remove(&key("192.0.2.0/24", 5)));
    }

    #[test]
    fn three_routes_shrink_back_to_one() {
        let mut foreign = ForeignRoutes::default();
        for metric in [1, 2, 3] {
            foreign.insert(key("2001:db8::/32", metric));
        }
        assert!(!foreign.remove(&key("2001:db8::/32", 2)));
        assert!(!foreign.remove(&key("2001:db8::/32", 1)));
        assert!(foreign.remove(&key("2001:db8::/32", 3)));
        assert_eq!(foreign.prefixes(), 0);
    }
}
