//! GTSM (RFC 5082) between two peer tasks over loopback, where packets
//! arrive with the TTL they were sent with.

mod net_support;

use std::time::Duration;

use bgp_proto::iana::AfiSafi;
use bgp_speaker::events::PeerEvent;
use net_support::*;

const V4: AfiSafi = AfiSafi::IPV4_UNICAST;

fn gtsm_pair(a: u8, b: u8, a_gtsm: bool, b_gtsm: bool) -> (Node, Node) {
    let mut a_opts = options(65000, &[V4]);
    a_opts.ttl_security = a_gtsm;
    let mut b_opts = options(65000, &[V4]);
    b_opts.ttl_security = b_gtsm;
    pair(&Spec::new(a, 65000, a_opts), &Spec::new(b, 65000, b_opts))
}

#[tokio::test]
async fn rfc5082_both_sides_with_ttl_255_establish() {
    init_tracing();
    let (mut a, mut b) = gtsm_pair(31, 32, true, true);
    established(&mut a).await;
    established(&mut b).await;
}

#[tokio::test]
async fn rfc5082_a_peer_sending_with_a_low_ttl_is_not_heard() {
    init_tracing();
    // B requires TTL 255; A sends with the default TTL. B drops A's
    // segments once the connection is its own, so B never gets A's
    // KEEPALIVE (A, which hears B, may get as far as Established).
    let (_a, mut b) = gtsm_pair(33, 34, false, true);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while let Some(event) = next_event(
        &mut b.events,
        deadline.saturating_duration_since(tokio::time::Instant::now()),
    )
    .await
    {
        assert!(
            !matches!(event, PeerEvent::Established { .. }),
            "B heard a peer with TTL < 255"
        );
    }
}
