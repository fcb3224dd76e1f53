//! Felix: the per-node part that makes workloads reachable and polices
//! their traffic, after Calico's Felix.
//!
//! Given the `WorkloadEndpoint`s of the node (and the `Profile`s,
//! `GlobalNetworkPolicy`s and `NetworkPolicy`s of the cluster), in code
//! or from a YAML/JSON file ([`FelixInput`]), it:
//! - sets each endpoint's host-side interface up for routing (`proxy_arp`,
//!   `forwarding`, `route_localnet`, `proxy_delay` 0; for IPv6
//!   `accept_ra` 0, `proxy_ndp`, `forwarding`) and global forwarding, with
//!   the old values kept and put back when the endpoint goes
//!   ([`sysctl`]);
//! - routes each endpoint address through its interface (scope link,
//!   protocol [`routes::RTPROT_FELIX`], not the client's 186) and adds a
//!   permanent neighbour entry when the MAC is known ([`routes`]);
//! - compiles the policies into one nftables table, `inet reflex`
//!   ([`acl`]), writes it with `nft -f -` in one transaction and each
//!   change as one nf_tables netlink batch ([`nfnl`]), repairing it when
//!   someone changes it ([`nft`]);
//! - follows interfaces created later through rtnetlink link events, and
//!   reconciles periodically ([`Felix`]).
//!
//! # Layout
//! - [`input`]: the resources and the endpoints resolved from them;
//! - [`acl`]: the policy compiler (pure) and the ruleset as data;
//! - [`nft`]: running `nft`, drift detection;
//! - [`nfnl`]: incremental changes as nf_tables netlink batches;
//! - [`sysctl`], [`routes`]: interface settings, routes and neighbours;
//! - [`dataplane`]: one sync of all of them ([`Dataplane`]);
//! - [`service`]: Felix in the daemon: its input from the datastore or a
//!   file, coalesced updates, the status shown by the API;
//! - [`status`]: Felix's status keys in etcd, as Calico writes them;
//! - this module: [`Felix`], the task that syncs on input changes, link
//!   events and a timer.
//!
//! # Example
//! ```no_run
//! # async fn demo() -> Result<(), bgp_client::felix::FelixError> {
//! use bgp_client::felix::{Felix, FelixConfig, FelixInput};
//!
//! let input = FelixInput::from_file("/etc/reflex/workloads.yaml".as_ref())?;
//! let felix = Felix::spawn(FelixConfig::new("node-a"));
//! let report = felix.update(input).await?;
//! println!("{} rules, pending interfaces: {:?}", report.rules, report.pending);
//! felix.stop(true).await?; // remove routes, table, settings
//! # Ok(()) }
//! ```

pub mod acl;
pub mod dataplane;
pub mod input;
pub mod nfnl;
pub mod nft;
pub mod routes;
pub mod service;
pub mod status;
pub mod sysctl;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use acl::{AclConfig, Ruleset};
pub use dataplane::{Dataplane, SyncMode, SyncReport};
pub use input::{FelixInput, InputError};
pub use nft::{Nft, NftError, TableOutcome};

use crate::kernel::netlink::NetlinkError;
use crate::kernel::reader::socket::{MulticastSocket, RTNLGRP_LINK};

/// How Felix runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FelixConfig {
    /// This node's name: endpoints of other nodes are not programmed
    /// (`None`: every endpoint with an interface is local).
    pub node: Option<String>,
    /// The nftables table.
    pub acl: AclConfig,
    /// The `nft` program.
    pub nft: Nft,
    /// The protocol of workload routes.
    pub route_protocol: u8,
    /// Where the settings are (`/proc/sys`).
    pub sysctl_root: PathBuf,
    /// Time between full reconciles (drift repair).
    pub reconcile_interval: Duration,
    /// How long after the last change the nftables table is read back
    /// (the change path itself does not read it).
    pub verify_delay: Duration,
}

impl FelixConfig {
    /// Defaults for node `node`: table `inet reflex`, routes with
    /// protocol 80, a reconcile every 10 s.
    pub fn new(node: impl Into<String>) -> Self {
        FelixConfig {
            node: Some(node.into()),
            ..FelixConfig::default()
        }
    }
}

impl Default for FelixConfig {
    fn default() -> Self {
        FelixConfig {
            node: None,
            acl: AclConfig::default(),
            nft: Nft::default(),
            route_protocol: routes::RTPROT_FELIX,
            sysctl_root: PathBuf::from("/proc/sys"),
            reconcile_interval: Duration::from_secs(10),
            verify_delay: Duration::from_secs(1),
        }
    }
}

/// Why Felix could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum FelixError {
    /// A netlink request failed.
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    /// `nft` failed.
    #[error(transparent)]
    Nft(NftError),
    /// A setting could not be written.
    #[error("sysctl: {0}")]
    Io(#[from] std::io::Error),
    /// The input could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The Felix task could not start (no rtnetlink socket).
    #[error("felix could not start: {0}")]
    Start(String),
    /// The Felix task has ended.
    #[error("felix has stopped")]
    Stopped,
}

type Reply = oneshot::Sender<Result<SyncReport, FelixError>>;

#[derive(Debug)]
enum Command {
    Update(Box<FelixInput>, Reply),
    Reconcile(Reply),
    Stop(bool, oneshot::Sender<Result<(), FelixError>>),
}

/// The running Felix: a task that owns a [`Dataplane`] and syncs it when
/// the input changes, when an endpoint's interface appears, changes or
/// goes (rtnetlink `RTNLGRP_LINK`; all of them after a socket overrun),
/// and every [`FelixConfig::reconcile_interval`] (the first at once).
#[derive(Debug)]
pub struct Felix {
    commands: mpsc::Sender<Command>,
    task: JoinHandle<()>,
}

