//! The etcd backend against a real etcd: CRUD and watches, compaction recovery,
//! an etcd restart, TLS with client certificates, and user/password auth.

mod common;

use std::time::Duration;

use common::*;
use reflex_datastore::error::DatastoreError;
use reflex_datastore::model::{Kind, Resource, ResourceKey};
use reflex_datastore::store::etcd::EtcdStore;
use reflex_datastore::store::{Datastore, Precondition, WatchEvent};
use reflex_datastore::testing::{EtcdServer, ServerTls};

#[tokio::test]
async fn crud_list_watch_and_leases() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let mut config = etcd.config();
    // Small pages, so listing takes several.
    config.list_page_size = 2;
    let store = EtcdStore::connect(config).await.unwrap();

    let n1 = node("n1", "10.0.0.1");
    let rev1 = store.put(&n1, Precondition::MustNotExist).await.unwrap();
    assert!(matches!(
        store.put(&n1, Precondition::MustNotExist).await,
        Err(DatastoreError::Conflict { actual: Some(r), .. }) if r == rev1
    ));
    let listing = store.list(Kind::Node).await.unwrap();
    assert_eq!(listing.resources.len(), 1);
    assert_eq!(listing.resources[0].metadata().revision(), Some(rev1));

    // Paged listing: five pages of two, in key order, at one revision.
    for i in 0..9 {
        let r = node(&format!("p{i}"), "10.0.9.1");
        store.put(&r, Precondition::None).await.unwrap();
    }
    let paged = store.list(Kind::Node).await.unwrap();
    let names: Vec<&str> = paged.resources.iter().map(|r| r.name()).collect();
    assert_eq!(
        names,
        ["n1", "p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"]
    );
    for i in 0..9 {
        let key = ResourceKey::global(Kind::Node, format!("p{i}"));
        store.delete(&key, Precondition::None).await.unwrap();
    }
    let listing = store.list(Kind::Node).await.unwrap();

    // The stored value is Calico's JSON, without the resource version.
    let raw = store
        .get_raw("/calico/resources/v3/projectcalico.org/nodes/n1")
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    assert!(
        text.contains("\"apiVersion\":\"projectcalico.org/v3\"")
            && !text.contains("resourceVersion")
    );

    let mut w = store.watch(Kind::Node, listing.revision).await.unwrap();
    assert_eq!(
        next(&mut w, 5).await,
        WatchEvent::InSync {
            revision: listing.revision
        }
    );
    let rev2 = store
        .put(&node("n2", "10.0.0.2"), Precondition::None)
        .await
        .unwrap();
    assert_eq!(
        summary(&next(&mut w, 5).await).unwrap(),
        format!("put n2@{rev2}")
    );

    // Compare-and-swap on the resource version.
    let current = store.get(&key_of(&n1)).await.unwrap().unwrap();
    let rev3 = store
        .put(&current, Precondition::from_resource(&current))
        .await
        .unwrap();
    assert!(matches!(
        store.put(&current, Precondition::from_resource(&current)).await,
        Err(DatastoreError::Conflict { expected: Some(e), actual: Some(a), .. }) if e == rev1 && a == rev3
    ));
    assert_eq!(
        summary(&next(&mut w, 5).await).unwrap(),
        format!("put n1@{rev3}")
    );

    // Other kinds do not show in a Node watch.
    store
        .put(&bgp_peer("tor", "192.0.2.1"), Precondition::None)
        .await
        .unwrap();
    let n2 = ResourceKey::global(Kind::Node, "n2");
    assert!(store.delete(&n2, Precondition::Revision(1)).await.is_err());
    store
        .delete(&n2, Precondition::Revision(rev2))
        .await
        .unwrap();
    assert_eq!(summary(&next(&mut w, 5).await).unwrap(), "delete n2");
    assert!(matches!(
        store.delete(&n2, Precondition::None).await,
        Err(DatastoreError::NotFound(_))
    ));
    assert_eq!(store.list(Kind::BgpPeer).await.unwrap().resources.len(), 1);

    // Leases.
    let lease = store
        .put_with_lease("/calico/status/reflex/n1", b"up", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(store.keep_alive(lease).await.unwrap() >= Duration::from_secs(4));
    assert_eq!(
        store
            .get_raw("/calico/status/reflex/n1")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"up"[..])
    );
    store.revoke(lease).await.unwrap();
    assert_eq!(
        store.get_raw("/calico/status/reflex/n1").await.unwrap(),
        None
    );
    let after = store.keep_alive(lease).await;
    assert!(
        matches!(after, Err(DatastoreError::LeaseNotFound(_))),
        "{after:?}"
    );
}

