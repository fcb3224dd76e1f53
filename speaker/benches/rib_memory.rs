//! Memory per path of the RIB, measured by RSS.
//!
//! Each scenario runs in a child process of its own (so freed memory of one
//! does not hide growth of the next): the UPDATEs are built first, VmRSS is
//! read from /proc/self/status, the UPDATEs are applied (changes dropped
//! after each one), VmRSS is read again, and the attribute sets (the
//! interner's estimate) are subtracted:
//!
//! - `one_peer`: 1,000,000 IPv4 prefixes from one peer (one path each);
//! - `ten_peers`: 100,000 IPv4 prefixes from each of 10 peers, the same
//!   prefixes (10 paths each).
//!
//! ```text
//! cargo bench -p bgp-speaker --bench rib_memory
//! ```

use ipnetwork::{IpNetwork, Ipv4Network};
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bgp_proto::attribute::{AsPath, Community, Origin, PathAttribute};
use bgp_proto::context::AddPathFamilies;
use bgp_proto::message::Update;
use bgp_proto::session::Negotiated;
use bgp_proto::{AfiSafi, Findings, Nlri, PeerType};

use bgp_speaker::rib::{Rib, RibConfig};
use bgp_speaker::types::{PeerId, PeerInfo, PeerRole};

const LOCAL_AS: u32 = 65000;
const PER_UPDATE: usize = 500;
const SCENARIO: &str = "RIB_MEMORY_SCENARIO";

fn client(id: u32) -> PeerInfo {
    let router_id = Ipv4Addr::from(0x0aff_0000 + id);
    PeerInfo {
        id: PeerId(id),
        address: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + id)),
        peer_as: LOCAL_AS,
        local_as: LOCAL_AS,
        router_id,
        role: PeerRole::ReflectorClient,
        cluster_id: Ipv4Addr::new(192, 0, 2, 254),
        negotiated: Arc::new(Negotiated {
            local_as: LOCAL_AS,
            peer_as: LOCAL_AS,
            local_id: Ipv4Addr::new(192, 0, 2, 254),
            peer_id: router_id,
            peer_type: PeerType::Internal,
            families: vec![AfiSafi::IPV4_UNICAST],
            four_octet_as: true,
            add_path_receive: AddPathFamilies::NONE,
            add_path_send: AddPathFamilies::NONE,
            extended_message: false,
            route_refresh: true,
            enhanced_route_refresh: false,
            peer_graceful_restart: None,
            graceful_restart: false,
            peer_llgr: Vec::new(),
            peer_role: None,
            hold_time: Duration::from_secs(90),
            keepalive: Duration::from_secs(30),
        }),
    }
}

/// `count` /24 prefixes from `peer`, 500 per UPDATE, one attribute set each.
fn table(peer: u32, count: u32) -> Vec<Update> {
    let prefixes: Vec<Nlri> = (0..count)
        .map(|i| {
            let addr = Ipv4Addr::from(0x0100_0000 + (i << 8));
            Nlri::new(IpNetwork::V4(Ipv4Network::new(addr, 24).unwrap()))
        })
        .collect();
    prefixes
        .chunks(PER_UPDATE)
        .enumerate()
        .map(|(u, chunk)| {
            let s = u as u32;
            let mut path = vec![3356, 1299 + s % 7, 64_512 + s % 500];
            path.extend((0..s % 3).map(|k| 100_000 + s + k));
            Update {
                withdrawn: Vec::new(),
                attributes: vec![
                    PathAttribute::Origin(Origin::Igp),
                    PathAttribute::AsPath(AsPath::from_sequence(path)),
                    PathAttribute::NextHop(Ipv4Addr::from(0x0a00_0000 + peer)),
                    PathAttribute::LocalPref(100),
                    PathAttribute::Communities(bgp_proto::smallvec::smallvec![Community::new(
                        3356,
                        (s % 50) as u16
                    )]),
                ],
                nlri: chunk.to_vec(),
            }
        })
        .collect()
}

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kb: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value");
    kb * 1024
}

/// User plus system CPU time of this process, from /proc/self/stat (in
/// USER_HZ ticks, 100 per second on Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which is in parentheses).
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

fn run(scenario: &str) {
    let (peers, prefixes) = match scenario {
        "one_peer" => (1, 1_000_000),
        "ten_peers" => (10, 100_000),
        other => panic!("unknown scenario {other}"),
    };
    let tables: Vec<Vec<Update>> = (1..=peers).map(|p| table(p, prefixes)).collect();
    let mut rib = Rib::new(RibConfig::new(Ipv4Addr::new(192, 0, 2, 254), LOCAL_AS));
    for p in 1..=peers {
        rib.add_peer(client(p), None, None);
    }
    let before = rss_bytes();
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    let findings = Findings::default();
    let mut changes = Vec::with_capacity(PER_UPDATE);
    for (p, updates) in tables.iter().enumerate() {
        for update in updates {
            rib.apply_update(PeerId(p as u32 + 1), update, &findings, &mut changes)
                .unwrap();
            changes.clear();
        }
    }
    let elapsed = started.elapsed();
    let cpu = cpu_seconds() - cpu_started;
    drop(changes);
    let after = rss_bytes();
    let memory = rib.memory();
    let paths = memory.paths;
    let grown = after.saturating_sub(before);
    let attributes = memory.attribute_bytes;
    let per_path = grown.saturating_sub(attributes) as f64 / paths as f64;
    println!(
        "{scenario}: {paths} paths, {} prefixes, {} attribute sets; RSS +{:.1} MiB, \
         attribute sets ~{:.1} MiB => {per_path:.1} bytes/path by RSS; \
         estimate {:.1} bytes/path (table {:.1} MiB, path arrays {:.1} MiB); \
         ingest {:.0} routes/s wall, {:.0} routes per CPU second",
        memory.prefixes,
        memory.attribute_sets,
        grown as f64 / 1048576.0,
        attributes as f64 / 1048576.0,
        memory.rib_bytes() as f64 / paths as f64,
        memory.table_bytes as f64 / 1048576.0,
        memory.path_bytes as f64 / 1048576.0,
        paths as f64 / elapsed.as_secs_f64(),
        paths as f64 / cpu,
    );
    std::hint::black_box(&rib);
}

fn main() {
    if let Ok(scenario) = std::env::var(SCENARIO) {
        run(&scenario);
        return;
    }
    let exe = std::env::current_exe().expect("own executable");
    for scenario in ["one_peer", "ten_peers"] {
        let status = Command::new(&exe)
            .env(SCENARIO, scenario)
            .status()
            .expect("run scenario");
        assert!(status.success(), "scenario {scenario} failed");
    }
}
