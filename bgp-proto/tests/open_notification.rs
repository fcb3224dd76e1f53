//! OPEN, NOTIFICATION and ROUTE-REFRESH through the public API: messages
//! captured from real sessions, RFC 9072 extended parameters, and the
//! NOTIFICATION each malformed message must trigger.

use std::net::Ipv4Addr;

use bgp_proto::capability::{
    AddPathMode, Capability, ExtendedNextHop, Fqdn, GracefulRestart, LlgrFamily, Role,
};
use bgp_proto::iana::AS_TRANS;
use bgp_proto::message::notification::{CeaseError, NotificationError, OpenError};
use bgp_proto::message::open::ParameterLayout;
use bgp_proto::message::route_refresh::RefreshSubtype;
use bgp_proto::message::{Message, Notification, Open, RouteRefresh, decode_message};
use bgp_proto::{Afi, AfiSafi, CodecCtx, DecodeError, Safi};
use bytes::Bytes;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn decode(msg: &[u8]) -> Result<Message, DecodeError> {
    decode_message(msg, &CodecCtx::pre_open()).map(|decoded| decoded.message)
}

fn encode(message: &Message) -> Vec<u8> {
    message.to_bytes(&CodecCtx::pre_open()).unwrap().to_vec()
}

fn open_of(msg: &[u8]) -> Open {
    match decode(msg).unwrap() {
        Message::Open(open) => open,
        other => panic!("not an OPEN: {other:?}"),
    }
}

/// A whole OPEN message around `body`.
fn open_message(body: &[u8]) -> Vec<u8> {
    let mut msg = vec![0xff; 16];
    msg.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    msg.push(1);
    msg.extend_from_slice(body);
    msg
}

/// The (code, subcode, data) that `msg` must be answered with.
fn notification_for(msg: &[u8]) -> (u8, u8, Vec<u8>) {
    let n = decode(msg).unwrap_err().notification();
    (n.code, n.subcode, n.data.to_vec())
}

// OPEN messages captured from real sessions (files in shared/data/pcap,
// extracted with `tshark -Y 'bgp.type == 1' -T fields -e tcp.payload`).
const CAPTURED_OPENS: &[(&str, &str)] = &[
    (
        "16-bit-asn.cap",
        "ffffffffffffffffffffffffffffffff002d0104ff1400b4040404041002060104000100010202800002020200",
    ),
    (
        "4-byte_AS_numbers_Full_Support.cap",
        "ffffffffffffffffffffffffffffffff003a01045ba000b4280000011d0206010400010001020280000202020002038301000206410400280001",
    ),
    (
        "4-byte_AS_numbers_Full_Support.cap",
        "ffffffffffffffffffffffffffffffff003a01045ba000b40a0000011d02060104000100010202800002020200020383010002064104000a0001",
    ),
    (
        "BGP_flowspec_redirect.cap",
        "ffffffffffffffffffffffffffffffff00490104fdf200b40a0a0a0a2c0206010400010001020601040001008502060104000200010206010400020085020641040000fdf202020600",
    ),
    (
        "BGP_flowspec_redirect.cap",
        "ffffffffffffffffffffffffffffffff00470104fde8005a020202022a020601040002000102060104000200850202800002020200020440024078020641040000fde802024700",
    ),
    (
        "BGP_flowspec_v6.cap",
        "ffffffffffffffffffffffffffffffff002d0104363700b41e0000071002060104000200850206410400003637",
    ),
    (
        "BGP_notification_msg.cap",
        "ffffffffffffffffffffffffffffffff00b10104fde800b4020202029402060104000100010206010400010002020601040001000402060104000100800206010400010084020601040001008502060104000100860206010400020001020601040002000202060104000200040206010400020080020601040002008502060104000200860206010400190041020601040019004602060104400400470206010440040048020641040000fde802020600",
    ),
    (
        "BGP_notification_msg.cap",
        "ffffffffffffffffffffffffffffffff00350104fde900b47f0000011802060104000100010206010400020001020641040002fde8",
    ),
    (
        "bgp-add-path.cap",
        "ffffffffffffffffffffffffffffffff00410104fc0000b40a0000062402060104000100010202800002020200020246000206450400010103020641040000fc00",
    ),
    (
        "bgplu.cap",
        "ffffffffffffffffffffffffffffffff00350104000103e80a01010218020601040001000102060104000100040206410400000001",
    ),
    (
        "bgplu.cap",
        "ffffffffffffffffffffffffffffffff00410104000100b40a01010124022201040001000101040001000402004002012c41040000000145080001010100010401",
    ),
];

