//! Golden vectors for every capability, hand-assembled from the RFCs.

use super::*;
use crate::iana::{Afi, Safi};

/// Decode one TLV, check it is `expected`, and check it encodes back to `wire`.
fn golden(wire: &[u8], expected: Capability) {
    let mut caps = Vec::new();
    decode_capabilities(wire, 0, &mut caps).unwrap();
    assert_eq!(caps, vec![expected.clone()], "decoding {wire:02x?}");
    assert_eq!(&expected.to_bytes()[..], wire, "encoding {expected:?}");
}

fn decode_err(wire: &[u8]) -> DecodeError {
    let mut caps = Vec::new();
    decode_capabilities(wire, 100, &mut caps).unwrap_err()
}

#[test]
fn multiprotocol_rfc4760() {
    golden(
        &[1, 4, 0, 2, 0, 1],
        Capability::Multiprotocol(AfiSafi::IPV6_UNICAST),
    );
    golden(
        &[1, 4, 0x40, 0x04, 0, 0x47],
        Capability::Multiprotocol(AfiSafi::new(Afi::BGP_LS, Safi(71))),
    );
}

#[test]
fn empty_capabilities() {
    golden(&[2, 0], Capability::RouteRefresh);
    golden(&[6, 0], Capability::ExtendedMessage);
    golden(&[70, 0], Capability::EnhancedRouteRefresh);
    golden(&[128, 0], Capability::RouteRefreshCisco);
}

#[test]
fn extended_next_hop_rfc8950() {
    // IPv4 unicast and IPv4 MPLS VPN over IPv6 next hops.
    golden(
        &[5, 12, 0, 1, 0, 1, 0, 2, 0, 1, 0, 128, 0, 2],
        Capability::ExtendedNextHop(vec![
            ExtendedNextHop::new(AfiSafi::IPV4_UNICAST, Afi::IPV6),
            ExtendedNextHop::new(AfiSafi::new(Afi::IPV4, Safi::MPLS_VPN), Afi::IPV6),
        ]),
    );
}

#[test]
fn bgp_role_rfc9234() {
    golden(&[9, 1, 3], Capability::BgpRole(Role::Customer));
    golden(&[9, 1, 0], Capability::BgpRole(Role::Provider));
    golden(&[9, 1, 200], Capability::BgpRole(Role::Unknown(200)));
}

#[test]
fn graceful_restart_rfc4724_rfc8538() {
    // R and N set, 120 s, IPv4 unicast with F, IPv6 unicast without.
    golden(
        &[64, 10, 0xc0, 0x78, 0, 1, 1, 0x80, 0, 2, 1, 0],
        Capability::GracefulRestart(GracefulRestart {
            restart_state: true,
            notification: true,
            restart_time: 120,
            families: vec![
                (AfiSafi::IPV4_UNICAST, true),
                (AfiSafi::IPV6_UNICAST, false),
            ],
        }),
    );
    // Helper mode: flags and time only.
    golden(
        &[64, 2, 0x01, 0x2c],
        Capability::GracefulRestart(GracefulRestart {
            restart_time: 300,
            ..GracefulRestart::default()
        }),
    );
}

#[test]
fn four_octet_as_rfc6793() {
    golden(
        &[65, 4, 0xfa, 0x56, 0xea, 0x00],
        Capability::FourOctetAs(4_200_000_000),
    );
}

#[test]
fn add_path_rfc7911() {
    golden(
        &[69, 8, 0, 1, 1, 3, 0, 2, 1, 1],
        Capability::AddPath(vec![
            (AfiSafi::IPV4_UNICAST, AddPathMode::Both),
            (AfiSafi::IPV6_UNICAST, AddPathMode::Receive),
        ]),
    );
}

#[test]
fn long_lived_graceful_restart_rfc9494() {
    golden(
        &[71, 7, 0, 1, 1, 0x80, 0x00, 0x0e, 0x10],
        Capability::LongLivedGracefulRestart(vec![LlgrFamily {
            afi_safi: AfiSafi::IPV4_UNICAST,
            flags: graceful_restart::FORWARDING_PRESERVED,
            stale_time: 3600,
        }]),
    );
    golden(&[71, 0], Capability::LongLivedGracefulRestart(vec![]));
}

