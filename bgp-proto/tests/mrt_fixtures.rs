//! Records of every kind the MRT writer produces, for the writer tests:
//! TABLE_DUMP_V2 (peer index, IPv4 and IPv6 RIBs, their ADD-PATH variants),
//! BGP4MP messages (2- and 4-octet AS, LOCAL, ADD-PATH, _ET) and state
//! changes, TABLE_DUMP, and a raw record, with the attribute shapes bgpdump
//! prints specially (AS_SET, confederations, AS4_PATH, well-known
//! communities, aggregators, LOCAL_PREF and MED above 2^31).
//!
//! Included as a module (`#[path = "mrt_fixtures.rs"] mod fixtures;`) by
//! `mrt_writer.rs`; built alone it has no tests.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp_proto::attribute::{
    Aggregator, AsPath, AsSegment, Community, MpNlri, MpReach, MpUnreach, NextHop, Origin,
    PathAttribute, SegmentType,
};
use bgp_proto::message::{Message, Update};
use bgp_proto::mrt::bgp4mp::bgp_state;
use bgp_proto::mrt::{
    Bgp4mpMessage, Bgp4mpSession, Bgp4mpStateChange, MrtBody, MrtReader, MrtRecord, MrtWriter,
    PeerEntry, PeerIndexTable, RawRecord, RibEntry, RibRecord, TableDump,
};
use bgp_proto::{AfiSafi, Nlri};
use bytes::{BufMut, Bytes, BytesMut};
use ipnetwork::IpNetwork;

pub const T0: u32 = 1_700_000_000;

