//! Round trips through the MRT writer and reader:
//! - generated records of every body type: write, read, equal, and writing
//!   what was read gives the same bytes;
//! - generated attribute lists: a RIB entry built from them decodes to them
//!   (RFC 6396 section 4.3.4 encoding, abbreviated MP_REACH_NLRI included);
//! - generated UPDATEs in BGP4MP records decode to themselves;
//! - every record of the shared real MRT files: read, write, read, equal,
//!   and the written file is byte-identical to the original.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use bgp_proto::attribute::{
    Aggregator, AsPath, AsSegment, Community, ExtendedCommunity, LargeCommunity, MpNlri, MpReach,
    NextHop, Origin, PathAttribute, RawAttribute, SegmentType,
};
use bgp_proto::message::{Message, Update};
use bgp_proto::mrt::{
    Bgp4mpMessage, Bgp4mpSession, Bgp4mpStateChange, MrtBody, MrtReader, MrtRecord, MrtWriter,
    PeerEntry, PeerIndexTable, RawRecord, RibEntry, RibRecord, TableDump,
};
use bgp_proto::{AfiSafi, Nlri};
use bytes::Bytes;
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};
use proptest::prelude::*;

// ---- strategies ----

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from)
}

fn ip(v6: bool) -> BoxedStrategy<IpAddr> {
    if v6 {
        ipv6().prop_map(IpAddr::V6).boxed()
    } else {
        ipv4().prop_map(IpAddr::V4).boxed()
    }
}

/// A canonical prefix (host bits clear), as NLRI decode to.
fn canonical_prefix(v6: bool) -> BoxedStrategy<IpNetwork> {
    if v6 {
        (ipv6(), 0u8..=128)
            .prop_map(|(addr, len)| {
                let net = Ipv6Network::new(addr, len).unwrap();
                IpNetwork::V6(Ipv6Network::new(net.network(), len).unwrap())
            })
            .boxed()
    } else {
        (ipv4(), 0u8..=32)
            .prop_map(|(addr, len)| {
                let net = Ipv4Network::new(addr, len).unwrap();
                IpNetwork::V4(Ipv4Network::new(net.network(), len).unwrap())
            })
            .boxed()
    }
}

/// Any address with any valid length, host bits kept (TABLE_DUMP keeps them).
fn any_prefix(v6: bool) -> BoxedStrategy<IpNetwork> {
    let max = if v6 { 128 } else { 32 };
    (ip(v6), 0u8..=max)
        .prop_map(|(addr, len)| IpNetwork::new(addr, len).unwrap())
        .boxed()
}

fn asn(as4: bool) -> BoxedStrategy<u32> {
    if as4 {
        any::<u32>().boxed()
    } else {
        (0u32..=65535).boxed()
    }
}

fn session(as4: bool) -> impl Strategy<Value = Bgp4mpSession> {
    any::<bool>().prop_flat_map(move |v6| {
        (asn(as4), asn(as4), any::<u16>(), ip(v6), ip(v6)).prop_map(
            |(peer_as, local_as, interface_index, peer_ip, local_ip)| Bgp4mpSession {
                peer_as,
                local_as,
                interface_index,
                peer_ip,
                local_ip,
            },
        )
    })
}

fn peer_entry() -> impl Strategy<Value = PeerEntry> {
    (any::<bool>(), any::<bool>()).prop_flat_map(|(v6, as4)| {
        (ipv4(), ip(v6), asn(as4)).prop_map(move |(bgp_id, ip, asn)| PeerEntry {
            bgp_id,
            ip,
            asn,
            as4,
        })
    })
}

fn peer_index_table() -> impl Strategy<Value = MrtBody> {
    (ipv4(), bytes(20), prop::collection::vec(peer_entry(), 0..6)).prop_map(
        |(collector_bgp_id, view_name, peers)| {
            MrtBody::PeerIndexTable(PeerIndexTable {
                collector_bgp_id,
                view_name,
                peers,
            })
        },
    )
}

