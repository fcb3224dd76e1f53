//! A watch on one kind that survives etcd: it lists, watches from the listed
//! revision, and on compaction ("required revision has been compacted") or a lost
//! connection lists again and reports the difference from what it had, so no change
//! is missed and none is reported twice.

use etcd_client::{EventType, WatchOptions};
use futures::StreamExt;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::{EtcdStore, decode, map_err};
use crate::backoff::Backoff;
use crate::error::DatastoreError;
use crate::model::{Kind, ResourceKey};
use crate::store::diff::{Cache, diff};
use crate::store::{Datastore, Listing, WatchEvent, WatchStream};

/// Events buffered between the watcher task and a slow consumer.
const BUFFER: usize = 256;

/// The consumer dropped the stream.
struct Closed;

struct Watcher {
    store: EtcdStore,
    kind: Kind,
    /// What the consumer has been told: every key with its resource.
    cache: Cache,
    /// The first revision not yet seen.
    next_rev: i64,
    tx: mpsc::Sender<Result<WatchEvent, DatastoreError>>,
    backoff: Backoff,
    /// `Some(true)` after `InSync`, `Some(false)` after `Disconnected`.
    up: Option<bool>,
}

/// Starts a watch of `kind` after `from_revision` (0: from nothing, so the first
/// events are the current resources). The state at `from_revision` is read now;
/// the etcd watch itself starts when the stream is first polled.
pub(super) async fn watch(
    store: EtcdStore,
    kind: Kind,
    from_revision: i64,
) -> Result<WatchStream, DatastoreError> {
    let (cache, resync_first) = if from_revision > 0 {
        match store.list_at(kind, Some(from_revision)).await {
            Ok(seed) => (diff(&Cache::new(), seed.resources, from_revision).1, false),
            Err(DatastoreError::Compacted { .. }) => {
                return Err(DatastoreError::Compacted {
                    requested: from_revision,
                    compacted: 0,
                });
            }
            Err(e) => return Err(e),
        }
    } else {
        (Cache::new(), true)
    };
    Ok(start(store, kind, cache, from_revision, resync_first))
}

/// Starts a watch that knows `listing` (as from [`EtcdStore::list_at`]).
pub(super) fn watch_from_listing(store: EtcdStore, kind: Kind, listing: &Listing) -> WatchStream {
    let cache = diff(&Cache::new(), listing.resources.clone(), listing.revision).1;
    start(store, kind, cache, listing.revision, false)
}

/// The stream; the watcher task is spawned on its first poll.
fn start(
    store: EtcdStore,
    kind: Kind,
    cache: Cache,
    from_revision: i64,
    resync_first: bool,
) -> WatchStream {
    let (initial, max) = store.config().retry_backoff;
    let begin = async move {
        let (tx, rx) = mpsc::channel(BUFFER);
        let watcher = Watcher {
            store,
            kind,
            cache,
            next_rev: from_revision + 1,
            tx,
            backoff: Backoff::new(initial, max),
            up: None,
        };
        tokio::spawn(watcher.run(resync_first));
        futures::stream::unfold(rx, |mut rx| async move {
            let item = rx.recv().await?;
            Some((item, rx))
        })
    };
    futures::stream::once(begin).flatten().boxed()
}

impl Watcher {
    async fn run(mut self, mut resync: bool) {
        loop {
            if resync && self.resync().await.is_err() {
                return;
            }
            resync = true;
            if self.follow().await.is_err() {
                return;
            }
        }
    }

    async fn send(&self, event: WatchEvent) -> Result<(), Closed> {
        self.tx.send(Ok(event)).await.map_err(|_| Closed)
    }

    async fn in_sync(&mut self, revision: i64) -> Result<(), Closed> {
        self.backoff.reset();
        if self.up != Some(true) {
            self.up = Some(true);
            self.send(WatchEvent::InSync { revision }).await?;
        }
        Ok(())
    }

    /// Reports the outage (once per outage) and waits before the next attempt.
    async fn down(&mut self, error: DatastoreError) -> Result<(), Closed> {
        if self.up != Some(false) {
            warn!(kind = %self.kind, %error, "etcd watch lost; retrying");
            self.up = Some(false);
            self.send(WatchEvent::Disconnected {
                error: error.to_string(),
            })
            .await?;
        }
        let delay = self.backoff.next_delay();
        tokio::select! {
            _ = tokio::time::sleep(delay) => Ok(()),
            _ = self.tx.closed() => Err(Closed),
        }
    }

    /// Lists until it succeeds, then reports the difference from the cache.
    async fn resync(&mut self) -> Result<(), Closed> {
        loop {
            match self.store.list(self.kind).await {
                Ok(listing) => {
                    let (events, cache) = diff(&self.cache, listing.resources, listing.revision);
                    debug!(kind = %self.kind, changes = events.len(), revision = listing.revision, "relisted");
                    for e in events {
                        self.send(e).await?;
                    }
                    self.cache = cache;
                    self.next_rev = listing.revision + 1;
                    return self.in_sync(listing.revision).await;
                }
                Err(e) => self.down(e).await?,
            }
        }
    }

    /// Follows an etcd watch until it fails or is cancelled.
    async fn follow(&mut self) -> Result<(), Closed> {
        let opts = WatchOptions::new()
            .with_prefix()
            .with_start_revision(self.next_rev);
        let mut client = self.store.client();
        let mut stream = match client.watch(self.kind.prefix(), Some(opts)).await {
            Ok(s) => s,
            Err(e) => return self.down(map_err(e)).await,
        };
        loop {
            let message = tokio::select! {
                m = stream.message() => m,
                _ = self.tx.closed() => return Err(Closed),
            };
            let resp = match message {
                Ok(Some(resp)) => resp,
                Ok(None) => {
                    return self
                        .down(DatastoreError::Unavailable("watch stream ended".into()))
                        .await;
                }
                Err(e) => return self.down(map_err(e)).await,
            };
            if resp.compact_revision() > 0 {
                warn!(kind = %self.kind, from = self.next_rev, compacted = resp.compact_revision(),
                      "watch revision compacted; relisting");
                return Ok(());
            }
            if resp.canceled() {
                let reason = resp.cancel_reason().to_string();
                return self
                    .down(DatastoreError::Etcd(format!("watch cancelled: {reason}")))
                    .await;
            }
            if resp.created() {
                self.in_sync(self.next_rev - 1).await?;
            }
            for event in resp.events() {
                let Some(kv) = event.kv() else { continue };
                let mod_rev = kv.mod_revision();
                self.next_rev = self.next_rev.max(mod_rev + 1);
                let path = String::from_utf8_lossy(kv.key());
                let Ok(key) = ResourceKey::parse(&path) else {
                    continue;
                };
                let put = match event.event_type() {
                    EventType::Put => match decode(kv.key(), kv.value(), mod_rev) {
                        Ok(r) => Some(r),
                        Err(e) => {
                            warn!(error = %e, "undecodable value; treating it as deleted");
                            None
                        }
                    },
                    EventType::Delete => None,
                };
                match put {
                    Some(r) => {
                        self.cache.insert(key, r.clone());
                        self.send(WatchEvent::Put(r)).await?;
                    }
                    None => {
                        if self.cache.remove(&key).is_some() {
                            self.send(WatchEvent::Delete {
                                key,
                                revision: mod_rev,
                            })
                            .await?;
                        }
                    }
                }
            }
        }
    }
}
