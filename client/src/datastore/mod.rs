//! The client's datastore mode (`[datastore]`, or `bgp-client run
//! --datastore etcd --etcd-endpoints URLS --node NAME`): the reflectors and
//! the export pools come from Calico's resources in etcd, live.
//!
//! - On start, and after each reconnection, the client registers its own
//!   `Node` ([`node::OwnNode`]: addresses with prefix lengths, the AS if
//!   configured; other fields kept).
//! - A [`Syncer`] follows Nodes, BGPPeers, BGPConfigurations and IPPools.
//!   Each snapshot, once in sync, becomes a [`view::View`]: the node's
//!   peerings as [`reflex_datastore::peering`] computes them (reflector
//!   nodes are those with `routeReflectorClusterID`, selected by BGPPeers)
//!   and the enabled IPPools. [`view::combine`] merges it with the file's
//!   configuration, and a change goes through the agent's reload path
//!   ([`crate::agent::AgentControl::reconfigure`]): a new reflector starts
//!   a session, a removed one is stopped, the new pools are applied to the
//!   kernel routes already read. Nothing restarts.
//! - When etcd is unreachable the syncer keeps the last snapshot, so the
//!   agent keeps running on the last known state; the syncer retries with
//!   exponential back-off, the link logs the outage and its end, counts it
//!   in the metrics and shows it in `GET /api/v1/status`, and on return the
//!   syncer relists and the differences are applied.
//!
//! [`Link`] is the task doing this; the daemon starts it before the agent,
//! waits (up to `start_wait`) for a first snapshot so that the agent starts
//! with its reflectors, then attaches the agent.

pub mod node;
pub mod view;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;
use reflex_datastore::backoff::Backoff;
use reflex_datastore::model::Kind;
use reflex_datastore::store::Datastore;
use reflex_datastore::store::etcd::{EtcdConfig, EtcdStore, EtcdTls};
use reflex_datastore::syncer::{SyncStatus, Syncer, SyncerConfig};
use reflex_datastore::{DatastoreError, Snapshot};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::agent::{AgentConfig, AgentControl, AgentError, Reconfigured};
use crate::api::types::{DatastoreState, DatastoreStatus, SkippedPeering};
use crate::config::schema;
use node::OwnNode;
use view::View;

/// How to reach the datastore and how patiently.
#[derive(Debug, Clone)]
pub struct Settings {
    /// etcd's connection settings.
    pub etcd: EtcdConfig,
    /// First and longest delay between retries.
    pub backoff: (Duration, Duration),
    /// How long the daemon waits for a first snapshot at start.
    pub start_wait: Duration,
}

impl Settings {
    /// The settings of a `[datastore]` section.
    pub fn from_file(file: &schema::Datastore) -> Settings {
        let secs = |v: Option<u32>, default: u64| Duration::from_secs(v.map_or(default, u64::from));
        let retry_max = secs(file.retry_max, 10).max(Duration::from_millis(100));
        let keepalive = secs(file.keepalive, 10).max(Duration::from_secs(1));
        let mut etcd = EtcdConfig::new(file.endpoints.iter().cloned());
        etcd.credentials = file.username.clone().zip(file.password.clone());
        if file.ca_file.is_some() || file.cert_file.is_some() {
            etcd.tls = Some(EtcdTls {
                ca_file: file.ca_file.clone(),
                cert_file: file.cert_file.clone(),
                key_file: file.key_file.clone(),
                domain_name: None,
            });
        }
        etcd.keep_alive = (keepalive, keepalive);
        etcd.connect_timeout = keepalive.min(Duration::from_secs(5));
        etcd.retry_backoff = (Duration::from_millis(100), retry_max);
        Settings {
            etcd,
            backoff: (Duration::from_millis(100), retry_max),
            start_wait: secs(file.start_wait, 10),
        }
    }
}

