//! Transition tests for the session state machine, on a virtual clock.
//!
//! [`Link`] drives two sessions against each other: what one transmits the
//! other receives, "TCP" connects when both sides want it. Single-session
//! tests feed hand-made messages instead. Test names give the state and the
//! RFC 4271 section 8.1 event.

use bytes::{Bytes, BytesMut};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::*;
use crate::capability::{AddPathMode, Capability, Role};
use crate::iana::AfiSafi;
use crate::message::{Message, Notification, Open, Update};
use crate::nlri::Nlri;
use crate::{CodecCtx, PathAttribute};

const A_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn config(local_as: u32, id: Ipv4Addr, peer_as: u32) -> SessionConfig {
    let mut config = SessionConfig::new(local_as, id, PeerAs::Exact(peer_as));
    config.capabilities = vec![
        Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
        Capability::Multiprotocol(AfiSafi::IPV6_UNICAST),
        Capability::RouteRefresh,
    ];
    config
}

/// One side of a link: its session and what it has said.
struct Side {
    session: Session,
    events: Vec<Event>,
    wants_connect: bool,
    sent: Vec<Bytes>,
}

impl Side {
    fn new(config: SessionConfig) -> Self {
        Side {
            session: Session::new(config),
            events: Vec::new(),
            wants_connect: false,
            sent: Vec::new(),
        }
    }

    /// Drain outputs; returns the bytes to deliver and whether it disconnected.
    fn drain(&mut self) -> (Vec<Bytes>, bool) {
        let mut bytes = Vec::new();
        let mut disconnected = false;
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Connect => self.wants_connect = true,
                Output::Transmit(b) => {
                    self.sent.push(b.clone());
                    bytes.push(b);
                }
                Output::Disconnect => disconnected = true,
                Output::Event(e) => self.events.push(e),
            }
        }
        (bytes, disconnected)
    }

    fn downs(&self) -> Vec<&DownReason> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Down(reason) => Some(reason),
                _ => None,
            })
            .collect()
    }
}

/// Two sessions joined by a virtual TCP connection.
struct Link {
    a: Side,
    b: Side,
    now: Instant,
    up: bool,
}

impl Link {
    fn new(a: SessionConfig, b: SessionConfig) -> Self {
        Link {
            a: Side::new(a),
            b: Side::new(b),
            now: Instant::now(),
            up: false,
        }
    }

    /// A (active) and B (passive) with the given configs, started.
    fn started(a: SessionConfig, mut b: SessionConfig) -> Self {
        b.passive = true;
        let mut link = Link::new(a, b);
        let now = link.now;
        link.a.session.handle_start(now);
        link.b.session.handle_start(now);
        link.pump();
        link
    }

    /// Deliver everything until both sides are quiet.
    fn pump(&mut self) {
        for _ in 0..100 {
            let (a_bytes, a_closed) = self.a.drain();
            let (b_bytes, b_closed) = self.b.drain();
            let now = self.now;
            if self.up && (a_closed || b_closed) {
                self.up = false;
                // The other side sees the connection fail.
                if a_closed {
                    for b in &b_bytes {
                        self.a.session.handle_bytes(now, b);
                    }
                    self.deliver(&a_bytes, false);
                    self.b.session.handle_connection_failed(now);
                } else {
                    self.deliver(&b_bytes, true);
                    self.a.session.handle_connection_failed(now);
                }
                continue;
            }
            if !self.up && self.a.wants_connect && self.b.session.state() == State::Active {
                self.a.wants_connect = false;
                self.up = true;
                self.a.session.handle_connected(now);
                self.b.session.handle_connected(now);
                continue;
            }
            if a_bytes.is_empty() && b_bytes.is_empty() {
                return;
            }
            if self.up {
                self.deliver(&a_bytes, false);
                self.deliver(&b_bytes, true);
            }
        }
        panic!("link did not settle");
    }

    fn deliver(&mut self, bytes: &[Bytes], to_a: bool) {
        let now = self.now;
        let target = if to_a { &mut self.a } else { &mut self.b };
        for chunk in bytes {
            target.session.handle_bytes(now, chunk);
        }
    }

