//! The node agent: kernel routes to the reflectors, and their best paths
//! back into the kernel.
//!
//! ```text
//!  kernel --rtnetlink--> RouteReader --Batch--> select --originate/withdraw--> speaker --iBGP--> reflectors
//!  kernel <--rtnetlink-- RouteWriter <--BestChanged-------------------------- speaker <--iBGP--
//! ```
//!
//! The reader runs in a task of its own and hands batches over a bounded
//! channel: when the agent is busy, notifications queue in the socket and,
//! past its buffer, are dropped and recovered by a resynchronisation
//! instead of growing a queue in memory.
//!
//! The agent peers with every configured reflector with graceful restart
//! (RFC 4724). Every reflector sends the same routes, so the best path
//! moving from one reflector to another leaves the next hops, and so the
//! kernel, as they were ([`RouteWriter::set`] writes only differences).
//! When every reflector is lost, the speaker keeps their routes as stale
//! for the restart time and the kernel keeps forwarding.
//!
//! Start order: the writer adopts routes left by a previous run (and then
//! the sessions announce that forwarding state was kept), the reader
//! joins its groups, the speaker starts, the agent subscribes to its
//! events, and only then are the reflectors added, so no event is missed.

mod announce;
pub mod config;
pub mod reconfig;
pub mod routes;
mod run;

pub use config::{AgentConfig, ConfigError, ReflectorPeer};
pub use reconfig::{Reconfigured, ResetReflector};

use bgp_speaker::speaker::{Speaker, SpeakerError, SpeakerHandle};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use crate::blocks::AffineBlocks;
use crate::kernel::reader::{ReaderError, ReaderStats, RouteReader};
use crate::kernel::route::KernelRoute;
use crate::kernel::select::Verdict;
use crate::kernel::writer::{Placement, RouteWriter, WriterError, WriterStats};

/// Why the agent could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The configuration cannot run.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// Reading the kernel's routes failed.
    #[error(transparent)]
    Reader(#[from] ReaderError),
    /// Opening the writer failed.
    #[error(transparent)]
    Writer(#[from] WriterError),
    /// The speaker failed.
    #[error(transparent)]
    Speaker(#[from] SpeakerError),
    /// The agent's task ended abnormally.
    #[error("the agent task ended: {0}")]
    Task(String),
    /// The agent is not running any more.
    #[error("the agent has stopped")]
    Stopped,
}

/// What the agent is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentStatus {
    /// The first kernel dump has been advertised.
    pub synced: bool,
    /// Prefixes advertised.
    pub exported: usize,
    /// Routes installed in the kernel.
    pub installed: usize,
    /// The reader's counters.
    pub reader: ReaderStats,
    /// The writer's counters.
    pub writer: WriterStats,
}

/// One route the reader holds, and what the export selection makes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelEntry {
    /// The route as read.
    pub route: KernelRoute,
    /// Selected (by which rule), or why not.
    pub verdict: Verdict,
    /// Its prefix is advertised (selected, and the node has an address
    /// of its family for the next hop).
    pub advertised: bool,
}

/// A prefix the writer installed or wants installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledEntry {
    /// The prefix.
    pub prefix: IpNetwork,
    /// Our route's next hops in the kernel, if we have one there.
    pub installed: Option<Vec<IpAddr>>,
    /// The next hops BGP wants, if any.
    pub wanted: Option<Vec<IpAddr>>,
    /// Kept from a previous run, not learned again yet.
    pub stale: bool,
    /// A route of another protocol holds the prefix (ours is not written).
    pub foreign: bool,
}

/// The writer's routes and where they go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledRoutes {
    /// Table, metric and protocol.
    pub placement: Placement,
    /// Every prefix installed or wanted, sorted.
    pub routes: Vec<InstalledEntry>,
}

/// How many prefixes are advertised, per family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Advertised {
    /// IPv4 unicast.
    pub ipv4: usize,
    /// IPv6 unicast.
    pub ipv6: usize,
}

/// Requests to the agent's loop.
#[derive(Debug)]
pub(crate) enum Control {
    Kernel(oneshot::Sender<Vec<KernelEntry>>),
    Installed(oneshot::Sender<InstalledRoutes>),
    Advertised(oneshot::Sender<Advertised>),
    Config(oneshot::Sender<AgentConfig>),
    Reconfigure(
        Box<AgentConfig>,
        oneshot::Sender<Result<Reconfigured, ConfigError>>,
    ),
    Blocks(AffineBlocks, oneshot::Sender<()>),
}

/// A cloneable handle on a running agent for observing it and changing
/// its configuration (the operations API). It does not stop the agent.
#[derive(Debug, Clone)]
pub struct AgentControl {
    speaker: SpeakerHandle,
    status: watch::Receiver<AgentStatus>,
    control: mpsc::Sender<Control>,
}

impl AgentControl {
    /// The agent's speaker (its neighbours are the reflectors).
    pub fn speaker(&self) -> &SpeakerHandle {
        &self.speaker
    }

    /// The latest status.
    pub fn status(&self) -> AgentStatus {
        self.status.borrow().clone()
    }

    /// Has the agent stopped?
    pub fn is_stopped(&self) -> bool {
        self.control.is_closed()
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Control,
    ) -> Result<T, AgentError> {
        let (tx, rx) = oneshot::channel();
        self.control
            .send(make(tx))
            .await
            .map_err(|_| AgentError::Stopped)?;
        rx.await.map_err(|_| AgentError::Stopped)
    }

