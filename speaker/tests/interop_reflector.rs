//! Our speaker as a route reflector (RFC 4456) between two real iBGP
//! clients, BIRD and GoBGP, on one switch, for IPv4 and IPv6 unicast over
//! IPv4 sessions: a route of one client reaches the other with
//! ORIGINATOR_ID = the first client's router id, CLUSTER_LIST = [our
//! cluster id] (deliberately not our router id) and its next hop
//! unchanged; our own route reaches both without either attribute; and
//! withdrawals are reflected too.

mod interop_support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bgp_proto::iana::AfiSafi;
use interop_support::{
    BirdRoute, GobgpPath, MAX_WAIT, NsSpeaker, gobgp_rib, ibgp_options, local_attrs,
    parse_bird_routes, speaker_config, wait_for,
};
use reflex_testlab::daemons::{Bird, Gobgp};
use reflex_testlab::{Host, Lab, skip_unless};

const ASN: u32 = 65000;
const NET: u8 = 4;
const CLUSTER_ID: Ipv4Addr = Ipv4Addr::new(10, 210, NET, 254);

fn v4(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 210, NET, last)
}

fn v6(last: u8) -> String {
    format!("fd00:210:{NET}::{last}")
}

/// The switch port of `host` (the lab names it `eth<n>`).
fn switch_port(host: &Host) -> String {
    let links = host.run(&["ip", "-o", "link", "show"]).expect("ip link");
    links
        .lines()
        .filter_map(|line| line.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_string())
        .find(|name| name.starts_with("eth"))
        .expect("a switch port")
}

fn bird_config(with_route: bool) -> String {
    let routes4 = if with_route {
        format!("route 10.210.{NET}1.0/24 blackhole;")
    } else {
        String::new()
    };
    let routes6 = if with_route {
        format!("route fd00:210:{NET}1::/48 blackhole;")
    } else {
        String::new()
    };
    format!(
        r#"
log stderr all;
router id {bird};
protocol device {{ scan time 1; }}
protocol static s4 {{ ipv4; {routes4} }}
protocol static s6 {{ ipv6; {routes6} }}
protocol bgp reflector {{
  local {bird} as {ASN};
  neighbor {rr} as {ASN};
  direct;
  connect delay time 1;
  connect retry time 2;
  ipv4 {{ import all; export all; gateway direct; }};
  ipv6 {{ import all; export all; gateway direct; next hop address {bird6}; }};
}}
"#,
        bird = v4(2),
        rr = v4(1),
        bird6 = v6(2),
    )
}

