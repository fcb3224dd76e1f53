//! Applying UPDATEs: withdrawals and announcements, interning, RFC 7606
//! treat-as-withdraw, ADD-PATH, RFC 8212 defaults, import policy, peers
//! going away, changes reported.

#[path = "rib_support.rs"]
mod support;

use std::net::Ipv4Addr;
use std::sync::Arc;

use bgp_proto::attribute::{Community, PathAttribute};
use bgp_proto::error::{DecodeError, ErrorAction, ErrorKind, Finding};
use bgp_proto::iana::AfiSafi;
use bgp_proto::message::Update;
use bgp_proto::{Findings, Nlri};

use bgp_speaker::policy::{Action, Condition, Policy, PrefixRange, Statement, Verdict};
use bgp_speaker::types::PeerId;

use support::*;

const V4: AfiSafi = AfiSafi::IPV4_UNICAST;

fn treat_as_withdraw() -> Findings {
    Findings(vec![Finding {
        type_code: 2,
        action: ErrorAction::TreatAsWithdraw,
        error: DecodeError::new(
            "AS_PATH",
            23,
            ErrorKind::MissingWellKnownAttribute { type_code: 2 },
        ),
    }])
}

#[test]
fn announcement_and_withdrawal_report_changes() {
    let mut rib = rib();
    rib.add_peer(client(1), None, None);
    let changes = apply(
        &mut rib,
        1,
        &announce(&["10.0.0.0/24", "10.0.1.0/24"], base(&[65001])),
    );
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|c| c.paths.len() == 1 && c.family == V4));
    let changes = apply(&mut rib, 1, &withdraw(&["10.0.0.0/24", "10.9.9.0/24"]));
    assert_eq!(
        changes.len(),
        1,
        "withdrawing an unknown prefix changes nothing"
    );
    assert_eq!(changes[0].prefix, net("10.0.0.0/24"));
    assert!(changes[0].paths.is_empty());
    assert!(rib.paths(V4, net("10.0.0.0/24")).is_empty());
    assert_eq!(rib.counters(PeerId(1)).unwrap().accepted(), 1);
}

#[test]
fn one_attribute_set_is_interned_per_update() {
    let mut rib = rib();
    rib.add_peer(client(1), None, None);
    apply(
        &mut rib,
        1,
        &announce(&["10.0.0.0/24", "10.0.1.0/24"], base(&[65001])),
    );
    apply(&mut rib, 1, &announce(&["10.0.2.0/24"], base(&[65001])));
    let a = &rib.paths(V4, net("10.0.0.0/24"))[0].attrs;
    let b = &rib.paths(V4, net("10.0.1.0/24"))[0].attrs;
    let c = &rib.paths(V4, net("10.0.2.0/24"))[0].attrs;
    assert!(Arc::ptr_eq(a, b) && Arc::ptr_eq(a, c));
    assert_eq!(rib.interner().len(), 1);
    assert!(a.get(3).is_none(), "NEXT_HOP is held as the next hop");
}

#[test]
fn the_same_announcement_again_reports_no_change() {
    let mut rib = rib();
    rib.add_peer(client(1), None, None);
    apply(&mut rib, 1, &announce(&["10.0.0.0/24"], base(&[65001])));
    assert!(apply(&mut rib, 1, &announce(&["10.0.0.0/24"], base(&[65001]))).is_empty());
    let changes = apply(&mut rib, 1, &announce(&["10.0.0.0/24"], base(&[65002])));
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].paths[0].attrs.as_path().first_asn(), Some(65002));
}

#[test]
fn without_add_path_a_new_announcement_replaces_the_old() {
    let mut rib = rib();
    rib.add_peer(client(1), None, None);
    apply(&mut rib, 1, &announce(&["10.0.0.0/24"], base(&[65001])));
    apply(
        &mut rib,
        1,
        &announce(&["10.0.0.0/24"], base(&[65002, 65003])),
    );
    let paths = rib.paths(V4, net("10.0.0.0/24"));
    assert_eq!(paths.len(), 1);
    assert_eq!(paths[0].path_id, 0);
    assert_eq!(paths[0].attrs.as_path().path_length(), 2);
}

