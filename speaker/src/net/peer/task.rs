//! The loop of one peer task: wait for the first of commands, timers, the
//! connection attempt, socket readiness, outbox data and room in the event
//! channel; feed it to the state machine; act on its outputs.

use std::collections::VecDeque;
use std::future::{Future, pending};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use bgp_proto::iana::notification::cease;
use bgp_proto::message::{Message, RouteRefresh};
use bgp_proto::session::{Event, Negotiated, Output, Session, SessionConfig, State};

use super::collision::{self, Resolution};
use super::conn::Connection;
use super::report::{self, ShowReason};
use super::{PeerParams, session_config};
use crate::backlog::{BacklogShare, RouteBacklog};
use crate::config::PeerOptions;
use crate::events::{PeerCommand, PeerEvent};
use crate::net::connector::{self, ConnectError, ConnectOptions};
use crate::net::listener::close_with_cease;
use crate::outbox::Outbox;
use crate::types::PeerId;

/// Size of the read buffer.
const READ_BUF: usize = 64 * 1024;

type Connecting = Pin<Box<dyn Future<Output = Result<TcpStream, ConnectError>> + Send>>;

/// The state machine's clock: tokio's (so a paused test clock applies).
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// A second connection from the peer, run until its OPEN tells which of
/// the two stays (see `collision`).
struct Candidate {
    session: Session,
    conn: Connection,
    /// Events held back until the candidate is adopted.
    events: Vec<Event>,
}

/// One peer's task. See the module documentation of `net::peer`.
pub(super) struct PeerTask {
    id: PeerId,
    remote: SocketAddr,
    options: PeerOptions,
    cluster_id: Ipv4Addr,
    config: SessionConfig,
    connect: ConnectOptions,
    outbox: Arc<Outbox>,
    events: mpsc::Sender<PeerEvent>,
    /// Permits for decoded prefixes, which each UPDATE takes before it
    /// goes to the core.
    backlog: RouteBacklog,
    commands: mpsc::UnboundedReceiver<PeerCommand>,
    session: Session,
    conn: Option<Connection>,
    connecting: Option<Connecting>,
    candidate: Option<Candidate>,
    /// The negotiated parameters while Established.
    established: Option<Arc<Negotiated>>,
    /// Events waiting for room in the core's channel.
    pending: VecDeque<PeerEvent>,
    /// Not stopped.
    running: bool,
    /// Leave the loop.
    done: bool,
    /// Don't report the main session's Down (it lost a collision).
    quiet: bool,
    /// Why the last outgoing connection attempt failed, until one succeeds.
    connect_error: Option<String>,
    read_buf: Box<[u8]>,
}

impl PeerTask {
    pub(super) fn new(params: PeerParams, commands: mpsc::UnboundedReceiver<PeerCommand>) -> Self {
        let config = session_config(
            &params.options,
            params.local_as,
            params.router_id,
            params.send_hold_time,
        );
        PeerTask {
            id: params.id,
            remote: SocketAddr::new(params.address.to_canonical(), params.options.port),
            connect: ConnectOptions::from_peer(&params.options),
            options: params.options,
            cluster_id: params.cluster_id,
            session: Session::new(config.clone()),
            config,
            outbox: params.outbox,
            events: params.events,
            backlog: params.backlog,
            commands,
            conn: None,
            connecting: None,
            candidate: None,
            established: None,
            pending: VecDeque::new(),
            running: true,
            done: false,
            quiet: false,
            connect_error: None,
            read_buf: vec![0; READ_BUF].into_boxed_slice(),
        }
    }

    pub(super) async fn run(mut self) {
        self.session.handle_start(now());
        loop {
            self.settle();
            if self.done {
                break;
            }
            self.wait().await;
        }
        for event in std::mem::take(&mut self.pending) {
            if self.events.send(event).await.is_err() {
                return;
            }
        }
        let _ = self.events.send(PeerEvent::Gone { peer: self.id }).await;
    }

