//! Interop with GoBGP in network namespaces: our speaker and gobgpd peer
//! over iBGP (one IPv4 session carrying IPv4 and IPv6 unicast) with
//! ADD-PATH (both directions) and graceful restart negotiated, exchange
//! routes both ways, and see each other's withdrawals.
//!
//! GoBGP's routes are injected with `gobgp global rib add`; the 101
//! prefixes get a second local path (`identifier 7`), which GoBGP sends
//! with ADD-PATH, so we must hold two paths with distinct identifiers, and
//! lose just one when GoBGP deletes it.
//!
//! Graceful restart is then exercised both ways (RFC 4724 section 4.2):
//! gobgpd is killed and we keep its routes as stale until it is back and
//! has sent End-of-RIB; then our speaker crashes and GoBGP keeps ours,
//! marked stale, until our restarted speaker's End-of-RIB.

mod interop_support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use bgp_proto::iana::AfiSafi;
use interop_support::{
    DualStack, GobgpPath, MAX_WAIT, NsSpeaker, assert_negotiated, gobgp_rib, ibgp_options,
    local_attrs, our_next_hop, our_prefixes, paths_from, speaker_config, wait_for,
};
use reflex_testlab::daemons::Gobgp;
use reflex_testlab::skip_unless;

const ASN: u32 = 65000;
const NET: u8 = 2;
const API_PORT: u16 = 50051;

