//! From a [`Snapshot`] of Calico's resources to the neighbours the reflector
//! runs, as a pure function: the reflector's own `Node` gives the AS, the
//! cluster ID (`spec.bgp.routeReflectorClusterID`), the router ID (its IPv4
//! address, unless one is configured) and the BGP port (`listenPort`);
//! [`reflex_datastore::peering::peerings`] gives the sessions, which become
//! [`NeighborPlan`]s on top of the file's own neighbours.
//!
//! Sessions with route-reflector clients are passive: the clients connect.
//!
//! The result is a whole [`ReflectorConfig`], so a change goes through the
//! same [`crate::reload`] diff as a file reload: added peers start, removed
//! ones stop, changed ones reset, the rest stay untouched.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bgp_proto::session::PeerAs;
use bgp_speaker::config::NextHopMode;
use bgp_speaker::policy::Policy;
use reflex_datastore::Snapshot;
use reflex_datastore::model::NextHopMode as CalicoNextHop;
use reflex_datastore::peering::{self, Peering, PeeringOrigin};

use crate::config::router_id::RouterIdSource;
use crate::config::schema::{ConfigFile, PeerSettings};
use crate::config::validate::MAX_RESTART_TIME;
use crate::config::{NeighborPlan, ReflectorConfig, convert, convert::peer_options};

/// Why no configuration could be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeriveError {
    /// Our `Node` resource does not exist.
    #[error("no Node resource named {0:?} in the datastore")]
    NoNode(String),
    /// Our `Node` has no `spec.bgp`.
    #[error("Node {0:?} has no spec.bgp (no BGP addresses)")]
    NoBgp(String),
}

/// A derived configuration.
#[derive(Debug, Clone)]
pub struct Derived {
    /// What to run.
    pub config: ReflectorConfig,
    /// Where the router ID came from.
    pub router_id: RouterIdSource,
    /// Peerings from the datastore that became neighbours.
    pub peerings: usize,
    /// Peerings left out, and other things the operator should know.
    pub notes: Vec<String>,
}

/// The configuration for `node`: the file's settings and neighbours, the
/// node's AS, cluster ID and port, and one neighbour per peering.
/// `router_id` is the resolved one and where it came from; a detected or
/// fallback one gives way to the node's IPv4 address.
pub fn derive(
    file: &ConfigFile,
    router_id: (Ipv4Addr, RouterIdSource),
    node: &str,
    snapshot: &Snapshot,
) -> Result<Derived, DeriveError> {
    if snapshot.node(node).is_none() {
        return Err(DeriveError::NoNode(node.to_string()));
    }
    let local =
        peering::local_bgp(node, snapshot).ok_or_else(|| DeriveError::NoBgp(node.into()))?;
    let mut notes = Vec::new();
    let mut file = file.clone();
    file.global.asn = local.asn.0;
    if let Some(port) = local.listen_port {
        file.global.port = port;
    }
    match local.cluster_id.as_deref().map(str::parse::<Ipv4Addr>) {
        Some(Ok(id)) => file.global.cluster_id = Some(id),
        Some(Err(_)) => notes.push(format!(
            "Node {node:?}: routeReflectorClusterID {:?} is not an IPv4 address; using {}",
            local.cluster_id.as_deref().unwrap_or_default(),
            file.global
                .cluster_id
                .map_or("the router ID".to_string(), |c| c.to_string())
        )),
        None => notes.push(format!(
            "Node {node:?} has no routeReflectorClusterID: it is not a route reflector, and its peers are not its clients"
        )),
    }
    let (id, from) = match (router_id.1, local.ipv4) {
        (RouterIdSource::Detected | RouterIdSource::Fallback, Some(IpAddr::V4(v4))) => {
            (v4, RouterIdSource::Datastore)
        }
        _ => router_id,
    };
    let mut config = convert(&file, id);
    let policies: BTreeMap<&str, Policy> = file
        .policy
        .iter()
        .map(|p| (p.name.as_str(), p.to_policy()))
        .collect();
    let template: PeerSettings = file
        .datastore
        .template
        .as_ref()
        .and_then(|name| file.template.iter().find(|t| &t.name == name))
        .map(|t| t.settings())
        .unwrap_or_default();
    let mut count = 0;
    for p in peering::peerings(node, snapshot) {
        if p.password.is_some() {
            notes.push(format!(
                "peer {}: its password is a Kubernetes secret, which the etcd datastore cannot read; session left out",
                p.peer_ip
            ));
            continue;
        }
        if config.neighbors.contains_key(&p.peer_ip) {
            notes.push(format!(
                "peer {}: configured in the file too; the file's [[neighbor]] wins",
                p.peer_ip
            ));
            continue;
        }
        let plan = plan(&p, &template, &policies, config.speaker.local_as);
        config.neighbors.insert(p.peer_ip, plan);
        count += 1;
    }
    Ok(Derived {
        config,
        router_id: from,
        peerings: count,
        notes,
    })
}

