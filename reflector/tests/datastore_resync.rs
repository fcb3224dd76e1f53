//! Datastore mode over the in-memory store, whose connections can be cut
//! one at a time: changes made by another client while the reflector is
//! cut off are applied once it is back (relist and diff), the last known
//! neighbours stay meanwhile, the summary and metrics say so, and the
//! status keys, whose lease expired during the outage, are written again;
//! a reload keeps the datastore's neighbours, and is refused while our Node
//! is missing.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bgp_reflector::api::types::{Neighbor, ReloadResult, Summary};
use bgp_reflector::client::{self, ClientError};
use bgp_reflector::datastore::peer_status_prefix;
use bgp_reflector::{ConfigSource, Daemon, DaemonConfig, Overrides};
use reflex_datastore::cli::parse_documents;
use reflex_datastore::model::{Kind, ResourceKey};
use reflex_datastore::store::memory::MemoryStore;
use reflex_datastore::store::{AnyStore, Datastore, Precondition};

fn node(name: &str, ip: &str, extra: &str) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {{name: {name}}}\nspec: {{bgp: {{ipv4Address: {ip}/24{extra}}}}}\n---\n"
    )
}

async fn put_yaml(store: &MemoryStore, yaml: &str) {
    for r in parse_documents(yaml).unwrap() {
        store.put(&r, Precondition::None).await.unwrap();
    }
}

const CONFIG: &str = r#"
[global]
listen = ["127.0.74.1:11679"]

[api]
listen = "127.0.0.1:0"

[datastore]
type = "etcd"
node = "rr1"
status_ttl = 3
"#;

async fn wait_until<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out after {secs} s waiting for {what}");
}

