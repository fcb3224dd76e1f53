//! The `calico` and `calico-ipam` binaries run as a container runtime runs
//! them, against a real etcd and real network namespaces: ADD gives the
//! container addresses that answer ping from the host through the veth and a
//! WorkloadEndpoint in etcd; CHECK passes, then fails once a route is
//! broken; DEL removes every trace and can be repeated; a failed ADD
//! (interface name taken, pool exhausted) leaves nothing behind.

mod common;

use common::world;
use reflex_cni::dataplane::host_veth_name;
use reflex_datastore::model::{Kind, Resource, ResourceKey};
use serde_json::{Value, json};

/// A /24 of 10.0.0.0/8 for this process and test number, unlikely to meet
/// another run's.
fn v4_pool(n: u32) -> String {
    let pid = std::process::id();
    format!(
        "10.{}.{}.0/24",
        200 + (pid % 40) as u8,
        ((pid / 40) % 64 * 4 + n) as u8
    )
}

fn v6_pool(n: u32) -> String {
    format!("fd5e:{:x}:{n}::/120", std::process::id() & 0xffff)
}

fn assert_ok(run: &common::Run, what: &str) {
    assert!(
        run.ok,
        "{what} failed: {}\nstderr:\n{}",
        run.json, run.stderr
    );
}

