//! The reader's picture of the kernel: links and routes, what each
//! rtnetlink notification does to it, and the net changes between two
//! pictures. Pure code, no sockets.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};

use crate::kernel::route::{
    DecodeRouteError, KernelRoute, LinkNames, RouteChange, RouteKey, decode_route,
};

/// The interfaces: names (for output-interface patterns) and which are up.
#[derive(Debug, Default, Clone)]
pub(crate) struct Links {
    pub(crate) names: LinkNames,
    up: HashMap<u32, bool>,
}

impl Links {
    /// Record a link from `RTM_NEWLINK` (or a link dump). Returns why
    /// the routes through it may have changed without notice: it was
    /// renamed (they now match other interface patterns) or went
    /// administratively down (IPv4 flushes the routes of a downed link
    /// without sending `RTM_DELROUTE`: `fib_sync_down_dev` and
    /// `fib_flush` in `net/ipv4/fib_semantics.c`).
    pub(crate) fn update(&mut self, link: &LinkMessage) -> Option<&'static str> {
        let index = link.header.index;
        let up = link.header.flags.contains(LinkFlags::Up);
        let name = link.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(name) => Some(name.clone()),
            _ => None,
        });
        let mut why = None;
        if let Some(name) = name {
            match self.names.insert(index, name.clone()) {
                Some(old) if old != name => why = Some("link renamed"),
                _ => {}
            }
        }
        if let Some(true) = self.up.insert(index, up) {
            if !up {
                why = Some("link down");
            }
        }
        why
    }

    /// Forget a link (`RTM_DELLINK`).
    pub(crate) fn remove(&mut self, index: u32) {
        self.names.remove(&index);
        self.up.remove(&index);
    }
}

/// What one notification does to the routes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// A route is new or changed.
    Upsert(KernelRoute),
    /// A route is gone.
    Remove(KernelRoute),
    /// Only a fresh dump can say what the kernel holds now.
    Resync(&'static str),
    /// A link was renamed, went down or away: a fresh dump is needed if
    /// any route goes through it (a veth moved into a pod's namespace,
    /// Calico's every pod start, has none).
    Link {
        /// Its index.
        index: u32,
        /// What happened.
        why: &'static str,
    },
    /// Nothing that concerns routes.
    None,
    /// A route message that could not be decoded (and is ignored).
    Undecodable(DecodeRouteError),
}

/// Interpret one rtnetlink notification, updating `links`.
pub(crate) fn effect_of(links: &mut Links, message: &RouteNetlinkMessage) -> Effect {
    match message {
        RouteNetlinkMessage::NewRoute(route) => match decode_route(route, &links.names) {
            Ok(route) => Effect::Upsert(route),
            Err(e) => Effect::Undecodable(e),
        },
        RouteNetlinkMessage::DelRoute(route) => match decode_route(route, &links.names) {
            Ok(route) => Effect::Remove(route),
            Err(e) => Effect::Undecodable(e),
        },
        RouteNetlinkMessage::NewLink(link) => match links.update(link) {
            Some(why) => Effect::Link {
                index: link.header.index,
                why,
            },
            None => Effect::None,
        },
        RouteNetlinkMessage::DelLink(link) => {
            links.remove(link.header.index);
            Effect::Link {
                index: link.header.index,
                why: "link deleted",
            }
        }
        // Routes through a removed address's subnet go without notice
        // (`fib_sync_down_addr`).
        RouteNetlinkMessage::DelAddress(_) => Effect::Resync("address deleted"),
        _ => Effect::None,
    }
}

/// Does deleting `removed` leave part of `current` behind? An IPv6
/// multipath route loses one member at a time (`ip -6 route del ... via
/// X` on an ECMP route, `fib6_del` of one sibling), and the notification
/// carries only that member.
pub(crate) fn is_partial_delete(current: &KernelRoute, removed: &KernelRoute) -> bool {
    current.key.prefix.is_ipv6()
        && current.next_hops.len() > 1
        && !removed.next_hops.is_empty()
        && removed.next_hops.len() < current.next_hops.len()
}

/// Changes collected during one coalescing window: the latest state of
/// each route key (`None`: removed).
#[derive(Debug, Default)]
pub(crate) struct Pending {
    latest: HashMap<RouteKey, Option<KernelRoute>>,
}

