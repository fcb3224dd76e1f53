//! TCP MD5 (RFC 2385) for dynamic neighbours: the range's password is on
//! the listener before any peer's first SYN, so a peer from the range with
//! the right password comes up, and one with a wrong password does not.
//! Needs root and a kernel with `CONFIG_TCP_MD5SIG`.

mod loopback_support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bgp_proto::session::PeerAs;
use bgp_speaker::config::{DynamicNeighbors, PeerOptions, SpeakerConfig};
use bgp_speaker::speaker::{Speaker, SpeakerHandle};
use loopback_support::{add_peer, established, listening_config, options, wait_until};

const PORT: u16 = 11297;

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 77, last)
}

async fn server() -> SpeakerHandle {
    let mut config = listening_config(64512, ip(1), PORT);
    let mut template = PeerOptions::new(PeerAs::Exact(64512));
    template.md5_password = Some("range-secret".into());
    config.dynamic_neighbors = vec![DynamicNeighbors {
        prefix: "127.0.77.0/24".parse().unwrap(),
        template,
        max_peers: 10,
    }];
    Speaker::start(config).await.unwrap()
}

async fn client(last: u8, password: &str) -> SpeakerHandle {
    let speaker = Speaker::start(SpeakerConfig::new(64512, ip(last)))
        .await
        .unwrap();
    let mut options = options(64512, ip(last), PORT);
    options.md5_password = Some(password.into());
    add_peer(&speaker, ip(1), options).await;
    speaker
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc2385_a_dynamic_range_password_admits_only_peers_that_know_it() {
    let server = server().await;
    let good = client(2, "range-secret").await;
    let bad = client(3, "wrong").await;
    wait_until("the peer with the range's password", || {
        established(&good, 1)
    })
    .await;
    // The wrong password's SYNs are dropped by the kernel: give it several
    // connect retries.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(established(&bad, 0).await, "the wrong password established");
    let at_server = server.neighbors().await.unwrap();
    assert_eq!(at_server.len(), 1, "{at_server:?}");
    assert_eq!(at_server[0].address, IpAddr::V4(ip(2)));
    for speaker in [good, bad, server] {
        speaker.shutdown("test over").await;
    }
}
