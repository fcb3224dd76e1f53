//! Datastore mode against a real etcd: the reflector (in-process, over
//! loopback TCP) and two client speakers are configured purely from the
//! Calico resources in etcd. Adding a Node creates its session within a
//! second, deleting one tears it down, the others are untouched; per-peer
//! status appears under the reflector's key prefix; etcd killed mid-test:
//! the sessions stay, the API and metrics say so, and a change made once
//! etcd is back is applied; shutdown revokes the status lease.
//!
//! The reflector is Node `rr1` at 127.0.72.1, the clients n2..n4 at
//! 127.0.72.2..4, all listening on the BGPConfiguration's `listenPort`,
//! so that each end connects to the other as in Calico.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bgp_proto::attribute::{AsPath, NextHop, Origin, PathAttribute};
use bgp_proto::iana::AfiSafi;
use bgp_proto::session::PeerAs;
use bgp_reflector::api::types::{Neighbor, SessionState, Summary};
use bgp_reflector::client;
use bgp_reflector::datastore::{PeerStatus, peer_status_key, peer_status_prefix};
use bgp_reflector::{ConfigSource, Daemon, DaemonConfig, Overrides};
use bgp_speaker::PathAttrs;
use bgp_speaker::config::{PeerConfig, PeerOptions, SpeakerConfig};
use bgp_speaker::speaker::{NeighborState, Speaker, SpeakerHandle};
use ipnetwork::IpNetwork;
use reflex_datastore::cli::parse_documents;
use reflex_datastore::model::{Kind, ResourceKey};
use reflex_datastore::peering::peerings;
use reflex_datastore::store::etcd::EtcdStore;
use reflex_datastore::store::{Datastore, Precondition};
use reflex_datastore::syncer::{Syncer, SyncerConfig};
use reflex_datastore::testing::EtcdServer;

const PORT: u16 = 11479;
const CLUSTER: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 9);

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 72, last)
}

fn addr(last: u8) -> IpAddr {
    IpAddr::V4(ip(last))
}

fn resources() -> String {
    format!(
        r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {{name: default}}
spec: {{nodeToNodeMeshEnabled: false, asNumber: 64512, listenPort: {PORT}}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {{name: rr1, labels: {{route-reflector: "true"}}}}
spec: {{bgp: {{ipv4Address: 127.0.72.1/24, routeReflectorClusterID: {CLUSTER}}}}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {{name: peer-with-route-reflectors}}
spec: {{nodeSelector: "!has(route-reflector)", peerSelector: has(route-reflector)}}
---
{}
---
{}
"#,
        node_yaml(2),
        node_yaml(3)
    )
}

fn node_yaml(last: u8) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {{name: n{last}}}\nspec: {{bgp: {{ipv4Address: {}/24}}}}\n",
        ip(last)
    )
}

async fn put_yaml(store: &EtcdStore, yaml: &str) {
    for r in parse_documents(yaml).unwrap() {
        store.put(&r, Precondition::None).await.unwrap();
    }
}

fn reflector_config(endpoint: &str) -> String {
    format!(
        r#"
[global]
listen = ["127.0.72.1"]

[api]
listen = "127.0.0.1:0"

[datastore]
type = "etcd"
node = "rr1"
etcd_endpoints = ["{endpoint}"]
template = "nodes"
status_ttl = 3

[[template]]
name = "nodes"
hold_time = 9
connect_retry = 1
"#
    )
}

/// A client speaker for Node `n<last>`, its sessions computed from the
/// resources in etcd as the reflector's are.
async fn client_from_etcd(store: &EtcdStore, last: u8) -> SpeakerHandle {
    let syncer = Syncer::start(
        std::sync::Arc::new(store.clone()),
        SyncerConfig {
            kinds: vec![Kind::Node, Kind::BgpPeer, Kind::BgpConfiguration],
            ..SyncerConfig::default()
        },
    );
    let snapshot = tokio::time::timeout(Duration::from_secs(10), syncer.wait_connected())
        .await
        .expect("the client's syncer connects");
    let me = ip(last);
    let mut config = SpeakerConfig::new(64512, me);
    config.listen = vec![SocketAddr::new(IpAddr::V4(me), PORT)];
    let speaker = Speaker::start(config).await.unwrap();
    let list = peerings(&format!("n{last}"), &snapshot);
    assert_eq!(list.len(), 1, "n{last} peers with the reflector: {list:?}");
    for p in list {
        assert_eq!(p.peer_ip, addr(1));
        assert_eq!(p.port, Some(PORT), "the reflector's listenPort");
        let mut options = PeerOptions::new(PeerAs::Exact(p.peer_as.0));
        options.port = p.port.unwrap_or(179);
        options.local_address = p.source_address;
        options.connect_retry = Duration::from_secs(1);
        options.hold_time = 9;
        speaker
            .add_peer(PeerConfig {
                address: p.peer_ip,
                options,
            })
            .await
            .unwrap();
    }
    speaker
}

