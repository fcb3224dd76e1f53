//! [`Syncer`]: keeps a [`Snapshot`] of every kind in step with a [`Datastore`] and
//! hands users typed changes without ever waiting for them.
//!
//! - The snapshot is published through a `tokio::sync::watch` channel: readers
//!   always get the latest whole snapshot, and the syncer never waits for them.
//! - Changes go out on a `tokio::sync::broadcast` channel: a receiver that falls
//!   more than [`SyncerConfig::change_capacity`] behind gets
//!   `RecvError::Lagged` and should re-read the snapshot; the syncer never blocks.
//! - When the datastore is unreachable the syncer keeps serving the last snapshot,
//!   reports [`SyncStatus::Disconnected`], retries each kind with exponential
//!   backoff, and on return relists and applies only the differences, so each
//!   missed change is reported exactly once.
//!
//! This is the role of Calico's `felixsyncer`/`bgpsyncer` (libcalico-go
//! `lib/backend/syncersv1`) with the watch semantics of its `watchersyncer`.

mod follow;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::model::{Kind, Resource, ResourceKey};
use crate::snapshot::Snapshot;
use crate::store::diff::{Cache, diff};
use crate::store::{Datastore, WatchEvent};
use follow::Msg;

/// Syncer settings.
#[derive(Clone, Debug)]
pub struct SyncerConfig {
    /// The kinds to follow.
    pub kinds: Vec<Kind>,
    /// First delay before retrying an unreachable datastore.
    pub initial_backoff: Duration,
    /// Longest delay between retries.
    pub max_backoff: Duration,
    /// Changes a slow receiver may fall behind before it lags.
    pub change_capacity: usize,
}

impl Default for SyncerConfig {
    fn default() -> Self {
        SyncerConfig {
            kinds: Kind::ALL.to_vec(),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            change_capacity: 4096,
        }
    }
}

/// Whether the syncer is in step with the datastore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncStatus {
    /// Started, not yet in sync.
    Connecting,
    /// Every kind is listed and watched; the snapshot is current.
    Connected {
        /// The snapshot's revision.
        revision: i64,
    },
    /// The datastore is unreachable; the snapshot is the last one known.
    Disconnected {
        /// When the outage started.
        since: SystemTime,
        /// The last error seen.
        error: String,
    },
}

/// A change to the snapshot.
#[derive(Clone, Debug, PartialEq)]
pub enum SyncChange {
    /// A resource was created or updated.
    Upsert {
        /// The new resource.
        resource: Arc<Resource>,
        /// The resource it replaced, if any.
        previous: Option<Arc<Resource>>,
    },
    /// A resource was deleted.
    Delete {
        /// Its key.
        key: ResourceKey,
        /// The resource as it last was.
        previous: Arc<Resource>,
    },
}

impl SyncChange {
    /// The kind of the changed resource.
    pub fn kind(&self) -> Kind {
        match self {
            SyncChange::Upsert { resource, .. } => resource.kind(),
            SyncChange::Delete { key, .. } => key.kind,
        }
    }
}

/// A running syncer. Dropping it stops it.
#[derive(Debug)]
pub struct Syncer {
    snapshot: watch::Receiver<Arc<Snapshot>>,
    status: watch::Receiver<SyncStatus>,
    changes: broadcast::Sender<SyncChange>,
    task: JoinHandle<()>,
}

impl Syncer {
    /// Starts following `store` (from a tokio runtime).
    pub fn start<D: Datastore>(store: Arc<D>, config: SyncerConfig) -> Syncer {
        let (snap_tx, snapshot) = watch::channel(Arc::new(Snapshot::new()));
        let (status_tx, status) = watch::channel(SyncStatus::Connecting);
        let (changes, _) = broadcast::channel(config.change_capacity.max(1));
        let (tx, rx) = mpsc::channel(1024);
        let mut tasks = JoinSet::new();
        for &kind in &config.kinds {
            tasks.spawn(follow::follow(
                store.clone(),
                kind,
                config.clone(),
                tx.clone(),
            ));
        }
        let core = Core {
            snapshot: Snapshot::new(),
            kinds: config
                .kinds
                .iter()
                .map(|k| (*k, KindState::default()))
                .collect(),
            snap_tx,
            status_tx,
            changes: changes.clone(),
        };
        let task = tokio::spawn(core.run(rx, tasks));
        Syncer {
            snapshot,
            status,
            changes,
            task,
        }
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.borrow().clone()
    }

    /// A receiver of every new snapshot.
    pub fn snapshots(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshot.clone()
    }

