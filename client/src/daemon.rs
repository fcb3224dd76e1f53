//! The `bgp-client run` daemon: the agent, the operations API, reload on
//! SIGHUP or `POST /api/v1/reload`, and a clean stop.
//!
//! [`Daemon::start`] binds the API and starts the agent; [`Daemon::serve`]
//! serves until its `shutdown` future completes (SIGTERM or SIGINT in
//! `main.rs`), then stops the agent (withdraw, Cease, remove installed
//! routes if so configured) and the API.
//!
//! A reload reads the file again. A file with errors changes nothing:
//! each finding is logged with its line, column and field, counted in
//! `reflex_client_config_reloads_total{result="failure"}` and shown by
//! `GET /api/v1/status`. A good one is applied by
//! [`AgentControl::reconfigure`] (see [`crate::agent::reconfig`]);
//! `[api]` and `[logging]` changes wait for a restart.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{Mutex, oneshot};

use crate::agent::{Agent, AgentControl, AgentError, AgentHandle};
use crate::api;
use crate::api::types::{DatastoreStatus, ReloadResult, Reset};
use crate::config::felix::{FelixSection, FelixSource};
use crate::config::schema::{Api, DEFAULT_API, Datastore, Logging};
use crate::config::{self, Checked, LoadError, Overrides, Report};
use crate::datastore::{self, Link, Settings};
use crate::felix::service::{FelixService, FelixStatus, ServiceConfig, Source};

/// Why the daemon could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The agent failed.
    #[error(transparent)]
    Agent(#[from] AgentError),
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

/// Why a reload was refused; the running configuration stays.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file could not be read or has errors.
    #[error("configuration not reloaded: {0}")]
    Load(#[from] LoadError),
    /// The agent refused it (or stopped).
    #[error("configuration not reloaded: {0}")]
    Agent(#[from] AgentError),
    /// Started from the command line alone: there is no file.
    #[error("configuration not reloaded: started without a configuration file")]
    NoFile,
}

/// State shared by the daemon loop and the API handlers.
#[derive(Debug)]
pub struct Shared {
    /// The agent.
    pub agent: AgentControl,
    /// When the daemon started.
    pub started: Instant,
    /// The configuration file (none: the command line alone).
    pub path: Option<PathBuf>,
    /// `[api]`, `[logging]` and `[datastore]` as started (changes wait for
    /// a restart); the lock also keeps reloads one at a time.
    initial: Mutex<(Api, Logging, Option<Datastore>, Option<FelixSection>)>,
    overrides: Overrides,
    link: Option<Link>,
    api_override: bool,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    last_error: std::sync::Mutex<Option<String>>,
    restart_pending: std::sync::Mutex<Vec<String>>,
    felix: Option<FelixService>,
}

impl Shared {
    /// Felix's state, when `[felix]` runs it.
    pub fn felix(&self) -> Option<FelixStatus> {
        self.felix.as_ref().map(FelixService::status)
    }

    /// Successful and refused reloads so far.
    pub fn reload_counts(&self) -> (u64, u64) {
        (
            self.reloads_ok.load(Ordering::Relaxed),
            self.reloads_failed.load(Ordering::Relaxed),
        )
    }

    /// Why the last reload was refused (cleared by a good one).
    pub fn last_reload_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// The datastore link's state, in datastore mode.
    pub fn datastore(&self) -> Option<DatastoreStatus> {
        self.link.as_ref().map(Link::status)
    }

    /// The configuration file's name as the status shows it.
    pub fn config_name(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "(command line)".to_string(), |p| p.display().to_string())
    }

    /// Settings changed in the file that wait for a restart.
    pub fn restart_pending(&self) -> Vec<String> {
        self.restart_pending
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }

    fn refused(&self, error: ReloadError) -> ReloadError {
        self.reloads_failed.fetch_add(1, Ordering::Relaxed);
        match &error {
            ReloadError::Load(LoadError::Invalid(report)) => {
                for line in report.lines() {
                    tracing::error!(finding = %line, "configuration error");
                }
            }
            other => tracing::error!(error = %other, "configuration error"),
        }
        tracing::error!(
            file = %self.config_name(),
            "configuration not reloaded: the running configuration is kept"
        );
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(match &error {
                ReloadError::Load(LoadError::Invalid(report)) => report.lines().join("; "),
                other => other.to_string(),
            });
        }
        error
    }

    /// Read the file again and apply it (see the module documentation).
    pub async fn reload(&self) -> Result<ReloadResult, ReloadError> {
        let initial = self.initial.lock().await;
        let Some(path) = &self.path else {
            return Err(self.refused(ReloadError::NoFile));
        };
        let mut checked = match config::load_with(path, &self.overrides) {
            Ok(checked) => checked,
            Err(error) => return Err(self.refused(error.into())),
        };
        log_report(&checked.report);
        if self.link.is_some() {
            // The address found at start, when the file names none.
            let running = match self.agent.config().await {
                Ok(running) => running,
                Err(error) => return Err(self.refused(error.into())),
            };
            if checked.file.node.ipv4.is_none() {
                checked.config.node_v4 = running.node_v4;
            }
            if checked.file.node.router_id.is_none() && checked.file.node.ipv4.is_none() {
                checked.config.router_id = running.router_id;
            }
        }
        let applied = match &self.link {
            Some(link) => link.set_base(checked.config).await,
            None => self.agent.reconfigure(checked.config).await,
        };
        let done = match applied {
            Ok(done) => done,
            Err(error) => return Err(self.refused(error.into())),
        };
        let mut restart: Vec<String> = done
            .restart_required
            .iter()
            .map(|s| s.to_string())
            .collect();
        if !self.api_override && checked.file.api != initial.0 {
            restart.push("api.listen".into());
        }
        if checked.file.logging != initial.1 {
            restart.push("logging".into());
        }
        if checked.file.datastore != initial.2 {
            restart.push("datastore".into());
        }
        for setting in restart.iter().filter(|s| {
            s.starts_with("api") || *s == "logging" || *s == "datastore" || *s == "felix"
        }) {
            tracing::warn!(%setting, "changed in the configuration; takes effect after a restart");
        }
        if let Some(felix) = &self.felix {
            if checked.file.felix != initial.3 {
                restart.push("felix".into());
            }
            if let Err(error) = felix.reload().await {
                tracing::warn!(%error, "felix input not reloaded");
            }
        }
        if let Ok(mut pending) = self.restart_pending.lock() {
            pending.clone_from(&restart);
        }
        if let Ok(mut last) = self.last_error.lock() {
            *last = None;
        }
        self.reloads_ok.fetch_add(1, Ordering::Relaxed);
        Ok(ReloadResult {
            added: done.added,
            removed: done.removed,
            reset: done
                .reset
                .into_iter()
                .map(|r| Reset {
                    address: r.address,
                    changed: r.changed.iter().map(|c| c.to_string()).collect(),
                })
                .collect(),
            unchanged: done.unchanged,
            export_changed: done.export_changed,
            originated: done.originated,
            withdrawn: done.withdrawn,
            install_moved: done.install_moved,
            restart_required: restart,
            failed: done.failed,
            warnings: api::render::findings(&checked.report),
        })
    }
}

