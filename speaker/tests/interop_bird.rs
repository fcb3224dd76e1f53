//! Interop with BIRD 2 in network namespaces: our speaker and BIRD peer
//! over iBGP (one IPv4 session carrying IPv4 and IPv6 unicast) with
//! ADD-PATH (both directions) and graceful restart negotiated, exchange
//! routes both ways, and see each other's withdrawals.
//!
//! BIRD has two paths for one prefix per family (two static protocols
//! each with a route for it), so with ADD-PATH we must receive both, with
//! distinct path identifiers; removing one of them must withdraw just that
//! path.
//!
//! Graceful restart is then exercised both ways (RFC 4724 section 4.2):
//! BIRD is killed and we keep its routes as stale until it is back and has
//! sent End-of-RIB; then our speaker crashes and BIRD keeps ours until our
//! restarted speaker's End-of-RIB.

mod interop_support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use bgp_proto::iana::AfiSafi;
use interop_support::{
    BirdRoute, DualStack, MAX_WAIT, NsSpeaker, assert_negotiated, ibgp_options, local_attrs,
    our_next_hop, our_prefixes, parse_bird_routes, paths_from, speaker_config, wait_for,
};
use reflex_testlab::daemons::Bird;
use reflex_testlab::skip_unless;

const ASN: u32 = 65000;
const NET: u8 = 1;

/// BIRD's configuration; `full` adds the routes the test later removes
/// (10.210.103.0/24, fd00:210:103::/48 and the second paths of
/// 10.210.101.0/24 and fd00:210:101::/48).
/// BIRD's configuration: static routes 10.210.<n>.0/24 and
/// fd00:210:<n>::/48 (blackholes, so the next hop is BIRD itself) for each
/// `n` of `prefixes`, plus second paths of the 101 prefixes via .11 / ::11
/// when `alt`.
fn bird_config(lab: &DualStack, alt: bool, prefixes: &[u8]) -> String {
    let (d4, s4, d6) = (lab.daemon_v4, lab.speaker_v4, lab.daemon_v6);
    let net = d4.octets()[2];
    let mut routes4 = String::new();
    let mut routes6 = String::new();
    for n in prefixes {
        routes4 += &format!("  route 10.210.{n}.0/24 blackhole;\n");
        routes6 += &format!("  route fd00:210:{n}::/48 blackhole;\n");
    }
    let (alt4, alt6) = if alt {
        (
            format!("route 10.210.101.0/24 via 10.210.{net}.11;"),
            format!("route fd00:210:101::/48 via fd00:210:{net}::11;"),
        )
    } else {
        Default::default()
    };
    format!(
        r#"
log stderr all;
router id {d4};
protocol device {{ scan time 1; }}
protocol static s4 {{
  ipv4;
{routes4}}}
protocol static s4alt {{
  ipv4;
  {alt4}
}}
protocol static s6 {{
  ipv6;
{routes6}}}
protocol static s6alt {{
  ipv6;
  {alt6}
}}
protocol bgp speaker {{
  local {d4} as {ASN};
  neighbor {s4} as {ASN};
  direct;
  graceful restart on;
  connect delay time 1;
  connect retry time 2;
  ipv4 {{ import all; export all; add paths on; gateway direct; }};
  ipv6 {{ import all; export all; add paths on; gateway direct; next hop address {d6}; }};
}}
"#
    )
}

/// BIRD's routes learned from our speaker (protocol `speaker`).
fn bird_learned(bird: &Bird) -> Vec<BirdRoute> {
    let out = bird
        .query("show route all protocol speaker")
        .unwrap_or_default();
    parse_bird_routes(&out)
}

/// The BGP.next_hop BIRD shows for `prefix` learned from us, if present.
fn bird_next_hop(routes: &[BirdRoute], prefix: &str) -> Option<String> {
    routes
        .iter()
        .find(|r| r.prefix == prefix && r.protocol == "speaker")
        .map(|r| r.attr("BGP.next_hop").unwrap_or_default())
}

/// Does BIRD have exactly our prefixes but `skip`, with our next hops?
fn bird_has_ours(bird: &Bird, lab: &DualStack, skip: &[u8]) -> bool {
    let routes = bird_learned(bird);
    let want = our_prefixes(skip);
    let count = routes.iter().filter(|r| r.protocol == "speaker").count();
    count == want.len()
        && want.iter().all(|(family, prefix)| {
            let ours = our_next_hop(lab, *family).to_string();
            bird_next_hop(&routes, prefix)
                .is_some_and(|nh| nh.split_whitespace().next() == Some(ours.as_str()))
        })
}

