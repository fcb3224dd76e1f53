//! The daemon: load the configuration, start the speaker and its
//! neighbours, serve the operations API, reload on SIGHUP or
//! `POST /api/v1/reload`, and shut down cleanly.
//!
//! [`run`] does it all until its `shutdown` future completes (mini-redis
//! style, so tests run the daemon in-process on port 0). [`Daemon::start`]
//! and [`Daemon::serve`] split it, for callers that want the bound
//! addresses first.
//!
//! Shutdown closes every session with Cease / Administrative Shutdown and
//! a message (RFC 4486 section 4, RFC 9003), then stops the API.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bgp_speaker::config::SpeakerConfig;
use bgp_speaker::net::SocketError;
use bgp_speaker::speaker::{Speaker, SpeakerError, SpeakerHandle};

use crate::redundancy::{self, RedundancyWarning};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, MutexGuard, oneshot};

use crate::api;
use crate::api::types::ReloadResult;
use crate::config::router_id::{self, RouterIdSource};
use crate::config::schema::{ConfigFile, DatastoreType};
use crate::config::{
    self, Checked, DEFAULT_CONFIG, DEFAULT_CONFIG_NAME, LoadError, ReflectorConfig, Report,
};
use crate::datastore::settings::SettingsError;
use crate::datastore::{
    self, DatastoreLink, DatastoreOverrides, DatastoreSettings, DeriveError, Derived,
};
use crate::reload;
use reflex_datastore::Snapshot;
use reflex_datastore::store::AnyStore;

/// The RFC 9003 shutdown message sessions are closed with.
pub const SHUTDOWN_MESSAGE: &str = "bgp-reflector is shutting down";

/// Where the configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// [`DEFAULT_CONFIG`], compiled in.
    Embedded,
    /// A file, read again on every reload.
    File(PathBuf),
    /// A string (tests, embedding); reloads re-read the same text.
    Text {
        /// Name for messages.
        name: String,
        /// The TOML.
        text: String,
    },
}

impl ConfigSource {
    /// Read and check the configuration.
    pub fn load(&self) -> Result<Checked, LoadError> {
        match self {
            ConfigSource::Embedded => {
                config::parse(DEFAULT_CONFIG_NAME, DEFAULT_CONFIG).map_err(LoadError::Invalid)
            }
            ConfigSource::File(path) => config::load(path),
            ConfigSource::Text { name, text } => {
                config::parse(name, text).map_err(LoadError::Invalid)
            }
        }
    }

    /// Its name in messages.
    pub fn name(&self) -> String {
        match self {
            ConfigSource::Embedded => DEFAULT_CONFIG_NAME.to_string(),
            ConfigSource::File(path) => path.display().to_string(),
            ConfigSource::Text { name, .. } => name.clone(),
        }
    }
}

/// Command-line settings that win over the file's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Listen here instead of `[global] listen` (when not empty).
    pub listen: Vec<SocketAddr>,
    /// The API's address instead of `[api] listen`.
    pub api: Option<SocketAddr>,
    /// The router ID instead of `[global] router_id`.
    pub router_id: Option<Ipv4Addr>,
    /// Datastore settings instead of `[datastore]`'s.
    pub datastore: DatastoreOverrides,
}

/// What [`run`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonConfig {
    /// The configuration.
    pub source: ConfigSource,
    /// Command-line overrides.
    pub overrides: Overrides,
}