    /// The current status.
    pub fn status(&self) -> SyncStatus {
        self.status.borrow().clone()
    }

    /// A receiver of status changes.
    pub fn status_updates(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// A receiver of changes from now on.
    pub fn changes(&self) -> broadcast::Receiver<SyncChange> {
        self.changes.subscribe()
    }

    /// Waits until the status satisfies `pred` (for example connected).
    pub async fn wait_for(&self, pred: impl Fn(&SyncStatus) -> bool) -> SyncStatus {
        let mut rx = self.status.clone();
        match rx.wait_for(|s| pred(s)).await {
            Ok(s) => s.clone(),
            Err(_) => self.status(),
        }
    }

    /// Waits until connected, and returns the snapshot then.
    pub async fn wait_connected(&self) -> Arc<Snapshot> {
        self.wait_for(|s| matches!(s, SyncStatus::Connected { .. }))
            .await;
        self.snapshot()
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug, Default)]
struct KindState {
    listed: bool,
    up: bool,
    down: Option<(SystemTime, String)>,
}

/// The syncer's task: the only owner of the mutable snapshot.
struct Core {
    snapshot: Snapshot,
    kinds: BTreeMap<Kind, KindState>,
    snap_tx: watch::Sender<Arc<Snapshot>>,
    status_tx: watch::Sender<SyncStatus>,
    changes: broadcast::Sender<SyncChange>,
}

/// Messages applied before one snapshot is published.
const BATCH: usize = 1024;

impl Core {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>, _tasks: JoinSet<()>) {
        while let Some(first) = rx.recv().await {
            let mut changed = self.handle(first);
            for _ in 1..BATCH {
                match rx.try_recv() {
                    Ok(msg) => changed |= self.handle(msg),
                    Err(_) => break,
                }
            }
            if changed {
                self.snap_tx.send_replace(Arc::new(self.snapshot.clone()));
            }
            let status = self.status();
            self.status_tx.send_if_modified(|s| {
                let differs = *s != status;
                if differs {
                    *s = status;
                }
                differs
            });
        }
    }

    fn status(&self) -> SyncStatus {
        if self.kinds.values().all(|k| k.listed && k.up) {
            return SyncStatus::Connected {
                revision: self.snapshot.revision(),
            };
        }
        match self
            .kinds
            .values()
            .filter_map(|k| k.down.as_ref())
            .min_by_key(|(since, _)| *since)
        {
            Some((since, error)) => SyncStatus::Disconnected {
                since: *since,
                error: error.clone(),
            },
            None => SyncStatus::Connecting,
        }
    }

    /// Applies a message; returns whether the snapshot changed.
    fn handle(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Listed(kind, listing) => {
                let old: Cache = self
                    .snapshot
                    .of_kind(kind)
                    .filter_map(|r| Some((r.key().ok()?, r.clone())))
                    .collect();
                let (events, _) = diff(&old, listing.resources, listing.revision);
                let mut changed = false;
                for e in events {
                    changed |= self.apply(e);
                }
                self.snapshot.set_revision(listing.revision);
                self.kinds.entry(kind).or_default().listed = true;
                changed
            }
            Msg::Event(e) => self.apply(e),
            Msg::Up(kind, revision) => {
                let k = self.kinds.entry(kind).or_default();
                k.up = true;
                k.down = None;
                self.snapshot.set_revision(revision);
                false
            }
            Msg::Down(kind, error) => {
                let k = self.kinds.entry(kind).or_default();
                k.up = false;
                let since = k.down.take().map_or_else(SystemTime::now, |(s, _)| s);
                k.down = Some((since, error));
                false
            }
        }
    }

    fn apply(&mut self, event: WatchEvent) -> bool {
        let change = match event {
            WatchEvent::Put(resource) => {
                if let Ok(key) = resource.key() {
                    // A repeat of what we have (same version) is not a change.
                    let same = self.snapshot.get(&key).is_some_and(|old| {
                        old.metadata().resource_version == resource.metadata().resource_version
                    });
                    if same {
                        return false;
                    }
                }
                let Some((resource, previous)) = self.snapshot.upsert(resource) else {
                    return false;
                };
                SyncChange::Upsert { resource, previous }
            }
            WatchEvent::Delete { key, revision } => {
                self.snapshot.set_revision(revision);
                let Some(previous) = self.snapshot.remove(&key) else {
                    return false;
                };
                SyncChange::Delete { key, previous }
            }
            WatchEvent::InSync { .. } | WatchEvent::Disconnected { .. } => return false,
        };
        // No receivers is fine: changes are optional, the snapshot is not.
        let _ = self.changes.send(change);
        true
    }
}
