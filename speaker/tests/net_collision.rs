//! Connection collisions (RFC 4271 section 6.8, RFC 4724 section 4.2) over
//! loopback TCP.

mod net_support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::TcpListener;

use bgp_proto::capability::{Capability, GracefulRestart};
use bgp_proto::iana::{AfiSafi, notification as code};
use bgp_proto::message::{Message, Open};
use bgp_proto::session::DownReason;
use bgp_speaker::events::PeerEvent;
use net_support::*;

const V4: AfiSafi = AfiSafi::IPV4_UNICAST;
const P_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

/// Count the Established events of `node` during `wait`; no session may
/// go down after having been Established.
async fn count_established(node: &mut Node, wait: Duration) -> usize {
    let deadline = tokio::time::Instant::now() + wait;
    let mut count = 0;
    while let Some(event) = next_event(
        &mut node.events,
        deadline.saturating_duration_since(tokio::time::Instant::now()),
    )
    .await
    {
        match event {
            PeerEvent::Established { .. } => count += 1,
            PeerEvent::Down {
                was_established: false,
                ..
            } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    count
}

/// Sides `a` and `b` each listen and connect to the other at once.
async fn collide(a: u8, b: u8) -> (usize, usize) {
    let a_spec = Spec::new(a, 65000, options(65000, &[V4]));
    let b_spec = Spec::new(b, 65000, options(65000, &[V4]));
    let a_listener = listen(a_spec.ip);
    let b_listener = listen(b_spec.ip);
    let a_port = port(&a_listener);
    let b_port = port(&b_listener);
    let mut a_node = spawn(&a_spec, 1, b_spec.ip, b_port, Some(a_listener));
    let mut b_node = spawn(&b_spec, 2, a_spec.ip, a_port, Some(b_listener));
    // Longer than a hold time: the surviving session stays up.
    tokio::join!(
        count_established(&mut a_node, Duration::from_millis(3500)),
        count_established(&mut b_node, Duration::from_millis(3500)),
    )
}

#[tokio::test]
async fn both_sides_active_and_passive_end_with_one_session() {
    init_tracing();
    // Three pairs at once, the higher identifier started first or second.
    let rounds = tokio::join!(collide(1, 2), collide(4, 3), collide(5, 6));
    assert_eq!(rounds, ((1, 1), (1, 1), (1, 1)));
}

/// A passive peer task on 127.0.0.1 with identifier 10.0.0.1, for raw clients.
fn passive(graceful_restart: bool) -> (Node, SocketAddr) {
    let mut opts = options(65000, &[V4]);
    opts.passive = true;
    opts.graceful_restart.enabled = graceful_restart;
    let listener = listen(IpAddr::V4(P_IP));
    let addr = listener.local_addrs()[0];
    let spec = Spec::new(1, 65000, opts);
    (spawn(&spec, 1, IpAddr::V4(P_IP), 0, Some(listener)), addr)
}

fn gr_capability(restarting: bool) -> Capability {
    Capability::GracefulRestart(GracefulRestart {
        restart_state: restarting,
        notification: false,
        restart_time: 120,
        families: vec![(V4, restarting)],
    })
}

#[tokio::test]
async fn rfc4271_6_8_an_established_session_closes_the_new_connection() {
    init_tracing();
    let (mut p, addr) = passive(false);
    let peer_id = Ipv4Addr::new(10, 0, 0, 9);
    let mut first = RawPeer::connect(addr).await;
    first
        .handshake(65000, peer_id, 3, vec![Capability::Multiprotocol(V4)])
        .await;
    established(&mut p).await;

    let mut second = RawPeer::connect(addr).await;
    second
        .send(Message::Open(Open::new(
            65000,
            3,
            peer_id,
            vec![Capability::Multiprotocol(V4)],
        )))
        .await;
    match second.recv(PATIENCE).await {
        Some(Message::Notification(n)) => {
            assert_eq!(
                (n.code, n.subcode),
                (code::CEASE, code::cease::CONNECTION_COLLISION_RESOLUTION)
            );
        }
        other => panic!("expected Cease 7, got {other:?}"),
    }
    assert!(second.recv(PATIENCE).await.is_none(), "then closed");
    // The first session lives on.
    first.send(Message::Keepalive).await;
    assert!(matches!(
        first.recv(PATIENCE).await,
        Some(Message::Keepalive)
    ));
    assert!(
        next_event(&mut p.events, Duration::from_millis(500))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn rfc4724_4_2_a_restarted_peer_replaces_its_established_session() {
    init_tracing();
    let (mut p, addr) = passive(true);
    let peer_id = Ipv4Addr::new(10, 0, 0, 9);
    let caps = |restarting| vec![Capability::Multiprotocol(V4), gr_capability(restarting)];
    let mut old = RawPeer::connect(addr).await;
    old.handshake(65000, peer_id, 3, caps(false)).await;
    established(&mut p).await;

    // The peer restarted; we have not noticed that the old connection is gone.
    let mut new = RawPeer::connect(addr).await;
    new.handshake(65000, peer_id, 3, caps(true)).await;
    match down(&mut p, PATIENCE).await {
        PeerEvent::Down {
            reason,
            was_established,
            graceful,
            ..
        } => {
            assert_eq!(reason, DownReason::ConnectionLost);
            assert!(was_established && graceful, "the old routes stay as stale");
        }
        _ => unreachable!(),
    }
    let (info, _) = established(&mut p).await;
    assert!(
        info.negotiated
            .peer_graceful_restart
            .as_ref()
            .unwrap()
            .restart_state
    );
    assert!(
        old.recv_not_keepalive(PATIENCE).await.is_none(),
        "the old connection is closed without a NOTIFICATION"
    );
    new.send(Message::Keepalive).await;
    assert!(matches!(new.recv(PATIENCE).await, Some(Message::Keepalive)));
}

/// The peer task (identifier 10.0.0.1) connects to a raw peer, which
/// connects back with identifier `raw_id` while the first connection is in
/// OpenSent. Returns both raw connections (ours-initiated first).
async fn open_sent_collision(raw_id: Ipv4Addr) -> (Node, RawPeer, RawPeer) {
    let raw_listener = TcpListener::bind("127.0.0.2:0").await.unwrap();
    let raw_addr = raw_listener.local_addr().unwrap();
    let p_listener = listen(IpAddr::V4(P_IP));
    let p_addr = p_listener.local_addrs()[0];
    let spec = Spec::new(1, 65000, options(65000, &[V4]));
    let p = spawn(&spec, 1, raw_addr.ip(), raw_addr.port(), Some(p_listener));
    let (stream, _) = raw_listener.accept().await.unwrap();
    let mut initiated_by_p = RawPeer::new(stream);
    assert!(matches!(
        initiated_by_p.recv(PATIENCE).await,
        Some(Message::Open(_))
    ));
    let mut initiated_by_raw = RawPeer::connect(p_addr).await;
    initiated_by_raw
        .send(Message::Open(Open::new(
            65000,
            3,
            raw_id,
            vec![Capability::Multiprotocol(V4)],
        )))
        .await;
    (p, initiated_by_p, initiated_by_raw)
}

fn is_collision_cease(message: Option<Message>) -> bool {
    matches!(message, Some(Message::Notification(n))
        if (n.code, n.subcode) == (code::CEASE, code::cease::CONNECTION_COLLISION_RESOLUTION))
}

#[tokio::test]
async fn rfc4271_6_8_the_higher_identifier_keeps_the_connection_it_opened() {
    init_tracing();
    // The raw peer has the higher identifier: its connection wins.
    let (mut p, mut ours, mut theirs) = open_sent_collision(Ipv4Addr::new(10, 0, 0, 200)).await;
    assert!(is_collision_cease(ours.recv_not_keepalive(PATIENCE).await));
    assert!(matches!(
        theirs.recv(PATIENCE).await,
        Some(Message::Open(_))
    ));
    assert!(matches!(
        theirs.recv(PATIENCE).await,
        Some(Message::Keepalive)
    ));
    theirs.send(Message::Keepalive).await;
    let (info, _) = established(&mut p).await;
    assert_eq!(info.router_id, Ipv4Addr::new(10, 0, 0, 200));
}

#[tokio::test]
async fn rfc4271_6_8_the_lower_identifier_gives_up_its_connection() {
    init_tracing();
    // The raw peer has the lower identifier: the peer task's connection wins.
    let (mut p, mut ours, mut theirs) = open_sent_collision(Ipv4Addr::new(9, 0, 0, 1)).await;
    assert!(matches!(
        theirs.recv(PATIENCE).await,
        Some(Message::Open(_))
    ));
    assert!(is_collision_cease(
        theirs.recv_not_keepalive(PATIENCE).await
    ));
    ours.handshake_after_open(65000, Ipv4Addr::new(9, 0, 0, 1), 3)
        .await;
    let (info, _) = established(&mut p).await;
    assert_eq!(info.router_id, Ipv4Addr::new(9, 0, 0, 1));
}