#[test]
fn add_path_keeps_several_paths_per_peer() {
    let mut rib = rib();
    let mut info = client(1);
    info.negotiated = negotiated(LOCAL_AS, info.router_id, true);
    rib.add_peer(info, None, None);
    rib.add_peer(client(2), None, None);
    let changes = apply(
        &mut rib,
        1,
        &announce_ids(
            &[("10.0.0.0/24", 1), ("10.0.0.0/24", 2)],
            base(&[65001, 65002]),
        ),
    );
    assert_eq!(changes.len(), 1, "one change per prefix");
    assert_eq!(changes[0].paths.len(), 2);
    apply(
        &mut rib,
        1,
        &announce_ids(&[("10.0.0.0/24", 3)], base(&[65001])),
    );
    apply(
        &mut rib,
        2,
        &announce(&["10.0.0.0/24"], base(&[65009, 1, 2])),
    );
    let paths = rib.paths(V4, net("10.0.0.0/24"));
    let keys: Vec<(u32, u32)> = paths.iter().map(|p| (p.peer.0, p.path_id)).collect();
    assert_eq!(keys, [(1, 3), (1, 1), (1, 2), (2, 0)]);
    // Path 2 is replaced, path 1 withdrawn.
    apply(
        &mut rib,
        1,
        &announce_ids(&[("10.0.0.0/24", 2)], base(&[65001])),
    );
    let mut gone = Update::default();
    gone.withdrawn
        .push(Nlri::with_path_id(net("10.0.0.0/24"), 1));
    apply(&mut rib, 1, &gone);
    let keys: Vec<(u32, u32)> = rib
        .paths(V4, net("10.0.0.0/24"))
        .iter()
        .map(|p| (p.peer.0, p.path_id))
        .collect();
    assert_eq!(keys, [(1, 2), (1, 3), (2, 0)]);
    assert_eq!(rib.counters(PeerId(1)).unwrap().accepted(), 2);
}

#[test]
fn rfc7606_treat_as_withdraw_removes_the_announced_prefixes() {
    let mut rib = rib();
    rib.add_peer(client(1), None, None);
    apply(&mut rib, 1, &announce(&["10.0.0.0/24"], base(&[65001])));
    apply(
        &mut rib,
        1,
        &announce_v6(&["2001:db8::/48"], base(&[65001])),
    );
    let mut changes = Vec::new();
    let stats = rib
        .apply_update(
            PeerId(1),
            &announce(&["10.0.0.0/24", "10.0.1.0/24"], base(&[65002])),
            &treat_as_withdraw(),
            &mut changes,
        )
        .unwrap();
    assert_eq!(stats.treated_as_withdraw, 2);
    assert_eq!(stats.accepted, 0);
    assert_eq!(changes.len(), 1);
    assert!(changes[0].paths.is_empty());
    assert!(rib.paths(V4, net("10.0.0.0/24")).is_empty());
    let stats = rib
        .apply_update(
            PeerId(1),
            &announce_v6(&["2001:db8::/48"], base(&[65002])),
            &treat_as_withdraw(),
            &mut changes,
        )
        .unwrap();
    assert_eq!(stats.treated_as_withdraw, 1);
    assert!(
        rib.paths(AfiSafi::IPV6_UNICAST, net("2001:db8::/48"))
            .is_empty()
    );
    assert_eq!(rib.counters(PeerId(1)).unwrap().treated_as_withdraw, 3);
}

