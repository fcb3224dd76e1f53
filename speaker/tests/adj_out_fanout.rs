//! Update groups: one encoding per group, the same bytes to every member.

#[path = "adj_out_support.rs"]
mod support;

use std::net::{IpAddr, Ipv4Addr};

use bgp_proto::attribute::PathAttribute;
use bgp_proto::iana::{AfiSafi, attr_type};
use bgp_proto::message::Message;

use bgp_speaker::adj_out::{GroupStats, NotExported, SyncState};
use bgp_speaker::config::{AddPathSend, NextHopMode};
use bgp_speaker::policy::{Condition, Policy, Statement, Verdict};
use bgp_speaker::types::PeerId;

use support::*;

#[test]
fn the_same_bytes_reach_every_member_of_a_group() {
    let mut h = Harness::new();
    let source = Peer::external(90, 65090);
    h.source(&source);
    let group = h.add(&Peer::client(1));
    for id in 2..=4 {
        assert_eq!(h.add(&Peer::client(id)), group, "same key, same group");
    }
    // Initial dumps of an empty table: End-of-RIB only.
    for id in 1..=4 {
        let messages = h.messages(id);
        assert_eq!(messages.len(), 2, "EoR for IPv4 and IPv6 unicast");
    }
    let a = h.intern(attrs(&[65090], "198.51.100.1", vec![]));
    let b = h.intern(attrs(&[65090, 65091], "198.51.100.1", vec![]));
    let changes: Vec<_> = (0..300)
        .map(|i| {
            let set = if i % 3 == 0 { &b } else { &a };
            change(
                &format!("10.{}.{}.0/24", i / 256, i % 256),
                vec![path(90, set)],
            )
        })
        .collect();
    let summary = h.send(&changes);
    assert_eq!(summary.groups, 1);
    assert_eq!(summary.pushes, 4);
    let buffers: Vec<_> = (1..=4).map(|id| h.take(id).0).collect();
    for taken in &buffers {
        assert_eq!(taken.len(), 1, "one buffer per flush");
    }
    let first = &buffers[0][0];
    for taken in &buffers[1..] {
        assert_eq!(taken[0].as_ptr(), first.as_ptr(), "pointer-equal buffer");
        assert_eq!(taken[0].len(), first.len());
    }
    let ctx = h.decode_ctx(1);
    let updates = decode_all(first, &ctx);
    assert_eq!(updates.len() as u64, summary.messages);
    let prefixes: usize = updates
        .iter()
        .map(|m| match m {
            Message::Update(u) => u.nlri.len(),
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(prefixes, 300);
    let stats = &h.adj.group_stats()[0];
    assert_eq!(stats.members, 4);
    assert_eq!(stats.routes, 300);
    assert_eq!(
        stats.attribute_blocks_encoded, 2,
        "one block per distinct set"
    );
    assert_eq!(stats.cached_transforms, 2, "one transform per distinct set");
    assert_eq!(stats.bytes_encoded, first.len() as u64);
}

#[test]
fn members_that_differ_in_encoding_or_export_get_their_own_groups() {
    let mut h = Harness::new();
    let plain = h.add(&Peer::client(1));
    // Another local address does not matter where the next hop is kept.
    let other_address = h.add_with(
        &Peer::client(2),
        options(&Peer::client(2)),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99)),
        &[],
    );
    assert_eq!(other_address, plain);
    let groups = [
        h.add(&Peer::client(3).two_octet()),
        h.add(&Peer::client(4).families(&[AfiSafi::IPV4_UNICAST])),
        h.add(&Peer::internal(5)),
        h.add(&Peer::client(6).cluster(Ipv4Addr::new(10, 255, 0, 2))),
        h.add(&Peer::external(7, 65007)),
    ];
    for (i, g) in groups.iter().enumerate() {
        assert_ne!(*g, plain, "case {i}");
        assert!(!groups[..i].contains(g), "case {i}");
    }
    // ADD-PATH send only splits when negotiated.
    let mut add_path = options(&Peer::client(8));
    add_path.add_path_send = AddPathSend::BestN(2);
    let unused = h.add_with(
        &Peer::client(8),
        add_path.clone(),
        IpAddr::V4(LOCAL_ADDRESS),
        &[],
    );
    assert_eq!(unused, plain, "ADD-PATH send not negotiated");
    let peer = Peer::client(9).add_path(AfiSafi::IPV4_UNICAST);
    let used = h.add_with(&peer, add_path, IpAddr::V4(LOCAL_ADDRESS), &[]);
    assert_ne!(used, plain);
    // eBGP next hop self: the local address is part of the key.
    let ebgp = h.add(&Peer::external(10, 65010));
    assert_eq!(ebgp, groups[4], "same address, same AS-independent key");
    let elsewhere = h.add_with(
        &Peer::external(11, 65011),
        options(&Peer::external(11, 65011)),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 77)),
        &[],
    );
    assert_ne!(elsewhere, groups[4]);
    // Next hop kept towards eBGP: the address does not matter again.
    let mut keep = options(&Peer::external(12, 65012));
    keep.next_hop = NextHopMode::Keep;
    let keep_a = h.add_with(
        &Peer::external(12, 65012),
        keep.clone(),
        IpAddr::V4(LOCAL_ADDRESS),
        &[],
    );
    let keep_b = h.add_with(
        &Peer::external(13, 65013),
        keep,
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 78)),
        &[],
    );
    assert_eq!(keep_a, keep_b);
    assert_eq!(h.adj.members_of(keep_a), vec![PeerId(12), PeerId(13)]);
}