#[test]
fn captured_opens_decode_and_re_encode_byte_for_byte() {
    for (file, wire) in CAPTURED_OPENS {
        let msg = hex(wire);
        let message = decode(&msg).unwrap_or_else(|e| panic!("{file}: {e}"));
        let Message::Open(open) = &message else {
            panic!("{file}: not an OPEN");
        };
        assert_eq!(open.version, 4, "{file}");
        assert!(
            !open
                .capabilities
                .iter()
                .any(|c| matches!(c, Capability::Unknown { code, .. } if *code != 131)),
            "{file}: unexpected unknown capability in {:?}",
            open.capabilities
        );
        assert_eq!(encode(&message), msg, "{file}");
    }
}

#[test]
fn captured_opens_have_the_expected_contents() {
    // Cisco-style, one capability per parameter, with code 131 (unknown).
    let open = open_of(&hex(CAPTURED_OPENS[1].1));
    assert_eq!(open.my_as, 23456);
    assert_eq!(open.asn(), 40 << 16 | 1, "AS 40.1");
    assert_eq!(open.bgp_identifier, Ipv4Addr::new(40, 0, 0, 1));
    assert_eq!(open.hold_time, 180);
    assert_eq!(open.layout, ParameterLayout::OnePerParameter);
    assert!(open.supports_route_refresh());
    assert!(open.capabilities.contains(&Capability::Unknown {
        code: 131,
        value: Bytes::from_static(&[0]),
    }));

    // Graceful Restart with the N bit, and an empty LLGR.
    let open = open_of(&hex(CAPTURED_OPENS[4].1));
    assert_eq!(open.hold_time, 90);
    assert_eq!(
        open.graceful_restart(),
        Some(&GracefulRestart {
            restart_state: false,
            notification: true,
            restart_time: 120,
            families: vec![],
        })
    );
    assert!(
        open.capabilities
            .contains(&Capability::LongLivedGracefulRestart(vec![]))
    );
    let flowspec: Vec<_> = open.multiprotocol().collect();
    assert_eq!(
        flowspec,
        vec![
            AfiSafi::IPV6_UNICAST,
            AfiSafi::new(Afi::IPV6, Safi::FLOWSPEC)
        ]
    );

    // Many families (BGP-LS, EVPN, VPLS) and Extended Message.
    let open = open_of(&hex(CAPTURED_OPENS[6].1));
    assert_eq!(open.multiprotocol().count(), 17);
    assert!(
        open.multiprotocol()
            .any(|f| f == AfiSafi::new(Afi::L2VPN, Safi::EVPN))
    );
    assert!(open.extended_message());
    assert_eq!(open.four_octet_as(), Some(65000));

    // ADD-PATH.
    let open = open_of(&hex(CAPTURED_OPENS[8].1));
    assert_eq!(
        open.add_path().collect::<Vec<_>>(),
        vec![(AfiSafi::IPV4_UNICAST, AddPathMode::Both)]
    );
    assert!(open.supports_enhanced_route_refresh());

    // All capabilities in one parameter, two ADD-PATH families.
    let open = open_of(&hex(CAPTURED_OPENS[10].1));
    assert_eq!(open.layout, ParameterLayout::Single);
    assert_eq!(open.capabilities.len(), 6);
    assert_eq!(
        open.add_path().collect::<Vec<_>>(),
        vec![
            (AfiSafi::IPV4_UNICAST, AddPathMode::Receive),
            (
                AfiSafi::new(Afi::IPV4, Safi::MPLS_LABEL),
                AddPathMode::Receive
            ),
        ]
    );
    assert_eq!(open.graceful_restart().map(|gr| gr.restart_time), Some(300));
}

