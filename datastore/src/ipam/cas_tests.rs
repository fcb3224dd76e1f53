//! The retry path, made deterministic: a store wrapper that lets "another node"
//! assign an address in a block between IPAM's read of the block and its
//! compare-and-swap write, so the write must lose, re-read and retry, and a
//! writer that always interferes exhausts the bounded retries.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;
use crate::error::DatastoreError;
use crate::model::{IpPool, IpPoolSpec, Kind, Resource, ResourceKey};
use crate::store::memory::MemoryStore;
use crate::store::{Datastore, LeaseId, Listing, Precondition, VersionedValue, WatchStream};

/// A memory store where each conditional write of a block is preceded, while
/// `interferences` lasts, by another writer's assignment in that block.
#[derive(Clone)]
struct Interfering {
    inner: MemoryStore,
    interferences: Arc<AtomicUsize>,
    intruded: Arc<std::sync::Mutex<Vec<IpAddr>>>,
}

impl Interfering {
    async fn intrude(&self, key: &str, pre: Precondition) {
        let is_block_update = key.starts_with("/calico/ipam/v2/assignment/")
            && matches!(pre, Precondition::Revision(_));
        let left = self.interferences.load(Ordering::SeqCst);
        if !is_block_update || left == 0 {
            return;
        }
        self.interferences.store(left - 1, Ordering::SeqCst);
        let current = self.inner.get_raw(key).await.unwrap().unwrap();
        let cidr = keys::parse_block_key(key).unwrap();
        let mut block = AllocationBlock::decode(key, &cidr, &current).unwrap();
        let ips = block.auto_assign(1, Some("intruder"), &BTreeMap::new());
        self.intruded.lock().unwrap().extend(ips);
        self.inner
            .put_raw(key, &block.to_json(), None)
            .await
            .unwrap();
    }
}

impl Datastore for Interfering {
    async fn list(&self, kind: Kind) -> Result<Listing, DatastoreError> {
        self.inner.list(kind).await
    }
    async fn get(&self, key: &ResourceKey) -> Result<Option<Resource>, DatastoreError> {
        self.inner.get(key).await
    }
    async fn watch(&self, kind: Kind, from: i64) -> Result<WatchStream, DatastoreError> {
        self.inner.watch(kind, from).await
    }
    async fn put(&self, r: &Resource, pre: Precondition) -> Result<i64, DatastoreError> {
        self.inner.put(r, pre).await
    }
    async fn delete(&self, key: &ResourceKey, pre: Precondition) -> Result<i64, DatastoreError> {
        self.inner.delete(key, pre).await
    }
    async fn put_with_lease(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<LeaseId, DatastoreError> {
        self.inner.put_with_lease(key, value, ttl).await
    }
    async fn keep_alive(&self, lease: LeaseId) -> Result<Duration, DatastoreError> {
        self.inner.keep_alive(lease).await
    }
    async fn revoke(&self, lease: LeaseId) -> Result<(), DatastoreError> {
        self.inner.revoke(lease).await
    }
    async fn get_raw(&self, key: &str) -> Result<Option<Vec<u8>>, DatastoreError> {
        self.inner.get_raw(key).await
    }
    async fn grant_lease(&self, ttl: Duration) -> Result<LeaseId, DatastoreError> {
        self.inner.grant_lease(ttl).await
    }
    async fn put_raw(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
    ) -> Result<(), DatastoreError> {
        self.inner.put_raw(key, value, lease).await
    }
    async fn delete_raw(&self, key: &str) -> Result<bool, DatastoreError> {
        self.inner.delete_raw(key).await
    }
    async fn list_raw(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, DatastoreError> {
        self.inner.list_raw(prefix).await
    }
    async fn get_raw_versioned(&self, key: &str) -> Result<Option<VersionedValue>, DatastoreError> {
        self.inner.get_raw_versioned(key).await
    }
    async fn put_raw_if(
        &self,
        key: &str,
        value: &[u8],
        pre: Precondition,
    ) -> Result<i64, DatastoreError> {
        self.intrude(key, pre).await;
        self.inner.put_raw_if(key, value, pre).await
    }
    async fn delete_raw_if(&self, key: &str, pre: Precondition) -> Result<i64, DatastoreError> {
        self.inner.delete_raw_if(key, pre).await
    }
    async fn list_raw_versioned(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, VersionedValue)>, DatastoreError> {
        self.inner.list_raw_versioned(prefix).await
    }
}

async fn setup(interferences: usize) -> Interfering {
    let inner = MemoryStore::new();
    let pool = IpPool::new(
        "p",
        IpPoolSpec {
            cidr: "10.90.0.0/26".into(),
            ..IpPoolSpec::default()
        },
    );
    inner.put(&pool.into(), Precondition::None).await.unwrap();
    let store = Interfering {
        inner,
        interferences: Arc::new(AtomicUsize::new(0)),
        intruded: Arc::default(),
    };
    // The block exists before the interference starts (its creation is a
    // create-only write, not an update).
    let ipam = Ipam::new(store.clone());
    ipam.auto_assign(&request("first")).await.unwrap();
    store.interferences.store(interferences, Ordering::SeqCst);
    store
}

fn request(handle: &str) -> AutoAssignRequest {
    AutoAssignRequest {
        handle_id: Some(handle.into()),
        host: "node1".into(),
        num_v4: 1,
        ..AutoAssignRequest::default()
    }
}

#[tokio::test]
async fn a_lost_compare_and_swap_rereads_and_retries() {
    let store = setup(3).await;
    let ipam = Ipam::new(store.clone());
    let got = ipam.auto_assign(&request("mine")).await.unwrap();
    let mine = got.ipv4[0].address;
    assert_eq!(ipam.lost_races(), 3);
    let intruded = store.intruded.lock().unwrap().clone();
    assert_eq!(intruded.len(), 3);
    // Each retry saw the other writer's address and took the next one.
    assert!(!intruded.contains(&mine));
    let block = ipam.block(got.ipv4[0].block).await.unwrap().unwrap();
    assert_eq!(block.ips_by_handle("intruder"), intruded);
    assert_eq!(block.ips_by_handle("mine"), [mine]);
    // The handle counted the address once, not once per attempt.
    assert_eq!(ipam.handle("mine").await.unwrap().unwrap().total(), 1);
}

#[tokio::test]
async fn endless_interference_exhausts_the_bounded_retries() {
    let store = setup(usize::MAX).await;
    let ipam = Ipam::new(store.clone()).with_max_retries(4);
    match ipam.auto_assign(&request("mine")).await {
        Err(IpamError::RetriesExhausted { key, attempts }) => {
            assert_eq!(key, "/calico/ipam/v2/assignment/ipv4/block/10.90.0.0-26");
            assert_eq!(attempts, 4);
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    // Nothing of the failed request stays: no handle, no address.
    assert_eq!(ipam.handle("mine").await.unwrap(), None);
    store.interferences.store(0, Ordering::SeqCst);
    assert!(ipam.ips_by_handle("mine").await.unwrap().is_empty());
}
