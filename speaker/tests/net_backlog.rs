//! The decoded backlog over real TCP: a peer task passes an UPDATE to the
//! core only while the backlog has room for its prefixes, stops reading
//! until the core drops earlier UPDATEs, and loses nothing.

mod net_support;

use bgp_proto::iana::AfiSafi;
use bgp_proto::message::Update;
use bgp_speaker::PeerInfo;
use bgp_speaker::backlog::RouteBacklog;
use bgp_speaker::events::PeerEvent;
use bytes::BytesMut;
use std::net::Ipv4Addr;
use std::time::Duration;

use net_support::*;

const V4: AfiSafi = AfiSafi::IPV4_UNICAST;
const A_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

/// Long enough for a held-back UPDATE to arrive if it were not held back,
/// well inside the 3 s hold time of the test sessions.
const QUIET: Duration = Duration::from_millis(300);

/// `count` UPDATEs of `each` distinct /24 prefixes.
fn updates(count: usize, each: usize) -> Vec<Update> {
    (0..count)
        .map(|u| {
            let prefixes: Vec<_> = (0..each)
                .map(|p| nlri(&format!("10.{u}.{p}.0/24")))
                .collect();
            ipv4_update(65001, A_IP, &prefixes)
        })
        .collect()
}

/// The next event as an UPDATE event, kept whole (its backlog share too).
async fn update_event(node: &mut Node, wait: Duration) -> Option<PeerEvent> {
    match next_event(&mut node.events, wait).await {
        Some(event @ PeerEvent::Update { .. }) => Some(event),
        None => None,
        Some(other) => panic!("expected an UPDATE, got {other:?}"),
    }
}

fn update_of(event: &PeerEvent) -> &Update {
    match event {
        PeerEvent::Update { update, .. } => update,
        other => panic!("not an UPDATE: {other:?}"),
    }
}

/// An Established session from a to b, where b's task has a backlog of
/// `prefixes`: a, a's record of the session, b, and b's backlog.
async fn session_with_backlog(prefixes: usize) -> (Node, PeerInfo, Node, RouteBacklog) {
    init_tracing();
    let backlog = RouteBacklog::new(prefixes);
    let mut b_spec = Spec::new(2, 65002, options(65001, &[V4]));
    b_spec.backlog = Some(backlog.clone());
    let (mut a, mut b) = pair(&Spec::new(1, 65001, options(65002, &[V4])), &b_spec);
    let (a_info, _) = established(&mut a).await;
    established(&mut b).await;
    (a, a_info, b, backlog)
}

#[tokio::test]
async fn updates_wait_for_room_in_the_backlog_and_arrive_in_order() {
    let (a, a_info, mut b, backlog) = session_with_backlog(10).await;

    // Six UPDATEs of 4 prefixes in one write: b reads them together.
    let sent = updates(6, 4);
    let ctx = a_info.negotiated.encode_ctx();
    let mut bytes = BytesMut::new();
    for u in &sent {
        bytes.extend_from_slice(&encode(u, &ctx));
    }
    assert!(a.outbox.push(bytes.freeze()));

    // Room for two (8 of 10 prefixes); the third waits while both are held.
    let first = update_event(&mut b, PATIENCE).await.expect("first UPDATE");
    let second = update_event(&mut b, PATIENCE).await.expect("second UPDATE");
    assert!(
        update_event(&mut b, QUIET).await.is_none(),
        "a third UPDATE came while the backlog was full"
    );

    // Dropping one applied UPDATE makes room for exactly one more.
    let mut received = vec![update_of(&first).clone()];
    drop(first);
    let third = update_event(&mut b, PATIENCE).await.expect("third UPDATE");
    assert!(update_event(&mut b, QUIET).await.is_none());
    received.push(update_of(&second).clone());
    received.push(update_of(&third).clone());
    drop((second, third));

    // The rest, each dropped as it comes: nothing lost, nothing reordered.
    while received.len() < sent.len() {
        let event = update_event(&mut b, PATIENCE).await.expect("the rest");
        received.push(update_of(&event).clone());
    }
    assert_eq!(received, sent);
    assert_eq!(backlog.available(), 10, "every share returned");
}

#[tokio::test]
async fn an_update_larger_than_the_backlog_still_gets_through_alone() {
    let (a, a_info, mut b, backlog) = session_with_backlog(10).await;

    let sent = updates(2, 25);
    let ctx = a_info.negotiated.encode_ctx();
    for u in &sent {
        assert!(a.outbox.push(encode(u, &ctx)));
    }
    let first = update_event(&mut b, PATIENCE).await.expect("first UPDATE");
    assert_eq!(update_of(&first), &sent[0]);
    assert_eq!(backlog.available(), 0, "it holds the whole backlog");
    assert!(update_event(&mut b, QUIET).await.is_none());
    drop(first);
    let second = update_event(&mut b, PATIENCE).await.expect("second UPDATE");
    assert_eq!(update_of(&second), &sent[1]);
}
