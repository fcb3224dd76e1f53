//! Table tests: resources in, peerings out.

use super::*;
use crate::model::{
    AsNumber, BgpConfiguration, BgpConfigurationSpec, BgpPassword, BgpPeer, BgpPeerSpec,
    GoDuration, Node, NodeBgpSpec, NodeSpec, Resource, ReversePeering,
};

fn node(name: &str, ipv4: &str) -> Node {
    Node::new(
        name,
        NodeSpec {
            bgp: Some(NodeBgpSpec {
                ipv4_address: format!("{ipv4}/24"),
                ..NodeBgpSpec::default()
            }),
            ..NodeSpec::default()
        },
    )
}

fn with_bgp(mut n: Node, f: impl FnOnce(&mut NodeBgpSpec)) -> Node {
    f(n.spec.bgp.as_mut().unwrap());
    n
}

fn rr(name: &str, ipv4: &str, cluster: &str) -> Node {
    with_bgp(node(name, ipv4), |b| {
        b.route_reflector_cluster_id = cluster.to_string()
    })
    .with_label("route-reflector", "true")
}

fn peer(name: &str, f: impl FnOnce(&mut BgpPeerSpec)) -> BgpPeer {
    let mut spec = BgpPeerSpec::default();
    f(&mut spec);
    BgpPeer::new(name, spec)
}

fn config(name: &str, f: impl FnOnce(&mut BgpConfigurationSpec)) -> BgpConfiguration {
    let mut spec = BgpConfigurationSpec::default();
    f(&mut spec);
    BgpConfiguration::new(name, spec)
}

fn no_mesh() -> BgpConfiguration {
    config("default", |c| c.node_to_node_mesh_enabled = Some(false))
}

/// One line per peering: `address[:port] as N origin [flags]`.
fn summary(p: &Peering) -> String {
    let mut s = match p.port {
        Some(port) => format!("{}:{port} as {}", p.peer_ip, p.peer_as),
        None => format!("{} as {}", p.peer_ip, p.peer_as),
    };
    s += match &p.origin {
        PeeringOrigin::Mesh => " mesh".to_string(),
        PeeringOrigin::Global { bgp_peer } => format!(" global:{bgp_peer}"),
        PeeringOrigin::Node { bgp_peer } => format!(" node:{bgp_peer}"),
        PeeringOrigin::Reverse { bgp_peer } => format!(" reverse:{bgp_peer}"),
    }
    .as_str();
    if p.local_as != AsNumber(64512) {
        s += &format!(" local-as {}", p.local_as);
    }
    if p.rr_client {
        s += " rr-client";
    }
    if p.passive {
        s += " passive";
    }
    match p.next_hop {
        NextHopMode::Auto => {}
        NextHopMode::Keep => s += " next-hop-keep",
        NextHopMode::SelfAddress => s += " next-hop-self",
    }
    s
}

fn run(resources: Vec<Resource>, node: &str) -> Vec<String> {
    let snap = Snapshot::from_resources(resources);
    peerings(node, &snap).iter().map(summary).collect()
}