fn log_report(report: &Report) {
    for line in report.lines() {
        tracing::warn!(finding = %line, "configuration warning");
    }
}

/// A started daemon: the agent runs, the API socket is bound.
#[derive(Debug)]
pub struct Daemon {
    shared: Arc<Shared>,
    agent: AgentHandle,
    api: TcpListener,
    api_addr: SocketAddr,
    hangup: Option<Signal>,
}

impl Daemon {
    /// Bind the API (`api` wins over `[api] listen`) and start the agent
    /// with the checked file read from `path` (none: the command line
    /// alone, `overrides`). With a `[datastore]`, the link to it starts
    /// first (see [`crate::datastore`]).
    pub async fn start(
        path: Option<PathBuf>,
        mut checked: Checked,
        api: Option<SocketAddr>,
        overrides: Overrides,
    ) -> Result<Daemon, DaemonError> {
        // Registered first, so a SIGHUP during start-up is not fatal.
        let hangup = signal(SignalKind::hangup());
        if let Err(error) = &hangup {
            tracing::warn!(%error, "cannot handle SIGHUP; reload through the API only");
        }
        let addr = api.or(checked.file.api.listen).unwrap_or(DEFAULT_API);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| DaemonError::Api { addr, source })?;
        let api_addr = listener.local_addr().unwrap_or(addr);
        let node = checked.config.node_name.clone();
        let mut link = None;
        if let Some(file) = &checked.file.datastore {
            let settings = Settings::from_file(file);
            let config = &mut checked.config;
            if config.node_v4.is_none() {
                match datastore::autodetect_ipv4(&settings.etcd.endpoints).await {
                    Some(v4) => {
                        tracing::info!(ipv4 = %v4, "node address: the source of the route to etcd");
                        config.node_v4 = Some(v4);
                        if checked.file.node.router_id.is_none() {
                            config.router_id = v4;
                        }
                    }
                    None => {
                        tracing::warn!("no IPv4 address configured or found on the route to etcd")
                    }
                }
            }
            let asn = checked.file.node.asn;
            let own = datastore::own_node(config, asn);
            let started = Link::start_etcd(&settings, config.clone(), asn.is_some(), own);
            *config = started.initial(config, settings.start_wait).await;
            link = Some(started);
        }
        let running = checked.config.clone();
        let reflectors = running.reflectors.len();
        let agent = Agent::start(checked.config).await?;
        crate::blocks::start_for_daemon(checked.file.datastore.as_ref(), &running, agent.control());
        if let Some(link) = &link {
            link.attach(agent.control(), running).await;
        }
        crate::nodename::write_for_daemon(&checked.file, &node);
        let felix = felix_service(&checked.file, &node);
        tracing::info!(
            %node,
            reflectors,
            api = %api_addr,
            config = %path.as_ref().map_or_else(|| "(command line)".to_string(), |p| p.display().to_string()),
            datastore = link.is_some(),
            "bgp-client started"
        );
        let shared = Arc::new(Shared {
            agent: agent.control(),
            started: Instant::now(),
            path,
            initial: Mutex::new((
                checked.file.api,
                checked.file.logging,
                checked.file.datastore,
                checked.file.felix,
            )),
            overrides,
            link,
            api_override: api.is_some(),
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
            last_error: std::sync::Mutex::new(None),
            restart_pending: std::sync::Mutex::new(Vec::new()),
            felix,
        });
        Ok(Daemon {
            shared,
            agent,
            api: listener,
            api_addr,
            hangup: hangup.ok(),
        })
    }

    /// The API's bound address.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The shared state (the agent, reload).
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Serve the API and reload on SIGHUP until `shutdown` completes or
    /// the agent fails; then stop the agent and the API.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), DaemonError> {
        let Daemon {
            shared,
            mut agent,
            api,
            hangup,
            ..
        } = self;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = api::router(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(api, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        let mut hangup = hangup;
        tokio::pin!(shutdown);
        let failed = loop {
            tokio::select! {
                () = &mut shutdown => break None,
                Some(()) = next_signal(&mut hangup) => {
                    tracing::info!("SIGHUP: reloading the configuration");
                    let _ = shared.reload().await;
                }
                result = agent.finished() => {
                    break Some(result.err().unwrap_or(AgentError::Task("the agent stopped by itself".into())));
                }
            }
        };
        let result = match failed {
            Some(error) => Err(DaemonError::Agent(error)),
            None => {
                tracing::info!("stopping");
                agent.stop().await.map(|_| ()).map_err(DaemonError::from)
            }
        };
        let _ = stop.send(());
        match server.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "the API server failed"),
            Err(e) => tracing::warn!(error = %e, "the API server task failed"),
            Ok(Ok(())) => {}
        }
        // The API is gone: Felix is ours alone now.
        if let Some(felix) = Arc::into_inner(shared).and_then(|s| s.felix) {
            if let Err(error) = felix.stop().await {
                tracing::warn!(%error, "felix did not stop cleanly");
            }
        }
        result
    }
}