fn rib() -> impl Strategy<Value = MrtBody> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_flat_map(|(v6, multicast, add_path)| {
        let entry = (any::<u16>(), any::<u32>(), any::<u32>(), bytes(40)).prop_map(
            move |(peer_index, originated_time, id, attributes)| RibEntry {
                peer_index,
                originated_time,
                path_id: add_path.then_some(id),
                attributes,
            },
        );
        (
            any::<u32>(),
            canonical_prefix(v6),
            prop::collection::vec(entry, 0..5),
        )
            .prop_map(move |(sequence, prefix, entries)| {
                MrtBody::Rib(RibRecord {
                    multicast,
                    add_path,
                    sequence,
                    prefix,
                    entries,
                })
            })
    })
}

fn table_dump() -> impl Strategy<Value = MrtBody> {
    any::<bool>().prop_flat_map(|v6| {
        (
            (any::<u16>(), any::<u16>(), any_prefix(v6), any::<u8>()),
            (any::<u32>(), ip(v6), any::<u16>(), bytes(40)),
        )
            .prop_map(
                |(
                    (view, sequence, prefix, status),
                    (originated_time, peer_ip, peer_as, attributes),
                )| {
                    MrtBody::TableDump(TableDump {
                        view,
                        sequence,
                        prefix,
                        status,
                        originated_time,
                        peer_ip,
                        peer_as,
                        attributes,
                    })
                },
            )
    })
}

fn bgp4mp_message() -> impl Strategy<Value = MrtBody> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_flat_map(|(as4, local, add_path)| {
        (session(as4), bytes(60)).prop_map(move |(session, message)| {
            MrtBody::Bgp4mpMessage(Bgp4mpMessage {
                session,
                as4,
                local,
                add_path,
                message,
            })
        })
    })
}

fn state_change() -> impl Strategy<Value = MrtBody> {
    any::<bool>().prop_flat_map(|as4| {
        (session(as4), any::<u16>(), any::<u16>()).prop_map(move |(session, old, new)| {
            MrtBody::Bgp4mpStateChange(Bgp4mpStateChange {
                session,
                as4,
                old_state: old,
                new_state: new,
            })
        })
    })
}

/// Types and subtypes this crate keeps raw: unknown types, RIB_GENERIC,
/// BGP4MP ENTRY and SNAPSHOT, and the _ET types it does not interpret.
fn raw() -> impl Strategy<Value = MrtRecord> {
    let kinds = prop::sample::select(vec![
        (0u16, 0u16),
        (5, 1),
        (11, 0),
        (12, 3),
        (13, 6),
        (13, 12),
        (16, 2),
        (17, 3),
        (32, 1),
        (33, 0),
        (48, 7),
        (49, 2),
        (65535, 65535),
    ]);
    (kinds, any::<u32>(), any::<u32>(), bytes(40)).prop_map(
        |((mrt_type, subtype), timestamp, micros, data)| MrtRecord {
            timestamp,
            microseconds: matches!(mrt_type, 17 | 33 | 49).then_some(micros),
            body: MrtBody::Raw(RawRecord {
                mrt_type,
                subtype,
                data,
            }),
        },
    )
}

fn record() -> impl Strategy<Value = MrtRecord> {
    let typed = prop_oneof![
        peer_index_table(),
        rib(),
        table_dump(),
        bgp4mp_message(),
        state_change(),
    ];
    let typed =
        (typed, any::<u32>(), any::<Option<u32>>()).prop_map(|(body, timestamp, micros)| {
            let bgp4mp = matches!(
                body,
                MrtBody::Bgp4mpMessage(_) | MrtBody::Bgp4mpStateChange(_)
            );
            MrtRecord {
                timestamp,
                microseconds: if bgp4mp { micros } else { None },
                body,
            }
        });
    prop_oneof![4 => typed, 1 => raw()]
}

fn write_all(records: &[MrtRecord]) -> Vec<u8> {
    let mut writer = MrtWriter::new(Vec::new());
    for record in records {
        writer.write(record).unwrap();
    }
    writer.into_inner().unwrap()
}

fn read_all(bytes: &[u8]) -> Vec<MrtRecord> {
    MrtReader::new(bytes)
        .map(|record| record.unwrap())
        .collect()
}