/// Why the daemon could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration could not be loaded.
    #[error(transparent)]
    Config(#[from] LoadError),
    /// The speaker did not start (listening sockets).
    #[error("cannot start the BGP speaker: {0}")]
    Speaker(#[source] SpeakerError),
    /// A configured neighbour was refused.
    #[error("cannot configure neighbour {address}: {source}")]
    Peer {
        /// The neighbour.
        address: IpAddr,
        /// The speaker's error.
        source: SpeakerError,
    },
    /// The API address could not be bound.
    #[error("cannot listen for the API on {addr}: {source}")]
    Api {
        /// The address.
        addr: SocketAddr,
        /// The system's error.
        source: std::io::Error,
    },
    /// The API server failed.
    #[error("the API server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// The datastore settings do not work.
    #[error("datastore: {0}")]
    Datastore(#[from] SettingsError),
}

/// A configuration, ready to run.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What to run.
    pub config: ReflectorConfig,
    /// The file's warnings.
    pub report: Report,
    /// Where the router ID came from.
    pub router_id: RouterIdSource,
    /// The file it came from (in datastore mode, the base the resources
    /// are added to).
    pub file: ConfigFile,
    /// The router ID resolved from the command line, the file or the host.
    pub resolved_id: Ipv4Addr,
}

/// Whether the datastore is used, by the command line or the file.
fn datastore_mode(file: &ConfigFile, overrides: &Overrides) -> bool {
    overrides.datastore.kind.unwrap_or(file.datastore.kind) == DatastoreType::Etcd
}

/// Load the configuration, resolve the router ID and apply the overrides.
///
/// In datastore mode the embedded default contributes its settings and the
/// `calico-node` template, not its dynamic ranges: the peers are the
/// datastore's (and a deleted node must not come back as a dynamic one).
pub fn prepare(source: &ConfigSource, overrides: &Overrides) -> Result<Prepared, LoadError> {
    let mut checked = source.load()?;
    if *source == ConfigSource::Embedded && datastore_mode(&checked.file, overrides) {
        checked.file.dynamic.clear();
        let template = &mut checked.file.datastore.template;
        template.get_or_insert_with(|| "calico-node".to_string());
    }
    let (id, from) = router_id::resolve(overrides.router_id, checked.file.global.router_id);
    let mut config = config::convert(&checked.file, id);
    apply_overrides(&mut config, overrides);
    Ok(Prepared {
        config,
        report: checked.report,
        router_id: from,
        file: checked.file,
        resolved_id: id,
    })
}

fn apply_overrides(config: &mut ReflectorConfig, overrides: &Overrides) {
    if !overrides.listen.is_empty() {
        config.speaker.listen = overrides.listen.clone();
    }
    if let Some(api) = overrides.api {
        config.api = api;
    }
}

/// `base` with the peers of `node` in `snapshot` (see [`datastore::derive()`]).
pub fn prepare_from_datastore(
    base: &Prepared,
    overrides: &Overrides,
    node: &str,
    snapshot: &Snapshot,
) -> Result<(Prepared, Derived), DeriveError> {
    let mut derived = datastore::derive(
        &base.file,
        (base.resolved_id, base.router_id),
        node,
        snapshot,
    )?;
    apply_overrides(&mut derived.config, overrides);
    let prepared = Prepared {
        config: derived.config.clone(),
        router_id: derived.router_id,
        ..base.clone()
    };
    Ok((prepared, derived))
}

/// Why a reload was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The new configuration could not be loaded; the old one stays.
    #[error("configuration not reloaded: {0}")]
    Load(#[from] LoadError),
    /// The datastore's resources do not give a configuration (our Node is
    /// missing); the old one stays.
    #[error("configuration not reloaded: {0}")]
    Datastore(#[from] DeriveError),
}

/// State shared by the run loop and the API handlers.
#[derive(Debug)]
pub struct Shared {
    /// The speaker.
    pub speaker: SpeakerHandle,
    /// When the daemon started.
    pub started: Instant,
    /// The configuration's source.
    pub source: ConfigSource,
    overrides: Overrides,
    running: Mutex<ReflectorConfig>,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    restart_pending: std::sync::Mutex<Vec<String>>,
    /// Datastore mode: the link, and the file's part of the configuration.
    datastore: Option<Arc<DatastoreLink>>,
    base: std::sync::Mutex<Option<Prepared>>,
}

impl Shared {
    /// The configuration in force (hold the guard briefly).
    pub async fn config(&self) -> MutexGuard<'_, ReflectorConfig> {
        self.running.lock().await
    }

    /// Successful and failed reloads so far.
    pub fn reload_counts(&self) -> (u64, u64) {
        (
            self.reloads_ok.load(Ordering::Relaxed),
            self.reloads_failed.load(Ordering::Relaxed),
        )
    }

    /// The redundancy warnings that hold now (see [`crate::redundancy`]).
    pub async fn redundancy_warnings(&self) -> Result<Vec<RedundancyWarning>, SpeakerError> {
        let statuses = self.speaker.neighbors().await?;
        Ok(redundancy::check_statuses(&statuses, &*self.config().await))
    }

    /// Settings changed in the file that wait for a restart.
    pub fn restart_pending(&self) -> Vec<String> {
        self.restart_pending
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }

    /// The datastore link, in datastore mode.
    pub fn datastore(&self) -> Option<&Arc<DatastoreLink>> {
        self.datastore.as_ref()
    }

    /// Read the configuration again and apply the neighbour changes (see
    /// [`crate::reload`]). An invalid configuration changes nothing. In
    /// datastore mode the file's new settings go with the latest resources.
    pub async fn reload(&self) -> Result<ReloadResult, ReloadError> {
        let mut running = self.running.lock().await;
        let mut prepared = match prepare(&self.source, &self.overrides) {
            Ok(prepared) => prepared,
            Err(error) => {
                self.reloads_failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!("{error}");
                return Err(error.into());
            }
        };
        log_report(&prepared.report);
        if let Some(link) = &self.datastore {
            let snapshot = link.snapshot();
            match prepare_from_datastore(&prepared, &self.overrides, &link.settings.node, &snapshot)
            {
                Ok((with_peers, derived)) => {
                    *self.base.lock().unwrap_or_else(|e| e.into_inner()) = Some(prepared);
                    link.record_applied(snapshot.revision(), Ok((derived.peerings, derived.notes)));
                    prepared = with_peers;
                }
                Err(error) => {
                    self.reloads_failed.fetch_add(1, Ordering::Relaxed);
                    tracing::error!("configuration not reloaded: {error}");
                    return Err(error.into());
                }
            }
        }
        let result = self.apply(&mut running, prepared).await;
        self.reloads_ok.fetch_add(1, Ordering::Relaxed);
        Ok(result)
    }

    /// Apply a new snapshot of the datastore's resources: derive the
    /// configuration from the file's part and the snapshot, and apply the
    /// difference as a reload does. While our Node is missing, or names
    /// another AS or cluster ID than the speaker runs (a restart applies
    /// those), the peers stay as they are.
    pub async fn datastore_changed(&self, snapshot: &Snapshot) {
        let Some(link) = &self.datastore else {
            return;
        };
        let Some(base) = self.base.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
            return;
        };
        let mut running = self.running.lock().await;
        let node = &link.settings.node;
        match prepare_from_datastore(&base, &self.overrides, node, snapshot) {
            Ok((prepared, derived)) => {
                let before = link.state().notes;
                for note in derived.notes.iter().filter(|n| !before.contains(n)) {
                    tracing::warn!("datastore: {note}");
                }
                // The sessions follow from our AS and cluster ID: while the
                // Node names others than the speaker runs, derived sessions
                // would not match it. Keep them until a restart.
                let frozen: Vec<&str> = reload::restart_required(&running, &prepared.config)
                    .into_iter()
                    .filter(|s| matches!(*s, "global.asn" | "global.cluster_id"))
                    .collect();
                if !frozen.is_empty() {
                    let problem = format!(
                        "Node {node:?} changed {}: restart the reflector to apply it; the sessions stay as they are until then",
                        frozen.join(" and ")
                    );
                    if link.state().derive_error.as_deref() != Some(&problem) {
                        tracing::warn!("datastore: {problem}");
                    }
                    if let Ok(mut pending) = self.restart_pending.lock() {
                        *pending = frozen.iter().map(|s| s.to_string()).collect();
                    }
                    link.record_applied(snapshot.revision(), Err(problem));
                    return;
                }
                let result = self.apply(&mut running, prepared).await;
                link.record_applied(snapshot.revision(), Ok((derived.peerings, derived.notes)));
                if !(result.added.is_empty()
                    && result.removed.is_empty()
                    && result.reset.is_empty())
                {
                    tracing::info!(
                        revision = snapshot.revision(),
                        added = result.added.len(),
                        removed = result.removed.len(),
                        reset = result.reset.len(),
                        "datastore change applied"
                    );
                }
            }
            Err(error) => {
                if link.state().derive_error.as_deref() != Some(&error.to_string()) {
                    tracing::warn!("datastore: {error}; keeping the current peers");
                }
                link.record_applied(snapshot.revision(), Err(error.to_string()));
            }
        }
    }

    /// Apply a prepared configuration's neighbour changes to the speaker
    /// (the shared path of reloads and datastore changes).
    async fn apply(&self, running: &mut ReflectorConfig, prepared: Prepared) -> ReloadResult {
        let diff = reload::diff(&running.neighbors, &prepared.config.neighbors);
        let restart: Vec<String> = reload::restart_required(running, &prepared.config)
            .into_iter()
            .map(String::from)
            .collect();
        if restart != self.restart_pending() {
            for setting in &restart {
                tracing::warn!(%setting, "changed in the configuration; takes effect after a restart");
            }
        }
        let mut applied = reload::merge(running, prepared.config);
        let mut failed = Vec::new();
        for address in &diff.removed {
            tracing::info!(%address, "neighbour removed");
            let _ = self.speaker.remove_peer(*address).await;
        }
        let resets = diff.reset.iter().map(|r| r.address);
        for (address, reset) in resets
            .map(|a| (a, true))
            .chain(diff.added.iter().map(|a| (*a, false)))
        {
            let Some(plan) = applied.neighbors.get(&address) else {
                continue;
            };
            if reset {
                tracing::info!(%address, "neighbour changed: resetting its session");
                let _ = self.speaker.remove_peer(address).await;
            } else {
                tracing::info!(%address, "neighbour added");
            }
            if let Err(error) = self.speaker.add_peer(plan.peer.clone()).await {
                tracing::error!(%address, %error, "cannot configure neighbour");
                failed.push((address, error.to_string()));
                applied.neighbors.remove(&address);
            }
        }
        *running = applied;
        if let Ok(mut pending) = self.restart_pending.lock() {
            pending.clone_from(&restart);
        }
        ReloadResult {
            unchanged: diff.unchanged.len(),
            added: diff.added,
            removed: diff.removed,
            reset: diff.reset,
            described: diff.described,
            restart_required: restart,
            failed,
            warnings: api::render::findings(&prepared.report),
        }
    }
}