/// Start Felix when `[felix]` is enabled (the file was checked: a
/// datastore source has a `[datastore]`, a file source a file).
fn felix_service(file: &crate::config::ConfigFile, node: &str) -> Option<FelixService> {
    let settings = crate::config::felix::settings(file)?;
    let mut felix = crate::felix::FelixConfig::new(node);
    felix.reconcile_interval = settings.reconcile_interval;
    felix.acl.interface_prefixes = vec![settings.interface_prefix.clone()];
    let (source, max_backoff) = match settings.source {
        FelixSource::Datastore => {
            let datastore = Settings::from_file(file.datastore.as_ref()?);
            (
                Source::Datastore(Box::new(datastore.etcd)),
                datastore.backoff.1,
            )
        }
        FelixSource::File => (
            Source::File(settings.file.clone()?),
            std::time::Duration::from_secs(10),
        ),
    };
    tracing::info!(source = ?settings.source, "felix started");
    Some(FelixService::start(ServiceConfig {
        felix,
        source,
        report_endpoints: settings.report_endpoints,
        cleanup_on_stop: settings.cleanup_on_stop,
        coalesce: std::time::Duration::from_millis(20),
        max_backoff,
    }))
}

async fn next_signal(signal: &mut Option<Signal>) -> Option<()> {
    match signal {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}