// ---- typed attributes ----

fn as_path() -> impl Strategy<Value = AsPath> {
    let kind = prop::sample::select(vec![
        SegmentType::Sequence,
        SegmentType::Set,
        SegmentType::ConfedSequence,
        SegmentType::ConfedSet,
    ]);
    let segment = (kind, prop::collection::vec(1u32.., 1..12)).prop_map(|(kind, asns)| AsSegment {
        kind,
        asns: asns.into(),
    });
    prop::collection::vec(segment, 0..4).prop_map(|segments| AsPath {
        segments: segments.into(),
    })
}

fn next_hop(family: AfiSafi) -> BoxedStrategy<NextHop> {
    if family.afi == bgp_proto::Afi::IPV4 {
        ipv4().prop_map(NextHop::V4).boxed()
    } else {
        (ipv6(), prop::option::of(ipv6()))
            .prop_map(|(global, link_local)| NextHop::V6 { global, link_local })
            .boxed()
    }
}

/// Attributes of distinct types, in any order.
fn rib_attributes(family: AfiSafi) -> impl Strategy<Value = Vec<PathAttribute>> {
    let origin = prop::sample::select(vec![Origin::Igp, Origin::Egp, Origin::Incomplete]);
    let all = (
        (
            origin.prop_map(PathAttribute::Origin),
            as_path().prop_map(PathAttribute::AsPath),
            ipv4().prop_map(PathAttribute::NextHop),
            any::<u32>().prop_map(PathAttribute::MultiExitDisc),
            any::<u32>().prop_map(PathAttribute::LocalPref),
            (1u32.., ipv4())
                .prop_map(|(asn, address)| PathAttribute::Aggregator(Aggregator { asn, address })),
        ),
        (
            prop::collection::vec(any::<u32>().prop_map(Community), 1..6)
                .prop_map(|list| PathAttribute::Communities(list.into())),
            prop::collection::vec(any::<[u8; 8]>().prop_map(ExtendedCommunity), 1..4)
                .prop_map(PathAttribute::ExtendedCommunities),
            prop::collection::vec(any::<(u32, u32, u32)>(), 1..4).prop_map(|list| {
                PathAttribute::LargeCommunities(
                    list.into_iter()
                        .map(|(global, local1, local2)| LargeCommunity {
                            global,
                            local1,
                            local2,
                        })
                        .collect(),
                )
            }),
            next_hop(family).prop_map(move |next_hop| {
                PathAttribute::mp_reach(MpReach {
                    afi_safi: family,
                    next_hop,
                    nlri: MpNlri::Prefixes(Vec::new()),
                })
            }),
            (
                prop::sample::select(vec![0x80u8, 0xc0, 0xe0]),
                200u8..,
                bytes(300),
            )
                .prop_map(|(flags, type_code, value)| {
                    PathAttribute::Raw(RawAttribute {
                        flags,
                        type_code,
                        value,
                    })
                }),
            Just(PathAttribute::AtomicAggregate),
        ),
    );
    (all, prop::collection::vec(any::<bool>(), 12), any::<u64>()).prop_map(
        |(((a, b, c, d, e, f), (g, h, i, j, k, l)), keep, seed)| {
            let mut list: Vec<PathAttribute> = [a, b, c, d, e, f, g, h, i, j, k, l]
                .into_iter()
                .zip(keep)
                .filter_map(|(attribute, keep)| keep.then_some(attribute))
                .collect();
            // A deterministic shuffle: order is free in a RIB entry.
            let len = list.len();
            for n in (1..len).rev() {
                list.swap(n, (seed as usize).wrapping_mul(n + 7) % (n + 1));
            }
            list
        },
    )
}

fn family() -> impl Strategy<Value = AfiSafi> {
    prop::sample::select(vec![
        AfiSafi::IPV4_UNICAST,
        AfiSafi::IPV6_UNICAST,
        AfiSafi::IPV4_MULTICAST,
        AfiSafi::IPV6_MULTICAST,
    ])
}