    /// Advance the clock by `step` repeatedly for `total`, firing timers.
    fn run_for(&mut self, total: Duration, step: Duration) {
        let end = self.now + total;
        while self.now < end {
            self.now += step;
            let now = self.now;
            self.a.session.handle_timeout(now);
            self.b.session.handle_timeout(now);
            self.pump();
        }
    }

    fn established(&self) -> bool {
        self.a.session.state() == State::Established && self.b.session.state() == State::Established
    }
}

fn msg_bytes(message: Message) -> Bytes {
    message.to_bytes(&CodecCtx::pre_open()).unwrap().freeze()
}

fn decode_sent(bytes: &Bytes) -> Message {
    let ctx = CodecCtx::default().with_extended_message(true);
    crate::decode_message(bytes, &ctx.with_four_octet_as(true))
        .unwrap()
        .message
}

/// A single session driven by hand, and its outputs.
struct Solo {
    session: Session,
    now: Instant,
    outputs: Vec<Output>,
}

impl Solo {
    fn new(config: SessionConfig) -> Self {
        Solo {
            session: Session::new(config),
            now: Instant::now(),
            outputs: Vec::new(),
        }
    }

    fn drain(&mut self) -> &[Output] {
        self.outputs.clear();
        while let Some(o) = self.session.poll_output() {
            self.outputs.push(o);
        }
        &self.outputs
    }

    fn sent_messages(&mut self) -> Vec<Message> {
        self.drain()
            .iter()
            .filter_map(|o| match o {
                Output::Transmit(b) => Some(decode_sent(b)),
                _ => None,
            })
            .collect()
    }

    /// Start, connect: now in OpenSent with our OPEN sent.
    fn in_open_sent(config: SessionConfig) -> Self {
        let mut solo = Solo::new(config);
        let now = solo.now;
        solo.session.handle_start(now);
        solo.session.handle_connected(now);
        solo.drain();
        assert_eq!(solo.session.state(), State::OpenSent);
        solo
    }

    fn receive(&mut self, message: Message) {
        let bytes = msg_bytes(message);
        self.session.handle_bytes(self.now, &bytes);
    }

    fn peer_open(asn: u32, id: Ipv4Addr, caps: Vec<Capability>) -> Message {
        Message::Open(Open::new(asn, 90, id, caps))
    }

    fn in_open_confirm(config: SessionConfig) -> Self {
        let mut solo = Solo::in_open_sent(config);
        solo.receive(Solo::peer_open(65002, B_ID, vec![]));
        solo.drain();
        assert_eq!(solo.session.state(), State::OpenConfirm);
        solo
    }

    fn in_established(config: SessionConfig) -> Self {
        let mut solo = Solo::in_open_confirm(config);
        solo.receive(Message::Keepalive);
        solo.drain();
        assert_eq!(solo.session.state(), State::Established);
        solo
    }

    fn last_notification(&mut self) -> Notification {
        self.sent_messages()
            .into_iter()
            .find_map(|m| match m {
                Message::Notification(n) => Some(n),
                _ => None,
            })
            .expect("a NOTIFICATION was sent")
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        let now = self.now;
        self.session.handle_timeout(now);
    }
}

fn ebgp_config() -> SessionConfig {
    config(65001, A_ID, 65002)
}

// ---- Idle ----

#[test]
fn idle_ignores_stop_timeouts_and_bytes() {
    let mut solo = Solo::new(ebgp_config());
    let now = solo.now;
    solo.session.handle_stop(now, 2, "");
    solo.session.handle_timeout(now + Duration::from_secs(1000));
    solo.session
        .handle_bytes(now, &msg_bytes(Message::Keepalive));
    assert_eq!(solo.session.state(), State::Idle);
    assert!(solo.drain().is_empty());
    assert_eq!(solo.session.poll_timeout(), None);
}

#[test]
fn idle_event_1_manual_start_connects() {
    let mut solo = Solo::new(ebgp_config());
    solo.session.handle_start(solo.now);
    assert_eq!(solo.drain()[0], Output::Connect);
    assert_eq!(solo.session.state(), State::Connect);
    assert_eq!(
        solo.session.poll_timeout(),
        Some(solo.now + Duration::from_secs(120)),
        "ConnectRetryTimer runs"
    );
}