#[test]
fn withdrawals_are_applied_before_announcements() {
    let mut rib = rib();
    rib.add_peer(client(1), None, None);
    apply(&mut rib, 1, &announce(&["10.0.0.0/24"], base(&[65001])));
    let mut update = announce(&["10.0.0.0/24"], base(&[65002]));
    update.withdrawn.push(Nlri::new(net("10.0.0.0/24")));
    let changes = apply(&mut rib, 1, &update);
    assert_eq!(changes.len(), 1, "the last change of the prefix only");
    assert_eq!(changes[0].paths.len(), 1);
    assert_eq!(
        rib.paths(V4, net("10.0.0.0/24"))[0]
            .attrs
            .as_path()
            .first_asn(),
        Some(65002)
    );
}

#[test]
fn ipv6_routes_travel_in_mp_reach_and_mp_unreach() {
    let mut rib = rib();
    rib.add_peer(client(1), None, None);
    let changes = apply(
        &mut rib,
        1,
        &announce_v6(&["2001:db8::/48", "2001:db8:1::/48"], base(&[65001])),
    );
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|c| c.family == AfiSafi::IPV6_UNICAST));
    assert_eq!(rib.iter_family(AfiSafi::IPV6_UNICAST).count(), 2);
    assert_eq!(rib.iter_family(V4).count(), 0);
    apply(&mut rib, 1, &withdraw_v6(&["2001:db8::/48"]));
    let left: Vec<_> = rib
        .iter_family(AfiSafi::IPV6_UNICAST)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(left, [net("2001:db8:1::/48")]);
}

#[test]
fn rfc8212_no_import_policy_rejects_everything_from_ebgp() {
    let mut rib = rib();
    rib.add_peer(external(1, 65001), None, None);
    let mut changes = Vec::new();
    let stats = rib
        .apply_update(
            PeerId(1),
            &announce(&["10.0.0.0/24"], base(&[65001])),
            &Findings::default(),
            &mut changes,
        )
        .unwrap();
    assert_eq!(stats.rejected, 1);
    assert!(changes.is_empty());
    assert!(rib.paths(V4, net("10.0.0.0/24")).is_empty());
    assert_eq!(rib.counters(PeerId(1)).unwrap().rejected_by_policy, 1);
}

#[test]
fn rfc8212_no_import_policy_accepts_from_ibgp() {
    let mut rib = rib();
    rib.add_peer(
        peer(1, bgp_speaker::PeerRole::Internal, LOCAL_AS),
        None,
        None,
    );
    rib.add_peer(client(2), None, None);
    apply(&mut rib, 1, &announce(&["10.0.0.0/24"], base(&[])));
    apply(&mut rib, 2, &announce(&["10.0.1.0/24"], base(&[])));
    assert_eq!(best(&rib, "10.0.0.0/24"), Some(1));
    assert_eq!(best(&rib, "10.0.1.0/24"), Some(2));
}

#[test]
fn local_pref_from_ebgp_is_ignored_and_policy_sets_it() {
    let mut rib = rib();
    let policy = Policy::accept_all("in").with(
        Statement::new("pref", Verdict::Accept)
            .when(Condition::Prefix(vec![PrefixRange::new(net(
                "10.0.1.0/24",
            ))]))
            .then(Action::SetLocalPref(300)),
    );
    rib.add_peer(external(1, 65001), Some(policy), None);
    let attributes = {
        let mut a = base(&[65001]);
        a.push(PathAttribute::LocalPref(500));
        a
    };
    apply(
        &mut rib,
        1,
        &announce(&["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"], attributes),
    );
    assert_eq!(
        rib.paths(V4, net("10.0.0.0/24"))[0].attrs.local_pref(),
        None
    );
    assert_eq!(
        rib.paths(V4, net("10.0.1.0/24"))[0].attrs.local_pref(),
        Some(300)
    );
    let a = &rib.paths(V4, net("10.0.0.0/24"))[0].attrs;
    let c = &rib.paths(V4, net("10.0.2.0/24"))[0].attrs;
    assert!(
        Arc::ptr_eq(a, c),
        "unmodified routes share the UPDATE's set"
    );
}