/// An OPEN with every kind of capability this crate knows.
fn rich_open(asn: u32) -> Open {
    Open::new(
        asn,
        90,
        Ipv4Addr::new(192, 0, 2, 1),
        vec![
            Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
            Capability::Multiprotocol(AfiSafi::IPV6_UNICAST),
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::ExtendedNextHop(vec![ExtendedNextHop::new(
                AfiSafi::IPV4_UNICAST,
                Afi::IPV6,
            )]),
            Capability::ExtendedMessage,
            Capability::BgpRole(Role::RouteServer),
            Capability::GracefulRestart(GracefulRestart {
                restart_state: true,
                notification: true,
                restart_time: 120,
                families: vec![(AfiSafi::IPV4_UNICAST, true)],
            }),
            Capability::AddPath(vec![(AfiSafi::IPV6_UNICAST, AddPathMode::Send)]),
            Capability::LongLivedGracefulRestart(vec![LlgrFamily {
                afi_safi: AfiSafi::IPV6_UNICAST,
                flags: 0x80,
                stale_time: 86400,
            }]),
            Capability::Fqdn(Fqdn::new("rs1", "example.net")),
            Capability::RouteRefreshCisco,
            Capability::Unknown {
                code: 250,
                value: Bytes::from_static(b"opaque"),
            },
        ],
    )
}

#[test]
fn every_capability_round_trips_through_a_message() {
    for layout in [
        ParameterLayout::OnePerParameter,
        ParameterLayout::Single,
        ParameterLayout::Grouped(vec![3, 0, 5, 6]),
    ] {
        let mut open = rich_open(4_200_000_000);
        open.layout = layout;
        let message = Message::Open(open);
        let wire = encode(&message);
        assert!(wire.len() < 19 + 10 + 255, "fits without RFC 9072");
        assert_eq!(decode(&wire).unwrap(), message);
    }
    let open = rich_open(4_200_000_000);
    assert_eq!(open.my_as, AS_TRANS);
    assert_eq!(open.asn(), 4_200_000_000);
}

#[test]
fn rfc9072_extended_parameters_are_used_only_when_needed() {
    let mut open = rich_open(65001);
    let short = encode(&Message::Open(open.clone()));
    assert_ne!(short[28], 255);

    // Push the parameters past 255 octets.
    for i in 0..40u16 {
        open.capabilities
            .push(Capability::Multiprotocol(AfiSafi::new(
                Afi(1000 + i),
                Safi(1),
            )));
    }
    let message = Message::Open(open.clone());
    let wire = encode(&message);
    assert_eq!(&wire[28..30], &[255, 255], "RFC 9072 marker");
    let ext_len = usize::from(u16::from_be_bytes([wire[30], wire[31]]));
    assert_eq!(ext_len, wire.len() - 32);
    // The first parameter, with a 2-octet length: Multiprotocol IPv4 unicast.
    assert_eq!(&wire[32..41], &[2, 0, 6, 1, 4, 0, 1, 0, 1]);
    assert_eq!(decode(&wire).unwrap(), message);

    // Same with all capabilities in one parameter.
    open.layout = ParameterLayout::Single;
    let message = Message::Open(open);
    let wire = encode(&message);
    assert_eq!(&wire[28..30], &[255, 255]);
    let param_len = usize::from(u16::from_be_bytes([wire[33], wire[34]]));
    assert_eq!(param_len, wire.len() - 35);
    assert_eq!(decode(&wire).unwrap(), message);
}

#[test]
fn rfc9072_extended_form_is_accepted_even_when_short() {
    // Hand-assembled: Non-Ext OP Len 255, type 255, Extended length 11,
    // then one parameter of type 2 with a 2-octet length of 8 holding
    // Route Refresh and 4-octet AS 65536.
    let mut body = vec![4, 0x5b, 0xa0, 0, 180, 10, 0, 0, 1, 255, 255, 0, 11];
    body.extend_from_slice(&[2, 0, 8, 2, 0, 65, 4, 0, 1, 0, 0]);
    let open = open_of(&open_message(&body));
    assert_eq!(open.asn(), 65536);
    assert_eq!(
        open.capabilities,
        vec![Capability::RouteRefresh, Capability::FourOctetAs(65536)]
    );
    // Re-encoded, it takes the ordinary form.
    let wire = encode(&Message::Open(open));
    assert_eq!(&wire[28..], &[10, 2, 8, 2, 0, 65, 4, 0, 1, 0, 0]);
}

