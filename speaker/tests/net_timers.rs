//! The hold timer (RFC 4271 section 6.5) and the send hold timer (RFC
//! 9687) of a peer task, against raw clients over loopback TCP.

mod net_support;

use bytes::{Bytes, BytesMut};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::TcpSocket;
use tokio::time::Instant;

use bgp_proto::Nlri;
use bgp_proto::capability::Capability;
use bgp_proto::iana::{AfiSafi, notification as code};
use bgp_proto::message::Message;
use bgp_proto::session::DownReason;
use bgp_speaker::events::PeerEvent;
use net_support::*;

const V4: AfiSafi = AfiSafi::IPV4_UNICAST;
const P_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const RAW_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);

/// A passive peer task on 127.0.0.1 behind a listener.
fn passive(send_hold_time: Option<Duration>) -> (Node, SocketAddr) {
    let mut opts = options(65000, &[V4]);
    opts.passive = true;
    let listener = listen(IpAddr::V4(P_IP));
    let addr = listener.local_addrs()[0];
    let mut spec = Spec::new(1, 65000, opts);
    spec.send_hold_time = send_hold_time;
    (spawn(&spec, 1, IpAddr::V4(P_IP), 0, Some(listener)), addr)
}

#[tokio::test]
async fn rfc4271_6_5_a_silent_peer_gets_hold_timer_expired() {
    init_tracing();
    let (mut p, addr) = passive(None);
    let mut raw = RawPeer::connect(addr).await;
    raw.handshake(65000, RAW_ID, 3, vec![Capability::Multiprotocol(V4)])
        .await;
    let silent_since = Instant::now();
    established(&mut p).await;
    // We keep reading (the peer task's KEEPALIVEs) but never write again.
    match raw.recv_not_keepalive(Duration::from_secs(6)).await {
        Some(Message::Notification(n)) => assert_eq!(n.code, code::HOLD_TIMER_EXPIRED),
        other => panic!("expected NOTIFICATION 4, got {other:?}"),
    }
    let after = silent_since.elapsed();
    assert!(
        after >= Duration::from_millis(2900) && after < Duration::from_secs(4),
        "{after:?}"
    );
    assert!(raw.recv(Duration::from_secs(1)).await.is_none(), "closed");
    match down(&mut p, Duration::from_secs(1)).await {
        PeerEvent::Down {
            reason: DownReason::NotificationSent(n),
            was_established: true,
            graceful: false,
            ..
        } => assert_eq!(n.code, code::HOLD_TIMER_EXPIRED),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn rfc9687_a_peer_that_stops_reading_gets_send_hold_timer_expired() {
    init_tracing();
    let send_hold = Duration::from_secs(2);
    let (mut p, addr) = passive(Some(send_hold));
    // A small receive window, so that the peer task's writes block soon.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut raw = RawPeer::new(socket.connect(addr).await.unwrap());
    // Hold time 0: no KEEPALIVEs are needed from the raw peer, and no hold
    // timer runs on the peer task; only the send hold timer can fire.
    raw.handshake(65000, RAW_ID, 0, vec![Capability::Multiprotocol(V4)])
        .await;
    let (info, _) = established(&mut p).await;
    assert_eq!(info.negotiated.hold_time, Duration::ZERO);

    // 16 MiB of UPDATEs that the raw peer never reads.
    let prefixes: Vec<Nlri> = (0..900u32)
        .map(|i| nlri(&format!("10.{}.{}.0/24", i / 256, i % 256)))
        .collect();
    let one = encode(
        &ipv4_update(65000, P_IP, &prefixes),
        &info.negotiated.encode_ctx(),
    );
    let mut chunk = BytesMut::new();
    while chunk.len() + one.len() <= 1 << 20 {
        chunk.extend_from_slice(&one);
    }
    let chunk: Bytes = chunk.freeze();
    let filled = Instant::now();
    for _ in 0..16 {
        p.outbox.force_push(chunk.clone());
    }
    match down(&mut p, Duration::from_secs(8)).await {
        PeerEvent::Down {
            reason: DownReason::NotificationSent(n),
            was_established: true,
            ..
        } => assert_eq!(n.code, code::SEND_HOLD_TIMER_EXPIRED),
        other => panic!("unexpected {other:?}"),
    }
    let after = filled.elapsed();
    assert!(after >= send_hold, "{after:?}");
    assert_eq!(p.outbox.queued_bytes(), 0, "the outbox is cleared on Down");
    drop(raw);
}
