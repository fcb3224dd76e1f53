//! Results per version against JSON written by hand from the CNI
//! specification's examples and libcni's converters.

use serde_json::json;

use super::*;

/// A dual-stack Calico result: host veth, container veth, two addresses,
/// two default routes.
fn dual_stack() -> CniResult {
    CniResult {
        interfaces: vec![
            Interface {
                name: "cali0123456789a".into(),
                mac: Some("ee:ee:ee:ee:ee:ee".into()),
                sandbox: None,
            },
            Interface {
                name: "eth0".into(),
                mac: Some("0a:58:0a:01:00:05".into()),
                sandbox: Some("/var/run/netns/c1".into()),
            },
        ],
        ips: vec![
            IpConfig {
                address: "10.1.0.5/32".parse().unwrap(),
                gateway: None,
                interface: Some(1),
            },
            IpConfig {
                address: "fd00::5/128".parse().unwrap(),
                gateway: None,
                interface: Some(1),
            },
        ],
        routes: vec![
            Route {
                dst: "0.0.0.0/0".parse().unwrap(),
                gw: Some("169.254.1.1".parse().unwrap()),
            },
            Route {
                dst: "::/0".parse().unwrap(),
                gw: Some("fe80::ecee:eeff:feee:eeee".parse().unwrap()),
            },
        ],
        dns: Dns::default(),
    }
}

#[test]
fn version_1_0_0_has_no_ip_version_field() {
    let expected = json!({
        "cniVersion": "1.0.0",
        "interfaces": [
            {"name": "cali0123456789a", "mac": "ee:ee:ee:ee:ee:ee"},
            {"name": "eth0", "mac": "0a:58:0a:01:00:05", "sandbox": "/var/run/netns/c1"}
        ],
        "ips": [
            {"interface": 1, "address": "10.1.0.5/32"},
            {"interface": 1, "address": "fd00::5/128"}
        ],
        "routes": [
            {"dst": "0.0.0.0/0", "gw": "169.254.1.1"},
            {"dst": "::/0", "gw": "fe80::ecee:eeff:feee:eeee"}
        ],
        "dns": {}
    });
    assert_eq!(dual_stack().to_json(CniVersion::V1_0_0).unwrap(), expected);
}

#[test]
fn versions_0_3_x_and_0_4_0_tag_each_ip_with_its_family() {
    for v in [CniVersion::V0_3_0, CniVersion::V0_3_1, CniVersion::V0_4_0] {
        let expected = json!({
            "cniVersion": v.as_str(),
            "interfaces": [
                {"name": "cali0123456789a", "mac": "ee:ee:ee:ee:ee:ee"},
                {"name": "eth0", "mac": "0a:58:0a:01:00:05", "sandbox": "/var/run/netns/c1"}
            ],
            "ips": [
                {"version": "4", "interface": 1, "address": "10.1.0.5/32"},
                {"version": "6", "interface": 1, "address": "fd00::5/128"}
            ],
            "routes": [
                {"dst": "0.0.0.0/0", "gw": "169.254.1.1"},
                {"dst": "::/0", "gw": "fe80::ecee:eeff:feee:eeee"}
            ],
            "dns": {}
        });
        assert_eq!(dual_stack().to_json(v).unwrap(), expected, "{v}");
    }
}

#[test]
fn versions_0_1_0_and_0_2_0_use_ip4_and_ip6_with_their_routes() {
    for v in [CniVersion::V0_1_0, CniVersion::V0_2_0] {
        let expected = json!({
            "cniVersion": v.as_str(),
            "ip4": {"ip": "10.1.0.5/32", "routes": [{"dst": "0.0.0.0/0", "gw": "169.254.1.1"}]},
            "ip6": {"ip": "fd00::5/128", "routes": [{"dst": "::/0", "gw": "fe80::ecee:eeff:feee:eeee"}]},
            "dns": {}
        });
        assert_eq!(dual_stack().to_json(v).unwrap(), expected, "{v}");
    }
    assert_eq!(
        CniResult::default().to_json(CniVersion::V0_2_0),
        Err(ResultError::NoAddressFor(CniVersion::V0_2_0))
    );
}

#[test]
fn only_the_first_address_of_a_family_survives_in_0_2_0() {
    let mut r = dual_stack();
    r.ips.insert(
        1,
        IpConfig {
            address: "10.1.0.6/32".parse().unwrap(),
            gateway: Some("10.1.0.1".parse().unwrap()),
            interface: Some(1),
        },
    );
    let j = r.to_json(CniVersion::V0_2_0).unwrap();
    assert_eq!(j["ip4"]["ip"], "10.1.0.5/32");
    assert!(j["ip4"].get("gateway").is_none());
}

#[test]
fn every_shape_reads_back() {
    let r = dual_stack();
    for v in [CniVersion::V0_3_1, CniVersion::V0_4_0, CniVersion::V1_0_0] {
        let back = CniResult::from_json(&r.to_json(v).unwrap()).unwrap();
        assert_eq!(back, r, "{v}");
    }
    // 0.2.0 loses the interfaces and the interface indexes only.
    let back = CniResult::from_json(&r.to_json(CniVersion::V0_2_0).unwrap()).unwrap();
    assert!(back.interfaces.is_empty());
    assert_eq!(back.ips.len(), 2);
    assert_eq!(back.routes, r.routes);
}

#[test]
fn an_ipam_answer_with_a_gateway_and_dns_reads() {
    // The shape host-local prints for 0.4.0.
    let j = json!({
        "cniVersion": "0.4.0",
        "ips": [{"version": "4", "address": "10.22.0.2/16", "gateway": "10.22.0.1"}],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dns": {"nameservers": ["10.22.0.1"]}
    });
    let r = CniResult::from_json(&j).unwrap();
    assert_eq!(r.ips[0].address.to_string(), "10.22.0.2/16");
    assert_eq!(r.ips[0].gateway, Some("10.22.0.1".parse().unwrap()));
    assert_eq!(r.routes[0].gw, None);
    assert_eq!(r.dns.nameservers, vec!["10.22.0.1".to_string()]);
}

#[test]
fn malformed_results_are_errors_not_panics() {
    for bad in [
        json!([]),
        json!({"ips": {}}),
        json!({"ips": [{"address": "10.0.0.300/32"}]}),
        json!({"ips": [{"address": "10.0.0.1/32", "gateway": 5}]}),
        json!({"ips": [{"address": "10.0.0.1/32", "interface": -1}]}),
        json!({"ip4": {"ip": 7}}),
        json!({"routes": [{"gw": "10.0.0.1"}]}),
    ] {
        assert!(CniResult::from_json(&bad).is_err(), "{bad}");
    }
}
