//! Wireshark's BGP dissector as an independent oracle for our encoder.
//!
//! Messages covering every message type, capability and path attribute the
//! codec supports are built through the public API, encoded, and written
//! into a pcap of five synthetic TCP sessions (handshake, one segment per
//! message, every segment acknowledged, orderly close, valid checksums).
//! Then:
//!
//! - `tshark -Y '_ws.malformed || _ws.expert.severity >= warning'` must print
//!   nothing: no malformed packet, no warning, in BGP or TCP;
//! - `tshark -Y bgp -T fields -e bgp.type` must count the messages we sent,
//!   per type;
//! - per frame, the fields tshark decodes (capability codes, attribute type
//!   codes, prefixes, path identifiers, next hops, error codes, subtypes)
//!   must be the values we encoded, so tshark read every length the way we
//!   meant it.
//!
//! Without tshark the test is skipped with a notice, or fails when
//! `REFLEX_REQUIRE_TOOLS=1` (as `scripts/test.sh` sets).

mod support;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::Command;

use bgp_proto::attribute::{
    Aggregator, AsPath, AsSegment, Community, ExtendedCommunity, Ipv6ExtendedCommunity,
    LargeCommunity, MpNlri, MpReach, MpUnreach, NextHop, Origin, PathAttribute, RawAttribute,
    SegmentType, flags,
};
use bgp_proto::capability::add_path::AddPathMode;
use bgp_proto::capability::{Capability, ExtendedNextHop, Fqdn, GracefulRestart, LlgrFamily, Role};
use bgp_proto::iana::AS_TRANS;
use bgp_proto::message::notification::CeaseError;
use bgp_proto::message::open::ParameterLayout;
use bgp_proto::message::route_refresh::RefreshSubtype;
use bgp_proto::message::{Notification, Open, RouteRefresh, Update};
use bgp_proto::{Afi, AfiSafi, CodecCtx, Message, Nlri, PeerType, Safi, decode_message};
use bytes::Bytes;
use ipnetwork::IpNetwork;

use support::net::{Side, SyntheticSession, write_pcap};
use support::{TempDir, require_tool};

/// One message of the scenario.
#[derive(Debug)]
struct Sent {
    session: usize,
    /// Index of its frame among the session's frames.
    local_frame: usize,
    label: String,
    message: Message,
    ctx: CodecCtx,
}

/// Sessions and the messages sent on them.
#[derive(Debug, Default)]
struct Scenario {
    sessions: Vec<SyntheticSession>,
    sent: Vec<Sent>,
}

impl Scenario {
    fn open_session(&mut self, client_port: u16) -> usize {
        self.sessions.push(SyntheticSession::new(client_port));
        self.sessions.len() - 1
    }

    /// Encode `message` with `ctx`, check that it decodes back to itself, and
    /// send it in one segment.
    fn send(&mut self, session: usize, side: Side, ctx: &CodecCtx, label: &str, message: Message) {
        let bytes = message
            .to_bytes(ctx)
            .unwrap_or_else(|e| panic!("{label}: encode failed: {e}"));
        let back = decode_message(&bytes, ctx)
            .unwrap_or_else(|e| panic!("{label}: our own encoding does not decode: {e}"));
        assert_eq!(back.message, message, "{label}: decode(encode(m)) != m");
        assert!(
            back.findings.is_empty(),
            "{label}: findings {:?}",
            back.findings
        );
        let local_frame = self.sessions[session].send(side, &bytes);
        self.sent.push(Sent {
            session,
            local_frame,
            label: label.to_string(),
            message,
            ctx: *ctx,
        });
    }

    fn close(&mut self, session: usize, side: Side) {
        self.sessions[session].close(side);
    }

    /// tshark's 1-based frame number of a message.
    fn frame_number(&self, sent: &Sent) -> usize {
        let before: usize = self.sessions[..sent.session]
            .iter()
            .map(|s| s.frames().len())
            .sum();
        before + sent.local_frame + 1
    }

    fn write(&self, path: &Path) {
        let frames = self
            .sessions
            .iter()
            .flat_map(|s| s.frames().iter().map(Vec::as_slice));
        write_pcap(path, frames).expect("write the pcap");
    }
}

fn net(s: &str) -> IpNetwork {
    s.parse().expect("valid prefix")
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().expect("valid IPv6 address")
}

const V4: AfiSafi = AfiSafi::IPV4_UNICAST;
const V6: AfiSafi = AfiSafi::IPV6_UNICAST;
const FLOWSPEC_V4: AfiSafi = AfiSafi::new(Afi::IPV4, Safi::FLOWSPEC);

/// Every capability the codec has a type for (plus an unknown one), for a
/// speaker of AS `asn`.
fn full_open(asn: u32, id: Ipv4Addr, host: &str) -> Open {
    Open::new(
        asn,
        90,
        id,
        vec![
            Capability::Multiprotocol(V4),
            Capability::Multiprotocol(V6),
            Capability::Multiprotocol(AfiSafi::IPV4_MULTICAST),
            Capability::Multiprotocol(FLOWSPEC_V4),
            Capability::RouteRefresh,
            Capability::RouteRefreshCisco,
            Capability::EnhancedRouteRefresh,
            Capability::ExtendedNextHop(vec![
                ExtendedNextHop::new(V4, Afi::IPV6),
                ExtendedNextHop::new(AfiSafi::IPV4_MULTICAST, Afi::IPV6),
            ]),
            Capability::ExtendedMessage,
            Capability::BgpRole(Role::RouteServer),
            Capability::GracefulRestart(GracefulRestart {
                restart_state: false,
                notification: true,
                restart_time: 120,
                families: vec![(V4, true), (V6, false)],
            }),
            Capability::AddPath(vec![(V4, AddPathMode::Both), (V6, AddPathMode::Both)]),
            Capability::LongLivedGracefulRestart(vec![LlgrFamily {
                afi_safi: V4,
                flags: 0x80,
                stale_time: 3600,
            }]),
            Capability::Fqdn(Fqdn::new(host, "example.net")),
            // Experimental-use code (RFC 8810): an unknown capability, kept as bytes.
            Capability::Unknown {
                code: 239,
                value: Bytes::from_static(&[1, 2, 3]),
            },
        ],
    )
}

fn attrs_base(path: &[u32]) -> Vec<PathAttribute> {
    vec![
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::from_sequence(path.to_vec())),
    ]
}