#[test]
fn a_policy_that_tests_the_peer_splits_the_group() {
    let mut h = Harness::new();
    let policy = Policy::new("by-as", Verdict::Reject)
        .with(Statement::new("65001", Verdict::Accept).when(Condition::PeerAs(65001)));
    let mut opts = options(&Peer::external(1, 65001));
    opts.export = Some(policy);
    let a = h.add_with(
        &Peer::external(1, 65001),
        opts.clone(),
        IpAddr::V4(LOCAL_ADDRESS),
        &[],
    );
    let b = h.add_with(
        &Peer::external(2, 65002),
        opts,
        IpAddr::V4(LOCAL_ADDRESS),
        &[],
    );
    assert_ne!(a, b);
    let set = h.intern(attrs(&[], "0.0.0.0", vec![]));
    h.messages(1);
    h.messages(2);
    h.send(&[change("10.0.0.0/8", vec![path(0, &set)])]);
    assert!(h.routes(1).get("10.0.0.0/8").is_some());
    assert!(
        h.routes(2).get("10.0.0.0/8").is_none(),
        "policy rejects AS 65002"
    );
    let stats: Vec<GroupStats> = h.adj.group_stats();
    let rejected = stats.iter().find(|s| s.id == b).unwrap();
    assert_eq!(
        rejected.not_exported,
        vec![(NotExported::PolicyRejected, 1)]
    );
}

#[test]
fn members_and_groups_report_their_state() {
    let mut h = Harness::new();
    let source = Peer::client(90);
    h.source(&source);
    let group = h.add(&Peer::client(1));
    h.add(&Peer::client(2));
    let set = h.intern(attrs(&[], "10.0.0.90", vec![PathAttribute::LocalPref(100)]));
    h.apply(&[change("10.0.0.0/24", vec![path(90, &set)])]);
    let stats = &h.adj.group_stats()[0];
    assert_eq!(
        (stats.id, stats.members, stats.pending, stats.routes),
        (group, 2, 1, 0)
    );
    let _ = h.flush();
    let stats = &h.adj.group_stats()[0];
    assert_eq!((stats.pending, stats.routes, stats.flushes), (0, 1, 1));
    assert!(stats.messages_encoded >= 1);
    let member = h.adj.member_stats(PeerId(1)).unwrap();
    assert_eq!(member.group, group);
    assert_eq!(member.state, SyncState::InSync);
    assert!(!member.lagging);
    assert_eq!(member.pushes, 1);
    assert_eq!(member.resyncs, 1, "the initial dump");
    assert!(
        member.queued_bytes > 0,
        "EoR markers and the flush are queued"
    );
    h.take(1);
    assert_eq!(h.adj.member_stats(PeerId(1)).unwrap().queued_bytes, 0);
    // The exported attributes are reflected ones.
    let exported = h.exported(1, "10.0.0.0/24");
    assert_eq!(exported.len(), 1);
    assert!(exported[0].1.get(attr_type::ORIGINATOR_ID).is_some());
}
