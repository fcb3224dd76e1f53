//! Write the small TABLE_DUMP_V2 RIB of the README quick start:
//! `examples/data/sample-rib.mrt.gz` at the workspace root.
//!
//! ```text
//! cargo run -p bgp-proto --example make-sample [-- OUTPUT]
//! cargo run -p bgp-proto --example mrt-dump -- examples/data/sample-rib.mrt.gz
//! ```
//!
//! Every route is made up, with documentation prefixes (192.0.2.0/24,
//! 198.51.100.0/24, 2001:db8::/32; RFC 5737, RFC 3849) and AS numbers
//! (64496-64511, RFC 5398). The output is deterministic: running this again
//! writes the same bytes, which `tests/mrt_sample.rs` checks.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use bgp_proto::AfiSafi;
use bgp_proto::attribute::{
    AsPath, AsSegment, Community, MpNlri, MpReach, NextHop, Origin, PathAttribute,
};
use bgp_proto::mrt::{
    MrtBody, MrtError, MrtRecord, MrtWriter, PeerEntry, PeerIndexTable, RibEntry, RibRecord,
};
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use ipnetwork::IpNetwork;

/// 2023-11-14 22:13:20 UTC.
const DUMP_TIME: u32 = 1_700_000_000;

/// One peer of the sample: its address, AS, and the ASes behind it.
struct Peer {
    ip: IpAddr,
    asn: u32,
    upstreams: [u32; 2],
}

fn peers() -> [Peer; 4] {
    [
        Peer {
            ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            asn: 64496,
            upstreams: [64500, 64501],
        },
        Peer {
            ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
            asn: 64497,
            upstreams: [64502, 64501],
        },
        Peer {
            ip: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            asn: 64498,
            upstreams: [64503, 64504],
        },
        Peer {
            ip: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
            asn: 64499,
            upstreams: [64505, 64504],
        },
    ]
}

/// The routes: (prefix, origin AS).
fn routes() -> Vec<(IpNetwork, u32)> {
    let mut routes = Vec::new();
    let v4 = |a, b, c, d, len| IpNetwork::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), len);
    routes.push((v4(192, 0, 2, 0, 24), 64506));
    for i in 0..4u8 {
        routes.push((v4(192, 0, 2, i * 64, 26), 64506 + u32::from(i % 2)));
    }
    routes.push((v4(198, 51, 100, 0, 24), 64508));
    for i in 0..8u8 {
        routes.push((v4(198, 51, 100, i * 32, 27), 64508 + u32::from(i % 3)));
    }
    let v6 = |third, len| {
        IpNetwork::new(
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, third, 0, 0, 0, 0, 0)),
            len,
        )
    };
    routes.push((v6(0, 32), 64506));
    for i in 0..6u16 {
        routes.push((v6(i * 0x100, 40), 64507 + u32::from(i % 4)));
    }
    routes
        .into_iter()
        .map(|(prefix, origin)| (prefix.expect("valid sample prefix"), origin))
        .collect()
}

/// The attributes of the route to a prefix whose origin AS is `origin`,
/// learned from `peer` (`variant` makes routes differ a little).
fn attributes(peer: &Peer, origin: u32, variant: usize) -> Vec<PathAttribute> {
    let upstream = peer.upstreams[variant % 2];
    let mut path = vec![peer.asn, upstream];
    if variant % 3 == 0 {
        path.push(upstream); // a prepend
    }
    path.push(origin);
    let mut segments = vec![AsSegment::sequence(path)];
    if variant % 7 == 3 {
        segments.push(AsSegment::set(vec![64509, 64510]));
    }
    let mut list = vec![
        PathAttribute::Origin(if variant % 5 == 4 {
            Origin::Incomplete
        } else {
            Origin::Igp
        }),
        PathAttribute::AsPath(AsPath {
            segments: segments.into(),
        }),
    ];
    match peer.ip {
        IpAddr::V4(addr) => list.push(PathAttribute::NextHop(addr)),
        IpAddr::V6(global) => list.push(PathAttribute::mp_reach(MpReach {
            afi_safi: AfiSafi::IPV6_UNICAST,
            next_hop: NextHop::V6 {
                global,
                link_local: None,
            },
            nlri: MpNlri::Prefixes(Vec::new()),
        })),
    }
    if variant % 2 == 1 {
        list.push(PathAttribute::MultiExitDisc(10 * variant as u32));
    }
    let mut communities = vec![Community::new(peer.asn as u16, 100 + variant as u16)];
    if variant % 4 == 2 {
        communities.push(Community::NO_EXPORT);
    }
    list.push(PathAttribute::Communities(communities.into()));
    list
}

/// The records of the sample dump: the peer index table, then one RIB
/// record per prefix with an entry per peer of the prefix's family.
pub fn sample_records() -> Result<Vec<MrtRecord>, MrtError> {
    let peers = peers();
    let table = PeerIndexTable {
        collector_bgp_id: Ipv4Addr::new(192, 0, 2, 254),
        view_name: Bytes::from_static(b"sample"),
        peers: peers
            .iter()
            .enumerate()
            .map(|(i, peer)| {
                PeerEntry::new(Ipv4Addr::new(192, 0, 2, 10 + i as u8), peer.ip, peer.asn)
            })
            .collect(),
    };
    let mut records = vec![MrtRecord::new(DUMP_TIME, MrtBody::PeerIndexTable(table))];
    for (sequence, (prefix, origin)) in routes().into_iter().enumerate() {
        let mut entries = Vec::new();
        for (index, peer) in peers.iter().enumerate() {
            if peer.ip.is_ipv6() != prefix.is_ipv6() {
                continue;
            }
            let variant = sequence + index;
            let originated = DUMP_TIME - 3600 * (1 + variant as u32);
            let attributes = attributes(peer, origin, variant);
            entries.push(RibEntry::from_attributes(
                index as u16,
                originated,
                None,
                &attributes,
            )?);
        }
        records.push(MrtRecord::new(
            DUMP_TIME,
            MrtBody::Rib(RibRecord {
                multicast: false,
                add_path: false,
                sequence: sequence as u32,
                prefix,
                entries,
            }),
        ));
    }
    Ok(records)
}

/// The sample as gzip bytes (deterministic: gzip mtime 0).
pub fn sample_gzip() -> Result<Vec<u8>, MrtError> {
    let mut writer = MrtWriter::new(GzEncoder::new(Vec::new(), Compression::best()));
    for record in sample_records()? {
        writer.write(&record)?;
    }
    Ok(writer.into_inner()?.finish()?)
}

/// Where the sample lives: `examples/data/sample-rib.mrt.gz` at the
/// workspace root.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/sample-rib.mrt.gz")
}

#[allow(dead_code)] // Also compiled into tests/mrt_sample.rs, which has its own main.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(default_path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let bytes = sample_gzip()?;
    std::fs::File::create(&path)?.write_all(&bytes)?;
    let routes: usize = sample_records()?
        .iter()
        .map(|record| match &record.body {
            MrtBody::Rib(rib) => rib.entries.len(),
            _ => 0,
        })
        .sum();
    println!(
        "wrote {} ({} bytes, {routes} routes)",
        path.display(),
        bytes.len()
    );
    Ok(())
}