    // ---- waiting ----

    async fn wait(&mut self) {
        let deadline = [
            self.session.poll_timeout(),
            self.candidate
                .as_ref()
                .and_then(|c| c.session.poll_timeout()),
        ]
        .into_iter()
        .flatten()
        .min();
        let read_main = self.pending.is_empty();
        // The first pending event waits for backlog permits or for room in
        // the channel, not both at once: `flush_events` takes the permits
        // first.
        let unshared = self.unshared_cost();
        let wait_room = !self.pending.is_empty() && unshared.is_none();
        // The backlog's handle only when its permits are awaited (most
        // waits are not for them).
        let backlog = unshared.map(|cost| (self.backlog.clone(), cost));
        let wait_outbox =
            self.established.is_some() && self.conn.as_ref().is_some_and(Connection::outbox_idle);
        let candidate = self.candidate.as_ref().map(|c| &c.conn);
        tokio::select! {
            command = self.commands.recv() => self.on_command(command),
            () = sleep_until(deadline) => {
                let now = now();
                self.session.handle_timeout(now);
                if let Some(candidate) = &mut self.candidate {
                    candidate.session.handle_timeout(now);
                }
            }
            result = connecting(&mut self.connecting) => {
                self.connecting = None;
                self.on_connected(result);
            }
            result = readable(self.conn.as_ref()), if read_main => match result {
                Ok(()) => self.read_main(),
                Err(error) => self.main_failed(&error),
            },
            result = readable(candidate) => match result {
                Ok(()) => self.read_candidate(),
                Err(error) => self.candidate_failed(&error),
            },
            _ = writable(self.conn.as_ref()) => {}
            _ = writable(self.candidate.as_ref().map(|c| &c.conn)) => {}
            () = self.outbox.wait(), if wait_outbox => {}
            // `settle` passes the events on (or finds the channel closed).
            _ = room(&self.events), if wait_room => {}
            share = share_of(backlog) => self.give_share(share),
        }
    }

    // ---- inputs ----

    fn on_command(&mut self, command: Option<PeerCommand>) {
        let now = now();
        match command {
            None => {
                tracing::debug!("handle dropped: stopping");
                self.stop(cease::PEER_DECONFIGURED, "");
            }
            Some(PeerCommand::Stop { subcode, message }) => self.stop(subcode, &message),
            Some(PeerCommand::StopWith(notification)) => {
                self.running = false;
                self.done = true;
                tracing::info!("peer stopped: {notification}");
                if let Some(candidate) = &mut self.candidate {
                    candidate
                        .session
                        .handle_stop_with(now, notification.clone());
                }
                self.session.handle_stop_with(now, notification);
            }
            Some(PeerCommand::Reset { subcode }) => {
                tracing::info!(subcode, "resetting the session");
                self.drop_candidate(now, subcode);
                self.session.handle_stop(now, subcode, "");
                self.drain_main();
                self.session.handle_start(now);
            }
            Some(PeerCommand::Accepted(stream, remote)) => self.on_accepted(stream, remote),
            Some(PeerCommand::SendRouteRefresh(refresh)) => self.send_route_refresh(refresh),
        }
    }

    /// ManualStop: Cease on every connection, and end the task.
    fn stop(&mut self, subcode: u8, message: &str) {
        let now = now();
        self.running = false;
        self.done = true;
        if let Some(candidate) = &mut self.candidate {
            candidate.session.handle_stop(now, subcode, message);
        }
        self.session.handle_stop(now, subcode, message);
        tracing::info!(subcode, message, "peer stopped");
    }

    fn drop_candidate(&mut self, now: Instant, subcode: u8) {
        if let Some(candidate) = &mut self.candidate {
            candidate.session.handle_stop(now, subcode, "");
        }
        self.drain_candidate();
    }