#[test]
fn idle_event_4_passive_start_goes_to_active() {
    let mut config = ebgp_config();
    config.passive = true;
    let mut solo = Solo::new(config);
    solo.session.handle_start(solo.now);
    assert!(!solo.drain().contains(&Output::Connect));
    assert_eq!(solo.session.state(), State::Active);
}

#[test]
fn idle_refuses_an_incoming_connection() {
    let mut solo = Solo::new(ebgp_config());
    solo.session.handle_connected(solo.now);
    assert_eq!(solo.drain(), &[Output::Disconnect]);
    assert_eq!(solo.session.state(), State::Idle);
}

// ---- Connect ----

#[test]
fn connect_event_16_tcp_acked_sends_open() {
    let mut solo = Solo::new(ebgp_config());
    solo.session.handle_start(solo.now);
    solo.drain();
    solo.session.handle_connected(solo.now);
    let sent = solo.sent_messages();
    let Message::Open(open) = &sent[0] else {
        panic!("expected OPEN, got {sent:?}");
    };
    assert_eq!(open.asn(), 65001);
    assert_eq!(solo.session.state(), State::OpenSent);
    // RFC 4271 8.2.2: the hold timer is set to a large value (4 minutes).
    assert_eq!(
        solo.session.poll_timeout(),
        Some(solo.now + Duration::from_secs(240))
    );
}

#[test]
fn connect_event_9_connect_retry_expiry_retries() {
    let mut solo = Solo::new(ebgp_config());
    solo.session.handle_start(solo.now);
    solo.drain();
    solo.advance(Duration::from_secs(120));
    let outputs = solo.drain().to_vec();
    assert!(outputs.contains(&Output::Disconnect));
    assert_eq!(outputs.last(), Some(&Output::Connect));
    assert_eq!(solo.session.state(), State::Connect);
}

#[test]
fn connect_event_18_tcp_fails_goes_idle_and_counts() {
    let mut solo = Solo::new(ebgp_config());
    solo.session.handle_start(solo.now);
    solo.session.handle_connection_failed(solo.now);
    assert_eq!(solo.session.state(), State::Idle);
    assert_eq!(solo.session.connect_retry_counter(), 1);
}

#[test]
fn connect_event_2_manual_stop_goes_idle_without_notification() {
    let mut solo = Solo::new(ebgp_config());
    solo.session.handle_start(solo.now);
    solo.drain();
    solo.session.handle_stop(solo.now, 2, "bye");
    assert!(solo.sent_messages().is_empty());
    assert_eq!(solo.session.state(), State::Idle);
    assert_eq!(solo.session.connect_retry_counter(), 0);
    assert_eq!(
        solo.session.poll_timeout(),
        None,
        "no restart after a manual stop"
    );
}

#[test]
fn connect_delay_open_holds_the_open_until_the_timer() {
    let mut config = ebgp_config();
    config.delay_open = Some(Duration::from_secs(5));
    let mut solo = Solo::new(config);
    solo.session.handle_start(solo.now);
    solo.session.handle_connected(solo.now);
    assert!(solo.sent_messages().is_empty());
    assert_eq!(solo.session.state(), State::Connect);
    solo.advance(Duration::from_secs(5));
    assert!(matches!(solo.sent_messages()[0], Message::Open(_)));
    assert_eq!(solo.session.state(), State::OpenSent);
}

#[test]
fn connect_event_20_open_during_delay_open_goes_to_open_confirm() {
    let mut config = ebgp_config();
    config.delay_open = Some(Duration::from_secs(5));
    let mut solo = Solo::new(config);
    solo.session.handle_start(solo.now);
    solo.session.handle_connected(solo.now);
    solo.drain();
    solo.receive(Solo::peer_open(65002, B_ID, vec![]));
    let sent = solo.sent_messages();
    assert!(matches!(sent[0], Message::Open(_)));
    assert!(matches!(sent[1], Message::Keepalive));
    assert_eq!(solo.session.state(), State::OpenConfirm);
}

#[test]
fn connect_delay_open_tcp_failure_goes_to_active() {
    let mut config = ebgp_config();
    config.delay_open = Some(Duration::from_secs(5));
    let mut solo = Solo::new(config);
    solo.session.handle_start(solo.now);
    solo.session.handle_connected(solo.now);
    solo.session.handle_connection_failed(solo.now);
    assert_eq!(solo.session.state(), State::Active);
}

