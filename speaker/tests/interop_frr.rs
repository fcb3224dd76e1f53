//! Interop with FRR's bgpd (standalone, without zebra) in network
//! namespaces: our speaker and bgpd peer over iBGP (one IPv4 session
//! carrying IPv4 and IPv6 unicast) with ADD-PATH (both directions) and
//! graceful restart negotiated, exchange routes both ways, and see each
//! other's withdrawals.
//!
//! FRR originates its routes with `network` statements. For a second path
//! at FRR, a second speaker of ours peers with it over eBGP (AS 65099,
//! accept-all import and export policies, RFC 8212) and announces the 101
//! prefixes too: FRR's `addpath-tx-all-paths` then sends us both its own
//! path and the eBGP one, under distinct path identifiers; when the eBGP
//! speaker withdraws, just that path goes.
//!
//! Graceful restart is then exercised both ways (RFC 4724 section 4.2):
//! bgpd is killed and we keep its routes as stale until it is back and has
//! sent End-of-RIB; then our speaker crashes and FRR keeps ours, marked
//! stale, until our restarted speaker's End-of-RIB.

mod interop_support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use bgp_proto::iana::AfiSafi;
use bgp_proto::session::PeerAs;
use bgp_speaker::config::PeerOptions;
use bgp_speaker::policy::Policy;
use interop_support::{
    DualStack, FAMILIES, MAX_WAIT, NsSpeaker, assert_negotiated, ibgp_options, local_attrs,
    our_next_hop, our_prefixes, paths_from, speaker_config, wait_for,
};
use reflex_testlab::daemons::Frr;
use reflex_testlab::daemons::frr::FRR_BGPD;
use reflex_testlab::skip_unless;

const ASN: u32 = 65000;
const EBGP_ASN: u32 = 65099;
const NET: u8 = 3;

/// Our eBGP speaker's addresses (a second address on our host).
fn ebgp_addresses() -> (Ipv4Addr, Ipv6Addr) {
    (
        Ipv4Addr::new(10, 210, NET, 3),
        format!("fd00:210:{NET}::3").parse().unwrap(),
    )
}

/// FRR's configuration, with `network` statements for 10.210.<n>.0/24 and
/// fd00:210:<n>::/48, `n` in `networks`. FRR without zebra knows no
/// interface address, so the IPv6 next hop of its own routes is set by a
/// route map (the routes it passes on from eBGP keep theirs).
fn frr_config(lab: &DualStack, networks: &[u8]) -> String {
    let (d4, s4, d6) = (lab.daemon_v4, lab.speaker_v4, lab.daemon_v6);
    let (e4, _) = ebgp_addresses();
    let mut v4 = String::new();
    let mut v6 = String::new();
    for n in networks {
        v4 += &format!("  network 10.210.{n}.0/24\n");
        v6 += &format!("  network fd00:210:{n}::/48\n");
    }
    format!(
        r#"
frr defaults traditional
log stdout informational
!
bgp as-path access-list LOCAL seq 5 permit ^$
!
route-map V6NH permit 10
 match as-path LOCAL
 set ipv6 next-hop global {d6}
exit
route-map V6NH permit 20
exit
!
router bgp {ASN}
 bgp router-id {d4}
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp graceful-restart
 neighbor {s4} remote-as {ASN}
 neighbor {s4} update-source {d4}
 neighbor {s4} timers connect 2
 neighbor {e4} remote-as {EBGP_ASN}
 neighbor {e4} update-source {d4}
 neighbor {e4} disable-connected-check
 neighbor {e4} timers connect 2
 !
 address-family ipv4 unicast
{v4}  neighbor {s4} addpath-tx-all-paths
 exit-address-family
 !
 address-family ipv6 unicast
{v6}  neighbor {s4} activate
  neighbor {s4} addpath-tx-all-paths
  neighbor {s4} route-map V6NH out
  neighbor {e4} activate
 exit-address-family
exit
"#
    )
}

/// Run configuration commands in FRR (`configure terminal`, `router bgp`,
/// the address family, then `commands`).
fn frr_configure(frr: &Frr, family: &str, commands: &[&str]) {
    let vty = frr.vty_dir.to_string_lossy().into_owned();
    let router = format!("router bgp {ASN}");
    let af = format!("address-family {family} unicast");
    let mut args = vec![
        "vtysh",
        "--vty_socket",
        &vty,
        "-d",
        "bgpd",
        "-c",
        "configure terminal",
        "-c",
        &router,
        "-c",
        &af,
    ];
    for command in commands {
        args.extend(["-c", command]);
    }
    frr.host
        .run(&args)
        .unwrap_or_else(|e| panic!("vtysh {commands:?}: {e}"));
}