fn log_report(report: &Report) {
    for line in report.lines() {
        tracing::warn!("{line}");
    }
}

/// A started daemon: the speaker runs, the API socket is bound.
#[derive(Debug)]
pub struct Daemon {
    shared: Arc<Shared>,
    api: TcpListener,
    api_addr: SocketAddr,
    /// SIGHUP, registered at start so none is missed (or kills us).
    hangup: Option<tokio::signal::unix::Signal>,
}

/// Start the speaker; if an IPv6 wildcard cannot be opened (a host without
/// IPv6), go on with the IPv4 addresses.
async fn start_speaker(mut config: SpeakerConfig) -> Result<SpeakerHandle, SpeakerError> {
    match Speaker::start(config.clone()).await {
        Err(SpeakerError::Listen(
            SocketError::Create { addr, source } | SocketError::Bind { addr, source },
        )) if addr.is_ipv6()
            && addr.ip().is_unspecified()
            && !matches!(
                source.kind(),
                std::io::ErrorKind::AddrInUse | std::io::ErrorKind::PermissionDenied
            )
            && config.listen.iter().any(SocketAddr::is_ipv4) =>
        {
            tracing::warn!(%addr, error = %source, "IPv6 unavailable; listening on IPv4 only");
            config.listen.retain(SocketAddr::is_ipv4);
            Speaker::start(config).await
        }
        other => other,
    }
}