/// Session 1: two 4-octet-AS iBGP speakers (a route reflector and a client)
/// with ADD-PATH, Extended Message and Enhanced Route Refresh.
fn modern_session(s: &mut Scenario) {
    let asn = 4_200_000_001;
    let session = s.open_session(50179);
    let ctx = CodecCtx::default()
        .with_four_octet_as(true)
        .with_add_path(V4)
        .with_add_path(V6)
        .with_extended_message(true)
        .with_peer_type(PeerType::Internal);
    let pre = CodecCtx::pre_open();
    let client_open = full_open(asn, Ipv4Addr::new(192, 0, 2, 1), "client-a");
    let server_open = full_open(asn, Ipv4Addr::new(192, 0, 2, 2), "reflector-1");
    s.send(
        session,
        Side::Client,
        &pre,
        "OPEN, all capabilities",
        Message::Open(client_open),
    );
    s.send(
        session,
        Side::Server,
        &pre,
        "OPEN, all capabilities (reflector)",
        Message::Open(server_open),
    );
    s.send(session, Side::Client, &ctx, "KEEPALIVE", Message::Keepalive);
    s.send(session, Side::Server, &ctx, "KEEPALIVE", Message::Keepalive);

    // Every attribute, IPv4 NLRI and withdrawals with path identifiers.
    let mut attributes = attrs_base(&[]);
    attributes[1] = PathAttribute::AsPath(AsPath {
        segments: smallvec::smallvec![
            AsSegment::sequence(vec![4_200_000_010, 64_512]),
            AsSegment::set(vec![64_513, 64_514]),
        ],
    });
    attributes.extend([
        PathAttribute::NextHop(Ipv4Addr::new(192, 0, 2, 1)),
        PathAttribute::MultiExitDisc(50),
        PathAttribute::LocalPref(200),
        PathAttribute::AtomicAggregate,
        PathAttribute::Aggregator(Aggregator {
            asn: 4_200_000_010,
            address: Ipv4Addr::new(198, 51, 100, 1),
        }),
        PathAttribute::Communities(smallvec::smallvec![
            Community::new(64_512, 100),
            Community::NO_EXPORT
        ]),
        PathAttribute::OriginatorId(Ipv4Addr::new(192, 0, 2, 9)),
        PathAttribute::ClusterList(vec![
            Ipv4Addr::new(192, 0, 2, 2),
            Ipv4Addr::new(192, 0, 2, 3),
        ]),
        PathAttribute::ExtendedCommunities(vec![ExtendedCommunity::route_target(64_512, 7)]),
        PathAttribute::Ipv6ExtendedCommunities(vec![Ipv6ExtendedCommunity({
            // Transitive IPv6-address-specific route target (type 0x00, subtype 0x02).
            let mut v = [0u8; 20];
            v[1] = 0x02;
            v[2..18].copy_from_slice(&v6("2001:db8::1").octets());
            v[18..].copy_from_slice(&9u16.to_be_bytes());
            v
        })]),
        PathAttribute::LargeCommunities(vec![LargeCommunity {
            global: 4_200_000_001,
            local1: 1,
            local2: 2,
        }]),
        PathAttribute::Otc(4_200_000_001),
        // An attribute without a type in the codec: optional transitive, kept raw.
        PathAttribute::Raw(RawAttribute {
            flags: flags::OPTIONAL | flags::TRANSITIVE,
            type_code: 241,
            value: Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]),
        }),
    ]);
    s.send(
        session,
        Side::Client,
        &ctx,
        "UPDATE, every attribute, IPv4 NLRI with path ids",
        Message::Update(Update {
            withdrawn: vec![Nlri::with_path_id(net("10.9.0.0/16"), 7)],
            attributes,
            nlri: vec![
                Nlri::with_path_id(net("10.1.0.0/16"), 1),
                Nlri::with_path_id(net("10.2.3.0/24"), 2),
                Nlri::with_path_id(net("0.0.0.0/0"), 3),
            ],
        }),
    );

    // MP_REACH_NLRI IPv6, next hop of 16 octets, then of 32 (with link-local).
    let mut v6_16 = vec![PathAttribute::mp_reach(MpReach {
        afi_safi: V6,
        next_hop: NextHop::V6 {
            global: v6("2001:db8::1"),
            link_local: None,
        },
        nlri: MpNlri::Prefixes(vec![
            Nlri::with_path_id(net("2001:db8:1::/48"), 1),
            Nlri::with_path_id(net("2001:db8:2:3::/64"), 2),
        ]),
    })];
    v6_16.extend(attrs_base(&[]));
    v6_16.push(PathAttribute::LocalPref(100));
    s.send(
        session,
        Side::Client,
        &ctx,
        "UPDATE, MP_REACH IPv6, 16-octet next hop",
        Message::Update(Update {
            attributes: v6_16,
            ..Update::default()
        }),
    );
    let mut v6_32 = vec![PathAttribute::mp_reach(MpReach {
        afi_safi: V6,
        next_hop: NextHop::V6 {
            global: v6("2001:db8::1"),
            link_local: Some(v6("fe80::1")),
        },
        nlri: MpNlri::Prefixes(vec![Nlri::with_path_id(net("2001:db8:4::/48"), 4)]),
    })];
    v6_32.extend(attrs_base(&[]));
    v6_32.push(PathAttribute::LocalPref(100));
    s.send(
        session,
        Side::Client,
        &ctx,
        "UPDATE, MP_REACH IPv6, 32-octet next hop",
        Message::Update(Update {
            attributes: v6_32,
            ..Update::default()
        }),
    );

    // IPv4 NLRI with an IPv6 next hop (RFC 8950).
    let mut v4_over_v6 = vec![PathAttribute::mp_reach(MpReach {
        afi_safi: V4,
        next_hop: NextHop::V6 {
            global: v6("2001:db8::1"),
            link_local: None,
        },
        nlri: MpNlri::Prefixes(vec![Nlri::with_path_id(net("10.5.0.0/16"), 5)]),
    })];
    v4_over_v6.extend(attrs_base(&[]));
    v4_over_v6.push(PathAttribute::LocalPref(100));
    s.send(
        session,
        Side::Client,
        &ctx,
        "UPDATE, IPv4 NLRI with IPv6 next hop",
        Message::Update(Update {
            attributes: v4_over_v6,
            ..Update::default()
        }),
    );

    // MP_REACH_NLRI with an IPv4 next hop (IPv4 multicast), and an AS_PATH
    // with confederation segments (RFC 5065), which come first.
    let mut multicast = vec![PathAttribute::mp_reach(MpReach {
        afi_safi: AfiSafi::IPV4_MULTICAST,
        next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
        nlri: MpNlri::Prefixes(vec![Nlri::new(net("232.1.0.0/16"))]),
    })];
    multicast.extend([
        PathAttribute::Origin(Origin::Egp),
        PathAttribute::AsPath(AsPath {
            segments: smallvec::smallvec![
                AsSegment {
                    kind: SegmentType::ConfedSequence,
                    asns: smallvec::smallvec![65_001, 65_002],
                },
                AsSegment {
                    kind: SegmentType::ConfedSet,
                    asns: smallvec::smallvec![65_003],
                },
                AsSegment::sequence(vec![64_496]),
            ],
        }),
        PathAttribute::LocalPref(100),
    ]);
    s.send(
        session,
        Side::Client,
        &ctx,
        "UPDATE, MP_REACH IPv4 multicast with IPv4 next hop, confederation path",
        Message::Update(Update {
            attributes: multicast,
            ..Update::default()
        }),
    );

    // A family kept as opaque NLRI: IPv4 flowspec (RFC 8955), empty next
    // hop; one rule "destination 10.0.0.0/24", traffic-rate 0 (drop).
    let mut flowspec = vec![PathAttribute::mp_reach(MpReach {
        afi_safi: FLOWSPEC_V4,
        next_hop: NextHop::Raw(Bytes::new()),
        nlri: MpNlri::Opaque(Bytes::from_static(&[5, 1, 24, 10, 0, 0])),
    })];
    flowspec.extend(attrs_base(&[]));
    flowspec.extend([
        PathAttribute::LocalPref(100),
        PathAttribute::ExtendedCommunities(vec![ExtendedCommunity([0x80, 0x06, 0, 0, 0, 0, 0, 0])]),
    ]);
    s.send(
        session,
        Side::Client,
        &ctx,
        "UPDATE, IPv4 flowspec (opaque NLRI)",
        Message::Update(Update {
            attributes: flowspec,
            ..Update::default()
        }),
    );

    s.send(
        session,
        Side::Client,
        &ctx,
        "UPDATE, MP_UNREACH IPv6",
        Message::Update(Update {
            attributes: vec![PathAttribute::mp_unreach(MpUnreach {
                afi_safi: V6,
                withdrawn: MpNlri::Prefixes(vec![Nlri::with_path_id(net("2001:db8:2:3::/64"), 2)]),
            })],
            ..Update::default()
        }),
    );
    s.send(
        session,
        Side::Client,
        &ctx,
        "End-of-RIB IPv4",
        Message::Update(Update::end_of_rib(V4)),
    );
    s.send(
        session,
        Side::Client,
        &ctx,
        "End-of-RIB IPv6",
        Message::Update(Update::end_of_rib(V6)),
    );
    s.send(
        session,
        Side::Client,
        &ctx,
        "End-of-RIB IPv4 flowspec",
        Message::Update(Update::end_of_rib(FLOWSPEC_V4)),
    );

    // Enhanced route refresh: a request, then BoRR, the routes again, EoRR.
    s.send(
        session,
        Side::Server,
        &ctx,
        "ROUTE-REFRESH",
        Message::RouteRefresh(RouteRefresh::request(V4)),
    );
    s.send(
        session,
        Side::Client,
        &ctx,
        "ROUTE-REFRESH BoRR",
        Message::RouteRefresh(RouteRefresh::with_subtype(
            V4,
            RefreshSubtype::BeginningOfRouteRefresh,
        )),
    );
    let mut again = attrs_base(&[]);
    again.extend([
        PathAttribute::NextHop(Ipv4Addr::new(192, 0, 2, 1)),
        PathAttribute::LocalPref(100),
    ]);
    s.send(
        session,
        Side::Client,
        &ctx,
        "UPDATE during refresh",
        Message::Update(Update {
            attributes: again,
            nlri: vec![Nlri::with_path_id(net("10.1.0.0/16"), 1)],
            ..Update::default()
        }),
    );
    s.send(
        session,
        Side::Client,
        &ctx,
        "ROUTE-REFRESH EoRR",
        Message::RouteRefresh(RouteRefresh::with_subtype(
            V4,
            RefreshSubtype::EndOfRouteRefresh,
        )),
    );
    s.send(
        session,
        Side::Client,
        &ctx,
        "NOTIFICATION Cease, shutdown communication",
        Message::Notification(Notification::cease_shutdown(
            2,
            "maintenance: back at 06:00 UTC",
        )),
    );
    s.close(session, Side::Client);
}