/// BIRD's log, protocol and routes, and our speaker's state.
fn report(lab: &DualStack, bird: &Bird, speaker: &NsSpeaker) -> String {
    format!(
        "--- BIRD log ---\n{}\n--- birdc show protocols all speaker ---\n{}\n--- birdc show route all ---\n{}\n{}",
        lab.lab.log(&bird.label),
        bird.query("show protocols all speaker").unwrap_or_default(),
        bird.query("show route all").unwrap_or_default(),
        speaker.describe()
    )
}

#[test]
fn bird_exchanges_ipv4_and_ipv6_with_add_path_and_graceful_restart() {
    if skip_unless(&["bird", "birdc"]) {
        return;
    }
    let started = Instant::now();
    let mut lab = DualStack::new("interop-bird", NET);
    let conf = bird_config(&lab, true, &[101, 102, 103]);
    let bird = Bird::start(&mut lab.lab, &lab.daemon, &conf)
        .unwrap_or_else(|e| panic!("BIRD starts: {e}\n{}", lab.lab.log("bird-d")));
    let config = speaker_config(ASN, lab.speaker_v4, IpAddr::V4(lab.speaker_v4));
    let mut speaker = NsSpeaker::start(&lab.speaker, config.clone());
    let peer = IpAddr::V4(lab.daemon_v4);
    let options = ibgp_options(ASN, IpAddr::V4(lab.speaker_v4));
    speaker.add_peer(peer, options.clone());
    let (d4, d6) = (IpAddr::V4(lab.daemon_v4), IpAddr::V6(lab.daemon_v6));
    let alt4: IpAddr = format!("10.210.{NET}.11").parse().unwrap();
    let alt6: IpAddr = format!("fd00:210:{NET}::11").parse().unwrap();

    // (1) Established on both sides.
    wait_for(
        "session Established on both sides",
        MAX_WAIT,
        || (speaker.established(peer) && bird.established("speaker")).then_some(()),
        || report(&lab, &bird, &speaker),
    );

    // (2) Negotiated on our side: both families, ADD-PATH both ways,
    // graceful restart; and BIRD agrees.
    let negotiated = speaker
        .neighbor(peer)
        .and_then(|n| n.negotiated)
        .expect("negotiated");
    assert_negotiated(&negotiated, true, true);
    let protocols = bird.query("show protocols all speaker").unwrap();
    let theirs = protocols
        .split("Neighbor capabilities")
        .nth(1)
        .unwrap_or_default();
    for needle in [
        "AF announced: ipv4 ipv6",
        "Graceful restart",
        "RX: ipv4 ipv6",
        "TX: ipv4 ipv6",
    ] {
        assert!(
            theirs.contains(needle),
            "BIRD sees our {needle}:\n{protocols}"
        );
    }

    // (3) BIRD's routes reach us with BIRD's next hops; the 101 prefixes
    // with both paths, under distinct non-zero path identifiers.
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
        "BIRD's routes (two paths for the 101 prefixes) at our speaker",
        Duration::from_secs(15),
        || {
            let singles_ok = single.iter().all(|&(p, nh)| {
                let paths = from(p);
                paths.len() == 1 && paths[0].1 == Some(nh)
            });
            let doubles_ok = doubles.iter().all(|&(p, a, b)| {
                let paths = from(p);
                let mut hops: Vec<_> = paths.iter().map(|(_, nh)| *nh).collect();
                hops.sort();
                paths.len() == 2 && hops == [Some(a), Some(b)]
            });
            (singles_ok && doubles_ok).then_some(())
        },
        || report(&lab, &bird, &speaker),
    );
    let mut kept_ids = Vec::new();
    for &(p, ..) in &doubles {
        let paths = from(p);
        assert!(
            paths.iter().all(|(id, _)| *id != 0),
            "path ids received: {paths:?}"
        );
        assert_ne!(paths[0].0, paths[1].0, "distinct path ids: {paths:?}");
        let best = paths
            .iter()
            .find(|(_, nh)| *nh == Some(if p.0 == AfiSafi::IPV4_UNICAST { d4 } else { d6 }));
        kept_ids.push(best.expect("BIRD's own path").0);
    }
    for family in [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST] {
        assert_eq!(
            speaker.routes(family).len(),
            3,
            "{}",
            report(&lab, &bird, &speaker)
        );
    }

    // (4) Our routes reach BIRD with our next hops.
    for (family, prefix) in our_prefixes(&[]) {
        speaker.originate(family, &prefix, local_attrs(our_next_hop(&lab, family)));
    }
    wait_for(
        "our routes in BIRD's RIB",
        Duration::from_secs(15),
        || bird_has_ours(&bird, &lab, &[]).then_some(()),
        || report(&lab, &bird, &speaker),
    );

    // (5a) BIRD withdraws: 103 entirely, and the second path of the 101s.
    lab.lab
        .write_file("bird-d.conf", &bird_config(&lab, false, &[101, 102]))
        .unwrap();
    let reconfigured = bird.query("configure").unwrap();
    assert!(reconfigured.contains("Reconfigured"), "{reconfigured}");
    wait_for(
        "BIRD's withdrawals at our speaker",
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
        || report(&lab, &bird, &speaker),
    );
    assert!(from(v4("10.210.102.0/24")).len() == 1);

    // (5b) We withdraw 203 (both families): gone from BIRD, the rest stays.
    speaker.withdraw(AfiSafi::IPV4_UNICAST, "10.210.203.0/24");
    speaker.withdraw(AfiSafi::IPV6_UNICAST, "fd00:210:203::/48");
    wait_for(
        "our withdrawals at BIRD",
        Duration::from_secs(15),
        || bird_has_ours(&bird, &lab, &[203]).then_some(()),
        || report(&lab, &bird, &speaker),
    );

    // (6) Graceful restart, we are the receiving speaker: BIRD dies (no
    // NOTIFICATION); its routes stay, marked stale. Back without 102, it
    // sends End-of-RIB and the stale 102 routes go.
    lab.lab.kill(&bird.label);
    wait_for(
        "BIRD's routes kept as stale after it died",
        Duration::from_secs(10),
        || {
            let down = !speaker.established(peer);
            let stale: Vec<bool> = [v4("10.210.102.0/24"), v6("fd00:210:102::/48")]
                .iter()
                .flat_map(|p| speaker.paths(p.0, p.1))
                .map(|(path, _)| path.stale)
                .collect();
            (down && stale.len() == 2 && stale.iter().all(|s| *s)).then_some(())
        },
        || report(&lab, &bird, &speaker),
    );
    let conf = bird_config(&lab, false, &[101]);
    let bird = Bird::start(&mut lab.lab, &lab.daemon, &conf)
        .unwrap_or_else(|e| panic!("BIRD restarts: {e}\n{}", lab.lab.log("bird-d")));
    wait_for(
        "BIRD back: 101 fresh, stale 102 flushed after End-of-RIB",
        MAX_WAIT,
        || {
            let up = speaker.established(peer);
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
            (up && fresh && flushed).then_some(())
        },
        || report(&lab, &bird, &speaker),
    );
    wait_for(
        "our routes at the restarted BIRD",
        Duration::from_secs(15),
        || bird_has_ours(&bird, &lab, &[203]).then_some(()),
        || report(&lab, &bird, &speaker),
    );

    // (7) Graceful restart, BIRD is the receiving speaker: our speaker
    // crashes; BIRD keeps our routes, in graceful restart. Our restarted
    // speaker announces itself restarting (R bit, F bit for both
    // families) and originates only 201: BIRD drops the stale 202 at our
    // End-of-RIB.
    speaker.crash();
    wait_for(
        "BIRD in graceful restart, keeping our routes, while we are down",
        Duration::from_secs(10),
        || {
            let protocols = bird.query("show protocols all speaker").unwrap_or_default();
            (!protocols.contains("Established")
                && protocols.contains("Neighbor graceful restart active")
                && bird_has_ours(&bird, &lab, &[203]))
            .then_some(())
        },
        || report(&lab, &bird, &speaker),
    );
    speaker = NsSpeaker::start_retrying(&lab.speaker, config);
    let mut restarting = options;
    restarting.graceful_restart.restarting = true;
    speaker.add_peer(peer, restarting);
    for (family, prefix) in our_prefixes(&[202, 203]) {
        speaker.originate(family, &prefix, local_attrs(our_next_hop(&lab, family)));
    }
    wait_for(
        "BIRD back to normal with our 201 only",
        MAX_WAIT,
        || {
            let protocols = bird.query("show protocols all speaker").unwrap_or_default();
            (speaker.established(peer)
                && !protocols.contains("Neighbor graceful restart active")
                && bird_has_ours(&bird, &lab, &[202, 203]))
            .then_some(())
        },
        || report(&lab, &bird, &speaker),
    );
    eprintln!("BIRD interop passed in {:?}", started.elapsed());
}