#[tokio::test]
async fn add_check_del_dual_stack_against_etcd_and_the_kernel() {
    let Some(mut w) = world("dual").await else {
        return;
    };
    w.pool("v4", &v4_pool(0), 26).await;
    w.pool("v6", &v6_pool(0), 122).await;
    let id = w.container_id(1);
    let host_if = host_veth_name(&id);
    let (container, netns) = w.container("c1");
    let conf = w.conf(
        "1.0.0",
        json!({"ipam": {"type": "calico-ipam", "assign_ipv4": "true", "assign_ipv6": "true"}}),
    );

    // ADD.
    let add = w.calico("ADD", &id, Some(&netns), &conf);
    assert_ok(&add, "ADD");
    let r = &add.json;
    assert_eq!(r["cniVersion"], "1.0.0");
    assert_eq!(r["interfaces"][0]["name"], host_if.as_str());
    assert_eq!(r["interfaces"][0]["mac"], "ee:ee:ee:ee:ee:ee");
    assert_eq!(r["interfaces"][1]["name"], "eth0");
    assert_eq!(r["interfaces"][1]["sandbox"], netns.display().to_string());
    let mac = r["interfaces"][1]["mac"].as_str().unwrap().to_string();
    let ips: Vec<String> = r["ips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["address"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ips.len(), 2, "{r}");
    assert!(
        ips[0].ends_with("/32") && ips[1].ends_with("/128"),
        "{ips:?}"
    );
    assert!(
        r["ips"][0].get("version").is_none(),
        "1.0.0 has no version field"
    );
    let v4: std::net::IpAddr = ips[0].trim_end_matches("/32").parse().unwrap();
    let v6: std::net::IpAddr = ips[1].trim_end_matches("/128").parse().unwrap();
    let pool4: ipnetwork::IpNetwork = v4_pool(0).parse().unwrap();
    let pool6: ipnetwork::IpNetwork = v6_pool(0).parse().unwrap();
    assert!(pool4.contains(v4) && pool6.contains(v6), "{ips:?}");
    assert_eq!(
        r["routes"],
        json!([
            {"dst": "0.0.0.0/0", "gw": "169.254.1.1"},
            {"dst": "::/0", "gw": "fe80::ecee:eeff:feee:eeee"}
        ])
    );

    // The kernel: the host end, the container end, routes on both sides.
    assert!(w.host_link_exists(&host_if));
    let host_link = w.ip(&["link", "show", "dev", &host_if]);
    assert!(
        host_link.contains("ee:ee:ee:ee:ee:ee") && host_link.contains("mtu 1400"),
        "{host_link}"
    );
    let host_routes = w.ip(&["route", "show", "dev", &host_if]);
    assert!(
        host_routes.contains(&format!("{v4} proto 80 scope link")),
        "{host_routes}"
    );
    let inside = container
        .run(&["ip", "addr", "show", "dev", "eth0"])
        .unwrap();
    assert!(
        inside.contains(&ips[0]) && inside.contains(&ips[1]) && inside.contains(&mac),
        "{inside}"
    );
    let routes4 = container.run(&["ip", "route"]).unwrap();
    assert!(
        routes4.contains("default via 169.254.1.1 dev eth0"),
        "{routes4}"
    );
    assert!(routes4.contains("169.254.1.1 dev eth0"), "{routes4}");
    let routes6 = container.run(&["ip", "-6", "route"]).unwrap();
    assert!(
        routes6.contains("default via fe80::ecee:eeff:feee:eeee dev eth0"),
        "{routes6}"
    );

    // Traffic both ways through the veth (proxy ARP answers 169.254.1.1).
    assert!(w.ping(&[&v4.to_string()]), "no IPv4 ping answer from {v4}");
    assert!(
        w.ping(&["-6", &v6.to_string()]),
        "no IPv6 ping answer from {v6}"
    );

    // etcd: the endpoint, the profile, the IPAM handle.
    let Some(Resource::WorkloadEndpoint(wep)) = w.wep(&id).await else {
        panic!("no WorkloadEndpoint")
    };
    assert_eq!(
        wep.metadata.name,
        format!("{}-cni-{id}-eth0", w.node.replace('-', "--"))
    );
    assert_eq!(wep.metadata.namespace.as_deref(), Some("default"));
    assert_eq!(wep.spec.node, w.node);
    assert_eq!(wep.spec.orchestrator, "cni");
    assert_eq!(wep.spec.workload, id);
    assert_eq!(wep.spec.container_id, id);
    assert_eq!(wep.spec.endpoint, "eth0");
    assert_eq!(wep.spec.interface_name, host_if);
    assert_eq!(wep.spec.mac, mac);
    assert_eq!(wep.spec.ip_networks, ips);
    assert_eq!(wep.spec.profiles, vec![format!("net-{}", w.tag)]);
    let profile = w
        .get(ResourceKey::global(Kind::Profile, format!("net-{}", w.tag)))
        .await;
    assert!(profile.is_some(), "the network's profile was not created");
    let mut held = w.handle_ips(&id).await;
    held.sort();
    assert_eq!(held, vec![v4, v6]);

    // CHECK passes with the ADD result as prevResult...
    let mut check_conf = conf.clone();
    check_conf["prevResult"] = r.clone();
    let check = w.calico("CHECK", &id, Some(&netns), &check_conf);
    assert_ok(&check, "CHECK");
    assert_eq!(check.json, Value::Null);
    // ...and fails once the container's default route is gone.
    container.run(&["ip", "route", "del", "default"]).unwrap();
    let check = w.calico("CHECK", &id, Some(&netns), &check_conf);
    assert!(!check.ok, "CHECK passed without the default route");
    assert_eq!(check.json["code"], 104, "{}", check.json);
    assert!(
        check.json["details"]
            .as_str()
            .unwrap()
            .contains("0.0.0.0/0"),
        "{}",
        check.json
    );

    // DEL removes every trace; a second DEL succeeds too.
    let del = w.calico("DEL", &id, Some(&netns), &conf);
    assert_ok(&del, "DEL");
    assert!(!w.host_link_exists(&host_if), "the host end survived DEL");
    assert!(
        w.wep(&id).await.is_none(),
        "the WorkloadEndpoint survived DEL"
    );
    assert!(
        w.handle_ips(&id).await.is_empty(),
        "the addresses were not released"
    );
    assert!(
        container.run(&["ip", "link", "show", "eth0"]).is_err(),
        "eth0 survived DEL"
    );
    assert!(
        !w.ip(&["route"]).contains(&format!("{v4} ")),
        "the host route survived"
    );
    let again = w.calico("DEL", &id, Some(&netns), &conf);
    assert_ok(&again, "second DEL");
}

#[tokio::test]
async fn a_taken_interface_name_fails_add_and_leaves_nothing() {
    let Some(mut w) = world("taken").await else {
        return;
    };
    w.pool("v4", &v4_pool(1), 26).await;
    let id = w.container_id(1);
    let host_if = host_veth_name(&id);
    let (container, netns) = w.container("c1");
    container
        .run(&[
            "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "other0",
        ])
        .unwrap();
    let conf = w.conf("0.4.0", json!({}));
    let add = w.calico("ADD", &id, Some(&netns), &conf);
    assert!(!add.ok, "ADD succeeded over an existing eth0");
    assert_eq!(add.json["code"], 103, "{}", add.json);
    assert_eq!(add.json["cniVersion"], "0.4.0");
    assert!(
        add.json["msg"].as_str().unwrap().contains("already exists"),
        "{}",
        add.json
    );
    assert!(!w.host_link_exists(&host_if), "the host end was left");
    assert!(w.wep(&id).await.is_none(), "a WorkloadEndpoint was left");
    assert!(
        w.handle_ips(&id).await.is_empty(),
        "the addresses were not released"
    );
    let link = container.run(&["ip", "link", "show", "eth0"]).unwrap();
    assert!(
        link.contains("eth0@other0"),
        "the container's own eth0 was touched: {link}"
    );
}

#[tokio::test]
async fn an_exhausted_pool_fails_add_and_leaves_nothing() {
    let Some(mut w) = world("exhaust").await else {
        return;
    };
    // A pool of one /30 block: four addresses.
    let pool = v4_pool(2).replace(".0/24", ".0/30");
    w.pool("tiny", &pool, 30).await;
    let conf = w.conf(
        "0.3.1",
        json!({"ipam": {"type": "calico-ipam", "ipv4_pools": ["tiny"]}}),
    );
    let mut added = Vec::new();
    let mut failure = None;
    for n in 0..8 {
        let id = w.container_id(n);
        let (_, netns) = w.container(&format!("c{n}"));
        let add = w.calico("ADD", &id, Some(&netns), &conf);
        if add.ok {
            assert_eq!(add.json["ips"][0]["version"], "4", "0.3.1 tags families");
            added.push((id, netns));
        } else {
            failure = Some((id, add));
            break;
        }
    }
    let (id, add) = failure.expect("the pool never ran out");
    assert_eq!(added.len(), 4, "a /30 block holds four addresses");
    assert_eq!(add.json["code"], 101, "{}", add.json);
    assert!(
        add.json["msg"].as_str().unwrap().contains("exhausted"),
        "{}",
        add.json
    );
    assert!(!w.host_link_exists(&host_veth_name(&id)));
    assert!(w.wep(&id).await.is_none());
    assert!(w.handle_ips(&id).await.is_empty());
    // Releasing one makes room again.
    let (first, first_ns) = &added[0];
    assert_ok(&w.calico("DEL", first, Some(first_ns), &conf), "DEL");
    let (_, netns) = w.container("again");
    let again = w.calico("ADD", &id, Some(&netns), &conf);
    assert_ok(&again, "ADD after a release");
    added.push((id, netns));
    for (id, netns) in added.iter().skip(1) {
        assert_ok(&w.calico("DEL", id, Some(netns), &conf), "DEL");
    }
}

#[tokio::test]
async fn del_succeeds_when_the_namespace_is_already_gone() {
    let Some(mut w) = world("gone").await else {
        return;
    };
    w.pool("v4", &v4_pool(3), 26).await;
    let id = w.container_id(1);
    let host_if = host_veth_name(&id);
    let (container, netns) = w.container("c1");
    let conf = w.conf("0.2.0", json!({}));
    let add = w.calico("ADD", &id, Some(&netns), &conf);
    assert_ok(&add, "ADD");
    assert!(
        add.json["ip4"]["ip"].as_str().unwrap().ends_with("/32"),
        "0.2.0 shape: {}",
        add.json
    );
    assert!(add.json.get("ips").is_none());
    reflex_testlab::netns::run(&["ip", "netns", "del", &container.ns]).unwrap();
    let del = w.calico("DEL", &id, Some(&netns), &conf);
    assert_ok(&del, "DEL without a namespace");
    let del = w.calico("DEL", &id, None, &conf);
    assert_ok(&del, "DEL without CNI_NETNS");
    assert!(!w.host_link_exists(&host_if));
    assert!(w.wep(&id).await.is_none());
    assert!(w.handle_ips(&id).await.is_empty());
}

#[tokio::test]
async fn a_failure_after_the_veth_exists_undoes_the_veth_and_the_address() {
    let Some(mut w) = world("conflict").await else {
        return;
    };
    let pool = v4_pool(4);
    w.pool("v4", &pool, 26).await;
    // The address asked for (CNI_ARGS IP=) already has a host route through
    // another interface: the veth and the container side are set up, then
    // the host route fails.
    let net: ipnetwork::Ipv4Network = pool.parse().unwrap();
    let address = net.nth(9).unwrap().to_string();
    let route = format!("{address}/32");
    w.ip(&["route", "add", &route, "dev", "lo"]);
    assert!(
        w.ip(&["route", "show", &route]).contains("dev lo"),
        "test route not added"
    );

    let id = w.container_id(1);
    let host_if = host_veth_name(&id);
    let (container, netns) = w.container("c1");
    let conf = w.conf("1.0.0", json!({}));
    let args = format!("IP={address}");
    let add = w.calico_with_args("ADD", &id, Some(&netns), &conf, &args);
    assert!(!add.ok, "ADD succeeded over a conflicting route");
    assert_eq!(add.json["code"], 103, "{}", add.json);
    assert!(
        add.json["msg"].as_str().unwrap().contains(&address),
        "{}",
        add.json
    );
    assert!(!w.host_link_exists(&host_if), "the veth was left");
    assert!(
        container.run(&["ip", "link", "show", "eth0"]).is_err(),
        "eth0 was left"
    );
    assert!(w.wep(&id).await.is_none(), "a WorkloadEndpoint was left");
    assert!(
        w.handle_ips(&id).await.is_empty(),
        "the address was not released"
    );
    assert!(
        w.ip(&["route", "show", &route]).contains("dev lo"),
        "the other route was touched"
    );

    // Without the conflict the same address is assigned.
    w.ip(&["route", "del", &route]);
    let add = w.calico_with_args("ADD", &id, Some(&netns), &conf, &args);
    assert_ok(&add, "ADD with IP=");
    assert_eq!(add.json["ips"][0]["address"], format!("{address}/32"));
    assert_ok(&w.calico("DEL", &id, Some(&netns), &conf), "DEL");
}

#[tokio::test]
async fn parallel_adds_on_one_node_get_distinct_working_addresses() {
    let Some(mut w) = world("parallel").await else {
        return;
    };
    w.pool("v4", &v4_pool(5), 29).await;
    let conf = w.conf("1.0.0", json!({}));
    let containers: Vec<(String, std::path::PathBuf)> = (0..8)
        .map(|n| (w.container_id(n), w.container(&format!("c{n}")).1))
        .collect();
    // Eight ADDs at once, as a runtime starting a pod burst does; /29
    // blocks, so the node claims a second block while they race.
    let adds: Vec<common::Run> = std::thread::scope(|s| {
        let handles: Vec<_> = containers
            .iter()
            .map(|(id, ns)| {
                let (w, conf) = (&w, &conf);
                s.spawn(move || w.calico("ADD", id, Some(ns), conf))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut addresses = Vec::new();
    for add in &adds {
        assert_ok(add, "parallel ADD");
        addresses.push(add.json["ips"][0]["address"].as_str().unwrap().to_string());
    }
    let mut unique = addresses.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        8,
        "an address was handed out twice: {addresses:?}"
    );
    for a in &addresses {
        assert!(
            w.ping(&[a.trim_end_matches("/32")]),
            "no ping answer from {a}"
        );
    }
    let dels: Vec<common::Run> = std::thread::scope(|s| {
        let handles: Vec<_> = containers
            .iter()
            .map(|(id, ns)| {
                let (w, conf) = (&w, &conf);
                s.spawn(move || w.calico("DEL", id, Some(ns), conf))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for del in &dels {
        assert_ok(del, "parallel DEL");
    }
    for (id, _) in &containers {
        assert!(!w.host_link_exists(&host_veth_name(id)));
        assert!(w.wep(id).await.is_none());
        assert!(w.handle_ips(id).await.is_empty());
    }
}

#[tokio::test]
async fn a_second_network_for_the_same_container_reuses_its_endpoint() {
    let Some(mut w) = world("reuse").await else {
        return;
    };
    w.pool("v4", &v4_pool(6), 26).await;
    let id = w.container_id(1);
    let (_container, netns) = w.container("c1");
    let conf = w.conf("1.0.0", json!({}));
    let first = w.calico("ADD", &id, Some(&netns), &conf);
    assert_ok(&first, "ADD");
    // The same container on a second network: Calico keeps the one endpoint
    // and adds the network's profile; no second veth, no second address.
    let mut other = conf.clone();
    other["name"] = json!("other-net");
    let second = w.calico("ADD", &id, Some(&netns), &other);
    assert_ok(&second, "second ADD");
    assert_eq!(
        second.json["ips"][0]["address"],
        first.json["ips"][0]["address"]
    );
    assert!(second.json.get("interfaces").is_none(), "{}", second.json);
    let Some(Resource::WorkloadEndpoint(wep)) = w.wep(&id).await else {
        panic!("no WorkloadEndpoint")
    };
    assert_eq!(
        wep.spec.profiles,
        vec![format!("net-{}", w.tag), "other-net".to_string()]
    );
    assert!(
        w.get(ResourceKey::global(Kind::Profile, "other-net"))
            .await
            .is_some(),
        "the second network's profile was not created"
    );
    assert_eq!(w.handle_ips(&id).await.len(), 1);
    assert_ok(&w.calico("DEL", &id, Some(&netns), &conf), "DEL");
    assert!(w.wep(&id).await.is_none());
    assert!(w.handle_ips(&id).await.is_empty());
}
