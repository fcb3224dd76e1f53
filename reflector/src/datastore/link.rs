//! The running side of datastore mode: the etcd store and its [`Syncer`],
//! the connection state the API and the metrics report, the loop that
//! applies every new snapshot, and the status writer.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bgp_speaker::speaker::{NeighborState, NeighborStatus};
use reflex_datastore::Snapshot;
use reflex_datastore::backoff::Backoff;
use reflex_datastore::error::DatastoreError;
use reflex_datastore::model::Kind;
use reflex_datastore::store::etcd::EtcdConfig;
use reflex_datastore::store::{AnyStore, Datastore, LeaseId};
use reflex_datastore::syncer::{SyncStatus, Syncer, SyncerConfig};

use super::{DatastoreSettings, PeerStatus, peer_status_key, peer_status_prefix};
use crate::daemon::Shared;

/// The kinds the peerings are computed from.
pub const KINDS: [Kind; 3] = [Kind::Node, Kind::BgpPeer, Kind::BgpConfiguration];

/// How long changes are gathered before they are applied (a burst of writes
/// becomes one diff).
const COALESCE: Duration = Duration::from_millis(20);

/// What the API and the metrics report about the datastore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    /// `connecting`, `connected` or `disconnected`.
    pub state: &'static str,
    /// Since when (the daemon's clock).
    pub since: Instant,
    /// The last error, while not connected.
    pub error: Option<String>,
    /// The revision of the last snapshot applied.
    pub revision: i64,
    /// Neighbours derived from the datastore.
    pub peerings: usize,
    /// Why the last snapshot could not be applied (our Node missing...).
    pub derive_error: Option<String>,
    /// Peerings left out of the last derivation, and other notes.
    pub notes: Vec<String>,
}

/// Counters of the link.
#[derive(Debug, Default)]
pub struct LinkCounters {
    /// Snapshots applied.
    pub updates_applied: AtomicU64,
    /// Times the connection was lost.
    pub disconnects: AtomicU64,
    /// Status keys written or deleted.
    pub status_writes: AtomicU64,
    /// Status writes that failed.
    pub status_write_failures: AtomicU64,
}

/// The datastore behind a running reflector.
#[derive(Debug)]
pub struct DatastoreLink {
    /// The settings.
    pub settings: DatastoreSettings,
    store: AnyStore,
    syncer: Syncer,
    state: Mutex<LinkState>,
    /// Counters for the metrics.
    pub counters: LinkCounters,
    lease: Mutex<Option<LeaseId>>,
}

fn describe(status: &SyncStatus) -> (&'static str, Option<String>) {
    match status {
        SyncStatus::Connecting => ("connecting", None),
        SyncStatus::Connected { .. } => ("connected", None),
        SyncStatus::Disconnected { error, .. } => ("disconnected", Some(error.clone())),
    }
}

/// One attempt to connect to etcd. Without the `datastore` feature there is
/// no etcd client in the binary and this fails (settings resolution
/// refuses datastore mode before it gets here, with
/// [`super::settings::SettingsError::NotBuilt`]).
pub async fn connect_etcd(config: EtcdConfig) -> Result<AnyStore, DatastoreError> {
    #[cfg(feature = "datastore")]
    {
        reflex_datastore::store::etcd::EtcdStore::connect(config)
            .await
            .map(AnyStore::Etcd)
    }
    #[cfg(not(feature = "datastore"))]
    {
        let _ = config;
        Err(DatastoreError::Config(
            "bgp-reflector was built without the `datastore` feature".into(),
        ))
    }
}