impl Pending {
    /// Record an effect; false when it asks for a resynchronisation.
    pub(crate) fn record(
        &mut self,
        cache: &RouteCache,
        effect: Effect,
    ) -> Result<(), &'static str> {
        match effect {
            Effect::Upsert(route) => {
                self.latest.insert(route.key, Some(route));
            }
            Effect::Remove(route) => {
                let routes = cache.read();
                let current = match self.latest.get(&route.key) {
                    Some(latest) => latest.as_ref(),
                    None => routes.get(&route.key),
                };
                if current.is_some_and(|c| is_partial_delete(c, &route)) {
                    return Err("one member of a multipath route deleted");
                }
                self.latest.insert(route.key, None);
            }
            Effect::Resync(why) => return Err(why),
            Effect::Link { index, why } => {
                let through =
                    |r: &KernelRoute| r.next_hops.iter().any(|h| h.ifindex == Some(index));
                if cache.read().values().any(through) || self.latest.values().flatten().any(through)
                {
                    return Err(why);
                }
            }
            Effect::None | Effect::Undecodable(_) => {}
        }
        Ok(())
    }

    /// Nothing collected?
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.latest.is_empty()
    }

    /// Forget everything collected (a resynchronisation supersedes it).
    pub(crate) fn clear(&mut self) {
        self.latest.clear();
    }
}

/// The kernel's routes as the reader last reported them, shared with the
/// agent (one copy of every route, not one per task; the agent reads it
/// for the API and to apply a new export selection).
pub type SharedRoutes = Arc<RwLock<HashMap<RouteKey, KernelRoute>>>;

/// The routes as last reported to the reader's caller.
#[derive(Debug, Default)]
pub(crate) struct RouteCache {
    pub(crate) routes: SharedRoutes,
}

/// A read guard that survives a poisoned lock (the table is replaced
/// whole or changed entry by entry, so it is consistent either way).
pub fn read(routes: &SharedRoutes) -> RwLockReadGuard<'_, HashMap<RouteKey, KernelRoute>> {
    routes.read().unwrap_or_else(PoisonError::into_inner)
}

