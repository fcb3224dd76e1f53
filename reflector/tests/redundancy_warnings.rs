//! Two reflector daemons of one cluster (a shared cluster ID), in-process
//! over real loopback TCP, peered with each other as non-clients. Client
//! c11 is attached to both, client c12 to reflector A only. c12's route
//! reaches B with B's cluster ID in CLUSTER_LIST, so B drops it (RFC 4456
//! section 8) and c11 learns it from A only: B's summary must name c12 as
//! a client of the other reflector only, and A's must not. When A stops,
//! B has no other reflector up and says so.
//!
//! Addresses 127.0.74.x, BGP port 11291 on both reflectors.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgp_proto::attribute::{AsPath, NextHop, Origin, PathAttribute};
use bgp_proto::iana::AfiSafi;
use bgp_proto::session::PeerAs;
use bgp_reflector::api::types::{Neighbor, Summary};
use bgp_reflector::client;
use bgp_reflector::redundancy::RedundancyWarning;
use bgp_reflector::{ConfigSource, Daemon, DaemonConfig, Overrides};
use bgp_speaker::PathAttrs;
use bgp_speaker::config::{PeerConfig, PeerOptions, SpeakerConfig};
use bgp_speaker::speaker::{Speaker, SpeakerHandle};

const PORT: u16 = 11291;
const CLUSTER: Ipv4Addr = Ipv4Addr::new(10, 74, 255, 1);

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 74, last)
}

/// Reflector `me` with `peer` (the other reflector) and `clients`.
fn reflector_config(me: u8, peer: u8, clients: &[u8]) -> String {
    let mut text = format!(
        r#"
[global]
asn = 64512
router_id = "{r}"
cluster_id = "{CLUSTER}"
listen = ["{r}:{PORT}"]

[api]
listen = "127.0.0.1:0"

[[template]]
name = "node"
client = true
passive = true
hold_time = 9

[[neighbor]]
address = "{p}"
asn = 64512
description = "the other reflector"
local_address = "{r}"
port = {PORT}
passive = {passive}
hold_time = 9
connect_retry = 1
"#,
        r = ip(me),
        p = ip(peer),
        passive = me > peer,
    );
    for last in clients {
        text.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{}\"\nasn = 64512\ntemplate = \"node\"\n",
            ip(*last)
        ));
    }
    text
}

struct Running {
    api: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<Result<(), bgp_reflector::DaemonError>>,
}

async fn start(name: &str, text: String) -> Running {
    let daemon = Daemon::start(DaemonConfig {
        source: ConfigSource::Text {
            name: name.into(),
            text,
        },
        overrides: Overrides::default(),
    })
    .await
    .unwrap();
    let api = daemon.api_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(daemon.serve(async {
        let _ = stopped.await;
    }));
    Running { api, stop, served }
}

impl Running {
    async fn stop(self) {
        self.stop.send(()).unwrap();
        self.served.await.unwrap().unwrap();
    }
}

/// A client at `me` peered with every reflector in `reflectors`.
async fn client_of(me: u8, reflectors: &[u8]) -> SpeakerHandle {
    let speaker = Speaker::start(SpeakerConfig::new(64512, ip(me)))
        .await
        .unwrap();
    for reflector in reflectors {
        let mut options = PeerOptions::new(PeerAs::Exact(64512));
        options.port = PORT;
        options.local_address = Some(IpAddr::V4(ip(me)));
        options.connect_retry = Duration::from_secs(1);
        options.hold_time = 9;
        let peer = PeerConfig {
            address: IpAddr::V4(ip(*reflector)),
            options,
        };
        speaker.add_peer(peer).await.unwrap();
    }
    speaker
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn all_up(api: SocketAddr, count: usize) -> bool {
    let list: Vec<Neighbor> = client::get(api, "/api/v1/neighbors").await.unwrap();

    list.len() == count
        && list
            .iter()
            .all(|n| n.state == bgp_reflector::api::types::SessionState::Established)
}

async fn summary(api: SocketAddr) -> Summary {
    client::get(api, "/api/v1/summary").await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_attached_to_one_reflector_of_a_shared_cluster_is_named() {
    let a = start("a.toml", reflector_config(1, 2, &[11, 12])).await;
    let b = start("b.toml", reflector_config(2, 1, &[11])).await;
    let both = client_of(11, &[1, 2]).await;
    let lonely = client_of(12, &[1]).await;
    wait_until("B's two sessions", || all_up(b.api, 2)).await;
    wait_until("A's three sessions", || all_up(a.api, 3)).await;
    // All sessions up, no route yet: nothing to warn about.
    assert!(summary(a.api).await.warnings.is_empty());
    assert!(summary(b.api).await.warnings.is_empty());

    let prefix = "10.74.0.0/24".parse().unwrap();
    let attrs = PathAttrs {
        next_hop: NextHop::V4(ip(12)),
        attributes: vec![
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::default()),
        ],
    };
    lonely
        .originate(AfiSafi::IPV4_UNICAST, prefix, attrs)
        .await
        .unwrap();
    // A reflects it to B (a non-client), which drops it as a cluster loop.
    let expected = RedundancyWarning::ClientOfOtherReflectorOnly {
        client: ip(12),
        reflector: IpAddr::V4(ip(1)),
    };
    wait_until("B's warning", || async {
        summary(b.api)
            .await
            .warnings
            .iter()
            .any(|w| w.finding == expected)
    })
    .await;
    let at_b = summary(b.api).await;
    assert_eq!(at_b.warnings.len(), 1, "{:?}", at_b.warnings);
    assert!(at_b.warnings[0].message.contains("127.0.74.12"));
    let neighbors: Vec<Neighbor> = client::get(b.api, "/api/v1/neighbors").await.unwrap();
    let from_a = neighbors
        .iter()
        .find(|n| n.address == IpAddr::V4(ip(1)))
        .unwrap();
    assert_eq!(from_a.loop_drops.cluster_list, 1);
    assert_eq!(from_a.cluster_loop_originators, vec![ip(12)]);
    let metrics = client::request(b.api, "GET", "/metrics").await.unwrap();
    let metrics = String::from_utf8(metrics.body).unwrap();
    assert!(
        metrics.contains("reflex_loop_drops_total{peer=\"127.0.74.1\",reason=\"cluster_list\"} 1"),
        "{metrics}"
    );
    // A knows c12 as its own client: no warning there.
    assert!(summary(a.api).await.warnings.is_empty());

    // Without A, B is the only reflector of a shared cluster that is up.
    a.stop().await;
    wait_until("B's second warning", || async {
        summary(b.api).await.warnings.iter().any(|w| {
            w.finding
                == RedundancyWarning::NoOtherReflector {
                    clusters: vec![CLUSTER],
                }
        })
    })
    .await;
    b.stop().await;
    both.shutdown("test over").await;
    lonely.shutdown("test over").await;
}
