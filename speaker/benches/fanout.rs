//! Fan-out of one UPDATE stream through an update group.
//!
//! One group of 1,000 reflector clients; a stream of 10,000 IPv4 /24
//! changes from 50 client sources sharing 500 attribute sets (20 prefixes
//! per set, AS paths of 1-4 ASes, communities, some MEDs), all prefixes
//! changing between two variants of their set at every iteration. Each
//! flush encodes the group's changes once into one buffer and pushes that
//! buffer into the 1,000 outboxes; the bench then drains every outbox
//! (`take_all` + `written`) outside the measured time, as the peer tasks'
//! writers would.
//!
//! - `warm/1000_members`: apply + flush with warm caches (every attribute
//!   set seen before: the steady state of churn);
//! - `warm/1_member`: the same with one member: the encoding cost alone;
//! - `warm/1000_members_tabled`: `warm/1000_members` with the group
//!   keeping its Adj-RIB-Out table although every member is in sync
//!   ([`AdjOutConfig::always_keep_tables`]), as before groups learnt to do
//!   without it;
//! - `cold/1000_members`: every iteration brings new attribute sets
//!   (transform, interning and attribute-block encoding every time);
//! - `push/1000_members`: pushing one flush's buffer into 1,000 outboxes;
//! - `drain/1000_members`: the writers' side, `take_all` + `written`.
//!
//! Per-member cost = (`warm/1000_members` - `warm/1_member`) / 999, or
//! `push/1000_members` / 1000; per message, divided by the UPDATEs in a
//! flush (printed at start).
//!
//! ```text
//! cargo bench -p bgp-speaker --bench fanout
//! ```

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipnetwork::{IpNetwork, Ipv4Network};
use std::collections::VecDeque;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use bgp_proto::attribute::{AsPath, Community, NextHop, Origin, PathAttribute};
use bgp_proto::context::AddPathFamilies;
use bgp_proto::session::{Negotiated, PeerAs};
use bgp_proto::{AfiSafi, PeerType};

use bgp_speaker::adj_out::{AdjOut, AdjOutConfig, MemberSpec, PlainLocRib};
use bgp_speaker::attrs::{AttrInterner, Attrs, PathAttrs};
use bgp_speaker::config::PeerOptions;
use bgp_speaker::outbox::Outbox;
use bgp_speaker::types::{Path, PeerId, PeerInfo, PeerRole, RibChange};

const LOCAL_AS: u32 = 65000;
const MEMBERS: u32 = 1000;
const SOURCES: u32 = 50;
const PREFIXES: u32 = 10_000;
const SETS: u32 = 500;

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

/// Attribute set `set` of source `source`, variant `variant`.
fn set_attrs(set: u32, variant: u32) -> PathAttrs {
    let source = set % SOURCES;
    let hops = 1 + set % 4;
    let path: Vec<u32> = (0..hops)
        .map(|h| 64_512 + (set * 7 + h * 13) % 1000)
        .collect();
    let mut attributes = vec![
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::from_sequence(path)),
    ];
    if set % 3 == 0 {
        attributes.push(PathAttribute::MultiExitDisc(set));
    }
    attributes.push(PathAttribute::LocalPref(100 + variant));
    attributes.push(PathAttribute::Communities(bgp_proto::smallvec::smallvec![
        Community::new(65000, (set % 100) as u16),
        Community::new(65001, (set / 100) as u16),
    ]));
    PathAttrs {
        next_hop: NextHop::V4(Ipv4Addr::from(0x0a00_0000 + 1000 + source)),
        attributes,
    }
}

struct Setup {
    adj: AdjOut,
    interner: AttrInterner,
    /// The Loc-RIB and the peers: each stream is recorded in it before it
    /// is sent (outside the measured time), which sets the changes'
    /// previous best paths.
    rib: PlainLocRib,
    outboxes: Vec<Arc<Outbox>>,
    prefixes: Vec<IpNetwork>,
    scratch: VecDeque<Bytes>,
}

impl Setup {
    fn new(members: u32, always_keep_tables: bool) -> Self {
        let mut setup = Setup {
            adj: AdjOut::new(AdjOutConfig {
                always_keep_tables,
                ..AdjOutConfig::default()
            }),
            interner: AttrInterner::new(),
            rib: PlainLocRib::default(),
            outboxes: Vec::new(),
            prefixes: (0..PREFIXES)
                .map(|i| {
                    let addr = Ipv4Addr::from(0x0a00_0000 + (i << 8));
                    IpNetwork::V4(Ipv4Network::new(addr, 24).unwrap())
                })
                .collect(),
            scratch: VecDeque::new(),
        };
        for source in 0..SOURCES {
            let info = client(1000 + source);
            setup.rib.peers.insert(info.id, info);
        }
        let options = PeerOptions::new(PeerAs::Exact(LOCAL_AS));
        for id in 1..=members {
            let info = client(id);
            let outbox = Arc::new(Outbox::new());
            setup.rib.peers.insert(info.id, info.clone());
            setup.outboxes.push(outbox.clone());
            let local = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
            let spec = MemberSpec::new(info, local, &options, outbox);
            setup
                .adj
                .add_member(spec, &setup.rib, &mut setup.interner)
                .unwrap();
        }
        assert_eq!(setup.adj.group_count(), 1);
        setup.drain();
        setup
    }

