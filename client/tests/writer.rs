//! The kernel writer against a real kernel, in a network namespace:
//! install, replace, multipath, delete, routes of other protocols left
//! alone, and the restart-window reconciliation.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use bgp_client::kernel::route::RouteChange;
use bgp_client::kernel::writer::{Outcome, Placement, RouteWriter, WriterConfig, WriterError};
use common::{ip_routes, run_in, runtime_in};
use ipnetwork::IpNetwork;
use reflex_testlab::{Host, Lab, skip_unless};

fn host(lab: &mut Lab) -> Host {
    let host = lab.host("w").unwrap();
    host.run(&[
        "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d0p",
    ])
    .unwrap();
    host.run(&["ip", "link", "set", "d0p", "up"]).unwrap();
    host.run(&["ip", "link", "set", "d0", "up"]).unwrap();
    host.add_address("d0", "10.210.0.1/24").unwrap();
    host.add_address("d0", "fd00:210::1/64").unwrap();
    host
}

fn config(window: Duration, remove_on_stop: bool) -> WriterConfig {
    WriterConfig {
        placement: Placement {
            table: 254,
            metric: 10,
            protocol: 186,
        },
        restart_window: window,
        remove_on_stop,
    }
}

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn ours(host: &Host, prefix: &str) -> Vec<String> {
    let v6 = if prefix.contains(':') { "-6" } else { "-4" };
    host.run(&["ip", v6, "route", "show", prefix, "proto", "186"])
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn installs_replaces_multipaths_and_deletes() {
    if skip_unless(&["ip"]) {
        return;
    }
    common::init_logging();
    let mut lab = Lab::new("writer-basic").unwrap();
    let host = host(&mut lab);
    let runtime = runtime_in(&host);
    let mut writer = run_in(&runtime, RouteWriter::open(config(Duration::ZERO, true))).unwrap();
    assert_eq!(
        writer.reconcile_deadline(),
        None,
        "nothing left from a previous run"
    );

    let p = net("10.220.0.0/24");
    let step = |writer: RouteWriter, gateways: Vec<IpAddr>| {
        run_in(&runtime, async move {
            let mut writer = writer;
            let outcome = if gateways.is_empty() {
                writer.remove(p).await
            } else {
                writer.set(p, &gateways).await
            };
            (writer, outcome.expect("the kernel accepts"))
        })
    };
    let outcome;
    (writer, outcome) = step(writer, ips(&["10.210.0.2"]));
    assert_eq!(outcome, Outcome::Installed);
    assert_eq!(
        ours(&host, "10.220.0.0/24"),
        ["10.220.0.0/24 via 10.210.0.2 dev d0 metric 10"]
    );
    let listed = ip_routes(&host, &["proto", "186"]);
    assert!(
        listed.iter().any(|l| l.starts_with("10.220.0.0/24")),
        "{listed:?}"
    );

    let outcome;
    (writer, outcome) = step(writer, ips(&["10.210.0.2"]));
    assert_eq!(outcome, Outcome::Unchanged);

    let outcome;
    (writer, outcome) = step(writer, ips(&["10.210.0.3"]));
    assert_eq!(outcome, Outcome::Replaced);
    assert_eq!(
        ours(&host, "10.220.0.0/24"),
        ["10.220.0.0/24 via 10.210.0.3 dev d0 metric 10"]
    );

    let outcome;
    (writer, outcome) = step(writer, ips(&["10.210.0.3", "10.210.0.2"]));
    assert_eq!(outcome, Outcome::Replaced);
    assert_eq!(
        ours(&host, "10.220.0.0/24"),
        [
            "10.220.0.0/24 metric 10",
            "nexthop via 10.210.0.2 dev d0 weight 1",
            "nexthop via 10.210.0.3 dev d0 weight 1"
        ]
    );

    let outcome;
    (writer, outcome) = step(writer, vec![]);
    assert_eq!(outcome, Outcome::Removed);
    assert!(ours(&host, "10.220.0.0/24").is_empty());

    // IPv6, single and multipath.
    let mut writer = run_in(&runtime, async move {
        let p6 = net("fd00:220::/64");
        assert_eq!(
            writer.set(p6, &ips(&["fd00:210::2"])).await.unwrap(),
            Outcome::Installed
        );
        assert_eq!(
            writer
                .set(p6, &ips(&["fd00:210::2", "fd00:210::3"]))
                .await
                .unwrap(),
            Outcome::Replaced
        );
        writer
    });
    let v6 = ours(&host, "fd00:220::/64");
    assert_eq!(v6.len(), 3, "{v6:?}");
    assert!(
        v6[1].starts_with("nexthop via fd00:210::2 dev d0"),
        "{v6:?}"
    );

    // A clean stop removes everything we installed, and only that.
    host.run(&["ip", "route", "add", "10.222.0.0/24", "via", "10.210.0.2"])
        .unwrap();
    let removed = run_in(&runtime, async move { writer.stop().await.unwrap() });
    assert_eq!(removed, 1);
    assert!(ip_routes(&host, &["proto", "186"]).is_empty());
    assert!(ours(&host, "fd00:220::/64").is_empty());
    assert_eq!(ip_routes(&host, &["10.222.0.0/24"]).len(), 1);
}

#[test]
fn routes_of_other_protocols_are_never_touched() {
    if skip_unless(&["ip"]) {
        return;
    }
    common::init_logging();
    let mut lab = Lab::new("writer-foreign").unwrap();
    let host = host(&mut lab);
    // Present before the writer starts, another metric.
    host.run(&[
        "ip",
        "route",
        "add",
        "10.230.0.0/24",
        "via",
        "10.210.0.2",
        "proto",
        "static",
    ])
    .unwrap();
    let runtime = runtime_in(&host);
    let writer = run_in(&runtime, RouteWriter::open(config(Duration::ZERO, false))).unwrap();
    let mut writer = run_in(&runtime, async move {
        let mut writer = writer;
        assert_eq!(
            writer
                .set(net("10.230.0.0/24"), &ips(&["10.210.0.3"]))
                .await
                .unwrap(),
            Outcome::Foreign
        );
        writer
    });
    assert_eq!(
        ip_routes(&host, &["10.230.0.0/24"]),
        ["10.230.0.0/24 via 10.210.0.2 dev d0 proto static "]
    );

    // Added after the writer started, with our metric: the kernel says
    // EEXIST, and the writer leaves it.
    host.run(&[
        "ip",
        "route",
        "add",
        "10.231.0.0/24",
        "via",
        "10.210.0.2",
        "metric",
        "10",
        "proto",
        "static",
    ])
    .unwrap();
    writer = run_in(&runtime, async move {
        assert_eq!(
            writer
                .set(net("10.231.0.0/24"), &ips(&["10.210.0.3"]))
                .await
                .unwrap(),
            Outcome::Foreign
        );
        assert_eq!(
            writer.remove(net("10.231.0.0/24")).await.unwrap(),
            Outcome::Absent
        );
        writer
    });
    assert_eq!(
        ip_routes(&host, &["10.231.0.0/24"]),
        ["10.231.0.0/24 via 10.210.0.2 dev d0 proto static metric 10 "]
    );

    // Ours, then replaced behind our back by another protocol's route:
    // once told (the agent feeds the reader's changes), the writer
    // neither replaces nor deletes it.
    writer = run_in(&runtime, async move {
        assert_eq!(
            writer
                .set(net("10.232.0.0/24"), &ips(&["10.210.0.3"]))
                .await
                .unwrap(),
            Outcome::Installed
        );
        writer
    });
    host.run(&[
        "ip",
        "route",
        "replace",
        "10.232.0.0/24",
        "via",
        "10.210.0.2",
        "metric",
        "10",
        "proto",
        "static",
    ])
    .unwrap();
    let theirs = run_in(&runtime, async move {
        let handle = bgp_client::kernel::netlink::connect().unwrap();
        let routes = bgp_client::kernel::netlink::dump_all_routes(&handle)
            .await
            .unwrap();
        routes
            .iter()
            .filter_map(|m| bgp_client::kernel::route::decode_route(m, &Default::default()).ok())
            .find(|r| r.key.prefix == net("10.232.0.0/24"))
            .unwrap()
    });
    assert_eq!(theirs.protocol, 4);
    writer = run_in(&runtime, async move {
        writer.observe(&RouteChange::Upsert(theirs)).await.unwrap();
        assert_eq!(
            writer
                .set(net("10.232.0.0/24"), &ips(&["10.210.0.4"]))
                .await
                .unwrap(),
            Outcome::Foreign
        );
        assert_eq!(
            writer.remove(net("10.232.0.0/24")).await.unwrap(),
            Outcome::Absent
        );
        writer
    });
    assert_eq!(
        ip_routes(&host, &["10.232.0.0/24"]),
        ["10.232.0.0/24 via 10.210.0.2 dev d0 proto static metric 10 "]
    );

    // When the other route goes, the learned one is installed.
    host.run(&["ip", "route", "del", "10.230.0.0/24", "proto", "static"])
        .unwrap();
    let gone = bgp_client::kernel::route::KernelRoute {
        key: bgp_client::kernel::route::RouteKey {
            table: 254,
            prefix: net("10.230.0.0/24"),
            tos: 0,
            metric: 0,
        },
        protocol: 4,
        kind: bgp_client::kernel::route::RouteKind::Unicast,
        scope: 0,
        next_hops: vec![],
    };
    let outcome = run_in(&runtime, async move {
        writer.observe(&RouteChange::Removed(gone)).await.unwrap()
    });
    assert_eq!(outcome, Some(Outcome::Installed));
    assert_eq!(
        ours(&host, "10.230.0.0/24"),
        ["10.230.0.0/24 via 10.210.0.3 dev d0 metric 10"]
    );
}

#[test]
fn leftovers_stay_for_the_window_then_go_unless_learned_again() {
    if skip_unless(&["ip"]) {
        return;
    }
    common::init_logging();
    let mut lab = Lab::new("writer-reconcile").unwrap();
    let host = host(&mut lab);
    for prefix in ["10.240.0.0/24", "10.241.0.0/24"] {
        host.run(&[
            "ip",
            "route",
            "add",
            prefix,
            "via",
            "10.210.0.2",
            "metric",
            "10",
            "proto",
            "186",
        ])
        .unwrap();
    }
    // Protocol 186 but another metric: not one of ours.
    host.run(&[
        "ip",
        "route",
        "add",
        "10.242.0.0/24",
        "via",
        "10.210.0.2",
        "metric",
        "99",
        "proto",
        "186",
    ])
    .unwrap();
    let runtime = runtime_in(&host);
    let window = Duration::from_millis(800);
    let started = std::time::Instant::now();
    let mut writer = run_in(&runtime, RouteWriter::open(config(window, false))).unwrap();
    assert!(writer.reconcile_deadline().is_some());
    assert_eq!(writer.installed().len(), 2, "our two leftovers are adopted");

    writer = run_in(&runtime, async move {
        // Learned again with the same next hop: nothing to write.
        assert_eq!(
            writer
                .set(net("10.240.0.0/24"), &ips(&["10.210.0.2"]))
                .await
                .unwrap(),
            Outcome::Unchanged
        );
        writer
    });
    assert_eq!(
        ip_routes(&host, &["proto", "186"]).len(),
        3,
        "all stay during the window"
    );

    let deadline = writer.reconcile_deadline().unwrap();
    let removed = run_in(&runtime, async move {
        tokio::time::sleep_until(deadline).await;
        writer.finish_reconcile().await.unwrap()
    });
    assert!(started.elapsed() >= window);
    assert_eq!(removed, 1);
    let left = ip_routes(&host, &["proto", "186"]);
    assert_eq!(
        left,
        [
            "10.240.0.0/24 via 10.210.0.2 dev d0 metric 10 ",
            "10.242.0.0/24 via 10.210.0.2 dev d0 metric 99 "
        ]
    );
}

#[test]
fn stale_notifications_and_unknown_routes_of_ours_are_checked_with_the_kernel() {
    if skip_unless(&["ip"]) {
        return;
    }
    common::init_logging();
    let mut lab = Lab::new("writer-races").unwrap();
    let host = host(&mut lab);
    let runtime = runtime_in(&host);
    // Metric 0: IPv6 makes it 1024, and the writer must still know its own.
    let zero = WriterConfig {
        placement: Placement {
            metric: 0,
            ..config(Duration::ZERO, false).placement
        },
        ..config(Duration::ZERO, false)
    };
    let writer = run_in(&runtime, RouteWriter::open(zero)).unwrap();
    let writer = run_in(&runtime, async move {
        let mut writer = writer;
        let p = net("10.250.0.0/24");
        assert_eq!(
            writer.set(p, &ips(&["10.210.0.2"])).await.unwrap(),
            Outcome::Installed
        );
        // A removal notification older than the route now there (the
        // route was deleted and learned again): the kernel says it is
        // there, so nothing changes.
        let handle = bgp_client::kernel::netlink::connect().unwrap();
        let old = bgp_client::kernel::netlink::dump_all_routes(&handle)
            .await
            .unwrap()
            .iter()
            .filter_map(|m| bgp_client::kernel::route::decode_route(m, &Default::default()).ok())
            .find(|r| r.key.prefix == p)
            .unwrap();
        assert_eq!(old.protocol, 186);
        assert_eq!(
            writer
                .observe(&RouteChange::Removed(old.clone()))
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            writer.observe(&RouteChange::Upsert(old)).await.unwrap(),
            None
        );
        assert_eq!(
            writer.set(p, &ips(&["10.210.0.3"])).await.unwrap(),
            Outcome::Replaced
        );

        let v6 = net("fd00:250::/64");
        assert_eq!(
            writer.set(v6, &ips(&["fd00:210::2"])).await.unwrap(),
            Outcome::Installed
        );
        writer
    });
    assert_eq!(ours(&host, "fd00:250::/64").len(), 1);
    assert!(ours(&host, "fd00:250::/64")[0].contains("metric 1024"));
    drop(writer);

    // A route of ours the writer does not know (added by hand here): the
    // create meets EEXIST, the route is adopted and replaced.
    host.run(&[
        "ip",
        "route",
        "add",
        "10.251.0.0/24",
        "via",
        "10.210.0.2",
        "proto",
        "186",
    ])
    .unwrap();
    let reopened = run_in(&runtime, async move {
        let mut writer = RouteWriter::open(zero).await.unwrap();
        // Both earlier routes (IPv6 at 1024 included) are recognised as ours.
        let adopted = writer.installed().len();
        writer.finish_reconcile().await.unwrap();
        let p = net("10.252.0.0/24");
        let cmd = tokio::process::Command::new("ip")
            .args([
                "route",
                "add",
                "10.252.0.0/24",
                "via",
                "10.210.0.2",
                "proto",
                "186",
            ])
            .status()
            .await
            .unwrap();
        assert!(cmd.success());
        let outcome = writer.set(p, &ips(&["10.210.0.3"])).await.unwrap();
        (adopted, outcome)
    });
    assert_eq!(reopened.0, 3, "10.250, fd00:250 and 10.251 adopted");
    assert_eq!(reopened.1, Outcome::Replaced);
    assert_eq!(
        ours(&host, "10.252.0.0/24"),
        ["10.252.0.0/24 via 10.210.0.3 dev d0"]
    );
}

/// `set_many` (requests in flight together): 2,000 creates, replaces and
/// deletes in one call, each with its own outcome; a route of another
/// protocol with our metric (EEXIST) and an unreachable gateway fail or
/// yield alone without spoiling the others.
#[test]
fn a_batch_pipelines_requests_and_keeps_each_outcome() {
    if skip_unless(&["ip"]) {
        return;
    }
    common::init_logging();
    let mut lab = Lab::new("writer-batch").unwrap();
    let host = host(&mut lab);
    // Someone else's route with our metric, unknown to the writer at open.
    let runtime = runtime_in(&host);
    let writer = run_in(&runtime, RouteWriter::open(config(Duration::ZERO, true))).unwrap();
    host.run(&[
        "ip",
        "route",
        "add",
        "10.240.9.0/24",
        "via",
        "10.210.0.2",
        "metric",
        "10",
        "proto",
        "static",
    ])
    .unwrap();
    let hosts: Vec<IpNetwork> = (0..2000u32)
        .map(|i| net(&format!("10.241.{}.{}/32", i / 250, i % 250)))
        .collect();
    let first: Vec<(IpNetwork, Vec<IpAddr>)> = hosts
        .iter()
        .map(|p| (*p, ips(&["10.210.0.2"])))
        .chain([
            (net("10.240.9.0/24"), ips(&["10.210.0.3"])),
            // Not on-link: the kernel refuses this one alone.
            (net("10.240.8.0/24"), ips(&["192.0.2.99"])),
            // Given twice: the last entry wins.
            (net("fd00:241::/64"), ips(&["fd00:210::2"])),
            (net("fd00:241::/64"), ips(&["fd00:210::3"])),
        ])
        .collect();
    let (writer, results) = run_in(&runtime, async move {
        let mut writer = writer;
        let results = writer.set_many(first).await;
        (writer, results)
    });
    let outcome = |results: &[(IpNetwork, Result<Outcome, _>)], p: &str| {
        let found: Vec<_> = results.iter().filter(|(q, _)| *q == net(p)).collect();
        assert_eq!(found.len(), 1, "{p}: one outcome");
        found[0]
            .1
            .as_ref()
            .map(|o| *o)
            .map_err(|e: &WriterError| e.to_string())
    };
    assert_eq!(results.len(), 2003);
    assert_eq!(outcome(&results, "10.241.0.7/32"), Ok(Outcome::Installed));
    assert_eq!(outcome(&results, "10.240.9.0/24"), Ok(Outcome::Foreign));
    assert!(outcome(&results, "10.240.8.0/24").is_err());
    assert_eq!(outcome(&results, "fd00:241::/64"), Ok(Outcome::Installed));
    let count = |v6: &str| {
        host.run(&["ip", v6, "route", "show", "proto", "186"])
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(count("-4"), 2000, "every host route, nothing else");
    assert_eq!(ours(&host, "fd00:241::/64").len(), 1);
    assert!(ours(&host, "fd00:241::/64")[0].contains("via fd00:210::3"));
    assert_eq!(writer.stats().failed, 1);
    assert_eq!(
        ip_routes(&host, &["10.240.9.0/24"]),
        ["10.240.9.0/24 via 10.210.0.2 dev d0 proto static metric 10 "]
    );

    // Half replaced, half removed, one unchanged.
    let second: Vec<(IpNetwork, Vec<IpAddr>)> = hosts
        .iter()
        .enumerate()
        .map(|(i, p)| match i {
            0 => (*p, ips(&["10.210.0.2"])),
            i if i % 2 == 0 => (*p, ips(&["10.210.0.3"])),
            _ => (*p, vec![]),
        })
        .collect();
    let (writer, results) = run_in(&runtime, async move {
        let mut writer = writer;
        let results = writer.set_many(second).await;
        (writer, results)
    });
    assert_eq!(outcome(&results, "10.241.0.0/32"), Ok(Outcome::Unchanged));
    assert_eq!(outcome(&results, "10.241.0.2/32"), Ok(Outcome::Replaced));
    assert_eq!(outcome(&results, "10.241.0.1/32"), Ok(Outcome::Removed));
    assert_eq!(count("-4"), 1000);
    assert!(ours(&host, "10.241.0.2/32")[0].contains("via 10.210.0.3"));
    assert!(ours(&host, "10.241.0.0/32")[0].contains("via 10.210.0.2"));
    assert_eq!(writer.installed().len(), 1001);
    let stats = writer.stats();
    assert_eq!((stats.replaced, stats.removed), (999, 1000));
    drop(writer);
}