/// Session 2: a 2-octet-AS speaker (no capability 65) and a 4-octet one:
/// AS_TRANS in AS_PATH and AGGREGATOR, the real path in AS4_PATH and
/// AS4_AGGREGATOR (RFC 6793 section 4.2.2).
fn legacy_session(s: &mut Scenario) {
    let session = s.open_session(50180);
    let ctx = CodecCtx::pre_open().with_peer_type(PeerType::External);
    let old = Open {
        version: 4,
        my_as: 64_500,
        hold_time: 180,
        bgp_identifier: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: vec![Capability::Multiprotocol(V4), Capability::RouteRefresh],
        layout: ParameterLayout::Single,
    };
    let new = Open::new(
        4_200_000_002,
        180,
        Ipv4Addr::new(192, 0, 2, 2),
        vec![
            Capability::Multiprotocol(V4),
            Capability::BgpRole(Role::Provider),
        ],
    );
    s.send(
        session,
        Side::Client,
        &ctx,
        "OPEN, 2-octet AS speaker",
        Message::Open(old),
    );
    s.send(
        session,
        Side::Server,
        &ctx,
        "OPEN, AS above 65535 (My AS = AS_TRANS)",
        Message::Open(new),
    );
    s.send(session, Side::Client, &ctx, "KEEPALIVE", Message::Keepalive);
    s.send(session, Side::Server, &ctx, "KEEPALIVE", Message::Keepalive);
    let real_path = [4_200_000_002, 64_496, 4_200_000_003];
    let mut attributes = vec![
        PathAttribute::Origin(Origin::Incomplete),
        PathAttribute::AsPath(AsPath::from_sequence(vec![
            u32::from(AS_TRANS),
            64_496,
            u32::from(AS_TRANS),
        ])),
        PathAttribute::NextHop(Ipv4Addr::new(192, 0, 2, 2)),
        PathAttribute::AtomicAggregate,
        PathAttribute::Aggregator(Aggregator {
            asn: u32::from(AS_TRANS),
            address: Ipv4Addr::new(198, 51, 100, 3),
        }),
    ];
    attributes.extend([
        PathAttribute::As4Path(AsPath::from_sequence(real_path.to_vec())),
        PathAttribute::As4Aggregator(Aggregator {
            asn: 4_200_000_003,
            address: Ipv4Addr::new(198, 51, 100, 3),
        }),
    ]);
    s.send(
        session,
        Side::Server,
        &ctx,
        "UPDATE with AS4_PATH and AS4_AGGREGATOR",
        Message::Update(Update {
            attributes,
            nlri: vec![Nlri::new(net("203.0.113.0/24"))],
            withdrawn: vec![Nlri::new(net("198.51.100.0/24"))],
        }),
    );
    s.send(
        session,
        Side::Server,
        &ctx,
        "NOTIFICATION Cease/Hard Reset wrapping Hold Timer Expired",
        Message::Notification(Notification::hard_reset(&Notification::hold_timer_expired())),
    );
    s.close(session, Side::Server);
}

