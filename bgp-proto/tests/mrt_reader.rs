//! The MRT reader on malformed and unusual input: typed errors with stream
//! offsets, recovery at the next record, length limits, gzip detection
//! (multi-member included), the contexts BGP4MP subtypes imply, and no
//! panic on mutated real files (reader, decoders and bgpdump formatter).

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use bgp_proto::mrt::bgpdump::Bgpdump;
use bgp_proto::mrt::{
    Bgp4mpMessage, Bgp4mpSession, MrtBody, MrtError, MrtReader, MrtRecord, MrtWriter, RawRecord,
};
use bgp_proto::{AddPathFamilies, Message};
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use proptest::sample::Index;

fn raw(mrt_type: u16, subtype: u16, data: &'static [u8]) -> MrtRecord {
    MrtRecord::new(
        7,
        MrtBody::Raw(RawRecord {
            mrt_type,
            subtype,
            data: Bytes::from_static(data),
        }),
    )
}

fn encode(records: &[MrtRecord]) -> Vec<u8> {
    let mut writer = MrtWriter::new(Vec::new());
    for record in records {
        writer.write(record).unwrap();
    }
    writer.into_inner().unwrap()
}

/// A raw MRT record: common header (with `length`) and `body`.
fn frame(mrt_type: u16, subtype: u16, length: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(99u32.to_be_bytes());
    out.extend(mrt_type.to_be_bytes());
    out.extend(subtype.to_be_bytes());
    out.extend(length.to_be_bytes());
    out.extend(body);
    out
}

fn keepalive_record(as4: bool, add_path: bool) -> MrtRecord {
    let session = Bgp4mpSession {
        peer_as: 64496,
        local_as: 64511,
        interface_index: 0,
        peer_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        local_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
    };
    let message =
        Bgp4mpMessage::from_message(session, as4, false, add_path, &Message::Keepalive).unwrap();
    MrtRecord::new(1, MrtBody::Bgp4mpMessage(message))
}

#[test]
fn unknown_types_and_subtypes_are_raw_records() {
    let records = [raw(99, 1, b"abc"), raw(13, 6, b"generic"), raw(16, 3, b"")];
    let back: Vec<MrtRecord> = MrtReader::new(&encode(&records)[..])
        .map(Result::unwrap)
        .collect();
    assert_eq!(back, records);
}

#[test]
fn a_bad_record_is_reported_and_the_next_one_is_read() {
    let good = encode(&[raw(99, 0, b"first")]);
    // BGP4MP MESSAGE_AS4 with address family 3.
    let mut bad_afi = Vec::new();
    bad_afi.extend([0, 0, 0xfb, 0xf0, 0, 0, 0xfb, 0xff, 0, 0, 0, 3]);
    bad_afi.extend([0u8; 8]);
    let bad = frame(16, 4, bad_afi.len() as u32, &bad_afi);
    let after = encode(&[raw(99, 0, b"after")]);
    let stream = [good.clone(), bad, after].concat();

    let mut reader = MrtReader::new(&stream[..]);
    assert!(matches!(reader.next(), Some(Ok(_))));
    match reader.next() {
        Some(Err(MrtError::BadField {
            offset,
            field,
            value,
        })) => {
            // The AFI field: 12 (header) + 4 + 4 (ASes) + 2 (ifindex) into the record.
            assert_eq!(offset, good.len() as u64 + 22);
            assert_eq!(field, "address family");
            assert_eq!(value, 3);
        }
        other => panic!("expected a bad address family, got {other:?}"),
    }
    let Some(Ok(record)) = reader.next() else {
        panic!("the record after the bad one is lost");
    };
    assert_eq!(record, raw(99, 0, b"after"));
    assert!(reader.next().is_none());
}

#[test]
fn a_body_too_short_for_its_type_is_truncated_with_its_offset() {
    // A PEER_INDEX_TABLE announcing 1000 peers with room for none: the
    // reader must neither trust the count nor stop the stream.
    let mut body = vec![192, 0, 2, 1, 0, 0];
    body.extend(1000u16.to_be_bytes());
    let stream = [
        frame(13, 1, body.len() as u32, &body),
        encode(&[raw(99, 0, b"next")]),
    ]
    .concat();
    let mut reader = MrtReader::new(&stream[..]);
    match reader.next() {
        Some(Err(MrtError::Truncated {
            offset,
            needed,
            available,
            ..
        })) => assert_eq!((offset, needed, available), (12 + 8, 1, 0)),
        other => panic!("expected a truncated peer entry, got {other:?}"),
    }
    assert!(matches!(reader.next(), Some(Ok(_))));
    assert!(reader.next().is_none());
}

