//! A peer that comes up while our session waits out its back-off (Idle,
//! idle hold running after failed attempts) is taken at once: its
//! connection ends the wait (RFC 4271 section 8.1.1, AutomaticStart with
//! passive TCP establishment) instead of being refused, so two peers that
//! failed in turn do not keep missing each other for the length of their
//! back-offs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgp_proto::session::PeerAs;
use bgp_speaker::config::{PeerConfig, PeerOptions, SpeakerConfig};
use bgp_speaker::speaker::{NeighborState, Speaker, SpeakerHandle};

const PORT: u16 = 11293;

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 79, last)
}

async fn speaker(me: u8, peer: u8) -> SpeakerHandle {
    let mut config = SpeakerConfig::new(64512, ip(me));
    config.listen = vec![SocketAddr::new(IpAddr::V4(ip(me)), PORT)];
    let speaker = Speaker::start(config).await.unwrap();
    let mut options = PeerOptions::new(PeerAs::Exact(64512));
    options.port = PORT;
    options.local_address = Some(IpAddr::V4(ip(me)));
    options.connect_retry = Duration::from_secs(30);
    let peer = PeerConfig {
        address: IpAddr::V4(ip(peer)),
        options,
    };
    speaker.add_peer(peer).await.unwrap();
    speaker
}

async fn up(speaker: &SpeakerHandle) -> bool {
    let neighbors = speaker.neighbors().await.unwrap();
    neighbors
        .first()
        .is_some_and(|n| n.state == NeighborState::Established)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_connects_during_our_back_off_is_accepted() {
    // A alone: its attempts to B are refused, and its idle hold grows
    // (1 s, 2 s, 4 s, ...).
    let a = speaker(1, 2).await;
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    // B comes up and connects at once, while A waits in Idle.
    let b = speaker(2, 1).await;
    let started = tokio::time::Instant::now();
    while !(up(&a).await && up(&b).await) {
        assert!(
            started.elapsed() < Duration::from_millis(1_500),
            "not Established 1.5 s after B came up: A refused B while waiting out its back-off"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.shutdown("test over").await;
    b.shutdown("test over").await;
}