/// The node's address of each family and its prefix length, from the
/// interface that has it (`/32` or `/128` when no interface does).
pub fn with_prefix_length(address: IpAddr) -> IpNetwork {
    let length = if_addrs::get_if_addrs()
        .ok()
        .and_then(|interfaces| {
            interfaces.into_iter().find_map(|i| match i.addr {
                if_addrs::IfAddr::V4(a) if IpAddr::V4(a.ip) == address => {
                    Some(u32::from(a.netmask).count_ones() as u8)
                }
                if_addrs::IfAddr::V6(a) if IpAddr::V6(a.ip) == address => {
                    Some(u128::from(a.netmask).count_ones() as u8)
                }
                _ => None,
            })
        })
        .unwrap_or(if address.is_ipv4() { 32 } else { 128 });
    IpNetwork::new(address, length).unwrap_or_else(|_| IpNetwork::from(address))
}

/// The node's IPv4 address as the source of the route to the first etcd
/// endpoint (Calico's `can-reach` autodetection), when it is an IPv4
/// literal or a name that resolves. No packet is sent.
pub async fn autodetect_ipv4(endpoints: &[String]) -> Option<Ipv4Addr> {
    let endpoint = endpoints.first()?;
    let host_port = endpoint
        .split("://")
        .nth(1)
        .unwrap_or(endpoint)
        .trim_end_matches('/');
    let target: SocketAddr = tokio::net::lookup_host(host_port)
        .await
        .ok()?
        .find(SocketAddr::is_ipv4)?;
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect(target).ok()?;
    match socket.local_addr().ok()?.ip() {
        IpAddr::V4(v4) if !v4.is_unspecified() => Some(v4),
        _ => None,
    }
}

/// What the link shows (API, metrics).
#[derive(Debug)]
struct State {
    endpoints: Vec<String>,
    status: SyncStatus,
    since: Instant,
    last_error: Option<String>,
    revision: i64,
    node_registered: bool,
    view: View,
    updates_applied: u64,
    disconnects: u64,
    restart_required: Vec<String>,
}

impl State {
    fn to_api(&self) -> DatastoreStatus {
        DatastoreStatus {
            kind: "etcd".into(),
            endpoints: self.endpoints.clone(),
            state: match self.status {
                SyncStatus::Connecting => DatastoreState::Connecting,
                SyncStatus::Connected { .. } => DatastoreState::Connected,
                SyncStatus::Disconnected { .. } => DatastoreState::Disconnected,
            },
            state_seconds: self.since.elapsed().as_secs_f64(),
            last_error: self.last_error.clone(),
            revision: self.revision,
            node_registered: self.node_registered,
            reflectors: self.view.reflectors.iter().map(|r| r.address).collect(),
            pools: self.view.pools.clone(),
            skipped: self
                .view
                .skipped
                .iter()
                .map(|s| SkippedPeering {
                    address: s.address,
                    reason: s.reason.clone(),
                })
                .collect(),
            updates_applied: self.updates_applied,
            disconnects: self.disconnects,
            restart_required: self.restart_required.clone(),
        }
    }
}

type Reply = oneshot::Sender<Result<Reconfigured, AgentError>>;

enum Request {
    Attach(AgentControl, Box<AgentConfig>),
    SetBase(Box<AgentConfig>, Reply),
}

/// A future that connects to the datastore.
pub type Connecting<D> = Pin<Box<dyn Future<Output = Result<D, DatastoreError>> + Send>>;

/// The running datastore link. Dropping it stops it.
#[derive(Debug)]
pub struct Link {
    state: Arc<Mutex<State>>,
    requests: mpsc::Sender<Request>,
    first: watch::Receiver<Option<AgentConfig>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Request::Attach(..) => "Attach",
            Request::SetBase(..) => "SetBase",
        })
    }
}

