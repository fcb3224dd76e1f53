//! [`MemoryStore`]: an in-process datastore with etcd's semantics (one revision
//! counter, mod revisions as resource versions, a bounded change history for
//! watches, compaction, leases). The embedded default and the unit-test backend.
//!
//! [`MemoryStore::set_offline`] makes one connection behave like a client cut off
//! from etcd (while others, from [`MemoryStore::connection`], keep writing), so the
//! syncer's retry and resync logic can be tested without etcd.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{
    Datastore, LeaseId, Listing, Precondition, VersionedValue, WatchEvent, WatchStream, prepare,
};
use crate::error::DatastoreError;
use crate::model::{Kind, Resource, ResourceKey};

/// Changes kept for watches before the oldest are compacted away.
pub const DEFAULT_HISTORY: usize = 10_000;

#[derive(Debug)]
struct Entry {
    resource: Resource,
    mod_revision: i64,
}

#[derive(Debug)]
struct Change {
    revision: i64,
    key: ResourceKey,
    value: Option<Resource>,
}

/// A raw key's value, its lease (0: none; lease ids start at 1) and the revision
/// of its last write, like etcd's `mod_revision`.
#[derive(Debug)]
struct RawEntry {
    value: Vec<u8>,
    lease: LeaseId,
    mod_revision: i64,
}

#[derive(Debug)]
struct Lease {
    ttl: Duration,
    deadline: Instant,
    keys: Vec<String>,
}

struct Subscriber {
    connection: u64,
    kind: Kind,
    tx: mpsc::UnboundedSender<Result<WatchEvent, DatastoreError>>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Subscriber({}, {})", self.connection, self.kind)
    }
}

/// One client's connection: its id and whether it is cut off.
#[derive(Debug)]
struct Connection {
    id: u64,
    offline: AtomicBool,
}

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

impl Connection {
    fn new() -> Arc<Self> {
        Arc::new(Connection {
            id: NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed),
            offline: AtomicBool::new(false),
        })
    }
}

#[derive(Debug, Default)]
struct Inner {
    revision: i64,
    compacted: i64,
    history_limit: usize,
    data: BTreeMap<ResourceKey, Entry>,
    history: VecDeque<Change>,
    subscribers: Vec<Subscriber>,
    raw: BTreeMap<String, RawEntry>,
    leases: HashMap<LeaseId, Lease>,
    next_lease: LeaseId,
}

/// An in-memory datastore. Clones share the data and the connection;
/// [`MemoryStore::connection`] gives another connection to the same data.
#[derive(Clone, Debug)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    connection: Arc<Connection>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// An empty store keeping [`DEFAULT_HISTORY`] changes.
    pub fn new() -> Self {
        MemoryStore::with_history(DEFAULT_HISTORY)
    }

    /// An empty store keeping `limit` changes for watches.
    pub fn with_history(limit: usize) -> Self {
        MemoryStore {
            inner: Arc::new(Mutex::new(Inner {
                history_limit: limit.max(1),
                next_lease: 1,
                ..Inner::default()
            })),
            connection: Connection::new(),
        }
    }

    /// Another client of the same data, with its own on/off-line state.
    pub fn connection(&self) -> MemoryStore {
        MemoryStore {
            inner: self.inner.clone(),
            connection: Connection::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data: take it anyway.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn online(&self) -> Result<MutexGuard<'_, Inner>, DatastoreError> {
        if self.connection.offline.load(Ordering::SeqCst) {
            return Err(DatastoreError::Unavailable(
                "memory store is offline".into(),
            ));
        }
        let mut inner = self.lock();
        inner.sweep_leases();
        Ok(inner)
    }

    /// The current revision.
    pub fn revision(&self) -> i64 {
        self.lock().revision
    }

    /// Drops the history up to `revision`: watches from before it fail with
    /// [`DatastoreError::Compacted`], like etcd's compaction.
    pub fn compact(&self, revision: i64) {
        let mut inner = self.lock();
        let revision = revision.min(inner.revision);
        while inner
            .history
            .front()
            .is_some_and(|c| c.revision <= revision)
        {
            inner.history.pop_front();
        }
        inner.compacted = inner.compacted.max(revision);
    }

    /// Takes this connection off line (its calls fail with
    /// [`DatastoreError::Unavailable`] and its watches end with it) or back on.
    pub fn set_offline(&self, offline: bool) {
        let mut inner = self.lock();
        self.connection.offline.store(offline, Ordering::SeqCst);
        if offline {
            let id = self.connection.id;
            inner.subscribers.retain(|s| {
                if s.connection != id {
                    return true;
                }
                let _ = s.tx.send(Err(DatastoreError::Unavailable(
                    "memory store went offline".into(),
                )));
                false
            });
        }
    }
}