fn gobgp_config(lab: &DualStack) -> String {
    let (d4, s4) = (lab.daemon_v4, lab.speaker_v4);
    let mut config = format!(
        r#"
[global.config]
  as = {ASN}
  router-id = "{d4}"
  local-address-list = ["{d4}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "{s4}"
    peer-as = {ASN}
  [neighbors.timers.config]
    connect-retry = 2
  [neighbors.transport.config]
    local-address = "{d4}"
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 120
"#
    );
    for family in ["ipv4-unicast", "ipv6-unicast"] {
        config += &format!(
            r#"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "{family}"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
    [neighbors.afi-safis.add-paths.config]
      receive = true
      send-max = 8
"#
        );
    }
    config
}

/// `gobgp global rib add|del` of `prefix` (`-a ipv4|ipv6`), with an
/// ADD-PATH identifier and a next hop for adds.
fn rib(gobgp: &Gobgp, verb: &str, prefix: &str, id: Option<u32>, next_hop: Option<IpAddr>) {
    let family = if prefix.contains(':') { "ipv6" } else { "ipv4" };
    let id = id.map(|id| id.to_string());
    let nh = next_hop.map(|nh| nh.to_string());
    let mut args = vec!["global", "rib", "-a", family, verb, prefix];
    if let Some(id) = &id {
        args.extend(["identifier", id]);
    }
    if let Some(nh) = &nh {
        args.extend(["nexthop", nh]);
    }
    gobgp
        .query(&args)
        .unwrap_or_else(|e| panic!("gobgp {}: {e}", args.join(" ")));
}

/// GoBGP's routes: 101-103 in both families via GoBGP itself, and the
/// second 101 paths via .11 / ::11 (identifier 7).
fn add_gobgp_routes(gobgp: &Gobgp, lab: &DualStack, numbers: &[u8], alt: bool) {
    let (d4, d6) = (IpAddr::V4(lab.daemon_v4), IpAddr::V6(lab.daemon_v6));
    for n in numbers {
        rib(gobgp, "add", &format!("10.210.{n}.0/24"), None, Some(d4));
        rib(gobgp, "add", &format!("fd00:210:{n}::/48"), None, Some(d6));
    }
    if alt {
        let (alt4, alt6) = alt_hops();
        rib(gobgp, "add", "10.210.101.0/24", Some(7), Some(alt4));
        rib(gobgp, "add", "fd00:210:101::/48", Some(7), Some(alt6));
    }
}

fn alt_hops() -> (IpAddr, IpAddr) {
    (
        format!("10.210.{NET}.11").parse().unwrap(),
        format!("fd00:210:{NET}::11").parse().unwrap(),
    )
}

/// GoBGP's paths learned from us, both families.
fn learned(gobgp: &Gobgp, lab: &DualStack) -> Vec<GobgpPath> {
    let us = lab.speaker_v4.to_string();
    ["ipv4", "ipv6"]
        .iter()
        .flat_map(|f| gobgp_rib(gobgp, f).0)
        .filter(|p| p.neighbor.as_deref() == Some(us.as_str()))
        .collect()
}

/// Does GoBGP have exactly our prefixes but `skip`, with our next hops,
/// and all of them stale (or none)?
fn gobgp_has_ours(gobgp: &Gobgp, lab: &DualStack, skip: &[u8], stale: bool) -> bool {
    let paths = learned(gobgp, lab);
    let want = our_prefixes(skip);
    paths.len() == want.len()
        && want.iter().all(|(family, prefix)| {
            let nh = our_next_hop(lab, *family).to_string();
            paths.iter().any(|p| {
                p.prefix == *prefix && p.next_hop.as_deref() == Some(&nh) && p.stale == stale
            })
        })
}

fn report(lab: &DualStack, gobgp: &Gobgp, speaker: &NsSpeaker) -> String {
    let neighbor = gobgp
        .query(&["neighbor", &lab.speaker_v4.to_string()])
        .unwrap_or_default();
    format!(
        "--- gobgpd log ---\n{}\n--- gobgp neighbor ---\n{neighbor}\n--- gobgp global rib -a ipv4 -j ---\n{}\n--- gobgp global rib -a ipv6 -j ---\n{}\n{}",
        lab.lab.log(&gobgp.label),
        gobgp_rib(gobgp, "ipv4").1,
        gobgp_rib(gobgp, "ipv6").1,
        speaker.describe()
    )
}

#[test]
fn gobgp_exchanges_ipv4_and_ipv6_with_add_path_and_graceful_restart() {
    if skip_unless(&["gobgpd", "gobgp"]) {
        return;
    }
    let started = Instant::now();
    let mut lab = DualStack::new("interop-gobgp", NET);
    let conf = gobgp_config(&lab);
    let gobgp = Gobgp::start(&mut lab.lab, &lab.daemon, &conf, API_PORT)
        .unwrap_or_else(|e| panic!("gobgpd starts: {e}\n{}", lab.lab.log("gobgpd-d")));
    add_gobgp_routes(&gobgp, &lab, &[101, 102, 103], true);
    let config = speaker_config(ASN, lab.speaker_v4, IpAddr::V4(lab.speaker_v4));
    let mut speaker = NsSpeaker::start(&lab.speaker, config.clone());
    let peer = IpAddr::V4(lab.daemon_v4);
    let options = ibgp_options(ASN, IpAddr::V4(lab.speaker_v4));
    speaker.add_peer(peer, options.clone());
    let us = lab.speaker_v4.to_string();
    let (d4, d6) = (IpAddr::V4(lab.daemon_v4), IpAddr::V6(lab.daemon_v6));
    let (alt4, alt6) = alt_hops();

    // (1) Established on both sides.
    wait_for(
        "session Established on both sides",
        MAX_WAIT,
        || (speaker.established(peer) && gobgp.established(&us)).then_some(()),
        || report(&lab, &gobgp, &speaker),
    );

    // (2) Negotiated on our side: both families, ADD-PATH both ways,
    // graceful restart.
    let negotiated = speaker
        .neighbor(peer)
        .and_then(|n| n.negotiated)
        .expect("negotiated");
    assert_negotiated(&negotiated, true, true);
    let neighbor = gobgp.query(&["neighbor", &us]).unwrap();
    let section = |name: &str| {
        neighbor
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    for cap in [
        "ipv4-unicast:",
        "ipv6-unicast:",
        "graceful-restart:",
        "add-path:",
    ] {
        assert!(
            section(cap).contains("advertised and received"),
            "GoBGP: {cap} advertised and received\n{neighbor}"
        );
    }
    let remote = neighbor
        .split("add-path:")
        .nth(1)
        .and_then(|s| s.split("Remote:").nth(1))
        .unwrap_or_default();
    for family in ["ipv4-unicast:\treceive/send", "ipv6-unicast:\treceive/send"] {
        assert!(
            remote.contains(family),
            "GoBGP sees our ADD-PATH {family}\n{neighbor}"
        );
    }

    // (3) GoBGP's routes reach us with its next hops; the 101 prefixes with
    // both paths, under distinct non-zero path identifiers.
    let v4 = |p: &'static str| (AfiSafi::IPV4_UNICAST, p);
    let v6 = |p: &'static str| (AfiSafi::IPV6_UNICAST, p);
    let from = |p: (AfiSafi, &str)| paths_from(&speaker, p.0, p.1, peer);
    let single = [
        (v4("10.210.102.0/24"), d4),
        (v4("10.210.103.0/24"), d4),
        (v6("fd00:210:102::/48"), d6),
        (v6("fd00:210:103::/48"), d6),
    ];
    let doubles = [
        (v4("10.210.101.0/24"), d4, alt4),
        (v6("fd00:210:101::/48"), d6, alt6),
    ];
    wait_for(
        "GoBGP's routes (two paths for the 101 prefixes) at our speaker",
        Duration::from_secs(15),
        || {
            let singles_ok = single.iter().all(|&(p, nh)| {
                let paths = from(p);
                paths.len() == 1 && paths[0].1 == Some(nh)
            });
            let doubles_ok = doubles.iter().all(|&(p, a, b)| {
                let mut hops: Vec<_> = from(p).iter().map(|(_, nh)| *nh).collect();
                hops.sort();
                hops == [Some(a), Some(b)]
            });
            (singles_ok && doubles_ok).then_some(())
        },
        || report(&lab, &gobgp, &speaker),
    );
    let mut kept_ids = Vec::new();
    for &(p, own, _) in &doubles {
        let paths = from(p);
        assert!(
            paths.iter().all(|(id, _)| *id != 0),
            "path ids received: {paths:?}"
        );
        assert_ne!(paths[0].0, paths[1].0, "distinct path ids: {paths:?}");
        let kept = paths.iter().find(|(_, nh)| *nh == Some(own));
        kept_ids.push(kept.expect("GoBGP's own path").0);
    }

    // (4) Our routes reach GoBGP with our next hops.
    for (family, prefix) in our_prefixes(&[]) {
        speaker.originate(family, &prefix, local_attrs(our_next_hop(&lab, family)));
    }
    wait_for(
        "our routes in GoBGP's RIB",
        Duration::from_secs(15),
        || gobgp_has_ours(&gobgp, &lab, &[], false).then_some(()),
        || report(&lab, &gobgp, &speaker),
    );

    // (5a) GoBGP withdraws: 103 entirely, and the second path of the 101s.
    rib(&gobgp, "del", "10.210.103.0/24", None, None);
    rib(&gobgp, "del", "fd00:210:103::/48", None, None);
    rib(&gobgp, "del", "10.210.101.0/24", Some(7), None);
    rib(&gobgp, "del", "fd00:210:101::/48", Some(7), None);
    wait_for(
        "GoBGP's withdrawals at our speaker",
        Duration::from_secs(15),
        || {
            let gone =
                from(v4("10.210.103.0/24")).is_empty() && from(v6("fd00:210:103::/48")).is_empty();
            let one_left = doubles
                .iter()
                .zip(&kept_ids)
                .all(|(&(p, nh, _), id)| from(p) == [(*id, Some(nh))]);
            (gone && one_left).then_some(())
        },
        || report(&lab, &gobgp, &speaker),
    );
    assert_eq!(from(v4("10.210.102.0/24")).len(), 1);
    assert_eq!(from(v6("fd00:210:102::/48")).len(), 1);

    // (5b) We withdraw 203 (both families): gone from GoBGP, the rest stays.
    speaker.withdraw(AfiSafi::IPV4_UNICAST, "10.210.203.0/24");
    speaker.withdraw(AfiSafi::IPV6_UNICAST, "fd00:210:203::/48");
    wait_for(
        "our withdrawals at GoBGP",
        Duration::from_secs(15),
        || gobgp_has_ours(&gobgp, &lab, &[203], false).then_some(()),
        || report(&lab, &gobgp, &speaker),
    );

    // (6) Graceful restart, we are the receiving speaker: gobgpd dies (no
    // NOTIFICATION); its routes stay, marked stale. Back with only 101, it
    // sends End-of-RIB and the stale 102 routes go.
    lab.lab.kill(&gobgp.label);
    wait_for(
        "GoBGP's routes kept as stale after it died",
        Duration::from_secs(10),
        || {
            let stale: Vec<bool> = [v4("10.210.102.0/24"), v6("fd00:210:102::/48")]
                .iter()
                .flat_map(|p| speaker.paths(p.0, p.1))
                .map(|(path, _)| path.stale)
                .collect();
            (!speaker.established(peer) && stale == [true, true]).then_some(())
        },
        || report(&lab, &gobgp, &speaker),
    );
    let gobgp = Gobgp::start(&mut lab.lab, &lab.daemon, &conf, API_PORT)
        .unwrap_or_else(|e| panic!("gobgpd restarts: {e}\n{}", lab.lab.log("gobgpd-d")));
    add_gobgp_routes(&gobgp, &lab, &[101], false);
    wait_for(
        "GoBGP back: 101 fresh, stale 102 flushed",
        MAX_WAIT,
        || {
            let fresh = [v4("10.210.101.0/24"), v6("fd00:210:101::/48")]
                .iter()
                .all(|p| {
                    let paths = speaker.paths(p.0, p.1);
                    paths.len() == 1 && !paths[0].0.stale
                });
            let flushed = speaker
                .paths(AfiSafi::IPV4_UNICAST, "10.210.102.0/24")
                .is_empty()
                && speaker
                    .paths(AfiSafi::IPV6_UNICAST, "fd00:210:102::/48")
                    .is_empty();
            (speaker.established(peer) && fresh && flushed).then_some(())
        },
        || report(&lab, &gobgp, &speaker),
    );
    wait_for(
        "our routes at the restarted GoBGP",
        Duration::from_secs(15),
        || gobgp_has_ours(&gobgp, &lab, &[203], false).then_some(()),
        || report(&lab, &gobgp, &speaker),
    );

    // (7) Graceful restart, GoBGP is the receiving speaker: our speaker
    // crashes; GoBGP keeps our routes marked stale. Our restarted speaker
    // announces itself restarting (R bit, F bit for both families) and
    // originates only 201: GoBGP drops the stale 202 at our End-of-RIB.
    // (GoBGP refuses connections for about 5 s after losing a session: its
    // FSM idles, logging "Closed an accepted connection".)
    speaker.crash();
    wait_for(
        "GoBGP keeps our routes as stale while we are down",
        Duration::from_secs(10),
        || (!gobgp.established(&us) && gobgp_has_ours(&gobgp, &lab, &[203], true)).then_some(()),
        || report(&lab, &gobgp, &speaker),
    );
    speaker = NsSpeaker::start_retrying(&lab.speaker, config);
    let mut restarting = options;
    restarting.graceful_restart.restarting = true;
    speaker.add_peer(peer, restarting);
    for (family, prefix) in our_prefixes(&[202, 203]) {
        speaker.originate(family, &prefix, local_attrs(our_next_hop(&lab, family)));
    }
    wait_for(
        "our restarted speaker Established with GoBGP",
        MAX_WAIT,
        || speaker.established(peer).then_some(()),
        || report(&lab, &gobgp, &speaker),
    );
    wait_for(
        "GoBGP back to normal with our 201 only",
        MAX_WAIT,
        || {
            (speaker.established(peer) && gobgp_has_ours(&gobgp, &lab, &[202, 203], false))
                .then_some(())
        },
        || report(&lab, &gobgp, &speaker),
    );
    eprintln!("GoBGP interop passed in {:?}", started.elapsed());
}
