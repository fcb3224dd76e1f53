//! New members: initial dump then End-of-RIB (RFC 4724 section 2); route
//! refresh (RFC 2918, RFC 7313); membership errors.

#[path = "adj_out_support.rs"]
mod support;

use bytes::Bytes;
use std::net::IpAddr;
use std::sync::Arc;

use bgp_proto::iana::AfiSafi;
use bgp_proto::message::{Message, RefreshSubtype, Update};

use bgp_speaker::adj_out::{AdjOutError, MemberSpec, SyncState};
use bgp_speaker::outbox::Outbox;
use bgp_speaker::types::{PeerId, RibChange};

use support::*;

fn loc_rib(h: &mut Harness) -> Vec<RibChange> {
    let v4 = h.intern(attrs(&[], "10.0.0.90", vec![]));
    let v6 = h.intern(attrs(&[], "2001:db8::90", vec![]));
    let mut rib: Vec<RibChange> = (0..3)
        .map(|i| change(&format!("10.{i}.0.0/16"), vec![path(90, &v4)]))
        .collect();
    rib.push(change("2001:db8:1::/48", vec![path(90, &v6)]));
    rib.push(change("2001:db8:2::/48", vec![path(90, &v6)]));
    rib
}

fn end_of_rib(message: &Message) -> Option<AfiSafi> {
    match message {
        Message::Update(update) => update.end_of_rib_family(),
        _ => None,
    }
}

fn announced(messages: &[Message]) -> usize {
    let updates: Vec<Update> = messages
        .iter()
        .filter_map(|m| match m {
            Message::Update(u) => Some(u.clone()),
            _ => None,
        })
        .collect();
    Routes::from_updates(&updates).announced.len()
}

#[test]
fn a_new_group_is_filled_from_the_loc_rib_then_end_of_rib_follows() {
    let mut h = Harness::new();
    h.source(&Peer::client(90));
    let rib = loc_rib(&mut h);
    let peer = Peer::client(1);
    h.add_with(&peer, options(&peer), IpAddr::V4(LOCAL_ADDRESS), &rib);
    let messages = h.messages(1);
    let markers: Vec<_> = messages.iter().map(end_of_rib).collect();
    let n = messages.len();
    assert_eq!(
        &markers[n - 2..],
        &[Some(AfiSafi::IPV4_UNICAST), Some(AfiSafi::IPV6_UNICAST)]
    );
    assert!(markers[..n - 2].iter().all(Option::is_none), "routes first");
    assert_eq!(announced(&messages), 5);
}

#[test]
fn a_member_joining_an_existing_group_gets_the_group_table() {
    let mut h = Harness::new();
    h.source(&Peer::client(90));
    let rib = loc_rib(&mut h);
    let first = Peer::client(1);
    let group = h.add_with(&first, options(&first), IpAddr::V4(LOCAL_ADDRESS), &rib);
    h.messages(1);
    // A change not flushed yet when the next member joins.
    let set = h.intern(attrs(&[], "10.0.0.90", vec![]));
    h.apply(&[change("10.99.0.0/16", vec![path(90, &set)])]);
    let second = Peer::client(2);
    // Its Loc-RIB argument is ignored: the group's table is what it gets.
    let joined = h.add_with(&second, options(&second), IpAddr::V4(LOCAL_ADDRESS), &[]);
    assert_eq!(joined, group);
    let messages = h.messages(2);
    assert_eq!(announced(&messages), 5);
    assert_eq!(
        end_of_rib(messages.last().unwrap()),
        Some(AfiSafi::IPV6_UNICAST)
    );
    // The pending change reaches both with the next flush.
    let _ = h.flush();
    assert!(h.routes(1).get("10.99.0.0/16").is_some());
    assert!(h.routes(2).get("10.99.0.0/16").is_some());
}

#[test]
fn end_of_rib_only_for_negotiated_families() {
    let mut h = Harness::new();
    h.add(&Peer::client(1).families(&[AfiSafi::IPV6_UNICAST]));
    let messages = h.messages(1);
    assert_eq!(messages.len(), 1);
    assert_eq!(end_of_rib(&messages[0]), Some(AfiSafi::IPV6_UNICAST));
}

