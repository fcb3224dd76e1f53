//! Shared helpers of the tests that run whole speakers over loopback TCP:
//! each speaker has its own 127.0.x.y address, listens on it and binds its
//! outgoing connections to it, so peers recognise each other by source
//! address as they would on a network.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgp_proto::attribute::{AsPath, NextHop, Origin, PathAttribute};
use bgp_proto::session::PeerAs;
use bgp_speaker::PathAttrs;
use bgp_speaker::config::{PeerConfig, PeerOptions, SpeakerConfig};
use bgp_speaker::speaker::{NeighborState, Speaker, SpeakerHandle};

/// Options towards a peer in `peer_as` on `port`, from `me`, retrying every
/// second.
pub fn options(peer_as: u32, me: Ipv4Addr, port: u16) -> PeerOptions {
    let mut options = PeerOptions::new(PeerAs::Exact(peer_as));
    options.port = port;
    options.local_address = Some(IpAddr::V4(me));
    options.connect_retry = Duration::from_secs(1);
    options.hold_time = 9;
    options
}

/// A speaker of `asn` listening on `me`:`port`.
pub async fn listening(asn: u32, me: Ipv4Addr, port: u16) -> SpeakerHandle {
    Speaker::start(listening_config(asn, me, port))
        .await
        .expect("speaker starts")
}

/// The configuration of [`listening`], to add to before starting.
pub fn listening_config(asn: u32, me: Ipv4Addr, port: u16) -> SpeakerConfig {
    let mut config = SpeakerConfig::new(asn, me);
    config.listen = vec![SocketAddr::new(IpAddr::V4(me), port)];
    config
}

/// Add `peer` with `options`.
pub async fn add_peer(speaker: &SpeakerHandle, peer: Ipv4Addr, options: PeerOptions) {
    let peer = PeerConfig {
        address: IpAddr::V4(peer),
        options,
    };
    speaker.add_peer(peer).await.expect("peer added");
}

/// A route reflector R at `r_ip` (AS 64512) with two passive client
/// sessions, and the two clients at `c1_ip` and `c2_ip` peering with it
/// (R's peers 1 and 2 in that order), all established.
pub async fn reflector_with_two_clients(
    r_ip: Ipv4Addr,
    c1_ip: Ipv4Addr,
    c2_ip: Ipv4Addr,
    port: u16,
) -> (SpeakerHandle, SpeakerHandle, SpeakerHandle) {
    let r = listening(64512, r_ip, port).await;
    for client in [c1_ip, c2_ip] {
        let mut opts = options(64512, r_ip, port);
        opts.passive = true;
        opts.route_reflector_client = true;
        add_peer(&r, client, opts).await;
    }
    let c1 = listening(64512, c1_ip, port).await;
    let c2 = listening(64512, c2_ip, port).await;
    for (client, ip) in [(&c1, c1_ip), (&c2, c2_ip)] {
        add_peer(client, r_ip, options(64512, ip, port)).await;
    }
    wait_until("sessions", || async { established(&r, 2).await }).await;
    (r, c1, c2)
}

/// Poll `check` until it holds; panic naming `what` after 20 s.
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Exactly `count` of the speaker's neighbours are Established.
pub async fn established(speaker: &SpeakerHandle, count: usize) -> bool {
    speaker.neighbors().await.is_ok_and(|list| {
        list.iter()
            .filter(|n| n.state == NeighborState::Established)
            .count()
            == count
    })
}

/// ORIGIN IGP, an empty AS_PATH and `next_hop`: a route of our own.
pub fn local_route(next_hop: Ipv4Addr) -> PathAttrs {
    PathAttrs {
        next_hop: NextHop::V4(next_hop),
        attributes: vec![
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::default()),
        ],
    }
}