impl Link {
    /// Start a link to etcd for the node `own`, around the file's
    /// configuration `base` (`asn_configured`: its AS is the file's, not a
    /// default).
    pub fn start_etcd(
        settings: &Settings,
        base: AgentConfig,
        asn_configured: bool,
        own: OwnNode,
    ) -> Link {
        let etcd = settings.etcd.clone();
        let connect =
            move || -> Connecting<EtcdStore> { Box::pin(EtcdStore::connect(etcd.clone())) };
        Link::start(connect, settings, base, asn_configured, own)
    }

    /// Start a link to the store `connect` makes (retried with back-off).
    pub fn start<D, F>(
        connect: F,
        settings: &Settings,
        base: AgentConfig,
        asn_configured: bool,
        own: OwnNode,
    ) -> Link
    where
        D: Datastore + Clone,
        F: Fn() -> Connecting<D> + Send + 'static,
    {
        let state = Arc::new(Mutex::new(State {
            endpoints: settings.etcd.endpoints.clone(),
            status: SyncStatus::Connecting,
            since: Instant::now(),
            last_error: None,
            revision: 0,
            node_registered: false,
            view: View::default(),
            updates_applied: 0,
            disconnects: 0,
            restart_required: Vec::new(),
        }));
        let (requests, rx) = mpsc::channel(4);
        let (first_tx, first) = watch::channel(None);
        let task = Task {
            state: state.clone(),
            base,
            asn_configured,
            own,
            backoff: settings.backoff,
            agent: None,
            desired: None,
            running_as: None,
            first: Some(first_tx),
            status: SyncStatus::Connecting,
            next_register: None,
        };
        let task = tokio::spawn(task.run(connect, rx));
        Link {
            state,
            requests,
            first,
            task,
        }
    }

    /// The configuration to start the agent with: the file's combined with
    /// the first snapshot, or the file's alone (no reflector from the
    /// datastore, nothing advertised) when none came within `wait`.
    pub async fn initial(&self, base: &AgentConfig, wait: Duration) -> AgentConfig {
        let mut first = self.first.clone();
        let got = tokio::time::timeout(wait, first.wait_for(Option::is_some)).await;
        match got {
            Ok(Ok(config)) => config.clone().unwrap_or_else(|| base.clone()),
            _ => {
                tracing::warn!(
                    wait = ?wait,
                    "no datastore snapshot yet: starting with the file's reflectors and no pools"
                );
                base.clone()
            }
        }
    }

    /// Hand the running agent (started with `running`) to the link.
    pub async fn attach(&self, agent: AgentControl, running: AgentConfig) {
        let _ = self
            .requests
            .send(Request::Attach(agent, Box::new(running)))
            .await;
    }