impl RouteCache {
    /// The routes, for reading.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, HashMap<RouteKey, KernelRoute>> {
        read(&self.routes)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<RouteKey, KernelRoute>> {
        self.routes.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Apply a window's changes; the net changes, sorted by key.
    pub(crate) fn apply(&mut self, pending: &mut Pending) -> Vec<RouteChange> {
        let mut changes = Vec::new();
        let mut routes = self.write();
        for (key, latest) in pending.latest.drain() {
            match latest {
                Some(route) => {
                    if routes.get(&key) != Some(&route) {
                        routes.insert(key, route.clone());
                        changes.push(RouteChange::Upsert(route));
                    }
                }
                None => {
                    if let Some(old) = routes.remove(&key) {
                        changes.push(RouteChange::Removed(old));
                    }
                }
            }
        }
        changes.sort_by_key(|c| c.route().key);
        changes
    }

    /// Replace the whole picture by `target` (a dump); the net changes,
    /// sorted by key.
    ///
    /// Routes that left are moved out of the old picture into the change
    /// list, not cloned; only new or changed routes are cloned (one copy
    /// in the picture, one handed on).
    pub(crate) fn replace(&mut self, target: HashMap<RouteKey, KernelRoute>) -> Vec<RouteChange> {
        let mut routes = self.write();
        let mut old = std::mem::replace(&mut *routes, target);
        let mut changes = Vec::new();
        for (key, new) in routes.iter() {
            match old.remove(key) {
                Some(previous) if previous == *new => {}
                _ => changes.push(RouteChange::Upsert(new.clone())),
            }
        }
        changes.extend(old.into_values().map(RouteChange::Removed));
        changes.sort_unstable_by_key(|c| c.route().key);
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::route::{KernelNextHop, RouteKind};
    use std::net::IpAddr;

    fn route(prefix: &str, gateways: &[&str]) -> KernelRoute {
        KernelRoute {
            key: RouteKey {
                table: 254,
                prefix: prefix.parse().unwrap(),
                tos: 0,
                metric: 0,
            },
            protocol: 4,
            kind: RouteKind::Unicast,
            scope: 0,
            next_hops: gateways
                .iter()
                .map(|g| KernelNextHop {
                    gateway: Some(g.parse::<IpAddr>().unwrap()),
                    ifindex: None,
                    ifname: None,
                    weight: 1,
                })
                .collect(),
        }
    }

    #[test]
    fn a_window_reports_only_net_changes() {
        let mut cache = RouteCache::default();
        let mut pending = Pending::default();
        let a = route("10.0.1.0/24", &["192.0.2.1"]);
        let b = route("10.0.2.0/24", &["192.0.2.1"]);
        pending.record(&cache, Effect::Upsert(a.clone())).unwrap();
        pending.record(&cache, Effect::Upsert(b.clone())).unwrap();
        pending.record(&cache, Effect::Remove(b.clone())).unwrap();
        assert_eq!(
            cache.apply(&mut pending),
            vec![RouteChange::Upsert(a.clone())]
        );
        // The same contents again is no change; a removal of an unknown
        // route neither.
        pending.record(&cache, Effect::Upsert(a.clone())).unwrap();
        pending.record(&cache, Effect::Remove(b)).unwrap();
        assert!(cache.apply(&mut pending).is_empty());
        assert!(pending.is_empty());
    }

    #[test]
    fn replacing_the_picture_diffs_it() {
        let mut cache = RouteCache::default();
        let a = route("10.0.1.0/24", &["192.0.2.1"]);
        let b = route("10.0.2.0/24", &["192.0.2.1"]);
        let b2 = route("10.0.2.0/24", &["192.0.2.2"]);
        let c = route("10.0.3.0/24", &["192.0.2.1"]);
        cache.replace(HashMap::from([(a.key, a.clone()), (b.key, b.clone())]));
        let changes = cache.replace(HashMap::from([(b2.key, b2.clone()), (c.key, c.clone())]));
        assert_eq!(
            changes,
            vec![
                RouteChange::Removed(a),
                RouteChange::Upsert(b2),
                RouteChange::Upsert(c)
            ]
        );
    }

    #[test]
    fn deleting_one_member_of_an_ipv6_multipath_route_asks_for_a_dump() {
        let mut cache = RouteCache::default();
        let both = route("2001:db8:1::/64", &["fe80::1", "fe80::2"]);
        cache.replace(HashMap::from([(both.key, both.clone())]));
        let mut pending = Pending::default();
        let one = route("2001:db8:1::/64", &["fe80::1"]);
        assert!(pending.record(&cache, Effect::Remove(one)).is_err());
        assert!(pending.record(&cache, Effect::Remove(both)).is_ok());
    }

    #[test]
    fn renamed_or_downed_links_ask_for_a_dump() {
        let mut links = Links::default();
        let mut link = LinkMessage::default();
        link.header.index = 4;
        link.header.flags = LinkFlags::Up;
        link.attributes = vec![LinkAttribute::IfName("cali1".into())];
        assert_eq!(links.update(&link), None);
        assert_eq!(links.names.get(&4).map(String::as_str), Some("cali1"));
        link.attributes = vec![LinkAttribute::IfName("cali2".into())];
        assert_eq!(links.update(&link), Some("link renamed"));
        link.header.flags = LinkFlags::empty();
        assert_eq!(links.update(&link), Some("link down"));
        assert_eq!(links.update(&link), None, "still down");
    }

    #[test]
    fn a_link_without_routes_goes_without_a_dump() {
        let mut with_route = route("10.0.1.0/24", &[]);
        with_route
            .next_hops
            .push(crate::kernel::route::KernelNextHop {
                gateway: None,
                ifindex: Some(7),
                ifname: Some("cali7".into()),
                weight: 1,
            });
        let mut cache = RouteCache::default();
        cache.replace(HashMap::from([(with_route.key, with_route)]));
        let mut pending = Pending::default();
        let gone = |index| Effect::Link {
            index,
            why: "link deleted",
        };
        assert!(
            pending.record(&cache, gone(8)).is_ok(),
            "no route through 8"
        );
        assert_eq!(pending.record(&cache, gone(7)), Err("link deleted"));
    }
}
