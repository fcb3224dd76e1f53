//! The session state machine of RFC 4271 section 8, without I/O.
//!
//! One [`Session`] drives one peer over at most one TCP connection at a time.
//! The caller owns the socket and the clock:
//!
//! 1. feed inputs: [`Session::handle_start`], [`Session::handle_stop`],
//!    [`Session::handle_connected`], [`Session::handle_connection_failed`],
//!    [`Session::handle_bytes`], [`Session::handle_write_blocked`],
//!    [`Session::handle_collision_dump`], and [`Session::handle_timeout`]
//!    once the instant of [`Session::poll_timeout`] has passed;
//! 2. after each input, drain [`Session::poll_output`] until `None`, acting on
//!    every [`Output`] in order (connect, write bytes, close, report events).
//!
//! The event numbers of RFC 4271 section 8.1 are given in the comments.

use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::config::SessionConfig;
use super::negotiated::Negotiated;
use crate::capability::Capability;
use crate::context::CodecCtx;
use crate::error::{DecodeError, ErrorKind, Findings};
use crate::iana::notification as code;
use crate::message::{
    Message, Notification, Open, RouteRefresh, Update, decode_message, frame_len,
};

/// The six states of RFC 4271 section 8.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not trying to connect.
    Idle,
    /// Waiting for our TCP connection to complete.
    Connect,
    /// Waiting for the peer to connect to us.
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for a KEEPALIVE.
    OpenConfirm,
    /// Up: UPDATEs flow.
    Established,
}

/// Why a session left Established or failed to get there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// We stopped it (ManualStop / AutomaticStop), with the Cease we sent.
    Stopped(Notification),
    /// We sent this NOTIFICATION because of an error.
    NotificationSent(Notification),
    /// The peer sent this NOTIFICATION.
    NotificationReceived(Notification),
    /// The TCP connection failed or closed.
    ConnectionLost,
    /// The connection attempt was given up, to retry later.
    ConnectRetry,
}

/// Something the session reports to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The state changed.
    StateChanged {
        /// Previous state.
        from: State,
        /// New state.
        to: State,
    },
    /// The session reached Established with these negotiated parameters.
    Established(Box<Negotiated>),
    /// An UPDATE arrived. When `findings.treat_as_withdraw()`, its
    /// announced routes must be handled as withdrawn (RFC 7606).
    Update {
        /// The decoded UPDATE.
        update: Update,
        /// Non-fatal errors found in it.
        findings: Findings,
        /// The message as received, header included.
        raw: Bytes,
    },
    /// A ROUTE-REFRESH arrived (RFC 2918, RFC 7313).
    RouteRefresh(RouteRefresh),
    /// The session went down (or a connection attempt ended).
    Down(DownReason),
}

/// What the owner must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Open a TCP connection to the peer.
    Connect,
    /// Write these bytes to the connection.
    Transmit(Bytes),
    /// Close the connection once the bytes before this are written.
    Disconnect,
    /// Report this.
    Event(Event),
}

/// A one-shot timer: a deadline or nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Timer(Option<Instant>);

impl Timer {
    fn start(&mut self, now: Instant, after: Duration) {
        self.0 = Some(now + after);
    }
    fn stop(&mut self) {
        self.0 = None;
    }
    fn running(&self) -> bool {
        self.0.is_some()
    }
    /// True once, when the deadline has passed; the timer is then stopped.
    fn expired(&mut self, now: Instant) -> bool {
        match self.0 {
            Some(deadline) if deadline <= now => {
                self.0 = None;
                true
            }
            _ => false,
        }
    }
}

#[derive(Debug, Default)]
struct Timers {
    connect_retry: Timer,
    hold: Timer,
    keepalive: Timer,
    delay_open: Timer,
    idle_hold: Timer,
    send_hold: Timer,
}

/// The state machine of one BGP session. See the module documentation.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    timers: Timers,
    /// ConnectRetryCounter (RFC 4271 section 8).
    connect_retry_counter: u32,
    /// Current idle hold time (doubles on each failure).
    idle_hold: Duration,
    established_at: Option<Instant>,
    /// Set by a start, cleared by a manual stop: restart after failures?
    running: bool,
    local_open: Option<Open>,
    negotiated: Option<Negotiated>,
    decode_ctx: CodecCtx,
    input: BytesMut,
    outputs: VecDeque<Output>,
}