#[test]
fn malformed_opens_get_the_rfc_notifications() {
    let base = [4, 0xfd, 0xe8, 0, 90, 10, 0, 0, 1];
    let with_params = |params: &[u8]| {
        let mut body = base.to_vec();
        body.push(u8::try_from(params.len()).unwrap());
        body.extend_from_slice(params);
        open_message(&body)
    };

    // Unsupported Version Number, data = largest supported version.
    let mut msg = with_params(&[]);
    msg[19] = 3;
    assert_eq!(notification_for(&msg), (2, 1, vec![0, 4]));

    // Optional parameter type 1 (deprecated Authentication).
    assert_eq!(notification_for(&with_params(&[1, 1, 0])), (2, 4, vec![]));
    // A parameter of type 255 without the RFC 9072 layout.
    assert_eq!(notification_for(&with_params(&[255, 0])), (2, 4, vec![]));

    // Lengths that disagree: OPEN Message Error, subcode 0.
    let mut msg = with_params(&[2, 2, 2, 0]);
    msg[28] = 3;
    assert_eq!(notification_for(&msg), (2, 0, vec![]));
    assert_eq!(
        notification_for(&with_params(&[2, 3, 2, 0])),
        (2, 0, vec![])
    );
    assert_eq!(notification_for(&with_params(&[2, 1, 2])), (2, 0, vec![]));

    // A known capability with the wrong length.
    let err = decode(&with_params(&[2, 5, 65, 3, 0, 0, 1])).unwrap_err();
    assert_eq!(err.offset, 32, "points at the capability length");
    assert_eq!(err.location, "4-octet AS capability");
    assert_eq!(notification_for(&with_params(&[2, 5, 65, 3, 0, 0, 1])).0, 2);

    // An unknown capability with any content is fine.
    let open = open_of(&with_params(&[2, 5, 99, 3, 1, 2, 3]));
    assert_eq!(
        open.capabilities,
        vec![Capability::Unknown {
            code: 99,
            value: Bytes::from_static(&[1, 2, 3]),
        }]
    );

    // Too short for the fixed fields: Bad Message Length from the header check.
    let short = open_message(&base);
    assert_eq!(notification_for(&short), (1, 2, vec![0, 28]));
}

#[test]
fn every_prefix_of_a_captured_open_fails_cleanly() {
    let msg = hex(CAPTURED_OPENS[10].1);
    for len in 0..msg.len() {
        let mut body = msg[19..].to_vec();
        body.truncate(len.saturating_sub(19));
        assert!(Open::decode(&body).is_err());
    }
}

#[test]
fn captured_notifications_decode() {
    let msg = hex("ffffffffffffffffffffffffffffffff0017030202feb0");
    let Message::Notification(n) = decode(&msg).unwrap() else {
        panic!("not a NOTIFICATION");
    };
    assert_eq!(n.error(), NotificationError::Open(OpenError::BadPeerAs));
    assert_eq!(
        n.to_string(),
        "OPEN Message Error / Bad Peer AS (data fe b0)"
    );
    assert_eq!(encode(&Message::Notification(n)), msg);

    let msg = hex(
        "ffffffffffffffffffffffffffffffff004b03020241534e20696e204f50454e20283635303031292064\
         6964206e6f74206d617463682041534e2065787065637465642028363530303029",
    );
    let Message::Notification(n) = decode(&msg).unwrap() else {
        panic!("not a NOTIFICATION");
    };
    assert_eq!((n.code, n.subcode), (2, 2));
    assert_eq!(
        &n.data[..],
        b"ASN in OPEN (65001) did not match ASN expected (65000)"
    );
    assert_eq!(encode(&Message::Notification(n)), msg);
}

#[test]
fn shutdown_communication_round_trips_through_a_message() {
    let sent = Notification::cease_shutdown(2, "maintenance, back at 14:00 UTC ✓");
    let wire = encode(&Message::Notification(sent.clone()));
    assert_eq!(wire[19..22], [6, 2, 34]);
    let Message::Notification(got) = decode(&wire).unwrap() else {
        panic!("not a NOTIFICATION");
    };
    assert_eq!(got, sent);
    assert_eq!(
        got.shutdown_message(),
        Some(Ok("maintenance, back at 14:00 UTC ✓"))
    );
    assert_eq!(
        got.error(),
        NotificationError::Cease(CeaseError::AdministrativeShutdown)
    );
    assert_eq!(
        got.to_string(),
        "Cease / Administrative Shutdown: \"maintenance, back at 14:00 UTC ✓\""
    );
}