// ---- Active ----

#[test]
fn active_event_17_connection_confirmed_sends_open() {
    let mut config = ebgp_config();
    config.passive = true;
    let mut solo = Solo::new(config);
    solo.session.handle_start(solo.now);
    solo.session.handle_connected(solo.now);
    assert!(matches!(solo.sent_messages()[0], Message::Open(_)));
    assert_eq!(solo.session.state(), State::OpenSent);
}

#[test]
fn active_event_18_tcp_fails_goes_idle() {
    let mut config = ebgp_config();
    config.passive = true;
    let mut solo = Solo::new(config);
    solo.session.handle_start(solo.now);
    solo.session.handle_connection_failed(solo.now);
    assert_eq!(solo.session.state(), State::Idle);
}

#[test]
fn active_event_9_passive_session_keeps_waiting() {
    let mut config = ebgp_config();
    config.passive = true;
    let mut solo = Solo::new(config);
    solo.session.handle_start(solo.now);
    solo.drain();
    solo.advance(Duration::from_secs(120));
    assert!(!solo.drain().contains(&Output::Connect));
    assert_eq!(solo.session.state(), State::Active);
}

#[test]
fn active_event_9_active_session_tries_to_connect_again() {
    let mut solo = Solo::in_open_sent(ebgp_config());
    solo.session.handle_connection_failed(solo.now);
    assert_eq!(solo.session.state(), State::Active);
    solo.drain();
    solo.advance(Duration::from_secs(120));
    assert!(solo.drain().contains(&Output::Connect));
    assert_eq!(solo.session.state(), State::Connect);
}

// ---- OpenSent ----

#[test]
fn open_sent_event_19_open_goes_to_open_confirm_with_a_keepalive() {
    let mut solo = Solo::in_open_sent(ebgp_config());
    solo.receive(Solo::peer_open(65002, B_ID, vec![]));
    assert_eq!(solo.sent_messages(), vec![Message::Keepalive]);
    assert_eq!(solo.session.state(), State::OpenConfirm);
    let negotiated = solo.session.negotiated().unwrap();
    assert_eq!(negotiated.hold_time, Duration::from_secs(90));
}

#[test]
fn open_sent_event_10_hold_timer_expiry_sends_code_4() {
    let mut solo = Solo::in_open_sent(ebgp_config());
    solo.advance(Duration::from_secs(240));
    let n = solo.last_notification();
    assert_eq!(n.code, 4);
    assert_eq!(solo.session.state(), State::Idle);
}

#[test]
fn open_sent_event_18_tcp_fails_goes_to_active() {
    let mut solo = Solo::in_open_sent(ebgp_config());
    solo.session.handle_connection_failed(solo.now);
    assert_eq!(solo.session.state(), State::Active);
}

#[test]
fn open_sent_keepalive_is_an_fsm_error_subcode_1() {
    let mut solo = Solo::in_open_sent(ebgp_config());
    solo.receive(Message::Keepalive);
    let n = solo.last_notification();
    assert_eq!((n.code, n.subcode), (5, 1));
    assert_eq!(solo.session.state(), State::Idle);
}

#[test]
fn open_sent_event_22_wrong_peer_as_is_bad_peer_as() {
    let mut solo = Solo::in_open_sent(ebgp_config());
    solo.receive(Solo::peer_open(65099, B_ID, vec![]));
    let n = solo.last_notification();
    assert_eq!((n.code, n.subcode), (2, 2));
}

#[test]
fn open_sent_peer_as_range_accepts_dynamic_peers() {
    let mut config = ebgp_config();
    config.peer_as = PeerAs::Range(65000, 65100);
    let mut solo = Solo::in_open_sent(config);
    solo.receive(Solo::peer_open(65099, B_ID, vec![]));
    assert_eq!(solo.session.state(), State::OpenConfirm);
}

#[test]
fn open_sent_hold_time_of_two_seconds_is_unacceptable() {
    let mut solo = Solo::in_open_sent(ebgp_config());
    solo.receive(Message::Open(Open::new(65002, 2, B_ID, vec![])));
    let n = solo.last_notification();
    assert_eq!((n.code, n.subcode), (2, 6));
}

