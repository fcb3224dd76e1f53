//! Ingest speed of the RIB: pre-decoded UPDATEs fed to `Rib::apply_update`.
//!
//! The table is 1,000,000 IPv4 /24 prefixes from one peer in UPDATEs of 500
//! prefixes, each UPDATE with its own attribute set (2,000 distinct sets:
//! AS paths of 2-5 ASes, communities, some MEDs), as a full table arrives
//! after packing. Throughput is reported in routes (prefixes) per second.
//! The changes are collected and dropped after every UPDATE, as the core
//! does when it hands them to the update groups.
//!
//! Each case runs twice: `rib_ingest` measures wall-clock time,
//! `rib_ingest_cpu` the benchmark thread's CPU time (from
//! /proc/thread-self/schedstat), which stays meaningful on a loaded
//! machine: it is the speed on one core.
//!
//! ```text
//! cargo bench -p bgp-speaker --bench rib_ingest
//! ```

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ipnetwork::{IpNetwork, Ipv4Network};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use bgp_proto::attribute::{AsPath, Community, Origin, PathAttribute};
use bgp_proto::context::AddPathFamilies;
use bgp_proto::message::Update;
use bgp_proto::session::Negotiated;
use bgp_proto::{AfiSafi, Findings, Nlri, PeerType};

use bgp_speaker::policy::{Action, Condition, Policy, PrefixRange, Statement, Verdict};
use bgp_speaker::rib::{Rib, RibConfig};
use bgp_speaker::types::{PeerId, PeerInfo, PeerRole};

const LOCAL_AS: u32 = 65000;
const PREFIXES: u32 = 1_000_000;
const PER_UPDATE: usize = 500;