async fn wait_until<F, Fut>(what: &str, secs: u64, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check().await {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out after {secs} s waiting for {what}");
}

async fn neighbors(api: SocketAddr) -> Vec<Neighbor> {
    client::get(api, "/api/v1/neighbors").await.unwrap()
}

async fn summary(api: SocketAddr) -> Summary {
    client::get(api, "/api/v1/summary").await.unwrap()
}

async fn configured(api: SocketAddr) -> Vec<IpAddr> {
    neighbors(api).await.iter().map(|n| n.address).collect()
}

async fn established(api: SocketAddr, lasts: &[u8]) -> bool {
    let list = neighbors(api).await;
    lasts.iter().all(|last| {
        list.iter()
            .any(|n| n.address == addr(*last) && n.state == SessionState::Established)
    })
}

async fn uptime(api: SocketAddr, last: u8) -> f64 {
    let n: Neighbor = client::get(api, &format!("/api/v1/neighbors/{}", ip(last)))
        .await
        .unwrap();
    assert_eq!(n.state, SessionState::Established, "{n:?}");
    n.uptime_seconds
}

async fn client_state(speaker: &SpeakerHandle) -> NeighborState {
    speaker.neighbors().await.unwrap()[0].state.clone()
}

async fn status_of(store: &EtcdStore, last: u8) -> Option<PeerStatus> {
    let raw = store
        .get_raw(&peer_status_key("rr1", addr(last)))
        .await
        .ok()??;
    Some(serde_json::from_slice(&raw).unwrap())
}

async fn metrics(api: SocketAddr) -> String {
    let response = client::request(api, "GET", "/metrics").await.unwrap();
    String::from_utf8(response.body).unwrap()
}

fn prefix() -> IpNetwork {
    "10.72.2.0/24".parse().unwrap()
}

async fn has_route(speaker: &SpeakerHandle) -> bool {
    !speaker
        .routes(AfiSafi::IPV4_UNICAST, Some(prefix()))
        .await
        .unwrap()
        .is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reflector_follows_etcd_live_and_survives_an_etcd_restart() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("bgp_reflector=info")
        .with_test_writer()
        .try_init();
    let Some(mut etcd) = EtcdServer::start() else {
        return;
    };
    let store = EtcdStore::connect(etcd.config()).await.unwrap();
    put_yaml(&store, &resources()).await;

    let daemon = tokio::time::timeout(
        Duration::from_secs(15),
        Daemon::start(DaemonConfig {
            source: ConfigSource::Text {
                name: "reflector.toml".into(),
                text: reflector_config(&etcd.endpoint()),
            },
            overrides: Overrides::default(),
        }),
    )
    .await
    .expect("the daemon derives its configuration from etcd")
    .unwrap();
    let api = daemon.api_addr();
    assert_eq!(
        daemon.bgp_addrs(),
        [SocketAddr::new(addr(1), PORT)],
        "the port is the Node's listenPort"
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(daemon.serve(async {
        let _ = stopped.await;
    }));

    // The Node gives the AS, the cluster ID and the router ID; the BGPPeer
    // makes n2 and n3 its clients.
    let s = summary(api).await;
    assert_eq!((s.asn, s.router_id), (64512, ip(1)));
    assert_eq!(s.cluster_ids[0], CLUSTER);
    let d = s.datastore.as_ref().expect("datastore in the summary");
    assert!(d.connected && d.state == "connected", "{d:?}");
    assert_eq!((d.node.as_str(), d.peerings), ("rr1", 2));
    let mut list = configured(api).await;
    list.sort();
    assert_eq!(list, [addr(2), addr(3)]);
    assert!(neighbors(api).await.iter().all(|n| n.client == Some(true)));

    let c2 = client_from_etcd(&store, 2).await;
    let c3 = client_from_etcd(&store, 3).await;
    wait_until("n2 and n3 up", 15, || established(api, &[2, 3])).await;
    let attrs = PathAttrs {
        next_hop: NextHop::V4(ip(2)),
        attributes: vec![
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::default()),
        ],
    };
    c2.originate(AfiSafi::IPV4_UNICAST, prefix(), attrs)
        .await
        .unwrap();
    wait_until("n2's route at n3", 10, || has_route(&c3)).await;
    let paths = c3
        .routes(AfiSafi::IPV4_UNICAST, Some(prefix()))
        .await
        .unwrap();
    let reflected = &paths[0].paths[0].0.attrs;
    assert_eq!(reflected.originator_id(), Some(ip(2)));
    assert_eq!(
        reflected.cluster_list(),
        &[CLUSTER],
        "the Node's routeReflectorClusterID"
    );

    // Per-peer status under the reflector's prefix.
    wait_until("n2's status in etcd", 10, || async {
        status_of(&store, 2)
            .await
            .is_some_and(|s| s.state == "established" && s.prefixes_received == 1)
    })
    .await;
    // Each neighbour's record is written on its own change: n3's may come
    // a moment after n2's.
    wait_until("n3's status in etcd", 10, || async {
        status_of(&store, 3)
            .await
            .is_some_and(|s| s.state == "established" && s.prefixes_sent == Some(1))
    })
    .await;
    let st = status_of(&store, 3).await.unwrap();
    assert_eq!((st.reflector.as_str(), st.asn), ("rr1", Some(64512)));
    assert_eq!(st.prefixes_sent, Some(1), "{st:?}");

    // A new Node: its session is configured within a second of the write.
    let up2 = uptime(api, 2).await;
    let up3 = uptime(api, 3).await;
    put_yaml(&store, &node_yaml(4)).await;
    let took = wait_until("n4 configured", 5, || async {
        configured(api).await.contains(&addr(4))
    })
    .await;
    assert!(
        took < Duration::from_secs(1),
        "n4 configured {took:?} after its write"
    );
    let c4 = client_from_etcd(&store, 4).await;
    wait_until("n4 up", 15, || established(api, &[4])).await;
    wait_until("n2's route at n4", 10, || has_route(&c4)).await;
    assert!(uptime(api, 2).await > up2, "n2's session was not reset");
    assert!(uptime(api, 3).await > up3, "n3's session was not reset");

    // A deleted Node: its session goes, with its status key.
    let n3 = ResourceKey::global(Kind::Node, "n3");
    store.delete(&n3, Precondition::None).await.unwrap();
    let took = wait_until("n3 removed", 5, || async {
        !configured(api).await.contains(&addr(3))
    })
    .await;
    assert!(
        took < Duration::from_secs(1),
        "n3 removed {took:?} after its deletion"
    );
    wait_until("n3's session down at n3", 10, || async {
        client_state(&c3).await == NeighborState::Down
    })
    .await;
    wait_until("n3's status key gone", 10, || async {
        status_of(&store, 3).await.is_none()
    })
    .await;
    assert_eq!(summary(api).await.datastore.unwrap().peerings, 2);

    // etcd dies: the reflector says so and keeps its sessions.
    etcd.kill();
    wait_until("the summary to say disconnected", 15, || async {
        summary(api)
            .await
            .datastore
            .is_some_and(|d| !d.connected && d.state == "disconnected" && d.error.is_some())
    })
    .await;
    let text = metrics(api).await;
    assert!(
        text.contains("reflex_datastore_connected 0"),
        "metrics while etcd is down:\n{text}"
    );
    assert!(
        text.contains("reflex_datastore_disconnects_total 1"),
        "{text}"
    );
    let up2 = uptime(api, 2).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(established(api, &[2, 4]).await, "sessions stay up");
    assert!(uptime(api, 2).await > up2);
    assert!(has_route(&c4).await, "routes stay");

    // etcd returns: resynchronised, and a change made now is applied.
    etcd.restart();
    wait_until("the summary to say connected", 20, || async {
        summary(api).await.datastore.is_some_and(|d| d.connected)
    })
    .await;
    assert!(metrics(api).await.contains("reflex_datastore_connected 1"));
    let store = EtcdStore::connect(etcd.config()).await.unwrap();
    put_yaml(&store, &node_yaml(3)).await;
    wait_until("n3 back", 5, || async {
        configured(api).await.contains(&addr(3))
    })
    .await;
    wait_until("n3 up again", 15, || established(api, &[2, 3, 4])).await;
    wait_until("n3's status back in etcd", 10, || async {
        status_of(&store, 3)
            .await
            .is_some_and(|s| s.state == "established")
    })
    .await;
    assert!(uptime(api, 2).await > up2, "n2 untouched through it all");

    // Shutdown revokes the lease: the status keys go.
    let _ = stop.send(());
    served.await.unwrap().unwrap();
    let left = store.list_raw(&peer_status_prefix("rr1")).await.unwrap();
    assert!(left.is_empty(), "status keys left: {left:?}");
    for speaker in [c2, c3, c4] {
        speaker.shutdown("test over").await;
    }
}
