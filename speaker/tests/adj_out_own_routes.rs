//! A member is not sent the routes whose source it is, in a group with a
//! table and without, in flushes, walks and ADD-PATH; it gets a withdrawal
//! when its own route replaces one it held from another source.

#[path = "adj_out_support.rs"]
mod support;

use std::net::{IpAddr, Ipv4Addr};

use bgp_proto::Nlri;
use bgp_proto::attribute::PathAttribute;
use bgp_proto::iana::{AfiSafi, attr_type};

use bgp_speaker::Path;
use bgp_speaker::config::AddPathSend;
use bgp_speaker::outbox::Outbox;
use bgp_speaker::types::PeerId;

use bytes::Bytes;
use support::*;

const P: &str = "10.1.0.0/16";
const Q: &str = "10.2.0.0/16";

/// Groups with a table (`tabled`) or sending from the Loc-RIB.
fn harness(tabled: bool) -> Harness {
    if tabled {
        Harness::tabled()
    } else {
        Harness::new()
    }
}

/// Clients 1, 2 and 3 in one group, their End-of-RIB taken.
fn three_clients(tabled: bool) -> Harness {
    let mut h = harness(tabled);
    let group = h.add(&Peer::client(1));
    for id in 2..=3 {
        assert_eq!(h.add(&Peer::client(id)), group);
    }
    for id in 1..=3 {
        h.messages(id);
    }
    h
}

/// A path from client `id`, its next hop 10.0.0.`id`.
fn from(h: &mut Harness, id: u32) -> Path {
    let set = h.intern(attrs(&[], &format!("10.0.0.{id}"), vec![]));
    path(id, &set)
}

fn originator(routes: &Routes, prefix: &str) -> Option<Ipv4Addr> {
    match routes.get(prefix)?.get(attr_type::ORIGINATOR_ID)? {
        PathAttribute::OriginatorId(id) => Some(*id),
        other => panic!("{other:?}"),
    }
}

fn advertised(h: &Harness, id: u32) -> Option<usize> {
    h.adj.member_stats(PeerId(id))?.routes_advertised
}

fn each_mode(test: fn(bool)) {
    test(false);
    test(true);
}

#[test]
fn a_member_gets_the_others_routes_of_a_flush_and_not_its_own() {
    each_mode(|tabled| {
        let mut h = three_clients(tabled);
        let (p1, q2) = (from(&mut h, 1), from(&mut h, 2));
        h.send(&[change(P, vec![p1]), change(Q, vec![q2])]);
        let one = h.routes(1);
        assert_eq!(
            one.table.keys().copied().collect::<Vec<_>>(),
            vec![Nlri::new(net(Q))]
        );
        assert_eq!(originator(&one, Q), Some(Peer::client(2).router_id()));
        let two = h.routes(2);
        assert_eq!(
            two.table.keys().copied().collect::<Vec<_>>(),
            vec![Nlri::new(net(P))]
        );
        let three = h.routes(3);
        assert_eq!(three.table.len(), 2, "tabled: {tabled}");
        assert_eq!(originator(&three, P), Some(Peer::client(1).router_id()));
        assert_eq!(
            (advertised(&h, 1), advertised(&h, 2), advertised(&h, 3)),
            (Some(1), Some(1), Some(2)),
            "prefixes out leave the member's own out"
        );
        assert!(h.exported(1, P).is_empty());
        assert_eq!(h.exported(3, P).len(), 1);
        assert_eq!(h.adj.group_stats()[0].routes, 2);
    });
}

#[test]
fn a_flush_of_one_member_s_routes_alone_pushes_nothing_to_it() {
    each_mode(|tabled| {
        let mut h = three_clients(tabled);
        let p1 = from(&mut h, 1);
        let summary = h.send(&[change(P, vec![p1])]);
        assert_eq!(summary.pushes, 2, "tabled: {tabled}");
        assert!(h.take(1).0.is_empty(), "nothing for the source");
        let (two, three) = (h.take(2).0, h.take(3).0);
        assert_eq!(two.len(), 1);
        assert_eq!(
            two[0].as_ptr(),
            three[0].as_ptr(),
            "one buffer for the others"
        );
        // Its withdrawal, with another client's route in the same flush.
        let q2 = from(&mut h, 2);
        h.send(&[withdraw(P), change(Q, vec![q2])]);
        let one = h.routes(1);
        assert!(one.withdrawn.is_empty(), "tabled: {tabled}");
        assert_eq!(one.announced, vec![Nlri::new(net(Q))]);
        let two = h.routes(2);
        assert_eq!(
            (two.withdrawn, two.announced),
            (vec![Nlri::new(net(P))], vec![])
        );
        let three = h.routes(3);
        assert_eq!(three.withdrawn, vec![Nlri::new(net(P))]);
        assert_eq!(three.announced, vec![Nlri::new(net(Q))]);
    });
}