#[test]
fn import_policy_rejection_withdraws_the_earlier_path() {
    let mut rib = rib();
    let policy = Policy::accept_all("in").with(
        Statement::new("no-blackhole", Verdict::Reject)
            .when(Condition::Community(Community::BLACKHOLE)),
    );
    rib.add_peer(client(1), Some(policy), None);
    apply(&mut rib, 1, &announce(&["10.0.0.0/24"], base(&[65001])));
    let mut tagged = base(&[65001]);
    tagged.push(PathAttribute::Communities(bgp_proto::smallvec::smallvec![
        Community::BLACKHOLE
    ]));
    let changes = apply(&mut rib, 1, &announce(&["10.0.0.0/24"], tagged));
    assert_eq!(changes.len(), 1);
    assert!(changes[0].paths.is_empty());
    assert_eq!(rib.counters(PeerId(1)).unwrap().accepted(), 0);
}

#[test]
fn removing_a_peer_withdraws_its_paths_only() {
    let mut rib = rib();
    rib.add_peer(client(1), None, None);
    rib.add_peer(client(2), None, None);
    apply(
        &mut rib,
        1,
        &announce(&["10.0.0.0/24", "10.0.1.0/24"], base(&[65001])),
    );
    apply(
        &mut rib,
        1,
        &announce_v6(&["2001:db8::/48"], base(&[65001])),
    );
    apply(
        &mut rib,
        2,
        &announce(&["10.0.0.0/24"], base(&[65002, 65003])),
    );
    let mut changes = Vec::new();
    assert_eq!(rib.remove_peer(PeerId(1), &mut changes), 3);
    assert_eq!(changes.len(), 3);
    assert_eq!(best(&rib, "10.0.0.0/24"), Some(2));
    assert!(rib.paths(V4, net("10.0.1.0/24")).is_empty());
    assert!(rib.peer_info(PeerId(1)).is_none());
    // Still known as a source, for the update groups to export the
    // changes' previous best paths, until the batch is done.
    assert_eq!(rib.source_info(PeerId(1)).map(|i| i.id), Some(PeerId(1)));
    rib.forget_departed();
    assert!(rib.source_info(PeerId(1)).is_none());
    assert!(changes.iter().all(|c| c.previous_best.is_some()));
    drop(changes);
    rib.collect_garbage();
    assert_eq!(rib.interner().len(), 1, "unused sets are collected");
}

#[test]
fn updates_from_unknown_peers_are_ignored() {
    let mut rib = rib();
    let mut changes = Vec::new();
    let stats = rib
        .apply_update(
            PeerId(9),
            &announce(&["10.0.0.0/24"], base(&[])),
            &Findings::default(),
            &mut changes,
        )
        .unwrap();
    assert!(stats.unknown_peer);
    assert!(changes.is_empty());
}

#[test]
fn end_of_rib_is_reported() {
    let mut rib = rib();
    rib.add_peer(client(1), None, None);
    let mut changes = Vec::new();
    let stats = rib
        .apply_update(
            PeerId(1),
            &Update::end_of_rib(AfiSafi::IPV6_UNICAST),
            &Findings::default(),
            &mut changes,
        )
        .unwrap();
    assert_eq!(stats.end_of_rib, Some(AfiSafi::IPV6_UNICAST));
}

#[test]
fn local_routes_are_originated_and_withdrawn() {
    let mut rib = rib();
    rib.add_peer(client(1), None, None);
    apply(&mut rib, 1, &announce(&["10.0.0.0/24"], base(&[65001])));
    let attrs = bgp_speaker::PathAttrs::from_update_attributes(
        &base(&[]),
        bgp_proto::attribute::NextHop::V4(Ipv4Addr::new(192, 0, 2, 254)),
    );
    let mut changes = Vec::new();
    rib.originate(V4, net("10.0.0.0/24"), attrs.clone(), &mut changes)
        .unwrap();
    assert_eq!(changes[0].paths[0].peer, PeerId::LOCAL);
    assert!(
        rib.originate(V4, net("2001:db8::/32"), attrs, &mut changes)
            .is_err()
    );
    changes.clear();
    assert!(rib.withdraw_local(V4, net("10.0.0.0/24"), &mut changes));
    assert_eq!(changes[0].paths[0].peer, PeerId(1));
    assert!(!rib.withdraw_local(V4, net("10.0.0.0/24"), &mut changes));
}

