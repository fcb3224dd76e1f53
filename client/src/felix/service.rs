//! Felix as the daemon runs it (`[felix]` in `client.toml`): where its
//! input comes from, when it syncs, and what it shows.
//!
//! - **Datastore mode**: a [`Syncer`] follows WorkloadEndpoints, Profiles,
//!   GlobalNetworkPolicies and NetworkPolicies in etcd (endpoints of every
//!   node are read, as Calico's Felix does, because rule selectors may
//!   pick endpoints of other nodes; only this node's, `spec.node`, are
//!   programmed). Once in sync, each change of the snapshot is applied
//!   with [`Felix::update`]; a burst is coalesced (the first change waits
//!   [`ServiceConfig::coalesce`] for the rest). While etcd is unreachable
//!   the syncer keeps the last snapshot, so the dataplane stays as it is.
//!   The status keys are written by a [`Reporter`] (see [`super::status`]).
//! - **File mode**: the file of resources is read at start and again on
//!   [`FelixService::reload`] (SIGHUP, `POST /api/v1/reload`); a file that
//!   cannot be read or parsed leaves the dataplane as it is.
//!
//! [`FelixService::status`] is what `GET /api/v1/felix` and the
//! `reflex_client_felix_*` metrics show.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reflex_datastore::Snapshot;
use reflex_datastore::backoff::Backoff;
use reflex_datastore::model::Kind;
use reflex_datastore::store::etcd::{EtcdConfig, EtcdStore};
use reflex_datastore::syncer::{SyncStatus, Syncer, SyncerConfig};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::input::FelixInput;
use super::status::{self, Reporter, ReporterConfig};
use super::{Felix, FelixConfig, FelixError, SyncReport};

/// Where the resources come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// etcd, Calico's layout.
    Datastore(Box<EtcdConfig>),
    /// A YAML or JSON file of resources.
    File(PathBuf),
}

/// How the service runs.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Felix itself.
    pub felix: FelixConfig,
    /// The input.
    pub source: Source,
    /// Write endpoint status keys (datastore mode).
    pub report_endpoints: bool,
    /// Remove routes, the table and settings at a clean stop.
    pub cleanup_on_stop: bool,
    /// How long a change waits for the rest of its burst.
    pub coalesce: Duration,
    /// Longest back-off between datastore retries.
    pub max_backoff: Duration,
}

/// What `GET /api/v1/felix` shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct FelixStatus {
    /// `datastore` or `file`.
    pub source: String,
    /// The file, in file mode.
    pub file: Option<String>,
    /// Datastore mode: `connecting`, `connected` or `disconnected`.
    pub datastore: Option<String>,
    /// Local endpoints with their routes in place.
    pub endpoints_programmed: usize,
    /// Local endpoints whose interface is missing or down.
    pub endpoints_pending: usize,
    /// Rules in the nftables table.
    pub rules: usize,
    /// Syncs done, and failed.
    pub syncs: u64,
    /// Syncs that failed (or inputs that could not be read).
    pub sync_errors: u64,
    /// How long the last sync took, seconds.
    pub last_sync_seconds: f64,
    /// Why the last sync (or read) failed, until one succeeds.
    pub last_error: Option<String>,
    /// What the last sync reported (bad input, rules left out).
    pub warnings: Vec<String>,
    /// The programmed interfaces.
    pub programmed: Vec<String>,
    /// The interfaces waited for.
    pub pending: Vec<String>,
    /// The status key is written on a live lease (datastore mode).
    pub status_reported: bool,
    /// Endpoint status keys written.
    pub endpoint_keys: usize,
}

type Shared = Arc<Mutex<FelixStatus>>;

enum Request {
    Reload(oneshot::Sender<Result<(), FelixError>>),
    Stop(oneshot::Sender<Result<(), FelixError>>),
}

/// The running service.
#[derive(Debug)]
pub struct FelixService {
    status: Shared,
    requests: mpsc::Sender<Request>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Request::Reload(_) => "Reload",
            Request::Stop(_) => "Stop",
        })
    }
}

impl FelixService {
    /// Start Felix and its input (on the current tokio runtime).
    pub fn start(config: ServiceConfig) -> FelixService {
        let status = Arc::new(Mutex::new(FelixStatus {
            source: match &config.source {
                Source::Datastore(_) => "datastore".into(),
                Source::File(_) => "file".into(),
            },
            file: match &config.source {
                Source::File(path) => Some(path.display().to_string()),
                Source::Datastore(_) => None,
            },
            datastore: matches!(config.source, Source::Datastore(_)).then(|| "connecting".into()),
            ..FelixStatus::default()
        }));
        let (requests, rx) = mpsc::channel(4);
        let task = tokio::spawn(run(config, status.clone(), rx));
        FelixService {
            status,
            requests,
            task,
        }
    }