#[test]
fn open_sent_identifier_zero_or_ours_on_ibgp_is_bad_identifier() {
    let mut solo = Solo::in_open_sent(ebgp_config());
    solo.receive(Solo::peer_open(65002, Ipv4Addr::UNSPECIFIED, vec![]));
    assert_eq!(solo.last_notification().subcode, 3);

    let mut solo = Solo::in_open_sent(config(65001, A_ID, 65001));
    solo.receive(Solo::peer_open(65001, A_ID, vec![]));
    assert_eq!(solo.last_notification().subcode, 3);
}

#[test]
fn open_sent_missing_required_capability_is_unsupported_capability() {
    let mut config = ebgp_config();
    config.required_capabilities = vec![Capability::Multiprotocol(AfiSafi::IPV6_UNICAST)];
    let mut solo = Solo::in_open_sent(config);
    solo.receive(Solo::peer_open(65002, B_ID, vec![]));
    let n = solo.last_notification();
    assert_eq!((n.code, n.subcode), (2, 7));
    // RFC 5492 section 5: the data lists the missing capability.
    assert_eq!(&n.data[..], &[1, 4, 0, 2, 0, 1]);
}

#[test]
fn open_sent_rfc9234_role_mismatch() {
    let mut config = ebgp_config();
    config.role = Some(Role::Provider);
    let mut solo = Solo::in_open_sent(config);
    solo.receive(Solo::peer_open(
        65002,
        B_ID,
        vec![Capability::BgpRole(Role::Peer)],
    ));
    let n = solo.last_notification();
    assert_eq!((n.code, n.subcode), (2, 11));
}

#[test]
fn open_sent_rfc9234_matching_roles_are_accepted() {
    let mut config = ebgp_config();
    config.role = Some(Role::Provider);
    let mut solo = Solo::in_open_sent(config);
    solo.receive(Solo::peer_open(
        65002,
        B_ID,
        vec![Capability::BgpRole(Role::Customer)],
    ));
    assert_eq!(solo.session.state(), State::OpenConfirm);
}

#[test]
fn open_sent_event_21_bad_marker_is_a_header_error() {
    let mut solo = Solo::in_open_sent(ebgp_config());
    let mut bytes = BytesMut::from(&msg_bytes(Message::Keepalive)[..]);
    bytes[0] = 0;
    solo.session.handle_bytes(solo.now, &bytes);
    let n = solo.last_notification();
    assert_eq!((n.code, n.subcode), (1, 1));
    assert_eq!(solo.session.state(), State::Idle);
}

#[test]
fn open_sent_event_2_stop_sends_cease() {
    let mut solo = Solo::in_open_sent(ebgp_config());
    solo.session.handle_stop(solo.now, 3, "");
    let n = solo.last_notification();
    assert_eq!((n.code, n.subcode), (6, 3));
}

#[test]
fn open_sent_event_25_notification_received_goes_idle() {
    let mut solo = Solo::in_open_sent(ebgp_config());
    solo.receive(Message::Notification(Notification::new(6, 5, Bytes::new())));
    assert_eq!(solo.session.state(), State::Idle);
    let down = solo.drain().iter().find_map(|o| match o {
        Output::Event(Event::Down(reason)) => Some(reason.clone()),
        _ => None,
    });
    assert!(matches!(down, Some(DownReason::NotificationReceived(n)) if n.subcode == 5));
}

#[test]
fn open_sent_event_23_collision_dump_sends_cease_7() {
    let mut solo = Solo::in_open_sent(ebgp_config());
    solo.session.handle_collision_dump(solo.now);
    let n = solo.last_notification();
    assert_eq!((n.code, n.subcode), (6, 7));
    assert_eq!(solo.session.state(), State::Idle);
}

#[test]
fn rfc4271_6_8_higher_identifier_keeps_its_own_connection() {
    assert_eq!(resolve_collision(B_ID, A_ID), CollisionWinner::Ours);
    assert_eq!(resolve_collision(A_ID, B_ID), CollisionWinner::Theirs);
}

// ---- OpenConfirm ----

