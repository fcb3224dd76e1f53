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
use crate::config::{
    self, Checked, DEFAULT_CONFIG, DEFAULT_CONFIG_NAME, LoadError, ReflectorConfig, Report,
};
use crate::reload;

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
}

/// Load the configuration, resolve the router ID and apply the overrides.
pub fn prepare(source: &ConfigSource, overrides: &Overrides) -> Result<Prepared, LoadError> {
    let checked = source.load()?;
    let (id, from) = router_id::resolve(overrides.router_id, checked.file.global.router_id);
    let mut config = config::convert(&checked.file, id);
    if !overrides.listen.is_empty() {
        config.speaker.listen = overrides.listen.clone();
    }
    if let Some(api) = overrides.api {
        config.api = api;
    }
    Ok(Prepared {
        config,
        report: checked.report,
        router_id: from,
    })
}

/// Why a reload was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The new configuration could not be loaded; the old one stays.
    #[error("configuration not reloaded: {0}")]
    Load(#[from] LoadError),
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
        let config = self.config().await;
        let neighbors: Vec<_> = statuses
            .iter()
            .map(|s| crate::api::render::neighbor(s, &config))
            .collect();
        let context = redundancy::Context {
            local_as: config.speaker.local_as,
            router_id: config.speaker.router_id,
            cluster_ids: config.cluster_ids(),
        };
        Ok(redundancy::check(&context, &neighbors))
    }

    /// Settings changed in the file that wait for a restart.
    pub fn restart_pending(&self) -> Vec<String> {
        self.restart_pending
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }

    /// Read the configuration again and apply the neighbour changes (see
    /// [`crate::reload`]). An invalid configuration changes nothing.
    pub async fn reload(&self) -> Result<ReloadResult, ReloadError> {
        let mut running = self.running.lock().await;
        let prepared = match prepare(&self.source, &self.overrides) {
            Ok(prepared) => prepared,
            Err(error) => {
                self.reloads_failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!("{error}");
                return Err(error.into());
            }
        };
        log_report(&prepared.report);
        let diff = reload::diff(&running.neighbors, &prepared.config.neighbors);
        let restart: Vec<String> = reload::restart_required(&running, &prepared.config)
            .into_iter()
            .map(String::from)
            .collect();
        for setting in &restart {
            tracing::warn!(%setting, "changed in the configuration; takes effect after a restart");
        }
        let mut applied = reload::merge(&running, prepared.config);
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
        self.reloads_ok.fetch_add(1, Ordering::Relaxed);
        Ok(ReloadResult {
            unchanged: diff.unchanged.len(),
            added: diff.added,
            removed: diff.removed,
            reset: diff.reset,
            described: diff.described,
            restart_required: restart,
            failed,
            warnings: api::render::findings(&prepared.report),
        })
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
        let prepared = prepare(&config.source, &config.overrides)?;
        log_report(&prepared.report);
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
        self.shared.speaker.shutdown(SHUTDOWN_MESSAGE).await;
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
    Daemon::start(config).await?.serve(shutdown).await
}