impl Session {
    /// A session in Idle. Nothing happens until [`Session::handle_start`].
    pub fn new(config: SessionConfig) -> Self {
        let idle_hold = config.idle_hold;
        Session {
            config,
            state: State::Idle,
            timers: Timers::default(),
            connect_retry_counter: 0,
            idle_hold,
            established_at: None,
            running: false,
            local_open: None,
            negotiated: None,
            decode_ctx: CodecCtx::pre_open(),
            input: BytesMut::new(),
            outputs: VecDeque::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The negotiated parameters, once OPENs are exchanged.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// ConnectRetryCounter: failures since the last manual start or stop.
    pub fn connect_retry_counter(&self) -> u32 {
        self.connect_retry_counter
    }

    /// The next output, if any.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The earliest timer deadline, if any timer runs.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = &self.timers;
        [
            t.connect_retry,
            t.hold,
            t.keepalive,
            t.delay_open,
            t.idle_hold,
            t.send_hold,
        ]
        .iter()
        .filter_map(|timer| timer.0)
        .min()
    }

    /// ManualStart or AutomaticStart (events 1, 3; 4, 5 when passive).
    pub fn handle_start(&mut self, now: Instant) {
        self.running = true;
        if self.state == State::Idle {
            self.timers.idle_hold.stop();
            self.start_connecting(now);
        }
    }

    /// ManualStop (event 2): send a Cease with `subcode` (and the shutdown
    /// communication of RFC 9003 for subcodes 2 and 4) if a connection is
    /// open, go to Idle, and do not restart.
    pub fn handle_stop(&mut self, now: Instant, subcode: u8, message: &str) {
        let cease = if subcode == code::cease::ADMINISTRATIVE_SHUTDOWN
            || subcode == code::cease::ADMINISTRATIVE_RESET
        {
            Notification::cease_shutdown(subcode, message)
        } else {
            Notification::new(code::CEASE, subcode, Bytes::new())
        };
        self.handle_stop_with(now, cease);
    }

    /// ManualStop (event 2) with a NOTIFICATION of the caller's making, such
    /// as Cease / Maximum Number of Prefixes Reached with its RFC 4486 data.
    pub fn handle_stop_with(&mut self, now: Instant, cease: Notification) {
        self.running = false;
        self.timers.idle_hold.stop();
        if self.state == State::Idle {
            return;
        }
        if self.connection_open() {
            self.send(Message::Notification(cease.clone()));
        }
        self.connect_retry_counter = 0;
        self.go_idle(now, DownReason::Stopped(cease), false);
    }

    /// Is the session in Idle only to wait out its back-off before an
    /// automatic restart (the idle hold timer)? The driver may then take a
    /// connection the peer opened ([`Session::handle_inbound_while_waiting`])
    /// instead of refusing it: two peers that keep failing would otherwise
    /// each meet the other's attempts while waiting, and never connect.
    pub fn waiting_to_restart(&self) -> bool {
        self.state == State::Idle && self.running && self.timers.idle_hold.running()
    }

    /// The peer connected while the session [waits to restart]: end the
    /// wait with an AutomaticStart with passive TCP establishment (RFC 4271
    /// section 8.1.1, event 5) and take the connection (event 17). Does
    /// nothing unless [`Session::waiting_to_restart`].
    ///
    /// [waits to restart]: Session::waiting_to_restart
    pub fn handle_inbound_while_waiting(&mut self, now: Instant) {
        if !self.waiting_to_restart() {
            return;
        }
        self.timers.idle_hold.stop();
        self.timers
            .connect_retry
            .start(now, self.config.connect_retry);
        self.set_state(State::Active);
        self.handle_connected(now);
    }

    /// Our connection completed, or we accepted the peer's (events 16, 17).
    pub fn handle_connected(&mut self, now: Instant) {
        match self.state {
            State::Connect | State::Active => {
                self.timers.connect_retry.stop();
                self.input.clear();
                self.decode_ctx = CodecCtx::pre_open();
                if let Some(delay) = self.config.delay_open {
                    self.timers.delay_open.start(now, delay);
                } else {
                    self.send_open(now);
                    self.set_state(State::OpenSent);
                }
            }
            // A connection in Idle is refused; the driver closes it (RFC 4271 8.2.2).
            State::Idle => self.outputs.push_back(Output::Disconnect),
            // A second connection is a collision, for the owner to resolve.
            State::OpenSent | State::OpenConfirm | State::Established => {}
        }
    }

    /// The TCP connection failed or was closed by the peer (event 18).
    pub fn handle_connection_failed(&mut self, now: Instant) {
        match self.state {
            State::Idle => {}
            State::Connect => {
                if self.timers.delay_open.running() {
                    self.timers.delay_open.stop();
                    self.timers
                        .connect_retry
                        .start(now, self.config.connect_retry);
                    self.set_state(State::Active);
                } else {
                    self.go_idle(now, DownReason::ConnectionLost, true);
                }
            }
            State::Active => self.go_idle(now, DownReason::ConnectionLost, true),
            // RFC 4271 8.2.2: OpenSent falls back to Active and keeps listening.
            State::OpenSent => {
                self.timers.hold.stop();
                self.timers.send_hold.stop();
                self.timers
                    .connect_retry
                    .start(now, self.config.connect_retry);
                self.set_state(State::Active);
            }
            State::OpenConfirm | State::Established => {
                self.go_idle(now, DownReason::ConnectionLost, true)
            }
        }
    }

    /// OpenCollisionDump (event 23): the owner resolved a collision (RFC
    /// 4271 section 6.8) against this connection. Sends Cease subcode 7.
    pub fn handle_collision_dump(&mut self, now: Instant) {
        if matches!(
            self.state,
            State::OpenSent | State::OpenConfirm | State::Established
        ) {
            let cease = Notification::new(
                code::CEASE,
                code::cease::CONNECTION_COLLISION_RESOLUTION,
                Bytes::new(),
            );
            self.send(Message::Notification(cease.clone()));
            self.go_idle(now, DownReason::NotificationSent(cease), true);
        }
    }

    /// The connection's send buffer is full (`true`) or drained (`false`).
    /// While it stays full for the Send Hold Time the session is closed with
    /// NOTIFICATION code 8 (RFC 9687 section 3).
    pub fn handle_write_blocked(&mut self, now: Instant, blocked: bool) {
        let watched = matches!(
            self.state,
            State::OpenSent | State::OpenConfirm | State::Established
        );
        if blocked && watched {
            if !self.timers.send_hold.running() {
                let time = self.send_hold_time();
                self.timers.send_hold.start(now, time);
            }
        } else {
            self.timers.send_hold.stop();
        }
    }

    /// We wrote an UPDATE on the session ourselves (through an update
    /// group): the KeepaliveTimer restarts (RFC 4271 section 4.4).
    pub fn handle_update_sent(&mut self, now: Instant) {
        if self.state == State::Established {
            self.restart_keepalive(now);
        }
    }

    /// Fire every timer whose deadline is at or before `now`
    /// (events 9 to 13 and RFC 9687's Send Hold Timer).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timers.send_hold.expired(now) {
            // RFC 9687 section 3: best effort NOTIFICATION, then close.
            let n = Notification::send_hold_timer_expired();
            self.send(Message::Notification(n.clone()));
            self.go_idle(now, DownReason::NotificationSent(n), true);
            return;
        }
        if self.timers.hold.expired(now) {
            self.hold_timer_expired(now);
            return;
        }
        if self.timers.idle_hold.expired(now) && self.state == State::Idle {
            // Event 13 leads to an AutomaticStart.
            self.start_connecting(now);
        }
        if self.timers.connect_retry.expired(now) {
            self.connect_retry_expired(now);
        }
        if self.timers.delay_open.expired(now)
            && matches!(self.state, State::Connect | State::Active)
        {
            self.send_open(now);
            self.set_state(State::OpenSent);
        }
        if self.timers.keepalive.expired(now) {
            match self.state {
                State::OpenConfirm | State::Established => {
                    self.send(Message::Keepalive);
                    self.restart_keepalive(now);
                }
                _ => self.fsm_error(now),
            }
        }
    }

    /// Bytes received on the connection. Complete messages are processed at
    /// once; a partial message waits for more bytes.
    pub fn handle_bytes(&mut self, now: Instant, data: &[u8]) {
        if !self.connection_open() && !self.awaiting_open() {
            return;
        }
        self.input.extend_from_slice(data);
        loop {
            let max = self.decode_ctx.max_message_len();
            let len = match frame_len(&self.input, max) {
                Ok(Some(len)) if len <= self.input.len() => len,
                Ok(_) => return,
                Err(error) => {
                    // Event 21, BGPHeaderErr.
                    self.message_error(now, &error);
                    return;
                }
            };
            let raw = self.input.split_to(len).freeze();
            match decode_message(&raw, &self.decode_ctx) {
                Ok(decoded) => self.handle_message(now, decoded.message, decoded.findings, raw),
                Err(error) => self.message_error(now, &error),
            }
            if !self.connection_open() && !self.awaiting_open() {
                self.input.clear();
                return;
            }
        }
    }

    // ---- internals ----

    fn connection_open(&self) -> bool {
        matches!(
            self.state,
            State::OpenSent | State::OpenConfirm | State::Established
        )
    }

    /// Connected but holding our OPEN back (DelayOpen).
    fn awaiting_open(&self) -> bool {
        matches!(self.state, State::Connect | State::Active) && self.timers.delay_open.running()
    }

    fn send_hold_time(&self) -> Duration {
        self.config.send_hold_time.unwrap_or_else(|| {
            let hold = self
                .negotiated
                .as_ref()
                .map_or(self.config.large_hold_time, |n| n.hold_time);
            Duration::from_secs(480).max(hold * 2)
        })
    }

    fn set_state(&mut self, to: State) {
        let from = self.state;
        if from != to {
            self.state = to;
            self.outputs
                .push_back(Output::Event(Event::StateChanged { from, to }));
        }
    }

    fn send(&mut self, message: Message) {
        let ctx = self
            .negotiated
            .as_ref()
            .map_or(CodecCtx::pre_open(), Negotiated::encode_ctx);
        // OPEN, KEEPALIVE and NOTIFICATION always fit in 4096 octets; a
        // NOTIFICATION whose data is too long is cut to fit.
        let bytes = match message.to_bytes(&ctx) {
            Ok(bytes) => bytes,
            Err(_) => match message {
                Message::Notification(mut n) => {
                    n.data.truncate(4096 - 21);
                    match Message::Notification(n).to_bytes(&ctx) {
                        Ok(bytes) => bytes,
                        Err(_) => return,
                    }
                }
                _ => return,
            },
        };
        self.outputs.push_back(Output::Transmit(bytes.freeze()));
    }

    fn start_connecting(&mut self, now: Instant) {
        self.timers
            .connect_retry
            .start(now, self.config.connect_retry);
        if self.config.passive {
            self.set_state(State::Active);
        } else {
            self.outputs.push_back(Output::Connect);
            self.set_state(State::Connect);
        }
    }

    fn connect_retry_expired(&mut self, now: Instant) {
        match self.state {
            State::Connect => {
                // Drop the attempt and try again.
                self.timers.delay_open.stop();
                self.outputs.push_back(Output::Disconnect);
                self.outputs
                    .push_back(Output::Event(Event::Down(DownReason::ConnectRetry)));
                self.timers
                    .connect_retry
                    .start(now, self.config.connect_retry);
                self.outputs.push_back(Output::Connect);
            }
            State::Active => {
                self.timers
                    .connect_retry
                    .start(now, self.config.connect_retry);
                if self.config.passive {
                    return;
                }
                self.outputs.push_back(Output::Connect);
                self.set_state(State::Connect);
            }
            State::Idle => {}
            State::OpenSent | State::OpenConfirm | State::Established => self.fsm_error(now),
        }
    }

    fn hold_timer_expired(&mut self, now: Instant) {
        match self.state {
            State::OpenSent | State::OpenConfirm | State::Established => {
                let n = Notification::hold_timer_expired();
                self.send(Message::Notification(n.clone()));
                self.go_idle(now, DownReason::NotificationSent(n), true);
            }
            State::Connect | State::Active => self.go_idle(now, DownReason::ConnectionLost, true),
            State::Idle => {}
        }
    }

    fn send_open(&mut self, now: Instant) {
        let mut capabilities = self.config.capabilities.clone();
        if let Some(role) = self.config.role {
            if !capabilities
                .iter()
                .any(|c| matches!(c, Capability::BgpRole(_)))
            {
                capabilities.push(Capability::BgpRole(role));
            }
        }
        let open = Open::new(
            self.config.local_as,
            self.config.hold_time,
            self.config.local_id,
            capabilities,
        );
        self.send(Message::Open(open.clone()));
        self.local_open = Some(open);
        self.timers.hold.start(now, self.config.large_hold_time);
    }

    fn restart_keepalive(&mut self, now: Instant) {
        match self.negotiated.as_ref().map(|n| n.keepalive) {
            Some(interval) if !interval.is_zero() => self.timers.keepalive.start(now, interval),
            _ => self.timers.keepalive.stop(),
        }
    }

    fn restart_hold(&mut self, now: Instant) {
        match self.negotiated.as_ref().map(|n| n.hold_time) {
            Some(hold) if !hold.is_zero() => self.timers.hold.start(now, hold),
            _ => self.timers.hold.stop(),
        }
    }

    /// A decoding error: send its NOTIFICATION and close (events 21, 22, 28).
    fn message_error(&mut self, now: Instant, error: &DecodeError) {
        let n = error.notification();
        self.send(Message::Notification(n.clone()));
        self.go_idle(now, DownReason::NotificationSent(n), true);
    }

    /// An event the state does not expect: FSM Error with the RFC 6608 subcode.
    fn fsm_error(&mut self, now: Instant) {
        let subcode = match self.state {
            State::OpenSent => code::fsm::UNEXPECTED_MESSAGE_IN_OPEN_SENT,
            State::OpenConfirm => code::fsm::UNEXPECTED_MESSAGE_IN_OPEN_CONFIRM,
            State::Established => code::fsm::UNEXPECTED_MESSAGE_IN_ESTABLISHED,
            _ => code::fsm::UNSPECIFIED,
        };
        let n = Notification {
            code: code::FSM_ERROR,
            subcode,
            data: Bytes::new(),
        };
        if self.connection_open() {
            self.send(Message::Notification(n.clone()));
        }
        self.go_idle(now, DownReason::NotificationSent(n), true);
    }

    /// Release the connection and go to Idle. A failure counts towards the
    /// back-off and, when the session should keep running, arms the idle
    /// hold timer for an automatic restart.
    fn go_idle(&mut self, now: Instant, reason: DownReason, failure: bool) {
        if self.state == State::Idle {
            return;
        }
        self.timers = Timers::default();
        self.input.clear();
        self.decode_ctx = CodecCtx::pre_open();
        self.negotiated = None;
        self.local_open = None;
        // Close the connection or abandon the attempt; without one it is a no-op.
        self.outputs.push_back(Output::Disconnect);
        if failure {
            self.connect_retry_counter += 1;
            let stable = self
                .established_at
                .is_some_and(|at| now.saturating_duration_since(at) >= self.config.stable_time);
            self.idle_hold = if stable {
                self.config.idle_hold
            } else if self.connect_retry_counter > 1 {
                (self.idle_hold * 2).min(self.config.idle_hold_max)
            } else {
                self.config.idle_hold
            };
        }
        self.established_at = None;
        self.outputs.push_back(Output::Event(Event::Down(reason)));
        self.set_state(State::Idle);
        if failure && self.running && self.config.auto_restart {
            self.timers.idle_hold.start(now, self.idle_hold);
        }
    }

    fn handle_message(&mut self, now: Instant, message: Message, findings: Findings, raw: Bytes) {
        if let Message::Notification(n) = message {
            // Events 24, 25: the peer closed the session.
            self.go_idle(now, DownReason::NotificationReceived(n), true);
            return;
        }
        match (self.state, message) {
            // Event 20: OPEN while DelayOpen holds ours back.
            (State::Connect | State::Active, Message::Open(open)) => {
                self.timers.delay_open.stop();
                self.timers.connect_retry.stop();
                self.send_open(now);
                if self.accept_open(now, open) {
                    self.send(Message::Keepalive);
                    self.set_state(State::OpenConfirm);
                }
            }
            // Event 19.
            (State::OpenSent, Message::Open(open)) => {
                self.timers.connect_retry.stop();
                if self.accept_open(now, open) {
                    self.send(Message::Keepalive);
                    self.set_state(State::OpenConfirm);
                }
            }
            // Event 26 in OpenConfirm.
            (State::OpenConfirm, Message::Keepalive) => {
                self.restart_hold(now);
                self.established_at = Some(now);
                self.set_state(State::Established);
                if let Some(n) = self.negotiated.clone() {
                    self.outputs
                        .push_back(Output::Event(Event::Established(Box::new(n))));
                }
            }
            (State::Established, Message::Keepalive) => self.restart_hold(now),
            // Event 27.
            (State::Established, Message::Update(update)) => {
                self.restart_hold(now);
                self.outputs.push_back(Output::Event(Event::Update {
                    update,
                    findings,
                    raw,
                }));
            }
            (State::Established, Message::RouteRefresh(refresh)) => {
                self.restart_hold(now);
                self.outputs
                    .push_back(Output::Event(Event::RouteRefresh(refresh)));
            }
            // Everything else is unexpected in this state.
            _ => self.fsm_error(now),
        }
    }

    /// Check the peer's OPEN (RFC 4271 section 6.2, RFC 5492, RFC 9234) and
    /// negotiate. On error, sends the NOTIFICATION and goes to Idle.
    fn accept_open(&mut self, now: Instant, open: Open) -> bool {
        match self.check_open(&open) {
            Ok(()) => {}
            Err(kind) => {
                let error = DecodeError::new("OPEN", 0, kind);
                self.message_error(now, &error);
                return false;
            }
        }
        let Some(local) = self.local_open.as_ref() else {
            self.fsm_error(now);
            return false;
        };
        let negotiated = Negotiated::new(local, &open, self.config.keepalive);
        self.decode_ctx = negotiated.decode_ctx();
        self.negotiated = Some(negotiated);
        self.restart_keepalive(now);
        self.restart_hold(now);
        true
    }

    fn check_open(&self, open: &Open) -> Result<(), ErrorKind> {
        let asn = open.asn();
        if !self.config.peer_as.accepts(asn) {
            return Err(ErrorKind::BadPeerAs { asn });
        }
        // RFC 6286 section 2.2: the identifier must not be 0, and must differ
        // from ours on iBGP sessions.
        let id = u32::from(open.bgp_identifier);
        if id == 0 || (asn == self.config.local_as && open.bgp_identifier == self.config.local_id) {
            return Err(ErrorKind::BadBgpIdentifier { identifier: id });
        }
        if open.hold_time != 0 && (open.hold_time < 3 || open.hold_time < self.config.min_hold_time)
        {
            return Err(ErrorKind::UnacceptableHoldTime {
                hold_time: open.hold_time,
            });
        }
        let missing: Vec<&Capability> = self
            .config
            .required_capabilities
            .iter()
            .filter(|required| !open.capabilities.contains(required))
            .collect();
        if !missing.is_empty() {
            let mut data = BytesMut::new();
            for capability in missing {
                data.extend_from_slice(&capability.to_bytes());
            }
            return Err(ErrorKind::UnsupportedCapability {
                capabilities: data.freeze(),
            });
        }
        self.check_role(open)
    }

    /// RFC 9234 section 4.2: the roles must be a valid pair.
    fn check_role(&self, open: &Open) -> Result<(), ErrorKind> {
        let Some(ours) = self.config.role else {
            return Ok(());
        };
        match open.role() {
            Some(theirs) if Some(theirs) != ours.expected_peer_role() => {
                Err(ErrorKind::RoleMismatch)
            }
            None if self.config.strict_role => Err(ErrorKind::RoleMismatch),
            _ => Ok(()),
        }
    }
}

/// Which connection survives a collision (RFC 4271 section 6.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollisionWinner {
    /// Keep the connection we initiated; dump the one the peer initiated.
    Ours,
    /// Keep the connection the peer initiated; dump ours.
    Theirs,
}

/// Resolve a collision by comparing BGP identifiers as unsigned integers:
/// the connection initiated by the speaker with the higher identifier wins
/// (RFC 4271 section 6.8).
pub fn resolve_collision(
    local_id: std::net::Ipv4Addr,
    remote_id: std::net::Ipv4Addr,
) -> CollisionWinner {
    if u32::from(local_id) > u32::from(remote_id) {
        CollisionWinner::Ours
    } else {
        CollisionWinner::Theirs
    }
}
