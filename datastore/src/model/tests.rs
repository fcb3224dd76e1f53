//! Round trips of resources as Calico writes them: every field, known or not,
//! comes back unchanged.

use serde_json::{Value, json};

use super::*;

fn round_trip(v: Value) -> Resource {
    let r = Resource::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v}"));
    assert_eq!(r.to_value(), v, "round trip of {}", r.kind());
    let from_yaml: Resource =
        serde_norway::from_str(&serde_norway::to_string(&v).unwrap()).unwrap();
    assert_eq!(from_yaml, r, "YAML round trip of {}", r.kind());
    r
}

#[test]
fn node_round_trip_keeps_unknown_fields() {
    let v = json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "Node",
        "metadata": {
            "name": "node-1",
            "uid": "0f9b4c6e",
            "creationTimestamp": "2024-01-01T00:00:00Z",
            "labels": {"kubernetes.io/hostname": "node-1", "route-reflector": "true"},
            "ownerReferences": [{"kind": "Node", "name": "node-1"}]
        },
        "spec": {
            "bgp": {
                "asNumber": 64512,
                "ipv4Address": "10.0.0.1/24",
                "ipv6Address": "fd00::1/64",
                "ipv4IPIPTunnelAddr": "192.168.0.1",
                "routeReflectorClusterID": "224.0.0.1",
                "futureBgpField": {"x": 1}
            },
            "orchRefs": [{"nodeName": "node-1", "orchestrator": "k8s"}],
            "addresses": [{"address": "10.0.0.1", "type": "InternalIP"}]
        },
        "status": {"podCIDRs": ["192.168.1.0/24"]}
    });
    let Resource::Node(n) = round_trip(v) else {
        panic!("not a node")
    };
    let bgp = n.spec.bgp.as_ref().unwrap();
    assert_eq!(bgp.ipv4(), Some("10.0.0.1".parse().unwrap()));
    assert_eq!(bgp.ipv6(), Some("fd00::1".parse().unwrap()));
    assert_eq!(bgp.route_reflector_cluster_id, "224.0.0.1");
    assert!(bgp.extra.contains_key("futureBgpField"));
    assert!(n.spec.extra.contains_key("orchRefs"));
    assert!(n.metadata.extra.contains_key("ownerReferences"));
    assert!(n.extra.contains_key("status"));
}

#[test]
fn bgp_peer_and_configuration_round_trip() {
    let peer = json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "BGPPeer",
        "metadata": {"name": "rack1-tor"},
        "spec": {
            "nodeSelector": "rack == 'rack-1'",
            "peerIP": "[fd00::1]:1179",
            "asNumber": 63400,
            "keepOriginalNextHop": true,
            "nextHopMode": "Self",
            "password": {"secretKeyRef": {"name": "bgp-secrets", "key": "rack1"}},
            "sourceAddress": "None",
            "maxRestartTime": "2m30s",
            "keepaliveTime": "20s",
            "ttlSecurity": 1,
            "reversePeering": "Manual",
            "filters": ["export-only"],
            "failureDetectionMode": "BFDIfDirectlyConnected"
        }
    });
    let Resource::BgpPeer(p) = round_trip(peer) else {
        panic!("not a peer")
    };
    assert_eq!(p.spec.peer_ip, "[fd00::1]:1179");
    assert_eq!(p.spec.next_hop_mode, Some(NextHopMode::SelfAddress));
    assert_eq!(
        p.spec
            .max_restart_time
            .as_ref()
            .unwrap()
            .duration()
            .as_secs(),
        150
    );
    assert!(p.spec.extra.contains_key("failureDetectionMode"));

    let config = json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "BGPConfiguration",
        "metadata": {"name": "default"},
        "spec": {
            "logSeverityScreen": "Info",
            "nodeToNodeMeshEnabled": false,
            "asNumber": 63400,
            "listenPort": 178,
            "serviceClusterIPs": [{"cidr": "10.96.0.0/12"}],
            "serviceExternalIPs": [{"cidr": "104.244.42.129/32"}],
            "serviceLoadBalancerIPs": [{"cidr": "192.0.2.0/24"}],
            "communities": [{"name": "bgp-large-community", "value": "63400:300:100"}],
            "prefixAdvertisements": [
                {"cidr": "172.218.4.0/26", "communities": ["bgp-large-community", "63400:120"]}
            ],
            "bindMode": "NodeIP"
        }
    });
    let Resource::BgpConfiguration(c) = round_trip(config) else {
        panic!("not a configuration")
    };
    assert_eq!(c.spec.node_to_node_mesh_enabled, Some(false));
    assert_eq!(c.spec.listen_port, Some(178));
    assert!(c.spec.extra.contains_key("bindMode"));
}