    /// Every kernel route the reader holds, with its verdict, sorted by
    /// table, prefix and metric.
    pub async fn kernel_routes(&self) -> Result<Vec<KernelEntry>, AgentError> {
        self.ask(Control::Kernel).await
    }

    /// How many prefixes are advertised, per family.
    pub async fn advertised(&self) -> Result<Advertised, AgentError> {
        self.ask(Control::Advertised).await
    }

    /// The routes the writer installed or wants installed.
    pub async fn installed_routes(&self) -> Result<InstalledRoutes, AgentError> {
        self.ask(Control::Installed).await
    }

    /// The configuration in force.
    pub async fn config(&self) -> Result<AgentConfig, AgentError> {
        self.ask(Control::Config).await
    }

    /// Route by block ([`crate::blocks`]): advertise each of `blocks`,
    /// and no selected kernel route inside one of them. An empty set
    /// turns it off. Returns once the speaker has the changes.
    pub async fn set_affine_blocks(&self, blocks: AffineBlocks) -> Result<(), AgentError> {
        self.ask(|tx| Control::Blocks(blocks, tx)).await
    }

    /// Apply a new configuration (see [`reconfig`]): sessions of
    /// unchanged reflectors are left alone. An impossible configuration
    /// is refused and the running one kept.
    pub async fn reconfigure(&self, config: AgentConfig) -> Result<Reconfigured, AgentError> {
        Ok(self
            .ask(|tx| Control::Reconfigure(Box::new(config), tx))
            .await??)
    }
}

/// Starts agents.
#[derive(Debug)]
pub struct Agent;

impl Agent {
    /// Start the agent in the current network namespace. Must be called
    /// inside a tokio runtime.
    pub async fn start(config: AgentConfig) -> Result<AgentHandle, AgentError> {
        config.validate()?;
        if config.require_reflectors && config.reflectors.len() < 2 {
            tracing::warn!(
                "one reflector only: losing it withdraws every learned route after the restart time"
            );
        }
        let writer = RouteWriter::open(config.install).await?;
        let restarting = writer.reconcile_deadline().is_some();
        let reader = RouteReader::open(config.reader)?;
        let speaker = Speaker::start(config.speaker_config()).await?;
        let events = speaker.subscribe();
        for peer in config.reflector_peers(restarting) {
            speaker.add_peer(peer).await?;
        }
        let kernel = reader.routes();
        let (batches_tx, batches) = mpsc::channel(8);
        let reader_task = tokio::spawn(run::read_kernel(reader, batches_tx));
        let (status_tx, status) = watch::channel(AgentStatus::default());
        let (stop_tx, stop) = oneshot::channel();
        let (control_tx, control) = mpsc::channel(16);
        let agent = run::Running::new(config, speaker.clone(), writer, kernel, status_tx);
        let task = tokio::spawn(agent.run(batches, events, control, stop));
        Ok(AgentHandle {
            control: AgentControl {
                speaker: speaker.clone(),
                status: status.clone(),
                control: control_tx,
            },
            speaker,
            status,
            stop: Some(stop_tx),
            task,
            reader_task,
        })
    }
}

/// A running agent.
#[derive(Debug)]
pub struct AgentHandle {
    control: AgentControl,
    speaker: SpeakerHandle,
    status: watch::Receiver<AgentStatus>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), AgentError>>,
    reader_task: JoinHandle<()>,
}

impl AgentHandle {
    /// A cloneable handle for observing and reconfiguring the agent.
    pub fn control(&self) -> AgentControl {
        self.control.clone()
    }

    /// Apply a new configuration; see [`AgentControl::reconfigure`].
    pub async fn reconfigure(&self, config: AgentConfig) -> Result<Reconfigured, AgentError> {
        self.control.reconfigure(config).await
    }

    /// The agent's speaker (neighbours, routes, explain).
    pub fn speaker(&self) -> &SpeakerHandle {
        &self.speaker
    }

    /// The latest status.
    pub fn status(&self) -> AgentStatus {
        self.status.borrow().clone()
    }

    /// Wait for a status that satisfies `check`.
    pub async fn wait_status(&mut self, check: impl Fn(&AgentStatus) -> bool) -> AgentStatus {
        let waited = self.status.wait_for(|s| check(s)).await.map(|s| s.clone());
        waited.unwrap_or_else(|_| self.status())
    }

    /// Wait until the agent ends by itself (it only does on a failure,
    /// such as the kernel reader's socket breaking). Cancel-safe; after it
    /// returns, do not call [`AgentHandle::stop`].
    pub async fn finished(&mut self) -> Result<(), AgentError> {
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) => Err(AgentError::Task(e.to_string())),
        }
    }

    /// A clean stop: withdraw every advertised route, close the sessions
    /// (Cease, Administrative Shutdown), and remove the installed routes
    /// when so configured.
    pub async fn stop(mut self) -> Result<AgentStatus, AgentError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = (&mut self.task).await;
        self.reader_task.abort();
        match result {
            Ok(Ok(())) => Ok(self.status()),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(AgentError::Task(e.to_string())),
        }
    }
}

impl Drop for AgentHandle {
    fn drop(&mut self) {
        self.task.abort();
        self.reader_task.abort();
    }
}