impl Felix {
    /// Start the task on the current tokio runtime, with no endpoints.
    /// Its sockets are opened in the network namespace of the runtime's
    /// worker threads.
    pub fn spawn(config: FelixConfig) -> Felix {
        let (commands, rx) = mpsc::channel(16);
        let task = tokio::spawn(run(config, rx));
        Felix { commands, task }
    }

    async fn ask(&self, make: impl FnOnce(Reply) -> Command) -> Result<SyncReport, FelixError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| FelixError::Stopped)?;
        rx.await.map_err(|_| FelixError::Stopped)?
    }

    /// Replace the input and sync what it changes now
    /// ([`SyncMode::Change`]; the first sync is always full).
    pub async fn update(&self, input: FelixInput) -> Result<SyncReport, FelixError> {
        self.ask(|tx| Command::Update(Box::new(input), tx)).await
    }

    /// Sync now with the current input (what the timer does).
    pub async fn reconcile(&self) -> Result<SyncReport, FelixError> {
        self.ask(Command::Reconcile).await
    }

    /// Stop; with `cleanup`, remove every route, neighbour entry, the
    /// table, and put the settings back first.
    pub async fn stop(self, cleanup: bool) -> Result<(), FelixError> {
        let (tx, rx) = oneshot::channel();
        if self
            .commands
            .send(Command::Stop(cleanup, tx))
            .await
            .is_err()
        {
            return Err(FelixError::Stopped);
        }
        let result = rx.await.map_err(|_| FelixError::Stopped)?;
        let _ = self.task.await;
        result
    }
}

async fn run(config: FelixConfig, mut commands: mpsc::Receiver<Command>) {
    let interval = config.reconcile_interval;
    let verify_delay = config.verify_delay;
    let mut dataplane = match Dataplane::new(config) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "felix cannot start");
            // Answer every command with the reason.
            let why = e.to_string();
            while let Some(command) = commands.recv().await {
                match command {
                    Command::Update(_, tx) | Command::Reconcile(tx) => {
                        let _ = tx.send(Err(FelixError::Start(why.clone())));
                    }
                    Command::Stop(_, tx) => {
                        let _ = tx.send(Err(FelixError::Start(why)));
                        return;
                    }
                }
            }
            return;
        }
    };
    let mut links = match MulticastSocket::open(&[RTNLGRP_LINK], 1 << 20) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "no link events: interfaces are found by the periodic reconcile only");
            None
        }
    };
    let mut input = FelixInput::default();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut messages: Vec<RouteNetlinkMessage> = Vec::new();
    // When to read the table back after changes (quiet for verify_delay).
    let mut verify_at: Option<tokio::time::Instant> = None;
    loop {
        let verify = async move {
            match verify_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            // Commands first: a pending read-back never delays a change.
            biased;
            command = commands.recv() => match command {
                None => return,
                Some(Command::Update(new, tx)) => {
                    let old = std::mem::replace(&mut input, *new);
                    let result = dataplane.sync_with(&input, SyncMode::Change).await;
                    if dataplane.table_unverified() {
                        verify_at = Some(tokio::time::Instant::now() + verify_delay);
                    }
                    let _ = tx.send(result);
                    // Freeing a thousand endpoints takes milliseconds: after
                    // the answer, not before it. The task waiting for the
                    // answer was woken on this worker, where tokio runs it
                    // only once this task yields.
                    tokio::task::yield_now().await;
                    drop(old);
                }
                Some(Command::Reconcile(tx)) => {
                    verify_at = None;
                    let _ = tx.send(dataplane.sync(&input).await);
                    tokio::task::yield_now().await;
                }
                Some(Command::Stop(cleanup, tx)) => {
                    let result = if cleanup { dataplane.cleanup().await } else { Ok(()) };
                    let _ = tx.send(result);
                    return;
                }
            },
            read = async {
                match links.as_mut() {
                    Some(socket) => socket.read(&mut messages).await,
                    None => std::future::pending().await,
                }
            } => {
                match read {
                    Ok(outcome) => {
                        let interfaces: BTreeSet<&str> =
                            input.endpoints.iter().map(|e| e.spec.interface_name.as_str()).collect();
                        let relevant = outcome.overrun | messages.drain(..).any(|m| match m {
                            RouteNetlinkMessage::NewLink(l) | RouteNetlinkMessage::DelLink(l) => {
                                link_name(&l).is_some_and(|n| interfaces.contains(n.as_str()))
                            }
                            _ => false,
                        });
                        if relevant {
                            // Only the endpoints whose interface changed
                            // are programmed again.
                            let result = match dataplane.refresh_links().await {
                                Ok(()) => dataplane.sync_with(&input, SyncMode::Change).await,
                                Err(e) => Err(e),
                            };
                            if let Err(e) = result {
                                tracing::warn!(error = %e, "felix sync after a link event failed");
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "link events lost");
                        links = None;
                    }
                }
            },
            () = verify => {
                verify_at = None;
                match dataplane.verify_table().await {
                    Ok(TableOutcome::Repaired) => tracing::info!("felix repaired the nftables table"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "felix could not read the nftables table back"),
                }
            },
            _ = ticker.tick() => {
                verify_at = None;
                match dataplane.sync(&input).await {
                    Ok(report) if report.table == TableOutcome::Repaired => {
                        tracing::info!("felix repaired the nftables table");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "felix reconcile failed"),
                }
            },
        }
        // What the last sync replaced (of any kind: a reconcile's too, or
        // the next change would pay for it).
        dataplane.free_garbage();
    }
}

/// The name in a link message.
fn link_name(link: &LinkMessage) -> Option<String> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.clone()),
        _ => None,
    })
}