/// An UPDATE with IPv4 routes in the NLRI fields, decodable with `as4` and
/// `add_path` as given.
fn update(as4: bool, add_path: bool) -> impl Strategy<Value = Update> {
    let nlri = (canonical_prefix(false), any::<u32>()).prop_map(move |(prefix, id)| Nlri {
        prefix,
        path_id: add_path.then_some(id),
    });
    let path = prop::collection::vec(
        if as4 {
            (1u32..).boxed()
        } else {
            (1u32..=65535).boxed()
        },
        1..8,
    )
    .prop_map(AsPath::from_sequence);
    (
        prop::collection::vec(nlri.clone(), 0..20),
        path,
        ipv4(),
        prop::option::of(any::<u32>()),
        prop::collection::vec(nlri, 1..20),
    )
        .prop_map(|(withdrawn, path, next_hop, med, nlri)| {
            let mut attributes = vec![
                PathAttribute::Origin(Origin::Igp),
                PathAttribute::AsPath(path),
                PathAttribute::NextHop(next_hop),
            ];
            attributes.extend(med.map(PathAttribute::MultiExitDisc));
            Update {
                withdrawn,
                attributes,
                nlri,
            }
        })
}

proptest! {
    // Integration tests have no lib.rs for proptest to store failures beside.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_records_read_back_identically(
        records in prop::collection::vec(record(), 0..10)
    ) {
        let bytes = write_all(&records);
        let back = read_all(&bytes);
        prop_assert_eq!(&back, &records);
        prop_assert_eq!(write_all(&back), bytes);
    }

    #[test]
    fn rib_entry_attributes_decode_to_what_was_encoded(
        (family, attributes) in family().prop_flat_map(|f| (Just(f), rib_attributes(f))),
        peer_index in any::<u16>(),
        time in any::<u32>(),
    ) {
        let entry = RibEntry::from_attributes(peer_index, time, None, &attributes).unwrap();
        let (decoded, findings) = entry.decode_attributes(family).unwrap();
        prop_assert!(findings.is_empty(), "{:?}", findings);
        prop_assert_eq!(decoded, attributes);
    }

    #[test]
    fn bgp4mp_updates_decode_to_what_was_written(
        (as4, add_path, update) in (any::<bool>(), any::<bool>())
            .prop_flat_map(|(as4, add_path)| (Just(as4), Just(add_path), update(as4, add_path))),
        session in session(true),
        local in any::<bool>(),
    ) {
        let session = Bgp4mpSession {
            peer_as: if as4 { session.peer_as } else { session.peer_as & 0xffff },
            local_as: if as4 { session.local_as } else { session.local_as & 0xffff },
            ..session
        };
        let message = Message::Update(update);
        let record = MrtRecord::new(
            1,
            MrtBody::Bgp4mpMessage(
                Bgp4mpMessage::from_message(session, as4, local, add_path, &message).unwrap(),
            ),
        );
        let back = read_all(&write_all(std::slice::from_ref(&record)));
        prop_assert_eq!(&back, &vec![record]);
        let MrtBody::Bgp4mpMessage(read) = &back[0].body else {
            unreachable!("a BGP4MP record reads back as one");
        };
        prop_assert_eq!(read.decode().unwrap().message, message);
    }
}

// ---- real files ----

fn mrt_dir() -> PathBuf {
    let data = match std::env::var_os("REFLEX_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    let dir = data.join("mrt");
    assert!(
        dir.is_dir(),
        "shared MRT data not found at {} (put it beside the repository or set \
         REFLEX_SHARED_DATA)",
        dir.display()
    );
    dir
}

#[test]
fn real_files_read_write_read_identically() {
    let dir = mrt_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no MRT files in {}", dir.display());
    for path in files {
        let mut original = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&path).unwrap())
            .read_to_end(&mut original)
            .unwrap();
        let records = read_all(&original);
        let written = write_all(&records);
        let again = read_all(&written);
        assert_eq!(again, records, "{}", path.display());
        assert!(
            written == original,
            "{}: the rewritten file differs from the original",
            path.display()
        );
        println!(
            "{}: {} records rewritten byte for byte",
            path.display(),
            records.len()
        );
    }
}