impl Inner {
    fn record(&mut self, key: ResourceKey, value: Option<Resource>) -> i64 {
        self.revision += 1;
        let revision = self.revision;
        let event = match &value {
            Some(r) => WatchEvent::Put(r.clone()),
            None => WatchEvent::Delete {
                key: key.clone(),
                revision,
            },
        };
        self.subscribers
            .retain(|s| s.kind != key.kind || s.tx.send(Ok(event.clone())).is_ok());
        self.history.push_back(Change {
            revision,
            key,
            value,
        });
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.revision;
            }
        }
        revision
    }

    fn check(&self, key: &ResourceKey, pre: Precondition) -> Result<(), DatastoreError> {
        let actual = self.data.get(key).map(|e| e.mod_revision);
        let ok = match pre {
            Precondition::None => true,
            Precondition::MustNotExist => actual.is_none(),
            Precondition::Revision(r) => actual == Some(r),
        };
        if ok {
            return Ok(());
        }
        Err(DatastoreError::Conflict {
            key: key.path(),
            expected: match pre {
                Precondition::Revision(r) => Some(r),
                _ => None,
            },
            actual,
        })
    }

    /// Writes a raw key at the next revision and returns that revision.
    fn write_raw(&mut self, key: &str, value: &[u8], lease: LeaseId) -> i64 {
        self.revision += 1;
        let entry = RawEntry {
            value: value.to_vec(),
            lease,
            mod_revision: self.revision,
        };
        self.raw.insert(key.to_string(), entry);
        self.revision
    }

    /// Checks a precondition on a raw key, as etcd's transaction compares do.
    fn check_raw(&self, key: &str, pre: Precondition) -> Result<(), DatastoreError> {
        let actual = self.raw.get(key).map(|e| e.mod_revision);
        let ok = match pre {
            Precondition::None => true,
            Precondition::MustNotExist => actual.is_none(),
            Precondition::Revision(r) => actual == Some(r),
        };
        if ok {
            return Ok(());
        }
        Err(DatastoreError::Conflict {
            key: key.to_string(),
            expected: match pre {
                Precondition::Revision(r) => Some(r),
                _ => None,
            },
            actual,
        })
    }

    fn sweep_leases(&mut self) {
        let now = Instant::now();
        let expired: Vec<LeaseId> = self
            .leases
            .iter()
            .filter(|(_, l)| l.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.drop_lease(id);
        }
    }

    fn drop_lease(&mut self, id: LeaseId) -> bool {
        let Some(lease) = self.leases.remove(&id) else {
            return false;
        };
        for key in lease.keys {
            if self.raw.get(&key).is_some_and(|e| e.lease == id) {
                self.raw.remove(&key);
            }
        }
        self.revision += 1;
        true
    }
}

impl Datastore for MemoryStore {
    async fn list(&self, kind: Kind) -> Result<Listing, DatastoreError> {
        let inner = self.online()?;
        let start = ResourceKey::global(kind, String::new());
        let resources = inner
            .data
            .range(start..)
            .take_while(|(k, _)| k.kind == kind)
            .map(|(_, e)| e.resource.clone())
            .collect();
        Ok(Listing {
            resources,
            revision: inner.revision,
        })
    }

    async fn get(&self, key: &ResourceKey) -> Result<Option<Resource>, DatastoreError> {
        Ok(self.online()?.data.get(key).map(|e| e.resource.clone()))
    }