    /// What it shows.
    pub fn status(&self) -> FelixStatus {
        self.status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Read the file again (file mode; nothing to do in datastore mode).
    pub async fn reload(&self) -> Result<(), FelixError> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request::Reload(tx))
            .await
            .map_err(|_| FelixError::Stopped)?;
        rx.await.map_err(|_| FelixError::Stopped)?
    }

    /// Stop: the status lease is revoked, and with `cleanup_on_stop` the
    /// dataplane is removed.
    pub async fn stop(self) -> Result<(), FelixError> {
        let (tx, rx) = oneshot::channel();
        if self.requests.send(Request::Stop(tx)).await.is_err() {
            return Err(FelixError::Stopped);
        }
        let result = rx.await.map_err(|_| FelixError::Stopped)?;
        let _ = self.task.await;
        result
    }
}

fn lock(status: &Shared) -> std::sync::MutexGuard<'_, FelixStatus> {
    status.lock().unwrap_or_else(|p| p.into_inner())
}

/// Apply `input` and record the outcome.
async fn apply(felix: &Felix, input: FelixInput, status: &Shared) -> Option<SyncReport> {
    let start = Instant::now();
    let result = felix.update(input).await;
    let mut s = lock(status);
    s.syncs += 1;
    s.last_sync_seconds = start.elapsed().as_secs_f64();
    match result {
        Ok(report) => {
            s.endpoints_programmed = report.programmed.len();
            s.endpoints_pending = report.pending.len();
            s.rules = report.rules;
            s.warnings.clone_from(&report.warnings);
            s.programmed.clone_from(&report.programmed);
            s.pending.clone_from(&report.pending);
            s.last_error = None;
            drop(s);
            for warning in &report.warnings {
                tracing::warn!(%warning, "felix input");
            }
            Some(report)
        }
        Err(e) => {
            tracing::error!(error = %e, "felix sync failed");
            s.sync_errors += 1;
            s.last_error = Some(e.to_string());
            None
        }
    }
}

async fn run(config: ServiceConfig, status: Shared, mut requests: mpsc::Receiver<Request>) {
    let cleanup = config.cleanup_on_stop;
    let felix = Felix::spawn(config.felix.clone());
    let stop = match config.source.clone() {
        Source::File(path) => run_file(&felix, &path, &status, &mut requests).await,
        Source::Datastore(etcd) => {
            run_datastore(&felix, &config, *etcd, &status, &mut requests).await
        }
    };
    let result = felix.stop(cleanup).await;
    if let Some(reply) = stop {
        let _ = reply.send(result);
    }
}

fn load(path: &std::path::Path, status: &Shared) -> Result<FelixInput, FelixError> {
    FelixInput::from_file(path).map_err(|e| {
        tracing::error!(error = %e, "felix input not read: the dataplane is kept as it is");
        let mut s = lock(status);
        s.sync_errors += 1;
        s.last_error = Some(e.to_string());
        FelixError::Input(e)
    })
}

type StopReply = Option<oneshot::Sender<Result<(), FelixError>>>;