/// Sessions 3 and 4: NOTIFICATIONs with data (an OPEN error, and Maximum
/// Number of Prefixes Reached).
fn error_sessions(s: &mut Scenario) {
    let pre = CodecCtx::pre_open();
    let session = s.open_session(50181);
    s.send(
        session,
        Side::Client,
        &pre,
        "OPEN (rejected)",
        Message::Open(Open::new(
            64_501,
            90,
            Ipv4Addr::new(192, 0, 2, 1),
            vec![Capability::Multiprotocol(V4)],
        )),
    );
    s.send(
        session,
        Side::Server,
        &pre,
        "NOTIFICATION OPEN Message Error / Bad Peer AS",
        Message::Notification(Notification::new(2, 2, Bytes::from_static(&[0xfb, 0xf5]))),
    );
    s.close(session, Side::Server);

    let session = s.open_session(50182);
    let ctx = CodecCtx::default();
    s.send(
        session,
        Side::Client,
        &pre,
        "OPEN, ADD-PATH send",
        Message::Open(Open::new(
            64_501,
            90,
            Ipv4Addr::new(192, 0, 2, 1),
            vec![
                Capability::Multiprotocol(V4),
                Capability::AddPath(vec![(V4, AddPathMode::Send)]),
            ],
        )),
    );
    s.send(
        session,
        Side::Server,
        &pre,
        "OPEN, ADD-PATH receive",
        Message::Open(Open::new(
            64_502,
            90,
            Ipv4Addr::new(192, 0, 2, 2),
            vec![
                Capability::Multiprotocol(V4),
                Capability::AddPath(vec![(V4, AddPathMode::Receive)]),
            ],
        )),
    );
    s.send(session, Side::Client, &ctx, "KEEPALIVE", Message::Keepalive);
    s.send(session, Side::Server, &ctx, "KEEPALIVE", Message::Keepalive);
    s.send(
        session,
        Side::Server,
        &ctx,
        "NOTIFICATION Cease / Maximum Number of Prefixes Reached",
        Message::Notification(Notification::max_prefixes(V4, 1000)),
    );
    s.close(session, Side::Server);

    let session = s.open_session(50183);
    s.send(
        session,
        Side::Client,
        &pre,
        "OPEN",
        Message::Open(Open::new(
            64_501,
            90,
            Ipv4Addr::new(192, 0, 2, 1),
            vec![Capability::Multiprotocol(V4)],
        )),
    );
    s.send(
        session,
        Side::Server,
        &pre,
        "NOTIFICATION Cease / Connection Rejected, no data",
        Message::Notification(Notification::cease(CeaseError::from_subcode(5))),
    );
    s.close(session, Side::Server);
}

fn scenario() -> Scenario {
    let mut s = Scenario::default();
    modern_session(&mut s);
    legacy_session(&mut s);
    error_sessions(&mut s);
    s
}

/// Run tshark with IP and TCP checksum validation on (bad checksums then
/// become expert errors, which the malformed/warning filter catches).
fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args([
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "tcp.check_checksum:TRUE",
        ])
        .args(args)
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tshark prints UTF-8")
}

#[test]
fn tshark_finds_no_malformed_packet_and_counts_every_message() {
    if !require_tool(
        "tshark",
        "tshark_finds_no_malformed_packet_and_counts_every_message",
    ) {
        return;
    }
    let s = scenario();
    let dir = TempDir::new("reflex-tshark-oracle");
    let pcap = dir.path().join("oracle.pcap");
    s.write(&pcap);
    if let Some(keep) = std::env::var_os("REFLEX_ORACLE_PCAP") {
        // For debugging: keep a copy of the capture where asked.
        s.write(Path::new(&keep));
    }
    let pcap = pcap.to_str().expect("UTF-8 temp path");

    let complaints = tshark(&[
        "-r",
        pcap,
        "-Y",
        "_ws.malformed || _ws.expert.severity >= warning",
    ]);
    assert!(
        complaints.trim().is_empty(),
        "tshark flags frames as malformed or with warnings:\n{complaints}\n{}",
        tshark(&["-r", pcap, "-q", "-z", "expert"])
    );

    let mut expected: BTreeMap<u8, usize> = BTreeMap::new();
    for sent in &s.sent {
        *expected.entry(sent.message.message_type()).or_default() += 1;
    }
    let mut seen: BTreeMap<u8, usize> = BTreeMap::new();
    for t in tshark(&["-r", pcap, "-Y", "bgp", "-T", "fields", "-e", "bgp.type"])
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
    {
        *seen
            .entry(t.parse().expect("numeric bgp.type"))
            .or_default() += 1;
    }
    assert_eq!(
        seen, expected,
        "BGP messages per type: tshark (left) vs sent (right)"
    );
    assert_eq!(
        expected.len(),
        5,
        "the scenario covers all five message types"
    );
}