#[test]
fn totals_and_memory_are_counted() {
    let mut rib = rib();
    rib.add_peer(client(1), None, None);
    rib.add_peer(client(2), None, None);
    apply(
        &mut rib,
        1,
        &announce(&["10.0.0.0/24", "10.0.1.0/24"], base(&[65001])),
    );
    apply(&mut rib, 2, &announce(&["10.0.0.0/24"], base(&[65001])));
    let totals = rib.totals();
    assert_eq!(totals.families.len(), 1);
    assert_eq!(
        (totals.families[0].prefixes, totals.families[0].paths),
        (2, 3)
    );
    assert_eq!(totals.attribute_sets, 1);
    let memory = rib.memory();
    assert_eq!((memory.prefixes, memory.paths), (2, 3));
    assert!(memory.table_bytes > 0 && memory.path_bytes > 0);
    let counters = rib.counters(PeerId(1)).unwrap();
    assert_eq!((counters.received, counters.accepted()), (2, 2));
}

#[test]
fn attribute_sets_of_withdrawn_routes_are_collected() {
    let mut rib = rib();
    rib.add_peer(client(1), None, None);
    for i in 0..100u32 {
        let mut attributes = base(&[65001]);
        attributes.push(PathAttribute::MultiExitDisc(i));
        let prefix = format!("10.1.{i}.0/24");
        apply(&mut rib, 1, &announce(&[prefix.as_str()], attributes));
    }
    assert_eq!(rib.interner().len(), 100);
    let prefixes: Vec<String> = (0..50).map(|i| format!("10.1.{i}.0/24")).collect();
    let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    apply(&mut rib, 1, &withdraw(&refs));
    assert_eq!(rib.collect_garbage(), 50);
    assert_eq!(rib.interner().len(), 50);
    assert_eq!(rib.paths(V4, net("10.1.99.0/24"))[0].attrs.med(), Some(99));
}

/// The (peer, path id) of a change's previous best path.
fn previous(change: &bgp_speaker::types::RibChange) -> Option<(u32, u32)> {
    change.previous_best.as_ref().map(|p| (p.peer.0, p.path_id))
}

#[test]
fn changes_name_the_best_path_they_replace() {
    let mut rib = rib();
    let mut info = client(1);
    info.negotiated = negotiated(LOCAL_AS, info.router_id, true);
    rib.add_peer(info, None, None);
    rib.add_peer(client(2), None, None);
    let changes = apply(
        &mut rib,
        2,
        &announce(&["10.0.0.0/24"], base(&[65002, 65003])),
    );
    assert_eq!(previous(&changes[0]), None, "a new prefix");
    // A better path: the previous best is peer 2's.
    let changes = apply(
        &mut rib,
        1,
        &announce_ids(&[("10.0.0.0/24", 4)], base(&[65001])),
    );
    assert_eq!(previous(&changes[0]), Some((2, 0)));
    assert_eq!(changes[0].paths[0].peer, PeerId(1));
    // Two paths of the prefix in one UPDATE: one change, from the best
    // before the UPDATE to the best after it.
    let update = announce_ids(&[("10.0.0.0/24", 3), ("10.0.0.0/24", 1)], base(&[65001]));
    let changes = apply(&mut rib, 1, &update);
    assert_eq!(changes.len(), 1);
    assert_eq!(previous(&changes[0]), Some((1, 4)));
    let best = &changes[0].paths[0];
    assert_eq!((best.peer, best.path_id), (PeerId(1), 1));
    // Peer 1 goes: the previous best is its path.
    let mut changes = Vec::new();
    rib.remove_peer(PeerId(1), &mut changes);
    assert_eq!(previous(&changes[0]), Some((1, 1)));
    assert_eq!(changes[0].paths[0].peer, PeerId(2));
}