struct Case {
    name: &'static str,
    resources: Vec<Resource>,
    node: &'static str,
    want: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    let three = || -> Vec<Resource> {
        vec![
            node("n1", "10.0.0.1").into(),
            node("n2", "10.0.0.2").into(),
            node("n3", "10.0.0.3").into(),
        ]
    };
    let rr_topology = |cluster2: &str| -> Vec<Resource> {
        vec![
            no_mesh().into(),
            rr("rr1", "10.0.0.101", "1.1.1.1").into(),
            rr("rr2", "10.0.0.102", cluster2).into(),
            node("c1", "10.0.0.1").into(),
            node("c2", "10.0.0.2").into(),
            peer("to-rr", |s| {
                s.node_selector = "!has(route-reflector)".into();
                s.peer_selector = "has(route-reflector)".into();
            })
            .into(),
            peer("rr-mesh", |s| {
                s.node_selector = "has(route-reflector)".into();
                s.peer_selector = "has(route-reflector)".into();
            })
            .into(),
        ]
    };
    let ext = |name: &str, ip: &str, asn: u32, f: fn(&mut BgpPeerSpec)| -> Resource {
        peer(name, |s| {
            s.peer_ip = ip.into();
            s.as_number = Some(AsNumber(asn));
            f(s);
        })
        .into()
    };
    vec![
        Case {
            name: "full mesh by default; the higher address is passive",
            resources: three(),
            node: "n2",
            want: &["10.0.0.1 as 64512 mesh", "10.0.0.3 as 64512 mesh passive"],
        },
        Case {
            name: "mesh disabled: no peerings",
            resources: [three(), vec![no_mesh().into()]].concat(),
            node: "n1",
            want: &[],
        },
        Case {
            name: "global explicit peer applies to every node, beside the mesh",
            resources: [three(), vec![ext("tor", "192.0.2.1", 65000, |_| {})]].concat(),
            node: "n3",
            want: &[
                "10.0.0.1 as 64512 mesh",
                "10.0.0.2 as 64512 mesh",
                "192.0.2.1 as 65000 global:tor",
            ],
        },
        Case {
            name: "node-specific peers by name and by selector",
            resources: vec![
                no_mesh().into(),
                node("n1", "10.0.0.1").with_label("rack", "a").into(),
                node("n2", "10.0.0.2").with_label("rack", "b").into(),
                ext("only-n1", "192.0.2.1", 65000, |s| s.node = "n1".into()),
                ext("rack-b", "192.0.2.2", 65000, |s| {
                    s.node_selector = "rack == 'b'".into()
                }),
            ],
            node: "n2",
            want: &["192.0.2.2 as 65000 node:rack-b"],
        },
        Case {
            name: "client of a route-reflector pair: peers with both, not a reflector itself",
            resources: rr_topology("1.1.1.1"),
            node: "c1",
            want: &[
                "10.0.0.101 as 64512 node:to-rr",
                "10.0.0.102 as 64512 node:to-rr",
            ],
        },
        Case {
            name: "reflector: clients by reverse peering, same-cluster reflector is no client",
            resources: rr_topology("1.1.1.1"),
            node: "rr1",
            want: &[
                "10.0.0.1 as 64512 reverse:to-rr rr-client",
                "10.0.0.2 as 64512 reverse:to-rr rr-client",
                "10.0.0.102 as 64512 node:rr-mesh",
            ],
        },
        Case {
            name: "reflectors of different clusters are each other's clients",
            resources: rr_topology("2.2.2.2"),
            node: "rr2",
            want: &[
                "10.0.0.1 as 64512 reverse:to-rr rr-client",
                "10.0.0.2 as 64512 reverse:to-rr rr-client",
                "10.0.0.101 as 64512 node:rr-mesh rr-client",
            ],
        },
        Case {
            name: "mesh with a reflector: the reflector leaves the mesh",
            resources: vec![
                rr("rr1", "10.0.0.101", "1.1.1.1").into(),
                node("c1", "10.0.0.1").into(),
                node("c2", "10.0.0.2").into(),
            ],
            node: "c1",
            want: &["10.0.0.2 as 64512 mesh passive"],
        },
        Case {
            name: "a reflector has no mesh peerings",
            resources: vec![
                rr("rr1", "10.0.0.101", "1.1.1.1").into(),
                node("c1", "10.0.0.1").into(),
            ],
            node: "rr1",
            want: &[],
        },
        Case {
            name: "reflector with an eBGP peer: not a client",
            resources: vec![
                no_mesh().into(),
                rr("rr1", "10.0.0.101", "1.1.1.1").into(),
                ext("tor", "192.0.2.1", 65000, |_| {}),
                ext("ibgp", "192.0.2.2", 64512, |_| {}),
            ],
            node: "rr1",
            want: &[
                "192.0.2.1 as 65000 global:tor",
                "192.0.2.2 as 64512 global:ibgp rr-client",
            ],
        },
        Case {
            name: "keep next hop: only towards eBGP peers; nextHopMode wins",
            resources: vec![
                no_mesh().into(),
                node("n1", "10.0.0.1").into(),
                ext("ebgp", "192.0.2.1", 65000, |s| {
                    s.keep_original_next_hop = true
                }),
                ext("ibgp", "192.0.2.2", 64512, |s| {
                    s.keep_original_next_hop = true
                }),
                ext("self", "192.0.2.3", 65000, |s| {
                    s.keep_original_next_hop = true;
                    s.next_hop_mode = Some(NextHopMode::SelfAddress);
                }),
                ext("keep", "192.0.2.4", 64512, |s| {
                    s.next_hop_mode = Some(NextHopMode::Keep)
                }),
            ],
            node: "n1",
            want: &[
                "192.0.2.1 as 65000 global:ebgp next-hop-keep",
                "192.0.2.2 as 64512 global:ibgp",
                "192.0.2.3 as 65000 global:self next-hop-self",
                "192.0.2.4 as 64512 global:keep next-hop-keep",
            ],
        },
        Case {
            name: "local AS: node's own, else BGPConfiguration default, else 64512",
            resources: vec![
                config("default", |c| {
                    c.node_to_node_mesh_enabled = Some(true);
                    c.as_number = Some(AsNumber(65100));
                })
                .into(),
                with_bgp(node("n1", "10.0.0.1"), |b| {
                    b.as_number = Some(AsNumber(65001))
                })
                .into(),
                node("n2", "10.0.0.2").into(),
            ],
            node: "n1",
            want: &["10.0.0.2 as 65100 mesh local-as 65001 passive"],
        },
        Case {
            name: "local AS falls back to the default BGPConfiguration",
            resources: vec![
                config("default", |c| c.as_number = Some(AsNumber(65100))).into(),
                with_bgp(node("n1", "10.0.0.1"), |b| {
                    b.as_number = Some(AsNumber(65001))
                })
                .into(),
                node("n2", "10.0.0.2").into(),
            ],
            node: "n2",
            want: &["10.0.0.1 as 65001 mesh local-as 65100"],
        },
        Case {
            name: "localASNumber overrides the node's AS on that peering",
            resources: vec![
                no_mesh().into(),
                node("n1", "10.0.0.1").into(),
                ext("tor", "192.0.2.1", 65000, |s| {
                    s.local_as_number = Some(AsNumber(65005))
                }),
            ],
            node: "n1",
            want: &["192.0.2.1 as 65000 global:tor local-as 65005"],
        },
        Case {
            name: "reversePeering Manual: the selected nodes do not peer back",
            resources: vec![
                no_mesh().into(),
                rr("rr1", "10.0.0.101", "1.1.1.1").into(),
                node("c1", "10.0.0.1").into(),
                peer("to-rr", |s| {
                    s.node_selector = "!has(route-reflector)".into();
                    s.peer_selector = "has(route-reflector)".into();
                    s.reverse_peering = Some(ReversePeering::Manual);
                })
                .into(),
            ],
            node: "rr1",
            want: &[],
        },
        Case {
            name: "an explicit peering wins over the reverse one to the same address",
            resources: vec![
                no_mesh().into(),
                rr("rr1", "10.0.0.101", "1.1.1.1").into(),
                node("c1", "10.0.0.1").into(),
                peer("to-rr", |s| s.peer_selector = "has(route-reflector)".into()).into(),
                peer("rr-to-c1", |s| {
                    s.node = "rr1".into();
                    s.peer_selector = "!has(route-reflector)".into();
                })
                .into(),
            ],
            node: "rr1",
            want: &["10.0.0.1 as 64512 node:rr-to-c1 rr-client"],
        },
        Case {
            name: "peerSelector never peers a node with itself",
            resources: vec![
                no_mesh().into(),
                node("n1", "10.0.0.1").into(),
                node("n2", "10.0.0.2").into(),
                peer("everyone", |s| s.peer_selector = "all()".into()).into(),
            ],
            node: "n1",
            want: &["10.0.0.2 as 64512 global:everyone"],
        },
        Case {
            name: "ports: explicit in peerIP, and a node's listenPort",
            resources: vec![
                no_mesh().into(),
                config("node.n2", |c| c.listen_port = Some(1179)).into(),
                node("n1", "10.0.0.1").into(),
                node("n2", "10.0.0.2").with_label("role", "edge").into(),
                ext("port", "192.0.2.1:1790", 65000, |_| {}),
                ext("v6", "[2001:db8::1]:1790", 65000, |_| {}),
                peer("edge", |s| s.peer_selector = "role == 'edge'".into()).into(),
                ext("by-ip", "10.0.0.2", 64512, |s| s.node = "n1".into()),
            ],
            node: "n1",
            want: &[
                "10.0.0.2:1179 as 64512 global:edge",
                "192.0.2.1:1790 as 65000 global:port",
            ],
        },
        Case {
            name: "a peerIP that is a Calico node's makes that node peer back",
            resources: vec![
                no_mesh().into(),
                node("n1", "10.0.0.1").into(),
                node("n2", "10.0.0.2").into(),
                ext("n1-to-n2", "10.0.0.2", 64512, |s| s.node = "n1".into()),
            ],
            node: "n2",
            want: &["10.0.0.1 as 64512 reverse:n1-to-n2"],
        },
    ]
}