fn gobgp_config() -> String {
    let mut config = format!(
        r#"
[global.config]
  as = {ASN}
  router-id = "{gobgp}"
  local-address-list = ["{gobgp}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "{rr}"
    peer-as = {ASN}
  [neighbors.timers.config]
    connect-retry = 2
  [neighbors.transport.config]
    local-address = "{gobgp}"
"#,
        gobgp = v4(3),
        rr = v4(1),
    );
    for family in ["ipv4-unicast", "ipv6-unicast"] {
        config += &format!(
            r#"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "{family}"
"#
        );
    }
    config
}

/// GoBGP's paths of `prefix` learned from the reflector.
fn at_gobgp(gobgp: &Gobgp, prefix: &str) -> Option<GobgpPath> {
    let family = if prefix.contains(':') { "ipv6" } else { "ipv4" };
    let rr = v4(1).to_string();
    gobgp_rib(gobgp, family)
        .0
        .into_iter()
        .find(|p| p.prefix == prefix && p.neighbor.as_deref() == Some(rr.as_str()))
}

/// BIRD's route of `prefix` learned from the reflector.
fn at_bird(bird: &Bird, prefix: &str) -> Option<BirdRoute> {
    let out = bird
        .query("show route all protocol reflector")
        .unwrap_or_default();
    parse_bird_routes(&out)
        .into_iter()
        .find(|r| r.prefix == prefix && r.protocol == "reflector")
}

fn report(lab: &Lab, bird: &Bird, gobgp: &Gobgp, rr: &NsSpeaker) -> String {
    format!(
        "--- BIRD log ---\n{}\n--- birdc show route all ---\n{}\n--- gobgpd log ---\n{}\n--- gobgp ipv4 ---\n{}\n--- gobgp ipv6 ---\n{}\n{}",
        lab.log(&bird.label),
        bird.query("show route all").unwrap_or_default(),
        lab.log(&gobgp.label),
        gobgp_rib(gobgp, "ipv4").1,
        gobgp_rib(gobgp, "ipv6").1,
        rr.describe()
    )
}

#[test]
fn reflector_between_bird_and_gobgp_sets_originator_id_and_cluster_list() {
    if skip_unless(&["bird", "birdc", "gobgpd", "gobgp"]) {
        return;
    }
    let started = Instant::now();
    let mut lab = Lab::new("interop-rr").expect("lab");
    let rr_host = lab.host("rr").unwrap();
    let bird_host = lab.host("bird").unwrap();
    let gobgp_host = lab.host("gobgp").unwrap();
    lab.switch(
        "sw",
        &[
            (&rr_host, &format!("{}/24", v4(1))),
            (&bird_host, &format!("{}/24", v4(2))),
            (&gobgp_host, &format!("{}/24", v4(3))),
        ],
    )
    .unwrap();
    for (host, last) in [(&rr_host, 1), (&bird_host, 2), (&gobgp_host, 3)] {
        host.add_address(&switch_port(host), &format!("{}/64", v6(last)))
            .unwrap();
    }
    let bird = Bird::start(&mut lab, &bird_host, &bird_config(true))
        .unwrap_or_else(|e| panic!("BIRD starts: {e}\n{}", lab.log("bird-bird")));
    let gobgp = Gobgp::start(&mut lab, &gobgp_host, &gobgp_config(), 50051)
        .unwrap_or_else(|e| panic!("gobgpd starts: {e}\n{}", lab.log("gobgpd-gobgp")));
    for (prefix, family, nh) in [
        (format!("10.210.{NET}2.0/24"), "ipv4", v4(3).to_string()),
        (format!("fd00:210:{NET}2::/48"), "ipv6", v6(3)),
    ] {
        gobgp
            .query(&[
                "global", "rib", "-a", family, "add", &prefix, "nexthop", &nh,
            ])
            .expect("gobgp rib add");
    }

    let mut config = speaker_config(ASN, v4(1), IpAddr::V4(v4(1)));
    config.cluster_id = Some(CLUSTER_ID);
    let rr = NsSpeaker::start(&rr_host, config);
    for client in [v4(2), v4(3)] {
        let mut options = ibgp_options(ASN, IpAddr::V4(v4(1)));
        options.add_path.clear();
        options.route_reflector_client = true;
        rr.add_peer(IpAddr::V4(client), options);
    }
    rr.originate(
        AfiSafi::IPV4_UNICAST,
        &format!("10.210.{NET}0.0/24"),
        local_attrs(IpAddr::V4(v4(1))),
    );

    // Sessions up on all sides.
    wait_for(
        "both clients Established with the reflector",
        MAX_WAIT,
        || {
            (rr.established(IpAddr::V4(v4(2)))
                && rr.established(IpAddr::V4(v4(3)))
                && bird.established("reflector")
                && gobgp.established(&v4(1).to_string()))
            .then_some(())
        },
        || report(&lab, &bird, &gobgp, &rr),
    );

    // BIRD's routes at GoBGP: ORIGINATOR_ID = BIRD, CLUSTER_LIST = [ours],
    // next hop BIRD's.
    let cluster = vec![CLUSTER_ID.to_string()];
    let from_bird = [
        (format!("10.210.{NET}1.0/24"), v4(2).to_string()),
        (format!("fd00:210:{NET}1::/48"), v6(2)),
    ];
    for (prefix, nh) in &from_bird {
        let path = wait_for(
            &format!("BIRD's {prefix} reflected to GoBGP"),
            Duration::from_secs(15),
            || at_gobgp(&gobgp, prefix),
            || report(&lab, &bird, &gobgp, &rr),
        );
        assert_eq!(
            path.originator_id.as_deref(),
            Some(v4(2).to_string().as_str()),
            "ORIGINATOR_ID is BIRD's router id: {path:?}"
        );
        assert_eq!(path.cluster_list, cluster, "CLUSTER_LIST: {path:?}");
        assert_eq!(path.next_hop.as_ref(), Some(nh), "next hop kept: {path:?}");
    }

    // GoBGP's routes at BIRD, likewise.
    let from_gobgp = [
        (format!("10.210.{NET}2.0/24"), v4(3).to_string()),
        (format!("fd00:210:{NET}2::/48"), v6(3)),
    ];
    for (prefix, nh) in &from_gobgp {
        let route = wait_for(
            &format!("GoBGP's {prefix} reflected to BIRD"),
            Duration::from_secs(15),
            || at_bird(&bird, prefix),
            || report(&lab, &bird, &gobgp, &rr),
        );
        assert_eq!(
            route.attr("BGP.originator_id").as_deref(),
            Some(v4(3).to_string().as_str()),
            "ORIGINATOR_ID is GoBGP's router id:\n{}",
            route.text
        );
        assert_eq!(
            route.attr("BGP.cluster_list").as_deref(),
            Some(CLUSTER_ID.to_string().as_str()),
            "CLUSTER_LIST:\n{}",
            route.text
        );
        assert_eq!(
            route
                .attr("BGP.next_hop")
                .as_deref()
                .and_then(|h| h.split_whitespace().next()),
            Some(nh.as_str()),
            "next hop kept:\n{}",
            route.text
        );
    }

    // Our own route: no ORIGINATOR_ID, no CLUSTER_LIST.
    let ours = format!("10.210.{NET}0.0/24");
    let path = wait_for(
        "our route at GoBGP",
        Duration::from_secs(15),
        || at_gobgp(&gobgp, &ours),
        || report(&lab, &bird, &gobgp, &rr),
    );
    assert!(
        path.originator_id.is_none() && path.cluster_list.is_empty(),
        "{path:?}"
    );
    let route = wait_for(
        "our route at BIRD",
        Duration::from_secs(15),
        || at_bird(&bird, &ours),
        || report(&lab, &bird, &gobgp, &rr),
    );
    assert!(
        route.attr("BGP.originator_id").is_none() && route.attr("BGP.cluster_list").is_none(),
        "{}",
        route.text
    );

    // Withdrawals are reflected: GoBGP deletes its routes, BIRD drops its.
    for (prefix, family) in [
        (format!("10.210.{NET}2.0/24"), "ipv4"),
        (format!("fd00:210:{NET}2::/48"), "ipv6"),
    ] {
        gobgp
            .query(&["global", "rib", "-a", family, "del", &prefix])
            .expect("gobgp rib del");
    }
    lab.write_file("bird-bird.conf", &bird_config(false))
        .unwrap();
    let reconfigured = bird.query("configure").unwrap();
    assert!(reconfigured.contains("Reconfigured"), "{reconfigured}");
    wait_for(
        "withdrawals reflected both ways",
        Duration::from_secs(15),
        || {
            let bird_clean = from_gobgp.iter().all(|(p, _)| at_bird(&bird, p).is_none());
            let gobgp_clean = from_bird.iter().all(|(p, _)| at_gobgp(&gobgp, p).is_none());
            (bird_clean && gobgp_clean).then_some(())
        },
        || report(&lab, &bird, &gobgp, &rr),
    );
    assert!(
        at_gobgp(&gobgp, &ours).is_some(),
        "our route stays at GoBGP"
    );
    eprintln!("reflector interop passed in {:?}", started.elapsed());
}
