//! What the datastore means for this node, as pure functions of a
//! [`Snapshot`]: its reflectors (the peering computation of
//! [`reflex_datastore::peering`] for the node), the enabled IP pools, and
//! the agent configuration of a file (or command line) combined with them.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use reflex_datastore::Snapshot;
use reflex_datastore::peering::{self, Peering, PeeringOrigin};

use crate::agent::{AgentConfig, ReflectorPeer};
use crate::kernel::route::normalise;

/// A peering of the node that the agent does not run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The peer's address.
    pub address: IpAddr,
    /// Why it is not used.
    pub reason: String,
}

/// The node's part of a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// The reflectors (and other iBGP peers) to have sessions with.
    pub reflectors: Vec<ReflectorPeer>,
    /// The enabled IP pools (not `disabled`, not `disableBGPExport`),
    /// sorted.
    pub pools: Vec<IpNetwork>,
    /// The node's AS as the datastore has it (its `asNumber`, else the
    /// default BGPConfiguration's, else 64512), once the Node has
    /// `spec.bgp`.
    pub asn: Option<u32>,
    /// Peerings not run.
    pub skipped: Vec<Skipped>,
}

/// Why a peering cannot be one of the agent's sessions, if it cannot.
fn unusable(p: &Peering, local_as: u32) -> Option<String> {
    if p.origin == PeeringOrigin::Mesh {
        return Some(format!(
            "node-to-node mesh with {}: bgp-client peers with route reflectors and accepts no connections (set nodeToNodeMeshEnabled: false)",
            p.peer_node.as_deref().unwrap_or("a node")
        ));
    }
    if p.peer_as.0 != local_as || p.local_as.0 != local_as {
        return Some(format!(
            "eBGP (AS {} to AS {}): bgp-client runs iBGP sessions with AS {local_as} only",
            p.local_as, p.peer_as
        ));
    }
    if p.rr_client {
        return Some(
            "this node has a routeReflectorClusterID, but bgp-client is no route reflector".into(),
        );
    }
    if p.password.is_some() {
        return Some(
            "its password is a Kubernetes secret reference, which bgp-client cannot read".into(),
        );
    }
    None
}

/// The node's reflectors, pools and AS in `snapshot`; `local_as` is the
/// AS the agent runs with (peerings of another AS are skipped).
pub fn view(node: &str, snapshot: &Snapshot, local_as: u32) -> View {
    let mut out = View {
        asn: peering::local_bgp(node, snapshot).map(|l| l.asn.0),
        ..View::default()
    };
    for p in peering::peerings(node, snapshot) {
        match unusable(&p, local_as) {
            Some(reason) => out.skipped.push(Skipped {
                address: p.peer_ip,
                reason,
            }),
            None if out.reflectors.iter().any(|r| r.address == p.peer_ip) => {
                out.skipped.push(Skipped {
                    address: p.peer_ip,
                    reason: "a second peering with the same address (another port)".into(),
                });
            }
            None => out.reflectors.push(ReflectorPeer {
                address: p.peer_ip,
                port: p.port.unwrap_or(bgp_proto::iana::BGP_PORT),
                password: None,
            }),
        }
    }
    out.pools = snapshot
        .ip_pools()
        .filter(|pool| !pool.spec.disabled && !pool.spec.disable_bgp_export)
        .filter_map(|pool| pool.spec.network().ok())
        .map(normalise)
        .collect();
    out.pools
        .sort_by_key(|p| (p.is_ipv6(), p.network(), p.prefix()));
    out.pools.dedup();
    out
}

/// The configuration to run: `base` (the file's) with the view's
/// reflectors added after the file's own and the view's pools as the
/// export pools. The AS is the file's when `asn_configured`, else the
/// datastore's (a change of it waits for a restart, as a reload's does).
pub fn combine(base: &AgentConfig, asn_configured: bool, view: &View) -> AgentConfig {
    let mut config = base.clone();
    if !asn_configured {
        if let Some(asn) = view.asn {
            config.local_as = asn;
        }
    }
    for reflector in &view.reflectors {
        let own = config.is_own_address(reflector.address);
        let known = config
            .reflectors
            .iter()
            .any(|r| r.address == reflector.address);
        if !own && !known && config.local_address(reflector.address).is_some() {
            config.reflectors.push(reflector.clone());
        }
    }
    config.export.pools = view.pools.clone();
    config.pools_required = true;
    config.require_reflectors = false;
    config
}

/// The parts of two configurations that the datastore changes: equal
/// means there is nothing to apply.
pub fn same_effect(a: &AgentConfig, b: &AgentConfig) -> bool {
    a.reflectors == b.reflectors
        && a.export == b.export
        && a.local_as == b.local_as
        && a.pools_required == b.pools_required
}

#[cfg(test)]
mod tests {
    use super::*;
    use reflex_datastore::cli::parse_documents;
    use std::net::Ipv4Addr;