#[test]
fn malformed_shutdown_communication_does_not_fail_the_decode() {
    // Cease / Administrative Reset, length 200 but 3 octets follow.
    let mut wire = vec![0xff; 16];
    wire.extend_from_slice(&[0, 25, 3, 6, 4, 200, b'a', b'b', b'c']);
    let Message::Notification(n) = decode(&wire).unwrap() else {
        panic!("not a NOTIFICATION");
    };
    assert!(matches!(n.shutdown_message(), Some(Err(_))));
    assert!(n.to_string().contains("malformed shutdown communication"));
    assert_eq!(encode(&Message::Notification(n)), wire);
}

#[test]
fn notification_constructors_encode_as_the_rfcs_say() {
    let body = |n: Notification| encode(&Message::Notification(n))[19..].to_vec();
    assert_eq!(body(Notification::hold_timer_expired()), [4, 0]);
    assert_eq!(body(Notification::send_hold_timer_expired()), [8, 0]);
    assert_eq!(
        body(Notification::max_prefixes(AfiSafi::IPV4_UNICAST, 1000)),
        [6, 1, 0, 1, 1, 0, 0, 0x03, 0xe8]
    );
    assert_eq!(
        body(Notification::hard_reset(&Notification::cease(
            CeaseError::PeerDeconfigured
        ))),
        [6, 9, 6, 3]
    );
    assert_eq!(body(Notification::cease(CeaseError::BfdDown)), [6, 10]);
}

#[test]
fn display_names_code_subcode_and_data() {
    let n = Notification::new(2, 2, Bytes::from_static(&[0xfe, 0xb0]));
    assert_eq!(
        n.to_string(),
        "OPEN Message Error / Bad Peer AS (data fe b0)"
    );
    assert_eq!(
        Notification::cease_shutdown(2, "maintenance").to_string(),
        "Cease / Administrative Shutdown: \"maintenance\""
    );
    assert_eq!(
        Notification::max_prefixes(AfiSafi::IPV6_UNICAST, 1000).to_string(),
        "Cease / Maximum Number of Prefixes Reached: ipv6-unicast, limit 1000"
    );
    let hard = Notification::hard_reset(&Notification::hold_timer_expired());
    assert_eq!(hard.to_string(), "Cease / Hard Reset (Hold Timer Expired)");
    assert_eq!(
        Notification::new(9, 3, Bytes::new()).to_string(),
        "error code 9 / subcode 3"
    );
    assert_eq!(
        Notification::new(6, 77, Bytes::new()).to_string(),
        "Cease / subcode 77"
    );
    let long = Notification::new(3, 1, Bytes::from(vec![0; 40]));
    assert!(long.to_string().ends_with("... 40 octets)"));
}

#[test]
fn control_characters_are_escaped_in_display() {
    let n = Notification::cease_shutdown(2, "a\nb\u{1b}[2J");
    assert_eq!(
        n.to_string(),
        "Cease / Administrative Shutdown: \"a\\nb\\u{1b}[2J\""
    );
}

#[test]
fn max_prefixes_and_hard_reset_data_round_trip() {
    let family = AfiSafi::new(Afi::IPV4, Safi::MPLS_VPN);
    let n = Notification::max_prefixes(family, 500_000);
    assert_eq!(&n.data[..], &[0, 1, 128, 0, 0x07, 0xa1, 0x20]);
    assert_eq!(n.max_prefixes_data(), Some((family, 500_000)));
    let bare = Notification::cease(CeaseError::MaximumPrefixesReached);
    assert_eq!(bare.max_prefixes_data(), None);
    let cause = Notification::cease_shutdown(2, "bye");
    let hard = Notification::hard_reset(&cause);
    assert_eq!(&hard.data[..], &[6, 2, 3, b'b', b'y', b'e']);
    assert_eq!(hard.hard_reset_cause(), Some(cause));
    assert_eq!(
        hard.error(),
        NotificationError::Cease(CeaseError::HardReset)
    );
}

#[test]
fn short_notification_is_bad_message_length() {
    let mut wire = vec![0xff; 16];
    wire.extend_from_slice(&[0, 20, 3, 6]);
    assert_eq!(notification_for(&wire), (1, 2, vec![0, 20]));
}