/// One path of `show bgp <family> unicast json`.
#[derive(Debug, Clone)]
struct FrrPath {
    prefix: String,
    peer: String,
    next_hop: Option<String>,
    valid: bool,
    stale: bool,
}

fn frr_routes(frr: &Frr, family: &str) -> Vec<FrrPath> {
    let Ok(json) = frr.query_json(&format!("show bgp {family} unicast json")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let Some(routes) = json.get("routes").and_then(|r| r.as_object()) else {
        return out;
    };
    for (prefix, paths) in routes {
        for path in paths.as_array().into_iter().flatten() {
            let next_hop = path
                .get("nexthops")
                .and_then(|n| n.as_array())
                .and_then(|hops| {
                    hops.iter()
                        .find(|h| h.get("scope").and_then(|s| s.as_str()) != Some("link-local"))
                })
                .and_then(|h| h.get("ip"))
                .and_then(|ip| ip.as_str())
                .map(str::to_string);
            out.push(FrrPath {
                prefix: prefix.clone(),
                peer: path
                    .get("peerId")
                    .and_then(|p| p.as_str())
                    .unwrap_or_default()
                    .to_string(),
                next_hop,
                valid: path.get("valid").and_then(|v| v.as_bool()) == Some(true),
                stale: path.get("stale").and_then(|v| v.as_bool()) == Some(true),
            });
        }
    }
    out
}

/// Does FRR have exactly our prefixes but `skip` from us, valid, with our
/// next hops, all stale or none?
fn frr_has_ours(frr: &Frr, lab: &DualStack, skip: &[u8], stale: bool) -> bool {
    let us = lab.speaker_v4.to_string();
    let paths: Vec<FrrPath> = ["ipv4", "ipv6"]
        .iter()
        .flat_map(|f| frr_routes(frr, f))
        .filter(|p| p.peer == us)
        .collect();
    let want = our_prefixes(skip);
    paths.len() == want.len()
        && want.iter().all(|(family, prefix)| {
            let nh = our_next_hop(lab, *family).to_string();
            paths.iter().any(|p| {
                p.prefix == *prefix
                    && p.next_hop.as_deref() == Some(&nh)
                    && p.valid
                    && p.stale == stale
            })
        })
}

fn report(lab: &DualStack, frr: &Frr, speakers: &[&NsSpeaker]) -> String {
    let mut out = format!(
        "--- bgpd log ---\n{}\n--- show bgp summary ---\n{}\n--- show bgp ipv4 unicast ---\n{}\n--- show bgp ipv6 unicast ---\n{}\n",
        lab.lab.log(&frr.label),
        frr.query("show bgp summary").unwrap_or_default(),
        frr.query("show bgp ipv4 unicast").unwrap_or_default(),
        frr.query("show bgp ipv6 unicast").unwrap_or_default(),
    );
    for speaker in speakers {
        out += &speaker.describe();
    }
    out
}

fn frr_established(frr: &Frr, neighbor: &str) -> bool {
    frr.query_json(&format!("show bgp neighbors {neighbor} json"))
        .ok()
        .and_then(|j| {
            j.get(neighbor)
                .and_then(|n| n.get("bgpState"))
                .and_then(|s| s.as_str())
                .map(|s| s == "Established")
        })
        .unwrap_or(false)
}

#[test]
fn frr_exchanges_ipv4_and_ipv6_with_add_path_and_graceful_restart() {
    if skip_unless(&["vtysh", FRR_BGPD]) {
        return;
    }
    let started = Instant::now();
    let mut lab = DualStack::new("interop-frr", NET);
    let (e4, e6) = ebgp_addresses();
    lab.speaker
        .add_address(&lab.speaker_if, &format!("{e4}/24"))
        .unwrap();
    lab.speaker
        .add_address(&lab.speaker_if, &format!("{e6}/64"))
        .unwrap();
    let conf = frr_config(&lab, &[101, 102, 103]);
    let frr = Frr::start(&mut lab.lab, &lab.daemon, &conf)
        .unwrap_or_else(|e| panic!("bgpd starts: {e}\n{}", lab.lab.log("frr-d")));
    let peer = IpAddr::V4(lab.daemon_v4);
    let us = lab.speaker_v4.to_string();

    // Our iBGP speaker.
    let config = speaker_config(ASN, lab.speaker_v4, IpAddr::V4(lab.speaker_v4));
    let mut speaker = NsSpeaker::start(&lab.speaker, config.clone());
    let options = ibgp_options(ASN, IpAddr::V4(lab.speaker_v4));
    speaker.add_peer(peer, options.clone());

    // Our eBGP speaker, with explicit policies (RFC 8212) and the default
    // next-hop-self towards eBGP. The link has two of our IPv6 addresses, so
    // the IPv6 next hop for this IPv4 session is named explicitly.
    let ebgp = NsSpeaker::start(&lab.speaker, speaker_config(EBGP_ASN, e4, IpAddr::V4(e4)));
    let mut ebgp_options = PeerOptions::new(PeerAs::Exact(ASN));
    ebgp_options.families = FAMILIES.to_vec();
    ebgp_options.local_address = Some(IpAddr::V4(e4));
    ebgp_options.connect_retry = Duration::from_secs(2);
    ebgp_options.import = Some(Policy::accept_all("accept-all"));
    ebgp_options.export = Some(Policy::accept_all("accept-all"));
    ebgp_options.next_hop_self_v6 = e6.into();
    ebgp.add_peer(peer, ebgp_options);
    ebgp.originate(
        AfiSafi::IPV4_UNICAST,
        "10.210.101.0/24",
        local_attrs(IpAddr::V4(e4)),
    );
    ebgp.originate(
        AfiSafi::IPV6_UNICAST,
        "fd00:210:101::/48",
        local_attrs(IpAddr::V6(e6)),
    );
    let (d4, d6) = (IpAddr::V4(lab.daemon_v4), IpAddr::V6(lab.daemon_v6));
    let (e4, e6) = (IpAddr::V4(e4), IpAddr::V6(e6));

    // (1) Established on both sides (and the eBGP session too).
    wait_for(
        "sessions Established on both sides",
        MAX_WAIT,
        || {
            (speaker.established(peer)
                && ebgp.established(peer)
                && frr_established(&frr, &us)
                && frr_established(&frr, &e4.to_string()))
            .then_some(())
        },
        || report(&lab, &frr, &[&speaker, &ebgp]),
    );

    // (2) Negotiated on our side: both families, ADD-PATH both ways,
    // graceful restart; and FRR agrees.
    let negotiated = speaker
        .neighbor(peer)
        .and_then(|n| n.negotiated)
        .expect("negotiated");
    assert_negotiated(&negotiated, true, true);
    let neighbor = frr
        .query_json(&format!("show bgp neighbors {us} json"))
        .unwrap();
    let caps = &neighbor[us.as_str()]["neighborCapabilities"];
    for family in ["ipv4Unicast", "ipv6Unicast"] {
        assert_eq!(
            caps["multiprotocolExtensions"][family]["advertisedAndReceived"].as_bool(),
            Some(true),
            "FRR: {family} negotiated: {caps:#}"
        );
        for direction in ["txAdvertisedAndReceived", "rxAdvertisedAndReceived"] {
            assert_eq!(
                caps["addPath"][family][direction].as_bool(),
                Some(true),
                "FRR: ADD-PATH {family} {direction}: {caps:#}"
            );
        }
    }
    assert_eq!(
        caps["gracefulRestart"].as_str(),
        Some("advertisedAndReceived"),
        "FRR: graceful restart: {caps:#}"
    );

    // (3) FRR's routes reach us with its next hops; the 101 prefixes with
    // both paths (FRR's own and the eBGP one), under distinct non-zero
    // path identifiers.
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
        (v4("10.210.101.0/24"), d4, e4),
        (v6("fd00:210:101::/48"), d6, e6),
    ];
    wait_for(
        "FRR's routes (two paths for the 101 prefixes) at our speaker",
        MAX_WAIT,
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
        || report(&lab, &frr, &[&speaker, &ebgp]),
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
        kept_ids.push(kept.expect("FRR's own path").0);
    }

    // (4) Our routes reach FRR with our next hops.
    for (family, prefix) in our_prefixes(&[]) {
        speaker.originate(family, &prefix, local_attrs(our_next_hop(&lab, family)));
    }
    wait_for(
        "our routes in FRR's RIB",
        Duration::from_secs(15),
        || frr_has_ours(&frr, &lab, &[], false).then_some(()),
        || report(&lab, &frr, &[&speaker, &ebgp]),
    );
    // FRR received our path identifiers (ADD-PATH, our send direction).
    for prefix in [
        "ipv4 unicast 10.210.201.0/24",
        "ipv6 unicast fd00:210:201::/48",
    ] {
        let detail = frr.query_json(&format!("show bgp {prefix} json")).unwrap();
        let rx_id = detail["paths"][0]["addpathRxId"].as_u64();
        assert!(
            rx_id.is_some_and(|id| id != 0),
            "FRR got our path id for {prefix}: {detail:#}"
        );
    }

    // (5a) FRR withdraws 103 (no network), and the eBGP speaker withdraws
    // its 101: just that path of the 101s goes.
    frr_configure(&frr, "ipv4", &["no network 10.210.103.0/24"]);
    frr_configure(&frr, "ipv6", &["no network fd00:210:103::/48"]);
    ebgp.withdraw(AfiSafi::IPV4_UNICAST, "10.210.101.0/24");
    ebgp.withdraw(AfiSafi::IPV6_UNICAST, "fd00:210:101::/48");
    wait_for(
        "FRR's withdrawals at our speaker",
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
        || report(&lab, &frr, &[&speaker, &ebgp]),
    );
    assert_eq!(from(v4("10.210.102.0/24")).len(), 1);
    assert_eq!(from(v6("fd00:210:102::/48")).len(), 1);

    // (5b) We withdraw 203 (both families): gone from FRR, the rest stays.
    speaker.withdraw(AfiSafi::IPV4_UNICAST, "10.210.203.0/24");
    speaker.withdraw(AfiSafi::IPV6_UNICAST, "fd00:210:203::/48");
    wait_for(
        "our withdrawals at FRR",
        Duration::from_secs(15),
        || frr_has_ours(&frr, &lab, &[203], false).then_some(()),
        || report(&lab, &frr, &[&speaker, &ebgp]),
    );

    // (6) Graceful restart, we are the receiving speaker: bgpd dies (no
    // NOTIFICATION); its routes stay, marked stale. Back with only 101, it
    // sends End-of-RIB and the stale 102 routes go.
    lab.lab.kill(&frr.label);
    wait_for(
        "FRR's routes kept as stale after it died",
        Duration::from_secs(10),
        || {
            let stale: Vec<bool> = [v4("10.210.102.0/24"), v6("fd00:210:102::/48")]
                .iter()
                .flat_map(|p| speaker.paths(p.0, p.1))
                .map(|(path, _)| path.stale)
                .collect();
            (!speaker.established(peer) && stale == [true, true]).then_some(())
        },
        || report(&lab, &frr, &[&speaker, &ebgp]),
    );
    let conf = frr_config(&lab, &[101]);
    let frr = Frr::start(&mut lab.lab, &lab.daemon, &conf)
        .unwrap_or_else(|e| panic!("bgpd restarts: {e}\n{}", lab.lab.log("frr-d")));
    wait_for(
        "FRR back: 101 fresh, stale 102 flushed after End-of-RIB",
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
        || report(&lab, &frr, &[&speaker, &ebgp]),
    );
    wait_for(
        "our routes at the restarted FRR",
        Duration::from_secs(15),
        || frr_has_ours(&frr, &lab, &[203], false).then_some(()),
        || report(&lab, &frr, &[&speaker, &ebgp]),
    );

    // (7) Graceful restart, FRR is the receiving speaker: our speaker
    // crashes; FRR keeps our routes marked stale. Our restarted speaker
    // announces itself restarting (R bit, F bit for both families) and
    // originates only 201: FRR drops the stale 202 at our End-of-RIB.
    speaker.crash();
    wait_for(
        "FRR keeps our routes as stale while we are down",
        Duration::from_secs(10),
        || (!frr_established(&frr, &us) && frr_has_ours(&frr, &lab, &[203], true)).then_some(()),
        || report(&lab, &frr, &[&speaker, &ebgp]),
    );
    speaker = NsSpeaker::start_retrying(&lab.speaker, config);
    let mut restarting = options;
    restarting.graceful_restart.restarting = true;
    speaker.add_peer(peer, restarting);
    for (family, prefix) in our_prefixes(&[202, 203]) {
        speaker.originate(family, &prefix, local_attrs(our_next_hop(&lab, family)));
    }
    wait_for(
        "FRR back to normal with our 201 only",
        MAX_WAIT,
        || {
            (speaker.established(peer) && frr_has_ours(&frr, &lab, &[202, 203], false))
                .then_some(())
        },
        || report(&lab, &frr, &[&speaker, &ebgp]),
    );
    eprintln!("FRR interop passed in {:?}", started.elapsed());
}