    fn snapshot(yaml: &str) -> Snapshot {
        Snapshot::from_resources(parse_documents(yaml).unwrap())
    }

    const CLUSTER: &str = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: rr1, labels: {route-reflector: "true"}}
spec: {bgp: {ipv4Address: 10.0.0.1/24, routeReflectorClusterID: 224.0.0.1}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: rr2, labels: {route-reflector: "true"}}
spec: {bgp: {ipv4Address: 10.0.0.2/24, routeReflectorClusterID: 224.0.0.1}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.11/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n2}
spec: {bgp: {ipv4Address: 10.0.0.12/24}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: to-rr}
spec: {nodeSelector: "!has(route-reflector)", peerSelector: has(route-reflector)}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pods}
spec: {cidr: 10.65.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: old}
spec: {cidr: 10.66.0.0/16, disabled: true}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: private}
spec: {cidr: 10.67.0.0/16, disableBGPExport: true}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: v6}
spec: {cidr: "fd00:65::/48"}
"#;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn reflector_nodes_selected_by_a_bgp_peer_are_the_reflectors() {
        let v = view("n1", &snapshot(CLUSTER), 64512);
        let addresses: Vec<IpAddr> = v.reflectors.iter().map(|r| r.address).collect();
        assert_eq!(addresses, [ip("10.0.0.1"), ip("10.0.0.2")]);
        assert!(v.reflectors.iter().all(|r| r.port == 179));
        assert_eq!(v.asn, Some(64512));
        assert!(v.skipped.is_empty(), "{:?}", v.skipped);
        // A reflector itself is no client: its peerings are skipped.
        let rr = view("rr1", &snapshot(CLUSTER), 64512);
        assert!(rr.reflectors.is_empty());
        assert_eq!(rr.skipped.len(), 2);
        // An unknown node has no peerings.
        assert_eq!(view("n9", &snapshot(CLUSTER), 64512).reflectors, []);
    }

    #[test]
    fn only_enabled_pools_that_allow_export_are_pools() {
        let v = view("n1", &snapshot(CLUSTER), 64512);
        let pools: Vec<String> = v.pools.iter().map(|p| p.to_string()).collect();
        assert_eq!(pools, ["10.65.0.0/16", "fd00:65::/48"]);
    }

    #[test]
    fn mesh_ebgp_and_password_peerings_are_skipped_with_a_reason() {
        let yaml = r#"
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.11/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n2}
spec: {bgp: {ipv4Address: 10.0.0.12/24}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor}
spec: {peerIP: 10.0.0.254, asNumber: 65001}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: secret}
spec: {peerIP: "10.0.0.3:1179", asNumber: 64512, password: {secretKeyRef: {name: bgp, key: pw}}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: rr-port}
spec: {node: n1, peerIP: "10.0.0.4:1179", asNumber: 64512}
"#;
        let v = view("n1", &snapshot(yaml), 64512);
        assert_eq!(v.reflectors.len(), 1);
        assert_eq!(v.reflectors[0].address, ip("10.0.0.4"));
        assert_eq!(v.reflectors[0].port, 1179);
        let reasons: Vec<(String, &str)> = v
            .skipped
            .iter()
            .map(|s| (s.address.to_string(), s.reason.split(':').next().unwrap()))
            .collect();
        assert_eq!(
            reasons,
            [
                (
                    "10.0.0.3".to_string(),
                    "its password is a Kubernetes secret reference, which bgp-client cannot read"
                ),
                ("10.0.0.12".to_string(), "node-to-node mesh with n2"),
                ("10.0.0.254".to_string(), "eBGP (AS 64512 to AS 65001)"),
            ]
        );
    }

    #[test]
    fn the_file_is_combined_with_the_view() {
        let mut base = AgentConfig::new("n1", 64512, Ipv4Addr::new(10, 0, 0, 11));
        base.reflectors = vec![ReflectorPeer::new(ip("10.0.0.2"))];
        let mut v = view("n1", &snapshot(CLUSTER), 64512);
        v.reflectors.push(ReflectorPeer::new(ip("fd00::1")));
        v.asn = Some(65000);
        let c = combine(&base, true, &v);
        let addresses: Vec<IpAddr> = c.reflectors.iter().map(|r| r.address).collect();
        // The file's first, no duplicate, none of a family without an address.
        assert_eq!(addresses, [ip("10.0.0.2"), ip("10.0.0.1")]);
        assert_eq!(c.local_as, 64512, "the file's AS wins");
        assert_eq!(c.export.pools.len(), 2);
        assert!(c.pools_required && !c.require_reflectors);
        assert_eq!(combine(&base, false, &v).local_as, 65000);
        assert!(same_effect(&c, &combine(&base, true, &v)));
        assert!(!same_effect(&c, &base));
        assert!(c.validate().is_ok());
    }
}