#[test]
fn pools_endpoints_and_policies_round_trip() {
    round_trip(json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "IPPool",
        "metadata": {"name": "default-ipv4-ippool"},
        "spec": {
            "cidr": "192.168.0.0/16",
            "blockSize": 26,
            "ipipMode": "CrossSubnet",
            "vxlanMode": "Never",
            "natOutgoing": true,
            "disabled": true,
            "disableBGPExport": true,
            "nodeSelector": "all()",
            "allowedUses": ["Workload", "Tunnel"]
        }
    }));
    round_trip(json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "WorkloadEndpoint",
        "metadata": {"name": "node1-k8s-nginx-eth0", "namespace": "prod",
                      "labels": {"app": "nginx"}},
        "spec": {
            "orchestrator": "k8s", "node": "node1", "pod": "nginx",
            "containerID": "abc123", "endpoint": "eth0",
            "ipNetworks": ["192.168.1.5/32"],
            "ipNATs": [{"internalIP": "192.168.1.5", "externalIP": "203.0.113.5"}],
            "profiles": ["kns.prod"], "interfaceName": "cali0ef24b1",
            "mac": "ca:fe:1d:52:bb:e9",
            "ports": [{"name": "http", "protocol": "TCP", "port": 80, "hostPort": 8080}]
        }
    }));
    round_trip(json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "Profile",
        "metadata": {"name": "kns.prod"},
        "spec": {
            "ingress": [{"action": "Allow"}],
            "egress": [{"action": "Allow"}],
            "labelsToApply": {"pcns.projectcalico.org/name": "prod"}
        }
    }));
    let gnp = round_trip(json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "GlobalNetworkPolicy",
        "metadata": {"name": "allow-ping"},
        "spec": {
            "order": 100.5,
            "selector": "all()",
            "types": ["Ingress", "Egress"],
            "ingress": [
                {"action": "Allow", "protocol": "ICMP", "icmp": {"type": 8, "code": 0}},
                {"action": "Deny", "protocol": 6,
                 "source": {"nets": ["10.0.0.0/8"], "notNets": ["10.1.0.0/16"],
                            "selector": "role == 'db'", "notSelector": "has(debug)"},
                 "destination": {"ports": [22, "8000:8080", "http"], "notPorts": [23]}},
                {"action": "Log", "notProtocol": "UDP", "notICMP": {"type": 3}},
                {"action": "Pass", "ipVersion": 6, "http": {"methods": ["GET"]}}
            ],
            "doNotTrack": true,
            "applyOnForward": true,
            "preDNAT": true,
            "performanceHints": ["AssumeNeededOnEveryNode"]
        }
    }));
    let Resource::GlobalNetworkPolicy(g) = gnp else {
        panic!("not a gnp")
    };
    let r = &g.spec.ingress[1];
    assert_eq!(r.action, Action::Deny);
    assert_eq!(r.protocol, Some(Protocol::Number(6)));
    assert_eq!(
        r.destination.ports,
        vec![
            Port::Single(22),
            Port::Range(8000, 8080),
            Port::Named("http".into())
        ]
    );
    assert_eq!(g.spec.ingress[0].icmp.unwrap().icmp_type, Some(8));
    round_trip(json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-web", "namespace": "prod"},
        "spec": {
            "tier": "default",
            "order": 10,
            "selector": "app == 'web'",
            "types": ["Ingress"],
            "ingress": [{"action": "Allow", "protocol": "TCP",
                         "destination": {"ports": [80, 443]}}]
        }
    }));
}

#[test]
fn envelope_errors() {
    let bad_api = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a"}});
    assert!(matches!(
        Resource::from_value(bad_api),
        Err(crate::error::ModelError::ApiVersion(_))
    ));
    let bad_kind = json!({"apiVersion": "projectcalico.org/v3", "kind": "Widget"});
    assert!(matches!(
        Resource::from_value(bad_kind),
        Err(crate::error::ModelError::UnknownKind(_))
    ));
    let bad_field = json!({"apiVersion": "projectcalico.org/v3", "kind": "BGPPeer",
        "metadata": {"name": "p"}, "spec": {"asNumber": "not-a-number"}});
    let err = Resource::from_value(bad_field).unwrap_err().to_string();
    assert!(
        err.contains("BGPPeer") && err.contains("AS number"),
        "{err}"
    );
}

#[test]
fn keys_and_stored_form() {
    let mut pol: Resource = NetworkPolicy::new("allow", NetworkPolicySpec::default()).into();
    // A namespaced kind without a namespace lands in `default`, as with calicoctl.
    assert_eq!(
        pol.key().unwrap().path(),
        "/calico/resources/v3/projectcalico.org/networkpolicies/default/allow"
    );
    pol.metadata_mut().resource_version = Some("42".into());
    let stored = pol.to_stored_json();
    assert!(!String::from_utf8_lossy(&stored).contains("resourceVersion"));
    let back = Resource::from_stored(&stored, 43).unwrap();
    assert_eq!(back.metadata().revision(), Some(43));
    let node: Resource = Node::new("n", NodeSpec::default()).in_namespace("x").into();
    assert!(node.key().is_err());
    let unnamed: Resource = Node::new("", NodeSpec::default()).into();
    assert!(unnamed.key().is_err());
}