    fn send_route_refresh(&mut self, refresh: RouteRefresh) {
        let (Some(negotiated), Some(conn)) = (&self.established, &mut self.conn) else {
            tracing::warn!("no ROUTE-REFRESH sent: the session is not established");
            return;
        };
        if !negotiated.route_refresh {
            tracing::warn!("no ROUTE-REFRESH sent: the peer did not announce the capability");
            return;
        }
        match Message::RouteRefresh(refresh).to_bytes(&negotiated.encode_ctx()) {
            Ok(bytes) => conn.queue(bytes.freeze()),
            Err(error) => tracing::warn!(%error, "cannot encode ROUTE-REFRESH"),
        }
    }

    fn on_accepted(&mut self, stream: TcpStream, remote: SocketAddr) {
        let now = now();
        if let Err(error) =
            connector::configure_accepted(&stream, remote.ip(), self.options.ttl_security)
        {
            tracing::warn!(%remote, %error, "dropping accepted connection");
            return;
        }
        let conn = match Connection::new(stream, false) {
            Ok(conn) => conn,
            Err(error) => {
                tracing::debug!(%remote, %error, "accepted connection already gone");
                return;
            }
        };
        let graceful_restart = self
            .established
            .as_ref()
            .is_some_and(|n| n.graceful_restart);
        match self.session.state() {
            State::Idle if self.session.waiting_to_restart() => {
                tracing::debug!(%remote, "using accepted connection: back-off wait ended");
                self.connecting = None;
                if let Some(old) = self.conn.replace(conn) {
                    old.close();
                }
                self.session.handle_inbound_while_waiting(now);
            }
            State::Idle => {
                tracing::info!(%remote, "refusing connection: session idle");
                close_with_cease(conn.into_stream(), cease::CONNECTION_REJECTED);
            }
            State::Connect | State::Active => {
                tracing::debug!(%remote, "using accepted connection");
                self.connecting = None;
                if let Some(old) = self.conn.replace(conn) {
                    old.close();
                }
                self.session.handle_connected(now);
            }
            State::Established if !graceful_restart => {
                tracing::info!(%remote, "connection collision with the established session: closing the new connection");
                close_with_cease(conn.into_stream(), cease::CONNECTION_COLLISION_RESOLUTION);
            }
            State::OpenSent | State::OpenConfirm | State::Established => {
                tracing::debug!(%remote, "connection collision: waiting for the OPEN");
                self.drop_candidate(now, cease::CONNECTION_COLLISION_RESOLUTION);
                let mut session = Session::new(self.config.clone());
                session.handle_start(now);
                session.handle_connected(now);
                self.candidate = Some(Candidate {
                    session,
                    conn,
                    events: Vec::new(),
                });
            }
        }
    }

    fn on_connected(&mut self, result: Result<TcpStream, ConnectError>) {
        let now = now();
        match result.and_then(|stream| {
            Connection::new(stream, true).map_err(|source| ConnectError::Connect {
                addr: self.remote,
                source,
            })
        }) {
            Ok(conn) if !matches!(self.session.state(), State::Connect | State::Active) => {
                tracing::debug!(local = %conn.local, "connected too late: closing");
                drop(conn);
            }
            Ok(conn) => {
                tracing::debug!(local = %conn.local, "connected");
                self.connect_error = None;
                if let Some(old) = self.conn.replace(conn) {
                    old.close();
                }
                self.session.handle_connected(now);
            }
            Err(error) => {
                tracing::debug!(%error, "connection attempt failed");
                self.connect_error = Some(error.to_string());
                self.session.handle_connection_failed(now);
            }
        }
    }