#[test]
fn withdrawals_of_many_sources_in_one_flush_are_packed_together() {
    each_mode(|tabled| {
        let mut h = harness(tabled);
        let prefix = |id: u32| format!("10.{id}.0.0/16");
        for id in 1..=12 {
            h.add(&Peer::client(id));
        }
        let mut changes = Vec::new();
        for id in 1..=12 {
            let path = from(&mut h, id);
            changes.push(change(&prefix(id), vec![path]));
        }
        h.send(&changes);
        for id in 1..=12 {
            h.messages(id);
        }
        // Two sources: each one's member skips its own withdrawal.
        h.send(&[withdraw(&prefix(1)), withdraw(&prefix(2))]);
        assert_eq!(h.routes(1).withdrawn, vec![Nlri::new(net(&prefix(2)))]);
        assert_eq!(h.routes(3).withdrawn.len(), 2, "tabled: {tabled}");
        for id in 2..=12 {
            h.messages(id);
        }
        // Ten sources: one UPDATE for all, their own included.
        let before = h.adj.group_stats()[0].messages_encoded;
        let all: Vec<_> = (3..=12).map(|id| withdraw(&prefix(id))).collect();
        h.send(&all);
        assert_eq!(h.adj.group_stats()[0].messages_encoded - before, 1);
        assert_eq!(h.routes(3).withdrawn.len(), 10, "tabled: {tabled}");
        assert_eq!(h.routes(1).withdrawn.len(), 10);
    });
}

#[test]
fn a_member_whose_own_route_becomes_best_gets_a_withdrawal_of_the_one_it_held() {
    each_mode(|tabled| {
        let mut h = three_clients(tabled);
        let (p1, p2) = (from(&mut h, 1), from(&mut h, 2));
        let (id1, id2) = (Peer::client(1).router_id(), Peer::client(2).router_id());
        h.send(&[change(P, vec![p2.clone()])]);
        assert_eq!(originator(&h.routes(1), P), Some(id2));
        assert!(h.routes(2).table.is_empty());
        h.routes(3);

        // Client 1's path becomes the best: 1 held 2's route, now withdrawn.
        h.send(&[change(P, vec![p1.clone(), p2.clone()])]);
        let one = h.routes(1);
        assert_eq!(one.withdrawn, vec![Nlri::new(net(P))], "tabled: {tabled}");
        assert!(one.announced.is_empty());
        assert_eq!(originator(&h.routes(2), P), Some(id1), "2 gets 1's route");
        assert_eq!(originator(&h.routes(3), P), Some(id1));
        assert_eq!((advertised(&h, 1), advertised(&h, 2)), (Some(0), Some(1)));

        // Client 1 withdraws it: 2's path is back, and 2 holds 1's.
        h.send(&[change(P, vec![p2.clone()])]);
        assert_eq!(originator(&h.routes(1), P), Some(id2));
        let two = h.routes(2);
        assert_eq!(two.withdrawn, vec![Nlri::new(net(P))]);
        assert!(two.announced.is_empty());
        assert_eq!(originator(&h.routes(3), P), Some(id2));

        // Client 2 withdraws it: the others hear of it, 2 (which never
        // held it from us) does not.
        h.send(&[withdraw(P)]);
        assert!(h.take(2).0.is_empty(), "tabled: {tabled}");
        for id in [1, 3] {
            assert_eq!(h.routes(id).withdrawn, vec![Nlri::new(net(P))]);
        }
        assert_eq!(advertised(&h, 1), Some(0));
    });
}

#[test]
fn the_same_attributes_from_another_source_are_sent_again() {
    // A set that already carries ORIGINATOR_ID (reflected to us by another
    // reflector) exports the same from either client: a change of source
    // alone must reach the one that did not hold it.
    each_mode(|tabled| {
        let mut h = three_clients(tabled);
        let set = h.intern(attrs(
            &[],
            "10.0.0.9",
            vec![PathAttribute::OriginatorId(Ipv4Addr::new(10, 0, 0, 9))],
        ));
        h.send(&[change(P, vec![path(2, &set)])]);
        for id in 1..=3 {
            h.messages(id);
        }
        h.send(&[change(P, vec![path(1, &set), path(2, &set)])]);
        assert_eq!(
            h.routes(1).withdrawn,
            vec![Nlri::new(net(P))],
            "tabled: {tabled}"
        );
        assert!(h.routes(2).table.contains_key(&Nlri::new(net(P))));
    });
}

