//! What a configuration reload changes, as pure functions over the old and
//! the new [`ReflectorConfig`].
//!
//! Neighbours are compared by address: new ones are added, missing ones
//! removed (Cease / Peer De-configured, RFC 4486 section 4), and changed
//! ones reset only when a field that shapes the session changed; a new
//! `description` is taken without touching the session. The speaker has no
//! way to change a running peer's options, so every session-shaping change
//! (including a policy change, which a route refresh could otherwise apply,
//! RFC 2918) means remove and add again.
//!
//! Speaker-wide settings (AS, router ID, cluster ID, listen addresses,
//! dynamic ranges, clusters, API address, logging) cannot change in a
//! running speaker; [`restart_required`] names those that differ.

use std::collections::BTreeMap;
use std::net::IpAddr;

use bgp_speaker::config::{DynamicNeighbors, PeerOptions};
use serde::{Deserialize, Serialize};

use crate::config::{NeighborPlan, ReflectorConfig};

/// A neighbour whose session is reset, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reset {
    /// The neighbour.
    pub address: IpAddr,
    /// The options that changed (`hold_time`, `import`, ...).
    pub changed: Vec<String>,
}

/// What to do with the static neighbours.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerDiff {
    /// Start these.
    pub added: Vec<IpAddr>,
    /// Stop and forget these.
    pub removed: Vec<IpAddr>,
    /// Stop and start again with the new options.
    pub reset: Vec<Reset>,
    /// Only the description changed: update it, leave the session.
    pub described: Vec<IpAddr>,
    /// Exactly as before.
    pub unchanged: Vec<IpAddr>,
}

impl PeerDiff {
    /// Nothing to do?
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.reset.is_empty()
            && self.described.is_empty()
    }
}

/// Compare two sets of neighbours.
pub fn diff(
    old: &BTreeMap<IpAddr, NeighborPlan>,
    new: &BTreeMap<IpAddr, NeighborPlan>,
) -> PeerDiff {
    let mut out = PeerDiff::default();
    for (address, before) in old {
        let Some(after) = new.get(address) else {
            out.removed.push(*address);
            continue;
        };
        let changed = changed_options(&before.peer.options, &after.peer.options);
        if !changed.is_empty() {
            out.reset.push(Reset {
                address: *address,
                changed: changed.into_iter().map(String::from).collect(),
            });
        } else if before.description != after.description {
            out.described.push(*address);
        } else {
            out.unchanged.push(*address);
        }
    }
    out.added = new
        .keys()
        .filter(|address| !old.contains_key(address))
        .copied()
        .collect();
    out
}

/// The names of the options that differ. Every field is listed (the
/// destructuring fails to compile when the speaker adds one), so no change
/// goes unnoticed.
pub fn changed_options(a: &PeerOptions, b: &PeerOptions) -> Vec<&'static str> {
    let PeerOptions {
        peer_as,
        local_as,
        families,
        hold_time,
        keepalive,
        connect_retry,
        passive,
        port,
        local_address,
        md5_password,
        ttl_security,
        route_reflector_client,
        cluster_id,
        add_path,
        add_path_send,
        graceful_restart,
        prefix_limit,
        next_hop,
        next_hop_self_v4,
        next_hop_self_v6,
        import,
        export,
    } = a;
    let mut out = Vec::new();
    let mut check = |name: &'static str, differs: bool| {
        if differs {
            out.push(name);
        }
    };
    check("asn", *peer_as != b.peer_as);
    check("local_asn", *local_as != b.local_as);
    check("families", *families != b.families);
    check("hold_time", *hold_time != b.hold_time);
    check("keepalive", *keepalive != b.keepalive);
    check("connect_retry", *connect_retry != b.connect_retry);
    check("passive", *passive != b.passive);
    check("port", *port != b.port);
    check("local_address", *local_address != b.local_address);
    check("password", *md5_password != b.md5_password);
    check("ttl_security", *ttl_security != b.ttl_security);
    check(
        "client",
        *route_reflector_client != b.route_reflector_client,
    );
    check("cluster_id", *cluster_id != b.cluster_id);
    check("add_path", *add_path != b.add_path);
    check("add_path_send", *add_path_send != b.add_path_send);
    check("graceful_restart", *graceful_restart != b.graceful_restart);
    check("prefix_limit", *prefix_limit != b.prefix_limit);
    check("next_hop", *next_hop != b.next_hop);
    check(
        "next_hop_self_ipv4",
        *next_hop_self_v4 != b.next_hop_self_v4,
    );
    check(
        "next_hop_self_ipv6",
        *next_hop_self_v6 != b.next_hop_self_v6,
    );
    check("import", *import != b.import);
    check("export", *export != b.export);
    out
}

fn dynamic_differs(a: &[DynamicNeighbors], b: &[DynamicNeighbors]) -> bool {
    a.len() != b.len()
        || a.iter().zip(b).any(|(x, y)| {
            x.prefix != y.prefix
                || x.max_peers != y.max_peers
                || !changed_options(&x.template, &y.template).is_empty()
        })
}

/// The speaker-wide settings that differ between the running and the new
/// configuration; they take effect only after a restart.
pub fn restart_required(running: &ReflectorConfig, new: &ReflectorConfig) -> Vec<&'static str> {
    let (a, b) = (&running.speaker, &new.speaker);
    let mut out = Vec::new();
    let mut check = |name: &'static str, differs: bool| {
        if differs {
            out.push(name);
        }
    };
    check("global.asn", a.local_as != b.local_as);
    check("global.router_id", a.router_id != b.router_id);
    check("global.cluster_id", a.cluster_id != b.cluster_id);
    check("global.listen", a.listen != b.listen);
    check("global.multipath", a.multipath != b.multipath);
    check("cluster", a.no_client_to_client != b.no_client_to_client);
    check(
        "dynamic",
        dynamic_differs(&a.dynamic_neighbors, &b.dynamic_neighbors),
    );
    check("api.listen", running.api != new.api);
    check("logging", running.logging != new.logging);
    out
}

/// The configuration to keep running after a reload: the new neighbours,
/// the running speaker-wide settings.
pub fn merge(running: &ReflectorConfig, new: ReflectorConfig) -> ReflectorConfig {
    ReflectorConfig {
        neighbors: new.neighbors,
        ..running.clone()
    }
}
