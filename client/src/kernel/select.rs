//! Which kernel routes a node advertises.
//!
//! A route is advertised when all of these hold:
//! - its protocol is not [`RTPROT_BGP`] (186): a route Reflex installed is
//!   never advertised again, whatever the rules say;
//! - its prefix lies within one of the [`Selection::pools`] (Calico's IP
//!   pools), when pools are configured;
//! - at least one [`SelectRule`] matches it. A rule matches when each of
//!   its non-empty lists contains the route's value (empty lists match
//!   anything), so rules are ORed and their conditions ANDed.
//!
//! Calico's node agent, for example, advertises the blackhole routes of
//! its address blocks and the routes to its workloads' `cali*` veths:
//! ```
//! use bgp_client::kernel::select::{SelectRule, Selection};
//! use bgp_client::kernel::route::RouteKind;
//!
//! let selection = Selection {
//!     pools: vec!["10.65.0.0/16".parse().unwrap()],
//!     rules: vec![
//!         SelectRule { kinds: vec![RouteKind::Blackhole], ..SelectRule::default() },
//!         SelectRule { interfaces: vec!["cali*".into()], ..SelectRule::default() },
//!     ],
//! };
//! assert!(selection.rules[1].interfaces[0].starts_with("cali"));
//! ```

use ipnetwork::IpNetwork;

use crate::kernel::route::{KernelRoute, RT_TABLE_MAIN, RTPROT_BGP, RouteKind};

/// One way a route can be selected.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SelectRule {
    /// Tables the route may be in.
    pub tables: Vec<u32>,
    /// Protocols (`rtm_protocol`) it may have.
    pub protocols: Vec<u8>,
    /// Output interface name patterns (glob: `*` any run, `?` one
    /// character); one next hop's interface must match.
    pub interfaces: Vec<String>,
    /// Route types it may have.
    pub kinds: Vec<RouteKind>,
    /// Prefix lengths (inclusive range) it may have.
    pub prefix_lengths: Option<(u8, u8)>,
}

impl SelectRule {
    /// Unicast routes of the main table, any protocol, any interface.
    pub fn main_unicast() -> Self {
        SelectRule {
            tables: vec![RT_TABLE_MAIN],
            kinds: vec![RouteKind::Unicast],
            ..SelectRule::default()
        }
    }

    /// Does the rule match `route`?
    pub fn matches(&self, route: &KernelRoute) -> bool {
        (self.tables.is_empty() || self.tables.contains(&route.key.table))
            && (self.protocols.is_empty() || self.protocols.contains(&route.protocol))
            && (self.kinds.is_empty() || self.kinds.contains(&route.kind))
            && self
                .prefix_lengths
                .is_none_or(|(min, max)| (min..=max).contains(&route.key.prefix.prefix()))
            && (self.interfaces.is_empty()
                || route.next_hops.iter().any(|hop| {
                    hop.ifname
                        .as_deref()
                        .is_some_and(|name| self.interfaces.iter().any(|p| glob(p, name)))
                }))
    }
}

/// The whole export selection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    /// Only prefixes inside these are advertised; empty: no such limit.
    pub pools: Vec<IpNetwork>,
    /// The rules; empty: nothing is advertised.
    pub rules: Vec<SelectRule>,
}

/// Why a route is or is not advertised ([`Selection::verdict`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Selected by the rule of this index (the first that matches).
    Selected(usize),
    /// Protocol 186: a route Reflex installed.
    OwnProtocol,
    /// Outside every pool.
    OutsidePools,
    /// No rule matches it.
    NoRule,
}

impl Verdict {
    /// Selected?
    pub fn is_selected(&self) -> bool {
        matches!(self, Verdict::Selected(_))
    }
}

impl Selection {
    /// Why `route` is or is not advertised; selected exactly when
    /// [`Selection::selects`] is true.
    pub fn verdict(&self, route: &KernelRoute) -> Verdict {
        if route.protocol == RTPROT_BGP {
            return Verdict::OwnProtocol;
        }
        if !self.pools.is_empty()
            && !self
                .pools
                .iter()
                .any(|pool| within(route.key.prefix, *pool))
        {
            return Verdict::OutsidePools;
        }
        match self.rules.iter().position(|rule| rule.matches(route)) {
            Some(index) => Verdict::Selected(index),
            None => Verdict::NoRule,
        }
    }

    /// Is `route` to be advertised?
    pub fn selects(&self, route: &KernelRoute) -> bool {
        route.protocol != RTPROT_BGP
            && (self.pools.is_empty()
                || self
                    .pools
                    .iter()
                    .any(|pool| within(route.key.prefix, *pool)))
            && self.rules.iter().any(|rule| rule.matches(route))
    }
}

/// Is `prefix` inside `pool` (same family, at least as long, same leading bits)?
pub fn within(prefix: IpNetwork, pool: IpNetwork) -> bool {
    prefix.is_ipv4() == pool.is_ipv4()
        && prefix.prefix() >= pool.prefix()
        && pool.contains(prefix.network())
}