/// What a peering's origin says about it, for the neighbour's description.
fn describe(p: &Peering) -> String {
    let what = match &p.peer_node {
        Some(node) => format!("Calico node {node}"),
        None => "BGP peer".to_string(),
    };
    let why = match &p.origin {
        PeeringOrigin::Mesh => "node-to-node mesh".to_string(),
        PeeringOrigin::Global { bgp_peer } => format!("global BGPPeer {bgp_peer}"),
        PeeringOrigin::Node { bgp_peer } => format!("BGPPeer {bgp_peer}"),
        PeeringOrigin::Reverse { bgp_peer } => format!("BGPPeer {bgp_peer}, reverse"),
    };
    format!("{what} ({why})")
}

/// One peering as a neighbour: the template's options, then the peering's.
fn plan(
    p: &Peering,
    template: &PeerSettings,
    policies: &BTreeMap<&str, Policy>,
    global_as: u32,
) -> NeighborPlan {
    let mut o = peer_options(template, PeerAs::Exact(p.peer_as.0), policies);
    o.local_as = (p.local_as.0 != global_as).then_some(p.local_as.0);
    o.route_reflector_client = p.rr_client;
    o.cluster_id = None;
    o.port = p.port.unwrap_or(bgp_proto::iana::BGP_PORT);
    // The reflector waits for its clients (Calico nodes always connect to
    // their reflectors): two active ends whose attempts fail in turn can
    // refuse each other while Idle (RFC 4271 section 8.2.2) for long.
    o.passive |= p.passive || p.rr_client;
    if let Some(source) = p.source_address {
        o.local_address = Some(source);
    }
    o.ttl_security |= p.ttl_security.is_some();
    match p.next_hop {
        CalicoNextHop::Auto => {}
        CalicoNextHop::SelfAddress => o.next_hop = NextHopMode::SelfAddress,
        CalicoNextHop::Keep => o.next_hop = NextHopMode::Keep,
    }
    if let Some(keepalive) = p.keepalive_time {
        o.keepalive = Some(keepalive);
    }
    if let Some(restart) = p.max_restart_time {
        let secs = restart.as_secs().min(u64::from(MAX_RESTART_TIME));
        o.graceful_restart.restart_time = u16::try_from(secs).unwrap_or(MAX_RESTART_TIME);
        o.graceful_restart.max_stale_time = o
            .graceful_restart
            .max_stale_time
            .max(Duration::from_secs(secs));
    }
    NeighborPlan {
        description: Some(describe(p)),
        peer: bgp_speaker::config::PeerConfig {
            address: p.peer_ip,
            options: o,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reflex_datastore::cli::parse_documents;

    const RESOURCES: &str = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: rr1, labels: {route-reflector: "true"}}
spec: {bgp: {ipv4Address: 10.0.0.1/24, asNumber: 65010, routeReflectorClusterID: 224.0.0.1}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: rr2, labels: {route-reflector: "true"}}
spec: {bgp: {ipv4Address: 10.0.0.9/24, asNumber: 65010, routeReflectorClusterID: 224.0.0.1}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n2}
spec: {bgp: {ipv4Address: 10.0.0.2/24, asNumber: 65010}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n3}
spec: {bgp: {ipv4Address: 10.0.0.3/24, asNumber: 65010}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: bare}
spec: {}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: to-rr}
spec: {nodeSelector: "!has(route-reflector)", peerSelector: has(route-reflector)}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: rr-mesh}
spec: {nodeSelector: has(route-reflector), peerSelector: has(route-reflector)}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor}
spec: {node: rr1, peerIP: "192.0.2.1:1179", asNumber: 65001, keepOriginalNextHop: true}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: secret}
spec:
  node: rr1
  peerIP: 192.0.2.2
  asNumber: 65002
  password: {secretKeyRef: {name: bgp, key: password}}
"#;

    fn snapshot() -> Snapshot {
        Snapshot::from_resources(parse_documents(RESOURCES).unwrap())
    }

    fn file(text: &str) -> ConfigFile {
        crate::config::parse("t.toml", text).unwrap().file
    }

    const FILE: &str = r#"
[global]
asn = 64999

