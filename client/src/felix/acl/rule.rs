//! One Calico policy rule -> nft rules (one per IP version it needs).

use std::collections::BTreeMap;
use std::hash::Hasher;
use std::sync::Arc;

use ipnetwork::IpNetwork;
use reflex_datastore::model::{Action, EntityRule, Port, Protocol, Rule};
use reflex_datastore::selector::Selector;

use super::AclConfig;
use super::ruleset::{AddressSet, FnvHasher, net_text, quote};
use crate::felix::input::{Endpoint, NAMESPACE_LABEL, NAMESPACE_NAME_LABEL, normalise};

/// What a rule is compiled against.
#[derive(Debug)]
pub(super) struct RuleCtx<'a> {
    /// Every endpoint (for selectors and named ports).
    pub endpoints: &'a [Arc<Endpoint>],
    /// The namespace of a `NetworkPolicy` or a namespaced profile: rule
    /// selectors without a namespace selector are limited to it.
    pub namespace: Option<&'a str>,
    /// Marks and log prefix.
    pub config: &'a AclConfig,
    /// The comment every rule gets.
    pub comment: String,
}

/// The address sets the rules refer to, by name.
pub(super) type Sets = BTreeMap<String, AddressSet>;

/// IANA protocol number of a Calico protocol.
pub fn protocol_number(protocol: &Protocol) -> Result<u8, String> {
    match protocol {
        Protocol::Number(n) => Ok(*n),
        Protocol::Name(name) => match name.to_ascii_lowercase().as_str() {
            "tcp" => Ok(6),
            "udp" => Ok(17),
            "icmp" => Ok(1),
            "icmpv6" => Ok(58),
            "sctp" => Ok(132),
            "udplite" => Ok(136),
            other => other
                .parse()
                .map_err(|_| format!("unknown protocol {name:?}")),
        },
    }
}

/// FNV-1a, 64 bits: stable names for sets and long chains.
pub fn fnv(text: &str) -> u64 {
    let mut h = FnvHasher::default();
    h.write(text.as_bytes());
    h.finish()
}

/// Networks without duplicates or networks inside others (nft refuses
/// overlapping intervals in a set), sorted.
pub fn disjoint(mut nets: Vec<IpNetwork>) -> Vec<IpNetwork> {
    nets.sort_by_key(|n| n.prefix());
    let mut kept: Vec<IpNetwork> = Vec::new();
    for net in nets {
        if !kept
            .iter()
            .any(|k| k.is_ipv4() == net.is_ipv4() && k.contains(net.ip()))
        {
            kept.push(net);
        }
    }
    kept.sort_by_key(|n| (n.ip(), n.prefix()));
    kept
}

fn parse_nets(texts: &[String]) -> Result<Vec<IpNetwork>, String> {
    texts
        .iter()
        .map(|t| {
            t.parse::<IpNetwork>()
                .or_else(|_| t.parse::<std::net::IpAddr>().map(IpNetwork::from))
                .map(normalise)
                .map_err(|_| format!("bad network {t:?}"))
        })
        .collect()
}

fn family_nets(nets: &[IpNetwork], v6: bool) -> Vec<IpNetwork> {
    disjoint(nets.iter().copied().filter(|n| n.is_ipv6() == v6).collect())
}

fn set_literal(items: &[String]) -> String {
    if items.len() == 1 {
        items[0].clone()
    } else {
        format!("{{ {} }}", items.join(", "))
    }
}

/// Which endpoints an entity's selector (or notSelector) picks, scoped
/// the way Calico scopes them: a namespace selector picks namespaces, and
/// without one a namespaced policy sees only its own namespace.
fn scoped_selector<'a>(
    entity: &EntityRule,
    selector: &str,
    ctx: &RuleCtx<'a>,
) -> Result<Option<(String, Vec<&'a Endpoint>)>, String> {
    let namespace_selector = entity.namespace_selector.trim();
    if selector.trim().is_empty() && namespace_selector.is_empty() {
        return Ok(None);
    }
    let sel = Selector::parse(selector).map_err(|e| format!("selector {selector:?}: {e}"))?;
    let ns_sel = if namespace_selector.is_empty() {
        None
    } else {
        Some(
            Selector::parse(namespace_selector)
                .map_err(|e| format!("namespaceSelector {namespace_selector:?}: {e}"))?,
        )
    };
    let scope = match (&ns_sel, ctx.namespace) {
        (Some(s), _) => format!("namespaces {s}"),
        (None, Some(ns)) => format!("namespace {ns}"),
        (None, None) => "all".to_string(),
    };
    let picked = ctx
        .endpoints
        .iter()
        .filter(|ep| match (&ns_sel, ctx.namespace) {
            (Some(s), _) => s.matches(&BTreeMap::from([(
                NAMESPACE_NAME_LABEL.to_string(),
                ep.namespace.clone(),
            )])),
            (None, Some(ns)) => ep.labels.get(NAMESPACE_LABEL).map(String::as_str) == Some(ns),
            (None, None) => true,
        })
        .filter(|ep| sel.matches(&ep.labels))
        .map(|ep| &**ep)
        .collect();
    Ok(Some((format!("{sel} in {scope}"), picked)))
}