/// The fields compared frame by frame, as tshark names them.
const FIELDS: &[&str] = &[
    "bgp.type",
    "bgp.open.myas",
    "bgp.open.holdtime",
    "bgp.open.identifier",
    "bgp.cap.type",
    "bgp.cap.mp.afi",
    "bgp.cap.mp.safi",
    "bgp.cap.4as",
    "bgp.cap.ap.afi",
    "bgp.cap.ap.safi",
    "bgp.cap.ap.sendreceive",
    "bgp.cap.enh.afi",
    "bgp.cap.enh.safi",
    "bgp.cap.enh.nhafi",
    "bgp.cap.gr.timers.restart_time",
    "bgp.cap.orf.fqdn.hostname",
    "bgp.update.path_attribute.type_code",
    "bgp.update.path_attribute.origin",
    "bgp.update.path_attribute.as_path_segment.as2",
    "bgp.update.path_attribute.as_path_segment.as4",
    "bgp.update.path_attribute.next_hop",
    "bgp.update.path_attribute.multi_exit_disc",
    "bgp.update.path_attribute.local_pref",
    "bgp.update.path_attribute.aggregator_as",
    "bgp.update.path_attribute.aggregator_origin",
    "bgp.update.path_attribute.community_as",
    "bgp.update.path_attribute.community_value",
    "bgp.update.path_attribute.originator_id",
    "bgp.path_attribute.cluster_id",
    "bgp.large_communities.ga",
    "bgp.large_communities.ldp1",
    "bgp.large_communities.ldp2",
    "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6",
    "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local",
    "bgp.update.path_attribute.mp_unreach_nlri.afi",
    "bgp.nlri_path_id",
    "bgp.prefix_length",
    "bgp.withdrawn_prefix",
    "bgp.nlri_prefix",
    "bgp.mp_reach_nlri_ipv4_prefix",
    "bgp.mp_reach_nlri_ipv6_prefix",
    "bgp.mp_unreach_nlri_ipv6_prefix",
    "bgp.flowspec_nlri.dst_prefix_filter",
    "bgp.notify.major_error",
    "bgp.notify.minor_error_cease",
    "bgp.notify.minor_error_open",
    "bgp.notify.communication",
    "bgp.route_refresh.afi",
    "bgp.route_refresh.subtype",
    "bgp.route_refresh.safi",
];

fn strings<T: ToString>(values: impl IntoIterator<Item = T>) -> Vec<String> {
    values.into_iter().map(|v| v.to_string()).collect()
}

/// Every NLRI of an UPDATE in the order tshark dissects them: withdrawn
/// routes, then the MP attributes' prefixes in attribute order, then NLRI.
fn prefixes_in_wire_order(update: &Update) -> Vec<&Nlri> {
    let mut all: Vec<&Nlri> = update.withdrawn.iter().collect();
    for attribute in &update.attributes {
        match attribute {
            PathAttribute::MpReach(reach) => all.extend(reach.nlri.prefixes()),
            PathAttribute::MpUnreach(unreach) => all.extend(unreach.withdrawn.prefixes()),
            _ => {}
        }
    }
    all.extend(&update.nlri);
    all
}

/// The prefix components (type 1 destination, 2 source) of IPv4 flowspec
/// NLRI (RFC 8955 section 4), as (type, length, address). The scenario
/// sends only such components and only NLRI shorter than 240 octets.
fn flowspec_prefixes(mut bytes: &[u8]) -> Vec<(u8, u8, Ipv4Addr)> {
    let mut out = Vec::new();
    while let [len, rest @ ..] = bytes {
        let (mut rule, tail) = rest.split_at(usize::from(*len));
        while let [kind @ (1 | 2), prefix_len, more @ ..] = rule {
            let n = usize::from(*prefix_len).div_ceil(8);
            let mut octets = [0u8; 4];
            octets[..n].copy_from_slice(&more[..n]);
            out.push((*kind, *prefix_len, Ipv4Addr::from(octets)));
            rule = &more[n..];
        }
        assert!(
            rule.is_empty(),
            "flowspec component this test cannot read: {rule:?}"
        );
        bytes = tail;
    }
    out
}

fn addresses<'a>(prefixes: impl IntoIterator<Item = &'a Nlri>, v6: bool) -> Vec<String> {
    prefixes
        .into_iter()
        .filter(|n| matches!(n.prefix, IpNetwork::V6(_)) == v6)
        .map(|n| n.prefix.ip().to_string())
        .collect()
}