impl DatastoreLink {
    /// Connect to etcd (retrying with back-off while it refuses) and start
    /// following the resources.
    pub async fn connect(settings: DatastoreSettings) -> DatastoreLink {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        let store = loop {
            match connect_etcd(settings.etcd.clone()).await {
                Ok(store) => break store,
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(
                        endpoints = ?settings.etcd.endpoints,
                        %error,
                        retry_in = ?delay,
                        "cannot connect to etcd"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        };
        DatastoreLink::with_store(settings, store)
    }

    /// Follow the resources of `store` (etcd, or in memory for tests and
    /// embedding).
    pub fn with_store(settings: DatastoreSettings, store: AnyStore) -> DatastoreLink {
        let syncer = Syncer::start(
            Arc::new(store.clone()),
            SyncerConfig {
                kinds: KINDS.to_vec(),
                initial_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(5),
                ..SyncerConfig::default()
            },
        );
        DatastoreLink {
            settings,
            store,
            syncer,
            state: Mutex::new(LinkState {
                state: "connecting",
                since: Instant::now(),
                error: None,
                revision: 0,
                peerings: 0,
                derive_error: None,
                notes: Vec::new(),
            }),
            counters: LinkCounters::default(),
            lease: Mutex::new(None),
        }
    }

    /// The store (for the status writer and tests).
    pub fn store(&self) -> &AnyStore {
        &self.store
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.syncer.snapshot()
    }

    /// Whether the syncer is in step with etcd.
    pub fn connected(&self) -> bool {
        matches!(self.syncer.status(), SyncStatus::Connected { .. })
    }

    /// The state, for the API and metrics.
    pub fn state(&self) -> LinkState {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record the outcome of applying a snapshot.
    pub fn record_applied(&self, revision: i64, result: Result<(usize, Vec<String>), String>) {
        let mut s = self.lock();
        s.revision = revision;
        match result {
            Ok((peerings, notes)) => {
                s.peerings = peerings;
                s.notes = notes;
                s.derive_error = None;
            }
            Err(error) => s.derive_error = Some(error),
        }
        self.counters
            .updates_applied
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Wait until the syncer is connected and `ready` accepts a snapshot;
    /// log why not every few seconds.
    pub async fn wait_ready<T, E: std::fmt::Display>(
        &self,
        mut ready: impl FnMut(&Snapshot) -> Result<T, E>,
    ) -> T {
        let mut snapshots = self.syncer.snapshots();
        let mut status = self.syncer.status_updates();
        let started = Instant::now();
        let mut last_log = started;
        loop {
            let why = match self.syncer.status() {
                SyncStatus::Connected { .. } => match ready(&self.syncer.snapshot()) {
                    Ok(value) => {
                        self.on_status(&self.syncer.status());
                        return value;
                    }
                    Err(error) => error.to_string(),
                },
                SyncStatus::Connecting => "connecting to etcd".to_string(),
                SyncStatus::Disconnected { error, .. } => format!("etcd unreachable: {error}"),
            };
            // Quiet for the first second (the usual start), then every 5 s.
            let due = if last_log == started {
                Duration::from_secs(1)
            } else {
                Duration::from_secs(5)
            };
            if last_log.elapsed() >= due {
                tracing::warn!(node = %self.settings.node, endpoints = ?self.settings.etcd.endpoints, "waiting for the datastore: {why}");
                last_log = Instant::now();
            }
            tokio::select! {
                _ = snapshots.changed() => {}
                _ = status.changed() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Note a new syncer status, logging transitions.
    fn on_status(&self, status: &SyncStatus) {
        let (state, error) = describe(status);
        let mut s = self.lock();
        let previous = s.state;
        s.error = error.clone();
        if previous == state {
            if let Some(error) = &error {
                tracing::debug!(%error, "datastore still unreachable; retrying");
            }
            return;
        }
        s.state = state;
        s.since = Instant::now();
        drop(s);
        match status {
            SyncStatus::Connected { revision } if previous == "disconnected" => tracing::info!(
                revision,
                "datastore reachable again: resynchronised; applying what changed meanwhile"
            ),
            SyncStatus::Connected { revision } => {
                tracing::info!(revision, "datastore connected")
            }
            SyncStatus::Disconnected { error, .. } => {
                self.counters.disconnects.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    %error,
                    "datastore unreachable: running on the last known peers; retrying with back-off"
                )
            }
            SyncStatus::Connecting => {}
        }
    }

    /// Follow the syncer until it stops: apply each new snapshot (while
    /// connected) through [`Shared::datastore_changed`], log and record
    /// connection changes.
    pub async fn follow(self: Arc<Self>, shared: Arc<Shared>) {
        let mut snapshots = self.syncer.snapshots();
        let mut status = self.syncer.status_updates();
        snapshots.mark_unchanged();
        loop {
            let apply = tokio::select! {
                changed = snapshots.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    true
                }
                changed = status.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let now = status.borrow_and_update().clone();
                    self.on_status(&now);
                    // Back in sync: apply what changed while away (a no-op
                    // diff when nothing did).
                    matches!(now, SyncStatus::Connected { .. })
                }
            };
            if !apply || !self.connected() {
                continue;
            }
            tokio::time::sleep(COALESCE).await;
            let snapshot = snapshots.borrow_and_update().clone();
            shared.datastore_changed(&snapshot).await;
        }
    }

    /// Write every neighbour's status under our lease until the speaker
    /// stops; renew the lease every third of its TTL.
    pub async fn write_status(self: Arc<Self>, shared: Arc<Shared>) {
        let interval = (self.settings.status_ttl / 3).max(Duration::from_secs(1));
        let mut writer = StatusWriter {
            link: &self,
            written: BTreeMap::new(),
            clean: false,
        };
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Ok(neighbors) = shared.speaker.neighbors().await else {
                return;
            };
            if let Err(error) = writer.round(&neighbors).await {
                self.counters
                    .status_write_failures
                    .fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%error, "status not written; retrying at the next refresh");
            }
        }
    }

    /// Revoke the status lease, removing our status keys.
    pub async fn revoke_status(&self) {
        let lease = self.lease.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(lease) = lease {
            let revoke = self.store.revoke(lease);
            if let Ok(Err(error)) = tokio::time::timeout(Duration::from_secs(2), revoke).await {
                tracing::debug!(%error, "status lease not revoked; it expires on its own");
            }
        }
    }
}

/// The status of a neighbour now.
pub fn peer_status(n: &NeighborStatus, reflector: &str, now: SystemTime) -> PeerStatus {
    let since = now.checked_sub(n.since).unwrap_or(UNIX_EPOCH);
    PeerStatus {
        address: n.address,
        asn: n.peer_as,
        state: match n.state {
            NeighborState::Established => "established",
            NeighborState::Down => "down",
        }
        .to_string(),
        state_since: since.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        prefixes_received: n.prefixes_received,
        prefixes_sent: n.prefixes_sent,
        last_error: n.last_error.clone(),
        reflector: reflector.to_string(),
    }
}

/// Whether a written status still says the same (the start time may move
/// by a second or two between two readings of a steady session).
fn same(a: &PeerStatus, b: &PeerStatus) -> bool {
    a.state_since.abs_diff(b.state_since) <= 2
        && PeerStatus {
            state_since: b.state_since,
            ..a.clone()
        } == *b
}

struct StatusWriter<'a> {
    link: &'a DatastoreLink,
    written: BTreeMap<IpAddr, PeerStatus>,
    /// Keys of earlier runs (or lost leases) have been removed.
    clean: bool,
}

impl StatusWriter<'_> {
    async fn round(&mut self, neighbors: &[NeighborStatus]) -> Result<(), DatastoreError> {
        let store = &self.link.store;
        let node = &self.link.settings.node;
        let lease = self.lease().await?;
        let now = SystemTime::now();
        let current: BTreeMap<IpAddr, PeerStatus> = neighbors
            .iter()
            .map(|n| (n.address, peer_status(n, node, now)))
            .collect();
        if !self.clean {
            for (key, _) in store.list_raw(&peer_status_prefix(node)).await? {
                let stale = key
                    .rsplit('/')
                    .next()
                    .and_then(|a| a.parse::<IpAddr>().ok())
                    .is_none_or(|a| !current.contains_key(&a));
                if stale {
                    store.delete_raw(&key).await?;
                }
            }
            self.clean = true;
        }
        for (address, status) in &current {
            if self.written.get(address).is_some_and(|w| same(w, status)) {
                continue;
            }
            let value = serde_json::to_vec(status).unwrap_or_default();
            match store
                .put_raw(&peer_status_key(node, *address), &value, Some(lease))
                .await
            {
                Ok(()) => {}
                Err(error @ DatastoreError::LeaseNotFound(_)) => {
                    self.forget_lease();
                    return Err(error);
                }
                Err(error) => return Err(error),
            }
            self.count();
            self.written.insert(*address, status.clone());
        }
        let gone: Vec<IpAddr> = self
            .written
            .keys()
            .filter(|a| !current.contains_key(a))
            .copied()
            .collect();
        for address in gone {
            store.delete_raw(&peer_status_key(node, address)).await?;
            self.count();
            self.written.remove(&address);
        }
        Ok(())
    }