/// The set of `picked`'s addresses of one family, registered in `sets`.
fn address_set(sets: &mut Sets, what: &str, picked: &[&Endpoint], v6: bool) -> String {
    let name = format!("{}-{:016x}", if v6 { "sel6" } else { "sel4" }, fnv(what));
    let elements = disjoint(
        picked
            .iter()
            .flat_map(|ep| ep.networks.iter().copied())
            .filter(|n| n.is_ipv6() == v6)
            .collect(),
    );
    sets.entry(name.clone()).or_insert_with(|| AddressSet {
        name: name.clone(),
        ipv6: v6,
        elements,
        comment: what.to_string(),
    });
    name
}

/// Port numbers and ranges of `ports`, named ones resolved on `picked`
/// (or every endpoint); merged and sorted. `None` when a named port is
/// nowhere defined and nothing else is left.
fn port_items(
    ports: &[Port],
    protocol: Option<u8>,
    picked: Option<&[&Endpoint]>,
    all: &[Arc<Endpoint>],
) -> Vec<(u16, u16)> {
    let mut ranges = Vec::new();
    for port in ports {
        match port {
            Port::Single(p) => ranges.push((*p, *p)),
            Port::Range(a, b) => ranges.push((*a, *b)),
            Port::Named(name) => {
                let mut add = |ep: &Endpoint| {
                    for named in &ep.ports {
                        let same_protocol = protocol_number(&named.protocol).ok() == protocol;
                        if named.name == *name && same_protocol {
                            ranges.push((named.port, named.port));
                        }
                    }
                };
                match picked {
                    Some(eps) => eps.iter().for_each(|ep| add(ep)),
                    None => all.iter().for_each(|ep| add(ep)),
                }
            }
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(u16, u16)> = Vec::new();
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(last) if u32::from(a) <= u32::from(last.1) + 1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

fn port_text(items: &[(u16, u16)]) -> String {
    let items: Vec<String> = items
        .iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    set_literal(&items)
}

/// The matches of one end (source or destination) for one IP version;
/// `None` when this end can match no packet of that version.
fn entity_matches(
    entity: &EntityRule,
    end: &str,
    v6: bool,
    protocol: Option<u8>,
    ctx: &RuleCtx<'_>,
    sets: &mut Sets,
) -> Result<Option<Vec<String>>, String> {
    let ip = if v6 { "ip6" } else { "ip" };
    let addr = format!("{ip} {end}addr");
    let port = format!("th {end}port");
    let mut out = Vec::new();
    let nets = parse_nets(&entity.nets)?;
    if !nets.is_empty() {
        let mine = family_nets(&nets, v6);
        if mine.is_empty() {
            return Ok(None);
        }
        let items: Vec<String> = mine.iter().map(net_text).collect();
        out.push(format!("{addr} {}", set_literal(&items)));
    }
    let not_nets = family_nets(&parse_nets(&entity.not_nets)?, v6);
    if !not_nets.is_empty() {
        let items: Vec<String> = not_nets.iter().map(net_text).collect();
        out.push(format!("{addr} != {}", set_literal(&items)));
    }
    let picked = scoped_selector(entity, &entity.selector, ctx)?;
    if let Some((what, eps)) = &picked {
        out.push(format!("{addr} @{}", address_set(sets, what, eps, v6)));
    }
    if !entity.not_selector.trim().is_empty() {
        let not = EntityRule {
            namespace_selector: entity.namespace_selector.clone(),
            ..EntityRule::default()
        };
        if let Some((what, eps)) = scoped_selector(&not, &entity.not_selector, ctx)? {
            out.push(format!("{addr} != @{}", address_set(sets, &what, &eps, v6)));
        }
    }
    let ported = !entity.ports.is_empty() || !entity.not_ports.is_empty();
    if ported && !matches!(protocol, Some(6 | 17 | 132 | 136)) {
        return Err("ports need protocol TCP, UDP, SCTP or UDPLite".into());
    }
    let picked_eps = picked.as_ref().map(|(_, eps)| eps.as_slice());
    if !entity.ports.is_empty() {
        let items = port_items(&entity.ports, protocol, picked_eps, ctx.endpoints);
        if items.is_empty() {
            return Ok(None);
        }
        out.push(format!("{port} {}", port_text(&items)));
    }
    if !entity.not_ports.is_empty() {
        let items = port_items(&entity.not_ports, protocol, picked_eps, ctx.endpoints);
        if !items.is_empty() {
            out.push(format!("{port} != {}", port_text(&items)));
        }
    }
    Ok(Some(out))
}

/// The statement and verdict of an action.
pub fn action_text(action: Action, config: &AclConfig) -> String {
    match action {
        Action::Allow => format!("meta mark set meta mark | {:#x} return", config.mark_accept),
        Action::Pass => format!("meta mark set meta mark | {:#x} return", config.mark_pass),
        Action::Deny => "drop".into(),
        Action::Log => format!("log prefix {}", quote(&config.log_prefix)),
    }
}

/// Compile `rule`; an error is a rule Reflex cannot enforce (it is left
/// out, with a warning).
pub(super) fn compile_rule(
    rule: &Rule,
    ctx: &RuleCtx<'_>,
    sets: &mut Sets,
) -> Result<Vec<String>, String> {
    if rule.extra.contains_key("http") {
        return Err("http matches are not supported".into());
    }
    for (end, entity) in [("source", &rule.source), ("destination", &rule.destination)] {
        if let Some(key) = entity.extra.keys().next() {
            return Err(format!("{end}.{key} is not supported"));
        }
    }
    let protocol = rule.protocol.as_ref().map(protocol_number).transpose()?;
    let not_protocol = rule
        .not_protocol
        .as_ref()
        .map(protocol_number)
        .transpose()?;
    let mut versions = vec![false, true]; // v6?
    match rule.ip_version {
        None => {}
        Some(4) => versions.retain(|v6| !v6),
        Some(6) => versions.retain(|v6| *v6),
        Some(other) => return Err(format!("bad ipVersion {other}")),
    }
    match protocol {
        Some(1) => versions.retain(|v6| !v6),
        Some(58) => versions.retain(|v6| *v6),
        _ => {}
    }
    if (rule.icmp.is_some() || rule.not_icmp.is_some()) && !matches!(protocol, Some(1 | 58)) {
        return Err("icmp and notICMP need protocol ICMP or ICMPv6".into());
    }
    let family_specific = |e: &EntityRule| {
        !e.nets.is_empty()
            || !e.not_nets.is_empty()
            || !e.selector.trim().is_empty()
            || !e.not_selector.trim().is_empty()
            || !e.namespace_selector.trim().is_empty()
    };
    let per_family = family_specific(&rule.source) || family_specific(&rule.destination);
    let both = versions.len() == 2 && !per_family;
    let verdict = action_text(rule.action, ctx.config);
    let mut out = Vec::new();
    for v6 in versions.clone() {
        let mut parts = Vec::new();
        if !both {
            parts.push(format!("meta nfproto {}", if v6 { "ipv6" } else { "ipv4" }));
        }
        if let Some(p) = protocol {
            parts.push(format!("meta l4proto {p}"));
        }
        if let Some(p) = not_protocol {
            parts.push(format!("meta l4proto != {p}"));
        }
        let icmp = if v6 { "icmpv6" } else { "icmp" };
        if let Some(f) = rule.icmp {
            match (f.icmp_type, f.code) {
                (Some(t), Some(c)) => parts.push(format!("{icmp} type {t} {icmp} code {c}")),
                (Some(t), None) => parts.push(format!("{icmp} type {t}")),
                (None, Some(_)) => return Err("an ICMP code needs a type".into()),
                (None, None) => {}
            }
        }
        if let Some(f) = rule.not_icmp {
            match (f.icmp_type, f.code) {
                (Some(t), Some(c)) => {
                    parts.push(format!("{icmp} type . {icmp} code != {{ {t} . {c} }}"))
                }
                (Some(t), None) => parts.push(format!("{icmp} type != {t}")),
                (None, Some(_)) => return Err("an ICMP code needs a type".into()),
                (None, None) => {}
            }
        }
        let Some(src) = entity_matches(&rule.source, "s", v6, protocol, ctx, sets)? else {
            continue;
        };
        let Some(dst) = entity_matches(&rule.destination, "d", v6, protocol, ctx, sets)? else {
            continue;
        };
        parts.extend(src);
        parts.extend(dst);
        parts.push(verdict.clone());
        parts.push(format!("comment {}", quote(&ctx.comment)));
        out.push(parts.join(" "));
        if both {
            break;
        }
    }
    Ok(out)
}