/// What tshark must show in `field` for `message`, sent with `ctx`.
fn expected(field: &str, message: &Message, ctx: &CodecCtx) -> Vec<String> {
    let caps = |f: &dyn Fn(&Capability) -> Vec<String>| match message {
        Message::Open(open) => open.capabilities.iter().flat_map(f).collect(),
        _ => Vec::new(),
    };
    let attrs = |f: &dyn Fn(&PathAttribute) -> Vec<String>| match message {
        Message::Update(update) => update.attributes.iter().flat_map(f).collect(),
        _ => Vec::new(),
    };
    let reach = |f: &dyn Fn(&MpReach) -> Vec<String>| {
        attrs(&|a| match a {
            PathAttribute::MpReach(r) => f(r),
            _ => Vec::new(),
        })
    };
    let as_path_asns = |a: &PathAttribute, four: bool| match a {
        PathAttribute::AsPath(path) if ctx.four_octet_as == four => {
            strings(path.segments.iter().flat_map(|s| s.asns.iter()))
        }
        PathAttribute::As4Path(path) if four => {
            strings(path.segments.iter().flat_map(|s| s.asns.iter()))
        }
        _ => Vec::new(),
    };
    let add_path = |f: &dyn Fn(AfiSafi, AddPathMode) -> String| {
        caps(&|c| match c {
            Capability::AddPath(entries) => {
                entries.iter().map(|(fam, mode)| f(*fam, *mode)).collect()
            }
            _ => Vec::new(),
        })
    };
    let enh = |f: &dyn Fn(&ExtendedNextHop) -> String| {
        caps(&|c| match c {
            Capability::ExtendedNextHop(entries) => entries.iter().map(f).collect(),
            _ => Vec::new(),
        })
    };
    let notification = |f: &dyn Fn(&Notification) -> Vec<String>| match message {
        Message::Notification(n) => f(n),
        _ => Vec::new(),
    };
    let refresh = |f: &dyn Fn(&RouteRefresh) -> String| match message {
        Message::RouteRefresh(r) => vec![f(r)],
        _ => Vec::new(),
    };
    let update = match message {
        Message::Update(update) => Some(update),
        _ => None,
    };
    let open = match message {
        Message::Open(open) => Some(open),
        _ => None,
    };
    match field {
        "bgp.type" => vec![message.message_type().to_string()],
        "bgp.open.myas" => strings(open.map(|o| o.my_as)),
        "bgp.open.holdtime" => strings(open.map(|o| o.hold_time)),
        "bgp.open.identifier" => strings(open.map(|o| o.bgp_identifier)),
        "bgp.cap.type" => caps(&|c| vec![c.code().to_string()]),
        "bgp.cap.mp.afi" | "bgp.cap.mp.safi" => caps(&|c| match c {
            Capability::Multiprotocol(f) if field.ends_with("afi") && !field.ends_with("safi") => {
                vec![f.afi.0.to_string()]
            }
            Capability::Multiprotocol(f) => vec![f.safi.0.to_string()],
            _ => Vec::new(),
        }),
        "bgp.cap.4as" => caps(&|c| match c {
            Capability::FourOctetAs(asn) => vec![asn.to_string()],
            _ => Vec::new(),
        }),
        "bgp.cap.ap.afi" => add_path(&|f, _| f.afi.0.to_string()),
        "bgp.cap.ap.safi" => add_path(&|f, _| f.safi.0.to_string()),
        "bgp.cap.ap.sendreceive" => add_path(&|_, m| m.to_u8().to_string()),
        "bgp.cap.enh.afi" => enh(&|e| e.nlri.afi.0.to_string()),
        "bgp.cap.enh.safi" => enh(&|e| e.nlri.safi.0.to_string()),
        "bgp.cap.enh.nhafi" => enh(&|e| e.next_hop_afi.0.to_string()),
        "bgp.cap.gr.timers.restart_time" => caps(&|c| match c {
            Capability::GracefulRestart(gr) => vec![gr.restart_time.to_string()],
            _ => Vec::new(),
        }),
        "bgp.cap.orf.fqdn.hostname" => caps(&|c| match c {
            Capability::Fqdn(f) => vec![f.hostname_lossy().into_owned()],
            _ => Vec::new(),
        }),
        "bgp.update.path_attribute.type_code" => attrs(&|a| vec![a.type_code().to_string()]),
        "bgp.update.path_attribute.origin" => attrs(&|a| match a {
            PathAttribute::Origin(o) => vec![(*o as u8).to_string()],
            _ => Vec::new(),
        }),
        "bgp.update.path_attribute.as_path_segment.as2" => attrs(&|a| as_path_asns(a, false)),
        "bgp.update.path_attribute.as_path_segment.as4" => attrs(&|a| as_path_asns(a, true)),
        "bgp.update.path_attribute.next_hop" => attrs(&|a| match a {
            PathAttribute::NextHop(ip) => vec![ip.to_string()],
            _ => Vec::new(),
        }),
        "bgp.update.path_attribute.multi_exit_disc" => attrs(&|a| match a {
            PathAttribute::MultiExitDisc(v) => vec![v.to_string()],
            _ => Vec::new(),
        }),
        "bgp.update.path_attribute.local_pref" => attrs(&|a| match a {
            PathAttribute::LocalPref(v) => vec![v.to_string()],
            _ => Vec::new(),
        }),
        "bgp.update.path_attribute.aggregator_as" => attrs(&|a| match a {
            PathAttribute::Aggregator(g) | PathAttribute::As4Aggregator(g) => {
                vec![g.asn.to_string()]
            }
            _ => Vec::new(),
        }),
        "bgp.update.path_attribute.aggregator_origin" => attrs(&|a| match a {
            PathAttribute::Aggregator(g) | PathAttribute::As4Aggregator(g) => {
                vec![g.address.to_string()]
            }
            _ => Vec::new(),
        }),
        // Well-known communities (0xFFFFxxxx) are shown under another field.
        "bgp.update.path_attribute.community_as" => attrs(&|a| match a {
            PathAttribute::Communities(list) => {
                strings(list.iter().filter(|c| c.asn() != 0xffff).map(|c| c.asn()))
            }
            _ => Vec::new(),
        }),
        "bgp.update.path_attribute.community_value" => attrs(&|a| match a {
            PathAttribute::Communities(list) => {
                strings(list.iter().filter(|c| c.asn() != 0xffff).map(|c| c.value()))
            }
            _ => Vec::new(),
        }),
        "bgp.update.path_attribute.originator_id" => attrs(&|a| match a {
            PathAttribute::OriginatorId(ip) => vec![ip.to_string()],
            _ => Vec::new(),
        }),
        "bgp.path_attribute.cluster_id" => attrs(&|a| match a {
            PathAttribute::ClusterList(list) => strings(list),
            _ => Vec::new(),
        }),
        "bgp.large_communities.ga"
        | "bgp.large_communities.ldp1"
        | "bgp.large_communities.ldp2" => attrs(&|a| match a {
            PathAttribute::LargeCommunities(list) => strings(list.iter().map(|c| match field {
                "bgp.large_communities.ga" => c.global,
                "bgp.large_communities.ldp1" => c.local1,
                _ => c.local2,
            })),
            _ => Vec::new(),
        }),
        "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6" => reach(&|r| match &r.next_hop {
            NextHop::V6 { global, .. } => vec![global.to_string()],
            _ => Vec::new(),
        }),
        "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local" => {
            reach(&|r| match &r.next_hop {
                NextHop::V6 {
                    link_local: Some(ll),
                    ..
                } => vec![ll.to_string()],
                _ => Vec::new(),
            })
        }
        "bgp.update.path_attribute.mp_unreach_nlri.afi" => attrs(&|a| match a {
            PathAttribute::MpUnreach(u) => vec![u.afi_safi.afi.0.to_string()],
            _ => Vec::new(),
        }),
        "bgp.nlri_path_id" => update
            .map(|u| {
                strings(
                    prefixes_in_wire_order(u)
                        .into_iter()
                        .filter_map(|n| n.path_id),
                )
            })
            .unwrap_or_default(),
        // Prefix lengths of decoded NLRI and of flowspec prefix components,
        // in wire order (tshark uses this field for both).
        "bgp.prefix_length" => update
            .map(|u| {
                let mut lengths = Vec::new();
                lengths.extend(u.withdrawn.iter().map(|n| n.prefix.prefix()));
                for attribute in &u.attributes {
                    let nlri = match attribute {
                        PathAttribute::MpReach(r) => &r.nlri,
                        PathAttribute::MpUnreach(w) => &w.withdrawn,
                        _ => continue,
                    };
                    match nlri {
                        MpNlri::Prefixes(list) => {
                            lengths.extend(list.iter().map(|n| n.prefix.prefix()))
                        }
                        MpNlri::Opaque(bytes) => lengths
                            .extend(flowspec_prefixes(bytes).into_iter().map(|(_, len, _)| len)),
                    }
                }
                lengths.extend(u.nlri.iter().map(|n| n.prefix.prefix()));
                strings(lengths)
            })
            .unwrap_or_default(),
        "bgp.flowspec_nlri.dst_prefix_filter" => reach(&|r| match &r.nlri {
            MpNlri::Opaque(bytes) => flowspec_prefixes(bytes)
                .into_iter()
                .filter(|(kind, _, _)| *kind == 1)
                .map(|(_, _, addr)| addr.to_string())
                .collect(),
            MpNlri::Prefixes(_) => Vec::new(),
        }),
        "bgp.withdrawn_prefix" => update
            .map(|u| addresses(&u.withdrawn, false))
            .unwrap_or_default(),
        "bgp.nlri_prefix" => update
            .map(|u| addresses(&u.nlri, false))
            .unwrap_or_default(),
        "bgp.mp_reach_nlri_ipv4_prefix" => reach(&|r| addresses(r.nlri.prefixes(), false)),
        "bgp.mp_reach_nlri_ipv6_prefix" => reach(&|r| addresses(r.nlri.prefixes(), true)),
        "bgp.mp_unreach_nlri_ipv6_prefix" => attrs(&|a| match a {
            PathAttribute::MpUnreach(u) => addresses(u.withdrawn.prefixes(), true),
            _ => Vec::new(),
        }),
        "bgp.notify.major_error" => notification(&|n| vec![n.code.to_string()]),
        "bgp.notify.minor_error_cease" => notification(&|n| {
            if n.code == 6 {
                vec![n.subcode.to_string()]
            } else {
                Vec::new()
            }
        }),
        "bgp.notify.minor_error_open" => notification(&|n| {
            if n.code == 2 {
                vec![n.subcode.to_string()]
            } else {
                Vec::new()
            }
        }),
        "bgp.notify.communication" => notification(&|n| match n.shutdown_message() {
            Some(Ok(text)) => vec![text.to_string()],
            _ => Vec::new(),
        }),
        "bgp.route_refresh.afi" => refresh(&|r| r.afi.0.to_string()),
        "bgp.route_refresh.subtype" => refresh(&|r| r.subtype.to_u8().to_string()),
        "bgp.route_refresh.safi" => refresh(&|r| r.safi.0.to_string()),
        other => panic!("no expectation for field {other}"),
    }
}

