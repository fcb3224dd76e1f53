//! What the status API says about a peer that cannot be reached: the
//! failed connection attempt's own error, not only "connection lost".

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bgp_proto::session::PeerAs;
use bgp_speaker::config::{PeerConfig, PeerOptions, SpeakerConfig};
use bgp_speaker::speaker::Speaker;

#[tokio::test]
async fn a_refused_connection_is_reported_with_its_cause() {
    let me = Ipv4Addr::new(127, 0, 76, 1);
    let speaker = Speaker::start(SpeakerConfig::new(64512, me)).await.unwrap();
    // Nothing listens on 127.0.76.2, port 11299: the kernel refuses.
    let mut options = PeerOptions::new(PeerAs::Exact(64512));
    options.port = 11299;
    options.local_address = Some(IpAddr::V4(me));
    options.connect_retry = Duration::from_secs(1);
    let peer = IpAddr::V4(Ipv4Addr::new(127, 0, 76, 2));
    speaker
        .add_peer(PeerConfig {
            address: peer,
            options,
        })
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let error = loop {
        let neighbors = speaker.neighbors().await.unwrap();
        if let Some(error) = neighbors[0].last_error.clone() {
            break error;
        }
        assert!(tokio::time::Instant::now() < deadline, "no error reported");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        error.contains("cannot connect to 127.0.76.2:11299") && error.contains("refused"),
        "{error}"
    );
    speaker.shutdown("test over").await;
}
