//! The syncer on the in-memory store: initial sync, typed changes, an outage
//! during which others write, and receivers that never read.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use reflex_datastore::model::{Kind, ResourceKey};
use reflex_datastore::peering::peerings;
use reflex_datastore::store::memory::MemoryStore;
use reflex_datastore::store::{Datastore, Precondition};
use reflex_datastore::syncer::{SyncChange, SyncStatus, Syncer, SyncerConfig};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::timeout;

fn fast() -> SyncerConfig {
    SyncerConfig {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        ..SyncerConfig::default()
    }
}

fn describe(c: &SyncChange) -> String {
    match c {
        SyncChange::Upsert { resource, previous } => format!(
            "{} {}",
            if previous.is_some() {
                "update"
            } else {
                "create"
            },
            resource.name()
        ),
        SyncChange::Delete { key, .. } => format!("delete {}", key.name),
    }
}

async fn next_change(rx: &mut tokio::sync::broadcast::Receiver<SyncChange>) -> String {
    describe(
        &timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("no change within 5 s")
            .expect("change channel failed"),
    )
}

#[tokio::test]
async fn initial_sync_and_changes() {
    let store = MemoryStore::new();
    store
        .put(&node("n1", "10.0.0.1"), Precondition::None)
        .await
        .unwrap();
    store
        .put(&node("n2", "10.0.0.2"), Precondition::None)
        .await
        .unwrap();
    let syncer = Syncer::start(Arc::new(store.clone()), fast());
    let snap = timeout(Duration::from_secs(5), syncer.wait_connected())
        .await
        .unwrap();
    assert_eq!(snap.nodes().count(), 2);
    // The snapshot is enough to compute peerings (the mesh, here).
    assert_eq!(peerings("n1", &snap).len(), 1);

    let mut changes = syncer.changes();
    store
        .put(&node("n3", "10.0.0.3"), Precondition::None)
        .await
        .unwrap();
    store
        .put(&node("n1", "10.0.1.1"), Precondition::None)
        .await
        .unwrap();
    store
        .delete(&ResourceKey::global(Kind::Node, "n2"), Precondition::None)
        .await
        .unwrap();
    store
        .put(&bgp_peer("tor", "192.0.2.1"), Precondition::None)
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(next_change(&mut changes).await);
    }
    assert_eq!(got, ["create n3", "update n1", "delete n2", "create tor"]);

    let mut snaps = syncer.snapshots();
    let snap = snaps
        .wait_for(|s| s.bgp_peers().count() == 1)
        .await
        .unwrap()
        .clone();
    let names: Vec<&str> = snap.nodes().map(|n| n.name()).collect();
    assert_eq!(names, ["n1", "n3"]);
    assert!(matches!(syncer.status(), SyncStatus::Connected { .. }));
}

/// The syncer's connection is cut while another client writes: the syncer keeps
/// the last snapshot, reports the outage, and on return reports each missed
/// change exactly once.
#[tokio::test]
async fn outage_then_resync_reports_missed_changes_once() {
    let ours = MemoryStore::new();
    let theirs = ours.connection();
    for (n, ip) in [("a", "10.0.0.1"), ("b", "10.0.0.2"), ("c", "10.0.0.3")] {
        theirs.put(&node(n, ip), Precondition::None).await.unwrap();
    }
    let syncer = Syncer::start(Arc::new(ours.clone()), fast());
    timeout(Duration::from_secs(5), syncer.wait_connected())
        .await
        .unwrap();
    let mut changes = syncer.changes();

    ours.set_offline(true);
    let status = timeout(
        Duration::from_secs(5),
        syncer.wait_for(|s| matches!(s, SyncStatus::Disconnected { .. })),
    )
    .await
    .unwrap();
    let SyncStatus::Disconnected { error, .. } = status else {
        unreachable!()
    };
    assert!(error.contains("offline"), "{error}");

    theirs
        .put(&node("a", "10.0.9.1"), Precondition::None)
        .await
        .unwrap();
    theirs
        .delete(&ResourceKey::global(Kind::Node, "b"), Precondition::None)
        .await
        .unwrap();
    theirs
        .put(&node("d", "10.0.0.4"), Precondition::None)
        .await
        .unwrap();
    theirs
        .put(&node("d", "10.0.9.4"), Precondition::None)
        .await
        .unwrap();
    // Still the old snapshot, with retries going on underneath.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(syncer.snapshot().nodes().count(), 3);
    assert!(matches!(syncer.status(), SyncStatus::Disconnected { .. }));

    ours.set_offline(false);
    timeout(Duration::from_secs(5), syncer.wait_connected())
        .await
        .unwrap();
    let mut got = Vec::new();
    while let Ok(Ok(c)) = timeout(Duration::from_millis(300), changes.recv()).await {
        got.push(describe(&c));
    }
    got.sort();
    assert_eq!(got, ["create d", "delete b", "update a"]);
    let snap = syncer.snapshot();
    let d = snap.node("d").unwrap();
    assert_eq!(d.spec.bgp.as_ref().unwrap().ipv4_address, "10.0.9.4/24");
}

/// A receiver that never reads does not hold the syncer back: it lags, and the
/// snapshot keeps up.
#[tokio::test]
async fn slow_receivers_never_block_the_syncer() {
    let store = MemoryStore::new();
    let config = SyncerConfig {
        change_capacity: 8,
        ..fast()
    };
    let syncer = Syncer::start(Arc::new(store.clone()), config);
    timeout(Duration::from_secs(5), syncer.wait_connected())
        .await
        .unwrap();
    let mut idle = syncer.changes();
    for i in 0..200 {
        store
            .put(&node(&format!("n{i}"), "10.0.0.1"), Precondition::None)
            .await
            .unwrap();
    }
    let mut snaps = syncer.snapshots();
    timeout(
        Duration::from_secs(5),
        snaps.wait_for(|s| s.nodes().count() == 200),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(idle.recv().await, Err(RecvError::Lagged(_))));
}