#[test]
fn a_paced_initial_dump_still_ends_with_end_of_rib() {
    let mut h = Harness::new();
    h.source(&Peer::client(90));
    let set = h.intern(attrs(&[], "10.0.0.90", vec![]));
    let rib: Vec<RibChange> = (0..5000)
        .map(|i| {
            change(
                &format!("10.{}.{}.0/24", i / 256, i % 256),
                vec![path(90, &set)],
            )
        })
        .collect();
    let peer = Peer::client(1);
    let outbox = Arc::new(Outbox::new());
    outbox.force_push(Bytes::from(vec![0u8; Outbox::HIGH_WATER - 100]));
    h.outboxes.insert(PeerId(1), outbox.clone());
    h.rib.peers.insert(PeerId(1), peer.info());
    for change in &rib {
        h.rib.record(&mut change.clone());
    }
    let spec = MemberSpec::new(
        peer.info(),
        IpAddr::V4(LOCAL_ADDRESS),
        &options(&peer),
        outbox,
    );
    h.adj.add_member(spec, &h.rib, &mut h.interner).unwrap();
    let state = h.adj.member_stats(PeerId(1)).unwrap().state;
    assert!(
        matches!(state, SyncState::Behind { waiting: true, .. }),
        "{state:?}"
    );
    let ctx = h.decode_ctx(1);
    let mut messages = Vec::new();
    loop {
        let (buffers, drained) = h.take(1);
        let bgp = buffers.iter().filter(|b| b.first() == Some(&0xff));
        messages.extend(bgp.flat_map(|b| decode_all(b, &ctx)));
        if !drained {
            break;
        }
        h.adj.member_drained(PeerId(1)).unwrap();
    }
    assert_eq!(
        h.adj.member_stats(PeerId(1)).unwrap().state,
        SyncState::InSync
    );
    assert_eq!(announced(&messages), 5000);
    let n = messages.len();
    assert_eq!(end_of_rib(&messages[n - 2]), Some(AfiSafi::IPV4_UNICAST));
    assert_eq!(end_of_rib(&messages[n - 1]), Some(AfiSafi::IPV6_UNICAST));
    assert!(messages[..n - 2].iter().all(|m| end_of_rib(m).is_none()));
}

#[test]
fn rfc2918_route_refresh_resends_the_family() {
    let mut h = Harness::new();
    h.source(&Peer::client(90));
    let rib = loc_rib(&mut h);
    let peer = Peer::client(1);
    h.add_with(&peer, options(&peer), IpAddr::V4(LOCAL_ADDRESS), &rib);
    h.add(&Peer::client(2));
    h.messages(1);
    h.messages(2);
    h.refresh(1, AfiSafi::IPV4_UNICAST).unwrap();
    let messages = h.messages(1);
    assert!(messages.iter().all(|m| matches!(m, Message::Update(_))));
    assert!(
        messages.iter().all(|m| end_of_rib(m).is_none()),
        "no markers without RFC 7313"
    );
    let routes = Routes::from_updates(&updates_of(messages));
    assert_eq!(routes.table.len(), 3, "the IPv4 routes only");
    assert!(h.take(2).0.is_empty(), "other members unaffected");
    assert_eq!(h.adj.member_stats(PeerId(1)).unwrap().refreshes, 1);
}

#[test]
fn rfc7313_enhanced_route_refresh_is_bracketed_by_borr_and_eorr() {
    let mut h = Harness::new();
    h.source(&Peer::client(90));
    let rib = loc_rib(&mut h);
    let peer = Peer::client(1).enhanced();
    h.add_with(&peer, options(&peer), IpAddr::V4(LOCAL_ADDRESS), &rib);
    h.messages(1);
    h.refresh(1, AfiSafi::IPV6_UNICAST).unwrap();
    let messages = h.messages(1);
    let subtype = |m: &Message| match m {
        Message::RouteRefresh(r) => {
            assert_eq!(r.afi_safi(), AfiSafi::IPV6_UNICAST);
            Some(r.subtype)
        }
        _ => None,
    };
    assert_eq!(
        subtype(&messages[0]),
        Some(RefreshSubtype::BeginningOfRouteRefresh)
    );
    assert_eq!(
        subtype(messages.last().unwrap()),
        Some(RefreshSubtype::EndOfRouteRefresh)
    );
    assert_eq!(announced(&messages), 2);
}

#[test]
fn membership_errors_and_group_removal() {
    let mut h = Harness::new();
    let group = h.add(&Peer::client(1));
    let peer = Peer::client(1);
    let spec = MemberSpec::new(
        peer.info(),
        IpAddr::V4(LOCAL_ADDRESS),
        &options(&peer),
        Arc::new(Outbox::new()),
    );
    let again = h.adj.add_member(spec, &h.rib, &mut h.interner);
    assert_eq!(
        again,
        Err(AdjOutError::AlreadyMember {
            peer: PeerId(1),
            group
        })
    );
    assert_eq!(
        h.refresh(1, AfiSafi::IPV4_MULTICAST),
        Err(AdjOutError::FamilyNotNegotiated {
            peer: PeerId(1),
            family: AfiSafi::IPV4_MULTICAST
        })
    );
    assert_eq!(
        h.adj.member_drained(PeerId(7)),
        Err(AdjOutError::NotAMember(PeerId(7)))
    );
    assert_eq!(
        h.refresh(7, AfiSafi::IPV4_UNICAST),
        Err(AdjOutError::NotAMember(PeerId(7)))
    );
    assert_eq!(h.adj.member_drained(PeerId(1)), Ok(SyncState::InSync));
    assert_eq!(h.adj.group_count(), 1);
    assert_eq!(h.adj.remove_member(PeerId(1)), Ok(group));
    assert_eq!(h.adj.group_count(), 0);
    assert_eq!(
        h.adj.remove_member(PeerId(1)),
        Err(AdjOutError::NotAMember(PeerId(1)))
    );
}