impl Daemon {
    /// Load the configuration, start the speaker with every neighbour and
    /// bind the API.
    pub async fn start(config: DaemonConfig) -> Result<Daemon, DaemonError> {
        Daemon::start_with(config, None).await
    }

    /// [`Daemon::start`], in datastore mode with this store instead of the
    /// etcd of the settings (an in-memory one, for tests and embedding).
    pub async fn start_with_store(
        config: DaemonConfig,
        store: AnyStore,
    ) -> Result<Daemon, DaemonError> {
        Daemon::start_with(config, Some(store)).await
    }

    async fn start_with(
        config: DaemonConfig,
        store: Option<AnyStore>,
    ) -> Result<Daemon, DaemonError> {
        let mut prepared = prepare(&config.source, &config.overrides)?;
        log_report(&prepared.report);
        let settings =
            DatastoreSettings::resolve(&prepared.file.datastore, &config.overrides.datastore)?;
        let base = prepared.clone();
        let mut link = None;
        if let Some(settings) = settings {
            tracing::info!(
                node = %settings.node,
                endpoints = ?settings.etcd.endpoints,
                "datastore mode: waiting for the resources in etcd"
            );
            let node = settings.node.clone();
            let connected = Arc::new(match store {
                Some(store) => DatastoreLink::with_store(settings, store),
                None => DatastoreLink::connect(settings).await,
            });
            let (with_peers, derived, revision) = connected
                .wait_ready(|snapshot| {
                    prepare_from_datastore(&base, &config.overrides, &node, snapshot)
                        .map(|(p, d)| (p, d, snapshot.revision()))
                })
                .await;
            for note in &derived.notes {
                tracing::warn!("datastore: {note}");
            }
            tracing::info!(
                node = %node,
                revision,
                asn = with_peers.config.speaker.local_as,
                cluster_id = ?with_peers.config.speaker.cluster_id,
                peerings = derived.peerings,
                "datastore: configuration derived from the resources"
            );
            connected.record_applied(revision, Ok((derived.peerings, derived.notes)));
            prepared = with_peers;
            link = Some(connected);
        }
        let running = prepared.config;
        let speaker_config = &running.speaker;
        match prepared.router_id {
            RouterIdSource::Fallback => tracing::warn!(
                router_id = %speaker_config.router_id,
                "no IPv4 address on this host: using the fallback router ID; set [global] router_id or --router-id"
            ),
            from => tracing::info!(router_id = %speaker_config.router_id, ?from, "router ID"),
        }
        let speaker = start_speaker(speaker_config.clone())
            .await
            .map_err(DaemonError::Speaker)?;
        for plan in running.neighbors.values() {
            if let Err(source) = speaker.add_peer(plan.peer.clone()).await {
                speaker.shutdown(SHUTDOWN_MESSAGE).await;
                return Err(DaemonError::Peer {
                    address: plan.peer.address,
                    source,
                });
            }
        }
        let api_addr = running.api;
        let api = match TcpListener::bind(api_addr).await {
            Ok(api) => api,
            Err(source) => {
                speaker.shutdown(SHUTDOWN_MESSAGE).await;
                return Err(DaemonError::Api {
                    addr: api_addr,
                    source,
                });
            }
        };
        let api_addr = api.local_addr().unwrap_or(api_addr);
        let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
        if let Err(error) = &hangup {
            tracing::warn!(%error, "cannot handle SIGHUP; reload through the API only");
        }
        tracing::info!(
            asn = speaker_config.local_as,
            bgp = ?speaker.local_addrs(),
            api = %api_addr,
            neighbors = running.neighbors.len(),
            dynamic_ranges = speaker_config.dynamic_neighbors.len(),
            config = %config.source.name(),
            "bgp-reflector started"
        );
        let shared = Arc::new(Shared {
            speaker,
            started: Instant::now(),
            source: config.source,
            overrides: config.overrides,
            running: Mutex::new(running),
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
            restart_pending: std::sync::Mutex::new(Vec::new()),
            base: std::sync::Mutex::new(link.as_ref().map(|_| base)),
            datastore: link,
        });
        Ok(Daemon {
            shared,
            api,
            api_addr,
            hangup: hangup.ok(),
        })
    }

