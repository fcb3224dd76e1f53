//! What the status API says about a peer that cannot be reached: the
//! failed connection attempt's own error, not only "connection lost".

mod loopback_support;

use std::net::Ipv4Addr;

use bgp_speaker::config::SpeakerConfig;
use bgp_speaker::speaker::Speaker;
use loopback_support::{add_peer, options, wait_until};

#[tokio::test]
async fn a_refused_connection_is_reported_with_its_cause() {
    let me = Ipv4Addr::new(127, 0, 76, 1);
    let speaker = Speaker::start(SpeakerConfig::new(64512, me)).await.unwrap();
    // Nothing listens on 127.0.76.2, port 11299: the kernel refuses.
    add_peer(
        &speaker,
        Ipv4Addr::new(127, 0, 76, 2),
        options(64512, me, 11299),
    )
    .await;
    wait_until("an error reported", || async {
        speaker.neighbors().await.unwrap()[0].last_error.is_some()
    })
    .await;
    let error = speaker.neighbors().await.unwrap()[0]
        .last_error
        .clone()
        .unwrap();
    assert!(
        error.contains("cannot connect to 127.0.76.2:11299") && error.contains("refused"),
        "{error}"
    );
    speaker.shutdown("test over").await;
}
