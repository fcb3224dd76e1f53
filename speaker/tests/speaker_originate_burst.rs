//! A burst of originations (a node agent handing over its kernel routes)
//! leaves the speaker in a few large UPDATEs, not one UPDATE per prefix:
//! the core takes every queued command before it flushes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgp_proto::attribute::{AsPath, NextHop, Origin, PathAttribute};
use bgp_proto::iana::AfiSafi;
use bgp_proto::session::PeerAs;
use bgp_speaker::PathAttrs;
use bgp_speaker::config::{PeerConfig, PeerOptions, SpeakerConfig};
use bgp_speaker::speaker::{NeighborState, Speaker, SpeakerHandle};
use ipnetwork::IpNetwork;

const PORT: u16 = 11295;
const ROUTES: u32 = 2_000;

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 78, last)
}

async fn speaker(me: u8, peer: u8, listen: bool) -> SpeakerHandle {
    let mut config = SpeakerConfig::new(64512, ip(me));
    if listen {
        config.listen = vec![SocketAddr::new(IpAddr::V4(ip(me)), PORT)];
    }
    let speaker = Speaker::start(config).await.unwrap();
    let mut options = PeerOptions::new(PeerAs::Exact(64512));
    options.port = PORT;
    options.passive = listen;
    options.local_address = Some(IpAddr::V4(ip(me)));
    options.connect_retry = Duration::from_secs(1);
    let peer = PeerConfig {
        address: IpAddr::V4(ip(peer)),
        options,
    };
    speaker.add_peer(peer).await.unwrap();
    speaker
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_originations_is_sent_in_few_updates() {
    let receiver = speaker(2, 1, true).await;
    let sender = speaker(1, 2, false).await;
    wait_until("the session", || async {
        let n = receiver.neighbors().await.unwrap();
        n.first()
            .is_some_and(|n| n.state == NeighborState::Established)
    })
    .await;
    let attrs = PathAttrs {
        next_hop: NextHop::V4(ip(1)),
        attributes: vec![
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::default()),
        ],
    };
    for i in 0..ROUTES {
        let prefix = IpNetwork::new(IpAddr::V4(Ipv4Addr::from(0x0a50_0000 + (i << 8))), 24);
        sender
            .originate(AfiSafi::IPV4_UNICAST, prefix.unwrap(), attrs.clone())
            .await
            .unwrap();
    }
    wait_until("every route at the receiver", || async {
        let routes = receiver.routes(AfiSafi::IPV4_UNICAST, None).await.unwrap();
        routes.len() == ROUTES as usize
    })
    .await;
    let from_sender = &receiver.neighbors().await.unwrap()[0];
    // 2,000 /24s fit in 3 UPDATEs of 4,096 octets; one per prefix would be
    // 2,000. Allow for the burst arriving in several pieces.
    assert!(
        from_sender.updates_received <= 50,
        "{} UPDATEs for {ROUTES} prefixes",
        from_sender.updates_received
    );
    sender.shutdown("test over").await;
    receiver.shutdown("test over").await;
}