    /// A new file configuration (a reload): combined with the last known
    /// resources and applied.
    pub async fn set_base(&self, base: AgentConfig) -> Result<Reconfigured, AgentError> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request::SetBase(Box::new(base), tx))
            .await
            .map_err(|_| AgentError::Stopped)?;
        rx.await.map_err(|_| AgentError::Stopped)?
    }

    /// What the API shows.
    pub fn status(&self) -> DatastoreStatus {
        match self.state.lock() {
            Ok(state) => state.to_api(),
            Err(poisoned) => poisoned.into_inner().to_api(),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The link's task.
struct Task {
    state: Arc<Mutex<State>>,
    base: AgentConfig,
    asn_configured: bool,
    own: OwnNode,
    backoff: (Duration, Duration),
    agent: Option<AgentControl>,
    /// The last configuration computed (applied, or being applied).
    desired: Option<AgentConfig>,
    /// The AS the agent runs with (a change waits for a restart).
    running_as: Option<u32>,
    first: Option<watch::Sender<Option<AgentConfig>>>,
    status: SyncStatus,
    next_register: Option<tokio::time::Instant>,
}

/// The kinds the peerings and pools depend on.
const KINDS: [Kind; 4] = [
    Kind::Node,
    Kind::BgpPeer,
    Kind::BgpConfiguration,
    Kind::IpPool,
];

impl Task {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn run<D, F>(mut self, connect: F, mut requests: mpsc::Receiver<Request>)
    where
        D: Datastore + Clone,
        F: Fn() -> Connecting<D> + Send + 'static,
    {
        let mut backoff = Backoff::new(self.backoff.0, self.backoff.1);
        let store = loop {
            match connect().await {
                Ok(store) => break store,
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(%error, retry_in = ?delay, "cannot connect to the datastore");
                    self.state().last_error = Some(error.to_string());
                    let sleep = tokio::time::sleep(delay);
                    tokio::pin!(sleep);
                    loop {
                        tokio::select! {
                            () = &mut sleep => break,
                            request = requests.recv() => match request {
                                Some(r) => self.request(r, &Snapshot::new()).await,
                                None => return,
                            },
                        }
                    }
                }
            }
        };
        let syncer = Syncer::start(
            Arc::new(store.clone()),
            SyncerConfig {
                kinds: KINDS.to_vec(),
                initial_backoff: self.backoff.0,
                max_backoff: self.backoff.1,
                ..SyncerConfig::default()
            },
        );
        let mut statuses = syncer.status_updates();
        let mut snapshots = syncer.snapshots();
        loop {
            let register_at = self.next_register;
            let register = async move {
                match register_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = statuses.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let status = statuses.borrow_and_update().clone();
                    self.on_status(status);
                    if self.connected() {
                        self.register(&store, &syncer.snapshot()).await;
                    }
                    self.apply(&syncer.snapshot()).await;
                }
                changed = snapshots.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let snapshot = snapshots.borrow_and_update().clone();
                    if self.connected() && !self.own.is_registered(&snapshot) && self.next_register.is_none() {
                        // Deleted or changed by someone: ours again, soon.
                        self.next_register = Some(tokio::time::Instant::now() + Duration::from_secs(1));
                    }
                    self.apply(&snapshot).await;
                }
                () = register => {
                    self.next_register = None;
                    if self.connected() {
                        self.register(&store, &syncer.snapshot()).await;
                    }
                }
                request = requests.recv() => match request {
                    Some(r) => self.request(r, &syncer.snapshot()).await,
                    None => return,
                },
            }
        }
    }

    fn connected(&self) -> bool {
        matches!(self.status, SyncStatus::Connected { .. })
    }

    fn on_status(&mut self, status: SyncStatus) {
        let was = std::mem::replace(&mut self.status, status.clone());
        let mut state = self.state();
        let kind_changed = std::mem::discriminant(&was) != std::mem::discriminant(&status);
        if kind_changed {
            state.since = Instant::now();
        }
        match &status {
            SyncStatus::Connected { revision } => {
                state.revision = *revision;
                if matches!(was, SyncStatus::Disconnected { .. }) {
                    tracing::info!(revision, "datastore reachable again: resynchronised");
                } else if kind_changed {
                    tracing::info!(revision, "datastore in sync");
                }
            }
            SyncStatus::Disconnected { error, .. } => {
                state.last_error = Some(error.clone());
                if kind_changed {
                    state.disconnects += 1;
                    tracing::warn!(
                        %error,
                        "datastore unreachable: running on the last known state, retrying with back-off"
                    );
                }
            }
            SyncStatus::Connecting => {}
        }
        state.status = status;
    }

    async fn register<D: Datastore>(&mut self, store: &D, snapshot: &Snapshot) {
        if self.own.is_registered(snapshot) {
            self.state().node_registered = true;
            return;
        }
        match self.own.register(store).await {
            Ok(written) => {
                if written {
                    tracing::info!(
                        node = %self.own.name,
                        ipv4 = %text(self.own.ipv4),
                        ipv6 = %text(self.own.ipv6),
                        asn = %text(self.own.asn),
                        "Node resource registered"
                    );
                }
                self.state().node_registered = true;
            }
            Err(error) => {
                tracing::warn!(%error, node = %self.own.name, "cannot register the Node resource; retrying");
                self.state().node_registered = false;
                self.next_register =
                    Some(tokio::time::Instant::now() + self.backoff.1.min(Duration::from_secs(2)));
            }
        }
    }

    async fn request(&mut self, request: Request, snapshot: &Snapshot) {
        match request {
            Request::Attach(agent, running) => {
                self.agent = Some(agent);
                self.running_as = Some(running.local_as);
                self.desired = Some(*running);
                self.apply(snapshot).await;
            }
            Request::SetBase(base, reply) => {
                self.base = *base;
                let view = self.state().view.clone();
                let desired = view::combine(&self.base, self.asn_configured, &view);
                let result = match &self.agent {
                    Some(agent) => agent.reconfigure(desired.clone()).await,
                    None => Err(AgentError::Stopped),
                };
                if result.is_ok() {
                    self.desired = Some(desired);
                }
                let _ = reply.send(result);
            }
        }
    }

    /// Compute what `snapshot` means (once in sync) and apply it if it
    /// changes anything.
    async fn apply(&mut self, snapshot: &Snapshot) {
        if !self.connected() {
            return;
        }
        if self.agent.is_some() && snapshot.node(&self.own.name).is_none() {
            // Deleted: it is written again soon; until then the node has
            // no peerings, so keep the last state rather than drop them.
            return;
        }
        // Peerings of another AS than the one running are not run.
        let local_as = match self.running_as {
            Some(asn) => asn,
            None if self.asn_configured => self.base.local_as,
            None => reflex_datastore::peering::local_bgp(&self.own.name, snapshot)
                .map_or(self.base.local_as, |l| l.asn.0),
        };
        let view = view::view(&self.own.name, snapshot, local_as);
        {
            let mut state = self.state();
            if state.view.skipped != view.skipped {
                for s in view
                    .skipped
                    .iter()
                    .filter(|s| !state.view.skipped.contains(s))
                {
                    tracing::warn!(peer = %s.address, reason = %s.reason, "peering not used");
                }
            }
            state.view = view.clone();
            state.revision = snapshot.revision();
        }
        let desired = view::combine(&self.base, self.asn_configured, &view);
        if let Some(first) = &self.first {
            // At start: the daemon waits for this, once the Node is ours.
            if self.own.is_registered(snapshot) {
                let _ = first.send(Some(desired.clone()));
                self.first = None;
            }
        }
        let Some(agent) = &self.agent else {
            return;
        };
        if self
            .desired
            .as_ref()
            .is_some_and(|d| view::same_effect(d, &desired))
        {
            return;
        }
        match agent.reconfigure(desired.clone()).await {
            Ok(done) => {
                tracing::info!(
                    added = %list(&done.added),
                    removed = %list(&done.removed),
                    pools = %list(&view.pools),
                    originated = done.originated,
                    withdrawn = done.withdrawn,
                    "datastore change applied"
                );
                let mut state = self.state();
                state.updates_applied += 1;
                state.restart_required = done
                    .restart_required
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                drop(state);
                self.desired = Some(desired);
            }
            Err(error) => {
                tracing::error!(%error, "datastore change not applied");
                // Not tried again until the resources change.
                self.desired = Some(desired);
            }
        }
    }
}

/// `value`, or `-`, for logs.
fn text<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// `a,b,c`, or `-`, for logs.
fn list<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "-".into();
    }
    items.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

/// The node's addresses for the `Node` resource.
pub fn own_node(config: &AgentConfig, asn: Option<u32>) -> OwnNode {
    OwnNode {
        name: config.node_name.clone(),
        ipv4: config.node_v4.map(|a| with_prefix_length(IpAddr::V4(a))),
        ipv6: config
            .node_v6
            .map(|a: Ipv6Addr| with_prefix_length(IpAddr::V6(a))),
        asn,
    }
}

#[cfg(test)]
mod tests;