    async fn watch(&self, kind: Kind, from_revision: i64) -> Result<WatchStream, DatastoreError> {
        let mut inner = self.online()?;
        if from_revision < inner.compacted {
            return Err(DatastoreError::Compacted {
                requested: from_revision,
                compacted: inner.compacted,
            });
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(Ok(WatchEvent::InSync {
            revision: from_revision,
        }));
        for c in inner
            .history
            .iter()
            .filter(|c| c.revision > from_revision && c.key.kind == kind)
        {
            let event = match &c.value {
                Some(r) => WatchEvent::Put(r.clone()),
                None => WatchEvent::Delete {
                    key: c.key.clone(),
                    revision: c.revision,
                },
            };
            let _ = tx.send(Ok(event));
        }
        inner.subscribers.push(Subscriber {
            connection: self.connection.id,
            kind,
            tx,
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            let item = rx.recv().await?;
            Some((item, rx))
        });
        // An error item is final.
        let mut done = false;
        Ok(stream
            .take_while(move |item| {
                let go = !done;
                done = item.is_err();
                futures::future::ready(go)
            })
            .boxed())
    }

    async fn put(&self, resource: &Resource, pre: Precondition) -> Result<i64, DatastoreError> {
        let (key, mut stored) = prepare(resource)?;
        let mut inner = self.online()?;
        inner.check(&key, pre)?;
        let revision = inner.revision + 1;
        stored.metadata_mut().resource_version = Some(revision.to_string());
        inner.data.insert(
            key.clone(),
            Entry {
                resource: stored.clone(),
                mod_revision: revision,
            },
        );
        Ok(inner.record(key, Some(stored)))
    }

    async fn delete(&self, key: &ResourceKey, pre: Precondition) -> Result<i64, DatastoreError> {
        let mut inner = self.online()?;
        if !inner.data.contains_key(key) {
            return Err(DatastoreError::NotFound(key.path()));
        }
        inner.check(key, pre)?;
        inner.data.remove(key);
        Ok(inner.record(key.clone(), None))
    }

    async fn put_with_lease(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<LeaseId, DatastoreError> {
        let mut inner = self.online()?;
        let id = inner.next_lease;
        inner.next_lease += 1;
        inner.leases.insert(
            id,
            Lease {
                ttl,
                deadline: Instant::now() + ttl,
                keys: vec![key.to_string()],
            },
        );
        inner.write_raw(key, value, id);
        Ok(id)
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<Duration, DatastoreError> {
        let mut inner = self.online()?;
        let l = inner
            .leases
            .get_mut(&lease)
            .ok_or(DatastoreError::LeaseNotFound(lease))?;
        l.deadline = Instant::now() + l.ttl;
        Ok(l.ttl)
    }

    async fn revoke(&self, lease: LeaseId) -> Result<(), DatastoreError> {
        let mut inner = self.online()?;
        if inner.drop_lease(lease) {
            Ok(())
        } else {
            Err(DatastoreError::LeaseNotFound(lease))
        }
    }

    async fn get_raw(&self, key: &str) -> Result<Option<Vec<u8>>, DatastoreError> {
        Ok(self.online()?.raw.get(key).map(|e| e.value.clone()))
    }

    async fn grant_lease(&self, ttl: Duration) -> Result<LeaseId, DatastoreError> {
        let mut inner = self.online()?;
        let id = inner.next_lease;
        inner.next_lease += 1;
        inner.leases.insert(
            id,
            Lease {
                ttl,
                deadline: Instant::now() + ttl,
                keys: Vec::new(),
            },
        );
        inner.revision += 1;
        Ok(id)
    }

    async fn put_raw(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
    ) -> Result<(), DatastoreError> {
        let mut inner = self.online()?;
        // 0 marks a key without a lease (lease ids start at 1).
        let id = match lease {
            Some(id) => {
                let l = inner
                    .leases
                    .get_mut(&id)
                    .ok_or(DatastoreError::LeaseNotFound(id))?;
                l.keys.push(key.to_string());
                id
            }
            None => 0,
        };
        inner.write_raw(key, value, id);
        Ok(())
    }

    async fn delete_raw(&self, key: &str) -> Result<bool, DatastoreError> {
        let mut inner = self.online()?;
        let existed = inner.raw.remove(key).is_some();
        if existed {
            inner.revision += 1;
        }
        Ok(existed)
    }

    async fn list_raw(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, DatastoreError> {
        let inner = self.online()?;
        Ok(inner
            .raw
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect())
    }

    async fn get_raw_versioned(&self, key: &str) -> Result<Option<VersionedValue>, DatastoreError> {
        Ok(self.online()?.raw.get(key).map(|e| VersionedValue {
            value: e.value.clone(),
            mod_revision: e.mod_revision,
        }))
    }

    async fn put_raw_if(
        &self,
        key: &str,
        value: &[u8],
        precondition: Precondition,
    ) -> Result<i64, DatastoreError> {
        let mut inner = self.online()?;
        inner.check_raw(key, precondition)?;
        Ok(inner.write_raw(key, value, 0))
    }

    async fn delete_raw_if(
        &self,
        key: &str,
        precondition: Precondition,
    ) -> Result<i64, DatastoreError> {
        let mut inner = self.online()?;
        if !inner.raw.contains_key(key) {
            return Err(DatastoreError::NotFound(key.to_string()));
        }
        inner.check_raw(key, precondition)?;
        inner.raw.remove(key);
        inner.revision += 1;
        Ok(inner.revision)
    }

    async fn list_raw_versioned(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, VersionedValue)>, DatastoreError> {
        let inner = self.online()?;
        Ok(inner
            .raw
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, e)| {
                let value = VersionedValue {
                    value: e.value.clone(),
                    mod_revision: e.mod_revision,
                };
                (k.clone(), value)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