#[test]
fn open_confirm_event_26_keepalive_establishes() {
    let mut solo = Solo::in_open_confirm(ebgp_config());
    solo.receive(Message::Keepalive);
    let outputs = solo.drain().to_vec();
    assert!(
        outputs
            .iter()
            .any(|o| matches!(o, Output::Event(Event::Established(n)) if n.peer_as == 65002))
    );
    assert_eq!(solo.session.state(), State::Established);
}

#[test]
fn open_confirm_event_11_keepalive_timer_sends_keepalive() {
    let mut solo = Solo::in_open_confirm(ebgp_config());
    solo.advance(Duration::from_secs(30));
    assert_eq!(solo.sent_messages(), vec![Message::Keepalive]);
    assert_eq!(solo.session.state(), State::OpenConfirm);
}

#[test]
fn open_confirm_event_10_hold_timer_expiry() {
    let mut solo = Solo::in_open_confirm(ebgp_config());
    solo.advance(Duration::from_secs(90));
    let n = solo.sent_messages().into_iter().find_map(|m| match m {
        Message::Notification(n) => Some(n),
        _ => None,
    });
    assert_eq!(n.map(|n| n.code), Some(4));
}

#[test]
fn open_confirm_update_is_an_fsm_error_subcode_2() {
    let mut solo = Solo::in_open_confirm(ebgp_config());
    solo.receive(Message::Update(Update::default()));
    let n = solo.last_notification();
    assert_eq!((n.code, n.subcode), (5, 2));
}

// ---- Established ----

#[test]
fn established_open_is_an_fsm_error_subcode_3() {
    let mut solo = Solo::in_established(ebgp_config());
    solo.receive(Solo::peer_open(65002, B_ID, vec![]));
    let n = solo.last_notification();
    assert_eq!((n.code, n.subcode), (5, 3));
}

#[test]
fn established_event_27_update_is_reported_and_restarts_the_hold_timer() {
    let mut solo = Solo::in_established(ebgp_config());
    solo.advance(Duration::from_secs(80));
    solo.drain();
    solo.receive(Message::Update(Update::end_of_rib(AfiSafi::IPV4_UNICAST)));
    let got = solo.drain().iter().any(|o| {
        matches!(o, Output::Event(Event::Update { update, .. }) if update.end_of_rib_family() == Some(AfiSafi::IPV4_UNICAST))
    });
    assert!(got);
    solo.advance(Duration::from_secs(80));
    assert_eq!(
        solo.session.state(),
        State::Established,
        "hold timer was restarted"
    );
    solo.advance(Duration::from_secs(10));
    assert_eq!(solo.session.state(), State::Idle);
}

#[test]
fn established_event_28_malformed_update_sends_its_notification() {
    let mut solo = Solo::in_established(ebgp_config());
    // Withdrawn routes length pointing past the end.
    let mut bytes = msg_bytes(Message::Update(Update::default())).to_vec();
    bytes[19..21].copy_from_slice(&50u16.to_be_bytes());
    solo.session.handle_bytes(solo.now, &bytes);
    let n = solo.last_notification();
    assert_eq!((n.code, n.subcode), (3, 1));
    assert_eq!(solo.session.state(), State::Idle);
}

#[test]
fn established_rfc7606_treat_as_withdraw_keeps_the_session() {
    let mut solo = Solo::in_established(ebgp_config());
    let update = Update {
        nlri: vec![Nlri::new("10.0.0.0/8".parse().unwrap())],
        attributes: vec![PathAttribute::Origin(crate::attribute::Origin::Igp)],
        ..Update::default()
    };
    solo.receive(Message::Update(update));
    let findings = solo.drain().iter().find_map(|o| match o {
        Output::Event(Event::Update { findings, .. }) => Some(findings.clone()),
        _ => None,
    });
    assert!(findings.unwrap().treat_as_withdraw());
    assert_eq!(solo.session.state(), State::Established);
}

#[test]
fn established_messages_may_arrive_split_and_coalesced() {
    let mut solo = Solo::in_established(ebgp_config());
    let one = msg_bytes(Message::Update(Update::end_of_rib(AfiSafi::IPV4_UNICAST)));
    let stream: Vec<u8> = [one.clone(), one.clone(), one].concat();
    for chunk in stream.chunks(7) {
        solo.session.handle_bytes(solo.now, chunk);
    }
    let updates = solo
        .drain()
        .iter()
        .filter(|o| matches!(o, Output::Event(Event::Update { .. })))
        .count();
    assert_eq!(updates, 3);
}