#[test]
fn tshark_decodes_every_field_as_we_encoded_it() {
    if !require_tool("tshark", "tshark_decodes_every_field_as_we_encoded_it") {
        return;
    }
    let s = scenario();
    let dir = TempDir::new("reflex-tshark-fields");
    let pcap = dir.path().join("fields.pcap");
    s.write(&pcap);
    let pcap = pcap.to_str().expect("UTF-8 temp path");
    let mut args = vec![
        "-r",
        pcap,
        "-Y",
        "bgp",
        "-T",
        "fields",
        "-E",
        "separator=/t",
    ];
    args.extend(["-e", "frame.number"]);
    for field in FIELDS {
        args.extend(["-e", field]);
    }
    let output = tshark(&args);
    let mut rows: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for line in output.lines() {
        let mut columns = line.split('\t');
        let frame: usize = columns
            .next()
            .and_then(|f| f.parse().ok())
            .unwrap_or_else(|| panic!("bad tshark line {line:?}"));
        rows.insert(frame, columns.map(str::to_string).collect());
    }
    assert_eq!(rows.len(), s.sent.len(), "one BGP frame per message");
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for sent in &s.sent {
        let frame = s.frame_number(sent);
        let Some(row) = rows.get(&frame) else {
            mismatches.push(format!(
                "frame {frame} ({}): tshark shows no BGP",
                sent.label
            ));
            continue;
        };
        for (i, field) in FIELDS.iter().enumerate() {
            let want = expected(field, &sent.message, &sent.ctx).join(",");
            let got = row.get(i).map(String::as_str).unwrap_or("");
            if got != want {
                mismatches.push(format!(
                    "frame {frame} ({}): {field}: tshark {got:?}, we encoded {want:?}",
                    sent.label
                ));
            }
            if !want.is_empty() {
                compared += 1;
            }
        }
    }
    println!(
        "compared {compared} non-empty fields of {} messages with tshark",
        s.sent.len()
    );
    assert!(
        mismatches.is_empty(),
        "tshark reads our messages differently:\n{}",
        mismatches.join("\n")
    );
    // Every field in the list is exercised by at least one message.
    for field in FIELDS {
        assert!(
            s.sent
                .iter()
                .any(|m| !expected(field, &m.message, &m.ctx).is_empty()),
            "no message exercises {field}"
        );
    }
}

