use super::*;
use reflex_datastore::cli::parse_documents;
use reflex_datastore::model::{Resource, ResourceKey};
use reflex_datastore::store::Precondition;
use reflex_datastore::store::memory::MemoryStore;

const RESOURCES: &str = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: rr1, labels: {route-reflector: "true"}}
spec: {bgp: {ipv4Address: 10.0.0.1/24, routeReflectorClusterID: 224.0.0.1}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: to-rr}
spec: {nodeSelector: "!has(route-reflector)", peerSelector: has(route-reflector)}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pods}
spec: {cidr: 10.65.0.0/16}
"#;

fn settings() -> Settings {
    let mut s = Settings::from_file(&schema::Datastore {
        endpoints: vec!["http://127.0.0.1:2379".into()],
        ..schema::Datastore::default()
    });
    s.backoff = (Duration::from_millis(10), Duration::from_millis(50));
    s
}

fn base() -> AgentConfig {
    let mut c = AgentConfig::new("n1", 64512, Ipv4Addr::new(10, 0, 0, 11));
    c.require_reflectors = false;
    c.pools_required = true;
    c
}

#[tokio::test]
async fn the_node_registers_and_starts_with_the_reflectors_and_pools_of_the_resources() {
    let store = MemoryStore::new();
    for r in parse_documents(RESOURCES).unwrap() {
        store.put(&r, Precondition::None).await.unwrap();
    }
    let own = OwnNode {
        name: "n1".into(),
        ipv4: Some("10.0.0.11/24".parse().unwrap()),
        ipv6: None,
        asn: None,
    };
    let s = store.clone();
    let connect = move || -> Connecting<MemoryStore> {
        let s = s.clone();
        Box::pin(async move { Ok(s) })
    };
    let link = Link::start(connect, &settings(), base(), false, own);
    let config = link.initial(&base(), Duration::from_secs(5)).await;
    let addresses: Vec<IpAddr> = config.reflectors.iter().map(|r| r.address).collect();
    assert_eq!(addresses, ["10.0.0.1".parse::<IpAddr>().unwrap()]);
    assert_eq!(
        config.export.pools,
        ["10.65.0.0/16".parse::<IpNetwork>().unwrap()]
    );
    let key = ResourceKey::global(Kind::Node, "n1");
    let Some(Resource::Node(n)) = store.get(&key).await.unwrap() else {
        panic!("the Node is not registered");
    };
    assert_eq!(n.spec.bgp.unwrap().ipv4_address, "10.0.0.11/24");
    let status = link.status();
    assert_eq!(status.state, DatastoreState::Connected);
    assert!(status.node_registered);
    assert_eq!(status.reflectors.len(), 1);
    assert_eq!(status.disconnects, 0);
}

#[tokio::test]
async fn an_unreachable_datastore_leaves_the_file_configuration_and_is_retried() {
    let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = attempts.clone();
    let connect = move || -> Connecting<MemoryStore> {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Box::pin(async { Err(DatastoreError::Unavailable("connection refused".into())) })
    };
    let own = OwnNode {
        name: "n1".into(),
        ipv4: None,
        ipv6: None,
        asn: None,
    };
    let link = Link::start(connect, &settings(), base(), false, own);
    let config = link.initial(&base(), Duration::from_millis(300)).await;
    assert!(config.reflectors.is_empty() && config.export.pools.is_empty());
    assert!(
        attempts.load(std::sync::atomic::Ordering::Relaxed) >= 3,
        "retried"
    );
    let status = link.status();
    assert_eq!(status.state, DatastoreState::Connecting);
    assert!(
        status
            .last_error
            .is_some_and(|e| e.contains("connection refused"))
    );
}

#[test]
fn settings_from_the_file() {
    let s = Settings::from_file(&schema::Datastore {
        endpoints: vec!["https://etcd:2379".into()],
        ca_file: Some("/etc/ca.pem".into()),
        username: Some("u".into()),
        password: Some("p".into()),
        retry_max: Some(3),
        keepalive: Some(2),
        ..schema::Datastore::default()
    });
    assert_eq!(s.etcd.endpoints, ["https://etcd:2379"]);
    assert_eq!(s.etcd.credentials, Some(("u".into(), "p".into())));
    assert!(s.etcd.tls.is_some());
    assert_eq!(s.backoff.1, Duration::from_secs(3));
    assert_eq!(
        s.etcd.keep_alive,
        (Duration::from_secs(2), Duration::from_secs(2))
    );
    assert_eq!(s.start_wait, Duration::from_secs(10));
}

#[test]
fn an_address_without_an_interface_is_a_host_prefix() {
    let n = with_prefix_length("192.0.2.250".parse().unwrap());
    assert_eq!(n.prefix(), 32);
    let n = with_prefix_length("127.0.0.1".parse().unwrap());
    assert_eq!(n.prefix(), 8, "loopback is 127.0.0.1/8");
}