#[test]
fn a_new_member_is_not_dumped_its_own_routes() {
    each_mode(|tabled| {
        let mut h = three_clients(tabled);
        let (p1, q2) = (from(&mut h, 1), from(&mut h, 2));
        h.send(&[change(P, vec![p1]), change(Q, vec![q2])]);
        // Client 1's session goes down and comes back while the Loc-RIB
        // still holds its path (as graceful restart keeps it).
        h.adj.remove_member(PeerId(1)).unwrap();
        h.add(&Peer::client(1));
        let one = h.routes(1);
        assert_eq!(
            one.table.keys().copied().collect::<Vec<_>>(),
            vec![Nlri::new(net(Q))],
            "tabled: {tabled}"
        );
        assert_eq!(advertised(&h, 1), Some(1));
    });
}

#[test]
fn a_member_behind_catches_up_with_a_withdrawal_of_a_route_now_its_own() {
    each_mode(|tabled| {
        let mut h = three_clients(tabled);
        let (p1, p2, q2) = (from(&mut h, 1), from(&mut h, 2), from(&mut h, 2));
        h.send(&[change(P, vec![p2.clone()])]);
        h.messages(1);
        h.outbox(1)
            .force_push(Bytes::from(vec![0u8; Outbox::HIGH_WATER + 1]));
        h.send(&[change(P, vec![p1, p2]), change(Q, vec![q2])]);
        let r3 = from(&mut h, 3);
        h.send(&[change("10.3.0.0/16", vec![r3])]);
        // Without a table the flush that finds the outbox full is still
        // pushed (then the group makes its table); after the filler.
        let (buffers, drained) = h.take(1);
        assert!(drained, "tabled: {tabled}");
        let ctx = h.decode_ctx(1);
        let forced = buffers[1..].iter().flat_map(|b| decode_all(b, &ctx));
        let mut updates = updates_of(forced.collect());
        h.adj.member_drained(PeerId(1)).unwrap();
        updates.extend(h.updates(1));
        let one = Routes::from_updates(&updates);
        assert_eq!(one.withdrawn, vec![Nlri::new(net(P))], "tabled: {tabled}");
        let mut announced = one.announced.clone();
        announced.sort();
        assert_eq!(
            announced,
            vec![Nlri::new(net(Q)), Nlri::new(net("10.3.0.0/16"))]
        );
    });
}

#[test]
fn add_path_members_get_every_path_but_their_own() {
    let mut h = Harness::new();
    for id in 1..=2 {
        let peer = Peer::client(id).add_path(AfiSafi::IPV4_UNICAST);
        let mut opts = options(&peer);
        opts.add_path_send = AddPathSend::All;
        h.add_with(&peer, opts, IpAddr::V4(LOCAL_ADDRESS), &[]);
        h.messages(id);
    }
    let (p1, p2) = (from(&mut h, 1), from(&mut h, 2));
    h.source(&Peer::client(9));
    let p9 = from(&mut h, 9);
    h.send(&[change(P, vec![p1, p2, p9])]);
    let one = h.routes(1);
    let two = h.routes(2);
    assert_eq!(one.table.len(), 2, "2's and 9's paths");
    assert_eq!(two.table.len(), 2, "1's and 9's paths");
    let ids = |routes: &Routes| -> Vec<Ipv4Addr> {
        let mut ids: Vec<_> = routes
            .table
            .values()
            .map(|r| match r.get(attr_type::ORIGINATOR_ID) {
                Some(PathAttribute::OriginatorId(id)) => *id,
                other => panic!("{other:?}"),
            })
            .collect();
        ids.sort();
        ids
    };
    let (id1, id2, id9) = (
        Peer::client(1).router_id(),
        Peer::client(2).router_id(),
        Peer::client(9).router_id(),
    );
    assert!(!ids(&one).contains(&id1) && ids(&one).contains(&id2) && ids(&one).contains(&id9));
    assert!(!ids(&two).contains(&id2) && ids(&two).contains(&id1));
}