#[test]
fn fqdn_draft_walton() {
    let mut wire = vec![73, 15, 2, b'r', b'1', 11];
    wire.extend_from_slice(b"example.net");
    golden(&wire, Capability::Fqdn(Fqdn::new("r1", "example.net")));
    golden(
        &[73, 4, 2, b'r', b'1', 0],
        Capability::Fqdn(Fqdn::new("r1", "")),
    );
}

#[test]
fn unknown_capabilities_are_kept_and_never_fail() {
    golden(
        &[131, 1, 0],
        Capability::Unknown {
            code: 131,
            value: Bytes::from_static(&[0]),
        },
    );
    golden(
        &[0, 0],
        Capability::Unknown {
            code: 0,
            value: Bytes::new(),
        },
    );
}

#[test]
fn several_capabilities_in_one_parameter_keep_their_order() {
    let wire = [65, 4, 0, 0, 0, 1, 2, 0, 1, 4, 0, 1, 0, 1];
    let mut caps = Vec::new();
    decode_capabilities(&wire, 0, &mut caps).unwrap();
    assert_eq!(
        caps,
        vec![
            Capability::FourOctetAs(1),
            Capability::RouteRefresh,
            Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
        ]
    );
    let mut out = BytesMut::new();
    encode_capabilities(&caps, &mut out);
    assert_eq!(&out[..], &wire);
}

#[test]
fn wrong_lengths_of_known_capabilities_are_malformed_open() {
    let cases: &[(&[u8], usize)] = &[
        (&[1, 3, 0, 1, 0], 101),
        (&[2, 1, 0], 101),
        (&[5, 5, 0, 1, 0, 1, 0], 101),
        (&[6, 1, 0], 101),
        (&[9, 0], 101),
        (&[64, 1, 0], 101),
        (&[64, 4, 0, 0, 0, 1], 101),
        (&[65, 2, 0, 1], 101),
        (&[69, 3, 0, 1, 1], 101),
        (&[70, 1, 0], 101),
        (&[71, 6, 0, 1, 1, 0, 0, 0], 101),
        (&[73, 1, 5], 102),
        (&[128, 2, 0, 0], 101),
    ];
    for (wire, offset) in cases {
        let err = decode_err(wire);
        assert!(
            matches!(err.kind, ErrorKind::MalformedOpen { .. }),
            "{wire:02x?}: {err}"
        );
        assert_eq!(err.offset, *offset, "{wire:02x?}: {err}");
        let n = err.notification();
        assert_eq!((n.code, n.subcode), (2, 0));
    }
}

#[test]
fn overruns_are_malformed_open() {
    assert_eq!(decode_err(&[2]).offset, 100);
    assert_eq!(decode_err(&[200, 3, 0]).offset, 101);
    assert!(matches!(
        decode_err(&[200, 3, 0]).kind,
        ErrorKind::MalformedOpen { .. }
    ));
}

#[test]
fn long_lists_are_split_into_several_capabilities() {
    let entries: Vec<_> = (0..70u16)
        .map(|afi| (AfiSafi::new(Afi(afi), Safi::UNICAST), AddPathMode::Send))
        .collect();
    let bytes = Capability::AddPath(entries.clone()).to_bytes();
    assert_eq!(bytes.len(), 2 + 252 + 2 + 28);
    let mut caps = Vec::new();
    decode_capabilities(&bytes, 0, &mut caps).unwrap();
    let merged: Vec<_> = caps
        .iter()
        .flat_map(|c| match c {
            Capability::AddPath(e) => e.clone(),
            _ => vec![],
        })
        .collect();
    assert_eq!(caps.len(), 2);
    assert_eq!(merged, entries);
}

#[test]
fn oversized_unknown_values_are_cut() {
    let cap = Capability::Unknown {
        code: 200,
        value: Bytes::from(vec![7; 300]),
    };
    let bytes = cap.to_bytes();
    assert_eq!(bytes.len(), 257);
    assert_eq!(bytes.get(1), Some(&255));
}

#[test]
fn display_is_readable() {
    assert_eq!(
        Capability::Multiprotocol(AfiSafi::IPV6_UNICAST).to_string(),
        "Multiprotocol ipv6-unicast"
    );
    assert_eq!(
        Capability::AddPath(vec![(AfiSafi::IPV4_UNICAST, AddPathMode::Both)]).to_string(),
        "ADD-PATH ipv4-unicast/send-receive"
    );
    assert_eq!(
        Capability::Fqdn(Fqdn::new("r1", "lab")).to_string(),
        "FQDN \"r1.lab\""
    );
}