#[test]
fn rib_prefix_longer_than_the_address_is_a_bad_field() {
    let body = [0, 0, 0, 1, 33, 1, 2, 3, 4, 5, 0, 0];
    let stream = frame(13, 2, body.len() as u32, &body);
    match MrtReader::new(&stream[..]).next() {
        Some(Err(MrtError::BadField {
            offset: 16,
            field: "prefix length",
            value: 33,
        })) => {}
        other => panic!("expected a bad prefix length, got {other:?}"),
    }
}

#[test]
fn truncated_stream_ends_with_an_error() {
    let mut stream = encode(&[raw(99, 0, b"whole")]);
    let whole = stream.len();
    stream.extend(frame(99, 0, 100, &[1, 2, 3]));
    let mut reader = MrtReader::new(&stream[..]);
    assert!(matches!(reader.next(), Some(Ok(_))));
    match reader.next() {
        Some(Err(MrtError::Truncated {
            offset,
            needed: 100,
            available: 3,
            ..
        })) => assert_eq!(offset, whole as u64 + 12),
        other => panic!("expected a truncated body, got {other:?}"),
    }
    assert!(reader.next().is_none());

    // Half a header.
    let mut reader = MrtReader::new(&[0u8, 1, 2, 3, 4][..]);
    assert!(matches!(
        reader.next(),
        Some(Err(MrtError::Truncated {
            offset: 0,
            needed: 12,
            available: 5,
            ..
        }))
    ));
    assert!(reader.next().is_none());
}

#[test]
fn a_lying_length_costs_no_memory() {
    // Claims 16 MiB and ends after the header: an error, not an allocation.
    let stream = frame(13, 2, 16 * 1024 * 1024, &[]);
    let mut reader = MrtReader::new(&stream[..]);
    assert!(matches!(
        reader.next(),
        Some(Err(MrtError::Truncated { available: 0, .. }))
    ));
}

#[test]
fn records_over_the_limit_are_skipped() {
    let stream = [
        encode(&[raw(99, 0, &[0u8; 200])]),
        encode(&[raw(99, 1, b"small")]),
    ]
    .concat();
    let mut reader = MrtReader::new(&stream[..]).with_max_record_len(100);
    assert!(matches!(
        reader.next(),
        Some(Err(MrtError::RecordTooLong {
            offset: 0,
            length: 200,
            max: 100
        }))
    ));
    assert_eq!(reader.next().unwrap().unwrap(), raw(99, 1, b"small"));
    assert_eq!(reader.offset(), stream.len() as u64);
    // Over the default limit of 16 MiB, without reading the body.
    let huge = frame(99, 0, 16 * 1024 * 1024 + 1, &[]);
    assert!(matches!(
        MrtReader::new(&huge[..]).next(),
        Some(Err(MrtError::RecordTooLong { .. }))
    ));
}

#[test]
fn extended_records_need_their_microseconds() {
    let stream = frame(17, 4, 2, &[0, 1]);
    assert!(matches!(
        MrtReader::new(&stream[..]).next(),
        Some(Err(MrtError::Truncated {
            field: "microsecond timestamp",
            ..
        }))
    ));
}

struct FailingReader;

impl Read for FailingReader {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("disk on fire"))
    }
}

#[test]
fn an_io_error_ends_the_stream() {
    let mut reader = MrtReader::new(FailingReader);
    assert!(matches!(reader.next(), Some(Err(MrtError::Io(_)))));
    assert!(reader.next().is_none());
}

/// A reader that hands out one byte at a time.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((&byte, rest)), Some(slot)) => {
                *slot = byte;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn short_reads_are_reassembled() {
    let records = [
        raw(99, 0, b"one"),
        keepalive_record(true, false),
        raw(98, 2, b""),
    ];
    let stream = encode(&records);
    let back: Vec<MrtRecord> = MrtReader::new(Trickle(&stream))
        .map(Result::unwrap)
        .collect();
    assert_eq!(back, records);
}