/// The scenario must use every variant of the codec's public enums, so a
/// new capability, attribute or encoding cannot escape the oracle: the
/// matches below are exhaustive (a new variant does not compile until it is
/// named here), and every name in `REQUIRED` must be sent.
#[test]
fn scenario_covers_every_message_capability_and_attribute() {
    const REQUIRED: &[&str] = &[
        "OPEN",
        "UPDATE",
        "NOTIFICATION",
        "KEEPALIVE",
        "ROUTE-REFRESH",
        "refresh normal",
        "refresh BoRR",
        "refresh EoRR",
        "cap multiprotocol",
        "cap route refresh",
        "cap extended next hop",
        "cap extended message",
        "cap role",
        "cap graceful restart",
        "cap 4-octet AS",
        "cap add-path",
        "cap enhanced route refresh",
        "cap LLGR",
        "cap FQDN",
        "cap route refresh (Cisco)",
        "cap unknown",
        "add-path receive",
        "add-path send",
        "add-path both",
        "ORIGIN",
        "AS_PATH",
        "NEXT_HOP",
        "MULTI_EXIT_DISC",
        "LOCAL_PREF",
        "ATOMIC_AGGREGATE",
        "AGGREGATOR",
        "COMMUNITIES",
        "ORIGINATOR_ID",
        "CLUSTER_LIST",
        "MP_REACH_NLRI",
        "MP_UNREACH_NLRI",
        "EXTENDED_COMMUNITIES",
        "AS4_PATH",
        "AS4_AGGREGATOR",
        "IPV6_EXTENDED_COMMUNITIES",
        "LARGE_COMMUNITIES",
        "OTC",
        "raw attribute",
        "origin igp",
        "origin egp",
        "origin incomplete",
        "AS_SET",
        "AS_SEQUENCE",
        "AS_CONFED_SEQUENCE",
        "AS_CONFED_SET",
        "next hop v4",
        "next hop v6 16",
        "next hop v6 32",
        "next hop raw",
        "nlri prefixes",
        "nlri opaque",
        "path id",
        "End-of-RIB",
    ];
    let mut seen = std::collections::BTreeSet::new();
    for sent in &scenario().sent {
        seen.insert(match &sent.message {
            Message::Open(_) => "OPEN",
            Message::Update(_) => "UPDATE",
            Message::Notification(_) => "NOTIFICATION",
            Message::Keepalive => "KEEPALIVE",
            Message::RouteRefresh(_) => "ROUTE-REFRESH",
        });
        match &sent.message {
            Message::Open(open) => {
                for cap in &open.capabilities {
                    seen.insert(match cap {
                        Capability::Multiprotocol(_) => "cap multiprotocol",
                        Capability::RouteRefresh => "cap route refresh",
                        Capability::ExtendedNextHop(_) => "cap extended next hop",
                        Capability::ExtendedMessage => "cap extended message",
                        Capability::BgpRole(_) => "cap role",
                        Capability::GracefulRestart(_) => "cap graceful restart",
                        Capability::FourOctetAs(_) => "cap 4-octet AS",
                        Capability::AddPath(_) => "cap add-path",
                        Capability::EnhancedRouteRefresh => "cap enhanced route refresh",
                        Capability::LongLivedGracefulRestart(_) => "cap LLGR",
                        Capability::Fqdn(_) => "cap FQDN",
                        Capability::RouteRefreshCisco => "cap route refresh (Cisco)",
                        Capability::Unknown { .. } => "cap unknown",
                    });
                }
                for (_, mode) in open.add_path() {
                    seen.insert(match mode {
                        AddPathMode::Receive => "add-path receive",
                        AddPathMode::Send => "add-path send",
                        AddPathMode::Both => "add-path both",
                    });
                }
            }
            Message::RouteRefresh(r) => {
                seen.insert(match r.subtype {
                    RefreshSubtype::Normal => "refresh normal",
                    RefreshSubtype::BeginningOfRouteRefresh => "refresh BoRR",
                    RefreshSubtype::EndOfRouteRefresh => "refresh EoRR",
                    // RFC 7313 section 5: receivers ignore these; not sent.
                    RefreshSubtype::Reserved(_) => "refresh reserved",
                });
            }
            Message::Update(update) => {
                if update.end_of_rib_family().is_some() {
                    seen.insert("End-of-RIB");
                }
                if prefixes_in_wire_order(update)
                    .iter()
                    .any(|n| n.path_id.is_some())
                {
                    seen.insert("path id");
                }
                for attribute in &update.attributes {
                    seen.insert(attribute_name(attribute));
                    match attribute {
                        PathAttribute::Origin(o) => {
                            seen.insert(match o {
                                Origin::Igp => "origin igp",
                                Origin::Egp => "origin egp",
                                Origin::Incomplete => "origin incomplete",
                            });
                        }
                        PathAttribute::AsPath(path) | PathAttribute::As4Path(path) => {
                            for segment in &path.segments {
                                seen.insert(match segment.kind {
                                    SegmentType::Set => "AS_SET",
                                    SegmentType::Sequence => "AS_SEQUENCE",
                                    SegmentType::ConfedSequence => "AS_CONFED_SEQUENCE",
                                    SegmentType::ConfedSet => "AS_CONFED_SET",
                                });
                            }
                        }
                        PathAttribute::MpReach(reach) => {
                            seen.insert(match &reach.next_hop {
                                NextHop::V4(_) => "next hop v4",
                                NextHop::V6 {
                                    link_local: None, ..
                                } => "next hop v6 16",
                                NextHop::V6 {
                                    link_local: Some(_),
                                    ..
                                } => "next hop v6 32",
                                NextHop::Raw(_) => "next hop raw",
                            });
                            seen.insert(nlri_kind(&reach.nlri));
                        }
                        PathAttribute::MpUnreach(unreach) => {
                            seen.insert(nlri_kind(&unreach.withdrawn));
                        }
                        _ => {}
                    }
                }
            }
            Message::Notification(_) | Message::Keepalive => {}
        }
    }
    let missing: Vec<&&str> = REQUIRED.iter().filter(|r| !seen.contains(**r)).collect();
    assert!(
        missing.is_empty(),
        "the oracle scenario never sends: {missing:?}"
    );
}

fn nlri_kind(nlri: &MpNlri) -> &'static str {
    match nlri {
        MpNlri::Prefixes(_) => "nlri prefixes",
        MpNlri::Opaque(_) => "nlri opaque",
    }
}

fn attribute_name(attribute: &PathAttribute) -> &'static str {
    match attribute {
        PathAttribute::Origin(_) => "ORIGIN",
        PathAttribute::AsPath(_) => "AS_PATH",
        PathAttribute::NextHop(_) => "NEXT_HOP",
        PathAttribute::MultiExitDisc(_) => "MULTI_EXIT_DISC",
        PathAttribute::LocalPref(_) => "LOCAL_PREF",
        PathAttribute::AtomicAggregate => "ATOMIC_AGGREGATE",
        PathAttribute::Aggregator(_) => "AGGREGATOR",
        PathAttribute::Communities(_) => "COMMUNITIES",
        PathAttribute::OriginatorId(_) => "ORIGINATOR_ID",
        PathAttribute::ClusterList(_) => "CLUSTER_LIST",
        PathAttribute::MpReach(_) => "MP_REACH_NLRI",
        PathAttribute::MpUnreach(_) => "MP_UNREACH_NLRI",
        PathAttribute::ExtendedCommunities(_) => "EXTENDED_COMMUNITIES",
        PathAttribute::As4Path(_) => "AS4_PATH",
        PathAttribute::As4Aggregator(_) => "AS4_AGGREGATOR",
        PathAttribute::Ipv6ExtendedCommunities(_) => "IPV6_EXTENDED_COMMUNITIES",
        PathAttribute::LargeCommunities(_) => "LARGE_COMMUNITIES",
        PathAttribute::Otc(_) => "OTC",
        PathAttribute::Raw(_) => "raw attribute",
    }
}