#[test]
fn established_route_refresh_is_reported() {
    let mut solo = Solo::in_established(ebgp_config());
    solo.receive(Message::RouteRefresh(
        crate::message::RouteRefresh::request(AfiSafi::IPV4_UNICAST),
    ));
    assert!(
        solo.drain()
            .iter()
            .any(|o| matches!(o, Output::Event(Event::RouteRefresh(_))))
    );
}

#[test]
fn rfc9687_send_hold_timer_closes_a_session_whose_peer_stops_reading() {
    let mut solo = Solo::in_established(ebgp_config());
    solo.session.handle_write_blocked(solo.now, true);
    // Keep receiving KEEPALIVEs so the hold timer never fires.
    for _ in 0..15 {
        solo.advance(Duration::from_secs(30));
        solo.receive(Message::Keepalive);
    }
    solo.advance(Duration::from_secs(29));
    assert_eq!(
        solo.session.state(),
        State::Established,
        "8 minutes not over yet"
    );
    solo.advance(Duration::from_secs(1));
    let n = solo.last_notification();
    assert_eq!(n.code, 8);
    assert_eq!(solo.session.state(), State::Idle);
}

#[test]
fn rfc9687_send_hold_timer_stops_when_the_buffer_drains() {
    let mut solo = Solo::in_established(ebgp_config());
    solo.session.handle_write_blocked(solo.now, true);
    solo.advance(Duration::from_secs(60));
    solo.receive(Message::Keepalive);
    solo.session.handle_write_blocked(solo.now, false);
    for _ in 0..20 {
        solo.advance(Duration::from_secs(30));
        solo.receive(Message::Keepalive);
    }
    assert_eq!(solo.session.state(), State::Established);
}

// ---- Back-off and automatic restart ----

#[test]
fn failures_back_off_exponentially_and_restart_automatically() {
    let mut solo = Solo::new(ebgp_config());
    solo.session.handle_start(solo.now);
    let mut waits = Vec::new();
    for _ in 0..5 {
        solo.session.handle_connection_failed(solo.now);
        assert_eq!(solo.session.state(), State::Idle);
        let wait = solo.session.poll_timeout().unwrap() - solo.now;
        waits.push(wait.as_secs());
        solo.advance(wait);
        assert_eq!(
            solo.session.state(),
            State::Connect,
            "restarted after the idle hold"
        );
    }
    assert_eq!(waits, vec![1, 2, 4, 8, 16]);
}

#[test]
fn an_incoming_connection_ends_the_back_off_wait() {
    let mut solo = Solo::new(ebgp_config());
    solo.session.handle_start(solo.now);
    solo.session.handle_connection_failed(solo.now);
    solo.drain();
    assert_eq!(solo.session.state(), State::Idle);
    assert!(solo.session.waiting_to_restart());
    solo.session.handle_inbound_while_waiting(solo.now);
    let sent = solo.sent_messages();
    assert!(matches!(sent.as_slice(), [Message::Open(_)]), "{sent:?}");
    assert_eq!(solo.session.state(), State::OpenSent);
    assert!(!solo.session.waiting_to_restart());
}

#[test]
fn a_stopped_or_never_started_session_does_not_wait_to_restart() {
    let mut never = Solo::new(ebgp_config());
    assert!(!never.session.waiting_to_restart());
    never.session.handle_inbound_while_waiting(never.now);
    assert_eq!(never.session.state(), State::Idle);
    assert!(never.drain().is_empty());

    let mut stopped = Solo::new(ebgp_config());
    stopped.session.handle_start(stopped.now);
    stopped.session.handle_connection_failed(stopped.now);
    stopped.session.handle_stop(stopped.now, 2, "");
    stopped.drain();
    assert!(!stopped.session.waiting_to_restart());
    stopped.session.handle_inbound_while_waiting(stopped.now);
    assert_eq!(stopped.session.state(), State::Idle);
}

#[test]
fn idle_hold_is_capped() {
    let mut config = ebgp_config();
    config.idle_hold_max = Duration::from_secs(4);
    let mut solo = Solo::new(config);
    solo.session.handle_start(solo.now);
    let mut last = 0;
    for _ in 0..6 {
        solo.session.handle_connection_failed(solo.now);
        let wait = solo.session.poll_timeout().unwrap() - solo.now;
        last = wait.as_secs();
        solo.advance(wait);
    }
    assert_eq!(last, 4);
}

