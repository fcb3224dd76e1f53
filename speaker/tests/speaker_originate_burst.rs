//! A burst of originations (a node agent handing over its kernel routes)
//! leaves the speaker in a few large UPDATEs, not one UPDATE per prefix:
//! the core takes every queued command before it flushes.

mod loopback_support;

use std::net::{IpAddr, Ipv4Addr};

use bgp_proto::iana::AfiSafi;
use bgp_speaker::config::SpeakerConfig;
use bgp_speaker::speaker::Speaker;
use ipnetwork::IpNetwork;
use loopback_support::{add_peer, established, listening, local_route, options, wait_until};

const PORT: u16 = 11295;
const ROUTES: u32 = 2_000;

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 78, last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_originations_is_sent_in_few_updates() {
    let receiver = listening(64512, ip(2), PORT).await;
    let mut passive = options(64512, ip(2), PORT);
    passive.passive = true;
    add_peer(&receiver, ip(1), passive).await;
    let sender = Speaker::start(SpeakerConfig::new(64512, ip(1)))
        .await
        .unwrap();
    add_peer(&sender, ip(2), options(64512, ip(1), PORT)).await;
    wait_until("the session", || established(&receiver, 1)).await;
    for i in 0..ROUTES {
        let prefix = IpNetwork::new(IpAddr::V4(Ipv4Addr::from(0x0a50_0000 + (i << 8))), 24);
        sender
            .originate(AfiSafi::IPV4_UNICAST, prefix.unwrap(), local_route(ip(1)))
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
