//! Tests of the in-memory store.

use super::*;
use crate::model::{Node, NodeSpec};

fn node(name: &str) -> Resource {
    Node::new(name, NodeSpec::default()).into()
}

#[tokio::test]
async fn revisions_cas_and_list() {
    let store = MemoryStore::new();
    let r1 = store
        .put(&node("a"), Precondition::MustNotExist)
        .await
        .unwrap();
    let r2 = store.put(&node("b"), Precondition::None).await.unwrap();
    assert_eq!((r1, r2), (1, 2));
    assert!(matches!(
        store.put(&node("a"), Precondition::MustNotExist).await,
        Err(DatastoreError::Conflict {
            actual: Some(1),
            ..
        })
    ));
    assert!(matches!(
        store.put(&node("a"), Precondition::Revision(7)).await,
        Err(DatastoreError::Conflict {
            expected: Some(7),
            actual: Some(1),
            ..
        })
    ));
    let listing = store.list(Kind::Node).await.unwrap();
    assert_eq!(listing.revision, 2);
    let a = &listing.resources[0];
    assert_eq!(a.metadata().revision(), Some(1));
    let r3 = store.put(a, Precondition::from_resource(a)).await.unwrap();
    assert_eq!(r3, 3);
    let key = ResourceKey::global(Kind::Node, "a");
    assert!(store.delete(&key, Precondition::Revision(1)).await.is_err());
    assert_eq!(
        store.delete(&key, Precondition::Revision(3)).await.unwrap(),
        4
    );
    assert!(matches!(
        store.delete(&key, Precondition::None).await,
        Err(DatastoreError::NotFound(_))
    ));
    assert!(
        store
            .list(Kind::BgpPeer)
            .await
            .unwrap()
            .resources
            .is_empty()
    );
}

#[tokio::test]
async fn watch_replays_history_then_follows() {
    let store = MemoryStore::new();
    store.put(&node("a"), Precondition::None).await.unwrap();
    let from = store.list(Kind::Node).await.unwrap().revision;
    store.put(&node("b"), Precondition::None).await.unwrap();
    let mut w = store.watch(Kind::Node, from).await.unwrap();
    assert_eq!(
        w.next().await.unwrap().unwrap(),
        WatchEvent::InSync { revision: 1 }
    );
    let WatchEvent::Put(b) = w.next().await.unwrap().unwrap() else {
        panic!("expected a put")
    };
    assert_eq!(b.name(), "b");
    store
        .delete(&ResourceKey::global(Kind::Node, "a"), Precondition::None)
        .await
        .unwrap();
    assert!(matches!(
        w.next().await.unwrap().unwrap(),
        WatchEvent::Delete { revision: 3, .. }
    ));
    store.compact(3);
    assert!(matches!(
        store.watch(Kind::Node, 1).await,
        Err(DatastoreError::Compacted {
            requested: 1,
            compacted: 3
        })
    ));
    store.set_offline(true);
    assert!(matches!(
        w.next().await,
        Some(Err(DatastoreError::Unavailable(_)))
    ));
    assert!(w.next().await.is_none());
    assert!(store.list(Kind::Node).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn leases_expire_unless_kept_alive() {
    let store = MemoryStore::new();
    let ttl = Duration::from_secs(10);
    let lease = store.put_with_lease("/status/a", b"up", ttl).await.unwrap();
    tokio::time::advance(Duration::from_secs(8)).await;
    assert_eq!(store.keep_alive(lease).await.unwrap(), ttl);
    tokio::time::advance(Duration::from_secs(8)).await;
    assert_eq!(
        store.get_raw("/status/a").await.unwrap().as_deref(),
        Some(&b"up"[..])
    );
    tokio::time::advance(Duration::from_secs(3)).await;
    assert_eq!(store.get_raw("/status/a").await.unwrap(), None);
    assert!(matches!(
        store.keep_alive(lease).await,
        Err(DatastoreError::LeaseNotFound(_))
    ));
    let other = store.put_with_lease("/status/b", b"x", ttl).await.unwrap();
    store.revoke(other).await.unwrap();
    assert_eq!(store.get_raw("/status/b").await.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn raw_keys_share_one_lease_and_list_by_prefix() {
    let store = MemoryStore::new();
    let ttl = Duration::from_secs(10);
    let lease = store.grant_lease(ttl).await.unwrap();
    store.put_raw("/s/r1/a", b"1", Some(lease)).await.unwrap();
    store.put_raw("/s/r1/b", b"2", Some(lease)).await.unwrap();
    store.put_raw("/s/r2/a", b"3", None).await.unwrap();
    let keys = |list: Vec<(String, Vec<u8>)>| list.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(
        keys(store.list_raw("/s/r1/").await.unwrap()),
        ["/s/r1/a", "/s/r1/b"]
    );
    assert!(store.delete_raw("/s/r1/b").await.unwrap());
    assert!(!store.delete_raw("/s/r1/b").await.unwrap());
    tokio::time::advance(Duration::from_secs(11)).await;
    assert_eq!(keys(store.list_raw("/s/").await.unwrap()), ["/s/r2/a"]);
    assert!(matches!(
        store.put_raw("/s/r1/a", b"1", Some(lease)).await,
        Err(DatastoreError::LeaseNotFound(_))
    ));
}

#[tokio::test]
async fn raw_compare_and_swap_on_mod_revision() {
    let store = MemoryStore::new();
    let other = store.connection();
    let r1 = store
        .put_raw_if("/k", b"one", Precondition::MustNotExist)
        .await
        .unwrap();
    assert!(matches!(
        other.put_raw_if("/k", b"two", Precondition::MustNotExist).await,
        Err(DatastoreError::Conflict { actual: Some(r), .. }) if r == r1
    ));
    let read = other.get_raw_versioned("/k").await.unwrap().unwrap();
    assert_eq!(
        (read.value.as_slice(), read.mod_revision),
        (&b"one"[..], r1)
    );
    // Two writers read the same revision: the first wins, the second conflicts.
    let r2 = store
        .put_raw_if("/k", b"two", Precondition::Revision(r1))
        .await
        .unwrap();
    assert!(r2 > r1);
    assert!(matches!(
        other.put_raw_if("/k", b"three", Precondition::Revision(r1)).await,
        Err(DatastoreError::Conflict { expected: Some(e), actual: Some(a), .. }) if e == r1 && a == r2
    ));
    // Unconditional raw writes move the mod revision too.
    store.put_raw("/k", b"four", None).await.unwrap();
    let now = store.get_raw_versioned("/k").await.unwrap().unwrap();
    assert!(now.mod_revision > r2);
    assert!(matches!(
        store.delete_raw_if("/k", Precondition::Revision(r2)).await,
        Err(DatastoreError::Conflict { .. })
    ));
    assert!(
        store
            .delete_raw_if("/k", Precondition::Revision(now.mod_revision))
            .await
            .unwrap()
            > now.mod_revision
    );
    assert!(matches!(
        store.delete_raw_if("/k", Precondition::None).await,
        Err(DatastoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .put_raw_if("/k", b"x", Precondition::Revision(1))
            .await,
        Err(DatastoreError::Conflict { actual: None, .. })
    ));
    store
        .put_raw_if("/p/a", b"1", Precondition::None)
        .await
        .unwrap();
    store
        .put_raw_if("/p/b", b"2", Precondition::None)
        .await
        .unwrap();
    let listed = store.list_raw_versioned("/p/").await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].0, "/p/a");
    assert!(listed[0].1.mod_revision < listed[1].1.mod_revision);
}