/// RFC 4724 section 4.2: when the session with a restarting peer is back
/// and the peer's new Graceful Restart capability does not have the
/// Forwarding State bit set for a family, the receiving speaker "MUST
/// immediately remove all the stale routes from the peer that it is
/// retaining for that address family". BIRD restarted without `-R` sends
/// its capability with no family preserved, so our stale 102 must be gone
/// before anything of the new session (its new 104) is in our Loc-RIB.
#[test]
fn bird_restarting_without_forwarding_state_has_its_stale_routes_removed_at_once() {
    if skip_unless(&["bird", "birdc"]) {
        return;
    }
    let mut lab = DualStack::new("interop-bird-gr", 11);
    let conf = bird_config(&lab, false, &[101, 102]);
    let bird = Bird::start(&mut lab.lab, &lab.daemon, &conf)
        .unwrap_or_else(|e| panic!("BIRD starts: {e}\n{}", lab.lab.log("bird-d")));
    let speaker = NsSpeaker::start(
        &lab.speaker,
        speaker_config(ASN, lab.speaker_v4, IpAddr::V4(lab.speaker_v4)),
    );
    let peer = IpAddr::V4(lab.daemon_v4);
    speaker.add_peer(peer, ibgp_options(ASN, IpAddr::V4(lab.speaker_v4)));
    wait_for(
        "BIRD's 101 and 102 at our speaker",
        MAX_WAIT,
        || {
            (speaker.routes(AfiSafi::IPV4_UNICAST).len() == 2
                && speaker.routes(AfiSafi::IPV6_UNICAST).len() == 2)
                .then_some(())
        },
        || report(&lab, &bird, &speaker),
    );
    let mut events = speaker.handle.subscribe();
    lab.lab.kill(&bird.label);
    wait_for(
        "BIRD's routes stale",
        Duration::from_secs(10),
        || {
            speaker
                .paths(AfiSafi::IPV4_UNICAST, "10.210.102.0/24")
                .first()
                .is_some_and(|(p, _)| p.stale)
                .then_some(())
        },
        || report(&lab, &bird, &speaker),
    );
    let conf = bird_config(&lab, false, &[101, 104]);
    let bird = Bird::start(&mut lab.lab, &lab.daemon, &conf)
        .unwrap_or_else(|e| panic!("BIRD restarts: {e}\n{}", lab.lab.log("bird-d")));
    wait_for(
        "BIRD back with 101 and 104, 102 gone",
        MAX_WAIT,
        || {
            let has = |f, p| !speaker.paths(f, p).is_empty();
            (has(AfiSafi::IPV4_UNICAST, "10.210.104.0/24")
                && has(AfiSafi::IPV6_UNICAST, "fd00:210:104::/48")
                && !has(AfiSafi::IPV4_UNICAST, "10.210.102.0/24")
                && !has(AfiSafi::IPV6_UNICAST, "fd00:210:102::/48"))
            .then_some(())
        },
        || report(&lab, &bird, &speaker),
    );
    let negotiated = speaker.neighbor(peer).and_then(|n| n.negotiated).unwrap();
    let gr = negotiated
        .peer_graceful_restart
        .clone()
        .expect("BIRD's GR capability");
    assert!(
        gr.families.iter().all(|(_, forwarding)| !forwarding),
        "BIRD kept no forwarding state: {gr:?}"
    );
    let mut order = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let bgp_speaker::speaker::SpeakerEvent::BestChanged { prefix, best, .. } = &event {
            order.push(format!(
                "{prefix} {}",
                if best.is_some() { "up" } else { "gone" }
            ));
        }
        if let bgp_speaker::speaker::SpeakerEvent::PeerUp { .. } = &event {
            order.push("peer up".into());
        }
    }
    eprintln!("events: {order:?}");
    for (stale, new) in [
        ("10.210.102.0/24 gone", "10.210.104.0/24 up"),
        ("fd00:210:102::/48 gone", "fd00:210:104::/48 up"),
    ] {
        let at = |what: &str| order.iter().position(|e| e == what);
        assert!(
            at(stale) < at(new),
            "the stale route must go as the session comes back, before the new \
             session's routes (RFC 4724 section 4.2, F bit clear): {order:?}"
        );
    }
}