/// Changes made while the watcher was not looking, then compacted away: the
/// watcher relists and reports each missed change exactly once (the net effect),
/// then follows new changes.
#[tokio::test]
async fn compaction_recovery_reports_missed_changes_once() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let store = EtcdStore::connect(etcd.config()).await.unwrap();
    for (name, ip) in [("a", "10.0.0.1"), ("b", "10.0.0.2"), ("c", "10.0.0.3")] {
        store
            .put(&node(name, ip), Precondition::None)
            .await
            .unwrap();
    }
    let listing = store.list(Kind::Node).await.unwrap();
    // The watch knows the state at the listing; it starts when first polled.
    let mut w = store.watch(Kind::Node, listing.revision).await.unwrap();

    let a = store
        .put(&node("a", "10.0.1.1"), Precondition::None)
        .await
        .unwrap();
    store
        .delete(&ResourceKey::global(Kind::Node, "b"), Precondition::None)
        .await
        .unwrap();
    store
        .put(&node("d", "10.0.0.4"), Precondition::None)
        .await
        .unwrap();
    let d = store
        .put(&node("d", "10.0.1.4"), Precondition::None)
        .await
        .unwrap();
    let mut client = store.client();
    client.compact(d, None).await.unwrap();
    // A plain watch from the listed revision now fails as compacted.
    assert!(matches!(
        store.watch(Kind::Node, listing.revision).await,
        Err(DatastoreError::Compacted { .. })
    ));

    let events = drain(&mut w, Duration::from_millis(700)).await;
    let mut changes: Vec<String> = events.iter().filter_map(summary).collect();
    changes.sort();
    assert_eq!(
        changes,
        [
            "delete b".to_string(),
            format!("put a@{a}"),
            format!("put d@{d}")
        ]
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, WatchEvent::InSync { .. }))
    );

    let e = store
        .put(&node("e", "10.0.0.5"), Precondition::None)
        .await
        .unwrap();
    assert_eq!(
        summary(&next_change(&mut w, 5).await).unwrap(),
        format!("put e@{e}")
    );
}

/// etcd is killed and restarted on the same data: the watch reports the outage,
/// reconnects, and delivers the next write; nothing is lost or repeated.
#[tokio::test]
async fn watch_survives_an_etcd_restart() {
    let Some(mut etcd) = EtcdServer::start() else {
        return;
    };
    let store = EtcdStore::connect(etcd.config()).await.unwrap();
    store
        .put(&node("a", "10.0.0.1"), Precondition::None)
        .await
        .unwrap();
    let listing = store.list(Kind::Node).await.unwrap();
    let mut w = store.watch(Kind::Node, listing.revision).await.unwrap();
    assert!(matches!(next(&mut w, 5).await, WatchEvent::InSync { .. }));

    etcd.kill();
    assert!(matches!(
        next(&mut w, 10).await,
        WatchEvent::Disconnected { .. }
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    etcd.restart();

    // Back in sync with nothing to report: nothing changed.
    assert!(matches!(next(&mut w, 15).await, WatchEvent::InSync { .. }));
    let b = store
        .put(&node("b", "10.0.0.2"), Precondition::None)
        .await
        .unwrap();
    let rest = drain(&mut w, Duration::from_millis(700)).await;
    let changes: Vec<String> = rest.iter().filter_map(summary).collect();
    assert_eq!(changes, [format!("put b@{b}")]);
}

#[tokio::test]
async fn tls_with_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key, client_cert, client_key) = make_certs(dir.path());
    let Some(etcd) = EtcdServer::start_with(Some(ServerTls {
        cert,
        key,
        client_ca: Some(ca.clone()),
    })) else {
        return;
    };
    let config = etcd.tls_config(&ca, Some((&client_cert, &client_key)));
    let store = EtcdStore::connect(config).await.unwrap();
    store
        .put(&node("tls", "10.0.0.9"), Precondition::None)
        .await
        .unwrap();
    assert_eq!(store.list(Kind::Node).await.unwrap().resources.len(), 1);

    // Without a client certificate the server refuses us.
    let mut anonymous = etcd.tls_config(&ca, None);
    anonymous.connect_timeout = Duration::from_secs(1);
    anonymous.request_timeout = Duration::from_secs(2);
    let refused = match EtcdStore::connect(anonymous).await {
        Ok(s) => s.list(Kind::Node).await.is_err(),
        Err(_) => true,
    };
    assert!(refused, "a client without a certificate was served");
}

