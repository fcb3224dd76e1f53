//! The agent's translations, as pure functions: kernel changes to
//! originations and withdrawals, and best paths to kernel next hops.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::IpAddr;

use bgp_proto::attribute::{AsPath, NextHop, Origin, PathAttribute};
use bgp_proto::iana::AfiSafi;
use bgp_speaker::{Path, PathAttrs, PeerId};
use ipnetwork::IpNetwork;

use super::config::AgentConfig;
use crate::kernel::route::{KernelRoute, RouteChange, RouteKey};
use crate::kernel::select::Selection;

/// What to tell the speaker about a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// Start advertising it.
    Originate(IpNetwork),
    /// Stop advertising it.
    Withdraw(IpNetwork),
}

/// The selected kernel routes, by prefix: a prefix is advertised while at
/// least one selected route (any table, any metric) has it.
///
/// Most prefixes have one selected route, so each holds its keys inline
/// ([`RouteKeys`]): no set allocation per prefix (with 100,000 kernel
/// routes, a `HashSet` per prefix was 60 MB of the agent's peak).
#[derive(Debug, Default)]
pub struct Exports {
    by_prefix: HashMap<IpNetwork, RouteKeys>,
}

/// The selected routes of one prefix: one inline, or several in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RouteKeys {
    One(RouteKey),
    Many(Vec<RouteKey>),
}

impl RouteKeys {
    /// Add `key`; true if it was not there.
    fn insert(&mut self, key: RouteKey) -> bool {
        match self {
            RouteKeys::One(one) if *one == key => false,
            RouteKeys::One(one) => {
                *self = RouteKeys::Many(vec![*one, key]);
                true
            }
            RouteKeys::Many(keys) if keys.contains(&key) => false,
            RouteKeys::Many(keys) => {
                keys.push(key);
                true
            }
        }
    }

    /// Remove `key`: `None` if it was not there, else whether any is left.
    fn remove(&mut self, key: &RouteKey) -> Option<bool> {
        match self {
            RouteKeys::One(one) => (*one == *key).then_some(false),
            RouteKeys::Many(keys) => {
                let at = keys.iter().position(|k| k == key)?;
                keys.swap_remove(at);
                if let [last] = keys[..] {
                    *self = RouteKeys::One(last);
                }
                Some(true)
            }
        }
    }
}

impl Exports {
    /// Account for one kernel change.
    pub fn apply(&mut self, selection: &Selection, change: &RouteChange) -> Option<Export> {
        self.apply_selected(selection.selects(change.route()), change)
    }

    /// Account for one kernel change of the agent's configuration
    /// ([`AgentConfig::exports`]).
    pub fn apply_config(&mut self, config: &AgentConfig, change: &RouteChange) -> Option<Export> {
        self.apply_selected(config.exports(change.route()), change)
    }

    /// Account for a route that is in the kernel (as its upsert would),
    /// without making a change of it.
    pub fn add_config(&mut self, config: &AgentConfig, route: &KernelRoute) {
        if !config.exports(route) {
            return;
        }
        match self.by_prefix.entry(route.key.prefix) {
            Entry::Occupied(mut keys) => {
                keys.get_mut().insert(route.key);
            }
            Entry::Vacant(slot) => {
                slot.insert(RouteKeys::One(route.key));
            }
        }
    }

    /// Account for one kernel change whose route is `selects` or not.
    fn apply_selected(&mut self, selects: bool, change: &RouteChange) -> Option<Export> {
        let route = change.route();
        let prefix = route.key.prefix;
        let selected = matches!(change, RouteChange::Upsert(_)) && selects;
        if selected {
            return match self.by_prefix.entry(prefix) {
                Entry::Occupied(mut keys) => {
                    keys.get_mut().insert(route.key);
                    None
                }
                Entry::Vacant(slot) => {
                    slot.insert(RouteKeys::One(route.key));
                    Some(Export::Originate(prefix))
                }
            };
        }
        // Removed, or changed so that it is no longer selected.
        let keys = self.by_prefix.get_mut(&prefix)?;
        if keys.remove(&route.key)? {
            return None;
        }
        self.by_prefix.remove(&prefix);
        Some(Export::Withdraw(prefix))
    }

    /// The advertised prefixes.
    pub fn prefixes(&self) -> impl Iterator<Item = &IpNetwork> {
        self.by_prefix.keys()
    }

    /// Is `prefix` advertised?
    pub fn contains(&self, prefix: IpNetwork) -> bool {
        self.by_prefix.contains_key(&prefix)
    }

    /// How many prefixes are advertised.
    pub fn len(&self) -> usize {
        self.by_prefix.len()
    }

    /// Nothing advertised?
    pub fn is_empty(&self) -> bool {
        self.by_prefix.is_empty()
    }
}

/// The family of a prefix.
pub fn family_of(prefix: IpNetwork) -> AfiSafi {
    match prefix {
        IpNetwork::V4(_) => AfiSafi::IPV4_UNICAST,
        IpNetwork::V6(_) => AfiSafi::IPV6_UNICAST,
    }
}