#[test]
fn open_detects_gzip_and_reads_every_member() {
    let records = [raw(99, 0, b"one"), raw(99, 1, b"two"), raw(99, 2, b"three")];
    let gzip = |records: &[MrtRecord]| {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&encode(records)).unwrap();
        encoder.finish().unwrap()
    };
    let dir = std::env::temp_dir();
    let id = std::process::id();
    // Two gzip members back to back, as `cat a.gz b.gz` makes.
    let gz_path = dir.join(format!("reflex-mrt-reader-{id}.mrt.gz"));
    std::fs::write(
        &gz_path,
        [gzip(&records[..1]), gzip(&records[1..])].concat(),
    )
    .unwrap();
    // Plain data, whatever the name says.
    let plain_path = dir.join(format!("reflex-mrt-reader-{id}-plain.gz"));
    std::fs::write(&plain_path, encode(&records)).unwrap();
    for path in [&gz_path, &plain_path] {
        let back: Vec<MrtRecord> = MrtReader::open(path).unwrap().map(Result::unwrap).collect();
        assert_eq!(back, records, "{}", path.display());
    }
    let _ = std::fs::remove_file(gz_path);
    let _ = std::fs::remove_file(plain_path);
}

#[test]
fn subtypes_imply_the_decoding_context() {
    for (as4, add_path) in [(false, false), (true, false), (false, true), (true, true)] {
        let record = keepalive_record(as4, add_path);
        let MrtBody::Bgp4mpMessage(message) = &record.body else {
            unreachable!();
        };
        let ctx = message.decode_ctx();
        assert_eq!(ctx.four_octet_as, as4);
        assert_eq!(
            ctx.add_path,
            if add_path {
                AddPathFamilies::ALL
            } else {
                AddPathFamilies::NONE
            }
        );
        assert!(ctx.extended_message);
        assert_eq!(message.decode().unwrap().message, Message::Keepalive);
        assert_eq!(message.message_type(), Some(4));
    }
}

/// The start of a few shared real files, decompressed: RIB records with and
/// without ADD-PATH, TABLE_DUMP, BGP4MP updates with 4-octet ASes.
fn real_stream() -> &'static [u8] {
    static STREAM: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    STREAM.get_or_init(load_real_stream)
}

fn load_real_stream() -> Vec<u8> {
    let data = match std::env::var_os("REFLEX_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    let dir = data.join("mrt");
    assert!(
        dir.is_dir(),
        "shared MRT data not found at {} (set REFLEX_SHARED_DATA)",
        dir.display()
    );
    let mut stream = Vec::new();
    for (name, limit) in [
        ("bview.ipv6_unicast_add_path.gz", 2_000),
        ("bview.20020722.2337.gz", 2_000),
        ("updates.20160811.1600.gz", 6_000),
        ("updates.nlri_mask_trailing_bits.gz", 1_000),
    ] {
        let file = std::fs::File::open(dir.join(name)).unwrap();
        let mut head = Vec::new();
        flate2::read::MultiGzDecoder::new(file)
            .take(limit)
            .read_to_end(&mut head)
            .unwrap();
        stream.extend(head);
    }
    stream
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_real_files_never_panic(
        flips in prop::collection::vec((any::<Index>(), any::<u8>()), 1..16),
        cut in any::<Index>(),
    ) {
        let mut stream = real_stream().to_vec();
        for (at, byte) in flips {
            let i = at.index(stream.len());
            stream[i] = byte;
        }
        stream.truncate(cut.index(stream.len() + 1));
        let mut formatter = Bgpdump::new();
        let mut out = Vec::new();
        for record in MrtReader::new(&stream[..]) {
            let Ok(record) = record else { continue };
            formatter.write_record(&record, &mut out).unwrap();
            match &record.body {
                MrtBody::Rib(rib) => {
                    for entry in &rib.entries {
                        let _ = rib.decode_entry_attributes(entry);
                    }
                }
                MrtBody::TableDump(dump) => {
                    let _ = dump.decode_attributes();
                }
                MrtBody::Bgp4mpMessage(message) if message.message_type() == Some(2) => {
                    let _ = message.decode();
                }
                _ => {}
            }
        }
    }
}