    fn read_main(&mut self) {
        let Some(conn) = &mut self.conn else { return };
        match conn.try_read(&mut self.read_buf) {
            Ok(0) => self.main_failed(&io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                // Tagged with the peer; a KEEPALIVE alone (19 octets) is not a route's.
                if n != 19 {
                    crate::speaker::hops::mark("peer.read", u64::from(self.id.0));
                }
                self.session.handle_bytes(now(), &self.read_buf[..n])
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => self.main_failed(&error),
        }
    }

    fn read_candidate(&mut self) {
        let Some(candidate) = &mut self.candidate else {
            return;
        };
        match candidate.conn.try_read(&mut self.read_buf) {
            Ok(0) => self.candidate_failed(&io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => candidate.session.handle_bytes(now(), &self.read_buf[..n]),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => self.candidate_failed(&error),
        }
    }

    /// The main connection broke (RFC 4271 event 18).
    fn main_failed(&mut self, error: &io::Error) {
        tracing::debug!(%error, "connection closed");
        self.conn = None;
        self.session.handle_connection_failed(now());
    }

    fn candidate_failed(&mut self, error: &io::Error) {
        tracing::debug!(%error, "colliding connection closed");
        self.candidate = None;
    }

    // ---- outputs ----

    /// Act on everything the inputs caused, until nothing changes.
    fn settle(&mut self) {
        loop {
            let now = now();
            self.drain_main();
            self.drain_candidate();
            if self.resolve_collision(now) {
                continue;
            }
            self.take_outbox();
            if self.flush_main(now) {
                continue;
            }
            self.flush_candidate(now);
            if self.flush_events() {
                continue;
            }
            break;
        }
    }

    fn drain_main(&mut self) {
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Connect => self.start_connecting(),
                Output::Transmit(bytes) => match &mut self.conn {
                    Some(conn) => conn.queue(bytes),
                    None => tracing::trace!("no connection for {} octets", bytes.len()),
                },
                Output::Disconnect => {
                    self.connecting = None;
                    if let Some(conn) = self.conn.take() {
                        conn.close();
                    }
                }
                Output::Event(event) => self.on_event(event),
            }
        }
    }

    fn start_connecting(&mut self) {
        let remote = self.remote;
        let options = self.connect.clone();
        tracing::debug!(%remote, "connecting");
        self.connecting = Some(Box::pin(async move {
            connector::connect(remote, &options).await
        }));
    }

    fn drain_candidate(&mut self) {
        let Some(candidate) = &mut self.candidate else {
            return;
        };
        let mut closed = false;
        while let Some(output) = candidate.session.poll_output() {
            match output {
                Output::Transmit(bytes) if !closed => candidate.conn.queue(bytes),
                Output::Disconnect | Output::Event(Event::Down(_)) => closed = true,
                Output::Event(event) if !closed => candidate.events.push(event),
                _ => {}
            }
        }
        if closed {
            if let Some(candidate) = self.candidate.take() {
                tracing::debug!(remote = %candidate.conn.remote, "colliding connection closed");
                candidate.conn.close();
            }
        }
    }

