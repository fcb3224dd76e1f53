//! The cluster both datastore benches use: 5,000 nodes (4 route reflectors,
//! 50 racks) and 100 BGPPeers (clients to reflectors, reflector mesh,
//! per-rack ToRs, global and node-specific external peers), the
//! node-to-node mesh off.

use reflex_datastore::model::{
    AsNumber, BgpConfiguration, BgpConfigurationSpec, BgpPeer, BgpPeerSpec, Node, NodeBgpSpec,
    NodeSpec, Resource,
};

pub const NODES: usize = 5_000;
pub const RRS: usize = 4;

pub fn node(i: usize) -> Node {
    let mut n = Node::new(
        format!("node-{i:04}"),
        NodeSpec {
            bgp: Some(NodeBgpSpec {
                ipv4_address: format!("10.{}.{}.{}/16", i / 65536, (i / 256) % 256, i % 256 + 1),
                route_reflector_cluster_id: if i < RRS {
                    "224.0.0.1".into()
                } else {
                    String::new()
                },
                ..NodeBgpSpec::default()
            }),
            ..NodeSpec::default()
        },
    )
    .with_label("rack", format!("r{}", i % 50))
    .with_label("zone", format!("z{}", i % 3))
    .with_label("kubernetes.io/hostname", format!("node-{i:04}"));
    if i < RRS {
        n = n.with_label("route-reflector", "true");
    }
    n
}

fn peer(name: String, f: impl FnOnce(&mut BgpPeerSpec)) -> Resource {
    let mut spec = BgpPeerSpec::default();
    f(&mut spec);
    BgpPeer::new(name, spec).into()
}

pub fn cluster() -> Vec<Resource> {
    let mut r: Vec<Resource> = (0..NODES).map(|i| node(i).into()).collect();
    r.push(
        BgpConfiguration::new(
            "default",
            BgpConfigurationSpec {
                node_to_node_mesh_enabled: Some(false),
                as_number: Some(AsNumber(64512)),
                ..BgpConfigurationSpec::default()
            },
        )
        .into(),
    );
    r.push(peer("to-rr".into(), |s| {
        s.node_selector = "!has(route-reflector)".into();
        s.peer_selector = "has(route-reflector)".into();
    }));
    r.push(peer("rr-mesh".into(), |s| {
        s.node_selector = "has(route-reflector)".into();
        s.peer_selector = "has(route-reflector)".into();
    }));
    for k in 0..48 {
        r.push(peer(format!("tor-r{k}"), |s| {
            s.node_selector = format!("rack == 'r{k}' && !has(route-reflector)");
            s.peer_ip = format!("192.0.2.{}", k + 1);
            s.as_number = Some(AsNumber(65000 + k as u32));
            s.keep_original_next_hop = true;
        }));
    }
    for k in 0..2 {
        r.push(peer(format!("upstream-{k}"), |s| {
            s.peer_ip = format!("198.51.100.{}", k + 1);
            s.as_number = Some(AsNumber(65100));
        }));
    }
    for k in 0..48 {
        r.push(peer(format!("special-{k}"), |s| {
            s.node = format!("node-{:04}", 100 + k * 100);
            s.peer_ip = format!("203.0.113.{}", k + 1);
            s.as_number = Some(AsNumber(65200));
        }));
    }
    r
}