    /// The stream: every prefix with its set in `variant`.
    fn changes(&mut self, variant: u32) -> Vec<RibChange> {
        let sets: Vec<Attrs> = (0..SETS)
            .map(|s| self.interner.intern(set_attrs(s, variant)))
            .collect();
        self.prefixes
            .iter()
            .enumerate()
            .map(|(i, prefix)| {
                let set = (i as u32).wrapping_mul(2_654_435_761) % SETS;
                RibChange {
                    family: AfiSafi::IPV4_UNICAST,
                    prefix: *prefix,
                    paths: vec![Path {
                        peer: PeerId(1000 + set % SOURCES),
                        path_id: 0,
                        attrs: sets[set as usize].clone(),
                        stale: false,
                    }]
                    .into(),
                    previous_best: None,
                }
            })
            .collect()
    }

    /// Record a stream in the Loc-RIB before it is sent.
    fn record(&mut self, changes: &mut [RibChange]) {
        for change in changes {
            self.rib.record(change);
        }
    }

    fn send(&mut self, changes: &[RibChange]) -> (u64, u64) {
        self.adj.apply(changes, &self.rib, &mut self.interner);
        let summary = self.adj.flush(&self.rib, &mut self.interner);
        (summary.messages, summary.bytes)
    }

    /// The writers: take everything and report it written.
    fn drain(&mut self) {
        for outbox in &self.outboxes {
            outbox.take_all(&mut self.scratch);
            let len = self.scratch.iter().map(Bytes::len).sum();
            self.scratch.clear();
            outbox.written(len);
        }
    }
}

fn warm(c: &mut Criterion, members: u32, name: &str, always_keep_tables: bool) {
    let mut setup = Setup::new(members, always_keep_tables);
    let mut streams = [setup.changes(0), setup.changes(1)];
    setup.record(&mut streams[0]);
    let (messages, bytes) = setup.send(&streams[0]);
    setup.drain();
    if members == MEMBERS {
        eprintln!(
            "fanout: {PREFIXES} prefixes, {SETS} sets: {messages} UPDATEs, {bytes} bytes per flush, {members} members"
        );
    }
    // Where the time goes, apply versus flush, over a few rounds.
    let (mut apply, mut flush) = (Duration::ZERO, Duration::ZERO);
    for round in 0..20 {
        let stream = &mut streams[1 - round % 2];
        for change in stream.iter_mut() {
            setup.rib.record(change);
        }
        let start = Instant::now();
        setup.adj.apply(stream, &setup.rib, &mut setup.interner);
        let applied = Instant::now();
        black_box(setup.adj.flush(&setup.rib, &mut setup.interner));
        flush += applied.elapsed();
        apply += applied - start;
        setup.drain();
    }
    eprintln!(
        "fanout: {members} members: apply {:?}, flush {:?} per 10,000 changes",
        apply / 20,
        flush / 20
    );
    let mut group = c.benchmark_group("warm");
    group.throughput(Throughput::Elements(u64::from(PREFIXES)));
    group.bench_function(name, |b| {
        let mut turn = 1;
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut stream = std::mem::take(&mut streams[turn]);
                setup.record(&mut stream);
                let start = Instant::now();
                black_box(setup.send(&stream));
                streams[turn] = stream;
                total += start.elapsed();
                turn ^= 1;
                setup.drain();
            }
            total
        });
    });
    group.finish();
    let stats = &setup.adj.group_stats()[0];
    assert_eq!(stats.members_behind, 0);
    assert_eq!(stats.keeps_table, always_keep_tables);
    assert_eq!(stats.routes, PREFIXES as usize);
}

fn cold(c: &mut Criterion) {
    let mut setup = Setup::new(MEMBERS, false);
    let mut variant = 0;
    let mut group = c.benchmark_group("cold");
    group.throughput(Throughput::Elements(u64::from(PREFIXES)));
    group.sample_size(20);
    group.bench_function("1000_members", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                variant += 1;
                let mut changes = setup.changes(variant);
                setup.record(&mut changes);
                let start = Instant::now();
                black_box(setup.send(&changes));
                total += start.elapsed();
                setup.drain();
                drop(changes);
                setup.adj.collect_garbage();
                setup.interner.collect_garbage();
            }
            total
        });
    });
    group.finish();
}

fn push_and_drain(c: &mut Criterion) {
    let outboxes: Vec<Arc<Outbox>> = (0..MEMBERS).map(|_| Arc::new(Outbox::new())).collect();
    let buffer = Bytes::from(vec![0u8; 60_000]);
    let mut scratch = VecDeque::new();
    let mut group = c.benchmark_group("push");
    group.throughput(Throughput::Elements(u64::from(MEMBERS)));
    group.bench_function("1000_members", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                for outbox in &outboxes {
                    black_box(outbox.push(buffer.clone()));
                }
                total += start.elapsed();
                for outbox in &outboxes {
                    outbox.take_all(&mut scratch);
                    scratch.clear();
                    outbox.written(buffer.len());
                }
            }
            total
        });
    });
    group.finish();
    let mut group = c.benchmark_group("drain");
    group.throughput(Throughput::Elements(u64::from(MEMBERS)));
    group.bench_function("1000_members", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                for outbox in &outboxes {
                    outbox.push(buffer.clone());
                }
                let start = Instant::now();
                for outbox in &outboxes {
                    outbox.take_all(&mut scratch);
                    let len = scratch.iter().map(Bytes::len).sum();
                    scratch.clear();
                    black_box(outbox.written(len));
                }
                total += start.elapsed();
            }
            total
        });
    });
    group.finish();
}

fn fanout(c: &mut Criterion) {
    warm(c, MEMBERS, "1000_members", false);
    warm(c, 1, "1_member", false);
    warm(c, MEMBERS, "1000_members_tabled", true);
    cold(c);
    push_and_drain(c);
}

criterion_group!(benches, fanout);
criterion_main!(benches);