    fn count(&self) {
        self.link
            .counters
            .status_writes
            .fetch_add(1, Ordering::Relaxed);
    }

    fn forget_lease(&mut self) {
        *self.link.lease.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.written.clear();
        self.clean = false;
    }

    /// The lease, renewed, or a new one (after which everything is written
    /// again).
    async fn lease(&mut self) -> Result<LeaseId, DatastoreError> {
        let store = &self.link.store;
        let held = *self.link.lease.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lease) = held {
            match store.keep_alive(lease).await {
                Ok(_) => return Ok(lease),
                Err(DatastoreError::LeaseNotFound(_)) => {
                    tracing::info!(lease, "status lease expired; writing the status again");
                    self.forget_lease();
                }
                Err(error) => return Err(error),
            }
        }
        let lease = store.grant_lease(self.link.settings.status_ttl).await?;
        *self.link.lease.lock().unwrap_or_else(|e| e.into_inner()) = Some(lease);
        self.written.clear();
        self.clean = false;
        Ok(lease)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(since: u64, prefixes: u64) -> PeerStatus {
        PeerStatus {
            address: "10.0.0.2".parse().unwrap(),
            asn: Some(64512),
            state: "established".into(),
            state_since: since,
            prefixes_received: prefixes,
            prefixes_sent: Some(3),
            last_error: None,
            reflector: "rr1".into(),
        }
    }

    #[test]
    fn a_steady_session_is_not_written_again() {
        assert!(same(&status(1000, 5), &status(1001, 5)));
        assert!(!same(&status(1000, 5), &status(1000, 6)));
        assert!(!same(&status(1000, 5), &status(1100, 5)));
    }
}