// ---- Two sessions against each other ----

#[test]
fn two_sessions_establish_and_stay_up_on_keepalives() {
    let mut link = Link::started(ebgp_config(), config(65002, B_ID, 65001));
    assert!(
        link.established(),
        "a: {:?} b: {:?}",
        link.a.events,
        link.b.events
    );
    link.run_for(Duration::from_secs(600), Duration::from_secs(5));
    assert!(link.established());
    let keepalives = link.a.sent.iter().filter(|b| b[18] == 4).count();
    assert!(keepalives >= 600 / 30, "sent {keepalives} keepalives");
}

#[test]
fn a_silent_peer_is_dropped_when_the_hold_timer_expires() {
    let mut link = Link::started(ebgp_config(), config(65002, B_ID, 65001));
    assert!(link.established());
    // B stops sending: drop what it transmits from now on.
    link.now += Duration::from_secs(91);
    let now = link.now;
    link.a.session.handle_timeout(now);
    link.a.drain();
    assert_eq!(link.a.session.state(), State::Idle);
    assert!(
        link.a
            .sent
            .iter()
            .any(|b| matches!(decode_sent(b), Message::Notification(n) if n.code == 4))
    );
}

#[test]
fn shutdown_communication_reaches_the_peer() {
    let mut link = Link::started(ebgp_config(), config(65002, B_ID, 65001));
    let now = link.now;
    link.a.session.handle_stop(now, 2, "maintenance window");
    link.pump();
    let reason = link.b.downs().into_iter().next().cloned();
    let Some(DownReason::NotificationReceived(n)) = reason else {
        panic!("B saw {:?}", link.b.events);
    };
    assert_eq!(n.shutdown_message(), Some(Ok("maintenance window")));
    assert_eq!(link.a.session.state(), State::Idle);
    assert_eq!(link.b.session.state(), State::Idle);
}

#[test]
fn negotiated_add_path_and_four_octet_as_shape_the_decoder() {
    let add_path = Capability::AddPath(vec![(AfiSafi::IPV4_UNICAST, AddPathMode::Both)]);
    let mut a = config(4_200_000_001, A_ID, 4_200_000_002);
    a.capabilities.push(add_path.clone());
    let mut b = config(4_200_000_002, B_ID, 4_200_000_001);
    b.capabilities.push(add_path);
    let mut link = Link::started(a, b);
    assert!(link.established());
    let n = link.a.session.negotiated().unwrap().clone();
    assert!(n.four_octet_as);
    assert!(n.add_path_send.contains(AfiSafi::IPV4_UNICAST));
    // An UPDATE from A with path identifiers decodes at B.
    let update = Update {
        nlri: vec![Nlri::with_path_id("192.0.2.0/24".parse().unwrap(), 7)],
        attributes: vec![
            PathAttribute::Origin(crate::attribute::Origin::Igp),
            PathAttribute::AsPath(crate::attribute::AsPath::from_sequence(vec![4_200_000_001])),
            PathAttribute::NextHop(A_ID),
        ],
        ..Update::default()
    };
    let bytes = Message::Update(update.clone())
        .to_bytes(&n.encode_ctx())
        .unwrap();
    let now = link.now;
    link.b.session.handle_bytes(now, &bytes);
    link.b.drain();
    let received = link.b.events.iter().find_map(|e| match e {
        Event::Update {
            update, findings, ..
        } if findings.is_empty() => Some(update.clone()),
        _ => None,
    });
    assert_eq!(received, Some(update));
}

#[test]
fn a_failed_session_comes_back_by_itself() {
    let mut link = Link::started(ebgp_config(), config(65002, B_ID, 65001));
    assert!(link.established());
    let now = link.now;
    // B resets the session (an error), both go Idle, and A restarts.
    link.b.session.handle_collision_dump(now);
    link.pump();
    assert_eq!(link.a.session.state(), State::Idle);
    link.run_for(Duration::from_secs(10), Duration::from_millis(500));
    assert!(link.established(), "a: {:?}", link.a.session.state());
}