async fn configured(api: SocketAddr) -> Vec<IpAddr> {
    let list: Vec<Neighbor> = client::get(api, "/api/v1/neighbors").await.unwrap();
    list.iter().map(|n| n.address).collect()
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

async fn summary(api: SocketAddr) -> Summary {
    client::get(api, "/api/v1/summary").await.unwrap()
}

async fn metrics(api: SocketAddr) -> String {
    String::from_utf8(client::request(api, "GET", "/metrics").await.unwrap().body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_missed_while_cut_off_are_applied_when_back() {
    let writer = MemoryStore::new();
    let reflector = writer.connection();
    let resources = format!(
        "{}{}{}apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {{name: to-rr}}\nspec: {{nodeSelector: \"!has(rr)\", peerSelector: \"rr == 'yes'\"}}\n",
        node("rr1", "127.0.74.1", ", routeReflectorClusterID: 224.0.0.4")
            .replace("{name: rr1}", "{name: rr1, labels: {rr: 'yes'}}"),
        node("n2", "127.0.74.2", ""),
        node("n3", "127.0.74.3", ""),
    );
    put_yaml(&writer, &resources).await;

    let daemon = tokio::time::timeout(
        Duration::from_secs(10),
        Daemon::start_with_store(
            DaemonConfig {
                source: ConfigSource::Text {
                    name: "reflector.toml".into(),
                    text: CONFIG.into(),
                },
                overrides: Overrides::default(),
            },
            AnyStore::Memory(reflector.clone()),
        ),
    )
    .await
    .expect("the daemon starts from the store")
    .unwrap();
    let api = daemon.api_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(daemon.serve(async {
        let _ = stopped.await;
    }));
    assert_eq!(configured(api).await, ips(&["127.0.74.2", "127.0.74.3"]));
    let s = summary(api).await;
    assert_eq!(s.cluster_ids[0], Ipv4Addr::new(224, 0, 0, 4));
    let prefix = peer_status_prefix("rr1");
    wait_until("both status keys", 5, || async {
        writer.list_raw(&prefix).await.unwrap().len() == 2
    })
    .await;

    // Cut off: the last known neighbours stay while another client changes
    // the resources.
    reflector.set_offline(true);
    wait_until("the summary to say disconnected", 5, || async {
        summary(api)
            .await
            .datastore
            .is_some_and(|d| d.state == "disconnected" && d.error.is_some())
    })
    .await;
    assert!(metrics(api).await.contains("reflex_datastore_connected 0"));
    writer
        .delete(&ResourceKey::global(Kind::Node, "n3"), Precondition::None)
        .await
        .unwrap();
    put_yaml(&writer, &node("n4", "127.0.74.4", "")).await;
    // The lease is not renewed: the status keys expire, as a dead
    // reflector's would.
    wait_until("the status keys to expire", 10, || async {
        writer.list_raw(&prefix).await.unwrap().is_empty()
    })
    .await;
    assert_eq!(
        configured(api).await,
        ips(&["127.0.74.2", "127.0.74.3"]),
        "running on the last known state"
    );

    // Back: relisted, and exactly the missed changes applied.
    reflector.set_offline(false);
    wait_until("n3 gone and n4 added", 10, || async {
        configured(api).await == ips(&["127.0.74.2", "127.0.74.4"])
    })
    .await;
    let d = summary(api).await.datastore.unwrap();
    assert!(d.connected && d.error.is_none(), "{d:?}");
    assert_eq!(d.peerings, 2);
    assert!(metrics(api).await.contains("reflex_datastore_connected 1"));
    wait_until("the status keys of n2 and n4", 10, || async {
        let keys: Vec<String> = writer
            .list_raw(&prefix)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        keys == [format!("{prefix}127.0.74.2"), format!("{prefix}127.0.74.4")]
    })
    .await;

    // A reload combines the file with the latest resources: nothing changes.
    let result: ReloadResult = client::post(api, "/api/v1/reload").await.unwrap();
    assert!(
        result.added.is_empty() && result.removed.is_empty() && result.reset.is_empty(),
        "{result:?}"
    );
    assert_eq!(result.unchanged, 2);

    // Our Node names another AS: that waits for a restart, and so do the
    // sessions (which depend on it); back to the old AS, all is well.
    let rr1 = |asn: &str| {
        node(
            "rr1",
            "127.0.74.1",
            &format!(", routeReflectorClusterID: 224.0.0.4{asn}"),
        )
        .replace("{name: rr1}", "{name: rr1, labels: {rr: 'yes'}}")
    };
    put_yaml(&writer, &rr1(", asNumber: 65099")).await;
    wait_until("the AS change pending", 5, || async {
        let s = summary(api).await;
        s.restart_pending == ["global.asn"]
            && s.datastore
                .is_some_and(|d| d.problem.is_some_and(|p| p.contains("restart")))
    })
    .await;
    assert_eq!(configured(api).await, ips(&["127.0.74.2", "127.0.74.4"]));
    put_yaml(&writer, &rr1("")).await;
    wait_until("the AS change withdrawn", 5, || async {
        let s = summary(api).await;
        s.restart_pending.is_empty() && s.datastore.is_some_and(|d| d.problem.is_none())
    })
    .await;
    assert_eq!(configured(api).await, ips(&["127.0.74.2", "127.0.74.4"]));

    // Our Node deleted: the neighbours stay, the summary says why.
    writer
        .delete(&ResourceKey::global(Kind::Node, "rr1"), Precondition::None)
        .await
        .unwrap();
    wait_until("the problem in the summary", 5, || async {
        summary(api)
            .await
            .datastore
            .is_some_and(|d| d.problem.is_some_and(|p| p.contains("rr1")))
    })
    .await;
    assert_eq!(configured(api).await, ips(&["127.0.74.2", "127.0.74.4"]));
    // And a reload is refused, changing nothing.
    match client::post::<ReloadResult>(api, "/api/v1/reload").await {
        Err(ClientError::Status {
            status: 400,
            message,
            ..
        }) => assert!(
            message.contains("no Node resource named \"rr1\""),
            "{message}"
        ),
        other => panic!("expected a refused reload, got {other:?}"),
    }
    assert_eq!(configured(api).await, ips(&["127.0.74.2", "127.0.74.4"]));

    let _ = stop.send(());
    served.await.unwrap().unwrap();
}