#[tokio::test]
async fn user_and_password_authentication() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let admin = EtcdStore::connect(etcd.config()).await.unwrap();
    let mut c = admin.client();
    c.user_add("root", "rootpw", None).await.unwrap();
    c.role_add("root").await.unwrap();
    c.user_grant_role("root", "root").await.unwrap();
    c.auth_enable().await.unwrap();

    let mut config = etcd.config();
    config.credentials = Some(("root".into(), "rootpw".into()));
    let store = EtcdStore::connect(config.clone()).await.unwrap();
    store
        .put(&node("auth", "10.0.0.8"), Precondition::None)
        .await
        .unwrap();
    let names: Vec<String> = store
        .list(Kind::Node)
        .await
        .unwrap()
        .resources
        .iter()
        .map(|r: &Resource| r.name().to_string())
        .collect();
    assert_eq!(names, ["auth"]);

    // A watch works with a token too.
    let mut w = store.watch(Kind::Node, 0).await.unwrap();
    assert_eq!(
        summary(&next_change(&mut w, 5).await)
            .unwrap()
            .split('@')
            .next(),
        Some("put auth")
    );

    config.credentials = Some(("root".into(), "wrong".into()));
    assert!(EtcdStore::connect(config).await.is_err());
    // Without credentials, reads are refused.
    assert!(admin.list(Kind::Node).await.is_err());
}

/// The syncer on etcd: etcd is killed (the syncer keeps its snapshot and reports
/// the outage), restarted on the same data, and the next write arrives.
#[tokio::test]
async fn syncer_resumes_after_an_etcd_restart() {
    use reflex_datastore::syncer::{SyncStatus, Syncer, SyncerConfig};
    let Some(mut etcd) = EtcdServer::start() else {
        return;
    };
    let store = EtcdStore::connect(etcd.config()).await.unwrap();
    store
        .put(&node("a", "10.0.0.1"), Precondition::None)
        .await
        .unwrap();
    store
        .put(&bgp_peer("tor", "192.0.2.1"), Precondition::None)
        .await
        .unwrap();
    let config = SyncerConfig {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
        ..SyncerConfig::default()
    };
    let syncer = Syncer::start(std::sync::Arc::new(store.clone()), config);
    let wait = |secs| tokio::time::timeout(Duration::from_secs(secs), syncer.wait_connected());
    let snap = wait(10).await.unwrap();
    assert_eq!(snap.len(), 2);
    let mut changes = syncer.changes();

    etcd.kill();
    let down = tokio::time::timeout(
        Duration::from_secs(10),
        syncer.wait_for(|s| matches!(s, SyncStatus::Disconnected { .. })),
    )
    .await
    .unwrap();
    assert!(matches!(down, SyncStatus::Disconnected { .. }));
    assert_eq!(
        syncer.snapshot().len(),
        2,
        "the last snapshot is still served"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    etcd.restart();
    wait(20).await.unwrap();

    store
        .put(&node("b", "10.0.0.2"), Precondition::None)
        .await
        .unwrap();
    let change = tokio::time::timeout(Duration::from_secs(10), changes.recv())
        .await
        .unwrap()
        .unwrap();
    let reflex_datastore::syncer::SyncChange::Upsert { resource, previous } = change else {
        panic!("expected an upsert, got {change:?}")
    };
    assert_eq!((resource.name(), previous.is_none()), ("b", true));
    // Nothing else: no change was lost or repeated across the restart.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), changes.recv())
            .await
            .is_err()
    );
    assert_eq!(syncer.snapshot().len(), 3);
}