    /// Decide a pending collision. True when the main session changed.
    fn resolve_collision(&mut self, now: Instant) -> bool {
        let Some(candidate) = &self.candidate else {
            return false;
        };
        let negotiated = candidate.session.negotiated();
        let main = collision::Main {
            state: self.session.state(),
            outbound: self.conn.as_ref().map(|c| c.outbound),
            graceful_restart: self
                .established
                .as_ref()
                .is_some_and(|n| n.graceful_restart),
        };
        let cand = collision::Candidate {
            state: candidate.session.state(),
            peer_id: negotiated.map(|n| n.peer_id),
            peer_graceful_restart: negotiated.is_some_and(|n| n.peer_graceful_restart.is_some()),
        };
        let resolution = collision::decide(self.config.local_id, self.running, main, cand);
        match resolution {
            Resolution::Wait => return false,
            Resolution::DumpCandidate => {
                tracing::info!(state = ?main.state, "connection collision: keeping the existing connection");
                if let Some(candidate) = &mut self.candidate {
                    candidate.session.handle_collision_dump(now);
                }
                self.drain_candidate();
                // A candidate past its OPEN has no Disconnect left to give.
                if let Some(candidate) = self.candidate.take() {
                    candidate.conn.close();
                }
                return false;
            }
            Resolution::DumpMain => {
                tracing::info!(state = ?main.state, "connection collision: keeping the peer's new connection");
                self.quiet = true;
                self.session.handle_collision_dump(now);
                self.drain_main();
                self.quiet = false;
            }
            Resolution::Adopt => {
                tracing::debug!("the peer's new connection takes over");
                self.connecting = None;
            }
            Resolution::ReplaceEstablished => {
                tracing::info!(
                    "the peer restarted (RFC 4724 section 4.2): replacing the established session"
                );
                // No NOTIFICATION: the old session ends as if its TCP connection failed.
                self.conn = None;
                self.session.handle_connection_failed(now);
                self.drain_main();
            }
        }
        let Some(candidate) = self.candidate.take() else {
            return false;
        };
        self.session = candidate.session;
        if let Some(old) = self.conn.replace(candidate.conn) {
            old.close();
        }
        for event in candidate.events {
            self.on_event(event);
        }
        true
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::StateChanged { from, to } => tracing::debug!(?from, ?to, "state changed"),
            Event::Established(negotiated) => self.on_established(Arc::new(*negotiated)),
            Event::Update {
                update, findings, ..
            } => self.pending.push_back(PeerEvent::Update {
                peer: self.id,
                update,
                findings,
                share: BacklogShare::none(),
            }),
            Event::RouteRefresh(refresh) => self.pending.push_back(PeerEvent::RouteRefresh {
                peer: self.id,
                refresh,
            }),
            Event::Down(reason) => {
                let was = self.established.take();
                let graceful = was
                    .as_ref()
                    .is_some_and(|n| report::graceful(n, false, &reason));
                if was.is_some() {
                    // Nothing queued for this session may reach the next.
                    self.outbox.close();
                }
                if let Some(conn) = &mut self.conn {
                    conn.clear_outbox();
                }
                if was.is_some() {
                    tracing::info!(graceful, "session down: {}", ShowReason(&reason));
                } else {
                    tracing::debug!("session failed: {}", ShowReason(&reason));
                }
                if !self.quiet {
                    let detail = match (&reason, &was) {
                        (bgp_proto::session::DownReason::ConnectionLost, None) => {
                            self.connect_error.clone()
                        }
                        _ => None,
                    };
                    self.pending.push_back(PeerEvent::Down {
                        peer: self.id,
                        reason,
                        detail,
                        was_established: was.is_some(),
                        graceful,
                    });
                }
            }
        }
    }

    fn on_established(&mut self, negotiated: Arc<Negotiated>) {
        // The core opens the outbox when it adds us to an update group.
        let local_address = match &mut self.conn {
            Some(conn) => {
                conn.clear_outbox();
                conn.local.ip()
            }
            None => IpAddr::from(Ipv4Addr::UNSPECIFIED),
        };
        tracing::info!(
            peer_as = negotiated.peer_as,
            router_id = %negotiated.peer_id,
            hold = ?negotiated.hold_time,
            families = ?negotiated.families,
            "session established"
        );
        self.established = Some(negotiated.clone());
        let info = report::peer_info(
            self.id,
            self.remote.ip(),
            &self.options,
            self.cluster_id,
            negotiated,
        );
        self.pending.push_back(PeerEvent::Established {
            info,
            local_address,
        });
    }

    fn take_outbox(&mut self) {
        if self.established.is_none() || self.session.state() != State::Established {
            return;
        }
        if let Some(conn) = &mut self.conn {
            if conn.outbox_idle() && self.outbox.queued_bytes() > 0 {
                crate::speaker::hops::mark("peer.outbox", u64::from(self.id.0));
                self.outbox.take_all(conn.outbox_queue());
            }
        }
    }

    /// Write what can be written. True when the connection failed.
    fn flush_main(&mut self, now: Instant) -> bool {
        let Some(conn) = &mut self.conn else {
            return false;
        };
        if !conn.wants_write() {
            return false;
        }
        match conn.flush() {
            Ok(flushed) => {
                // RFC 9687 section 3: the Send Hold Timer runs while no
                // progress is made.
                if flushed.progress {
                    self.session.handle_write_blocked(now, false);
                }
                if conn.is_blocked() {
                    self.session.handle_write_blocked(now, true);
                }
                if flushed.outbox_bytes > 0 {
                    crate::speaker::hops::mark("peer.write", u64::from(self.id.0));
                    self.session.handle_update_sent(now);
                    if self.outbox.written(flushed.outbox_bytes) {
                        self.pending.push_back(PeerEvent::Drained { peer: self.id });
                    }
                }
                false
            }
            Err(error) => {
                self.main_failed(&error);
                true
            }
        }
    }

    fn flush_candidate(&mut self, now: Instant) {
        let Some(candidate) = &mut self.candidate else {
            return;
        };
        if !candidate.conn.wants_write() {
            return;
        }
        match candidate.conn.flush() {
            Ok(flushed) => {
                if flushed.progress {
                    candidate.session.handle_write_blocked(now, false);
                }
                if candidate.conn.is_blocked() {
                    candidate.session.handle_write_blocked(now, true);
                }
            }
            Err(error) => self.candidate_failed(&error),
        }
    }

    /// Pass pending events on while the channel has room, an UPDATE only
    /// once it holds its backlog share. True when the channel turned out to
    /// be closed.
    fn flush_events(&mut self) -> bool {
        loop {
            if let Some(cost) = self.unshared_cost() {
                let Some(taken) = self.backlog.try_take(cost) else {
                    return false;
                };
                self.give_share(taken);
            }
            let Some(event) = self.pending.pop_front() else {
                return false;
            };
            match self.events.try_send(event) {
                Ok(()) => {}
                Err(TrySendError::Full(event)) => {
                    self.pending.push_front(event);
                    return false;
                }
                Err(TrySendError::Closed(_)) => {
                    self.pending.clear();
                    if !self.done {
                        self.stop(cease::PEER_DECONFIGURED, "");
                        return true;
                    }
                    return false;
                }
            }
        }
    }

    /// The backlog permits the first pending event still needs: an UPDATE
    /// with prefixes that holds no share yet.
    fn unshared_cost(&self) -> Option<u32> {
        match self.pending.front() {
            Some(PeerEvent::Update { update, share, .. }) if !share.is_held() => {
                Some(self.backlog.cost(update)).filter(|&cost| cost > 0)
            }
            _ => None,
        }
    }

    /// Give the first pending event the share it waited for.
    fn give_share(&mut self, taken: BacklogShare) {
        if let Some(PeerEvent::Update { share, .. }) = self.pending.front_mut() {
            *share = taken;
        }
    }
}

/// A share of the backlog, once it has `cost` permits free; never without
/// a backlog to wait for.
async fn share_of(wanted: Option<(RouteBacklog, u32)>) -> BacklogShare {
    match wanted {
        Some((backlog, cost)) => backlog.take(cost).await,
        None => pending().await,
    }
}

/// Wait for room in the event channel; false when it is closed.
async fn room(events: &mpsc::Sender<PeerEvent>) -> bool {
    events.reserve().await.is_ok()
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await,
        None => pending().await,
    }
}

async fn connecting(attempt: &mut Option<Connecting>) -> Result<TcpStream, ConnectError> {
    match attempt {
        Some(attempt) => attempt.await,
        None => pending().await,
    }
}

async fn readable(conn: Option<&Connection>) -> io::Result<()> {
    match conn {
        Some(conn) => conn.readable().await,
        None => pending().await,
    }
}

/// Ready when the connection has something to write and room for it.
async fn writable(conn: Option<&Connection>) -> io::Result<()> {
    match conn {
        Some(conn) if conn.wants_write() => conn.writable().await,
        _ => pending().await,
    }
}