    /// The API's bound address.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The BGP listener's bound addresses.
    pub fn bgp_addrs(&self) -> &[SocketAddr] {
        self.shared.speaker.local_addrs()
    }

    /// The shared state (the speaker handle, reload).
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Serve the API and reload on SIGHUP until `shutdown` completes; then
    /// close every session (Cease / Administrative Shutdown with
    /// [`SHUTDOWN_MESSAGE`], RFC 9003) and stop the API.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), DaemonError> {
        let (stop, stopped) = oneshot::channel::<()>();
        let app = api::router(self.shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(self.api, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        let mut hangup = self.hangup;
        let mut tasks = tokio::task::JoinSet::new();
        if let Some(link) = &self.shared.datastore {
            tasks.spawn(link.clone().follow(self.shared.clone()));
            tasks.spawn(link.clone().write_status(self.shared.clone()));
        }
        tokio::pin!(shutdown);
        let mut redundancy_check = tokio::time::interval(REDUNDANCY_CHECK);
        let mut warned = BTreeSet::new();
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = redundancy_check.tick() => {
                    if let Ok(now) = self.shared.redundancy_warnings().await {
                        log_redundancy_changes(&mut warned, now);
                    }
                }
                Some(()) = next_signal(&mut hangup) => {
                    tracing::info!("SIGHUP: reloading the configuration");
                    if let Ok(result) = self.shared.reload().await {
                        tracing::info!(
                            added = result.added.len(),
                            removed = result.removed.len(),
                            reset = result.reset.len(),
                            "configuration reloaded"
                        );
                    }
                }
            }
        }
        tracing::info!("shutting down: closing every session (Cease / Administrative Shutdown)");
        tasks.abort_all();
        self.shared.speaker.shutdown(SHUTDOWN_MESSAGE).await;
        if let Some(link) = &self.shared.datastore {
            link.revoke_status().await;
        }
        let _ = stop.send(());
        match tokio::time::timeout(Duration::from_secs(5), server).await {
            Ok(Ok(Err(error))) => return Err(DaemonError::Serve(error)),
            Ok(_) => {}
            Err(_) => tracing::warn!("API connections still open after 5 s; leaving them"),
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// How often the daemon looks for [`RedundancyWarning`]s to log.
const REDUNDANCY_CHECK: Duration = Duration::from_secs(10);

/// Log warnings that appeared since the last check, and those that cleared.
fn log_redundancy_changes(warned: &mut BTreeSet<RedundancyWarning>, now: Vec<RedundancyWarning>) {
    let now: BTreeSet<RedundancyWarning> = now.into_iter().collect();
    for warning in now.difference(warned) {
        tracing::warn!(%warning, "redundancy");
    }
    for cleared in warned.difference(&now) {
        tracing::info!(warning = %cleared, "redundancy warning cleared");
    }
    *warned = now;
}

async fn next_signal(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

/// Run the daemon until `shutdown` completes.
pub async fn run(
    config: DaemonConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    tokio::pin!(shutdown);
    // A signal while the daemon waits for the datastore stops it too.
    let daemon = tokio::select! {
        started = Daemon::start(config) => started?,
        () = &mut shutdown => return Ok(()),
    };
    daemon.serve(shutdown).await
}