async fn run_file(
    felix: &Felix,
    path: &std::path::Path,
    status: &Shared,
    requests: &mut mpsc::Receiver<Request>,
) -> StopReply {
    if let Ok(input) = load(path, status) {
        apply(felix, input, status).await;
    }
    loop {
        match requests.recv().await {
            None => return None,
            Some(Request::Stop(reply)) => return Some(reply),
            Some(Request::Reload(reply)) => {
                let result = match load(path, status) {
                    Ok(input) => match apply(felix, input, status).await {
                        Some(_) => Ok(()),
                        None => Err(FelixError::Start(
                            lock(status).last_error.clone().unwrap_or_default(),
                        )),
                    },
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
        }
    }
}

/// The kinds Felix follows.
pub const KINDS: [Kind; 4] = [
    Kind::WorkloadEndpoint,
    Kind::Profile,
    Kind::GlobalNetworkPolicy,
    Kind::NetworkPolicy,
];

/// Felix's input in a snapshot.
pub fn input_of(snapshot: &Snapshot) -> FelixInput {
    FelixInput::from_resources(
        KINDS
            .iter()
            .flat_map(|kind| snapshot.of_kind(*kind).cloned()),
    )
}

/// The endpoint status keys of `input` after `report`: this node's
/// endpoints, up when programmed.
pub fn endpoint_statuses(
    node: &str,
    input: &FelixInput,
    report: &SyncReport,
) -> BTreeMap<String, String> {
    input
        .endpoints
        .iter()
        .filter(|w| w.spec.node == node && !w.spec.interface_name.is_empty())
        .filter_map(|w| {
            let key = status::endpoint_key(node, w)?;
            let up = report.programmed.contains(&w.spec.interface_name);
            Some((key, status::endpoint_value(up)))
        })
        .collect()
}

async fn run_datastore(
    felix: &Felix,
    config: &ServiceConfig,
    etcd: EtcdConfig,
    status: &Shared,
    requests: &mut mpsc::Receiver<Request>,
) -> StopReply {
    let node = config.felix.node.clone().unwrap_or_default();
    let mut backoff = Backoff::new(Duration::from_millis(100), config.max_backoff);
    let store = loop {
        let connect = EtcdStore::connect(etcd.clone());
        tokio::pin!(connect);
        let outcome = tokio::select! {
            store = &mut connect => store,
            request = requests.recv() => match request {
                None => return None,
                Some(Request::Stop(reply)) => return Some(reply),
                Some(Request::Reload(reply)) => {
                    let _ = reply.send(Ok(()));
                    continue;
                }
            },
        };
        match outcome {
            Ok(store) => break store,
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, retry_in = ?delay, "felix cannot connect to the datastore");
                lock(status).last_error = Some(e.to_string());
                tokio::time::sleep(delay).await;
            }
        }
    };
    let syncer = Syncer::start(
        Arc::new(store.clone()),
        SyncerConfig {
            kinds: KINDS.to_vec(),
            initial_backoff: Duration::from_millis(100),
            max_backoff: config.max_backoff,
            ..SyncerConfig::default()
        },
    );
    let reporter = Reporter::start(
        store,
        ReporterConfig {
            node: node.clone(),
            ttl: status::STATUS_TTL,
            refresh: status::STATUS_REFRESH,
            started: Instant::now(),
        },
    );
    let mut statuses = syncer.status_updates();
    let mut snapshots = syncer.snapshots();
    let mut connected = false;
    let mut due: Option<tokio::time::Instant> = None;
    let mut applied_revision: Option<i64> = None;
    let stop = loop {
        let wait = async move {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = statuses.changed() => {
                if changed.is_err() {
                    break None;
                }
                let now = statuses.borrow_and_update().clone();
                let was = connected;
                connected = matches!(now, SyncStatus::Connected { .. });
                lock(status).datastore = Some(match &now {
                    SyncStatus::Connecting => "connecting".into(),
                    SyncStatus::Connected { .. } => "connected".into(),
                    SyncStatus::Disconnected { .. } => "disconnected".into(),
                });
                match &now {
                    SyncStatus::Disconnected { error, .. } if was => tracing::warn!(
                        %error,
                        "felix: datastore unreachable, the dataplane keeps the last known state"
                    ),
                    SyncStatus::Connected { revision } if !was => {
                        tracing::info!(revision, "felix: datastore in sync");
                    }
                    _ => {}
                }
                if connected && due.is_none() {
                    due = Some(tokio::time::Instant::now() + config.coalesce);
                }
            }
            changed = snapshots.changed() => {
                if changed.is_err() {
                    break None;
                }
                snapshots.borrow_and_update();
                if due.is_none() {
                    due = Some(tokio::time::Instant::now() + config.coalesce);
                }
            }
            () = wait => {
                due = None;
                if !connected {
                    // Applied once the syncer is in sync again.
                    continue;
                }
                let snapshot = syncer.snapshot();
                if applied_revision == Some(snapshot.revision()) && snapshot.revision() != 0 {
                    continue;
                }
                let input = input_of(&snapshot);
                if let Some(report) = apply(felix, input.clone(), status).await {
                    applied_revision = Some(snapshot.revision());
                    if config.report_endpoints {
                        reporter.set_endpoints(endpoint_statuses(&node, &input, &report));
                    }
                }
                let reported = reporter.state();
                let mut s = lock(status);
                s.status_reported = reported.written;
                s.endpoint_keys = reported.endpoints;
            }
            request = requests.recv() => match request {
                None => break None,
                Some(Request::Stop(reply)) => break Some(reply),
                Some(Request::Reload(reply)) => {
                    let _ = reply.send(Ok(()));
                }
            },
        }
    };
    reporter.stop().await;
    drop(syncer);
    stop
}