/// Shell-style match of `name` against `pattern`: `*` matches any run of
/// characters (none included), `?` exactly one, anything else itself.
pub fn glob(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    // Iterative matching with one backtrack point (the last `*`).
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::route::{KernelNextHop, RouteKey};

    fn route(prefix: &str, protocol: u8, kind: RouteKind, ifname: Option<&str>) -> KernelRoute {
        KernelRoute {
            key: RouteKey {
                table: RT_TABLE_MAIN,
                prefix: prefix.parse().unwrap(),
                tos: 0,
                metric: 0,
            },
            protocol,
            kind,
            scope: 0,
            next_hops: ifname
                .map(|name| {
                    vec![KernelNextHop {
                        gateway: None,
                        ifindex: Some(3),
                        ifname: Some(name.into()),
                        weight: 1,
                    }]
                })
                .unwrap_or_default(),
        }
    }

    fn calico() -> Selection {
        Selection {
            pools: vec![
                "10.65.0.0/16".parse().unwrap(),
                "fd00:65::/48".parse().unwrap(),
            ],
            rules: vec![
                SelectRule {
                    kinds: vec![RouteKind::Blackhole],
                    ..SelectRule::default()
                },
                SelectRule {
                    interfaces: vec!["cali*".into()],
                    kinds: vec![RouteKind::Unicast],
                    ..SelectRule::default()
                },
            ],
        }
    }

    #[test]
    fn calico_blocks_and_workloads_are_selected() {
        let s = calico();
        assert!(s.selects(&route("10.65.1.0/26", 3, RouteKind::Blackhole, None)));
        assert!(s.selects(&route(
            "10.65.1.5/32",
            3,
            RouteKind::Unicast,
            Some("cali12ab")
        )));
        assert!(s.selects(&route(
            "fd00:65::5/128",
            3,
            RouteKind::Unicast,
            Some("cali1")
        )));
        assert!(!s.selects(&route("10.65.1.5/32", 3, RouteKind::Unicast, Some("eth0"))));
        assert!(
            !s.selects(&route("10.66.1.0/26", 3, RouteKind::Blackhole, None)),
            "outside the pools"
        );
        assert!(
            !s.selects(&route("10.0.0.0/8", 3, RouteKind::Blackhole, None)),
            "wider than the pool"
        );
    }

    #[test]
    fn verdicts_name_the_first_matching_rule_or_the_reason() {
        let s = calico();
        let cases = [
            (
                route("10.65.1.0/26", 3, RouteKind::Blackhole, None),
                Verdict::Selected(0),
            ),
            (
                route("10.65.1.5/32", 3, RouteKind::Unicast, Some("cali1")),
                Verdict::Selected(1),
            ),
            (
                route("10.65.1.5/32", 3, RouteKind::Unicast, Some("eth0")),
                Verdict::NoRule,
            ),
            (
                route("10.66.1.0/26", 3, RouteKind::Blackhole, None),
                Verdict::OutsidePools,
            ),
            (
                route("10.65.1.0/26", RTPROT_BGP, RouteKind::Blackhole, None),
                Verdict::OwnProtocol,
            ),
        ];
        for (r, verdict) in cases {
            assert_eq!(s.verdict(&r), verdict, "{}", r.key.prefix);
            assert_eq!(s.verdict(&r).is_selected(), s.selects(&r));
        }
    }

    #[test]
    fn our_own_protocol_is_never_selected() {
        let mut s = calico();
        s.rules.push(SelectRule::default());
        s.pools.clear();
        assert!(s.selects(&route("10.65.1.0/26", 4, RouteKind::Unicast, None)));
        assert!(!s.selects(&route("10.65.1.0/26", RTPROT_BGP, RouteKind::Unicast, None)));
    }

    #[test]
    fn tables_protocols_and_lengths_narrow_a_rule() {
        let rule = SelectRule {
            tables: vec![100],
            protocols: vec![4],
            prefix_lengths: Some((24, 32)),
            ..SelectRule::default()
        };
        let mut r = route("10.1.0.0/24", 4, RouteKind::Unicast, None);
        assert!(!rule.matches(&r), "main table");
        r.key.table = 100;
        assert!(rule.matches(&r));
        r.protocol = 2;
        assert!(!rule.matches(&r), "kernel protocol");
        r.protocol = 4;
        r.key.prefix = "10.0.0.0/16".parse().unwrap();
        assert!(!rule.matches(&r), "too short");
        assert!(!SelectRule::main_unicast().matches(&route(
            "10.0.0.0/8",
            4,
            RouteKind::Blackhole,
            None
        )));
    }

    #[test]
    fn globs() {
        assert!(glob("cali*", "cali0123"));
        assert!(glob("cali*", "cali"));
        assert!(!glob("cali*", "xcali"));
        assert!(glob("*", ""));
        assert!(glob("v?th*x", "veth12x"));
        assert!(glob("*a*b", "xxaxxb"));
        assert!(!glob("*a*b", "xxaxxbc"));
        assert!(glob("eth0", "eth0"));
        assert!(!glob("eth0", "eth01"));
    }
}