fn peer(id: u32, role: PeerRole) -> PeerInfo {
    let peer_as = if role == PeerRole::External {
        64_000 + id
    } else {
        LOCAL_AS
    };
    let router_id = Ipv4Addr::from(0x0aff_0000 + id);
    PeerInfo {
        id: PeerId(id),
        address: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + id)),
        peer_as,
        local_as: LOCAL_AS,
        router_id,
        role,
        cluster_id: Ipv4Addr::new(192, 0, 2, 254),
        negotiated: Arc::new(Negotiated {
            local_as: LOCAL_AS,
            peer_as,
            local_id: Ipv4Addr::new(192, 0, 2, 254),
            peer_id: router_id,
            peer_type: if role == PeerRole::External {
                PeerType::External
            } else {
                PeerType::Internal
            },
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

/// The UPDATEs of a full table from `info`.
fn table(info: &PeerInfo) -> Vec<Update> {
    let prefixes: Vec<Nlri> = (0..PREFIXES)
        .map(|i| {
            let addr = Ipv4Addr::from(0x0100_0000 + (i << 8));
            Nlri::new(IpNetwork::V4(Ipv4Network::new(addr, 24).unwrap()))
        })
        .collect();
    let next_hop = match info.address {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => unreachable!(),
    };
    prefixes
        .chunks(PER_UPDATE)
        .enumerate()
        .map(|(u, chunk)| {
            let s = u as u32;
            let first = if info.role == PeerRole::External {
                info.peer_as
            } else {
                3356
            };
            let mut path = vec![first, 1299 + s % 7, 64_512 + s % 500];
            path.extend((0..s % 3).map(|k| 100_000 + s + k));
            let mut attributes = vec![
                PathAttribute::Origin(if s % 5 == 0 {
                    Origin::Incomplete
                } else {
                    Origin::Igp
                }),
                PathAttribute::AsPath(AsPath::from_sequence(path)),
                PathAttribute::NextHop(next_hop),
            ];
            if s % 3 == 0 {
                attributes.push(PathAttribute::MultiExitDisc(s % 7 * 10));
            }
            if info.role != PeerRole::External {
                attributes.push(PathAttribute::LocalPref(100));
            }
            attributes.push(PathAttribute::Communities(bgp_proto::smallvec::smallvec![
                Community::new(3356, (s % 50) as u16),
                Community::new(65_535, (s % 4) as u16),
            ]));
            Update {
                withdrawn: Vec::new(),
                attributes,
                nlri: chunk.to_vec(),
            }
        })
        .collect()
}

fn feed(rib: &mut Rib, peer: PeerId, updates: &[Update]) -> usize {
    let findings = Findings::default();
    let mut changes = Vec::with_capacity(PER_UPDATE);
    let mut total = 0;
    for update in updates {
        rib.apply_update(peer, update, &findings, &mut changes)
            .expect("no limit");
        total += changes.len();
        changes.clear();
    }
    total
}

fn community_policy() -> Policy {
    Policy::accept_all("in").with(
        Statement::new("customers", Verdict::Accept)
            .when(Condition::Community(Community::new(65_535, 1)))
            .then(Action::SetLocalPref(200)),
    )
}

fn prefix_policy() -> Policy {
    Policy::new("in", Verdict::Reject).with(Statement::new("unicast", Verdict::Accept).when(
        Condition::Prefix(vec![PrefixRange::new("0.0.0.0/0".parse().unwrap()).le(24)]),
    ))
}

/// CPU time of the calling thread.
struct CpuTime;

fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    let ns: u64 = stat
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("run time");
    Duration::from_nanos(ns)
}

static WALL: WallTime = WallTime;

impl Measurement for CpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

fn wall(c: &mut Criterion) {
    bench(c, "rib_ingest");
}

fn cpu(c: &mut Criterion<CpuTime>) {
    bench(c, "rib_ingest_cpu");
}

fn bench<M: Measurement>(c: &mut Criterion<M>, name: &str) {
    let config = RibConfig::new(Ipv4Addr::new(192, 0, 2, 254), LOCAL_AS);
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Elements(u64::from(PREFIXES)));

    let client = peer(1, PeerRole::ReflectorClient);
    let client_table = table(&client);
    group.bench_function("ibgp_no_policy_1M_x500", |b| {
        b.iter_batched(
            || {
                let mut rib = Rib::new(config.clone());
                rib.add_peer(client.clone(), None, None);
                rib
            },
            |mut rib| {
                black_box(feed(&mut rib, PeerId(1), &client_table));
                rib
            },
            BatchSize::PerIteration,
        );
    });

    let external = peer(2, PeerRole::External);
    let external_table = table(&external);
    for (name, policy) in [
        ("ebgp_community_policy_1M_x500", community_policy()),
        ("ebgp_prefix_policy_1M_x500", prefix_policy()),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let mut rib = Rib::new(config.clone());
                    rib.add_peer(external.clone(), Some(policy.clone()), None);
                    rib
                },
                |mut rib| {
                    black_box(feed(&mut rib, PeerId(2), &external_table));
                    rib
                },
                BatchSize::PerIteration,
            );
        });
    }

    // A second full table: every prefix then has two paths to rank.
    let second = peer(3, PeerRole::ReflectorClient);
    let second_table = table(&second);
    group.bench_function("ibgp_second_peer_1M_x500", |b| {
        b.iter_batched(
            || {
                let mut rib = Rib::new(config.clone());
                rib.add_peer(client.clone(), None, None);
                rib.add_peer(second.clone(), None, None);
                feed(&mut rib, PeerId(1), &client_table);
                rib
            },
            |mut rib| {
                black_box(feed(&mut rib, PeerId(3), &second_table));
                rib
            },
            BatchSize::PerIteration,
        );
    });

    group.bench_function("remove_peer_1M", |b| {
        b.iter_batched(
            || {
                let mut rib = Rib::new(config.clone());
                rib.add_peer(client.clone(), None, None);
                feed(&mut rib, PeerId(1), &client_table);
                rib
            },
            |mut rib| {
                let mut changes = Vec::new();
                black_box(rib.remove_peer(PeerId(1), &mut changes));
                (rib, changes)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(wall_time, wall);
criterion_group! {
    name = cpu_time;
    config = Criterion::default().with_measurement(CpuTime);
    targets = cpu
}
criterion_main!(wall_time, cpu_time);