pub fn v4(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

pub fn v6(text: &str) -> Ipv6Addr {
    text.parse().unwrap()
}

pub fn net(text: &str) -> IpNetwork {
    text.parse().unwrap()
}

pub fn peers() -> PeerIndexTable {
    PeerIndexTable {
        collector_bgp_id: v4("192.0.2.250"),
        view_name: Bytes::from_static(b"writer-test"),
        peers: vec![
            PeerEntry {
                bgp_id: v4("192.0.2.1"),
                ip: IpAddr::V4(v4("192.0.2.1")),
                asn: 64496,
                as4: false,
            },
            PeerEntry::new(v4("192.0.2.2"), IpAddr::V6(v6("2001:db8::2")), 64497),
            PeerEntry::new(
                v4("192.0.2.3"),
                IpAddr::V4(v4("198.51.100.3")),
                4_200_000_000,
            ),
            PeerEntry::new(
                v4("192.0.2.4"),
                IpAddr::V6(v6("2001:db8:0:1:1:1:1:1")),
                64498,
            ),
        ],
    }
}

pub fn seq(asns: &[u32]) -> AsSegment {
    AsSegment::sequence(asns.to_vec())
}

pub fn segment(kind: SegmentType, asns: &[u32]) -> AsSegment {
    AsSegment {
        kind,
        asns: asns.into(),
    }
}

pub fn path(segments: Vec<AsSegment>) -> PathAttribute {
    PathAttribute::AsPath(AsPath {
        segments: segments.into(),
    })
}

pub fn v6_reach(global: &str, link_local: Option<&str>, nlri: Vec<Nlri>) -> PathAttribute {
    PathAttribute::mp_reach(MpReach {
        afi_safi: AfiSafi::IPV6_UNICAST,
        next_hop: NextHop::V6 {
            global: v6(global),
            link_local: link_local.map(v6),
        },
        nlri: MpNlri::Prefixes(nlri),
    })
}

/// Every shape of attributes the formatter treats specially.
pub fn rich_attributes() -> Vec<PathAttribute> {
    vec![
        PathAttribute::Origin(Origin::Igp),
        path(vec![
            seq(&[64496, 64500]),
            AsSegment::set(vec![64501, 64502]),
        ]),
        PathAttribute::NextHop(v4("192.0.2.1")),
        PathAttribute::MultiExitDisc(10),
        PathAttribute::LocalPref(100),
        PathAttribute::AtomicAggregate,
        PathAttribute::Aggregator(Aggregator {
            asn: 64500,
            address: v4("192.0.2.254"),
        }),
        PathAttribute::Communities(smallvec::smallvec![
            Community::new(64496, 1),
            Community::NO_EXPORT,
            Community::NO_ADVERTISE,
            Community::NO_EXPORT_SUBCONFED,
            Community::new(65535, 65281),
        ]),
    ]
}

pub fn confed_attributes() -> Vec<PathAttribute> {
    vec![
        PathAttribute::Origin(Origin::Egp),
        path(vec![
            segment(SegmentType::ConfedSequence, &[65001, 65002]),
            segment(SegmentType::ConfedSet, &[65003, 65004]),
            seq(&[4_200_000_000, 64510]),
        ]),
        PathAttribute::NextHop(v4("198.51.100.3")),
        PathAttribute::LocalPref(3_000_000_000),
        PathAttribute::MultiExitDisc(4_000_000_000),
    ]
}

pub fn rib_records() -> Vec<MrtRecord> {
    let entry = |peer, time, id, attrs: Vec<PathAttribute>| {
        RibEntry::from_attributes(peer, time, id, &attrs).unwrap()
    };
    let v6_attrs = |reach: Option<PathAttribute>| {
        let mut attrs = vec![
            PathAttribute::Origin(Origin::Incomplete),
            path(vec![seq(&[64497, 64511])]),
        ];
        attrs.extend(reach);
        attrs
    };
    let rib = |sequence, prefix: &str, add_path, entries| {
        MrtRecord::new(
            T0,
            MrtBody::Rib(RibRecord {
                multicast: false,
                add_path,
                sequence,
                prefix: net(prefix),
                entries,
            }),
        )
    };
    vec![
        MrtRecord::new(T0, MrtBody::PeerIndexTable(peers())),
        rib(
            0,
            "192.0.2.0/24",
            false,
            vec![
                entry(0, T0 - 10, None, rich_attributes()),
                entry(2, T0 - 20, None, confed_attributes()),
                entry(1, T0 - 30, None, vec![PathAttribute::Origin(Origin::Igp)]),
            ],
        ),
        rib(
            1,
            "2001:db8:1::/48",
            false,
            vec![
                entry(
                    1,
                    T0,
                    None,
                    v6_attrs(Some(v6_reach("2001:db8::2", None, vec![]))),
                ),
                entry(
                    3,
                    T0,
                    None,
                    v6_attrs(Some(v6_reach("2001:db8::4", Some("fe80::4"), vec![]))),
                ),
                entry(
                    0,
                    T0,
                    None,
                    v6_attrs(Some(v6_reach("::ffff:192.0.2.1", None, vec![]))),
                ),
                entry(1, T0, None, v6_attrs(None)),
            ],
        ),
        rib(
            2,
            "198.51.100.0/24",
            true,
            vec![
                entry(0, T0, Some(1), rich_attributes()),
                entry(0, T0, Some(2), confed_attributes()),
            ],
        ),
        rib(
            3,
            "2001:db8::/32",
            true,
            vec![
                entry(
                    1,
                    T0,
                    Some(7),
                    v6_attrs(Some(v6_reach("2001:db8::2", None, vec![]))),
                ),
                entry(3, T0, Some(4_000_000_000), v6_attrs(None)),
            ],
        ),
        rib(
            4,
            "0.0.0.0/0",
            false,
            vec![entry(0, T0, None, rich_attributes())],
        ),
    ]
}

pub fn session(peer: IpAddr, local: IpAddr, peer_as: u32) -> Bgp4mpSession {
    Bgp4mpSession {
        peer_as,
        local_as: 64511,
        interface_index: 0,
        peer_ip: peer,
        local_ip: local,
    }
}

pub fn v4_session(peer_as: u32) -> Bgp4mpSession {
    session(
        IpAddr::V4(v4("192.0.2.1")),
        IpAddr::V4(v4("192.0.2.250")),
        peer_as,
    )
}

pub fn v6_session(peer_as: u32) -> Bgp4mpSession {
    session(
        IpAddr::V6(v6("2001:db8::2")),
        IpAddr::V6(v6("2001:db8::fa")),
        peer_as,
    )
}

pub fn update_record(
    session: Bgp4mpSession,
    (as4, local, add_path): (bool, bool, bool),
    microseconds: Option<u32>,
    update: Update,
) -> MrtRecord {
    let message =
        Bgp4mpMessage::from_message(session, as4, local, add_path, &Message::Update(update))
            .unwrap();
    MrtRecord {
        timestamp: T0 + 100,
        microseconds,
        body: MrtBody::Bgp4mpMessage(message),
    }
}

pub fn bgp4mp_records() -> Vec<MrtRecord> {
    let nlri = |text: &str| Nlri::new(net(text));
    let with_id = |text: &str, id| Nlri::with_path_id(net(text), id);
    // A 2-octet session: AS4_PATH and AS4_AGGREGATOR carry the real ASes.
    let two_octet = Update {
        withdrawn: vec![nlri("192.0.2.128/25")],
        attributes: vec![
            PathAttribute::Origin(Origin::Igp),
            path(vec![seq(&[64496, 23456, 23456, 64510])]),
            PathAttribute::NextHop(v4("192.0.2.1")),
            PathAttribute::Aggregator(Aggregator {
                asn: 23456,
                address: v4("192.0.2.9"),
            }),
            PathAttribute::As4Path(AsPath::from_sequence(vec![
                4_200_000_001,
                4_200_000_002,
                64510,
            ])),
            PathAttribute::As4Aggregator(Aggregator {
                asn: 4_200_000_002,
                address: v4("192.0.2.9"),
            }),
        ],
        nlri: vec![nlri("198.51.100.0/24"), nlri("203.0.113.0/25")],
    };
    let v6_update = Update {
        withdrawn: vec![],
        attributes: vec![
            v6_reach(
                "2001:db8::2",
                Some("fe80::2"),
                vec![nlri("2001:db8:2::/48"), nlri("2001:db8:3::/64")],
            ),
            PathAttribute::Origin(Origin::Igp),
            path(vec![seq(&[64497, 4_200_000_000])]),
            PathAttribute::Communities(smallvec::smallvec![
                Community::new(64497, 2),
                Community::NO_EXPORT
            ]),
        ],
        nlri: vec![],
    };
    let v6_withdraw = Update {
        withdrawn: vec![],
        attributes: vec![PathAttribute::mp_unreach(MpUnreach {
            afi_safi: AfiSafi::IPV6_UNICAST,
            withdrawn: MpNlri::Prefixes(vec![nlri("2001:db8:4::/48"), nlri("::/0")]),
        })],
        nlri: vec![],
    };
    // IPv4 routes in MP_REACH_NLRI: bgpdump prints LOCAL_PREF and MED signed.
    let v4_mp = Update {
        withdrawn: vec![],
        attributes: vec![
            PathAttribute::mp_reach(MpReach {
                afi_safi: AfiSafi::IPV4_UNICAST,
                next_hop: NextHop::V4(v4("192.0.2.77")),
                nlri: MpNlri::Prefixes(vec![nlri("203.0.113.128/25")]),
            }),
            PathAttribute::Origin(Origin::Incomplete),
            path(vec![seq(&[64496])]),
            PathAttribute::LocalPref(3_000_000_000),
            PathAttribute::MultiExitDisc(5),
        ],
        nlri: vec![],
    };
    let add_path = Update {
        withdrawn: vec![with_id("192.0.2.0/26", 9)],
        attributes: vec![
            PathAttribute::Origin(Origin::Igp),
            path(vec![seq(&[64496, 64499])]),
            PathAttribute::NextHop(v4("192.0.2.1")),
        ],
        nlri: vec![with_id("198.51.100.0/25", 1), with_id("198.51.100.0/25", 2)],
    };
    let add_path_v6 = Update {
        withdrawn: vec![],
        attributes: vec![
            v6_reach("2001:db8::2", None, vec![with_id("2001:db8:5::/48", 3)]),
            PathAttribute::mp_unreach(MpUnreach {
                afi_safi: AfiSafi::IPV6_UNICAST,
                withdrawn: MpNlri::Prefixes(vec![with_id("2001:db8:6::/48", 4)]),
            }),
            PathAttribute::Origin(Origin::Igp),
            path(vec![seq(&[64497])]),
        ],
        nlri: vec![],
    };
    let state = |session, as4, microseconds, old_state, new_state| MrtRecord {
        timestamp: T0 + 200,
        microseconds,
        body: MrtBody::Bgp4mpStateChange(Bgp4mpStateChange {
            session,
            as4,
            old_state,
            new_state,
        }),
    };
    let keepalive =
        Bgp4mpMessage::from_message(v4_session(64496), true, false, false, &Message::Keepalive)
            .unwrap();
    vec![
        update_record(
            v4_session(64496),
            (false, false, false),
            None,
            two_octet.clone(),
        ),
        update_record(v4_session(64496), (false, true, false), None, two_octet),
        update_record(
            v6_session(64497),
            (true, false, false),
            None,
            v6_update.clone(),
        ),
        update_record(
            v6_session(64497),
            (true, false, false),
            Some(1),
            v6_withdraw,
        ),
        update_record(
            v6_session(64497),
            (true, true, false),
            Some(999_999),
            v6_update,
        ),
        update_record(v4_session(4_200_000_000), (true, false, false), None, v4_mp),
        update_record(
            v4_session(64496),
            (true, false, true),
            None,
            add_path.clone(),
        ),
        update_record(v4_session(64496), (false, true, true), Some(42), add_path),
        update_record(
            v6_session(64497),
            (true, false, true),
            None,
            add_path_v6.clone(),
        ),
        update_record(v6_session(64497), (true, true, true), None, add_path_v6),
        MrtRecord::new(T0 + 150, MrtBody::Bgp4mpMessage(keepalive)),
        state(
            v4_session(64496),
            false,
            None,
            bgp_state::ACTIVE,
            bgp_state::OPEN_SENT,
        ),
        state(
            v6_session(4_200_000_000),
            true,
            None,
            bgp_state::ESTABLISHED,
            bgp_state::IDLE,
        ),
        state(
            v4_session(64496),
            true,
            Some(500_000),
            bgp_state::IDLE,
            bgp_state::CONNECT,
        ),
    ]
}

pub fn table_dump_records() -> Vec<MrtRecord> {
    // TABLE_DUMP attributes use 2-octet AS numbers: encode them by hand.
    let mut attrs = BytesMut::new();
    attrs.put_slice(&[0x40, 1, 1, 2]); // ORIGIN INCOMPLETE
    attrs.put_slice(&[0x40, 2, 6, 2, 2, 0xfb, 0xf0, 0xfb, 0xf1]); // AS_PATH 64496 64497
    attrs.put_slice(&[0x40, 3, 4, 192, 0, 2, 1]); // NEXT_HOP
    let dump = |prefix: &str, peer_ip: IpAddr, sequence| {
        MrtRecord::new(
            T0,
            MrtBody::TableDump(TableDump {
                view: 0,
                sequence,
                prefix: net(prefix),
                status: 1,
                originated_time: T0 - 5,
                peer_ip,
                peer_as: 64496,
                attributes: attrs.clone().freeze(),
            }),
        )
    };
    vec![
        dump("192.0.2.0/24", IpAddr::V4(v4("192.0.2.1")), 0),
        dump("198.51.100.0/22", IpAddr::V4(v4("192.0.2.1")), 1),
    ]
}

pub fn raw_record() -> MrtRecord {
    MrtRecord::new(
        T0,
        MrtBody::Raw(RawRecord {
            mrt_type: 48,
            subtype: 0,
            data: Bytes::from_static(b"OSPFv3 is not interpreted"),
        }),
    )
}

/// Every record of this test, in file order.
pub fn all_records() -> Vec<MrtRecord> {
    let mut records = rib_records();
    records.extend(bgp4mp_records());
    records.extend(table_dump_records());
    records.push(raw_record());
    records
}

/// Write `records` with an [`MrtWriter`].
pub fn write_all(records: &[MrtRecord]) -> Vec<u8> {
    let mut writer = MrtWriter::new(Vec::new());
    for record in records {
        writer.write(record).unwrap();
    }
    writer.into_inner().unwrap()
}

/// Read every record of `bytes`, which must all be well formed.
pub fn read_all(bytes: &[u8]) -> Vec<MrtRecord> {
    MrtReader::new(bytes)
        .map(|record| record.unwrap())
        .collect()
}