#[test]
fn peering_table() {
    for case in cases() {
        let got = run(case.resources, case.node);
        assert_eq!(got, case.want, "case: {}", case.name);
    }
}

#[test]
fn dual_stack_selector_peers_both_families() {
    let n = |name: &str, v4: &str, v6: &str| {
        with_bgp(node(name, v4), |b| b.ipv6_address = format!("{v6}/64"))
    };
    let resources: Vec<Resource> = vec![
        no_mesh().into(),
        n("n1", "10.0.0.1", "fd00::1").into(),
        n("n2", "10.0.0.2", "fd00::2").into(),
        node("v4only", "10.0.0.3").into(),
        peer("all", |s| s.peer_selector = "all()".into()).into(),
    ];
    assert_eq!(
        run(resources.clone(), "n1"),
        [
            "10.0.0.2 as 64512 global:all",
            "10.0.0.3 as 64512 global:all",
            "fd00::2 as 64512 global:all"
        ]
    );
    assert_eq!(
        run(resources, "v4only"),
        [
            "10.0.0.1 as 64512 global:all",
            "10.0.0.2 as 64512 global:all"
        ]
    );
}

#[test]
fn peering_settings_are_carried() {
    let secret = crate::model::SecretKeySelector {
        name: "bgp-secrets".into(),
        key: "tor".into(),
        optional: None,
    };
    let resources: Vec<Resource> = vec![
        no_mesh().into(),
        node("n1", "10.0.0.1").into(),
        peer("tor", |s| {
            s.peer_ip = "192.0.2.1".into();
            s.as_number = Some(AsNumber(65000));
            s.password = Some(BgpPassword {
                secret_key_ref: Some(secret.clone()),
            });
            s.ttl_security = Some(1);
            s.max_restart_time = Some(GoDuration::from_secs(300));
            s.keepalive_time = Some("20s".parse().unwrap());
            s.source_address = Some(crate::model::SourceAddress::None);
        })
        .into(),
    ];
    let snap = Snapshot::from_resources(resources);
    let p = &peerings("n1", &snap)[0];
    assert_eq!(p.password.as_ref(), Some(&secret));
    assert_eq!(p.ttl_security, Some(1));
    assert_eq!(p.max_restart_time, Some(Duration::from_secs(300)));
    assert_eq!(p.keepalive_time, Some(Duration::from_secs(20)));
    assert_eq!(p.source_address, None);
    assert!(!p.is_ibgp());
    assert!(!p.rr_client);
    let mesh = Snapshot::from_resources(vec![
        Resource::from(node("a", "10.0.0.1")),
        node("b", "10.0.0.2").into(),
    ]);
    let m = &peerings("a", &mesh)[0];
    assert_eq!(m.source_address, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(m.peer_node.as_deref(), Some("b"));
}

#[test]
fn nodes_without_bgp_or_unknown_have_no_peerings() {
    let resources: Vec<Resource> = vec![
        Node::new("bare", NodeSpec::default()).into(),
        node("n1", "10.0.0.1").into(),
    ];
    let snap = Snapshot::from_resources(resources);
    assert!(peerings("bare", &snap).is_empty());
    assert!(peerings("nobody", &snap).is_empty());
    // `bare` has no BGP, so n1 does not mesh with it.
    assert!(peerings("n1", &snap).is_empty());
    assert_eq!(local_bgp("bare", &snap), None);
    assert_eq!(local_bgp("n1", &snap).unwrap().asn, AsNumber(64512));
}