#[test]
fn captured_route_refreshes_decode_and_re_encode() {
    for (wire, subtype) in [
        (
            "ffffffffffffffffffffffffffffffff00170500010001",
            RefreshSubtype::Normal,
        ),
        (
            "ffffffffffffffffffffffffffffffff00170500010101",
            RefreshSubtype::BeginningOfRouteRefresh,
        ),
        (
            "ffffffffffffffffffffffffffffffff00170500010201",
            RefreshSubtype::EndOfRouteRefresh,
        ),
    ] {
        let msg = hex(wire);
        let message = decode(&msg).unwrap();
        assert_eq!(
            message,
            Message::RouteRefresh(RouteRefresh::with_subtype(AfiSafi::IPV4_UNICAST, subtype))
        );
        assert_eq!(encode(&message), msg);
    }
}

#[test]
fn route_refresh_errors_and_reserved_subtypes() {
    // Reserved subtype: decoded, flagged for the caller to ignore.
    let msg = hex("ffffffffffffffffffffffffffffffff00170500027701");
    let Message::RouteRefresh(rr) = decode(&msg).unwrap() else {
        panic!("not a ROUTE-REFRESH");
    };
    assert_eq!(rr.subtype, RefreshSubtype::Reserved(0x77));
    assert!(rr.is_ignored());

    // Wrong length: ROUTE-REFRESH Message Error / Invalid Message Length,
    // with the whole message as data (RFC 7313 section 5).
    let msg = hex("ffffffffffffffffffffffffffffffff0018050001010100");
    assert_eq!(notification_for(&msg), (7, 1, msg.clone()));
    let msg = hex("ffffffffffffffffffffffffffffffff0013 05"
        .replace(' ', "")
        .as_str());
    assert_eq!(notification_for(&msg), (7, 1, msg.clone()));
}

mod fuzz {
    use super::*;
    use bgp_proto::capability::decode_capabilities;
    use proptest::prelude::*;

    /// A capability TLV with a known or random code and a short value.
    fn tlv() -> impl Strategy<Value = Vec<u8>> {
        let code = prop_oneof![
            prop::sample::select(vec![1u8, 2, 5, 6, 9, 64, 65, 69, 70, 71, 73, 128]),
            any::<u8>(),
        ];
        (code, prop::collection::vec(any::<u8>(), 0..24)).prop_map(|(code, value)| {
            let mut tlv = vec![code, value.len() as u8];
            tlv.extend_from_slice(&value);
            tlv
        })
    }

    /// An OPEN body whose parameters hold well-framed capability TLVs.
    fn open_body() -> impl Strategy<Value = Vec<u8>> {
        let param = prop::collection::vec(tlv(), 0..4).prop_map(|tlvs| tlvs.concat());
        (
            any::<[u8; 8]>(),
            prop::collection::vec(param, 0..6),
            any::<bool>(),
        )
            .prop_map(|(fixed, params, extended)| {
                let mut body = vec![4];
                body.extend_from_slice(&fixed);
                let mut opt = Vec::new();
                for p in &params {
                    opt.push(2);
                    if extended {
                        opt.extend_from_slice(&(p.len() as u16).to_be_bytes());
                    } else {
                        opt.push(p.len().min(255) as u8);
                    }
                    opt.extend_from_slice(p);
                }
                if extended {
                    body.extend_from_slice(&[255, 255]);
                    body.extend_from_slice(&(opt.len() as u16).to_be_bytes());
                } else {
                    body.push(opt.len().min(255) as u8);
                }
                body.extend_from_slice(&opt);
                body
            })
    }

    proptest! {
        #[test]
        fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = Open::decode(&bytes);
            let _ = Notification::decode(&bytes);
            let _ = RouteRefresh::decode(&bytes);
            let _ = decode_capabilities(&bytes, 0, &mut Vec::new());
            if let Ok(n) = Notification::decode(&bytes) {
                let _ = n.to_string();
                let _ = n.shutdown_message();
                let _ = n.hard_reset_cause();
            }
        }

        #[test]
        fn decoded_opens_re_encode_stably(body in open_body()) {
            if let Ok(open) = Open::decode(&body) {
                let mut out = bytes::BytesMut::new();
                open.encode(&mut out);
                let again = Open::decode(&out).unwrap();
                prop_assert_eq!(&again, &open);
                for cap in &open.capabilities {
                    let _ = cap.to_string();
                }
            }
        }
    }
}