/// The attributes of a route the node originates: ORIGIN IGP, an empty
/// AS_PATH (RFC 4271 section 5.1.2, towards iBGP peers), and the node's
/// address of the prefix's family as next hop. `None` when the node has
/// no address of that family.
pub fn origination(config: &AgentConfig, prefix: IpNetwork) -> Option<PathAttrs> {
    let next_hop = match prefix {
        IpNetwork::V4(_) => NextHop::V4(config.node_v4?),
        IpNetwork::V6(_) => NextHop::V6 {
            global: config.node_v6?,
            link_local: None,
        },
    };
    Some(PathAttrs {
        next_hop,
        attributes: vec![
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::default()),
        ],
    })
}

/// The address a path's next hop names (the global one for IPv6).
pub fn next_hop_address(next_hop: &NextHop) -> Option<IpAddr> {
    match next_hop {
        NextHop::V4(v4) => Some(IpAddr::V4(*v4)),
        NextHop::V6 { global, .. } => Some(IpAddr::V6(*global)),
        NextHop::Raw(_) => None,
    }
}

/// The kernel next hops for a prefix whose best path is `best` with the
/// equal-cost set `multipath`: empty when nothing is to be installed (no
/// path, or the best path is our own origination, or every next hop is
/// one of our addresses).
pub fn gateways(config: &AgentConfig, best: Option<&Path>, multipath: &[Path]) -> Vec<IpAddr> {
    let Some(best) = best else {
        return Vec::new();
    };
    if best.peer == PeerId::LOCAL {
        return Vec::new();
    }
    let paths: &[Path] = if multipath.is_empty() {
        std::slice::from_ref(best)
    } else {
        multipath
    };
    let mut gateways: Vec<IpAddr> = paths
        .iter()
        .filter(|p| p.peer != PeerId::LOCAL)
        .filter_map(|p| next_hop_address(&p.attrs.next_hop))
        .filter(|a| !config.is_own_address(*a))
        .collect();
    gateways.sort();
    gateways.dedup();
    gateways
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::route::RouteKind;
    use crate::kernel::select::SelectRule;
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    fn route(prefix: &str, metric: u32, protocol: u8) -> KernelRoute {
        KernelRoute {
            key: RouteKey {
                table: 254,
                prefix: prefix.parse().unwrap(),
                tos: 0,
                metric,
            },
            protocol,
            kind: RouteKind::Unicast,
            scope: 0,
            next_hops: Vec::new(),
        }
    }

    fn path(peer: u32, next_hop: [u8; 4]) -> Path {
        Path {
            peer: PeerId(peer),
            path_id: 0,
            attrs: Arc::new(PathAttrs {
                next_hop: NextHop::V4(Ipv4Addr::from(next_hop)),
                attributes: vec![],
            }),
            stale: false,
        }
    }

    fn config() -> AgentConfig {
        AgentConfig::new("a", 64512, Ipv4Addr::new(192, 0, 2, 11))
    }

    #[test]
    fn a_prefix_is_advertised_while_one_selected_route_has_it() {
        let selection = Selection {
            pools: vec![],
            rules: vec![SelectRule::main_unicast()],
        };
        let mut exports = Exports::default();
        let p: IpNetwork = "10.1.0.0/24".parse().unwrap();
        let a = route("10.1.0.0/24", 0, 4);
        let b = route("10.1.0.0/24", 100, 3);
        assert_eq!(
            exports.apply(&selection, &RouteChange::Upsert(a.clone())),
            Some(Export::Originate(p))
        );
        assert_eq!(
            exports.apply(&selection, &RouteChange::Upsert(b.clone())),
            None
        );
        assert_eq!(exports.apply(&selection, &RouteChange::Removed(a)), None);
        // Changed into something not selected (our own protocol).
        assert_eq!(
            exports.apply(
                &selection,
                &RouteChange::Upsert(route("10.1.0.0/24", 100, 186))
            ),
            Some(Export::Withdraw(p))
        );
        assert!(exports.is_empty());
        assert_eq!(exports.apply(&selection, &RouteChange::Removed(b)), None);
    }

    #[test]
    fn originations_carry_the_node_address() {
        let attrs = origination(&config(), "10.1.0.0/24".parse().unwrap()).unwrap();
        assert_eq!(attrs.next_hop, NextHop::V4(Ipv4Addr::new(192, 0, 2, 11)));
        assert_eq!(attrs.origin(), Origin::Igp);
        assert!(attrs.as_path().segments.is_empty());
        assert!(origination(&config(), "2001:db8::/64".parse().unwrap()).is_none());
    }

    #[test]
    fn gateways_skip_our_own_paths_and_merge_multipath() {
        let c = config();
        let local = path(0, [192, 0, 2, 11]);
        assert!(gateways(&c, Some(&local), std::slice::from_ref(&local)).is_empty());
        assert!(gateways(&c, None, &[]).is_empty());
        let x = path(1, [192, 0, 2, 12]);
        let y = path(2, [192, 0, 2, 13]);
        let x_again = path(2, [192, 0, 2, 12]);
        assert_eq!(
            gateways(&c, Some(&x), &[]),
            vec!["192.0.2.12".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(gateways(&c, Some(&x), &[x.clone(), y.clone()]).len(), 2);
        assert_eq!(
            gateways(&c, Some(&x), &[x.clone(), x_again]).len(),
            1,
            "same next hop via two reflectors"
        );
        let mine = path(1, [192, 0, 2, 11]);
        assert!(gateways(&c, Some(&mine), &[]).is_empty(), "our own address");
    }
}