[datastore]
type = "etcd"
template = "nodes"

[[template]]
name = "nodes"
hold_time = 30
client = false
"#;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_node_gives_as_cluster_router_id_and_the_peers() {
        let detected = (Ipv4Addr::new(192, 0, 2, 1), RouterIdSource::Fallback);
        let d = derive(&file(FILE), detected, "rr1", &snapshot()).unwrap();
        let speaker = &d.config.speaker;
        assert_eq!(speaker.local_as, 65010, "the Node's asNumber");
        assert_eq!(speaker.cluster_id, Some(Ipv4Addr::new(224, 0, 0, 1)));
        assert_eq!(speaker.router_id, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(d.router_id, RouterIdSource::Datastore);
        let addresses: Vec<IpAddr> = d.config.neighbors.keys().copied().collect();
        assert_eq!(
            addresses,
            [
                ip("10.0.0.2"),
                ip("10.0.0.3"),
                ip("10.0.0.9"),
                ip("192.0.2.1")
            ]
        );
        assert_eq!(d.peerings, 4);

        let n2 = &d.config.neighbors[&ip("10.0.0.2")];
        let o = &n2.peer.options;
        assert!(o.route_reflector_client, "an iBGP node outside the cluster");
        assert!(o.passive, "clients connect to the reflector");
        assert_eq!(o.hold_time, 30, "the template's options");
        assert_eq!(o.peer_as, PeerAs::Exact(65010));
        assert_eq!(o.local_address, Some(ip("10.0.0.1")));
        assert_eq!(o.port, 179);
        assert_eq!(
            n2.description.as_deref(),
            Some("Calico node n2 (BGPPeer to-rr, reverse)")
        );

        let rr2 = &d.config.neighbors[&ip("10.0.0.9")].peer.options;
        assert!(
            !rr2.route_reflector_client && !rr2.passive,
            "a reflector of the same cluster is a non-client peer"
        );

        let tor = &d.config.neighbors[&ip("192.0.2.1")].peer.options;
        assert_eq!(tor.peer_as, PeerAs::Exact(65001));
        assert_eq!(tor.port, 1179);
        assert_eq!(
            tor.next_hop,
            NextHopMode::Keep,
            "keepOriginalNextHop on eBGP"
        );
        assert!(!tor.route_reflector_client);

        assert!(!d.config.neighbors.contains_key(&ip("192.0.2.2")));
        assert!(
            d.notes
                .iter()
                .any(|n| n.contains("192.0.2.2") && n.contains("secret")),
            "{:?}",
            d.notes
        );
    }

    #[test]
    fn a_configured_router_id_and_file_neighbours_win() {
        let text = format!(
            "{FILE}\n[[neighbor]]\naddress = \"10.0.0.2\"\nasn = 65010\ndescription = \"static\"\n"
        );
        let configured = (Ipv4Addr::new(10, 9, 9, 9), RouterIdSource::Config);
        let d = derive(&file(&text), configured, "rr1", &snapshot()).unwrap();
        assert_eq!(d.config.speaker.router_id, Ipv4Addr::new(10, 9, 9, 9));
        assert_eq!(d.router_id, RouterIdSource::Config);
        let n2 = &d.config.neighbors[&ip("10.0.0.2")];
        assert_eq!(n2.description.as_deref(), Some("static"));
        assert!(d.notes.iter().any(|n| n.contains("10.0.0.2")));
    }

    #[test]
    fn a_missing_node_or_one_without_bgp_gives_no_configuration() {
        let id = (Ipv4Addr::new(192, 0, 2, 1), RouterIdSource::Fallback);
        assert_eq!(
            derive(&file(FILE), id, "nope", &snapshot()).unwrap_err(),
            DeriveError::NoNode("nope".into())
        );
        assert_eq!(
            derive(&file(FILE), id, "bare", &snapshot()).unwrap_err(),
            DeriveError::NoBgp("bare".into())
        );
    }

    #[test]
    fn a_node_without_cluster_id_is_not_a_reflector() {
        let id = (Ipv4Addr::new(192, 0, 2, 1), RouterIdSource::Fallback);
        let d = derive(&file(FILE), id, "n2", &snapshot()).unwrap();
        assert_eq!(d.config.speaker.cluster_id, None);
        assert!(d.notes.iter().any(|n| n.contains("not a route reflector")));
        let peers = &d.config.neighbors;
        assert_eq!(peers.len(), 2, "n2 peers with both reflectors");
        assert!(
            peers
                .values()
                .all(|p| !p.peer.options.route_reflector_client)
        );
    }
}
