//! Two in-process peer tasks over loopback TCP: one active, one passive
//! behind a listener. Each test establishes a session with one capability
//! combination and checks what was negotiated and that UPDATEs flow.

mod net_support;

use bytes::{Bytes, BytesMut};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bgp_proto::capability::AddPathMode;
use bgp_proto::iana::{AfiSafi, notification as code};
use bgp_proto::message::RouteRefresh;
use bgp_proto::session::DownReason;
use bgp_proto::{Nlri, PeerType};
use bgp_speaker::PeerRole;
use bgp_speaker::events::{PeerCommand, PeerEvent};
use bgp_speaker::outbox::Outbox;
use net_support::*;

const V4: AfiSafi = AfiSafi::IPV4_UNICAST;
const V6: AfiSafi = AfiSafi::IPV6_UNICAST;
const A_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

#[tokio::test]
async fn ipv4_only_ebgp_carries_updates_both_ways() {
    init_tracing();
    let (mut a, mut b) = pair(
        &Spec::new(1, 65001, options(65002, &[V4])),
        &Spec::new(2, 65002, options(65001, &[V4])),
    );
    let (a_info, a_local) = established(&mut a).await;
    let (b_info, b_local) = established(&mut b).await;
    assert_eq!(a_local, IpAddr::V4(A_IP));
    assert_eq!(b_local, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
    assert_eq!(a_info.peer_as, 65002);
    assert_eq!(a_info.local_as, 65001);
    assert_eq!(a_info.router_id, Ipv4Addr::new(10, 0, 0, 2));
    assert_eq!(a_info.role, PeerRole::External);
    assert_eq!(b_info.router_id, Ipv4Addr::new(10, 0, 0, 1));
    let n = &a_info.negotiated;
    assert_eq!(n.families, vec![V4]);
    assert_eq!(n.peer_type, PeerType::External);
    assert_eq!(n.hold_time, Duration::from_secs(3));
    assert!(n.route_refresh && n.enhanced_route_refresh && n.extended_message);
    assert!(n.add_path_send.is_empty() && n.add_path_receive.is_empty());
    assert!(!n.graceful_restart);

    let to_b = ipv4_update(65001, A_IP, &[nlri("10.1.0.0/16"), nlri("10.2.0.0/16")]);
    assert!(
        a.outbox
            .push(encode(&to_b, &a_info.negotiated.encode_ctx()))
    );
    assert_eq!(update(&mut b).await, to_b);
    let to_a = ipv4_update(65002, Ipv4Addr::new(127, 0, 0, 2), &[nlri("192.0.2.0/24")]);
    assert!(
        b.outbox
            .push(encode(&to_a, &b_info.negotiated.encode_ctx()))
    );
    assert_eq!(update(&mut a).await, to_a);
    assert_eq!(a.outbox.queued_bytes(), 0, "written bytes are accounted");
}

#[tokio::test]
async fn ipv4_and_ipv6_ibgp_with_a_reflector_client() {
    init_tracing();
    let a_opts = options(65000, &[V4, V6]);
    let mut b_opts = options(65000, &[V4, V6]);
    b_opts.route_reflector_client = true;
    b_opts.cluster_id = Some(Ipv4Addr::new(192, 0, 2, 255));
    let (mut a, mut b) = pair(&Spec::new(1, 65000, a_opts), &Spec::new(2, 65000, b_opts));
    let (a_info, _) = established(&mut a).await;
    let (b_info, _) = established(&mut b).await;
    assert_eq!(a_info.negotiated.families, vec![V4, V6]);
    assert_eq!(a_info.negotiated.peer_type, PeerType::Internal);
    assert_eq!(a_info.role, PeerRole::Internal);
    assert_eq!(
        a_info.cluster_id,
        Ipv4Addr::new(10, 0, 0, 1),
        "the speaker's"
    );
    assert_eq!(b_info.role, PeerRole::ReflectorClient);
    assert_eq!(
        b_info.cluster_id,
        Ipv4Addr::new(192, 0, 2, 255),
        "the peer's own"
    );

    let v6 = ipv6_update(65000, &[nlri("2001:db8:1::/48")]);
    let v4 = ipv4_update(65000, A_IP, &[nlri("10.0.0.0/8")]);
    let ctx = a_info.negotiated.encode_ctx();
    let mut both = BytesMut::new();
    both.extend_from_slice(&encode(&v6, &ctx));
    both.extend_from_slice(&encode(&v4, &ctx));
    assert!(
        a.outbox.push(both.freeze()),
        "one chunk may hold several messages"
    );
    assert_eq!(update(&mut b).await, v6);
    assert_eq!(update(&mut b).await, v4);
}

#[tokio::test]
async fn rfc7911_add_path_in_both_directions() {
    init_tracing();
    let mut a_opts = options(65000, &[V4]);
    a_opts.add_path = vec![(V4, AddPathMode::Both)];
    let mut b_opts = options(65000, &[V4]);
    b_opts.add_path = vec![(V4, AddPathMode::Both)];
    let (mut a, mut b) = pair(&Spec::new(1, 65000, a_opts), &Spec::new(2, 65000, b_opts));
    let (a_info, _) = established(&mut a).await;
    let (b_info, _) = established(&mut b).await;
    for n in [&a_info.negotiated, &b_info.negotiated] {
        assert!(n.add_path_send.contains(V4) && n.add_path_receive.contains(V4));
    }
    let prefix = "10.9.0.0/16".parse().unwrap();
    let paths = [Nlri::with_path_id(prefix, 1), Nlri::with_path_id(prefix, 2)];
    let u = ipv4_update(65000, A_IP, &paths);
    assert!(a.outbox.push(encode(&u, &a_info.negotiated.encode_ctx())));
    let got = update(&mut b).await;
    assert_eq!(got.nlri, paths.to_vec(), "path identifiers survive");
}

#[tokio::test]
async fn rfc7911_add_path_send_only_towards_a_receiver() {
    init_tracing();
    let mut a_opts = options(65000, &[V4, V6]);
    a_opts.add_path = vec![(V4, AddPathMode::Send), (V6, AddPathMode::Both)];
    let mut b_opts = options(65000, &[V4, V6]);
    b_opts.add_path = vec![(V4, AddPathMode::Receive)];
    let (mut a, mut b) = pair(&Spec::new(1, 65000, a_opts), &Spec::new(2, 65000, b_opts));
    let (a_info, _) = established(&mut a).await;
    let (b_info, _) = established(&mut b).await;
    let (an, bn) = (&a_info.negotiated, &b_info.negotiated);
    assert!(an.add_path_send.contains(V4) && !an.add_path_receive.contains(V4));
    assert!(bn.add_path_receive.contains(V4) && !bn.add_path_send.contains(V4));
    assert!(
        !an.add_path_send.contains(V6),
        "B did not announce ADD-PATH for IPv6"
    );
}

#[tokio::test]
async fn rfc4724_graceful_restart_is_negotiated_and_a_lost_connection_is_graceful() {
    init_tracing();
    let mut a_opts = options(65000, &[V4, V6]);
    a_opts.graceful_restart.enabled = true;
    a_opts.graceful_restart.restart_time = 60;
    let mut b_opts = a_opts.clone();
    b_opts.graceful_restart.restart_time = 90;
    let (mut a, mut b) = pair(&Spec::new(1, 65000, a_opts), &Spec::new(2, 65000, b_opts));
    let (a_info, _) = established(&mut a).await;
    established(&mut b).await;
    let n = &a_info.negotiated;
    assert!(n.graceful_restart);
    let gr = n.peer_graceful_restart.as_ref().unwrap();
    assert_eq!(gr.restart_time, 90);
    assert!(!gr.restart_state && !gr.notification);
    assert_eq!(gr.forwarding_preserved(V6), Some(false));

    // A dies without a NOTIFICATION (RFC 4724 section 4.2): B keeps its routes.
    a.handle.abort();
    match down(&mut b, PATIENCE).await {
        PeerEvent::Down {
            reason,
            was_established,
            graceful,
            ..
        } => {
            assert_eq!(reason, DownReason::ConnectionLost);
            assert!(was_established && graceful);
        }
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn rfc9003_stop_sends_a_shutdown_communication_and_ends_the_task() {
    init_tracing();
    let mut a_opts = options(65000, &[V4]);
    a_opts.graceful_restart.enabled = true;
    let b_opts = a_opts.clone();
    let (mut a, mut b) = pair(&Spec::new(1, 65000, a_opts), &Spec::new(2, 65000, b_opts));
    established(&mut a).await;
    established(&mut b).await;
    a.handle
        .send(PeerCommand::Stop {
            subcode: code::cease::ADMINISTRATIVE_SHUTDOWN,
            message: "maintenance".into(),
        })
        .unwrap();
    match down(&mut b, PATIENCE).await {
        PeerEvent::Down {
            reason: DownReason::NotificationReceived(n),
            was_established: true,
            graceful,
            ..
        } => {
            assert_eq!((n.code, n.subcode), (code::CEASE, 2));
            assert_eq!(n.shutdown_message(), Some(Ok("maintenance")));
            assert!(
                !graceful,
                "a NOTIFICATION ends graceful restart without the N bit"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        down(&mut a, PATIENCE).await,
        PeerEvent::Down {
            reason: DownReason::Stopped(_),
            graceful: false,
            ..
        }
    ));
    assert!(matches!(
        next_event(&mut a.events, PATIENCE).await,
        Some(PeerEvent::Gone { .. })
    ));
}

#[tokio::test]
async fn rfc8654_extended_message_carries_a_large_update() {
    init_tracing();
    let (mut a, mut b) = pair(
        &Spec::new(1, 65001, options(65002, &[V4])),
        &Spec::new(2, 65002, options(65001, &[V4])),
    );
    let (a_info, _) = established(&mut a).await;
    established(&mut b).await;
    assert!(a_info.negotiated.extended_message);
    let prefixes: Vec<Nlri> = (0..1500u32)
        .map(|i| nlri(&format!("10.{}.{}.0/24", i / 256, i % 256)))
        .collect();
    let u = ipv4_update(65001, A_IP, &prefixes);
    let bytes = encode(&u, &a_info.negotiated.encode_ctx());
    assert!(bytes.len() > 4096, "{} octets", bytes.len());
    assert!(a.outbox.push(bytes));
    assert_eq!(update(&mut b).await.nlri.len(), 1500);
}

#[tokio::test]
async fn rfc6793_four_octet_asns() {
    init_tracing();
    let (mut a, mut b) = pair(
        &Spec::new(1, 4_200_000_001, options(4_200_000_002, &[V4])),
        &Spec::new(2, 4_200_000_002, options(4_200_000_001, &[V4])),
    );
    let (a_info, _) = established(&mut a).await;
    let (b_info, _) = established(&mut b).await;
    assert!(a_info.negotiated.four_octet_as);
    assert_eq!(a_info.peer_as, 4_200_000_002);
    assert_eq!(b_info.peer_as, 4_200_000_001);
    let u = ipv4_update(4_200_000_001, A_IP, &[nlri("198.51.100.0/24")]);
    assert!(a.outbox.push(encode(&u, &a_info.negotiated.encode_ctx())));
    let got = update(&mut b).await;
    assert_eq!(got.as_path().unwrap().first_asn(), Some(4_200_000_001));
}

#[tokio::test]
async fn rfc2918_route_refresh_and_reset() {
    init_tracing();
    let (mut a, mut b) = pair(
        &Spec::new(1, 65001, options(65002, &[V4, V6])),
        &Spec::new(2, 65002, options(65001, &[V4, V6])),
    );
    established(&mut a).await;
    established(&mut b).await;
    a.handle
        .send(PeerCommand::SendRouteRefresh(RouteRefresh::request(V6)))
        .unwrap();
    match next_event(&mut b.events, PATIENCE).await {
        Some(PeerEvent::RouteRefresh { refresh, .. }) => assert_eq!(refresh.afi_safi(), V6),
        other => panic!("expected ROUTE-REFRESH, got {other:?}"),
    }
    // Reset: Cease, then the session comes back by itself.
    a.handle
        .send(PeerCommand::Reset {
            subcode: code::cease::OTHER_CONFIGURATION_CHANGE,
        })
        .unwrap();
    assert!(matches!(
        down(&mut a, PATIENCE).await,
        PeerEvent::Down {
            reason: DownReason::Stopped(_),
            was_established: true,
            ..
        }
    ));
    assert!(matches!(
        down(&mut b, PATIENCE).await,
        PeerEvent::Down {
            reason: DownReason::NotificationReceived(_),
            ..
        }
    ));
    established(&mut a).await;
    established(&mut b).await;
}

#[tokio::test]
async fn a_lagging_outbox_is_reported_drained() {
    init_tracing();
    let (mut a, mut b) = pair(
        &Spec::new(1, 65000, options(65000, &[V4])),
        &Spec::new(2, 65000, options(65000, &[V4])),
    );
    let (a_info, _) = established(&mut a).await;
    established(&mut b).await;
    // 1 MiB of UPDATEs, each with 900 prefixes.
    let prefixes: Vec<Nlri> = (0..900u32)
        .map(|i| nlri(&format!("10.{}.{}.0/24", i / 256, i % 256)))
        .collect();
    let one = encode(
        &ipv4_update(65000, A_IP, &prefixes),
        &a_info.negotiated.encode_ctx(),
    );
    let mut chunk = BytesMut::new();
    while chunk.len() + one.len() <= 1 << 20 {
        chunk.extend_from_slice(&one);
    }
    let chunk: Bytes = chunk.freeze();
    let updates_per_chunk = chunk.len() / one.len();
    let mut chunks = 0;
    while a.outbox.push(chunk.clone()) {
        chunks += 1;
    }
    assert!(a.outbox.is_lagging());
    assert!(chunks * chunk.len() > Outbox::HIGH_WATER);
    let mut updates = 0;
    let mut drained = false;
    while updates < chunks * updates_per_chunk || !drained {
        tokio::select! {
            Some(event) = a.events.recv() => match event {
                PeerEvent::Drained { .. } => drained = true,
                other => panic!("unexpected {other:?}"),
            },
            Some(event) = b.events.recv() => match event {
                PeerEvent::Update { update, .. } => {
                    assert_eq!(update.nlri.len(), 900);
                    updates += 1;
                }
                other => panic!("unexpected {other:?}"),
            },
            () = tokio::time::sleep(PATIENCE) => panic!("stuck: {updates} UPDATEs, drained {drained}"),
        }
    }
    assert!(!a.outbox.is_lagging());
    assert_eq!(a.outbox.queued_bytes(), 0);
}
